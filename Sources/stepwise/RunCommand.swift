// `stepwise run FILE.sw`: runs a script through the interpreter.
import ArgumentParser
import Lang

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a Stepwise script.")
    @Argument(help: "The script to run (.sw).") var file: String
    func run() throws { throw ValidationError("not built yet") }
}

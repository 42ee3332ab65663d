// `stepwise repl`: an interactive loop.
import ArgumentParser
import Lang

struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "repl", abstract: "An interactive Stepwise session.")
    func run() throws { throw ValidationError("not built yet") }
}

// `stepwise kernel -f CONNECTION_FILE`: the Jupyter kernel.
import ArgumentParser
import Jupyter

struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernel", abstract: "Run as a Jupyter kernel.")
    @Option(name: .shortAndLong, help: "The connection file Jupyter wrote.") var file: String
    func run() throws { throw ValidationError("not built yet") }
}

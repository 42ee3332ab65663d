// `stepwise install`: writes the kernelspec.
import ArgumentParser
import Jupyter

struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "install", abstract: "Install the Jupyter kernelspec.")
    func run() throws { throw ValidationError("not built yet") }
}

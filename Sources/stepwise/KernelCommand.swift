// `stepwise kernel -f CONNECTION_FILE`: the Jupyter kernel.
import ArgumentParser
import Foundation
import Jupyter
import Lang

struct KernelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "kernel", abstract: "Run as a Jupyter kernel.")
    @Option(name: .shortAndLong, help: "The connection file Jupyter wrote.") var file: String

    func run() throws {
        let connection = try ConnectionFile.load(file)
        let server = try KernelServer(connection: connection)
        let signer = try Signer(key: Data(connection.key.utf8))
        let kernel = Kernel(interpreter: Interpreter(), transport: server, signer: signer, version: Stepwise.version)
        server.serve(kernel)
    }
}

// The `stepwise` command: the Jupyter kernel, its installer, scripts, the REPL and benchmarks.

import ArgumentParser
import Foundation
import Tensor

@main
struct Stepwise: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "stepwise",
        abstract: "A Jupyter kernel for distilling step-by-step, in Swift.",
        version: version,
        subcommands: [RunCommand.self, ReplCommand.self, KernelCommand.self, InstallCommand.self,
                      ScoreCommand.self, ExplainCommand.self, TrainCommand.self, SweepCommand.self, DataCommand.self,
                      BenchCommand.self])

    static func main() {
        BLASRuntime.reexecWithFastKernelsIfNeeded()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

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
                      ScoreCommand.self, ExplainCommand.self, TrainCommand.self, SweepCommand.self, FlanCommand.self, DataCommand.self,
                      BenchCommand.self])

    static func main() {
        BLASRuntime.reexecWithFastKernelsIfNeeded()
        // Results and progress appear as they happen, also when stdout is a file or a pipe.
        setvbuf(stdout, nil, _IOLBF, 0)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// A command's run failed in a way the user must act on: printed as `Error: message` on stderr,
/// exit status 1, without the usage text that a `ValidationError` (a bad option) adds.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

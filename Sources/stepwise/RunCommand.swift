// `stepwise run FILE.sw`: runs a script through the interpreter as one cell. Results and prints go
// to stdout, errors (with the caret under the column) to stderr; an error exits non-zero.
import ArgumentParser
import Foundation
import Lang

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a Stepwise script.")
    @Argument(help: "The script to run (.sw).") var file: String
    @Option(help: "Sets the seed before the script runs, like `%seed n`.") var seed: UInt64?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file), let source = String(data: data, encoding: .utf8) else {
            throw ValidationError("cannot read \(file) as UTF-8 text")
        }
        let interpreter = Interpreter()
        if let seed { interpreter.seed = seed }
        interpreter.input = { prompt, _ in
            ConsoleOutput.write(prompt, to: .stdout)
            return readLine()
        }
        let status = interpreter.execute(source, emit: ConsoleOutput.show)
        if case .error = status { throw ExitCode(1) }
    }
}

/// Shows cell outputs on a terminal: text forms only, errors on stderr.
enum ConsoleOutput {
    static func show(_ output: Output) {
        switch output {
        case .stream(let stream, let text): write(text, to: stream)
        case .display(let bundle, _), .updateDisplay(let bundle, _), .result(let bundle), .pager(let bundle):
            write(bundle.plain + "\n", to: .stdout)
        case .clear: break
        case .error(let error): write(error.traceback.joined(separator: "\n") + "\n", to: .stderr)
        }
    }

    static func write(_ text: String, to stream: StreamName) {
        let handle = stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError
        handle.write(Data(text.utf8))
    }
}

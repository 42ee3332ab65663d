// `stepwise repl`: an interactive loop. Lines accumulate until `isComplete` says the input can run
// (a continuation prompt shows meanwhile); Ctrl-C interrupts the running cell. Works on a pipe too.
import ArgumentParser
import Dispatch
import Foundation
import Lang

struct ReplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "repl", abstract: "An interactive Stepwise session.")

    static let quitWords: Set<String> = ["exit", "quit", "exit()", "quit()", ":q"]

    func run() throws {
        let interpreter = Interpreter()
        let interactive = isatty(STDIN_FILENO) != 0
        interpreter.input = { prompt, _ in
            ConsoleOutput.write(prompt, to: .stdout)
            return readLine()
        }
        signal(SIGINT, SIG_IGN)
        let interrupts = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupts.setEventHandler { interpreter.interrupt() }
        interrupts.resume()
        if interactive { ConsoleOutput.write("Stepwise \(Stepwise.version). %help lists the builtins; `exit`, `quit` or Ctrl-D quits.\n", to: .stdout) }

        var buffer: [String] = []
        while true {
            if interactive { ConsoleOutput.write(buffer.isEmpty ? "sw> " : "... ", to: .stdout) }
            guard let line = readLine() else { break }
            buffer.append(line)
            let code = buffer.joined(separator: "\n")
            if code.trimmingCharacters(in: .whitespaces).isEmpty { buffer = []; continue }
            // `exit` and `quit` alone on a line end the session, as in Python's REPL.
            if buffer.count == 1, Self.quitWords.contains(line.trimmingCharacters(in: .whitespaces)) { buffer = []; break }
            if case .incomplete = interpreter.isComplete(code) { continue }
            interpreter.execute(code, emit: ConsoleOutput.show)
            buffer = []
        }
        if !buffer.isEmpty { interpreter.execute(buffer.joined(separator: "\n"), emit: ConsoleOutput.show) }
    }
}

// `stepwise run FILE.sw`: runs a script through the interpreter as one cell; `stepwise run
// NOTEBOOK.ipynb` runs a notebook's code cells in order, headless. Results and prints go to
// stdout, errors (with the caret under the column) to stderr; an error exits non-zero.
import ArgumentParser
import Foundation
import Lang

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run a Stepwise script.")
    @Argument(help: "The script (.sw) or notebook (.ipynb) to run.") var file: String
    @Option(help: "Sets the seed before the script runs, like `%seed n`.") var seed: UInt64?

    func run() throws {
        let source = try Self.readText(file)
        let interpreter = Interpreter()
        if let seed { interpreter.seed = seed }
        interpreter.input = { prompt, _ in
            ConsoleOutput.write(prompt, to: .stdout)
            return readLine()
        }
        let cells = file.hasSuffix(".ipynb") ? try notebookCells(source) : [(source, false)]
        for (cell, mayRaise) in cells {
            let status = interpreter.execute(cell, emit: ConsoleOutput.show)
            // A cell tagged `raises-exception` shows an error on purpose (nbclient lets it through too).
            if case .error = status, !mayRaise { throw ExitCode(1) }
        }
    }

    /// A script's text, with an error that says what is wrong: missing (with the absolute path
    /// tried), a folder, unreadable, or not UTF-8.
    static func readText(_ file: String) throws -> String {
        let absolute = URL(fileURLWithPath: file).standardizedFileURL.path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isFolder) else {
            throw CommandFailure("no such file: \(absolute)")
        }
        guard !isFolder.boolValue else { throw CommandFailure("\(absolute) is a folder, not a script or notebook") }
        guard let data = FileManager.default.contents(atPath: absolute) else {
            throw CommandFailure("cannot read \(absolute): permission denied or an I/O error")
        }
        guard let source = String(data: data, encoding: .utf8) else {
            throw CommandFailure("\(absolute) is not UTF-8 text")
        }
        return source
    }

    /// The sources of a notebook's code cells, in order (nbformat 4: `source` is a string or a list of lines),
    /// each with whether it is tagged `raises-exception`.
    private func notebookCells(_ json: String) throws -> [(String, Bool)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let notebook = object as? [String: Any], let cells = notebook["cells"] as? [[String: Any]] else {
            throw ValidationError("\(file) is not a Jupyter notebook (expected JSON with a `cells` list)")
        }
        return cells.compactMap { cell -> (String, Bool)? in
            guard cell["cell_type"] as? String == "code" else { return nil }
            let tags = (cell["metadata"] as? [String: Any])?["tags"] as? [String] ?? []
            let mayRaise = tags.contains("raises-exception")
            if let lines = cell["source"] as? [String] { return (lines.joined(), mayRaise) }
            return (cell["source"] as? String).map { ($0, mayRaise) }
        }
    }
}

/// Shows cell outputs on a terminal: text forms only, errors on stderr. A live display (progress,
/// a growing plot) prints again only when its text changed, so a display and its first update,
/// which say the same, print once.
enum ConsoleOutput {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var shownText: [String: String] = [:]

    static func show(_ output: Output) {
        switch output {
        case .stream(let stream, let text): write(text, to: stream)
        case .display(let bundle, let id?), .updateDisplay(let bundle, let id):
            lock.lock()
            let changed = shownText[id] != bundle.plain
            shownText[id] = bundle.plain
            lock.unlock()
            if changed { write(bundle.plain + "\n", to: .stdout) }
        case .display(let bundle, nil), .result(let bundle), .pager(let bundle):
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

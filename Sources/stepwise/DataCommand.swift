// `stepwise data get`: fetches the paper's released datasets (the `datasets/` folder of the
// authors' repository) with a sparse git checkout, verifies them against known SHA-256 sums and
// lays them out as `task(...)` and `--data` expect: DIR/svamp/svamp_train.json, DIR/svamp/llm/...
import ArgumentParser
import Distill
import Foundation

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data", abstract: "Fetch the paper's released datasets.",
        subcommands: [DataGetCommand.self])
}

struct DataGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Fetch, verify and lay out the released datasets of one task, several, or all.",
        discussion: """
            Clones only datasets/TASK of the repository (git sparse checkout, no history), checks each \
            file it knows against its SHA-256, and copies the task to DIR/TASK. Files the checksum \
            table does not know are copied too and reported as unverified.
            """)

    @Argument(help: ArgumentHelp("svamp, cqa, anli1, esnli, or all.", valueName: "task")) var tasks: [String]
    @Option(help: ArgumentHelp("The folder that receives one folder per task.", valueName: "dir")) var to: String
    @Option(help: ArgumentHelp("The git repository to fetch from (a URL or a local path).", valueName: "url"))
    var repo = DatasetFetcher.upstreamURL
    @Option(help: ArgumentHelp("A file of `SHA256  task/path` lines (sha256sum's format) replacing the built-in table.",
                               valueName: "file"))
    var checksums: String?

    func run() throws {
        let names = try DatasetFetcher.taskNames(tasks)
        let table: [String: String]
        if let checksums {
            table = try DatasetChecksums.parse(contentsOf: checksums)
        } else {
            table = try DatasetChecksums.parse(DatasetChecksums.builtIn, source: "the built-in table")
        }
        let fetcher = DatasetFetcher(repository: repo, checksums: table)
        let reports = try fetcher.fetch(names, into: URL(fileURLWithPath: to))
        for report in reports {
            print("\(report.task): \(report.files) files, \(report.verified) verified, "
                  + "\(report.unverified.count) unverified -> \(report.folder.path)")
            for path in report.unverified { print("  unverified (not in the checksum table): \(path)") }
        }
    }
}

/// What went wrong while fetching datasets, in words a person can act on.
enum DataFetchError: Error, CustomStringConvertible {
    case gitMissing
    case gitFailed(url: String, step: String, message: String)
    case unknownTask(String, known: [String])
    case noTask(known: [String])
    case taskNotInRepository(task: String, url: String)
    case knownFileMissing(path: String, url: String)
    case checksumMismatch(path: String, expected: String, got: String)
    case badChecksumFile(source: String, line: Int, reason: String)
    case io(String)

    var description: String {
        switch self {
        case .gitMissing:
            return "git is not installed or not on PATH: install it (Debian: apt-get install git) and run this again"
        case .gitFailed(let url, let step, let message):
            return "cannot fetch \(url) (\(step) failed): \(message)"
        case .unknownTask(let name, let known):
            return "unknown task \"\(name)\": known tasks are \(known.joined(separator: ", ")), or all"
        case .noTask(let known):
            return "name the tasks to fetch: \(known.joined(separator: ", ")), or all"
        case .taskNotInRepository(let task, let url):
            return "\(url) has no datasets/\(task) folder (and no datasets.zip holding one)"
        case .knownFileMissing(let path, let url):
            return "\(url) lacks \(path), which the checksum table lists: the release has changed; nothing was written"
        case .checksumMismatch(let path, let expected, let got):
            return "checksum mismatch for \(path): expected \(expected), got \(got); nothing was written"
        case .badChecksumFile(let source, let line, let reason):
            return "\(source):\(line): \(reason)"
        case .io(let message):
            return message
        }
    }
}

/// One task's outcome: where it went, and which of its files were verified.
struct DatasetFetchReport {
    var task: String
    var folder: URL
    var files: Int
    var verified: Int
    var unverified: [String]
}

// MARK: - Fetching

/// Fetches task folders from a repository laid out like the authors' (`datasets/TASK/...`).
struct DatasetFetcher {
    static let upstreamURL = "https://github.com/google-research/distilling-step-by-step"

    /// The repository to clone: a URL or a local path.
    var repository: String
    /// SHA-256 by `task/relative/path`.
    var checksums: [String: String]

    /// The task names a command line asked for, with `all` expanded; unknown names are an error.
    static func taskNames(_ requested: [String]) throws -> [String] {
        let known = BenchmarkTask.allCases.map(\.rawValue)
        var names: [String] = []
        for name in requested {
            let lowered = name.lowercased()
            if lowered == "all" {
                names += known
            } else if known.contains(lowered) {
                names.append(lowered)
            } else {
                throw DataFetchError.unknownTask(name, known: known)
            }
        }
        guard !names.isEmpty else { throw DataFetchError.noTask(known: known) }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    /// Clones the tasks' folders, verifies every file the table knows, then copies them to
    /// `destination/TASK`. Nothing is written unless every task verified.
    func fetch(_ tasks: [String], into destination: URL) throws -> [DatasetFetchReport] {
        let git = try Tool.git()
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("stepwise-data-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try makeDirectory(scratch)
        defer { try? FileManager.default.removeItem(at: scratch) }

        let clone = scratch.appendingPathComponent("repository")
        // No history and no file contents up front; the checkout below fetches only the blobs
        // under the task folders. Stalled transfers abort after 60 s instead of hanging.
        try git.run(["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=60",
                     "clone", "--quiet", "--filter=blob:none", "--no-checkout", "--depth", "1", repository, clone.path],
                    step: "git clone", url: repository, scratch: scratch)
        try git.run(["-C", clone.path, "sparse-checkout", "set", "--no-cone"] + tasks.map { "/datasets/\($0)/" },
                    step: "git sparse-checkout", url: repository, scratch: scratch)
        try git.run(["-C", clone.path, "checkout", "--quiet"], step: "git checkout", url: repository, scratch: scratch)

        var sources: [String: URL] = [:]
        var missing: [String] = []
        for task in tasks {
            let folder = clone.appendingPathComponent("datasets/\(task)")
            if isDirectory(folder) { sources[task] = folder } else { missing.append(task) }
        }
        if !missing.isEmpty {
            // Some copies of the release ship the folder zipped at the top (datasets.zip).
            let unzipped = try checkOutZippedRelease(git: git, clone: clone, scratch: scratch, missing: missing)
            for task in missing {
                let candidates = [unzipped.appendingPathComponent("datasets/\(task)"), unzipped.appendingPathComponent(task)]
                guard let folder = candidates.first(where: isDirectory) else {
                    throw DataFetchError.taskNotInRepository(task: task, url: repository)
                }
                sources[task] = folder
            }
        }

        // Verify everything before writing anything.
        var plans: [(task: String, files: [String], report: DatasetFetchReport)] = []
        for task in tasks {
            guard let source = sources[task] else { throw DataFetchError.taskNotInRepository(task: task, url: repository) }
            let files = try relativeFiles(under: source)
            let present = Set(files)
            for known in checksums.keys.sorted() where known.hasPrefix(task + "/") {
                if !present.contains(String(known.dropFirst(task.count + 1))) {
                    throw DataFetchError.knownFileMissing(path: known, url: repository)
                }
            }
            var verified = 0
            var unverified: [String] = []
            for file in files {
                let key = "\(task)/\(file)"
                guard let expected = checksums[key] else { unverified.append(key); continue }
                let got = try sha256(of: source.appendingPathComponent(file))
                guard got == expected else { throw DataFetchError.checksumMismatch(path: key, expected: expected, got: got) }
                verified += 1
            }
            let folder = destination.appendingPathComponent(task)
            plans.append((task, files, DatasetFetchReport(task: task, folder: folder, files: files.count,
                                                           verified: verified, unverified: unverified)))
        }
        for plan in plans {
            guard let source = sources[plan.task] else { continue }
            for file in plan.files {
                try install(source.appendingPathComponent(file), at: plan.report.folder.appendingPathComponent(file))
            }
        }
        return plans.map(\.report)
    }

    /// Checks out `datasets.zip` from the top of the clone and unpacks it; returns the folder.
    private func checkOutZippedRelease(git: Tool, clone: URL, scratch: URL, missing: [String]) throws -> URL {
        let top = try git.run(["-C", clone.path, "ls-tree", "--name-only", "HEAD"], step: "git ls-tree",
                              url: repository, scratch: scratch)
        guard top.split(separator: "\n").contains("datasets.zip") else {
            throw DataFetchError.taskNotInRepository(task: missing[0], url: repository)
        }
        try git.run(["-C", clone.path, "sparse-checkout", "set", "--no-cone", "/datasets.zip"],
                    step: "git sparse-checkout", url: repository, scratch: scratch)
        try git.run(["-C", clone.path, "checkout", "--quiet"], step: "git checkout", url: repository, scratch: scratch)
        let zip = clone.appendingPathComponent("datasets.zip")
        let out = scratch.appendingPathComponent("unzipped")
        try makeDirectory(out)
        let unpackers: [(String, [String])] = [("unzip", ["-q", "-o", zip.path, "-d", out.path]),
                                               ("python3", ["-m", "zipfile", "-e", zip.path, out.path])]
        for (tool, arguments) in unpackers {
            guard let path = Tool.executable(named: tool) else { continue }
            let status = try Tool(path: path).status(arguments, scratch: scratch)
            if status.code == 0 { return out }
            throw DataFetchError.io("cannot unpack datasets.zip from \(repository) with \(tool): \(status.message)")
        }
        throw DataFetchError.io("\(repository) ships its datasets as datasets.zip: install unzip or python3 to unpack it")
    }

    /// Every regular file under `folder`, as paths relative to it, sorted.
    private func relativeFiles(under folder: URL) throws -> [String] {
        let base = folder.standardizedFileURL.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: base) else {
            throw DataFetchError.io("cannot list \(base)")
        }
        var files: [String] = []
        while let relative = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            let full = base + "/" + relative
            let junk = relative.hasPrefix("__MACOSX") || relative.hasSuffix(".DS_Store")
            if !junk, FileManager.default.fileExists(atPath: full, isDirectory: &isFolder), !isFolder.boolValue {
                files.append(relative)
            }
        }
        return files.sorted()
    }

    /// Copies `source` to `target` through a temporary name, replacing what was there.
    private func install(_ source: URL, at target: URL) throws {
        let manager = FileManager.default
        try makeDirectory(target.deletingLastPathComponent())
        let partial = target.appendingPathExtension("partial")
        do {
            try? manager.removeItem(at: partial)
            try manager.copyItem(at: source, to: partial)
            if manager.fileExists(atPath: target.path) { try manager.removeItem(at: target) }
            try manager.moveItem(at: partial, to: target)
        } catch {
            throw DataFetchError.io("cannot write \(target.path): \(error.localizedDescription)")
        }
    }
}

/// The SHA-256 of a file, as 64 lowercase hexadecimal digits.
func sha256(of file: URL) throws -> String {
    guard let data = FileManager.default.contents(atPath: file.path) else {
        throw DataFetchError.io("cannot read \(file.path)")
    }
    return SHA256.hash(bytes: Array(data)).hex
}

private func isDirectory(_ url: URL) -> Bool {
    var isFolder: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) && isFolder.boolValue
}

private func makeDirectory(_ url: URL) throws {
    do {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
        throw DataFetchError.io("cannot create \(url.path): \(error.localizedDescription)")
    }
}

// MARK: - Running git (and unzip)

/// A command-line tool run to completion, its output collected through files (no pipe can fill).
struct Tool {
    var path: String

    /// The `git` on PATH, or `DataFetchError.gitMissing`.
    static func git() throws -> Tool {
        guard let path = executable(named: "git") else { throw DataFetchError.gitMissing }
        return Tool(path: path)
    }

    /// The first executable called `name` in the directories of PATH.
    static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for folder in path.split(separator: ":") where !folder.isEmpty {
            let candidate = "\(folder)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs the tool; returns stdout, or throws `gitFailed` naming the URL, the step and git's message.
    @discardableResult
    func run(_ arguments: [String], step: String, url: String, scratch: URL) throws -> String {
        let result = try status(arguments, scratch: scratch)
        guard result.code == 0 else { throw DataFetchError.gitFailed(url: url, step: step, message: result.message) }
        return result.output
    }

    /// Runs the tool and returns its exit code, stdout, and the last lines of stderr.
    func status(_ arguments: [String], scratch: URL) throws -> (code: Int32, output: String, message: String) {
        let id = UUID().uuidString
        let outURL = scratch.appendingPathComponent("\(id).out"), errURL = scratch.appendingPathComponent("\(id).err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["GIT_TERMINAL_PROMPT"] = "0"   // a private or missing repository fails instead of asking
        process.environment = environment
        do {
            let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
            defer { try? out.close(); try? err.close() }
            process.standardOutput = out
            process.standardError = err
            process.standardInput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
        } catch {
            throw DataFetchError.io("cannot run \(path): \(error.localizedDescription)")
        }
        let output = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let errors = ((try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
            .split(separator: "\n").filter { !$0.hasPrefix("warning: filtering not recognized") }
        let message = errors.suffix(3).joined(separator: " / ")
        return (process.terminationStatus, output, message.isEmpty ? "exit status \(process.terminationStatus)" : message)
    }
}

// MARK: - Checksums

/// The SHA-256 of each released file this project knows, by `task/path`.
enum DatasetChecksums {
    /// Parses `sha256sum`-style lines (`HEX  task/path`); `#` starts a comment.
    static func parse(_ text: String, source: String) throws -> [String: String] {
        var table: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(maxSplits: 1, whereSeparator: { $0 == " " || $0 == "\t" })
            guard parts.count == 2 else {
                throw DataFetchError.badChecksumFile(source: source, line: index + 1, reason: "expected `SHA256  task/path`")
            }
            let digest = parts[0].lowercased()
            guard digest.count == 64, digest.allSatisfy({ $0.isHexDigit }) else {
                throw DataFetchError.badChecksumFile(source: source, line: index + 1, reason: "not a SHA-256: \(parts[0])")
            }
            var path = parts[1].trimmingCharacters(in: .whitespaces)
            if path.hasPrefix("*") { path.removeFirst() }   // sha256sum's binary-mode marker
            if path.hasPrefix("./") { path.removeFirst(2) }
            table[path] = digest
        }
        return table
    }

    /// Reads and parses a checksum file.
    static func parse(contentsOf path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataFetchError.io("cannot read the checksum file \(path)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Computed from the copy of the release the project tests against (`sha256sum` over
    /// ../shared/datasets, which has upstream's layout). Upstream files beyond these (for example
    /// the NLI tasks' train and test splits) are copied and reported as unverified.
    static let builtIn = """
        743faf5a43b687e34f5482166106e4c86a9f8f013078364a62caa055f8504704  anli1/anli1_valid.json
        ac3576f6caba189a7c00d1982bb2521518e5247b5aa2b347c483c874451ab935  anli1/llm/valid_CoT_0.json
        caf4f47b8afac62a80f0517e1af3eba2af11de0c7c6f3baf3742fb6390d99dfb  cqa/cqa_test.json
        09601f7b3239eb4c0a3be16c4b897d0c30905e9bc38cf36c77831d98bd37d9fb  cqa/cqa_train.json
        02860e4fa44b4c1f08ed29513abf74f433345e534c51418448b40869ed752a01  cqa/llm/test_CoT_0.json
        44f1fc36088d5beed937c204ae43ca09d74fd0ea6a784fa89207b7e88c37fb15  cqa/llm/test_CoT_1.json
        632167edcb645336a0ff1194fe87a1821fefdb02515679d178b167619903fff1  cqa/llm/train_CoT_0.json
        8d14f619696c2bf3f0989d3a47ee8120f047af4eddaf23eb64610941cb453796  cqa/llm/train_CoT_1.json
        25e559368c7e69dba359245395463a669f2fcef91a3b7b89613ff41bed0fbd8f  cqa/llm/train_CoT_2.json
        db2a50477c463dd84a4b7ee2dedae323ff8746f20ca0c4a4619c03e04140ddf5  cqa/llm/train_CoT_3.json
        52ccbf961db874a47968599f8411372a39f280f91413df7d90bcbcea291b9836  cqa/llm/train_CoT_4.json
        0d238b1c5c4be3630bf14c15a176985b4a2e7bcf5fa5a93d24e9d89ccde06974  cqa/llm/train_CoT_5.json
        af81b051cefa61be0b513f9e002b9eeab7160c18731732b59138fede91fccee4  cqa/llm/train_CoT_6.json
        0cd6eba4d2449fb295d66e3dd9998ab59f6246820ca07e0fd1cc61dfcc3e6b3d  cqa/llm/train_CoT_7.json
        02c156f92540f7b2469d252c814a2a87dad47616f828db3e7e236edd72f21b61  cqa/llm/train_CoT_8.json
        7448c4cd5a9416ccb1e0c021e2b3bf2e697dc70173ff6f08d5b64b56d5fe8038  cqa/llm/train_CoT_9.json
        4952f52d3dedfcafcdea691e4cde21a3db1e6dbed1f1622bb314c418cc27e6a6  esnli/esnli_valid.json
        3398e706895422fa17ae2ed3022890d7c5009207d5c831713b605e15af5b5c52  esnli/llm/valid_CoT_0.json
        f14d62ae2a81b8b33293cd9e8fe02b28b781d8628f4b92393c862f8903e8a122  esnli/llm/valid_CoT_1.json
        5be77703a6d891ae476d7c082787ad361392aa02453b132516cdd5f4e7934e3e  svamp/SVAMP.json
        fd536719c09b0cc97bfeee5775b212f8e4541ffe012bcd99c893a99e7e46df37  svamp/llm/test_CoT_0.json
        9aa813b5653131e53bfe0477fa2cb3f90fb3d1b7a5226433218cb7b85998f094  svamp/llm/train_CoT_0.json
        db0131252436d0487ff8642d94abad23636c080258da60097d5c6f15b1e32639  svamp/llm/train_CoT_1.json
        b73cba2c53b1e9b1c8aa512a8928c12d0524d1acba560f8c526756185044054c  svamp/svamp_test.json
        641fc0f69864e1376fc2e29675affd15fa641f3b40279dcd6a595f3780f4e721  svamp/svamp_train.json
        """
}

// The kernelspec: kernel.json for this binary, the logos, and where Jupyter looks for them
// (`--user`, `--sys-prefix`, `--prefix DIR`), as `jupyter kernelspec install` places them.

import Foundation

/// Where to install a kernelspec.
public enum KernelSpecLocation: Equatable, Sendable {
    /// The user's Jupyter data directory (`$JUPYTER_DATA_DIR`, else XDG or ~/Library/Jupyter).
    case user
    /// The active Python environment (`$VIRTUAL_ENV`, `$CONDA_PREFIX`, else python3's sys.prefix).
    case sysPrefix
    /// `DIR/share/jupyter/kernels`.
    case prefix(String)
}

/// The Stepwise kernelspec.
public enum KernelSpec {
    /// The kernel.json content for the binary at `binary`.
    /// - Parameters:
    ///   - binary: absolute path of the `stepwise` executable.
    ///   - env: environment variables the kernel must start with (e.g. `OPENBLAS_CORETYPE`).
    public static func json(binary: String, env: [String: String] = [:]) -> JSON {
        var spec: [String: JSON] = [
            "argv": [.string(binary), "kernel", "-f", "{connection_file}"],
            "display_name": "Stepwise",
            "language": "stepwise",
            "interrupt_mode": "message",
            "metadata": ["debugger": false],
        ]
        if !env.isEmpty { spec["env"] = .object(env.mapValues(JSON.string)) }
        return .object(spec)
    }

    /// The `kernels` folder for `location`.
    public static func kernelsDirectory(_ location: KernelSpecLocation,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        switch location {
        case .prefix(let dir):
            return URL(fileURLWithPath: dir).appendingPathComponent("share/jupyter/kernels")
        case .sysPrefix:
            if let prefix = environment["VIRTUAL_ENV"] ?? environment["CONDA_PREFIX"] ?? pythonPrefix() {
                return URL(fileURLWithPath: prefix).appendingPathComponent("share/jupyter/kernels")
            }
            throw KernelError.install("no Python environment found: activate one or pass --prefix")
        case .user:
            if let dir = environment["JUPYTER_DATA_DIR"] {
                return URL(fileURLWithPath: dir).appendingPathComponent("kernels")
            }
            let home = environment["HOME"] ?? NSHomeDirectory()
            #if os(macOS)
            return URL(fileURLWithPath: home).appendingPathComponent("Library/Jupyter/kernels")
            #else
            let data = environment["XDG_DATA_HOME"] ?? home + "/.local/share"
            return URL(fileURLWithPath: data).appendingPathComponent("jupyter/kernels")
            #endif
        }
    }

    /// Writes kernel.json and the logos into `kernels/NAME` for `location`; returns that folder.
    @discardableResult
    public static func install(binary: String, name: String = "stepwise", location: KernelSpecLocation,
                               env: [String: String] = [:]) throws -> URL {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw KernelError.install("kernel name '\(name)' may use only letters, digits, '-', '_' and '.'")
        }
        let folder = try kernelsDirectory(location).appendingPathComponent(name.lowercased())
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            var text = json(binary: binary, env: env).text
            text += "\n"
            try Data(text.utf8).write(to: folder.appendingPathComponent("kernel.json"), options: .atomic)
            for (file, base64) in KernelLogos.files {
                guard let bytes = Data(base64Encoded: base64) else { continue }
                try bytes.write(to: folder.appendingPathComponent(file), options: .atomic)
            }
        } catch {
            throw KernelError.install("cannot write \(folder.path): \(error.localizedDescription)")
        }
        return folder
    }

    private static func pythonPrefix() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(sys.prefix)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && !output.isEmpty ? output : nil
    }
}

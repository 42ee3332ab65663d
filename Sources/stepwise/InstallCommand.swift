// `stepwise install`: writes the kernelspec, pointing at this binary's absolute path.
import ArgumentParser
import Foundation
import Jupyter
import Tensor

struct InstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install", abstract: "Install the Jupyter kernelspec.",
        discussion: "Without a location option the spec goes to the user's Jupyter data directory.")
    @Flag(help: "Install for this user (the default).") var user = false
    @Flag(help: "Install into the active Python environment (virtualenv or conda).") var sysPrefix = false
    @Option(help: "Install into DIR/share/jupyter/kernels.") var prefix: String?
    @Option(help: "The kernel's name, i.e. its folder.") var name = "stepwise"

    func validate() throws {
        if [user, sysPrefix, prefix != nil].filter({ $0 }).count > 1 {
            throw ValidationError("choose at most one of --user, --sys-prefix and --prefix")
        }
    }

    func run() throws {
        let location: KernelSpecLocation = prefix.map { .prefix($0) } ?? (sysPrefix ? Self.sysPrefixLocation() : .user)
        // OpenBLAS reads its core type only at load time; the binary also fixes this by re-executing.
        let env = BLASRuntime.cpuHasAVX512 ? ["OPENBLAS_CORETYPE": "SkylakeX"] : [:]
        let folder = try KernelSpec.install(binary: Self.executablePath(), name: name, location: location, env: env)
        print("Installed kernelspec \(name) in \(folder.path)")
    }

    /// `--sys-prefix`: the Python environment that holds this binary when the wheel's `stepwise`
    /// shim started it (it passes its `sys.prefix`, so an environment need not be activated);
    /// otherwise the active environment.
    static func sysPrefixLocation() -> KernelSpecLocation {
        if let prefix = ProcessInfo.processInfo.environment["STEPWISE_SYS_PREFIX"], !prefix.isEmpty {
            return .prefix(prefix)
        }
        return .sysPrefix
    }

    /// This binary's absolute path, with symbolic links resolved.
    static func executablePath() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        let argv0 = CommandLine.arguments.first ?? "stepwise"
        return URL(fileURLWithPath: argv0).standardizedFileURL.resolvingSymlinksInPath().path
    }
}

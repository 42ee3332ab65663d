// OpenBLAS at run time: which kernels it picked, its thread count, and the fix for Debian's
// OpenBLAS 0.3.21, which does not recognise recent AVX-512 CPUs and falls back to slow kernels.

import CBLAS
import Foundation

public enum BLASRuntime {
    /// The kernel family OpenBLAS chose at load time, e.g. `SkylakeX` or `Prescott`.
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// Threads OpenBLAS uses for one product.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// True when the CPU has AVX-512F (read from /proc/cpuinfo; false elsewhere).
    public static var cpuHasAVX512: Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return false }
        return info.split(separator: "\n").contains { $0.hasPrefix("flags") && $0.contains(" avx512f") }
    }

    /// Kernel families that already use AVX-512; anything else on an AVX-512 CPU is a misdetection.
    static let avx512Cores = ["skylakex", "cooperlake", "sapphirerapids"]

    /// Re-executes the current process with `OPENBLAS_CORETYPE=SkylakeX` when OpenBLAS picked
    /// slow kernels on an AVX-512 CPU. OpenBLAS reads the variable only when it loads, so setting
    /// it later is too late. Does nothing when the variable is already set, on other CPUs, or
    /// when re-executing fails (the process then goes on with the slower kernels).
    public static func reexecWithFastKernelsIfNeeded() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, cpuHasAVX512 else { return }
        let core = coreName.lowercased()
        guard !avx512Cores.contains(where: { core.contains($0) }) else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when execv failed: carry on.
    }

    /// True when OpenBLAS picked pre-AVX-512 kernels on a CPU that has AVX-512F.
    public static var isMisdetected: Bool {
        cpuHasAVX512 && !avx512Cores.contains(where: { coreName.lowercased().contains($0) })
    }

    /// Switches a running OpenBLAS (DYNAMIC_ARCH build) to the SkylakeX kernels without
    /// re-executing: `gotoblas_dynamic_quit` then `gotoblas_dynamic_init`, which re-reads
    /// OPENBLAS_CORETYPE. Does nothing on CPUs without AVX-512, when the kernels are already
    /// AVX-512 ones, when the user set OPENBLAS_CORETYPE, or when the library lacks the hooks.
    /// Returns the core name in use afterwards.
    @discardableResult
    public static func selectFastKernelsInProcess() -> String {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil, isMisdetected,
              let quit = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_quit"),
              let initialize = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gotoblas_dynamic_init") else { return coreName }
        typealias Hook = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        unsafeBitCast(quit, to: Hook.self)()
        unsafeBitCast(initialize, to: Hook.self)()
        return coreName
    }

    /// Runs `selectFastKernelsInProcess` once, before the engine's first BLAS call.
    static let fastKernelsSelected: String = selectFastKernelsInProcess()
}

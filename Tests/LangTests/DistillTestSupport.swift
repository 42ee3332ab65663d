// Where the distillation tests find real data and the GGUF model, and a temporary folder for
// rationale stores.
import Foundation
import XCTest

enum DistillFixtures {
    /// The datasets folder: $STEPWISE_DATA, else ../shared/datasets next to the package root.
    static var datasets: String {
        if let custom = ProcessInfo.processInfo.environment["STEPWISE_DATA"], !custom.isEmpty { return custom }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared/datasets").path
    }

    /// A task's folder, or a skip when the datasets are not on this machine.
    static func folder(_ task: String) throws -> String {
        let path = URL(fileURLWithPath: datasets).appendingPathComponent(task).path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("datasets not found at \(datasets); set STEPWISE_DATA") }
        return path
    }

    /// The SmolLM2 GGUF: $STEPWISE_GGUF, models/ in the package, or /work/main/models; a skip when absent.
    static func smolLM2() throws -> String {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let name = "SmolLM2-135M-Instruct.Q4_1.gguf"
        let candidates = [ProcessInfo.processInfo.environment["STEPWISE_GGUF"] ?? "",
                          packageRoot.appendingPathComponent("models/\(name)").path, "/work/main/models/\(name)"]
        guard let path = candidates.first(where: { !$0.isEmpty && FileManager.default.fileExists(atPath: $0) }) else {
            throw XCTSkip("\(name) not found; set STEPWISE_GGUF")
        }
        return path
    }
}

/// A fresh temporary folder, removed when the test ends.
final class ScratchFolder {
    let path: String

    init() throws {
        path = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lang-distill-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { URL(fileURLWithPath: path).appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A Swift string as a cell-language string literal.
func literal(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

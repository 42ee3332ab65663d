// Folder writes never remove a file Stepwise did not write: "", "." and the working folder are
// refused, a folder of other files is refused unless told to overwrite (and then kept), an
// earlier save is replaced whole, and killed writes' leftovers are cleaned up.
import XCTest
import Distill

final class FolderWriteTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("folder-write-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root)
    }

    private func write(_ folder: URL, overwrite: Bool = false, files: [String: String]) throws {
        try FolderWrite.write(folder, overwrite: overwrite) { temporary in
            for (name, text) in files { try Data(text.utf8).write(to: temporary.appendingPathComponent(name)) }
        }
    }

    private func text(_ url: URL) -> String? { (try? Data(contentsOf: url)).map { String(decoding: $0, as: UTF8.self) } }

    private func refusal(_ body: () throws -> Void) -> String? {
        do { try body() } catch let error as TrainingError {
            if case .refusedFolder = error { return error.description }
            return "other error: \(error)"
        } catch { return "other error: \(error)" }
        return nil
    }

    func testEmptyDotAndWorkingFolderAreRefused() {
        for path in ["", ".", "..", "./", "/"] {
            let message = refusal { try write(URL(fileURLWithPath: path), files: ["config.json": "{}"]) }
            XCTAssertNotNil(message, "\"\(path)\" was written")
            XCTAssertFalse(message?.hasPrefix("other error") ?? true, message ?? "")
        }
        let working = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let message = refusal { try write(working, files: ["config.json": "{}"]) }
        XCTAssertTrue(message?.contains("working folder") ?? false, message ?? "nil")
        let parentOfWorking = working.deletingLastPathComponent()
        XCTAssertNotNil(refusal { try write(parentOfWorking, files: ["config.json": "{}"]) })
    }

    func testAFolderOfOtherFilesIsRefusedAndKeptWhole() throws {
        let folder = root.appendingPathComponent("notebooks")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("notebook".utf8).write(to: folder.appendingPathComponent("analysis.ipynb"))
        try Data("store".utf8).write(to: folder.appendingPathComponent("stepwise-rationales.sqlite"))
        let message = refusal { try write(folder, files: ["config.json": "{}", "model.safetensors": "w"]) }
        XCTAssertEqual(message, "will not write the folder \(folder.standardizedFileURL.resolvingSymlinksInPath().path): it holds files Stepwise did not write (analysis.ipynb, stepwise-rationales.sqlite); save into a new or empty folder, or pass overwrite: true to write the student's files into it and keep the others")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                       ["analysis.ipynb", "stepwise-rationales.sqlite"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["notebooks"], "no temporary folder left behind")
    }

    func testOverwriteWritesIntoTheFolderAndKeepsOtherFiles() throws {
        let folder = root.appendingPathComponent("mixed")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("notebook".utf8).write(to: folder.appendingPathComponent("analysis.ipynb"))
        try Data("old".utf8).write(to: folder.appendingPathComponent("config.json"))
        try write(folder, overwrite: true, files: ["config.json": "new", "model.safetensors": "w"])
        XCTAssertEqual(text(folder.appendingPathComponent("analysis.ipynb")), "notebook")
        XCTAssertEqual(text(folder.appendingPathComponent("config.json")), "new")
        XCTAssertEqual(text(folder.appendingPathComponent("model.safetensors")), "w")
    }

    func testAnEarlierSaveIsReplacedWholeAndAFileIsRefused() throws {
        let folder = root.appendingPathComponent("student")
        try write(folder, files: ["config.json": "1", "extra.json": "x"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(),
                       [FolderWrite.manifestFile, "config.json", "extra.json"])
        try write(folder, files: ["config.json": "2"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), [FolderWrite.manifestFile, "config.json"])
        XCTAssertEqual(text(folder.appendingPathComponent("config.json")), "2")
        // A user's file dropped into a saved folder makes it foreign again.
        try Data("mine".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        XCTAssertNotNil(refusal { try write(folder, files: ["config.json": "3"]) })
        XCTAssertEqual(text(folder.appendingPathComponent("notes.txt")), "mine")
        let file = root.appendingPathComponent("file.txt")
        try Data("f".utf8).write(to: file)
        XCTAssertEqual(refusal { try write(file, files: ["config.json": "1"]) }?.hasSuffix("it is a file, not a folder"), true)
    }

    func testACheckpointFromBeforeTheManifestIsReplaced() throws {
        let folder = root.appendingPathComponent("last")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["trainer_state.json", "config.json", "model.safetensors", "optimizer.safetensors", "tokenizer.json"] {
            try Data("old".utf8).write(to: folder.appendingPathComponent(name))
        }
        try write(folder, files: ["trainer_state.json": "new"])
        XCTAssertEqual(text(folder.appendingPathComponent("trainer_state.json")), "new")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))
    }

    func testLeftoversOfKilledWritesAreRemovedAfterASuccessfulWrite() throws {
        for leftover in [".last.tmp-123-456", ".last.old-123-456"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(leftover), withIntermediateDirectories: true)
        }
        try Data("other".utf8).write(to: root.appendingPathComponent(".lastly.tmp-1"))
        try write(root.appendingPathComponent("last"), files: ["trainer_state.json": "{}"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).sorted(), [".lastly.tmp-1", "last"])
    }

    func testAFailedFillLeavesTheOldFolderAsItWas() throws {
        let folder = root.appendingPathComponent("student")
        try write(folder, files: ["config.json": "1"])
        struct Broken: Error {}
        XCTAssertThrowsError(try FolderWrite.write(folder) { _ in throw Broken() })
        XCTAssertEqual(text(folder.appendingPathComponent("config.json")), "1")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), ["student"])
    }
}

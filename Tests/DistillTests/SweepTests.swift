import Distill
import Foundation
import Tensor
import XCTest

final class SweepTests: XCTestCase {
    private func temporaryJournal() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder.appendingPathComponent("journal.jsonl")
    }

    /// A fake cell body whose accuracy is a known function of the cell.
    private func record(_ cell: SweepCell) -> SweepRecord {
        let base = cell.method == "step-by-step" ? 0.5 : 0.4
        return SweepRecord(cell: cell, accuracy: base + cell.fraction * 0.2 + Double(cell.seed) * 0.01,
                           trainExamples: Int(cell.fraction * 1000), steps: 100, seconds: 2.5)
    }

    func testGridIsSeedMajorAndFractionsSorted() throws {
        let sweep = try Sweep(methods: ["finetune", "step-by-step"], fractions: [1.0, 0.25], seeds: [0, 1])
        XCTAssertEqual(sweep.fractions, [0.25, 1.0])
        XCTAssertEqual(sweep.cells.map(\.description), [
            "finetune fraction=0.25 seed=0", "step-by-step fraction=0.25 seed=0",
            "finetune fraction=1 seed=0", "step-by-step fraction=1 seed=0",
            "finetune fraction=0.25 seed=1", "step-by-step fraction=0.25 seed=1",
            "finetune fraction=1 seed=1", "step-by-step fraction=1 seed=1"])
    }

    func testBadGridsAreRefused() {
        XCTAssertThrowsError(try Sweep(methods: [], fractions: [0.5], seeds: [0])) {
            XCTAssertEqual($0 as? SweepError, .emptyGrid("methods"))
        }
        XCTAssertThrowsError(try Sweep(methods: ["finetune"], fractions: [0.5, 1.5], seeds: [0])) {
            XCTAssertEqual($0 as? SweepError, .invalidFraction(1.5))
        }
        XCTAssertThrowsError(try Sweep(methods: ["finetune"], fractions: [0.5], seeds: []))
    }

    func testSummaryMeansAndSampleStandardDeviation() throws {
        let sweep = try Sweep(methods: ["finetune", "step-by-step"], fractions: [0.5, 1], seeds: [0, 1, 2])
        let result = try sweep.run(journal: nil) { cell, _ in record(cell) }
        XCTAssertEqual(result.records.count, 12)
        let point = try XCTUnwrap(result.points.first { $0.method == "step-by-step" && $0.fraction == 0.5 })
        // accuracies 0.60, 0.61, 0.62: mean 0.61, sample std 0.01
        XCTAssertEqual(point.mean, 0.61, accuracy: 1e-12)
        XCTAssertEqual(point.std, 0.01, accuracy: 1e-12)
        XCTAssertEqual(point.runs, 3)
        XCTAssertEqual(point.trainExamples, 500)
        XCTAssertEqual(result.points.map(\.method), ["finetune", "finetune", "step-by-step", "step-by-step"])
    }

    func testWritingTwiceIntoOneFolderReplacesTheFiles() throws {
        let folder = try temporaryJournal().deletingLastPathComponent().appendingPathComponent("out")
        let small = try Sweep(methods: ["finetune"], fractions: [1], seeds: [0]).run(journal: nil) { cell, _ in record(cell) }
        let large = try Sweep(methods: ["finetune"], fractions: [1], seeds: [0, 1]).run(journal: nil) { cell, _ in record(cell) }
        try small.write(to: folder)
        try large.write(to: folder)
        let records = try String(contentsOf: folder.appendingPathComponent("records.csv"), encoding: .utf8)
        XCTAssertEqual(records, large.recordsCSV)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files stay behind")
        XCTAssertThrowsError(try large.write(to: URL(fileURLWithPath: "/proc/stepwise-cannot-write")))
    }

    func testJournalSettingsAreClaimedOnceAndChangesNamed() throws {
        let file = try temporaryJournal().deletingLastPathComponent().appendingPathComponent("settings.txt")
        try SweepJournal.claim(file, settings: ["lr=0.001", "steps=10"])
        try SweepJournal.claim(file, settings: ["lr=0.001", "steps=10"])
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "lr=0.001\nsteps=10\n")
        XCTAssertThrowsError(try SweepJournal.claim(file, settings: ["lr=0.01", "steps=10"])) {
            XCTAssertEqual($0 as? SweepError, .settingsChanged(path: file.path, changed: ["lr=0.01"], was: ["lr=0.001"]))
        }
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "lr=0.001\nsteps=10\n")
    }

    func testCSVAndTableText() throws {
        let sweep = try Sweep(methods: ["finetune", "step-by-step"], fractions: [0.125, 1], seeds: [0, 1])
        let result = try sweep.run(journal: nil) { cell, _ in record(cell) }
        let summary = result.summaryCSV.split(separator: "\n")
        XCTAssertEqual(summary.first, "method,fraction,mean_accuracy,std_accuracy,runs,train_examples,seconds")
        XCTAssertEqual(summary[1], "finetune,0.125,0.4300,0.0071,2,125.0,2.5")
        XCTAssertEqual(result.recordsCSV.split(separator: "\n").first, "method,fraction,seed,accuracy,train_examples,steps,seconds,stop_reason,data")
        XCTAssertEqual(result.recordsCSV.split(separator: "\n")[1], "finetune,0.125,0,0.4250,125,100,2.5,finished,", "no data hash: a record from before mixtures")
        XCTAssertEqual(result.table, """
            method             12.5%        100%
            finetune      43.0 ± 0.7  60.5 ± 0.7
            step-by-step  53.0 ± 0.7  70.5 ± 0.7
            """)
        let decoded = try JSONDecoder().decode(SweepResult.self, from: Data(try result.json().utf8))
        XCTAssertEqual(decoded.records, result.records)
    }

    func testCancelledSweepResumesFromItsJournalWithoutRepeatingCells() throws {
        let journal = try temporaryJournal()
        let sweep = try Sweep(methods: ["finetune", "step-by-step"], fractions: [0.5, 1], seeds: [0])
        let cancel = CancellationFlag()
        var calls: [SweepCell] = []
        let partial = try sweep.run(journal: journal, cancel: cancel, progress: { _, done, _ in
            if done == 3 { cancel.cancel() }
        }) { cell, _ in calls.append(cell); return record(cell) }
        XCTAssertEqual(partial.records.count, 3)
        XCTAssertEqual(try SweepJournal.read(journal).count, 3)

        calls.removeAll()
        let full = try sweep.run(journal: journal) { cell, _ in calls.append(cell); return record(cell) }
        XCTAssertEqual(calls, [SweepCell(method: "step-by-step", fraction: 1, seed: 0)])
        XCTAssertEqual(full.records.map(\.cell), sweep.cells)
    }

    func testTornLastLineIsIgnoredAndCorruptMiddleLineIsNamed() throws {
        let journal = try temporaryJournal()
        let cell = SweepCell(method: "finetune", fraction: 1, seed: 0)
        try SweepJournal.append(record(cell), to: journal)
        let handle = try FileHandle(forWritingTo: journal)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"cell\":{\"meth".utf8))   // a kill mid-write
        try handle.close()
        XCTAssertEqual(try SweepJournal.read(journal).map(\.cell), [cell])

        // The next append cuts the torn tail off, so both finished records read back.
        let second = SweepCell(method: "finetune", fraction: 0.5, seed: 0)
        try SweepJournal.append(record(second), to: journal)
        XCTAssertEqual(try SweepJournal.read(journal).map(\.cell), [cell, second])

        // A corrupt line before the last is not guessed at: the error names the file and line.
        var text = try String(contentsOf: journal, encoding: .utf8)
        text = "garbage\n" + text
        try text.write(to: journal, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SweepJournal.read(journal)) { error in
            XCTAssertEqual(error as? SweepError, .badJournal(path: journal.path, line: 1, reason: "not a sweep record"))
        }
    }
}

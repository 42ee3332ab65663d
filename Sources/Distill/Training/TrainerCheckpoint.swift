// Checkpoint folders. `<dir>/last/` holds the student as it saves itself (a Hugging Face folder),
// `optimizer.safetensors` and `trainer_state.json`; `<dir>/best/` holds the best evaluation's
// student and its trainer_state.json. A folder is written under a temporary name and renamed
// into place, so a crash or a failed write never leaves a half folder under `last` or `best`.
import Foundation
import NN
import Tensor

/// The trainer's progress, as `trainer_state.json` stores it.
public struct TrainerState: Codable, Hashable, Sendable {
    /// Format version of this file (2: the mixture manifest replaced method, alpha and item count).
    public var version = TrainerState.currentVersion
    /// The format this Stepwise writes and reads.
    public static let currentVersion = 2
    /// Steps completed.
    public var step = 0
    /// The epoch of the next batch.
    public var epoch = 0
    /// The index of the next batch within its epoch (the batch order is rebuilt from the seed).
    public var batchInEpoch = 0
    /// Examples processed.
    public var examplesSeen = 0
    /// Tokens processed.
    public var tokensSeen = 0
    /// Seconds inside steps.
    public var stepSeconds = 0.0
    /// Seconds training and evaluating.
    public var wallSeconds = 0.0
    /// Step records.
    public var losses: [StepRecord] = []
    /// Evaluation records.
    public var evaluations: [EvaluationRecord] = []
    /// The best evaluation's step.
    public var bestStep: Int?
    /// The best accuracy.
    public var bestAccuracy: Double?
    /// Evaluations since the best one.
    public var evaluationsWithoutImprovement = 0
    /// The settings the run was started with.
    public var config: TrainerConfig
    /// What the run trains on: its streams, rates, seed and data hash (a resume must see the same).
    public var mixture: MixtureManifest
    /// The student family.
    public var family: String

    /// A fresh state.
    public init(config: TrainerConfig, mixture: MixtureManifest, family: String) {
        self.config = config
        self.mixture = mixture
        self.family = family
    }
}

/// Reading and writing checkpoint folders.
public enum TrainerCheckpoint {
    /// The state file's name.
    public static let stateFile = "trainer_state.json"
    /// The optimizer state's file name.
    public static let optimizerFile = "optimizer.safetensors"

    /// Writes a folder atomically, never removing a file Stepwise did not write (see `FolderWrite`).
    /// - Parameters:
    ///   - destination: The folder to create or replace.
    ///   - overwrite: Whether a folder holding other files may be written into (they are kept).
    ///   - fill: Writes the folder's content.
    /// - Throws: `TrainingError.refusedFolder`, what `fill` throws, or `TrainingError.badCheckpoint`.
    public static func writeAtomically(_ destination: URL, overwrite: Bool = false, _ fill: (URL) throws -> Void) throws {
        try FolderWrite.write(destination, overwrite: overwrite, fill)
    }

    /// The folder holding `trainer_state.json`: `url` itself, or `url/last`. A `last` that a crash
    /// left renamed aside (`.last.old-*`) is found too.
    /// - Throws: `TrainingError.badCheckpoint` when neither holds a state file.
    public static func stateFolder(_ url: URL) throws -> URL {
        let fm = FileManager.default
        if fm.fileExists(atPath: url.appendingPathComponent(stateFile).path) { return url }
        let last = url.appendingPathComponent("last")
        if fm.fileExists(atPath: last.appendingPathComponent(stateFile).path) { return last }
        let asides = ((try? fm.contentsOfDirectory(atPath: url.path)) ?? []).filter { $0.hasPrefix(".last.old-") }.sorted()
        if let aside = asides.last { return url.appendingPathComponent(aside) }
        throw TrainingError.badCheckpoint(path: last.appendingPathComponent(stateFile).path,
                                          reason: "no checkpoint here (neither \(url.path) nor its last/ holds \(stateFile))")
    }

    /// Writes `trainer_state.json` into `folder`.
    static func writeState(_ state: TrainerState, to folder: URL) throws {
        let url = folder.appendingPathComponent(stateFile)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do { try encoder.encode(state).write(to: url) } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot write it: \(error.localizedDescription)")
        }
    }

    /// Reads `trainer_state.json` from `folder`.
    /// - Throws: `TrainingError.badCheckpoint` naming the file when it is missing or malformed.
    public static func readState(from folder: URL) throws -> TrainerState {
        let url = folder.appendingPathComponent(stateFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "the file is missing")
        }
        struct Version: Decodable { var version: Int? }
        if let data = try? Data(contentsOf: url), let found = try? JSONDecoder().decode(Version.self, from: data),
           let version = found.version, version != TrainerState.currentVersion {
            throw TrainingError.badCheckpoint(path: url.path, reason: "it is format \(version) and this Stepwise reads format \(TrainerState.currentVersion) (checkpoints made before training on mixtures cannot be resumed); start a new checkpoint folder")
        }
        do {
            return try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "not a valid trainer state (\(error))")
        }
    }

    /// Writes an optimizer's state into `folder`.
    static func writeOptimizer(_ optimizer: Optimizer, to folder: URL) throws {
        let url = folder.appendingPathComponent(optimizerFile)
        do {
            try SafetensorsFile.write(optimizer.stateDict(), metadata: ["format": "stepwise-optimizer"], to: url)
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot write it: \(error)")
        }
    }

    /// Loads an optimizer's state from `folder`.
    /// - Throws: `TrainingError.badCheckpoint` naming the file when it is missing, unreadable or does not fit.
    static func readOptimizer(into optimizer: Optimizer, from folder: URL) throws {
        let url = folder.appendingPathComponent(optimizerFile)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TrainingError.badCheckpoint(path: url.path, reason: "the file is missing")
        }
        do {
            let file = try SafetensorsFile(contentsOf: url)
            var state: [String: Tensor] = [:]
            for name in file.names { state[name] = try file.tensor(name) }
            try optimizer.loadStateDict(state)
        } catch {
            throw TrainingError.badCheckpoint(path: url.path, reason: "cannot restore the optimizer from it (\(error))")
        }
    }
}

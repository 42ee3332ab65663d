// Writing a folder of files (a student, a checkpoint) without ever removing a file Stepwise did
// not write. A folder is filled under a temporary name beside its destination and renamed into
// place, so a crash leaves the old folder or the new one, never half of one. A destination that
// already holds other files (a notebook, a rationale store) is refused unless the caller asks to
// overwrite, and then only the folder's own files are replaced; the others stay.
import Foundation

/// Where a folder write may go, and how it replaces what is there.
public enum FolderWrite {
    /// The manifest every folder Stepwise writes carries: the names of the files it wrote, so a
    /// later write knows exactly which files it may replace.
    public static let manifestFile = ".stepwise-folder.json"

    /// Names that checkpoints written before the manifest existed hold. A folder without a
    /// manifest counts as Stepwise's only when it holds `trainer_state.json` and nothing else.
    static let legacyNames: Set<String> = [
        "config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "generation_config.json", "trainer_state.json", "optimizer.safetensors",
        "adapter_config.json", "adapter_model.safetensors",
    ]

    /// What a write will do with its destination.
    enum Plan: Equatable {
        /// Nothing there, an empty folder, or a folder of Stepwise's own files: swap it whole.
        case replaceWhole
        /// A folder holding other files, and the caller said overwrite: put the new files into it.
        case mergeInto
    }

    /// Writes a folder atomically: `fill` writes into a fresh temporary folder next to
    /// `destination`, which then takes `destination`'s place by rename. On any failure the
    /// temporary folder is removed and `destination` is left as it was. Temporary folders that an
    /// earlier, killed write left beside `destination` are removed after a successful write.
    /// - Parameters:
    ///   - destination: The folder to create or replace. Never "", ".", "..", the working folder
    ///     or a folder that holds it.
    ///   - overwrite: Whether a folder holding files Stepwise did not write may be written into.
    ///     Even then those files are kept; only files of the same names are replaced.
    ///   - fill: Writes the folder's content.
    /// - Throws: `TrainingError.refusedFolder` before anything is written when the destination is
    ///   not safe to write; what `fill` throws; `TrainingError.badCheckpoint` when a folder cannot
    ///   be made or renamed.
    public static func write(_ destination: URL, overwrite: Bool = false, _ fill: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let plan = try self.plan(for: destination, overwrite: overwrite)
        let parent = destination.deletingLastPathComponent()
        let name = destination.lastPathComponent
        let stamp = "\(ProcessInfo.processInfo.processIdentifier)-\(UInt64(Date().timeIntervalSince1970 * 1e6))"
        let temporary = parent.appendingPathComponent(".\(name).tmp-\(stamp)")
        let old = parent.appendingPathComponent(".\(name).old-\(stamp)")
        do {
            try fm.createDirectory(at: temporary, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.badCheckpoint(path: temporary.path, reason: "cannot create the folder: \(error.localizedDescription)")
        }
        do {
            try fill(temporary)
            let written = try fm.contentsOfDirectory(atPath: temporary.path).filter { $0 != manifestFile }.sorted()
            try writeManifest(written, to: temporary)
            switch plan {
            case .replaceWhole:
                let hadOld = fm.fileExists(atPath: destination.path)
                if hadOld { try fm.moveItem(at: destination, to: old) }
                do { try fm.moveItem(at: temporary, to: destination) } catch {
                    if hadOld { try? fm.moveItem(at: old, to: destination) }
                    throw error
                }
                if hadOld { try? fm.removeItem(at: old) }
            case .mergeInto:
                // File by file: each rename is atomic; files of other names stay untouched.
                for file in written + [manifestFile] {
                    let target = destination.appendingPathComponent(file)
                    if rename(temporary.appendingPathComponent(file).path, target.path) != 0 {
                        throw TrainingError.badCheckpoint(path: target.path, reason: "cannot move it into place: \(String(cString: strerror(errno)))")
                    }
                }
                try? fm.removeItem(at: temporary)
            }
        } catch {
            try? fm.removeItem(at: temporary)
            if let error = error as? TrainingError { throw error }
            throw TrainingError.badCheckpoint(path: destination.path, reason: "cannot write it: \(error.localizedDescription)")
        }
        removeLeftovers(of: name, in: parent, keeping: [temporary.lastPathComponent, old.lastPathComponent])
    }

    /// Decides, before anything is written, whether `destination` may be written and how.
    static func plan(for destination: URL, overwrite: Bool) throws -> Plan {
        let fm = FileManager.default
        let raw = destination.relativePath
        guard !raw.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw TrainingError.refusedFolder(path: "\"\"", reason: "no folder given; name a new folder, e.g. \"students/svamp-sbs\"")
        }
        let target = destination.standardizedFileURL.resolvingSymlinksInPath()
        let name = URL(fileURLWithPath: raw).lastPathComponent
        if name == "." || name == ".." || target.path == "/" {
            throw TrainingError.refusedFolder(path: target.path, reason: "\"\(raw)\" names a folder that holds other work; name a new folder inside it instead, e.g. \"\(raw == "/" ? "" : raw + "/")student\"")
        }
        let working = URL(fileURLWithPath: fm.currentDirectoryPath).standardizedFileURL.resolvingSymlinksInPath().path
        if working == target.path || working.hasPrefix(target.path + "/") {
            throw TrainingError.refusedFolder(path: target.path, reason: "it is the working folder or holds it (\(working)); name a new folder inside it instead")
        }
        var isFolder: ObjCBool = false
        guard fm.fileExists(atPath: target.path, isDirectory: &isFolder) else { return .replaceWhole }
        guard isFolder.boolValue else {
            throw TrainingError.refusedFolder(path: target.path, reason: "it is a file, not a folder")
        }
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: target.path) } catch {
            throw TrainingError.refusedFolder(path: target.path, reason: "cannot list it: \(error.localizedDescription)")
        }
        let own = ownFiles(in: target, entries: entries)
        let foreign = entries.filter { !own.contains($0) }.sorted()
        if foreign.isEmpty { return .replaceWhole }
        if overwrite { return .mergeInto }
        let shown = foreign.prefix(5).joined(separator: ", ") + (foreign.count > 5 ? ", and \(foreign.count - 5) more" : "")
        throw TrainingError.refusedFolder(path: target.path, reason: "it holds files Stepwise did not write (\(shown)); save into a new or empty folder, or pass overwrite: true to write the student's files into it and keep the others")
    }

    /// The entries of a folder that an earlier Stepwise write put there.
    static func ownFiles(in folder: URL, entries: [String]) -> Set<String> {
        let manifest = folder.appendingPathComponent(manifestFile)
        if let data = try? Data(contentsOf: manifest), let names = try? JSONDecoder().decode(Manifest.self, from: data).files {
            return Set(names).union([manifestFile])
        }
        // A checkpoint from before the manifest: trainer_state.json and only names Stepwise writes.
        if entries.contains("trainer_state.json") && entries.allSatisfy(legacyNames.contains) { return Set(entries) }
        return []
    }

    struct Manifest: Codable {
        var writer = "stepwise"
        var files: [String]
    }

    static func writeManifest(_ files: [String], to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(Manifest(files: files)).write(to: folder.appendingPathComponent(manifestFile))
    }

    /// Removes `.NAME.tmp-*` and `.NAME.old-*` folders that killed writes left in `parent`.
    /// Only after a successful write: until then an `.old-*` may hold the only complete copy.
    static func removeLeftovers(of name: String, in parent: URL, keeping: Set<String>) {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: parent.path) else { return }
        for entry in entries where !keeping.contains(entry)
            && (entry.hasPrefix(".\(name).tmp-") || entry.hasPrefix(".\(name).old-")) {
            try? fm.removeItem(at: parent.appendingPathComponent(entry))
        }
    }
}

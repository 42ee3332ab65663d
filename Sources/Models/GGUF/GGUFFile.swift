// The GGUF reader: memory-maps a file (or copies a byte buffer), parses header, metadata and
// tensor infos with a bounds check on every read, and hands out tensors that point into the map.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns the bytes of a GGUF file: a read-only `mmap` of the file, or a heap copy of a buffer.
/// Tensors keep a reference to it, so the mapping lives as long as any tensor does.
public final class GGUFStorage: @unchecked Sendable {
    /// The first byte of the file.
    public let base: UnsafeRawPointer
    /// The file's size in bytes.
    public let count: Int
    private let isMapped: Bool

    init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw GGUFError.fileTooSmall(size: size) }
        let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let address, address != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(address)
        count = size
        isMapped = true
    }

    init(bytes: [UInt8]) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { source in
            if let from = source.baseAddress { buffer.copyMemory(from: from, byteCount: bytes.count) }
        }
        base = UnsafeRawPointer(buffer)
        count = bytes.count
        isMapped = false
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }
}

/// A bounds-checked little-endian reader over the file's bytes.
struct GGUFCursor {
    let base: UnsafeRawPointer
    let size: Int
    var offset = 0

    var remaining: Int { size - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        let width = MemoryLayout<T>.size
        guard width <= remaining else {
            throw GGUFError.truncated(what: what(), offset: offset, fileSize: size)
        }
        let value = base.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += width
        return T(littleEndian: value)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let start = offset
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw GGUFError.stringPastEnd(offset: start, length: length, fileSize: size)
        }
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: Int(length))
        offset += Int(length)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads a count and checks that `count * minimumSize` bytes can still follow it.
    mutating func readCount(_ what: String, minimumSize: Int) throws -> Int {
        let start = offset
        let count = try read(UInt64.self, what + " count")
        let (needed, overflow) = count.multipliedReportingOverflow(by: UInt64(max(minimumSize, 1)))
        guard !overflow, needed <= UInt64(remaining) else {
            throw GGUFError.countTooLarge(what: what, count: count, offset: start, fileSize: size)
        }
        return Int(count)
    }
}

/// A parsed GGUF file: its metadata, its tensor infos and access to tensor data in place.
public final class GGUFFile: @unchecked Sendable {
    /// The format version (2 or 3).
    public let version: Int
    /// Metadata in file order.
    public let metadataKeys: [String]
    /// Metadata by key.
    public let metadata: [String: GGUFValue]
    /// Tensor infos in file order.
    public let tensorInfos: [GGUFTensorInfo]
    /// Byte alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Absolute byte offset of the data section.
    public let dataOffset: Int
    /// The bytes behind everything.
    public let storage: GGUFStorage
    let tensorIndex: [String: Int]

    static let magic: UInt32 = 0x4655_4747  // "GGUF"
    static let maxArrayNesting = 8

    /// Memory-maps and parses the GGUF file at `path`.
    /// - Throws: `GGUFError` naming the first check that failed.
    public convenience init(path: String) throws {
        try self.init(storage: GGUFStorage(path: path))
    }

    /// Parses a GGUF file held in memory (tests, downloads); the bytes are copied once.
    public convenience init(bytes: [UInt8]) throws {
        try self.init(storage: GGUFStorage(bytes: bytes))
    }

    init(storage: GGUFStorage) throws {
        self.storage = storage
        var cursor = GGUFCursor(base: storage.base, size: storage.count)
        guard storage.count >= 24 else {
            if storage.count >= 4, cursor.base.loadUnaligned(as: UInt32.self) != Self.magic {
                throw GGUFError.badMagic(found: UInt32(littleEndian: cursor.base.loadUnaligned(as: UInt32.self)))
            }
            throw GGUFError.fileTooSmall(size: storage.count)
        }
        let magic = try cursor.read(UInt32.self, "magic")
        guard magic == Self.magic else { throw GGUFError.badMagic(found: magic) }
        let version = try cursor.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        self.version = Int(version)

        // The smallest tensor info is a 1-byte name (8+1), 1 dim (4+8), type (4) and offset (8).
        let tensorCount = try cursor.readCount("tensor", minimumSize: 33)
        // The smallest key-value is an empty key (8), a type (4) and a 1-byte value.
        let metadataCount = try cursor.readCount("metadata key-value", minimumSize: 13)

        var keys: [String] = []
        var metadata: [String: GGUFValue] = [:]
        keys.reserveCapacity(metadataCount)
        for index in 0..<metadataCount {
            let key = try cursor.readString("metadata key #\(index)")
            let rawType = try cursor.read(UInt32.self, "type of '\(key)'")
            let value = try Self.readValue(&cursor, rawType: rawType, key: key, depth: 0)
            guard metadata[key] == nil else { throw GGUFError.duplicateKey(key) }
            metadata[key] = value
            keys.append(key)
        }
        self.metadataKeys = keys
        self.metadata = metadata

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue, a > 0, a & (a - 1) == 0, a <= 1 << 20 else {
                throw GGUFError.badAlignment(UInt64(clamping: value.intValue ?? 0))
            }
            alignment = a
        }
        self.alignment = alignment

        var rawInfos: [(name: String, dims: [UInt64], type: UInt32, offset: UInt64)] = []
        rawInfos.reserveCapacity(tensorCount)
        for index in 0..<tensorCount {
            let name = try cursor.readString("name of tensor #\(index)")
            let dimCount = try cursor.read(UInt32.self, "dimension count of '\(name)'")
            guard dimCount <= 4 else { throw GGUFError.tooManyDims(tensor: name, count: dimCount) }
            var dims: [UInt64] = []
            for d in 0..<Int(dimCount) { dims.append(try cursor.read(UInt64.self, "dim \(d) of '\(name)'")) }
            let type = try cursor.read(UInt32.self, "type of '\(name)'")
            let offset = try cursor.read(UInt64.self, "data offset of '\(name)'")
            rawInfos.append((name, dims, type, offset))
        }

        let (padded, overflow) = cursor.offset.addingReportingOverflow(alignment - 1)
        guard !overflow else { throw GGUFError.truncated(what: "data section", offset: cursor.offset, fileSize: storage.count) }
        let dataOffset = padded / alignment * alignment
        self.dataOffset = dataOffset

        var infos: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        infos.reserveCapacity(rawInfos.count)
        for raw in rawInfos {
            let info = try Self.validate(raw, alignment: alignment, dataOffset: dataOffset, fileSize: storage.count)
            guard index[info.name] == nil else { throw GGUFError.duplicateTensor(info.name) }
            index[info.name] = infos.count
            infos.append(info)
        }
        try Self.checkLayout(infos, alignment: alignment, dataSize: storage.count - dataOffset)
        self.tensorInfos = infos
        self.tensorIndex = index
    }

    /// The one byte-size check: tensors tile the data section from offset 0, each one's bytes
    /// (from its type and dims) filling its span up to the next tensor's offset, less padding.
    /// A tensor retyped (Q8_0 read as Q4_0) or re-shaped no longer fits its span.
    private static func checkLayout(_ infos: [GGUFTensorInfo], alignment: Int, dataSize: Int) throws {
        let sorted = infos.sorted { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }
        guard let first = sorted.first else { return }
        guard first.offset == 0 else { throw GGUFError.dataBeforeFirstTensor(tensor: first.name, offset: first.offset) }
        for (i, info) in sorted.enumerated() {
            // Offsets and sizes are each within the file (checked in `validate`), so no overflow.
            let next = i + 1 < sorted.count ? sorted[i + 1].offset : dataSize
            let span = next - info.offset
            let padded = (info.byteCount + alignment - 1) / alignment * alignment
            // The last tensor may end the file with or without its padding.
            let fits = i + 1 < sorted.count ? span == padded : span >= info.byteCount && span <= padded
            guard fits else {
                throw GGUFError.tensorSizeMismatch(tensor: info.name, type: info.type, dims: info.dims,
                                                   bytes: info.byteCount, span: span)
            }
        }
    }

    private static func readValue(_ cursor: inout GGUFCursor, rawType: UInt32, key: String, depth: Int) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError.unknownValueType(rawType, key: key)
        }
        let what = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, what))
        case .int8: return .int8(try cursor.read(Int8.self, what))
        case .uint16: return .uint16(try cursor.read(UInt16.self, what))
        case .int16: return .int16(try cursor.read(Int16.self, what))
        case .uint32: return .uint32(try cursor.read(UInt32.self, what))
        case .int32: return .int32(try cursor.read(Int32.self, what))
        case .uint64: return .uint64(try cursor.read(UInt64.self, what))
        case .int64: return .int64(try cursor.read(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, what)))
        case .bool: return .bool(try cursor.read(UInt8.self, what) != 0)
        case .string: return .string(try cursor.readString(what))
        case .array:
            guard depth < maxArrayNesting else { throw GGUFError.nestingTooDeep(key: key) }
            let rawElementType = try cursor.read(UInt32.self, "element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: rawElementType) else {
                throw GGUFError.unknownValueType(rawElementType, key: key)
            }
            let count = try cursor.readCount("array '\(key)'", minimumSize: elementType.minimumEncodedSize)
            var elements: [GGUFValue] = []
            elements.reserveCapacity(count)
            for _ in 0..<count {
                elements.append(try readValue(&cursor, rawType: rawElementType, key: key, depth: depth + 1))
            }
            return .array(elementType, elements)
        }
    }

    private static func validate(_ raw: (name: String, dims: [UInt64], type: UInt32, offset: UInt64),
                                 alignment: Int, dataOffset: Int, fileSize: Int) throws -> GGUFTensorInfo {
        guard let type = GGMLType(rawValue: raw.type) else {
            throw GGUFError.unknownTensorType(raw.type, tensor: raw.name)
        }
        // Each dim on its own too: a zero dim makes the product small whatever the others hold.
        var elements: UInt64 = 1
        for d in raw.dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: d)
            guard !overflow, d <= UInt64(Int.max / 4), product <= UInt64(Int.max / 4) else {
                throw GGUFError.dimsOverflow(tensor: raw.name, dims: raw.dims)
            }
            elements = product
        }
        let traits = type.traits
        let rowLength = raw.dims.first ?? 1
        guard rowLength % UInt64(traits.blockSize) == 0 else {
            throw GGUFError.rowNotWholeBlocks(tensor: raw.name, rowLength: Int(rowLength), blockSize: traits.blockSize)
        }
        guard raw.offset % UInt64(alignment) == 0 else {
            throw GGUFError.offsetMisaligned(tensor: raw.name, offset: raw.offset, alignment: alignment)
        }
        // elements <= Int.max/4, and bytesPerBlock / blockSize <= 4, so this cannot overflow.
        let bytes = elements / UInt64(traits.blockSize) * UInt64(traits.bytesPerBlock)
        let (start, o1) = UInt64(dataOffset).addingReportingOverflow(raw.offset)
        let (end, o2) = start.addingReportingOverflow(bytes)
        guard !o1, !o2, end <= UInt64(fileSize) else {
            throw GGUFError.tensorDataPastEnd(tensor: raw.name, end: o1 || o2 ? UInt64.max : end, fileSize: fileSize)
        }
        return GGUFTensorInfo(name: raw.name, dims: raw.dims.map { Int($0) }, type: type,
                              offset: Int(raw.offset), elementCount: Int(elements), byteCount: Int(bytes))
    }
}

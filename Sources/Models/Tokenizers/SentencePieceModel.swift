// A minimal protobuf reader for SentencePiece's `spiece.model` (ModelProto): the pieces with
// their scores and types, the trainer's model type and special ids, and the normaliser flags.
// Only the fields a tokenizer needs are read; every other field is skipped by wire type.
import Foundation

/// The parts of a SentencePiece `ModelProto` that tokenisation uses.
public struct SentencePieceModel: Sendable {
    /// One vocabulary entry: `SentencePiece { piece = 1; score = 2; type = 3 }`.
    public struct Piece: Sendable, Equatable {
        public var text: String
        public var score: Float
        public var type: TokenType

        public init(text: String, score: Float, type: TokenType) {
            self.text = text
            self.score = score
            self.type = type
        }
    }

    /// `TrainerSpec.model_type`.
    public enum ModelType: Int, Sendable { case unigram = 1, bpe = 2, word = 3, char = 4 }

    public var pieces: [Piece] = []
    public var modelType: ModelType = .unigram
    public var unknownID = 0, bosID = 1, eosID = 2, padID = -1
    public var byteFallback = false
    public var addDummyPrefix = true
    public var removeExtraWhitespaces = true
    /// `NormalizerSpec.name`, e.g. "nmt_nfkc".
    public var normalizerName = "nmt_nfkc"

    /// Parses the bytes of a `spiece.model` file.
    /// - Throws: `TokenizerError.malformed` with the byte offset of the first bad field.
    public init(bytes: [UInt8]) throws {
        var reader = ProtobufReader(bytes: bytes[...])
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2): pieces.append(try Self.parsePiece(try reader.lengthDelimited()))
            case (2, 2): try parseTrainer(try reader.lengthDelimited())
            case (3, 2): try parseNormalizer(try reader.lengthDelimited())
            default: try reader.skip(wire)
            }
        }
        guard !pieces.isEmpty else { throw TokenizerError.malformed("spiece.model holds no pieces") }
    }

    /// Reads `spiece.model` from disk.
    public init(url: URL) throws {
        try self.init(bytes: [UInt8](try Data(contentsOf: url)))
    }

    private static func parsePiece(_ bytes: ArraySlice<UInt8>) throws -> Piece {
        var reader = ProtobufReader(bytes: bytes)
        var piece = Piece(text: "", score: 0, type: .normal)
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2): piece.text = String(decoding: try reader.lengthDelimited(), as: UTF8.self)
            case (2, 5): piece.score = Float(bitPattern: try reader.fixed32())
            case (3, 0):
                // SentencePiece numbers types NORMAL=1 UNKNOWN=2 CONTROL=3 USER_DEFINED=4 BYTE=6 UNUSED=5,
                // the same as GGUF's token types.
                piece.type = Int(exactly: try reader.varint()).flatMap(TokenType.init(rawValue:)) ?? .normal
            default: try reader.skip(wire)
            }
        }
        return piece
    }

    private mutating func parseTrainer(_ bytes: ArraySlice<UInt8>) throws {
        var reader = ProtobufReader(bytes: bytes)
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (3, 0): modelType = Int(exactly: try reader.varint()).flatMap(ModelType.init(rawValue:)) ?? .unigram
            case (35, 0): byteFallback = try reader.varint() != 0
            case (40, 0): unknownID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (41, 0): bosID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (42, 0): eosID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            case (43, 0): padID = Int(Int32(truncatingIfNeeded: try reader.varint()))
            default: try reader.skip(wire)
            }
        }
    }

    private mutating func parseNormalizer(_ bytes: ArraySlice<UInt8>) throws {
        var reader = ProtobufReader(bytes: bytes)
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2): normalizerName = String(decoding: try reader.lengthDelimited(), as: UTF8.self)
            case (3, 0): addDummyPrefix = try reader.varint() != 0
            case (4, 0): removeExtraWhitespaces = try reader.varint() != 0
            default: try reader.skip(wire)
            }
        }
    }
}

/// Protobuf wire-format reading: varints, fixed 32/64-bit values and length-delimited fields.
struct ProtobufReader {
    var bytes: ArraySlice<UInt8>
    var position: Int

    init(bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        position = bytes.startIndex
    }

    /// The next field number and wire type, or nil at the end.
    mutating func nextField() throws -> (Int, Int)? {
        guard position < bytes.endIndex else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw TokenizerError.malformed("protobuf field number 0 at byte \(position)") }
        return (field, Int(key & 7))
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex else { throw TokenizerError.malformed("protobuf varint runs past the end") }
            let b = bytes[position]
            position += 1
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw TokenizerError.malformed("protobuf varint longer than 10 bytes at \(position)") }
        }
    }

    mutating func fixed32() throws -> UInt32 {
        guard bytes.endIndex - position >= 4 else { throw TokenizerError.malformed("protobuf fixed32 runs past the end") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
        position += 4
        return v
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = try varint()
        guard length <= UInt64(bytes.endIndex - position) else {
            throw TokenizerError.malformed("protobuf field of \(length) bytes at \(position) runs past the end")
        }
        let slice = bytes[position..<position + Int(length)]
        position += Int(length)
        return slice
    }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1:
            guard bytes.endIndex - position >= 8 else { throw TokenizerError.malformed("protobuf fixed64 runs past the end") }
            position += 8
        case 2: _ = try lengthDelimited()
        case 5: _ = try fixed32()
        default: throw TokenizerError.malformed("protobuf wire type \(wire) at byte \(position) is not supported")
        }
    }
}

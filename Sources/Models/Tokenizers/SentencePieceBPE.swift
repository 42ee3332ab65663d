// SentencePiece BPE as Llama 1/2 GGUFs use it (`tokenizer.ggml.model` = "llama"): spaces become
// `▁`, characters merge pairwise by the score of the merged token (highest first, leftmost on
// ties), and characters outside the vocabulary fall back to `<0xNN>` byte tokens. This follows
// llama.cpp's `llm_tokenizer_spm`.
import Foundation

/// SentencePiece BPE tokenizer.
public final class SentencePieceBPETokenizer: Tokenizer, @unchecked Sendable {
    /// Vocabulary entries as written (`▁the`, `<0x0A>`).
    public let tokens: [String]
    /// Merge priority of each token (higher merges first).
    public let scores: [Float]
    /// Each token's role.
    public let tokenTypes: [TokenType]
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// Id used for text that nothing else covers.
    public let unknownTokenID: Int?
    /// Whether a space is put before the text (and each run after a special token).
    public let addSpacePrefix: Bool

    private let tokenIDs: [String: Int]
    private let byteTokens: [Int]  // byte → id of `<0xNN>`, or -1
    private let controlMatcher: SpecialTokenMatcher
    private let userMatcher: SpecialTokenMatcher

    public var vocabularySize: Int { tokens.count }

    static let space: Unicode.Scalar = "\u{2581}"

    /// Builds the tokenizer from vocabulary arrays.
    public init(tokens: [String], scores: [Float], tokenTypes: [TokenType], bos: Int?, eos: Int?,
                unknown: Int?, addSpacePrefix: Bool) throws {
        guard scores.count == tokens.count else {
            throw TokenizerError.lengthMismatch(what: "scores", expected: tokens.count, found: scores.count)
        }
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw TokenizerError.lengthMismatch(what: "token types", expected: tokens.count, found: tokenTypes.count)
        }
        for id in [bos, eos, unknown].compactMap({ $0 }) where id < 0 || id >= tokens.count {
            throw TokenizerError.malformed("special token id \(id) is outside the vocabulary of \(tokens.count)")
        }
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes.isEmpty ? Array(repeating: .normal, count: tokens.count) : tokenTypes
        bosTokenID = bos
        eosTokenID = eos
        unknownTokenID = unknown
        self.addSpacePrefix = addSpacePrefix
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        tokenIDs = ids
        byteTokens = (0..<256).map { b in ids[String(format: "<0x%02X>", b)] ?? -1 }
        let types = self.tokenTypes
        let specials = tokens.indices.filter { types[$0] == .control || types[$0] == .userDefined }
        controlMatcher = SpecialTokenMatcher(specials.map { (tokens[$0], $0) })
        userMatcher = SpecialTokenMatcher(specials.filter { types[$0] == .userDefined }.map { (tokens[$0], $0) })
    }

    /// Builds the tokenizer from a GGUF file whose `tokenizer.ggml.model` is "llama".
    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "llama" else { throw TokenizerError.unsupportedModel(model) }
        let tokens = try gguf.strings("tokenizer.ggml.tokens")
        let scores = gguf.metadata["tokenizer.ggml.scores"] == nil
            ? Array(repeating: 0, count: tokens.count) : try gguf.floats("tokenizer.ggml.scores")
        let types = gguf.metadata["tokenizer.ggml.token_type"] == nil ? []
            : try gguf.ints("tokenizer.ggml.token_type").map { TokenType(rawValue: $0) ?? .normal }
        try self.init(tokens: tokens, scores: scores, tokenTypes: types,
                      bos: gguf.optionalInt("tokenizer.ggml.bos_token_id"),
                      eos: gguf.optionalInt("tokenizer.ggml.eos_token_id"),
                      unknown: gguf.optionalInt("tokenizer.ggml.unknown_token_id"),
                      addSpacePrefix: (try? gguf.bool("tokenizer.ggml.add_space_prefix")) ?? true)
    }

    public func tokenText(_ id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }

    public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
        var out: [Int] = []
        var afterSpecial = true
        for fragment in (parseSpecial ? controlMatcher : userMatcher).split(text) {
            switch fragment {
            case .token(let id):
                out.append(id)
                afterSpecial = true
            case .text(let run):
                var escaped = String.UnicodeScalarView()
                if addSpacePrefix && afterSpecial { escaped.append(Self.space) }
                for s in run.unicodeScalars { escaped.append(s == " " ? Self.space : s) }
                encodeEscaped(Array(escaped), into: &out)
                afterSpecial = false
            }
        }
        return out
    }

    /// Greedy best-score pair merging over characters, then byte fallback for leftovers.
    private func encodeEscaped(_ chars: [Unicode.Scalar], into out: inout [Int]) {
        var symbols: [String] = chars.map { String($0) }
        while symbols.count > 1 {
            var bestScore = -Float.infinity, bestIndex = -1
            for i in 0..<symbols.count - 1 {
                if let id = tokenIDs[symbols[i] + symbols[i + 1]], scores[id] > bestScore {
                    bestScore = scores[id]; bestIndex = i
                }
            }
            if bestIndex < 0 { break }
            symbols[bestIndex] += symbols[bestIndex + 1]
            symbols.remove(at: bestIndex + 1)
        }
        for symbol in symbols {
            if let id = tokenIDs[symbol] { out.append(id); continue }
            for b in symbol.utf8 {
                let id = byteTokens[Int(b)]
                if id >= 0 { out.append(id) } else if let unk = unknownTokenID { out.append(unk) }
            }
        }
    }

    public func decode(_ ids: [Int], skipSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids where tokens.indices.contains(id) {
            let text = tokens[id]
            switch tokenTypes[id] {
            case .control:
                if !skipSpecial { bytes.append(contentsOf: Array(text.utf8)) }
            case .byte:
                if let b = Self.byteValue(text) { bytes.append(b) }
            case .userDefined:
                bytes.append(contentsOf: Array(text.utf8))
            default:
                if let b = Self.byteValue(text) { bytes.append(b); continue }
                bytes.append(contentsOf: Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8))
            }
        }
        var result = String(decoding: bytes, as: UTF8.self)
        if addSpacePrefix, result.hasPrefix(" ") { result.removeFirst() }
        return result
    }

    /// The byte of a `<0xNN>` token.
    static func byteValue(_ text: String) -> UInt8? {
        guard text.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">") else { return nil }
        return UInt8(text.dropFirst(3).prefix(2), radix: 16)
    }
}

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
        (controlMatcher, userMatcher) = SpecialTokenMatcher.forVocabulary(tokens, types: types)
    }

    /// Builds the tokenizer from a GGUF file whose `tokenizer.ggml.model` is "llama".
    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "llama" else { throw TokenizerError.unsupportedModel(model) }
        let tokens = try gguf.strings("tokenizer.ggml.tokens")
        let scores = gguf.metadata["tokenizer.ggml.scores"] == nil
            ? Array(repeating: 0, count: tokens.count) : try gguf.floats("tokenizer.ggml.scores")
        let types = try gguf.tokenTypes()
        try self.init(tokens: tokens, scores: scores, tokenTypes: types,
                      bos: try gguf.optional("tokenizer.ggml.bos_token_id", gguf.int),
                      eos: try gguf.optional("tokenizer.ggml.eos_token_id", gguf.int),
                      unknown: try gguf.optional("tokenizer.ggml.unknown_token_id", gguf.int),
                      addSpacePrefix: (try gguf.optional("tokenizer.ggml.add_space_prefix", gguf.bool)) ?? true)
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

    /// Best-score pair merging over characters (a priority queue of candidate pairs, as
    /// llama.cpp's `llm_tokenizer_spm`, so long texts stay O(n log n)), then byte fallback.
    private func encodeEscaped(_ chars: [Unicode.Scalar], into out: inout [Int]) {
        guard !chars.isEmpty else { return }
        // Symbols form a linked list over `chars`; a merged-away symbol has length 0.
        let start = Array(chars.indices)
        var length = [Int](repeating: 1, count: chars.count)
        var prev = chars.indices.map { $0 - 1 }, next = chars.indices.map { $0 + 1 }
        next[chars.count - 1] = -1
        var queue = BigramQueue()
        func text(_ from: Int, _ count: Int) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: chars[from..<from + count])
            return String(view)
        }
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let size = length[left] + length[right]
            guard let id = tokenIDs[text(start[left], size)] else { return }
            queue.push(Bigram(left: left, right: right, score: scores[id], size: size))
        }
        for i in 1..<chars.count { tryAdd(i - 1, i) }
        while let bigram = queue.pop() {
            let (left, right) = (bigram.left, bigram.right)
            // Skip pairs whose symbols have changed since they were queued.
            guard length[left] > 0, length[right] > 0, length[left] + length[right] == bigram.size else { continue }
            length[left] += length[right]
            length[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { prev[next[right]] = left }
            tryAdd(prev[left], left)
            tryAdd(left, next[left])
        }
        var i = 0
        while i >= 0 {
            let symbol = text(start[i], length[i])
            if let id = tokenIDs[symbol] {
                out.append(id)
            } else {
                for b in symbol.utf8 {
                    let id = byteTokens[Int(b)]
                    if id >= 0 { out.append(id) } else if let unk = unknownTokenID { out.append(unk) }
                }
            }
            i = next[i]
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

/// A candidate merge of two adjacent symbols.
struct Bigram {
    let left: Int
    let right: Int
    let score: Float
    let size: Int

    /// Pops first: the higher score, then the leftmost.
    func before(_ other: Bigram) -> Bool {
        score > other.score || (score == other.score && left < other.left)
    }
}

/// A binary max-heap of bigrams ordered by `Bigram.before`.
struct BigramQueue {
    private var items: [Bigram] = []

    mutating func push(_ item: Bigram) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].before(items[parent]) else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Bigram? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var parent = 0
            while true {
                let l = 2 * parent + 1, r = l + 1
                var best = parent
                if l < items.count, items[l].before(items[best]) { best = l }
                if r < items.count, items[r].before(items[best]) { best = r }
                if best == parent { break }
                items.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}

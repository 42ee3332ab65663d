// Byte-level BPE (GPT-2, Llama 3, SmolLM): special tokens are split out whole, the rest is
// pre-tokenised by regex, each piece is mapped byte → scalar and merged by rank. Built from GGUF
// metadata (`tokenizer.ggml.model` = "gpt2") or from a Hugging Face tokenizer.json.
import Foundation

/// A merge of two adjacent symbols (token ids), keyed for the rank table.
struct MergePair: Hashable {
    let left: Int32
    let right: Int32
}

/// Byte-level BPE tokenizer.
public final class ByteLevelBPETokenizer: Tokenizer, @unchecked Sendable {
    /// Vocabulary entries as written (`Ġthe`).
    public let tokens: [String]
    /// Each token's role.
    public let tokenTypes: [TokenType]
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// Padding id, when the model names one.
    public let paddingTokenID: Int?
    /// The pre-tokenizer split in use.
    public let preTokenizer: PreTokenizerKind
    /// A pre-token that is itself in the vocabulary is emitted whole, without merging
    /// (Llama 3; llama.cpp's `ignore_merges`, Hugging Face's `model.ignore_merges`).
    public let ignoreMerges: Bool
    /// The merge rules as given (`"left right"`, best first), so the vocabulary can be written
    /// back out as a tokenizer.json.
    public let mergeRules: [String]

    private let tokenIDs: [String: Int]
    private let merges: [MergePair: (rank: Int32, merged: Int32)]
    private let byteTokens: [Int32]            // byte → id of its single-scalar token (or -1)
    private let controlMatcher: SpecialTokenMatcher // control + user-defined tokens
    private let userMatcher: SpecialTokenMatcher    // user-defined only (always matched)
    private let splitter: PreTokenizer

    public var vocabularySize: Int { tokens.count }

    /// Builds the tokenizer from the arrays GGUF stores.
    /// - Parameters:
    ///   - tokens: `tokenizer.ggml.tokens`.
    ///   - tokenTypes: `tokenizer.ggml.token_type` (all normal when empty).
    ///   - merges: `tokenizer.ggml.merges`, each `"left right"`, best first.
    ///   - preTokenizer: the split regex.
    ///   - ignoreMerges: emit pre-tokens found in the vocabulary whole; defaults to true for Llama 3's split.
    public init(tokens: [String], tokenTypes: [TokenType], merges: [String], preTokenizer: PreTokenizerKind,
                bos: Int?, eos: Int?, padding: Int?, ignoreMerges: Bool? = nil) throws {
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw TokenizerError.lengthMismatch(what: "token types", expected: tokens.count, found: tokenTypes.count)
        }
        self.tokens = tokens
        self.mergeRules = merges
        self.tokenTypes = tokenTypes.isEmpty ? Array(repeating: .normal, count: tokens.count) : tokenTypes
        self.preTokenizer = preTokenizer
        self.ignoreMerges = ignoreMerges ?? (preTokenizer == .llama3)
        self.splitter = PreTokenizer(kind: preTokenizer)
        for id in [bos, eos, padding].compactMap({ $0 }) where id < 0 || id >= tokens.count {
            throw TokenizerError.malformed("special token id \(id) is outside the vocabulary of \(tokens.count)")
        }
        bosTokenID = bos
        eosTokenID = eos
        paddingTokenID = padding

        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        tokenIDs = ids

        var table: [MergePair: (rank: Int32, merged: Int32)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            // Split at the first space that is not the first character (a merge's left side is never empty).
            guard let space = merge.dropFirst().firstIndex(of: " ") else {
                throw TokenizerError.malformed("merge #\(rank) '\(merge)' is not two tokens separated by a space")
            }
            let left = String(merge[..<space]), right = String(merge[merge.index(after: space)...])
            guard let l = ids[left], let r = ids[right], let m = ids[left + right] else { continue }
            let pair = MergePair(left: Int32(l), right: Int32(r))
            if table[pair] == nil { table[pair] = (Int32(rank), Int32(m)) }
        }
        self.merges = table
        byteTokens = (0..<256).map { b in Int32(ids[String(ByteLevelMap.byteToScalar[b])] ?? -1) }

        let types = self.tokenTypes
        (controlMatcher, userMatcher) = SpecialTokenMatcher.forVocabulary(tokens, types: types)
    }

    /// Builds the tokenizer from a GGUF file whose `tokenizer.ggml.model` is "gpt2".
    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
        let tokens = try gguf.strings("tokenizer.ggml.tokens")
        let types = try gguf.tokenTypes()
        let pre = (try gguf.optional("tokenizer.ggml.pre", gguf.string)) ?? "default"
        try self.init(tokens: tokens, tokenTypes: types, merges: try gguf.strings("tokenizer.ggml.merges"),
                      preTokenizer: try PreTokenizerKind(ggufName: pre),
                      bos: try gguf.optional("tokenizer.ggml.bos_token_id", gguf.int),
                      eos: try gguf.optional("tokenizer.ggml.eos_token_id", gguf.int),
                      padding: try gguf.optional("tokenizer.ggml.padding_token_id", gguf.int))
    }

    /// Builds the tokenizer from a parsed Hugging Face tokenizer.json with a BPE model.
    convenience init(tokenizerJSON root: [String: Any]) throws {
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [String: Int] else {
            throw TokenizerError.missingField("model.vocab")
        }
        let added = addedTokens(root)
        // Ids index a dense table, so none can reach past the entries listed (nor size it from the file).
        let largest = max(vocab.values.max() ?? -1, added.map(\.id).max() ?? -1)
        guard largest < vocab.count + added.count else {
            throw TokenizerError.malformed("token id \(largest) is beyond the \(vocab.count + added.count) tokens tokenizer.json lists")
        }
        let count = largest + 1
        var tokens = [String](repeating: "", count: count)
        var types = [TokenType](repeating: .normal, count: count)
        for (text, id) in vocab where id >= 0 { tokens[id] = text }
        for a in added where a.id >= 0 {
            tokens[a.id] = a.text
            types[a.id] = a.special ? .control : .userDefined
        }
        var mergeStrings: [String] = []
        for entry in model["merges"] as? [Any] ?? [] {
            if let s = entry as? String { mergeStrings.append(s) }
            else if let pair = entry as? [String], pair.count == 2 { mergeStrings.append(pair[0] + " " + pair[1]) }
            else { throw TokenizerError.malformed("model.merges holds an entry that is neither \"a b\" nor [a, b]") }
        }
        func id(_ text: String?) -> Int? { text.flatMap { t in added.first { $0.text == t }?.id ?? vocab[t] } }
        let bos = id("<|im_start|>") ?? id("<|begin_of_text|>") ?? id("<s>")
        let eos = id("<|im_end|>") ?? id("<|end_of_text|>") ?? id("<|endoftext|>") ?? id("</s>")
        try self.init(tokens: tokens, tokenTypes: types, merges: mergeStrings,
                      preTokenizer: try Self.preTokenizer(of: root), bos: bos, eos: eos, padding: nil,
                      ignoreMerges: model["ignore_merges"] as? Bool)
    }

    /// Recognises the pre_tokenizer blocks byte-level BPE tokenizer.json files use.
    static func preTokenizer(of root: [String: Any]) throws -> PreTokenizerKind {
        guard let pre = root["pre_tokenizer"] as? [String: Any] else { return .gpt2 }
        let parts = (pre["type"] as? String) == "Sequence" ? (pre["pretokenizers"] as? [[String: Any]] ?? []) : [pre]
        let types = parts.compactMap { $0["type"] as? String }
        if types.contains("Digits"), types.contains("ByteLevel") { return .smollm }
        if let split = parts.first(where: { $0["type"] as? String == "Split" }),
           let pattern = (split["pattern"] as? [String: Any])?["Regex"] as? String {
            if pattern.contains("\\p{N}{1,3}") { return .llama3 }
            throw TokenizerError.unsupportedPreTokenizer(pattern)
        }
        if types == ["ByteLevel"] { return .gpt2 }
        throw TokenizerError.unsupportedPreTokenizer(types.joined(separator: "+"))
    }

    public func tokenText(_ id: Int) -> String? { tokens.indices.contains(id) ? tokens[id] : nil }

    public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
        var out: [Int] = []
        for fragment in (parseSpecial ? controlMatcher : userMatcher).split(text) {
            switch fragment {
            case .token(let id): out.append(id)
            case .text(let run):
                for piece in splitter.split(run) { encodePiece(piece, into: &out) }
            }
        }
        return out
    }

    /// BPE on one pre-token: start from one symbol per byte, merge the best-ranked adjacent pair
    /// (leftmost on ties) until no pair has a merge. Pairs wait in a priority queue, as in
    /// llama.cpp, so a long piece (a run of one letter, a base64 blob) stays O(n log n).
    private func encodePiece(_ piece: Substring, into out: inout [Int]) {
        let bytes = Array(piece.utf8)
        if ignoreMerges, let whole = tokenIDs[ByteLevelMap.encode(bytes)] {
            out.append(whole)
            return
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(bytes.count)
        for b in bytes {
            let id = byteTokens[Int(b)]
            if id >= 0 { symbols.append(id) }
        }
        guard symbols.count > 1 else { out.append(contentsOf: symbols.map(Int.init)); return }
        // Linked list over `symbols`; a merged-away symbol is marked -1.
        var prev = symbols.indices.map { $0 - 1 }, next = symbols.indices.map { $0 + 1 }
        next[symbols.count - 1] = -1
        var queue = BigramQueue()
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0,
                  let m = merges[MergePair(left: symbols[left], right: symbols[right])] else { return }
            // `size` records the merged id, so a stale pair (either side changed) is recognised.
            queue.push(Bigram(left: left, right: right, score: -Float(m.rank), size: Int(m.merged)))
        }
        for i in 1..<symbols.count { tryAdd(i - 1, i) }
        while let bigram = queue.pop() {
            let (left, right) = (bigram.left, bigram.right)
            guard symbols[left] >= 0, symbols[right] >= 0, next[left] == right,
                  let m = merges[MergePair(left: symbols[left], right: symbols[right])],
                  Int(m.merged) == bigram.size else { continue }
            symbols[left] = m.merged
            symbols[right] = -1
            next[left] = next[right]
            if next[right] >= 0 { prev[next[right]] = left }
            tryAdd(prev[left], left)
            tryAdd(left, next[left])
        }
        var i = 0
        while i >= 0 {
            out.append(Int(symbols[i]))
            i = next[i]
        }
    }

    public func decode(_ ids: [Int], skipSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids where tokens.indices.contains(id) {
            switch tokenTypes[id] {
            case .control:
                if !skipSpecial { bytes.append(contentsOf: Array(tokens[id].utf8)) }
            case .userDefined:
                bytes.append(contentsOf: Array(tokens[id].utf8))
            default:
                ByteLevelMap.decode(tokens[id], into: &bytes)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

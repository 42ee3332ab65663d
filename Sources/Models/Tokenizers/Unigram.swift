// SentencePiece Unigram (T5, FLAN-T5): normalise, turn spaces into `▁`, then pick the
// segmentation with the highest total log-probability by Viterbi. Unknown characters cost the
// lowest score minus 10 (SentencePiece's penalty) and adjacent unknowns fuse into one token.
// Built from `spiece.model` or from a tokenizer.json whose model is "Unigram".
import Foundation

/// SentencePiece Unigram tokenizer.
public final class UnigramTokenizer: Tokenizer, @unchecked Sendable {
    /// The vocabulary with log-probabilities and roles.
    public let pieces: [SentencePieceModel.Piece]
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// Id of `<unk>`.
    public let unknownTokenID: Int
    /// Unknown characters become `<0xNN>` byte tokens instead of `<unk>`.
    public let byteFallback: Bool
    /// `▁` is put before each run of text.
    public let addDummyPrefix: Bool
    /// Runs of spaces collapse to one; leading and trailing spaces go.
    public let removeExtraWhitespaces: Bool
    /// Apply Unicode NFKC before segmenting (SentencePiece's nmt_nfkc, without its control-char map).
    public let nfkc: Bool

    private let pieceIDs: [String: Int]
    private let maxPieceScalars: Int
    private let unknownScore: Float
    private let byteTokens: [Int]
    private let matcher: SpecialTokenMatcher

    public var vocabularySize: Int { pieces.count }

    /// Builds the tokenizer from its pieces and options.
    public init(pieces: [SentencePieceModel.Piece], unknownID: Int, bos: Int?, eos: Int?, byteFallback: Bool,
                addDummyPrefix: Bool, removeExtraWhitespaces: Bool, nfkc: Bool) throws {
        guard pieces.indices.contains(unknownID) else {
            throw TokenizerError.malformed("unknown-token id \(unknownID) is outside the vocabulary of \(pieces.count)")
        }
        self.pieces = pieces
        unknownTokenID = unknownID
        bosTokenID = bos.flatMap { pieces.indices.contains($0) ? $0 : nil }
        eosTokenID = eos.flatMap { pieces.indices.contains($0) ? $0 : nil }
        self.byteFallback = byteFallback
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.nfkc = nfkc
        var ids: [String: Int] = [:]
        var longest = 1
        for (i, p) in pieces.enumerated() where p.type == .normal || p.type == .userDefined {
            if ids[p.text] == nil { ids[p.text] = i }
            longest = max(longest, p.text.unicodeScalars.count)
        }
        pieceIDs = ids
        maxPieceScalars = longest
        unknownScore = (pieces.filter { $0.type == .normal }.map(\.score).min() ?? 0) - 10
        var bytes = [Int](repeating: -1, count: 256)
        for (i, p) in pieces.enumerated() where p.type == .byte {
            if let b = SentencePieceBPETokenizer.byteValue(p.text) { bytes[Int(b)] = i }
        }
        byteTokens = bytes
        matcher = SpecialTokenMatcher(pieces.indices.filter { pieces[$0].type == .control || pieces[$0].type == .userDefined }
            .filter { !pieces[$0].text.isEmpty }.map { (pieces[$0].text, $0) })
    }

    /// Builds the tokenizer from a parsed `spiece.model` with a Unigram model.
    public convenience init(model: SentencePieceModel) throws {
        guard model.modelType == .unigram else { throw TokenizerError.unsupportedModel("sentencepiece \(model.modelType)") }
        try self.init(pieces: model.pieces, unknownID: model.unknownID,
                      bos: model.bosID >= 0 ? model.bosID : nil, eos: model.eosID >= 0 ? model.eosID : nil,
                      byteFallback: model.byteFallback, addDummyPrefix: model.addDummyPrefix,
                      removeExtraWhitespaces: model.removeExtraWhitespaces, nfkc: model.normalizerName.contains("nfkc"))
    }

    /// Builds the tokenizer from a GGUF file whose `tokenizer.ggml.model` is "t5" (llama.cpp's UGM).
    /// NFKC stands in for the file's precompiled charsmap when it has one.
    public convenience init(gguf: GGUFFile) throws {
        let model = try gguf.string("tokenizer.ggml.model")
        guard model == "t5" else { throw TokenizerError.unsupportedModel(model) }
        let tokens = try gguf.strings("tokenizer.ggml.tokens")
        let scores = try gguf.floats("tokenizer.ggml.scores")
        let types = try gguf.ints("tokenizer.ggml.token_type")
        guard scores.count == tokens.count, types.count == tokens.count else {
            throw TokenizerError.lengthMismatch(what: "scores/token types", expected: tokens.count,
                                                found: min(scores.count, types.count))
        }
        let pieces = tokens.indices.map {
            SentencePieceModel.Piece(text: tokens[$0], score: scores[$0], type: TokenType(rawValue: types[$0]) ?? .normal)
        }
        try self.init(pieces: pieces, unknownID: try gguf.optional("tokenizer.ggml.unknown_token_id", gguf.int) ?? 2,
                      bos: try gguf.optional("tokenizer.ggml.bos_token_id", gguf.int),
                      eos: try gguf.optional("tokenizer.ggml.eos_token_id", gguf.int), byteFallback: false,
                      addDummyPrefix: (try gguf.optional("tokenizer.ggml.add_space_prefix", gguf.bool)) ?? true,
                      removeExtraWhitespaces: (try gguf.optional("tokenizer.ggml.remove_extra_whitespaces", gguf.bool)) ?? false,
                      nfkc: gguf.metadata["tokenizer.ggml.precompiled_charsmap"] != nil)
    }

    /// Builds the tokenizer from a parsed tokenizer.json whose model is "Unigram".
    convenience init(tokenizerJSON root: [String: Any]) throws {
        guard let model = root["model"] as? [String: Any], let vocab = model["vocab"] as? [[Any]] else {
            throw TokenizerError.missingField("model.vocab")
        }
        var pieces: [SentencePieceModel.Piece] = []
        for (i, entry) in vocab.enumerated() {
            guard entry.count == 2, let text = entry[0] as? String, let score = entry[1] as? Double else {
                throw TokenizerError.malformed("model.vocab[\(i)] is not [piece, score]")
            }
            pieces.append(.init(text: text, score: Float(score), type: .normal))
        }
        for added in addedTokens(root) where pieces.indices.contains(added.id) {
            pieces[added.id].type = added.special ? .control : .userDefined
        }
        let unk = model["unk_id"] as? Int ?? 0
        if pieces.indices.contains(unk) { pieces[unk].type = .unknown }
        let byteFallback = model["byte_fallback"] as? Bool ?? false
        if byteFallback {
            for i in pieces.indices where SentencePieceBPETokenizer.byteValue(pieces[i].text) != nil { pieces[i].type = .byte }
        }
        let normalizer = String(describing: root["normalizer"] ?? "")
        func id(_ t: String) -> Int? { pieces.firstIndex { $0.text == t } }
        try self.init(pieces: pieces, unknownID: unk, bos: id("<s>"), eos: id("</s>"), byteFallback: byteFallback,
                      addDummyPrefix: true, removeExtraWhitespaces: true,
                      nfkc: normalizer.contains("Precompiled") || normalizer.contains("NFKC"))
    }

    public func tokenText(_ id: Int) -> String? { pieces.indices.contains(id) ? pieces[id].text : nil }

    /// Normalises one run of text into the scalars Viterbi segments.
    func normalize(_ text: Substring) -> [Unicode.Scalar] {
        var s = nfkc ? String(text).precomposedStringWithCompatibilityMapping : String(text)
        if removeExtraWhitespaces {
            s = s.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        }
        var out: [Unicode.Scalar] = []
        if addDummyPrefix && !s.isEmpty { out.append(SentencePieceBPETokenizer.space) }
        for c in s.unicodeScalars { out.append(c == " " ? SentencePieceBPETokenizer.space : c) }
        return out
    }

    public func encode(_ text: String, parseSpecial: Bool) -> [Int] {
        var out: [Int] = []
        let fragments = parseSpecial ? matcher.split(text) : [.text(Substring(text))]
        for fragment in fragments {
            switch fragment {
            case .token(let id): out.append(id)
            case .text(let run): viterbi(normalize(run), into: &out)
            }
        }
        return out
    }

    /// Best segmentation: `best[i]` is the highest score of any segmentation of the first i scalars.
    private func viterbi(_ chars: [Unicode.Scalar], into out: inout [Int]) {
        let n = chars.count
        guard n > 0 else { return }
        var best = [Float](repeating: -.infinity, count: n + 1)
        var from = [Int](repeating: 0, count: n + 1)
        var piece = [Int](repeating: -1, count: n + 1)  // -1: unknown character
        best[0] = 0
        for start in 0..<n where best[start] > -.infinity {
            var text = String.UnicodeScalarView()
            var matchedSingle = false
            for end in start + 1...min(n, start + maxPieceScalars) {
                text.append(chars[end - 1])
                guard let id = pieceIDs[String(text)] else { continue }
                if end == start + 1 { matchedSingle = true }
                let score = best[start] + (pieces[id].type == .userDefined ? 0 : pieces[id].score)
                if score > best[end] { best[end] = score; from[end] = start; piece[end] = id }
            }
            if !matchedSingle, best[start] + unknownScore > best[start + 1] {
                best[start + 1] = best[start] + unknownScore; from[start + 1] = start; piece[start + 1] = -1
            }
        }
        var path: [(id: Int, range: Range<Int>)] = []
        var end = n
        while end > 0 {
            path.append((piece[end], from[end]..<end))
            end = from[end]
        }
        var previousUnknown = false
        for step in path.reversed() {
            if step.id >= 0 { out.append(step.id); previousUnknown = false; continue }
            if byteFallback {
                for s in step.range { for b in String(chars[s]).utf8 where byteTokens[Int(b)] >= 0 { out.append(byteTokens[Int(b)]) } }
            } else if !previousUnknown {
                out.append(unknownTokenID)
            }
            previousUnknown = true
        }
    }

    public func decode(_ ids: [Int], skipSpecial: Bool) -> String {
        var bytes: [UInt8] = []
        for id in ids where pieces.indices.contains(id) {
            let p = pieces[id]
            switch p.type {
            case .control, .unknown:
                if !skipSpecial { bytes.append(contentsOf: Array(p.text.utf8)) }
            case .byte:
                if let b = SentencePieceBPETokenizer.byteValue(p.text) { bytes.append(b) }
            default:
                bytes.append(contentsOf: Array(p.text.replacingOccurrences(of: "\u{2581}", with: " ").utf8))
            }
        }
        var result = String(decoding: bytes, as: UTF8.self)
        if addDummyPrefix, result.hasPrefix(" ") { result.removeFirst() }
        return result
    }
}

/// Builds the tokenizer a `spiece.model` describes (Unigram, as T5's; or BPE).
public func makeTokenizer(sentencePieceModel url: URL) throws -> any Tokenizer {
    let model = try SentencePieceModel(url: url)
    switch model.modelType {
    case .unigram: return try UnigramTokenizer(model: model)
    case .bpe:
        return try SentencePieceBPETokenizer(tokens: model.pieces.map(\.text), scores: model.pieces.map(\.score),
                                             tokenTypes: model.pieces.map(\.type),
                                             bos: model.bosID >= 0 ? model.bosID : nil,
                                             eos: model.eosID >= 0 ? model.eosID : nil,
                                             unknown: model.unknownID, addSpacePrefix: model.addDummyPrefix)
    default: throw TokenizerError.unsupportedModel("sentencepiece \(model.modelType)")
    }
}

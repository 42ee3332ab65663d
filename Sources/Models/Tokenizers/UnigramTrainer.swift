// SentencePiece-style Unigram training: seed with every character and the most frequent substrings
// of the whitespace-split words, then alternate EM (forward-backward expected counts) with pruning
// the pieces whose removal costs the corpus least likelihood, until the vocabulary fits.
import Foundation

extension VocabularyTrainer {
    /// Longest piece, in Unicode scalars, the Unigram seed considers.
    static let maxUnigramPieceLength = 8

    /// Trains a SentencePiece-style Unigram tokenizer (`▁` marks a space, as T5's does).
    ///
    /// The vocabulary is the specials, then (with `byteFallback`) the 256 `<0xNN>` byte pieces, then
    /// every character of the text and the learned pieces, best score first. Pieces never span a
    /// space: each starts at most with one `▁`. Characters are always kept, so every seen character
    /// encodes; unseen ones become byte pieces (or `<unk>` without `byteFallback`).
    /// Ties are broken by piece text, so the same texts always give the same vocabulary.
    /// - Parameters:
    ///   - texts: the training text.
    ///   - vocabularySize: the size wanted. The result has exactly this many entries unless the text
    ///     has too few distinct substrings seen twice to fill it; then it is smaller.
    ///   - specialTokens: caller specials after `<pad>`, `</s>`, `<unk>`; matched whole when encoding.
    ///   - splitDigits: no piece longer than one character contains a digit.
    ///   - byteFallback: add the 256 byte pieces, so unseen characters still round-trip.
    ///   - emIterations: EM passes between prunings.
    /// - Throws: `VocabularyTrainerError.vocabularyTooSmall` when `vocabularySize` is below
    ///   specials + byte pieces + the distinct characters of the text.
    public static func trainUnigram(texts: [String], vocabularySize: Int, specialTokens: [String] = [],
                                    splitDigits: Bool = false, byteFallback: Bool = true,
                                    emIterations: Int = 2) throws -> UnigramTokenizer {
        let specials = try allSpecials(specialTokens)
        let space = SentencePieceBPETokenizer.space

        // Distinct words (a `▁` opens each) with their counts, as the tokenizer will normalise them.
        var wordIndex: [String: Int] = [:]
        var words: [[Unicode.Scalar]] = []
        var counts: [Double] = []
        func addWord(_ word: [Unicode.Scalar]) {
            guard !word.isEmpty else { return }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: word)
            let key = String(view)
            if let w = wordIndex[key] { counts[w] += 1; return }
            wordIndex[key] = words.count
            words.append(word)
            counts.append(1)
        }
        for run in plainRuns(texts, specials: specials) where !run.isEmpty {
            var word: [Unicode.Scalar] = [space]
            for c in run.unicodeScalars {
                if c == " " {
                    addWord(word)
                    word = [space]
                } else {
                    word.append(c)
                }
            }
            addWord(word)
        }

        // Seed: all characters, and multi-character substrings seen twice ranked by count × length.
        var substringCounts: [String: Double] = [:]
        var characters: [String: Double] = [:]
        for (w, word) in words.enumerated() {
            for start in word.indices {
                var view = String.UnicodeScalarView()
                for end in start..<min(word.count, start + maxUnigramPieceLength) {
                    view.append(word[end])
                    if end == start {
                        characters[String(view), default: 0] += counts[w]
                        continue
                    }
                    if word[end] == space { break }
                    if splitDigits, ScalarClass(word[end]).isNumber || ScalarClass(word[start]).isNumber { break }
                    substringCounts[String(view), default: 0] += counts[w]
                }
            }
        }
        let byteCount = byteFallback ? 256 : 0
        let minimum = specials.count + byteCount + characters.count
        guard vocabularySize >= minimum else {
            throw VocabularyTrainerError.vocabularyTooSmall(
                requested: vocabularySize, minimum: minimum,
                why: "\(specials.count) special tokens + \(byteCount) byte pieces + \(characters.count) distinct characters")
        }
        let target = vocabularySize - specials.count - byteCount  // normal pieces, characters included
        let seedLimit = max(4 * target, 1000)
        let seeds = substringCounts.filter { $0.value >= 2 }
            .sorted { a, b in
                let sa = a.value * Double(a.key.unicodeScalars.count), sb = b.value * Double(b.key.unicodeScalars.count)
                return sa != sb ? sa > sb : a.key < b.key
            }
            .prefix(seedLimit)

        var model = UnigramModel(characters: characters, seeds: Array(seeds))
        while true {
            for _ in 0..<emIterations { model.reestimate(words: words, counts: counts, keepAtLeast: target) }
            if model.pieces.count <= target { break }
            model.prune(to: max(target, Int(Double(model.pieces.count) * 0.75)), words: words, counts: counts)
        }
        model.reestimate(words: words, counts: counts, keepAtLeast: target)

        var pieces = specials.enumerated().map { i, text in
            SentencePieceModel.Piece(text: text, score: 0, type: text == "<unk>" ? .unknown : specialType(i))
        }
        if byteFallback {
            for b in 0..<256 { pieces.append(.init(text: String(format: "<0x%02X>", b), score: 0, type: .byte)) }
        }
        let order = model.pieces.indices.sorted { a, b in
            model.scores[a] != model.scores[b] ? model.scores[a] > model.scores[b] : model.pieces[a] < model.pieces[b]
        }
        for i in order { pieces.append(.init(text: model.pieces[i], score: Float(model.scores[i]), type: .normal)) }
        return try UnigramTokenizer(pieces: pieces, unknownID: 2, bos: nil, eos: 1, byteFallback: byteFallback,
                                    addDummyPrefix: true, removeExtraWhitespaces: false, nfkc: false)
    }
}

/// The pieces being trained with their log-probabilities; characters are never removed.
struct UnigramModel {
    private(set) var pieces: [String]
    private(set) var scores: [Double]
    private var isCharacter: [Bool]
    private var index: [String: Int] = [:]

    init(characters: [String: Double], seeds: [(key: String, value: Double)]) {
        let all = characters.sorted { $0.key < $1.key }.map { ($0.key, $0.value, true) }
            + seeds.map { ($0.key, $0.value, false) }
        let total = all.reduce(0) { $0 + $1.1 }
        pieces = all.map(\.0)
        scores = all.map { log($0.1 / total) }
        isCharacter = all.map(\.2)
        reindex()
    }

    private mutating func reindex() {
        index = [:]
        for (i, p) in pieces.enumerated() { index[p] = i }
    }

    /// Every piece matching `word[start..<end]`, as (start, end, piece).
    private func lattice(_ word: [Unicode.Scalar]) -> [(start: Int, end: Int, piece: Int)] {
        var edges: [(start: Int, end: Int, piece: Int)] = []
        for start in word.indices {
            var view = String.UnicodeScalarView()
            for end in start + 1...min(word.count, start + VocabularyTrainer.maxUnigramPieceLength) {
                view.append(word[end - 1])
                if let p = index[String(view)] { edges.append((start, end, p)) }
            }
        }
        return edges
    }

    /// One EM pass: expected piece counts by forward-backward over each word's lattice, then
    /// log(count / total). Pieces expected less than half a time go (never characters), but the
    /// most expected of them come back while fewer than `keepAtLeast` pieces remain.
    mutating func reestimate(words: [[Unicode.Scalar]], counts: [Double], keepAtLeast: Int) {
        var expected = [Double](repeating: 0, count: pieces.count)
        for (w, word) in words.enumerated() {
            let edges = lattice(word)
            let n = word.count
            var alpha = [Double](repeating: -.infinity, count: n + 1)
            var beta = [Double](repeating: -.infinity, count: n + 1)
            alpha[0] = 0
            beta[n] = 0
            for e in edges { alpha[e.end] = logAdd(alpha[e.end], alpha[e.start] + scores[e.piece]) }  // sorted by start
            for e in edges.reversed() { beta[e.start] = logAdd(beta[e.start], scores[e.piece] + beta[e.end]) }
            let z = alpha[n]
            guard z > -.infinity else { continue }
            for e in edges {
                expected[e.piece] += counts[w] * exp(alpha[e.start] + scores[e.piece] + beta[e.end] - z)
            }
        }
        var keep = pieces.indices.filter { isCharacter[$0] || expected[$0] >= 0.5 }
        if keep.count < keepAtLeast {
            let rare = pieces.indices.filter { !isCharacter[$0] && expected[$0] < 0.5 }
                .sorted { expected[$0] != expected[$1] ? expected[$0] > expected[$1] : pieces[$0] < pieces[$1] }
            keep = (keep + rare.prefix(keepAtLeast - keep.count)).sorted()
        }
        let total = keep.reduce(0) { $0 + max(expected[$1], 1e-6) }
        pieces = keep.map { pieces[$0] }
        isCharacter = keep.map { isCharacter[$0] }
        scores = keep.map { log(max(expected[$0], 1e-6) / total) }
        reindex()
    }

    /// Keeps `size` pieces: all characters, then the pieces whose loss is largest, the loss being
    /// the piece's Viterbi count times how much worse its best split into other pieces scores.
    mutating func prune(to size: Int, words: [[Unicode.Scalar]], counts: [Double]) {
        var viterbiCount = [Double](repeating: 0, count: pieces.count)
        for (w, word) in words.enumerated() {
            for p in bestPath(word, excluding: -1).pieces { viterbiCount[p] += counts[w] }
        }
        var loss = [Double](repeating: .infinity, count: pieces.count)
        for i in pieces.indices where !isCharacter[i] {
            let alternative = bestPath(Array(pieces[i].unicodeScalars), excluding: i).score
            loss[i] = viterbiCount[i] * (scores[i] - alternative)
        }
        let order = pieces.indices.sorted { a, b in loss[a] != loss[b] ? loss[a] > loss[b] : pieces[a] < pieces[b] }
        let kept = Set(order.prefix(size))
        let keep = pieces.indices.filter { kept.contains($0) }
        pieces = keep.map { pieces[$0] }
        scores = keep.map { scores[$0] }
        isCharacter = keep.map { isCharacter[$0] }
        reindex()
    }

    /// The highest-scoring segmentation of `word` that does not use piece `excluding`.
    private func bestPath(_ word: [Unicode.Scalar], excluding: Int) -> (score: Double, pieces: [Int]) {
        let n = word.count
        var best = [Double](repeating: -.infinity, count: n + 1)
        var back = [(start: Int, piece: Int)](repeating: (0, -1), count: n + 1)
        best[0] = 0
        for e in lattice(word) where e.piece != excluding && best[e.start] > -.infinity {
            let s = best[e.start] + scores[e.piece]
            if s > best[e.end] { best[e.end] = s; back[e.end] = (e.start, e.piece) }
        }
        guard best[n] > -.infinity else { return (-.infinity, []) }
        var path: [Int] = []
        var end = n
        while end > 0 { path.append(back[end].piece); end = back[end].start }
        return (best[n], path)
    }
}

/// log(exp(a) + exp(b)) without overflow.
private func logAdd(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    let (hi, lo) = a > b ? (a, b) : (b, a)
    return hi + log1p(exp(lo - hi))
}

// Learns a vocabulary from a task's own text, for students trained from scratch: byte-level BPE
// (pair counts over a word-frequency table) here, SentencePiece-style Unigram in UnigramTrainer.swift.
// Both return instances of the existing encoders, so training adds no second encoder.
import Foundation

/// Why a vocabulary could not be trained.
public enum VocabularyTrainerError: Error, Equatable, CustomStringConvertible {
    /// The requested size cannot hold the special tokens plus the base alphabet.
    case vocabularyTooSmall(requested: Int, minimum: Int, why: String)
    /// A special token is empty or listed twice.
    case invalidSpecialToken(String)

    public var description: String {
        switch self {
        case .vocabularyTooSmall(let requested, let minimum, let why):
            return "vocabulary size \(requested) is too small: at least \(minimum) entries are needed (\(why)); ask for \(minimum) or more"
        case .invalidSpecialToken(let why):
            return "invalid special token: \(why)"
        }
    }
}

/// Trains tokenizers whose first ids are T5's specials: `<pad>` = 0, `</s>` = 1, `<unk>` = 2, then
/// the caller's special tokens (task prefixes, number placeholders) in the order given.
public enum VocabularyTrainer {
    /// The specials every trained vocabulary starts with.
    public static let baseSpecialTokens = ["<pad>", "</s>", "<unk>"]

    /// `baseSpecialTokens` followed by `extra`, checked.
    static func allSpecials(_ extra: [String]) throws -> [String] {
        var seen = Set(baseSpecialTokens)
        var out = baseSpecialTokens
        for token in extra {
            guard !token.isEmpty else { throw VocabularyTrainerError.invalidSpecialToken("the empty string") }
            guard seen.insert(token).inserted else {
                throw VocabularyTrainerError.invalidSpecialToken("'\(token)' is listed twice or is one of \(baseSpecialTokens)")
            }
            out.append(token)
        }
        return out
    }

    /// The role of special `index`: the base three are control tokens (dropped by
    /// `decode(skipSpecial:)`); the caller's are user-defined (always matched, always decoded).
    static func specialType(_ index: Int) -> TokenType { index < baseSpecialTokens.count ? .control : .userDefined }

    /// The plain-text runs of `texts`, with special tokens cut out so they never feed the statistics.
    static func plainRuns(_ texts: [String], specials: [String]) -> [Substring] {
        let matcher = SpecialTokenMatcher(specials.enumerated().map { ($0.element, $0.offset) })
        var runs: [Substring] = []
        for text in texts {
            for case .text(let run) in matcher.split(text) { runs.append(run) }
        }
        return runs
    }

    // MARK: Byte-level BPE

    /// Trains a byte-level BPE tokenizer: the specials, the 256 byte symbols, then one token per
    /// learned merge, most frequent pair first.
    ///
    /// Texts are pre-tokenised with GPT-2's split (or SmolLM's, digits alone, with `splitDigits`)
    /// and counted once per distinct word, so the cost follows the number of distinct words.
    /// Ties between equally frequent pairs go to the pair whose ids are smaller (left, then right),
    /// so the same texts always give the same vocabulary.
    /// - Parameters:
    ///   - texts: the training text.
    ///   - vocabularySize: the size wanted. The result has exactly this many entries unless the
    ///     text runs out of pairs seen at least twice first; then it is smaller.
    ///   - specialTokens: caller specials after `<pad>`, `</s>`, `<unk>`; matched whole when encoding.
    ///   - splitDigits: every digit is its own token (no merge ever joins a digit to anything).
    /// - Throws: `VocabularyTrainerError.vocabularyTooSmall` when `vocabularySize` is below
    ///   specials + 256.
    public static func trainBPE(texts: [String], vocabularySize: Int, specialTokens: [String] = [],
                                splitDigits: Bool = false) throws -> ByteLevelBPETokenizer {
        let specials = try allSpecials(specialTokens)
        let minimum = specials.count + 256
        guard vocabularySize >= minimum else {
            throw VocabularyTrainerError.vocabularyTooSmall(requested: vocabularySize, minimum: minimum,
                                                            why: "\(specials.count) special tokens + 256 byte symbols")
        }
        let kind: PreTokenizerKind = splitDigits ? .smollm : .gpt2
        var tokens = specials
        var types = specials.indices.map(specialType)
        let byteBase = Int32(tokens.count)
        for b in 0..<256 {
            tokens.append(ByteLevelMap.encode([UInt8(b)]))
            types.append(.normal)
        }
        var ids: [String: Int32] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }

        // Distinct words with their counts, in first-seen order so the result does not depend on hashing.
        var wordIndex: [Substring: Int] = [:]
        var words: [[Int32]] = []
        var counts: [Int] = []
        let splitter = PreTokenizer(kind: kind)
        for run in plainRuns(texts, specials: specials) {
            for piece in splitter.split(run) {
                if let w = wordIndex[piece] { counts[w] += 1; continue }
                wordIndex[piece] = words.count
                words.append(piece.utf8.map { byteBase + Int32($0) })
                counts.append(1)
            }
        }

        var pairCounts: [MergePair: Int] = [:]
        var pairWords: [MergePair: [Int]] = [:]  // words that held the pair at some point (may be stale)
        for (w, word) in words.enumerated() where word.count > 1 {
            for i in 1..<word.count {
                let pair = MergePair(left: word[i - 1], right: word[i])
                pairCounts[pair, default: 0] += counts[w]
                pairWords[pair, default: []].append(w)
            }
        }

        var merges: [String] = []
        while tokens.count < vocabularySize {
            var best: (pair: MergePair, count: Int)?
            for (pair, count) in pairCounts where count >= 2 {
                if let b = best {
                    guard count > b.count || (count == b.count && (pair.left, pair.right) < (b.pair.left, b.pair.right)) else { continue }
                }
                best = (pair, count)
            }
            guard let chosen = best?.pair else { break }
            let text = tokens[Int(chosen.left)] + tokens[Int(chosen.right)]
            merges.append(tokens[Int(chosen.left)] + " " + tokens[Int(chosen.right)])
            let merged: Int32
            if let existing = ids[text] {
                merged = existing  // the same string reached by another merge order
            } else {
                merged = Int32(tokens.count)
                ids[text] = merged
                tokens.append(text)
                types.append(.normal)
            }
            var touched = Set<Int>()
            for w in pairWords[chosen] ?? [] where touched.insert(w).inserted {
                let old = words[w]
                var new: [Int32] = []
                new.reserveCapacity(old.count)
                var i = 0
                while i < old.count {
                    if i + 1 < old.count, old[i] == chosen.left, old[i + 1] == chosen.right {
                        new.append(merged)
                        i += 2
                    } else {
                        new.append(old[i])
                        i += 1
                    }
                }
                guard new.count != old.count else { continue }
                for i in 1..<old.count {
                    let pair = MergePair(left: old[i - 1], right: old[i])
                    pairCounts[pair, default: 0] -= counts[w]
                    if pairCounts[pair] == 0 { pairCounts[pair] = nil }
                }
                if new.count > 1 {
                    for i in 1..<new.count {
                        let pair = MergePair(left: new[i - 1], right: new[i])
                        pairCounts[pair, default: 0] += counts[w]
                        pairWords[pair, default: []].append(w)
                    }
                }
                words[w] = new
            }
            pairCounts[chosen] = nil
            pairWords[chosen] = nil
        }
        return try ByteLevelBPETokenizer(tokens: tokens, tokenTypes: types, merges: merges, preTokenizer: kind,
                                         bos: nil, eos: 1, padding: 0, ignoreMerges: false)
    }
}

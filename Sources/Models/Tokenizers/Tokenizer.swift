// What every tokenizer shares: the protocol, token types, typed errors, the split of text around
// special tokens (matched whole before any subword model runs), and loading from GGUF metadata.
import Foundation

/// A text ↔ token-id mapping.
public protocol Tokenizer: Sendable {
    /// Number of tokens in the vocabulary.
    var vocabularySize: Int { get }
    /// Begin-of-sequence id, if the model has one.
    var bosTokenID: Int? { get }
    /// End-of-sequence id, if the model has one.
    var eosTokenID: Int? { get }
    /// Encodes `text`. With `parseSpecial`, control tokens such as `<|im_start|>` written in the
    /// text become their single ids; without it they are tokenised as plain text.
    func encode(_ text: String, parseSpecial: Bool) -> [Int]
    /// Decodes ids to text; with `skipSpecial`, control tokens produce nothing.
    func decode(_ ids: [Int], skipSpecial: Bool) -> String
    /// The vocabulary entry of `id` as stored (e.g. `Ġthe`, `▁the`, `<0x0A>`).
    func tokenText(_ id: Int) -> String?
}

extension Tokenizer {
    /// Encodes with special tokens recognised.
    public func encode(_ text: String) -> [Int] { encode(text, parseSpecial: true) }
    /// Decodes, keeping special tokens' text.
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecial: false) }
}

/// A vocabulary entry's role, numbered as GGUF's `tokenizer.ggml.token_type` (llama.cpp).
public enum TokenType: Int, Sendable {
    case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Why a tokenizer could not be built.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case unsupportedModel(String)
    case unsupportedPreTokenizer(String)
    case missingField(String)
    case malformed(String)
    case lengthMismatch(what: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .unsupportedModel(let m):
            return "tokenizer model '\(m)' is not supported (supported: gpt2 byte-level BPE, llama SentencePiece BPE, Unigram)"
        case .unsupportedPreTokenizer(let p):
            return "pre-tokenizer '\(p)' is not supported (supported: smollm, gpt2, llama3/llama-bpe)"
        case .missingField(let f):
            return "tokenizer data lacks '\(f)'"
        case .malformed(let why):
            return "tokenizer data is malformed: \(why)"
        case .lengthMismatch(let what, let expected, let found):
            return "\(what) has \(found) entries, expected \(expected) (one per token)"
        }
    }
}

/// A piece of input: plain text for the subword model, or a special token's id.
enum TextFragment: Equatable {
    case text(Substring)
    case token(Int)
}

/// Finds special tokens in text, longest match first at each position.
struct SpecialTokenMatcher: Sendable {
    /// Candidates by first character, longest first.
    private let byFirst: [Unicode.Scalar: [(text: String, id: Int)]]

    init(_ specials: [(text: String, id: Int)]) {
        var table: [Unicode.Scalar: [(text: String, id: Int)]] = [:]
        for s in specials {
            guard let first = s.text.unicodeScalars.first else { continue }
            table[first, default: []].append(s)
        }
        byFirst = table.mapValues { $0.sorted { $0.text.utf8.count > $1.text.utf8.count } }
    }

    var isEmpty: Bool { byFirst.isEmpty }

    /// The two matchers a vocabulary needs: control and user-defined tokens together (matched when
    /// special tokens are parsed), and user-defined ones alone (always matched whole).
    static func forVocabulary(_ tokens: [String], types: [TokenType])
        -> (control: SpecialTokenMatcher, user: SpecialTokenMatcher) {
        let specials = tokens.indices.filter { types[$0] == .control || types[$0] == .userDefined }
        return (SpecialTokenMatcher(specials.map { (tokens[$0], $0) }),
                SpecialTokenMatcher(specials.filter { types[$0] == .userDefined }.map { (tokens[$0], $0) }))
    }

    /// Splits `text` into plain runs and special tokens. Matching works on Unicode scalars so
    /// that a special token glued to a combining mark still matches.
    func split(_ text: String) -> [TextFragment] {
        guard !byFirst.isEmpty else { return text.isEmpty ? [] : [.text(Substring(text))] }
        var out: [TextFragment] = []
        let scalars = text.unicodeScalars
        var runStart = scalars.startIndex
        var i = scalars.startIndex
        while i < scalars.endIndex {
            if let candidates = byFirst[scalars[i]],
               let hit = candidates.first(where: { scalars[i...].starts(with: $0.text.unicodeScalars) }) {
                if runStart < i { out.append(.text(Substring(scalars[runStart..<i]))) }
                out.append(.token(hit.id))
                i = scalars.index(i, offsetBy: hit.text.unicodeScalars.count)
                runStart = i
            } else {
                i = scalars.index(after: i)
            }
        }
        if runStart < scalars.endIndex { out.append(.text(Substring(scalars[runStart...]))) }
        return out
    }
}

/// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.model`: gpt2, llama or t5).
/// - Throws: `TokenizerError` or `GGUFError` naming the missing or malformed key.
public func makeTokenizer(gguf: GGUFFile) throws -> any Tokenizer {
    let model = try gguf.string("tokenizer.ggml.model")
    switch model {
    case "gpt2": return try ByteLevelBPETokenizer(gguf: gguf)
    case "llama": return try SentencePieceBPETokenizer(gguf: gguf)
    case "t5": return try UnigramTokenizer(gguf: gguf)
    default: throw TokenizerError.unsupportedModel(model)
    }
}

/// Builds the tokenizer a Hugging Face `tokenizer.json` describes (BPE or Unigram).
public func makeTokenizer(tokenizerJSON url: URL) throws -> any Tokenizer {
    let data = try Data(contentsOf: url)
    guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let model = root["model"] as? [String: Any] else {
        throw TokenizerError.missingField("model")
    }
    switch model["type"] as? String {
    case "BPE": return try ByteLevelBPETokenizer(tokenizerJSON: root)
    case "Unigram": return try UnigramTokenizer(tokenizerJSON: root)
    case let other: throw TokenizerError.unsupportedModel(other ?? "(none)")
    }
}

/// `added_tokens` of a tokenizer.json as (text, id, special).
func addedTokens(_ root: [String: Any]) -> [(text: String, id: Int, special: Bool)] {
    guard let list = root["added_tokens"] as? [[String: Any]] else { return [] }
    return list.compactMap { entry in
        guard let text = entry["content"] as? String, let id = entry["id"] as? Int else { return nil }
        return (text, id, entry["special"] as? Bool ?? false)
    }
}

extension GGUFFile {
    /// `tokenizer.ggml.token_type` as roles; empty when the file does not state them.
    func tokenTypes() throws -> [TokenType] {
        guard metadata["tokenizer.ggml.token_type"] != nil else { return [] }
        return try ints("tokenizer.ggml.token_type").map { TokenType(rawValue: $0) ?? .normal }
    }
}

// Byte-level pre-tokenisation: the GPT-2 byte ↔ Unicode map, and hand-written versions of the
// split regexes that byte-level BPE models use (GPT-2, SmolLM's "digits first" variant, and
// Llama 3), ported from llama.cpp's `unicode_regex_split_custom_*` so no regex engine runs.
import Foundation

/// The regex a byte-level BPE model splits text with before merging (`tokenizer.ggml.pre`).
public enum PreTokenizerKind: String, Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every digit alone (`\p{N}`), then the GPT-2 split (SmolLM, StarCoder, Refact).
    case smollm
    /// Llama 3's split: letters with one leading non-letter, digits in groups of three.
    case llama3

    /// Maps a `tokenizer.ggml.pre` value to a split.
    public init(ggufName: String) throws {
        switch ggufName {
        case "gpt2", "default": self = .gpt2
        case "smollm", "starcoder", "refact", "codeshell", "exaone", "minerva", "command-r": self = .smollm
        case "llama3", "llama-bpe", "llama-v3", "smaug-bpe", "falcon3", "pixtral": self = .llama3
        default: throw TokenizerError.unsupportedPreTokenizer(ggufName)
        }
    }

    /// The pieces BPE would merge within, e.g. `"it's 42"` → `["it", "'s", " ", "4", "2"]` for smollm.
    public func split(_ text: String) -> [String] {
        PreTokenizer(kind: self).split(Substring(text)).map(String.init)
    }
}

/// GPT-2's reversible map from bytes to printable Unicode scalars (`bytes_to_unicode`).
enum ByteLevelMap {
    /// byte → scalar
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let code = printable ? UInt32(b) : { defer { next += 1 }; return next }()
            table[b] = Unicode.Scalar(code) ?? " "
        }
        return table
    }()

    /// scalar → byte
    static let scalarToByte: [UInt32: UInt8] = {
        var inverse: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { inverse[s.value] = UInt8(b) }
        return inverse
    }()

    /// Encodes bytes as the scalars BPE vocabularies are written in (`Ġ` for space).
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }

    /// Decodes a vocabulary entry back to bytes; scalars outside the map pass through as UTF-8.
    static func decode(_ text: String, into bytes: inout [UInt8]) {
        for s in text.unicodeScalars {
            if let b = scalarToByte[s.value] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(s).utf8)) }
        }
    }
}

/// The Unicode classes the split regexes use.
struct ScalarClass {
    var isLetter = false, isNumber = false, isWhitespace = false, isDefined = false

    static let outOfRange = ScalarClass()

    init() {}

    init(_ s: Unicode.Scalar) {
        isDefined = true
        if s.value < 128 {
            let c = UInt8(s.value)
            isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
            isNumber = c >= 48 && c <= 57
            isWhitespace = c == 32 || (c >= 9 && c <= 13)
            return
        }
        let p = s.properties
        isWhitespace = p.isWhitespace
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: isLetter = true
        case .decimalNumber, .letterNumber, .otherNumber: isNumber = true
        case .unassigned: isDefined = false
        default: break
        }
    }
}

/// Splits text into the pieces BPE merges within.
struct PreTokenizer: Sendable {
    let kind: PreTokenizerKind

    /// The pieces of `text`, as arrays of scalars' UTF-8 bytes.
    func split(_ text: Substring) -> [Substring] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [Range<Int>] = []
        switch kind {
        case .gpt2:
            Self.splitGPT2(scalars, 0..<scalars.count, into: &pieces)
        case .smollm:
            // `\p{N}` first: each number scalar alone, the runs between split by GPT-2's regex.
            var start = 0
            for (i, s) in scalars.enumerated() where ScalarClass(s).isNumber {
                Self.splitGPT2(scalars, start..<i, into: &pieces)
                pieces.append(i..<i + 1)
                start = i + 1
            }
            Self.splitGPT2(scalars, start..<scalars.count, into: &pieces)
        case .llama3:
            Self.splitLlama3(scalars, 0..<scalars.count, into: &pieces)
        }
        // Map scalar ranges back onto the substring.
        var out: [Substring] = []
        out.reserveCapacity(pieces.count)
        var index = text.unicodeScalars.startIndex
        var position = 0
        for piece in pieces {
            let from = text.unicodeScalars.index(index, offsetBy: piece.lowerBound - position)
            let to = text.unicodeScalars.index(from, offsetBy: piece.count)
            out.append(Substring(text.unicodeScalars[from..<to]))
            index = to
            position = piece.upperBound
        }
        return out
    }

    static func splitGPT2(_ cpts: [Unicode.Scalar], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        let end = range.upperBound
        func cpt(_ i: Int) -> UInt32 { i >= range.lowerBound && i < end ? cpts[i].value : UInt32.max }
        func cls(_ i: Int) -> ScalarClass { i >= range.lowerBound && i < end ? ScalarClass(cpts[i]) : .outOfRange }
        var previous = range.lowerBound
        func add(_ to: Int) { if to > previous { pieces.append(previous..<to) }; previous = to }
        var pos = range.lowerBound
        while pos < end {
            let c = cpt(pos)
            let flags = cls(pos)
            if c == 0x27, pos + 1 < end {  // 's 't 'm 'd 're 've 'll
                let n1 = cpt(pos + 1)
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += 2; add(pos); continue }
                if pos + 2 < end {
                    let n2 = cpt(pos + 2)
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; add(pos); continue
                    }
                }
            }
            var flags2 = c == 0x20 ? cls(pos + 1) : flags
            if flags2.isLetter {  // ` ?\p{L}+`
                if c == 0x20 { pos += 1 }
                while flags2.isLetter { pos += 1; flags2 = cls(pos) }
                add(pos); continue
            }
            if flags2.isNumber {  // ` ?\p{N}+`
                if c == 0x20 { pos += 1 }
                while flags2.isNumber { pos += 1; flags2 = cls(pos) }
                add(pos); continue
            }
            if !(flags2.isWhitespace || flags2.isLetter || flags2.isNumber) && flags2.isDefined {  // ` ?[^\s\p{L}\p{N}]+`
                if c == 0x20 { pos += 1 }
                while !(flags2.isWhitespace || flags2.isLetter || flags2.isNumber) && flags2.isDefined { pos += 1; flags2 = cls(pos) }
                add(pos); continue
            }
            var spaces = 0
            while cls(pos + spaces).isWhitespace { spaces += 1 }
            if spaces > 1 && cpt(pos + spaces) != UInt32.max {  // `\s+(?!\S)`: leave one for the next word
                pos += spaces - 1; add(pos); continue
            }
            if spaces > 0 { pos += spaces; add(pos); continue }  // `\s+`
            pos += 1; add(pos)
        }
    }

    static func splitLlama3(_ cpts: [Unicode.Scalar], _ range: Range<Int>, into pieces: inout [Range<Int>]) {
        let end = range.upperBound
        func cpt(_ i: Int) -> UInt32 { i >= range.lowerBound && i < end ? cpts[i].value : UInt32.max }
        func lower(_ i: Int) -> UInt32 { let v = cpt(i); return v >= 0x41 && v <= 0x5A ? v + 32 : v }
        func cls(_ i: Int) -> ScalarClass { i >= range.lowerBound && i < end ? ScalarClass(cpts[i]) : .outOfRange }
        func isNewline(_ v: UInt32) -> Bool { v == 0x0D || v == 0x0A }
        var previous = range.lowerBound
        func add(_ to: Int) { if to > previous { pieces.append(previous..<to) }; previous = to }
        var pos = range.lowerBound
        while pos < end {
            let c = cpt(pos)
            let flags = cls(pos)
            if c == 0x27, pos + 1 < end {  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                let n1 = lower(pos + 1)
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 { pos += 2; add(pos); continue }
                if pos + 2 < end {
                    let n2 = lower(pos + 2)
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; add(pos); continue
                    }
                }
            }
            if !(isNewline(c) || flags.isNumber) && (flags.isLetter || cls(pos + 1).isLetter) {  // [^\r\n\p{L}\p{N}]?\p{L}+
                pos += 1
                while cls(pos).isLetter { pos += 1 }
                add(pos); continue
            }
            if flags.isNumber {  // \p{N}{1,3}
                var start = pos
                while cls(pos).isNumber {
                    pos += 1
                    if pos - start >= 3 { add(pos); start = pos }
                }
                add(pos); continue
            }
            var flags2 = c == 0x20 ? cls(pos + 1) : flags
            if !(flags2.isWhitespace || flags2.isLetter || flags2.isNumber) && flags.isDefined {  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
                if c == 0x20 { pos += 1 }
                while !(flags2.isWhitespace || flags2.isLetter || flags2.isNumber) && flags2.isDefined { pos += 1; flags2 = cls(pos) }
                while isNewline(cpt(pos)) { pos += 1 }
                add(pos); continue
            }
            var spaces = 0, lastNewlineEnd = 0
            while cls(pos + spaces).isWhitespace {
                if isNewline(cpt(pos + spaces)) { lastNewlineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastNewlineEnd > 0 { pos = lastNewlineEnd; add(pos); continue }  // \s*[\r\n]+
            if spaces > 1 && cpt(pos + spaces) != UInt32.max { pos += spaces - 1; add(pos); continue }  // \s+(?!\S)
            if spaces > 0 { pos += spaces; add(pos); continue }
            pos += 1; add(pos)
        }
    }
}

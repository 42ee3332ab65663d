// Members of strings. A string may be as big as the memory limit allows (gigabytes), so every
// member that walks one does it in pieces and checks for an interrupt between them, and every
// member that makes a bigger string or a list checks the limit before it grows.

import Foundation

private func text(_ receiver: Value) -> String {
    if case .string(let value) = receiver { return value }
    return ""
}

/// Characters per piece when a member walks a long string.
private let pieceLength = 1 << 16

/// Calls `body` with consecutive pieces of `text` (whole characters), checking for an interrupt before each.
private func forEachPiece(of text: String, _ context: BuiltinContext, _ body: (Substring) throws -> Void) throws {
    var start = text.startIndex
    while start < text.endIndex {
        try context.checkCancelled()
        let end = text.index(start, offsetBy: pieceLength, limitedBy: text.endIndex) ?? text.endIndex
        try body(text[start..<end])
        start = end
    }
}

/// The byte offsets where `target` occurs in `text`, without overlaps, in order; `visit` returns false to stop.
/// The search is on UTF-8 bytes, which matches literally as `components(separatedBy:)` does, and is
/// Knuth–Morris–Pratt, so it stays linear however the two strings are made.
private func occurrences(of target: String, in text: String, _ context: BuiltinContext, _ visit: (Int) throws -> Bool) throws {
    let pattern = Array(target.utf8)
    guard !pattern.isEmpty else { return }
    var failure = [Int](repeating: 0, count: pattern.count)
    var matched = 0
    for index in 1..<max(1, pattern.count) {
        while matched > 0 && pattern[index] != pattern[matched] { matched = failure[matched - 1] }
        if pattern[index] == pattern[matched] { matched += 1 }
        failure[index] = matched
    }
    var haystack = text
    haystack.makeContiguousUTF8()
    try haystack.utf8.withContiguousStorageIfAvailable { bytes in
        matched = 0
        for (offset, byte) in bytes.enumerated() {
            if offset & 0xFFFF == 0 { try context.checkCancelled() }
            while matched > 0 && byte != pattern[matched] { matched = failure[matched - 1] }
            if byte == pattern[matched] { matched += 1 }
            if matched == pattern.count {
                if try !visit(offset + 1 - pattern.count) { return }
                matched = 0
            }
        }
    }
}

/// The string made of `text`'s UTF-8 bytes `range` (on scalar boundaries, as `occurrences` gives).
private func slice(_ text: String, bytes range: Range<Int>) -> String {
    let utf8 = text.utf8
    let start = utf8.index(utf8.startIndex, offsetBy: range.lowerBound), end = utf8.index(start, offsetBy: range.count)
    return String(text[start..<end])
}

/// The number of characters of `text`, counted in pieces so that an interrupt stops it.
func characterCount(_ text: String, _ context: BuiltinContext) throws -> Int {
    var count = 0
    try forEachPiece(of: text, context) { count += $0.count }
    return count
}

let stringMembers: [String: Builtin] = Dictionary([
    member("count", returns: "Int", property: true, "The number of characters.") { receiver, _, context in
        .integer(try characterCount(text(receiver), context))
    },
    member("isEmpty", returns: "Bool", property: true, "True for the empty string.") { receiver, _, _ in .bool(text(receiver).isEmpty) },
    member("uppercased", returns: "String", "The string in upper case.") { receiver, _, context in
        var result = ""
        try forEachPiece(of: text(receiver), context) { piece in
            let upper = piece.uppercased()
            try context.reserve(bytes: saturatingAdd(result.utf8.count, upper.utf8.count), for: "the upper-case string")
            result += upper
        }
        return .string(result)
    },
    member("lowercased", returns: "String", "The string in lower case.") { receiver, _, context in
        var result = ""
        try forEachPiece(of: text(receiver), context) { piece in
            let lower = piece.lowercased()
            try context.reserve(bytes: saturatingAdd(result.utf8.count, lower.utf8.count), for: "the lower-case string")
            result += lower
        }
        return .string(result)
    },
    member("trimmed", returns: "String", "The string without leading and trailing whitespace.") { receiver, _, context in
        let value = text(receiver)
        var check = CancellationCheck(context)
        var start = value.startIndex, end = value.endIndex
        while start < end, value[start].isWhitespace { try check.step(); start = value.index(after: start) }
        while end > start, value[value.index(before: end)].isWhitespace { try check.step(); end = value.index(before: end) }
        return .string(String(value[start..<end]))
    },
    member("split", [Parameter("separator", "String", labeled: true, default: .null)], returns: "List",
           "The parts between occurrences of `separator` (default: runs of whitespace).\n\nExample: `\"a,b\".split(separator: \",\")` is `[\"a\", \"b\"]`.") { receiver, arguments, context in
        let value = text(receiver)
        var parts = try ListBuilder(context, "the result of `split`")
        if case .null = arguments["separator"] {
            var check = CancellationCheck(context)
            var partStart: String.Index?
            var index = value.startIndex
            while index < value.endIndex {
                try check.step()
                if value[index].isWhitespace {
                    if let start = partStart { try parts.append(.string(String(value[start..<index]))); partStart = nil }
                } else if partStart == nil {
                    partStart = index
                }
                index = value.index(after: index)
            }
            if let start = partStart { try parts.append(.string(String(value[start...]))) }
            return parts.list
        }
        let separator = try arguments.string("separator")
        guard !separator.isEmpty else {
            var check = CancellationCheck(context)
            for character in value { try check.step(); try parts.append(.string(String(character))) }
            return parts.list
        }
        var previous = 0
        try occurrences(of: separator, in: value, context) { position in
            try parts.append(.string(slice(value, bytes: previous..<position)))
            previous = position + separator.utf8.count
            return true
        }
        try parts.append(.string(slice(value, bytes: previous..<value.utf8.count)))
        return parts.list
    },
    member("contains", [Parameter("other", "String")], returns: "Bool", "True when `other` occurs in the string.") { receiver, arguments, context in
        let other = try arguments.string("other")
        var found = other.isEmpty
        try occurrences(of: other, in: text(receiver), context) { _ in found = true; return false }
        return .bool(found)
    },
    member("hasPrefix", [Parameter("prefix", "String")], returns: "Bool", "True when the string starts with `prefix`.") { receiver, arguments, _ in
        .bool(text(receiver).hasPrefix(try arguments.string("prefix")))
    },
    member("hasSuffix", [Parameter("suffix", "String")], returns: "Bool", "True when the string ends with `suffix`.") { receiver, arguments, _ in
        .bool(text(receiver).hasSuffix(try arguments.string("suffix")))
    },
    member("replacing", [Parameter("target", "String"), Parameter("with", "String", labeled: true)], returns: "String",
           "The string with every `target` replaced by `with`.") { receiver, arguments, context in
        let target = try arguments.string("target"), replacement = try arguments.string("with")
        guard !target.isEmpty else { return receiver }
        let value = text(receiver)
        var result = "", previous = 0
        func add(_ piece: String) throws {
            try context.reserve(bytes: saturatingAdd(result.utf8.count, piece.utf8.count), for: "the string after `replacing`")
            result += piece
        }
        try occurrences(of: target, in: value, context) { position in
            try add(slice(value, bytes: previous..<position))
            try add(replacement)
            previous = position + target.utf8.count
            return true
        }
        try add(slice(value, bytes: previous..<value.utf8.count))
        return .string(result)
    },
], uniquingKeysWith: { first, _ in first })

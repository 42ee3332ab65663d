// Parsing a teacher's raw continuation into (rationale, label) for each task's answer format,
// cutting off the made-up next example the model runs on into. An output that cannot be parsed
// comes back as `.unparseable` with the reason; nothing is dropped.
import Foundation

/// How a task's chain-of-thought answer is written, in the prompt and in the teacher's output.
public enum AnswerFormat: Hashable, Sendable {
    /// SVAMP: `… 84 / 2 = 42. The answer is (84 / 2).`, then `\n\nQ: …`.
    case equation
    /// CQA: `… So the answer is (c) wooded area.`, then `\n\nQ: …`.
    case choice
    /// ANLI: `… So the answer is contradiction.`, then `\n\nPremise: …`.
    case soTheAnswerIs(labels: [String])
    /// e-SNLI: `<rationale>\nAnswer: neutral`, then `\n\nPremise: …`.
    case answerLine(labels: [String])

    /// The text that opens the next example; the output is cut at its first occurrence.
    public var nextExampleMarker: String {
        switch self {
        case .equation, .choice: return "\nQ:"
        case .soTheAnswerIs, .answerLine: return "\nPremise:"
        }
    }

    /// The phrase that separates the rationale from the answer.
    public var answerMarker: String {
        switch self {
        case .equation: return "The answer is"
        case .choice, .soTheAnswerIs: return "So the answer is"
        case .answerLine: return "Answer:"
        }
    }

    /// Parses a raw teacher output.
    ///
    /// The output is cut at the next example, the answer marker must occur exactly once (for
    /// e-SNLI, at the start of a line), and the label is read after it:
    /// SVAMP, from the first `(` to the last `)` on the marker's line; CQA, the text after the
    /// first `(x)` up to the next `(y)`, without a final period; NLI, the class name on the
    /// marker's line, without a final period, which must be one of the labels.
    /// - Parameters:
    ///   - raw: The teacher's continuation, as generated.
    public func parse(_ raw: String) -> ParseOutcome {
        let text = cutAtNextExample(raw)
        if text.isEmpty { return .unparseable(.empty) }
        let pieces = splitAtMarker(text)
        guard pieces.count >= 2 else { return .unparseable(.missingAnswerMarker(answerMarker)) }
        guard pieces.count == 2 else {
            return .unparseable(.repeatedAnswerMarker(answerMarker, count: pieces.count - 1))
        }
        let rationale = pieces[0].trimmingCharacters(in: .whitespacesAndNewlines)
        let answer = pieces[1]
        switch self {
        case .equation:
            let line = firstLine(answer)
            guard let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")"), open < close else {
                return .unparseable(.missingEquation(found: line.trimmingCharacters(in: .whitespaces)))
            }
            return .parsed(ParsedAnswer(rationale: rationale, label: String(line[open...close])))
        case .choice:
            guard let choice = AnswerFormat.choiceText(answer) else {
                return .unparseable(.missingChoice(found: firstLine(answer).trimmingCharacters(in: .whitespaces)))
            }
            return .parsed(ParsedAnswer(rationale: rationale, label: choice))
        case .soTheAnswerIs(let labels), .answerLine(let labels):
            var label = firstLine(answer).trimmingCharacters(in: .whitespaces)
            if label.hasSuffix(".") { label.removeLast() }
            guard labels.contains(label) else { return .unparseable(.unknownLabel(label)) }
            return .parsed(ParsedAnswer(rationale: rationale, label: label))
        }
    }

    /// The output up to the next made-up example, without trailing white space.
    /// - Parameters:
    ///   - raw: The teacher's continuation.
    public func cutAtNextExample(_ raw: String) -> String {
        let kept = raw.range(of: nextExampleMarker).map { String(raw[..<$0.lowerBound]) } ?? raw
        return kept.trimmingTrailingWhitespace()
    }

    private func splitAtMarker(_ text: String) -> [String] {
        guard case .answerLine = self else { return text.components(separatedBy: answerMarker) }
        // e-SNLI's marker only counts at the start of a line.
        var pieces: [[String]] = [[]]
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix(answerMarker) {
                pieces.append([String(line.dropFirst(answerMarker.count))])
            } else {
                pieces[pieces.count - 1].append(line)
            }
        }
        return pieces.map { $0.joined(separator: "\n") }
    }

    private func firstLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" })
    }

    /// The text after the first `(x)` marker up to the next one, trimmed, without a final period.
    static func choiceText(_ answer: String) -> String? {
        let characters = Array(answer)
        func isMarker(_ index: Int) -> Bool {
            index + 2 < characters.count && characters[index] == "(" && characters[index + 2] == ")"
                && characters[index + 1] != "\n"
        }
        guard let start = characters.indices.first(where: isMarker) else { return nil }
        var end = start + 3
        while end < characters.count && !isMarker(end) { end += 1 }
        var choice = String(characters[(start + 3)..<end]).trimmingCharacters(in: .whitespacesAndNewlines)
        if choice.hasSuffix(".") { choice.removeLast() }
        return choice
    }
}

/// A rationale and a label read from a teacher's output.
public struct ParsedAnswer: Hashable, Sendable, Codable {
    /// The reasoning before the answer.
    public var rationale: String
    /// The answer: an equation, a choice's text or a class name.
    public var label: String

    /// Creates a parsed answer.
    /// - Parameters:
    ///   - rationale: The reasoning.
    ///   - label: The answer.
    public init(rationale: String, label: String) {
        self.rationale = rationale
        self.label = label
    }
}

/// Why a teacher output could not be parsed.
public enum ParseFailure: Hashable, Sendable, Codable, CustomStringConvertible {
    case empty
    case missingAnswerMarker(String)
    case repeatedAnswerMarker(String, count: Int)
    case missingEquation(found: String)
    case missingChoice(found: String)
    case unknownLabel(String)

    public var description: String {
        switch self {
        case .empty: return "empty output"
        case .missingAnswerMarker(let marker): return "no \"\(marker)\" before the next example"
        case .repeatedAnswerMarker(let marker, let count): return "\"\(marker)\" occurs \(count) times"
        case .missingEquation(let found): return "no parenthesised equation after the marker: \"\(found)\""
        case .missingChoice(let found): return "no (x) choice after the marker: \"\(found)\""
        case .unknownLabel(let label): return "\"\(label)\" is not one of the labels"
        }
    }
}

/// The result of parsing one output: an answer, or the reason there is none.
public enum ParseOutcome: Hashable, Sendable, Codable {
    case parsed(ParsedAnswer)
    case unparseable(ParseFailure)

    /// The parsed answer, or nil.
    public var answer: ParsedAnswer? {
        if case .parsed(let answer) = self { return answer }
        return nil
    }

    /// The failure, or nil.
    public var failure: ParseFailure? {
        if case .unparseable(let failure) = self { return failure }
        return nil
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var result = Substring(self)
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return String(result)
    }
}

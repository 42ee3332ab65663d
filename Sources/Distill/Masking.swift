// Number masking for equation tasks (SVAMP, the synthetic task): each number of the input becomes
// a placeholder (`numa`, `numb`, …) in the input, label and rationale, and is substituted back
// before evaluation. A small student then learns which numbers to combine, not how to copy digits.

/// The numbers of one input and their placeholders: placeholder i stands for `numbers[i]`.
public struct NumberMask: Hashable, Sendable {
    /// The original text of each masked number, by placeholder index.
    public private(set) var numbers: [String]

    /// The placeholder of an index: 0 → `numa`, 25 → `numz`, 26 → `numaa`.
    /// - Parameters:
    ///   - index: The 0-based placeholder index.
    public static func placeholder(_ index: Int) -> String {
        var letters: [Character] = []
        var rest = max(0, index)
        repeat {
            letters.insert(Character(Unicode.Scalar(UInt8(97 + rest % 26))), at: 0)
            rest = rest / 26 - 1
        } while rest >= 0
        return "num" + String(letters)
    }

    /// Masks an input: each distinct number value gets the next placeholder, in order of first appearance.
    /// - Parameters:
    ///   - input: The text to mask.
    /// - Returns: The masked text and the mask that undoes it.
    public static func masking(_ input: String) -> (masked: String, mask: NumberMask) {
        var mask = NumberMask(numbers: [])
        var values: [Double] = []
        let masked = replacingNumbers(in: input) { text, value in
            if let index = values.firstIndex(of: value) { return placeholder(index) }
            values.append(value)
            mask.numbers.append(text)
            return placeholder(values.count - 1)
        }
        return (masked, mask)
    }

    /// Replaces, in any text (a label, a rationale), each number equal in value to a masked number
    /// by its placeholder; other numbers (intermediate results) stay.
    /// - Parameters:
    ///   - text: The text to mask.
    public func apply(_ text: String) -> String {
        let values = numbers.map { Double($0) }
        return NumberMask.replacingNumbers(in: text) { original, value in
            values.firstIndex(of: value).map { NumberMask.placeholder($0) } ?? original
        }
    }

    /// Substitutes the original numbers back for the placeholders; unknown placeholders stay.
    /// - Parameters:
    ///   - text: Masked text, e.g. a student's predicted equation.
    public func restore(_ text: String) -> String {
        var result = ""
        var word = ""
        func flush() {
            if word.hasPrefix("num"), word.count > 3, let index = NumberMask.index(of: word),
               numbers.indices.contains(index) {
                result += numbers[index]
            } else {
                result += word
            }
            word = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    /// The index of a placeholder word, or nil when it is not one.
    static func index(of placeholder: String) -> Int? {
        let letters = placeholder.dropFirst(3)
        guard !letters.isEmpty, letters.allSatisfy({ $0 >= "a" && $0 <= "z" }) else { return nil }
        var index = 0
        for letter in letters {
            guard let value = letter.asciiValue else { return nil }
            index = index * 26 + Int(value - 97) + 1
        }
        return index - 1
    }

    /// Calls `replace` for each number token (digits with an optional decimal part, not part of a
    /// word such as `12th` or `numa`) and splices in what it returns.
    static func replacingNumbers(in text: String, _ replace: (String, Double) -> String) -> String {
        let characters = Array(text)
        var result = ""
        var index = 0
        func isDigit(_ position: Int) -> Bool {
            position >= 0 && position < characters.count && characters[position].isASCII && characters[position].isNumber
        }
        func isWordCharacter(_ position: Int) -> Bool {
            position >= 0 && position < characters.count && (characters[position].isLetter || characters[position] == "_")
        }
        while index < characters.count {
            guard isDigit(index), !isWordCharacter(index - 1), !isDigit(index - 1) else {
                result.append(characters[index])
                index += 1
                continue
            }
            var end = index
            while isDigit(end) { end += 1 }
            if end < characters.count, characters[end] == ".", isDigit(end + 1) {
                end += 1
                while isDigit(end) { end += 1 }
            }
            let token = String(characters[index..<end])
            if isWordCharacter(end) {
                result += token
            } else {
                result += Double(token).map { replace(token, $0) } ?? token
            }
            index = end
        }
        return result
    }
}

/// An example with its numbers masked, and the mask that undoes it.
public struct MaskedExample: Hashable, Sendable {
    /// The example with placeholders in its input, label and rationale.
    public var example: Example
    /// The numbers behind the placeholders.
    public var mask: NumberMask
}

public extension Example {
    /// This example with its input numbers masked in the input, label and rationale.
    /// - Parameters:
    ///   - rationale: A rationale to mask instead of the example's own (e.g. a teacher's).
    func maskingNumbers(rationale: String? = nil) -> MaskedExample {
        let (input, mask) = NumberMask.masking(self.input)
        var masked = self
        masked.input = input
        masked.label = mask.apply(label)
        masked.rationale = (rationale ?? self.rationale).map { mask.apply($0) }
        return MaskedExample(example: masked, mask: mask)
    }
}

// The built-in synthetic task: multi-step arithmetic word problems in SVAMP's format, from a
// seeded generator with difficulty settings (steps, number range, distractor sentences with
// irrelevant numbers). Labels are SVAMP-style equations with only the parentheses that precedence
// needs, such as `( 12 + 7 ) * 3` or `12 * 3 + 7`.

import Foundation

/// An arithmetic operation of a synthetic problem's step.
public enum SyntheticOperation: String, CaseIterable, Hashable, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/"

    /// 1 for + and -, 2 for * and /.
    public var precedence: Int { self == .add || self == .subtract ? 1 : 2 }

    /// The operation applied to a running value.
    /// - Parameters:
    ///   - value: The value so far.
    ///   - operand: The step's number.
    public func apply(_ value: Double, _ operand: Double) -> Double {
        switch self {
        case .add: return value + operand
        case .subtract: return value - operand
        case .multiply: return value * operand
        case .divide: return value / operand
        }
    }
}

/// How hard the generated problems are.
public struct SyntheticDifficulty: Hashable, Sendable {
    /// How many operations a problem chains (within 1...3).
    public var steps: ClosedRange<Int>
    /// The start value and the operands of + and -.
    public var numbers: ClosedRange<Int>
    /// The operands of * and /.
    public var factors: ClosedRange<Int>
    /// How many distractor sentences (with irrelevant numbers) a problem has.
    public var distractors: ClosedRange<Int>
    /// The operations a step may use.
    public var operations: [SyntheticOperation]
    /// Whether a step may multiply or divide a sum or difference, so that the label needs
    /// parentheses (`( 12 + 7 ) * 3`). Without them every label reads left to right with no
    /// lookahead (`12 * 3 + 7`); with them a decoder must decide on the opening parenthesis before
    /// it has written anything, which a tiny student from scratch learns poorly: it tends to write
    /// `( 19 + 9 ) * 3` for "19, then 9 times as many, then 3 more".
    public var parentheses: Bool

    /// Creates a difficulty setting.
    /// - Parameters:
    ///   - steps: Operations per problem, within 1...3.
    ///   - numbers: Start values and operands of + and -, within 1...100000.
    ///   - factors: Operands of * and /, within 2...100.
    ///   - distractors: Distractor sentences per problem; the lower bound must be at least 0.
    ///   - operations: Allowed operations; must include + or - so that every problem can be built.
    ///   - parentheses: Whether a step may multiply or divide a sum or difference.
    /// - Throws: `SyntheticError.invalidDifficulty` naming the bad setting.
    public init(steps: ClosedRange<Int>, numbers: ClosedRange<Int> = 2...50, factors: ClosedRange<Int> = 2...9,
                distractors: ClosedRange<Int> = 0...0,
                operations: [SyntheticOperation] = SyntheticOperation.allCases, parentheses: Bool = true) throws {
        guard steps.lowerBound >= 1, steps.upperBound <= 3 else {
            throw SyntheticError.invalidDifficulty("steps must lie within 1...3, got \(steps)")
        }
        guard numbers.lowerBound >= 1, numbers.upperBound <= 100_000 else {
            throw SyntheticError.invalidDifficulty("numbers must lie within 1...100000, got \(numbers)")
        }
        guard factors.lowerBound >= 2, factors.upperBound <= 100 else {
            throw SyntheticError.invalidDifficulty("factors must lie within 2...100, got \(factors)")
        }
        guard distractors.lowerBound >= 0, distractors.upperBound <= 5 else {
            throw SyntheticError.invalidDifficulty("distractors must lie within 0...5, got \(distractors)")
        }
        guard operations.contains(.add) || operations.contains(.subtract) else {
            throw SyntheticError.invalidDifficulty("operations must include + or -")
        }
        self.steps = steps
        self.numbers = numbers
        self.factors = factors
        self.distractors = distractors
        self.operations = operations
        self.parentheses = parentheses
    }

    private init(checked steps: ClosedRange<Int>, numbers: ClosedRange<Int>, distractors: ClosedRange<Int>,
                 parentheses: Bool) {
        self.steps = steps
        self.numbers = numbers
        self.factors = 2...9
        self.distractors = distractors
        self.operations = SyntheticOperation.allCases
        self.parentheses = parentheses
    }

    /// One or two steps, numbers 2–20, no distractors, no parentheses.
    public static let easy = SyntheticDifficulty(checked: 1...2, numbers: 2...20, distractors: 0...0, parentheses: false)
    /// One or two steps, numbers 2–50, at most one distractor sentence, no parentheses: the
    /// classroom default, where a rationale says which numbers matter. A tiny T5 trained from
    /// scratch on 2,000 of these (1,200 steps of 32, lr 1e-3, no dropout) gets 78% right by
    /// fine-tuning and 80% by step-by-step; with three steps or two distractors it stays near one in
    /// two (notebooks/synthetic-step-by-step.ipynb).
    public static let classroom = SyntheticDifficulty(checked: 1...2, numbers: 2...50, distractors: 0...1,
                                                      parentheses: false)
    /// Two or three steps, numbers 2–99, two or three distractor sentences, parentheses.
    public static let hard = SyntheticDifficulty(checked: 2...3, numbers: 2...99, distractors: 2...3, parentheses: true)
}

extension SyntheticDifficulty {
    /// A difficulty from its name, optionally with settings changed:
    /// `classroom`, or `classroom,steps=1-3,distractors=0-1,numbers=2-99,factors=2-9,parentheses=yes`.
    /// Ranges are `low-high` or one number; `parentheses` is yes or no.
    /// - Parameters:
    ///   - spec: A preset name (easy, classroom, hard), then comma-separated `key=value` changes.
    /// - Throws: `SyntheticError.invalidDifficulty` naming the unknown preset, key or bad value.
    public static func named(_ spec: String) throws -> SyntheticDifficulty {
        let parts = spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var difficulty: SyntheticDifficulty
        switch parts.first?.lowercased() ?? "" {
        case "easy": difficulty = .easy
        case "classroom": difficulty = .classroom
        case "hard": difficulty = .hard
        case let other:
            throw SyntheticError.invalidDifficulty("unknown difficulty \"\(other)\"; use easy, classroom or hard, "
                                                   + "then changes such as \",steps=1-3,distractors=0-2\"")
        }
        func range(_ key: String, _ value: String) throws -> ClosedRange<Int> {
            let bounds = value.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            if bounds.count == 1, let one = bounds[0] { return one...one }
            guard bounds.count == 2, let low = bounds[0], let high = bounds[1], low <= high else {
                throw SyntheticError.invalidDifficulty("\(key)=\(value) is not a range such as \(key)=1-3")
            }
            return low...high
        }
        for part in parts.dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else {
                throw SyntheticError.invalidDifficulty("\"\(part)\" is not key=value (keys: steps, numbers, factors, distractors, parentheses)")
            }
            let (key, value) = (pair[0].lowercased(), pair[1].lowercased())
            switch key {
            case "steps": difficulty.steps = try range(key, value)
            case "numbers": difficulty.numbers = try range(key, value)
            case "factors": difficulty.factors = try range(key, value)
            case "distractors": difficulty.distractors = try range(key, value)
            case "parentheses":
                guard let flag = ["yes": true, "true": true, "no": false, "false": false][value] else {
                    throw SyntheticError.invalidDifficulty("parentheses=\(value): use yes or no")
                }
                difficulty.parentheses = flag
            default:
                throw SyntheticError.invalidDifficulty("unknown setting \"\(key)\" (keys: steps, numbers, factors, distractors, parentheses)")
            }
        }
        // The designated initialiser checks every bound.
        return try SyntheticDifficulty(steps: difficulty.steps, numbers: difficulty.numbers, factors: difficulty.factors,
                                       distractors: difficulty.distractors, operations: difficulty.operations,
                                       parentheses: difficulty.parentheses)
    }
}

/// What can go wrong setting up the synthetic task.
public enum SyntheticError: Error, Equatable, CustomStringConvertible {
    case invalidDifficulty(String)
    case invalidErrorRate(Double)
    case notSynthetic(ExampleID)
    /// Generation was interrupted after `done` of `total` problems.
    case interrupted(done: Int, total: Int)

    public var description: String {
        switch self {
        case .invalidDifficulty(let reason): return "invalid difficulty: \(reason)"
        case .invalidErrorRate(let rate): return "error rate \(rate) is out of range; use a number in [0, 1]"
        case .notSynthetic(let id): return "example \(id) is not a synthetic problem (it has no program fields)"
        case .interrupted(let done, let total): return "generating the synthetic task was interrupted after \(done) of \(total) problems"
        }
    }
}

/// One step of a problem: an operation and its number.
public struct SyntheticStep: Hashable, Sendable {
    /// The operation.
    public var operation: SyntheticOperation
    /// Its number.
    public var operand: Int

    /// Creates a step.
    /// - Parameters:
    ///   - operation: The operation.
    ///   - operand: Its number.
    public init(operation: SyntheticOperation, operand: Int) {
        self.operation = operation
        self.operand = operand
    }
}

/// A generated problem: its story and the program behind it.
public struct SyntheticProblem: Hashable, Sendable {
    /// The protagonist's name.
    public var name: String
    /// "he" or "she".
    public var pronoun: String
    /// What is counted ("apples").
    public var object: String
    /// The value the story starts from.
    public var start: Int
    /// The operations, in order.
    public var steps: [SyntheticStep]
    /// The numbers of the distractor sentences.
    public var distractorNumbers: [Int]
    /// The problem's text: the story, a newline, the question.
    public var input: String

    /// The SVAMP-style equation, e.g. `( 12 + 7 ) * 3`.
    public var equation: String { SyntheticProblem.equation(start: start, steps: steps) }

    /// The answer's value.
    public var answer: Double {
        steps.reduce(Double(start)) { $1.operation.apply($0, Double($1.operand)) }
    }

    /// The SVAMP-style equation of a program, with parentheses only where precedence needs them:
    /// the steps apply left to right, so `+7 *3` after 12 is `( 12 + 7 ) * 3` and `*3 +7` is `12 * 3 + 7`.
    /// - Parameters:
    ///   - start: The starting number.
    ///   - steps: The operations.
    public static func equation(start: Int, steps: [SyntheticStep]) -> String {
        var expression = String(start)
        var precedence = 3
        for step in steps {
            let own = step.operation.precedence
            if precedence < own { expression = "( \(expression) )" }
            expression = "\(expression) \(step.operation.rawValue) \(step.operand)"
            precedence = own
        }
        return expression
    }

    /// The problem as an example; the program goes into `fields` so a program teacher can read it back.
    /// - Parameters:
    ///   - id: The example's id.
    ///   - rationale: The gold rationale.
    public func example(id: ExampleID, rationale: String?) -> Example {
        Example(id: id, input: input, label: equation, rationale: rationale, fields: [
            "name": name, "pronoun": pronoun, "object": object, "start": String(start),
            "program": steps.map { "\($0.operation.rawValue)\($0.operand)" }.joined(separator: " "),
            "distractors": distractorNumbers.map(String.init).joined(separator: " "),
        ])
    }

    /// Reads a problem back from an example made by `example(id:rationale:)`.
    /// - Parameters:
    ///   - example: A synthetic example.
    /// - Throws: `SyntheticError.notSynthetic` when its fields do not describe a program.
    public init(example: Example) throws {
        let fields = example.fields
        guard let name = fields["name"], let pronoun = fields["pronoun"], let object = fields["object"],
              let start = fields["start"].flatMap({ Int($0) }), let program = fields["program"] else {
            throw SyntheticError.notSynthetic(example.id)
        }
        var steps: [SyntheticStep] = []
        for token in program.split(separator: " ") {
            guard let first = token.first, let operation = SyntheticOperation(rawValue: String(first)),
                  let operand = Int(token.dropFirst()) else { throw SyntheticError.notSynthetic(example.id) }
            steps.append(SyntheticStep(operation: operation, operand: operand))
        }
        let distractors = (fields["distractors"] ?? "").split(separator: " ").compactMap { Int($0) }
        self.init(name: name, pronoun: pronoun, object: object, start: start, steps: steps,
                  distractorNumbers: distractors, input: example.input)
    }

    init(name: String, pronoun: String, object: String, start: Int, steps: [SyntheticStep],
         distractorNumbers: [Int], input: String) {
        self.name = name
        self.pronoun = pronoun
        self.object = object
        self.start = start
        self.steps = steps
        self.distractorNumbers = distractorNumbers
        self.input = input
    }
}

/// The synthetic task's generator.
public struct SyntheticTask: Hashable, Sendable {
    /// How hard the problems are.
    public var difficulty: SyntheticDifficulty

    /// Creates a generator.
    /// - Parameters:
    ///   - difficulty: Steps, number range and distractors (`.classroom` unless told).
    public init(difficulty: SyntheticDifficulty = .classroom) {
        self.difficulty = difficulty
    }

    /// Generates problems; problem i depends only on the seed and i, so a shorter run is a prefix.
    /// - Parameters:
    ///   - count: How many.
    ///   - seed: The seed.
    public func problems(count: Int, seed: UInt64) -> [SyntheticProblem] {
        (0..<max(0, count)).map { problem(index: $0, seed: seed) }
    }

    /// Problem `index` of the sequence that `seed` starts.
    func problem(index: Int, seed: UInt64) -> SyntheticProblem {
        var generator = SplitMix64(seed: seed &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03)
        return problem(using: &generator)
    }

    /// Generates examples with gold rationales from a correct program teacher.
    /// - Parameters:
    ///   - count: How many.
    ///   - seed: The seed.
    ///   - split: The split name their ids carry.
    public func examples(count: Int, seed: UInt64, split: String = "train") -> [Example] {
        (0..<max(0, count)).map { example(index: $0, seed: seed, split: split) }
    }

    /// Generates examples as `examples(count:seed:split:)` does, asking `isCancelled` every 256
    /// examples, so that a big request stops within moments of an interrupt.
    /// - Parameters:
    ///   - count: How many.
    ///   - seed: The seed.
    ///   - split: The split name their ids carry.
    ///   - isCancelled: Says whether to stop.
    /// - Throws: `SyntheticError.interrupted` when `isCancelled` says yes.
    public func examples(count: Int, seed: UInt64, split: String = "train", isCancelled: () -> Bool) throws -> [Example] {
        var examples: [Example] = []
        examples.reserveCapacity(max(0, count))
        for index in 0..<max(0, count) {
            if index % 256 == 0, isCancelled() { throw SyntheticError.interrupted(done: index, total: count) }
            examples.append(example(index: index, seed: seed, split: split))
        }
        return examples
    }

    private func example(index: Int, seed: UInt64, split: String) -> Example {
        let problem = problem(index: index, seed: seed)
        return problem.example(id: ExampleID(split: split, index: index),
                               rationale: ProgramTeacher.rationale(for: problem, steps: problem.steps, showResults: true))
    }

    /// A dataset with `train` and `test` splits drawn from independent seeds.
    /// - Parameters:
    ///   - train: Training examples.
    ///   - test: Test examples.
    ///   - seed: The seed.
    public func dataset(train: Int = 2000, test: Int = 500, seed: UInt64 = 0) -> Dataset {
        Dataset(name: "synthetic", labelKind: .equation, splits: [
            ("train", examples(count: train, seed: seed, split: "train")),
            ("test", examples(count: test, seed: seed ^ SyntheticTask.testSeedMask, split: "test")),
        ])
    }

    /// The dataset of `dataset(train:test:seed:)`, asking `isCancelled` as it goes.
    /// - Parameters:
    ///   - train: Training examples.
    ///   - test: Test examples.
    ///   - seed: The seed.
    ///   - isCancelled: Says whether to stop.
    /// - Throws: `SyntheticError.interrupted` when `isCancelled` says yes (counting train and test together).
    public func dataset(train: Int, test: Int, seed: UInt64, isCancelled: () -> Bool) throws -> Dataset {
        let total = train.addingReportingOverflow(test).overflow ? Int.max : train + test
        let trainExamples: [Example], testExamples: [Example]
        do {
            trainExamples = try examples(count: train, seed: seed, split: "train", isCancelled: isCancelled)
        } catch SyntheticError.interrupted(let done, _) {
            throw SyntheticError.interrupted(done: done, total: total)
        }
        do {
            testExamples = try examples(count: test, seed: seed ^ SyntheticTask.testSeedMask, split: "test", isCancelled: isCancelled)
        } catch SyntheticError.interrupted(let done, _) {
            throw SyntheticError.interrupted(done: trainExamples.count + done, total: total)
        }
        return Dataset(name: "synthetic", labelKind: .equation, splits: [("train", trainExamples), ("test", testExamples)])
    }

    /// The test split's seed is the train seed with these bits flipped.
    static let testSeedMask: UInt64 = 0x5EED_7E57_0000_0001

    // MARK: - One problem

    static let people: [(String, String)] = [
        ("Sam", "he"), ("Mia", "she"), ("Leo", "he"), ("Ava", "she"), ("Noah", "he"), ("Zoe", "she"),
        ("Omar", "he"), ("Lily", "she"), ("Ben", "he"), ("Ella", "she"), ("Ravi", "he"), ("Nina", "she"),
    ]
    static let objects = ["apples", "marbles", "stickers", "coins", "books", "shells", "cards", "pencils",
                          "cookies", "stamps", "balloons", "toy cars"]

    func problem<G: RandomNumberGenerator>(using generator: inout G) -> SyntheticProblem {
        let (name, pronoun) = generator.pick(SyntheticTask.people)
        let object = generator.pick(SyntheticTask.objects)
        let start = generator.uniform(in: difficulty.numbers)
        var value = start
        var steps: [SyntheticStep] = []
        for _ in 0..<generator.uniform(in: difficulty.steps) {
            let additiveSoFar = steps.contains { $0.operation.precedence == 1 }
            let step = nextStep(after: value, multiplicative: difficulty.parentheses || !additiveSoFar, using: &generator)
            value = Int(step.operation.apply(Double(value), Double(step.operand)))
            steps.append(step)
        }
        // Lay out the story first, so that a step right after a distractor about someone else
        // names its subject instead of saying "he" or "she".
        var slots: [String?] = [nil] + steps.map { _ in nil }
        let relevant = Set([start] + steps.map(\.operand))
        var distractorNumbers: [Int] = []
        for _ in 0..<generator.uniform(in: difficulty.distractors) {
            // Rejection sampling: a distractor's number is never one the answer uses.
            var drawn: Int?
            for _ in 0..<64 {
                let candidate = generator.uniform(in: difficulty.numbers)
                if !relevant.contains(candidate) && !distractorNumbers.contains(candidate) {
                    drawn = candidate
                    break
                }
            }
            guard let number = drawn else { break }
            distractorNumbers.append(number)
            let other = generator.pick(SyntheticTask.people.map(\.0).filter { $0 != name })
            let otherObject = generator.pick(SyntheticTask.objects.filter { $0 != object })
            let sentence = generator.pick([
                "\(other) has \(number) \(object).",
                "\(name) also has \(number) \(otherObject).",
                "\(other) buys \(number) \(object).",
            ])
            slots.insert(sentence, at: 1 + generator.uniform(below: slots.count))
        }
        var sentences: [String] = []
        var nextStep = 0
        for (position, slot) in slots.enumerated() {
            if let distractor = slot {
                sentences.append(distractor)
            } else if position == 0 {
                sentences.append("\(name) has \(start) \(object).")
            } else {
                let afterDistractor = slots[position - 1] != nil
                let subject = afterDistractor ? name : pronoun.prefix(1).uppercased() + pronoun.dropFirst()
                sentences.append(SyntheticTask.sentence(steps[nextStep], subject: subject,
                                                        midSentence: afterDistractor ? name : pronoun,
                                                        object: object, using: &generator))
                nextStep += 1
            }
        }
        let input = sentences.joined(separator: " ") + "\nHow many \(object) does \(name) have now?"
        return SyntheticProblem(name: name, pronoun: pronoun, object: object, start: start, steps: steps,
                                distractorNumbers: distractorNumbers, input: input)
    }

    /// A step that keeps the correct answer a whole number above zero, with products below 10,000;
    /// only + or - when `multiplicative` is false.
    func nextStep<G: RandomNumberGenerator>(after value: Int, multiplicative: Bool,
                                            using generator: inout G) -> SyntheticStep {
        var feasible: [SyntheticStep] = []
        for operation in difficulty.operations where multiplicative || operation.precedence == 1 {
            switch operation {
            case .add:
                feasible.append(SyntheticStep(operation: .add, operand: generator.uniform(in: difficulty.numbers)))
            case .subtract:
                let low = difficulty.numbers.lowerBound
                if value - 1 >= low {
                    let operand = generator.uniform(in: low...min(value - 1, difficulty.numbers.upperBound))
                    feasible.append(SyntheticStep(operation: .subtract, operand: operand))
                }
            case .multiply:
                let factor = generator.uniform(in: difficulty.factors)
                if value * factor < 10_000 { feasible.append(SyntheticStep(operation: .multiply, operand: factor)) }
            case .divide:
                let divisors = difficulty.factors.filter { value % $0 == 0 && value / $0 >= 1 }
                if !divisors.isEmpty { feasible.append(SyntheticStep(operation: .divide, operand: generator.pick(divisors))) }
            }
        }
        if feasible.isEmpty {
            return SyntheticStep(operation: .add, operand: generator.uniform(in: difficulty.numbers))
        }
        return generator.pick(feasible)
    }

    static func sentence<G: RandomNumberGenerator>(_ step: SyntheticStep, subject he: String, midSentence: String,
                                                   object: String, using generator: inout G) -> String {
        let b = step.operand
        switch step.operation {
        case .add:
            return generator.pick(["\(he) buys \(b) more \(object).", "\(he) finds \(b) more \(object).",
                                   "\(he) gets \(b) more \(object) from a friend."])
        case .subtract:
            return generator.pick(["\(he) gives away \(b) \(object).", "\(he) loses \(b) \(object).",
                                   "\(he) sells \(b) \(object)."])
        case .multiply:
            return generator.pick(["\(he) then has \(b) times as many \(object) as before.",
                                   "Later \(midSentence) ends up with \(b) times as many \(object)."])
        case .divide:
            return generator.pick(["\(he) splits the \(object) into \(b) equal groups and keeps one group.",
                                   "\(he) puts the \(object) into \(b) equal boxes and keeps one box."])
        }
    }
}

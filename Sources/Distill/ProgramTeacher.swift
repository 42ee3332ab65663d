// The program teacher of the synthetic task: it reads a problem's program and writes a correct
// step-by-step rationale in the SVAMP teacher's style, or, at a seeded error rate, makes one
// mistake (a wrong operation or a wrong number) and follows it through to the label.

import Foundation

/// A mistake the program teacher made on purpose.
public enum TeacherMistake: Hashable, Sendable, CustomStringConvertible {
    /// At step `step` (0-based) it used `used` instead of `correct`.
    case wrongOperation(step: Int, correct: SyntheticOperation, used: SyntheticOperation)
    /// At step `step` it used the number `used` (a distractor's, or a near miss) instead of `correct`.
    case wrongNumber(step: Int, correct: Int, used: Int)

    public var description: String {
        switch self {
        case .wrongOperation(let step, let correct, let used):
            return "step \(step + 1): used \(used.rawValue) instead of \(correct.rawValue)"
        case .wrongNumber(let step, let correct, let used):
            return "step \(step + 1): used \(used) instead of \(correct)"
        }
    }
}

/// A program teacher's answer: the output, parsed as any teacher's, and the mistake if it made one.
public struct ProgramAnswer: Hashable, Sendable {
    /// The output, with `raw` the full rationale and answer sentence.
    public var output: TeacherOutput
    /// The mistake, or nil for a correct answer.
    public var mistake: TeacherMistake?
}

/// A teacher that solves synthetic problems by running their program.
public struct ProgramTeacher: Hashable, Sendable {
    /// The probability of one mistake per problem, in [0, 1].
    public var errorRate: Double
    /// The seed of the mistakes; a problem's fate depends only on the seed and its id.
    public var seed: UInt64
    /// Whether steps show computed values (`12 + 7 = 19.`, the SVAMP teacher's style) or only the
    /// growing expression (`so he has (12 + 7) * 3.`), which stays learnable under number masking.
    public var showResults: Bool

    /// Creates a program teacher.
    /// - Parameters:
    ///   - errorRate: The chance of a mistake per problem, in [0, 1].
    ///   - seed: The seed of the mistakes.
    ///   - showResults: Whether steps show computed values.
    /// - Throws: `SyntheticError.invalidErrorRate` outside [0, 1].
    public init(errorRate: Double = 0, seed: UInt64 = 0, showResults: Bool = true) throws {
        guard errorRate >= 0, errorRate <= 1 else { throw SyntheticError.invalidErrorRate(errorRate) }
        self.errorRate = errorRate
        self.seed = seed
        self.showResults = showResults
    }

    /// The teacher's outputs for synthetic examples, in the replay teacher's form.
    /// - Parameters:
    ///   - examples: Examples made by `SyntheticTask`.
    /// - Throws: `SyntheticError.notSynthetic` for an example without a program.
    public func explain(_ examples: [Example]) throws -> [TeacherOutput] {
        try answer(examples).map(\.output)
    }

    /// The teacher's answers with the mistakes it made.
    /// - Parameters:
    ///   - examples: Examples made by `SyntheticTask`.
    /// - Throws: `SyntheticError.notSynthetic` for an example without a program.
    public func answer(_ examples: [Example]) throws -> [ProgramAnswer] {
        try examples.map { example in
            let problem = try SyntheticProblem(example: example)
            var generator = SplitMix64(seed: seed ^ (UInt64(example.id.index) &* 0x9E37_79B9_7F4A_7C15)
                                       ^ UInt64(truncatingIfNeeded: example.id.split.hashValueStable))
            var steps = problem.steps
            var mistake: TeacherMistake?
            if generator.chance(errorRate), !steps.isEmpty {
                mistake = ProgramTeacher.makeMistake(in: &steps, problem: problem, using: &generator)
            }
            let raw = ProgramTeacher.rationale(for: problem, steps: steps, showResults: showResults)
            return ProgramAnswer(output: TeacherOutput(example: example, raw: raw, outcome: AnswerFormat.equation.parse(raw)),
                                 mistake: mistake)
        }
    }

    /// A rationale and answer sentence for a program, in the SVAMP teacher's style:
    /// `Sam has 12 apples. He gets 7 more, so 12 + 7 = 19. … The answer is ( ( 12 + 7 ) * 3 ).`
    /// Without results each step restates the expression so far, written as the label writes it
    /// (`so he has ( 12 + 7 ) * 3.`), so the last one is the label.
    /// - Parameters:
    ///   - problem: The problem (for names and objects).
    ///   - steps: The steps the teacher carries out (the problem's own, or mistaken ones).
    ///   - showResults: Whether steps show computed values.
    public static func rationale(for problem: SyntheticProblem, steps: [SyntheticStep], showResults: Bool) -> String {
        let he = problem.pronoun.prefix(1).uppercased() + problem.pronoun.dropFirst()
        var sentences = ["\(problem.name) has \(problem.start) \(problem.object)."]
        var value = Double(problem.start)
        var remarks = distractorRemarks(for: problem, stepCount: steps.count)
        for (index, step) in steps.enumerated() {
            sentences += remarks[index]
            let next = step.operation.apply(value, Double(step.operand))
            let event = restatement(step, pronoun: he)
            if showResults {
                sentences.append("\(event), so \(Arithmetic.format(value)) \(step.operation.rawValue) \(step.operand) = \(Arithmetic.format(next)).")
            } else {
                let expression = SyntheticProblem.equation(start: problem.start, steps: Array(steps[...index]))
                sentences.append("\(event), so \(problem.pronoun) has \(expression).")
            }
            value = next
        }
        sentences += remarks.removeLast()
        sentences.append("The answer is ( \(SyntheticProblem.equation(start: problem.start, steps: steps)) ).")
        return sentences.joined(separator: " ")
    }

    /// What the teacher says about each distractor sentence, in story order: slot i holds the
    /// remarks that come before step i, the last slot those after the last step. A distractor is
    /// about someone else (`Omar's 44 apples are not Sam's.`) or about other things (`Sam's 27
    /// shells are not apples.`). All slots are empty when the story cannot be read back (an example
    /// made by hand, without the generator's sentences).
    static func distractorRemarks(for problem: SyntheticProblem, stepCount: Int) -> [[String]] {
        var slots = [[String]](repeating: [], count: stepCount + 1)
        let story = problem.input.split(separator: "\n").first.map(String.init) ?? ""
        let sentences = story.components(separatedBy: ". ").dropFirst()
        var slot = 0
        for sentence in sentences {
            let words = sentence.trimmingCharacters(in: CharacterSet(charactersIn: ".")).split(separator: " ").map(String.init)
            guard let at = words.firstIndex(where: { Int($0) != nil }), let number = Int(words[at]) else {
                return [[String]](repeating: [], count: stepCount + 1)
            }
            guard problem.distractorNumbers.contains(number) else {
                slot += 1
                continue
            }
            let things = words[(at + 1)...].joined(separator: " ")
            let remark = words.starts(with: [problem.name, "also"])
                ? "\(problem.name)'s \(number) \(things) are not \(problem.object)."
                : "\(words[0])'s \(number) \(things) are not \(problem.name)'s."
            slots[min(slot, stepCount)].append(remark)
        }
        guard slot == stepCount else { return [[String]](repeating: [], count: stepCount + 1) }
        return slots
    }

    static func restatement(_ step: SyntheticStep, pronoun he: String) -> String {
        switch step.operation {
        case .add: return "\(he) gets \(step.operand) more"
        case .subtract: return "\(he) loses \(step.operand)"
        case .multiply: return "\(he) ends up with \(step.operand) times as many"
        case .divide: return "\(he) keeps one of \(step.operand) equal parts"
        }
    }

    /// Changes one step so that the answer's value changes: a distractor's number where there is
    /// one (or a near miss), else another operation.
    static func makeMistake<G: RandomNumberGenerator>(in steps: inout [SyntheticStep], problem: SyntheticProblem,
                                                      using generator: inout G) -> TeacherMistake {
        let index = generator.uniform(below: steps.count)
        let correct = steps[index]
        let before = steps[..<index].reduce(Double(problem.start)) { $1.operation.apply($0, Double($1.operand)) }
        let correctValue = correct.operation.apply(before, Double(correct.operand))
        if generator.chance(0.5) {
            let others = SyntheticOperation.allCases.filter {
                $0 != correct.operation && $0.apply(before, Double(correct.operand)) != correctValue
            }
            if !others.isEmpty {
                let used = generator.pick(others)
                steps[index].operation = used
                return .wrongOperation(step: index, correct: correct.operation, used: used)
            }
        }
        var candidates = problem.distractorNumbers.filter { $0 != correct.operand }
        if candidates.isEmpty {
            candidates = [correct.operand + 1, correct.operand + 2, correct.operand - 1].filter { $0 > 0 && $0 != correct.operand }
        }
        let used = generator.pick(candidates)
        steps[index].operand = used
        return .wrongNumber(step: index, correct: correct.operand, used: used)
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per run).
    var hashValueStable: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3
        }
        return hash
    }
}

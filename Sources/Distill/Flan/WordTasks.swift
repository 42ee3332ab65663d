// The instruction world: seeded word-list tasks a tiny student can learn from scratch, in
// clusters, so that holding a cluster out asks something a classroom model can answer or fail at.
// Tuning clusters: order (reverse, sort), select (first, last, largest), count, and arithmetic
// (add, and its yes/no variant "is the sum even?", so the yes/no answer format is seen in tuning).
// The held-out cluster is yes/no questions about a list: contains-word, is-sorted, has-duplicates.
// Every example carries a short rationale written by the generator, for chain-of-thought targets.
import Foundation

/// The synthetic instruction world's tasks.
public enum WordTasks {
    /// Task names in order, with their cluster.
    public static let clusters: [(task: String, cluster: String)] = [
        ("reverse", "order"), ("sort", "order"),
        ("first", "select"), ("last", "select"), ("largest", "select"),
        ("count", "count"),
        ("add", "arithmetic"), ("is-even", "arithmetic"),
        ("contains-word", "yes-no"), ("is-sorted", "yes-no"), ("has-duplicates", "yes-no"),
    ]

    /// The held-out cluster the world was built to test.
    public static let heldOutCluster = "yes-no"

    /// The yes/no classes.
    public static let yesNo = ["yes", "no"]

    /// The words lists are drawn from: short, distinct, lower-case.
    public static let vocabulary = [
        "apple", "bird", "cat", "desk", "egg", "fish", "goat", "hat", "ink", "jam", "kite", "lamp", "moon", "nest",
        "owl", "pen", "queen", "rock", "sun", "tree", "umbrella", "vase", "wolf", "yarn", "zebra", "boat", "cup", "door",
    ]

    /// The cluster of a world task, or nil.
    public static func cluster(of task: String) -> String? { clusters.first { $0.task == task }?.cluster }

    /// How a world task's labels compare.
    public static func kind(of task: String) -> LabelKind {
        ["is-even", "contains-word", "is-sorted", "has-duplicates"].contains(task) ? .classes(yesNo) : .text
    }

    /// One task's examples: `count` of them, from `seed`, in split `split`. Yes/no tasks alternate
    /// yes and no, so every split is balanced.
    /// - Throws: `TrainingError.invalidSetting` for an unknown task or a negative count.
    public static func examples(_ task: String, count: Int, seed: UInt64, split: String) throws -> [Example] {
        guard let index = clusters.firstIndex(where: { $0.task == task }) else {
            throw TrainingError.invalidSetting("'\(task)' is not a task of the instruction world (it has \(clusters.map(\.task).joined(separator: ", ")))")
        }
        guard count >= 0 else { throw TrainingError.invalidSetting("a task needs a count ≥ 0, got \(count)") }
        var out: [Example] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            var rng = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(index + 1) &* 0xD1B5_4A32_D192_ED03 ^ UInt64(i) &* 0x94D0_49BB_1331_11EB)
            out.append(example(task, id: ExampleID(split: split, index: i), wantYes: i % 2 == 0, rng: &rng))
        }
        return out
    }

    static func words(_ count: Int, distinct: Bool = true, _ rng: inout SplitMix64) -> [String] {
        var pool = vocabulary, out: [String] = []
        for _ in 0..<count {
            let k = rng.uniform(below: pool.count)
            out.append(pool[k])
            if distinct { pool.remove(at: k) }
        }
        return out
    }

    static func list(_ words: [String]) -> String { words.joined(separator: " ") }

    static func example(_ task: String, id: ExampleID, wantYes: Bool, rng: inout SplitMix64) -> Example {
        let yes = wantYes ? "yes" : "no"
        switch task {
        case "add", "is-even":
            let a = rng.uniform(below: 50), b = rng.uniform(below: 50)
            // For is-even, nudge b so the sum's parity gives the wanted answer.
            let bb = task == "is-even" && ((a + b) % 2 == 0) != wantYes ? (b + 1) % 50 : b
            let sum = a + bb
            let fields = ["a": String(a), "b": String(bb)]
            if task == "add" {
                return Example(id: id, input: "\(a) and \(bb)", label: String(sum),
                               rationale: "\(a) plus \(bb) is \(sum).", fields: fields)
            }
            let even = sum % 2 == 0
            return Example(id: id, input: "\(a) and \(bb)", label: even ? "yes" : "no",
                           rationale: "\(a) plus \(bb) is \(sum), which is \(even ? "even" : "odd").", choices: yesNo, fields: fields)
        case "contains-word":
            let ws = words(3 + rng.uniform(below: 4), &rng)
            let word: String
            if wantYes { word = ws[rng.uniform(below: ws.count)] } else {
                let others = vocabulary.filter { !ws.contains($0) }
                word = others[rng.uniform(below: others.count)]
            }
            return Example(id: id, input: "\(list(ws)) ; \(word)", label: yes,
                           rationale: "The list is \(list(ws)). The word \(word) is \(wantYes ? "" : "not ")in it.",
                           choices: yesNo, fields: ["words": list(ws), "word": word])
        case "is-sorted":
            var ws = words(3 + rng.uniform(below: 4), &rng)
            if wantYes { ws.sort() } else {
                // Fisher–Yates with the world's own draws (the standard library's shuffle may change).
                while ws == ws.sorted() {
                    for i in stride(from: ws.count - 1, to: 0, by: -1) { ws.swapAt(i, rng.uniform(below: i + 1)) }
                }
            }
            return Example(id: id, input: list(ws), label: yes,
                           rationale: "In order the words are \(list(ws.sorted())). The list is \(wantYes ? "" : "not ")the same.",
                           choices: yesNo, fields: ["words": list(ws)])
        case "has-duplicates":
            var ws = words(3 + rng.uniform(below: 4), &rng)
            if wantYes { ws[rng.uniform(below: ws.count)] = ws[rng.uniform(below: ws.count)] }
            // The copy may have landed on itself; make sure a yes has a repeat.
            if wantYes && Set(ws).count == ws.count { ws[ws.count - 1] = ws[0] }
            let repeated = ws.first { w in ws.filter { $0 == w }.count > 1 }
            return Example(id: id, input: list(ws), label: yes,
                           rationale: repeated.map { "The word \($0) appears twice." } ?? "Every word appears once.",
                           choices: yesNo, fields: ["words": list(ws)])
        default:
            let ws = words(3 + rng.uniform(below: 4), &rng)
            let label: String, rationale: String
            switch task {
            case "reverse":
                label = list(ws.reversed())
                rationale = "The words from last to first are \(label)."
            case "sort":
                label = list(ws.sorted())
                rationale = "In alphabetical order the words are \(label)."
            case "first":
                label = ws[0]
                rationale = "The list starts with \(label)."
            case "last":
                label = ws[ws.count - 1]
                rationale = "The list ends with \(label)."
            case "largest":
                label = ws.max() ?? ws[0]
                rationale = "In alphabetical order the words are \(list(ws.sorted())), so the last is \(label)."
            default:  // count
                label = String(ws.count)
                rationale = "The words are \(ws.enumerated().map { "\($0.offset + 1) \($0.element)" }.joined(separator: ", ")), so there are \(label)."
            }
            return Example(id: id, input: list(ws), label: label, rationale: rationale, fields: ["words": list(ws)])
        }
    }

    /// Each world task's templates: six instructions and one turned around.
    public static let templates: [String: [InstructionTemplate]] = {
        func set(_ task: String, _ phrasings: [String], turned: String, turnedTarget: String = "{words}") -> [InstructionTemplate] {
            phrasings.enumerated().map { InstructionTemplate("\(task)/t\($0.offset + 1)", input: $0.element) }
                + [InstructionTemplate("\(task)/t\(phrasings.count + 1)", input: turned, target: turnedTarget, turnedAround: true)]
        }
        let o = "\n" + InstructionTemplates.options
        return [
            "reverse": set("reverse", [
                "Reverse the order of these words: {words}", "{words}\nWrite the words above in reverse order.",
                "Words: {words}\nThe same words, last to first:", "Turn this list around: {words}",
                "Read the list backwards.\n{words}", "List: {words}\nReverse the list.",
            ], turned: "Write a list of words which, reversed, reads: {label}"),
            "sort": set("sort", [
                "Sort these words alphabetically: {words}", "{words}\nPut the words above in alphabetical order.",
                "Words: {words}\nThe same words, from a to z:", "Arrange in dictionary order: {words}",
                "Alphabetize the list.\n{words}", "List: {words}\nSort the list.",
            ], turned: "Write an unsorted list of words that sorts to: {label}"),
            "first": set("first", [
                "What is the first word of this list? {words}", "{words}\nWhich word comes first above?",
                "Words: {words}\nThe first word is:", "Give the word the list starts with: {words}",
                "Name the opening word.\n{words}", "List: {words}\nWhat does the list begin with?",
            ], turned: "Write a list of words that begins with {label}."),
            "last": set("last", [
                "What is the last word of this list? {words}", "{words}\nWhich word comes last above?",
                "Words: {words}\nThe last word is:", "Give the word the list ends with: {words}",
                "Name the closing word.\n{words}", "List: {words}\nWhat does the list end with?",
            ], turned: "Write a list of words that ends with {label}."),
            "largest": set("largest", [
                "Which of these words comes last in the dictionary? {words}", "{words}\nWhich word above is alphabetically largest?",
                "Words: {words}\nThe word that sorts last is:", "Find the alphabetically largest word: {words}",
                "Of these, which would a dictionary list last?\n{words}", "List: {words}\nGive the largest word in alphabetical order.",
            ], turned: "Write a list of words whose alphabetically largest word is {label}."),
            "count": set("count", [
                "How many words are in this list? {words}", "{words}\nCount the words above.",
                "Words: {words}\nNumber of words:", "Count the items: {words}",
                "How long is this list, in words?\n{words}", "List: {words}\nHow many words does it have?",
            ], turned: "Write a list of {label} words."),
            "add": set("add", [
                "What is {a} plus {b}?", "Add {a} and {b}.", "{a} + {b} =", "Compute the sum of {a} and {b}.",
                "Numbers: {a} and {b}\nTheir sum is:", "If you add {b} to {a}, what do you get?",
            ], turned: "Write two numbers that add up to {label}.", turnedTarget: "{a} and {b}"),
            "is-even": set("is-even", [
                "Is the sum of {a} and {b} even?" + o, "{a} + {b}: is the result an even number?" + o,
                "Numbers: {a} and {b}\nIs their sum even?" + o, "Add {a} and {b}. Is the answer even?" + o,
                "Question: is {a} plus {b} divisible by two?" + o, "Would {a} plus {b} split into two equal whole halves?" + o,
            ], turned: "Write two numbers for which \"is their sum even?\" is answered {label}.", turnedTarget: "{a} and {b}"),
            "contains-word": set("contains-word", [
                "Does the list \"{words}\" contain the word {word}?" + o, "{words}\nIs {word} one of the words above?" + o,
                "Words: {words}\nWord: {word}\nIs the word in the list?" + o, "Can you find {word} in this list: {words}?" + o,
                "List: {words}\nQuestion: does it include {word}?" + o, "Is {word} among these words? {words}" + o,
            ], turned: "Write a list of words and a word, so that \"is the word in the list?\" is answered {label}.",
               turnedTarget: "List: {words}\nWord: {word}"),
            "is-sorted": set("is-sorted", [
                "Are these words in alphabetical order? {words}" + o, "{words}\nAre the words above sorted from a to z?" + o,
                "Words: {words}\nIs the list sorted?" + o, "Is this list already in dictionary order: {words}?" + o,
                "List: {words}\nQuestion: would sorting it change nothing?" + o, "Do these words go from a to z? {words}" + o,
            ], turned: "Write a list of words for which \"is it sorted?\" is answered {label}."),
            "has-duplicates": set("has-duplicates", [
                "Does any word appear twice in this list? {words}" + o, "{words}\nIs a word repeated above?" + o,
                "Words: {words}\nAre there duplicates?" + o, "Does this list repeat itself anywhere: {words}?" + o,
                "List: {words}\nQuestion: is some word in it more than once?" + o, "Is there a word this list holds more than once? {words}" + o,
            ], turned: "Write a list of words for which \"does a word repeat?\" is answered {label}."),
        ]
    }()
}

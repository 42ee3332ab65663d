// Self-consistency (Wang et al. 2023): several sampled answers per input, and the label most of
// them agree on. Labels are grouped by the task's notion of equal (equations by value), samples
// that did not parse do not vote, and ties go to the label that appeared first. Also the shapes a
// run's results come in: one `ExplainedExample` per input, gathered in an `ExplainResult`.

/// The outcome of a vote over one example's samples.
public struct Vote: Hashable, Sendable {
    /// The winning label as the first sample that gave it wrote it, or nil when no sample parsed.
    public var label: String?
    /// How many samples voted for the winner.
    public var votes: Int
    /// How many samples parsed (and so voted).
    public var voters: Int
    /// The index (into the samples) of the first sample that voted for the winner.
    public var winner: Int?
    /// Each distinct label with its count, in order of first appearance.
    public var tally: [(label: String, count: Int)]

    /// The share of voters that chose the winner (0 when nobody voted).
    public var agreement: Double { voters == 0 ? 0 : Double(votes) / Double(voters) }

    public static func == (lhs: Vote, rhs: Vote) -> Bool {
        lhs.label == rhs.label && lhs.votes == rhs.votes && lhs.voters == rhs.voters && lhs.winner == rhs.winner
            && lhs.tally.map(\.label) == rhs.tally.map(\.label) && lhs.tally.map(\.count) == rhs.tally.map(\.count)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(label)
        hasher.combine(votes)
        hasher.combine(winner)
    }
}

/// Majority voting over sampled labels.
public enum SelfConsistency {
    /// The majority label over samples.
    ///
    /// Labels are grouped with `Metrics.isCorrect` under the task's label kind, so `(84 / 2)` and
    /// `( 84.0 / 2.0 )` vote together; a group is named by its first member. The largest group wins;
    /// a tie goes to the group whose first vote came earliest, so the result depends only on the
    /// order of samples (sample index), never on timing.
    /// - Parameters:
    ///   - labels: The parsed label of each sample, in sample order; nil for an unparseable sample.
    ///   - kind: How labels compare.
    public static func vote(_ labels: [String?], kind: LabelKind) -> Vote {
        var groups: [(label: String, count: Int, first: Int)] = []
        for (index, label) in labels.enumerated() {
            guard let label else { continue }
            if let group = groups.firstIndex(where: { Metrics.isCorrect(label, gold: $0.label, kind: kind) }) {
                groups[group].count += 1
            } else {
                groups.append((label, 1, index))
            }
        }
        let voters = groups.reduce(0) { $0 + $1.count }
        var best: (label: String, count: Int, first: Int)?
        for group in groups where group.count > (best?.count ?? 0) {
            best = group  // strictly greater: an equal count later in order does not replace the earlier one
        }
        return Vote(label: best?.label, votes: best?.count ?? 0, voters: voters, winner: best?.first,
                    tally: groups.map { ($0.label, $0.count) })
    }

    /// The vote over teacher outputs (one per sample, in sample order).
    /// - Parameters:
    ///   - samples: The samples' outputs.
    ///   - kind: How labels compare.
    public static func vote(_ samples: [TeacherOutput], kind: LabelKind) -> Vote {
        vote(samples.map(\.label), kind: kind)
    }
}

/// One example's answers from a teacher: every sample, and the output that represents them.
public struct ExplainedExample: Hashable, Sendable {
    /// The example.
    public var example: Example
    /// The successful samples' outputs, in sample order (a sample whose call failed is missing).
    public var samples: [TeacherOutput]
    /// The sample indices of `samples`, aligned with it.
    public var sampleIndices: [Int]
    /// The vote over the samples' labels.
    public var vote: Vote
    /// Why calls failed, by sample index, for samples without an output.
    public var failures: [Int: String]

    /// The output that stands for the example: the first sample that voted for the majority label,
    /// or, when no sample parsed, the first sample (unparseable); nil when every call failed.
    public var output: TeacherOutput? {
        if let winner = vote.winner, samples.indices.contains(winner) { return samples[winner] }
        return samples.first
    }

    /// Creates an explained example and votes over its samples.
    /// - Parameters:
    ///   - example: The example.
    ///   - samples: `(sample index, output)` of the successful calls, in any order.
    ///   - failures: Error text by sample index for the failed calls.
    ///   - kind: How labels compare in the vote.
    public init(example: Example, samples: [(Int, TeacherOutput)], failures: [Int: String] = [:], kind: LabelKind) {
        let ordered = samples.sorted { $0.0 < $1.0 }
        self.example = example
        self.samples = ordered.map(\.1)
        self.sampleIndices = ordered.map(\.0)
        self.failures = failures
        self.vote = SelfConsistency.vote(self.samples, kind: kind)
    }
}

/// The outcome of a run: every example with its samples and vote, and the store's accounting.
public struct ExplainResult: Sendable {
    /// One entry per example, in input order.
    public var examples: [ExplainedExample]
    /// Hits, misses and failures of this run.
    public var stats: StoreStats

    /// One output per example that got at least one answer: the majority sample (see `ExplainedExample.output`).
    public var outputs: [TeacherOutput] { examples.compactMap(\.output) }

    /// Every sample's output, example by example.
    public var allSamples: [TeacherOutput] { examples.flatMap(\.samples) }

    /// The share of examples whose majority label matches the gold label; examples without an answer
    /// count as wrong.
    /// - Parameters:
    ///   - kind: How labels compare.
    public func accuracy(kind: LabelKind) -> Double {
        guard !examples.isEmpty else { return 0 }
        let correct = examples.filter { Metrics.isCorrect($0.vote.label, gold: $0.example.label, kind: kind) }.count
        return Double(correct) / Double(examples.count)
    }
}

public extension AnswerFormat {
    /// How labels in this format compare.
    var labelKind: LabelKind {
        switch self {
        case .equation: return .equation
        case .choice: return .text
        case .soTheAnswerIs(let labels), .answerLine(let labels): return .classes(labels)
        }
    }
}

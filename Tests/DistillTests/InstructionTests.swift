// FLAN on the multi-task core: templates and their lint (over every template and every example
// of every built-in task), held-out clusters, the instruction world, instruction mixtures, and the
// paired bootstrap.
import XCTest
import Distill
import Foundation

final class InstructionTests: XCTestCase {
    /// Every task Stepwise knows, with the examples the lint reads.
    func builtInTasks() throws -> [InstructionTask] {
        var tasks: [InstructionTask] = []
        for task in [BenchmarkTask.svamp, .cqa, .anli1, .esnli] {
            let dataset = try task.load(from: try TestData.folder(task.rawValue))
            let examples = try dataset.splitNames.flatMap { try dataset.split($0) }
            tasks.append(InstructionTask(name: task.rawValue, kind: task.labelKind, train: examples, test: []))
        }
        let synthetic = SyntheticTask(difficulty: .classroom).examples(count: 300, seed: 1)
        tasks.append(InstructionTask(name: "synthetic", kind: .equation, train: synthetic, test: []))
        tasks += try InstructionTask.world(train: 300, test: 100, seed: 7)
        return tasks
    }

    func testEveryTemplateOfEveryBuiltInTaskPassesTheLintOnEveryExample() throws {
        let tasks = try builtInTasks()
        XCTAssertEqual(tasks.count, 5 + WordTasks.clusters.count)
        var checked = 0
        for task in tasks {
            XCTAssertGreaterThanOrEqual(task.templates.count - task.templates.filter(\.turnedAround).count, 6, task.name)
            XCTAssertGreaterThanOrEqual(task.templates.filter(\.turnedAround).count, 1, "\(task.name) has no turned-around template")
            XCTAssertEqual(Set(task.templates.map(\.id)).count, task.templates.count, "\(task.name): template ids repeat")
            for template in task.templates {
                XCTAssertEqual(InstructionTemplates.lint(template), [], template.id)
                XCTAssertEqual(template.usesOptions, task.hasOptions && !template.turnedAround, "\(template.id): options block")
                for example in task.train + task.test {
                    let problems = InstructionTemplates.lint(template, on: example)
                    XCTAssertTrue(problems.isEmpty, "\(problems.prefix(3))")
                    if !problems.isEmpty { return }
                    checked += 1
                }
            }
        }
        // svamp 1,000 + cqa 10,962 + anli1 1,000 + esnli 9,842 examples × 7, and the rest.
        XCTAssertGreaterThan(checked, 150_000)
    }

    func testTheLintCatchesWhatFlanV1Shipped() {
        let stray = InstructionTemplate("x/t1", input: "{premise}n{hypothesis}\n" + InstructionTemplates.options)
        XCTAssertEqual(InstructionTemplates.lint(stray).map(\.reason),
                       ["source has a stray 'n' right after {premise}", "source has 'n' glued before {hypothesis}"])
        let glued = InstructionTemplate("x/t2", input: "Premise:{premise}x")
        XCTAssertEqual(InstructionTemplates.lint(glued).map(\.reason), ["source has a stray 'x' right after {premise}"])
        let escape = InstructionTemplate("x/t3", input: "{input}\\nAnswer:")
        XCTAssertEqual(InstructionTemplates.lint(escape).map(\.reason),
                       ["source holds a literal \\n (an escape that was never turned into its character)"])
        let constant = InstructionTemplate("x/t4", input: "{input}", target: "yes")
        XCTAssertEqual(InstructionTemplates.lint(constant).count, 1)
        let unclosed = InstructionTemplate("x/t5", input: "{input")
        XCTAssertEqual(InstructionTemplates.lint(unclosed).count, 1)

        let example = Example(id: ExampleID(split: "train", index: 3), input: "a b", label: "yes", fields: ["words": "a b", "empty": ""])
        let options = InstructionTemplate("x/t6", input: "{words}\n" + InstructionTemplates.options)
        XCTAssertEqual(InstructionTemplates.lint(options, on: example).map(\.reason), ["{options} has no options"])
        let missing = InstructionTemplate("x/t7", input: "{word} in {words}?")
        XCTAssertEqual(InstructionTemplates.lint(missing, on: example).first?.reason, "{word} is not a field of the example")
        let empty = InstructionTemplate("x/t8", input: "{empty}?")
        XCTAssertEqual(InstructionTemplates.lint(empty, on: example).map(\.reason), ["{empty} is empty"])
        var blankOption = example
        blankOption.choices = ["yes", " "]
        XCTAssertEqual(InstructionTemplates.lint(options, on: blankOption).map(\.reason), ["an option is empty"])
    }

    func testOptionsRenderAsFlanRendersThem() throws {
        let example = Example(id: ExampleID(split: "test", index: 0), input: "Premise: P\nHypothesis: H", label: "neutral",
                              fields: ["premise": "It rains.", "hypothesis": "The street is wet."])
        let task = InstructionTask(name: "anli1", kind: .classes(nliLabels), train: [], test: [example])
        XCTAssertEqual(task.cluster, "nli")
        let source = try task.templates[0].template.source(for: task.test[0])
        XCTAssertEqual(source, """
            Premise: It rains.
            Hypothesis: The street is wet.
            Does the premise entail the hypothesis?
            OPTIONS:
            - entailment
            - neutral
            - contradiction
            """)
        let turned = try XCTUnwrap(task.templates.first(where: \.turnedAround))
        XCTAssertEqual(try turned.template.source(for: task.test[0]), "Write a premise and a hypothesis for which the relation is neutral.")
        XCTAssertEqual(try turned.template.target(for: task.test[0]), "Premise: It rains.\nHypothesis: The street is wet.")
        // A JSON Lines task of any name gets the generic set, with the options block for classes.
        let generic = InstructionTask(name: "my-task", kind: .classes(["good", "bad"]), train: [], test: [
            Example(id: ExampleID(split: "test", index: 0), input: "Great film", label: "good")])
        XCTAssertEqual(generic.templates.count, 7)
        XCTAssertEqual(try generic.templates[0].template.source(for: generic.test[0]), "Great film\nOPTIONS:\n- good\n- bad")
        let text = InstructionTask(name: "my-text", kind: .text, train: [], test: [
            Example(id: ExampleID(split: "test", index: 0), input: "2+2", label: "4")])
        XCTAssertEqual(try text.templates[0].template.source(for: text.test[0]), "2+2")
    }

    func testTheWorldIsSeededBalancedAndRight() throws {
        let a = try InstructionTask.world(train: 40, test: 10, seed: 3)
        let b = try InstructionTask.world(train: 40, test: 10, seed: 3)
        XCTAssertEqual(a.map(\.train), b.map(\.train))
        XCTAssertNotEqual(a.map(\.train), try InstructionTask.world(train: 40, test: 10, seed: 4).map(\.train))
        for task in a {
            for e in task.train + task.test {
                let words = (e.fields["words"] ?? "").split(separator: " ").map(String.init)
                switch task.name {
                case "reverse": XCTAssertEqual(e.label, words.reversed().joined(separator: " "))
                case "sort": XCTAssertEqual(e.label, words.sorted().joined(separator: " "))
                case "first": XCTAssertEqual(e.label, words.first)
                case "last": XCTAssertEqual(e.label, words.last)
                case "largest": XCTAssertEqual(e.label, words.max())
                case "count": XCTAssertEqual(e.label, String(words.count))
                case "add": XCTAssertEqual(Int(e.label), Int(e.fields["a"]!)! + Int(e.fields["b"]!)!)
                case "is-even": XCTAssertEqual(e.label, (Int(e.fields["a"]!)! + Int(e.fields["b"]!)!) % 2 == 0 ? "yes" : "no")
                case "contains-word": XCTAssertEqual(e.label, words.contains(e.fields["word"]!) ? "yes" : "no")
                case "is-sorted": XCTAssertEqual(e.label, words == words.sorted() ? "yes" : "no")
                case "has-duplicates": XCTAssertEqual(e.label, Set(words).count < words.count ? "yes" : "no")
                default: XCTFail("unknown task \(task.name)")
                }
                XCTAssertFalse((e.rationale ?? "").isEmpty)
            }
            if case .classes = task.kind {
                XCTAssertEqual(task.train.filter { $0.label == "yes" }.count, 20, task.name)
                XCTAssertEqual(task.test.filter { $0.label == "yes" }.count, 5, task.name)
            }
        }
        XCTAssertEqual(Set(a.filter { $0.cluster == WordTasks.heldOutCluster }.map(\.name)), ["contains-word", "is-sorted", "has-duplicates"])
    }

    func testAMixtureThatOverlapsItsHeldOutClusterIsAnErrorNamingTheTask() throws {
        let world = try InstructionTask.world(train: 20, test: 4, seed: 0)
        XCTAssertThrowsError(try InstructionMixture.mixture(world, settings: InstructionMixtureSettings(heldOut: ["yes-no"]))) { error in
            XCTAssertEqual("\(error)".contains("task 'contains-word' belongs to the held-out cluster 'yes-no'"), true, "\(error)")
        }
        let tuning = world.filter { $0.cluster != "yes-no" }
        let mixture = try InstructionMixture.mixture(tuning, settings: InstructionMixtureSettings(heldOut: ["yes-no"]))
        XCTAssertEqual(mixture.streams.map(\.name), tuning.map(\.name))
        XCTAssertFalse(mixture.streams.contains { $0.cluster == "yes-no" })
    }

    func testAMixtureRecordsEachPairsTemplateAndFormatAndNeverShowsAnExampleItsOwnShot() throws {
        let examples = (0..<30).map { Example(id: ExampleID(split: "train", index: $0), input: "x\($0)y", label: "l\($0)", rationale: "r\($0)") }
        let task = InstructionTask(name: "toy", kind: .text, train: examples, test: [])
        let settings = InstructionMixtureSettings(formats: InstructionFormat.allCases, shots: 3, seed: 5)
        let stream = try XCTUnwrap(InstructionMixture.streams([task], settings: settings).first)
        XCTAssertEqual(stream.pairs.count, 30)
        let ids = Set(task.templates.map(\.id))
        var formats = Set<String>()
        for (pair, example) in zip(stream.pairs, examples) {
            let id = try XCTUnwrap(pair.template)
            XCTAssertTrue(ids.contains(id))
            let format = try XCTUnwrap(pair.format.flatMap(InstructionFormat.init(rawValue:)))
            formats.insert(format.rawValue)
            let template = task.templates.first { $0.id == id }!
            switch format {
            case .zeroShot:
                XCTAssertEqual(pair.source, try template.template.source(for: example))
            case .fewShot:
                let own = try template.template.source(for: example)
                XCTAssertTrue(pair.source.hasSuffix("\n\n" + own))
                let shots = pair.source.dropLast(own.count + 2)
                let regex = try NSRegularExpression(pattern: "x([0-9]+)y")
                let text = String(shots)
                let shown = Set(regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { (text as NSString).substring(with: $0.range(at: 1)) })
                XCTAssertEqual(shown.count, 3, "three exemplars: \(text)")
                XCTAssertFalse(shown.contains(String(example.id.index)), "example \(example.id) is its own exemplar")
            case .chainOfThought:
                XCTAssertFalse(template.turnedAround)
                XCTAssertTrue(pair.source.hasSuffix("\n\nLet's think step by step."))
                XCTAssertEqual(pair.target, "r\(example.id.index)\nSo the answer is l\(example.id.index).")
            }
        }
        XCTAssertEqual(formats, Set(InstructionFormat.allCases.map(\.rawValue)))
        // The same seed draws the same; another seed draws otherwise; the hash sees the templates.
        let again = try InstructionMixture.mixture([task], settings: settings)
        XCTAssertEqual(again.streams[0].pairs, stream.pairs)
        var other = settings
        other.seed = 6
        let otherMixture = try InstructionMixture.mixture([task], settings: other)
        XCTAssertNotEqual(otherMixture.streams[0].pairs.map(\.template), stream.pairs.map(\.template))
        XCTAssertNotEqual(otherMixture.manifest(seed: 0).hash, again.manifest(seed: 0).hash)
    }

    func testAblationsAndCaps() throws {
        let world = try InstructionTask.world(train: 10, test: 2, seed: 0)
        let isEven = world.first { $0.name == "is-even" }!
        let plain = try InstructionMixture.streams([isEven], settings: InstructionMixtureSettings(preset: .noTemplate))[0]
        XCTAssertEqual(plain.pairs[0].source, "\(isEven.train[0].input)\nOPTIONS:\n- yes\n- no")
        XCTAssertEqual(plain.pairs[0].template, "is-even/no-template")
        let named = try InstructionMixture.streams([isEven], settings: InstructionMixtureSettings(preset: .datasetName))[0]
        XCTAssertEqual(named.pairs[0].source, "is-even: \(isEven.train[0].input)\nOPTIONS:\n- yes\n- no")

        // Hand-computed seqio rates: sizes 5,000 and 100 with a cap of 3,000 → 3,000 : 100;
        // at T = 2 → √3000 : √100.
        let big = InstructionTask(name: "big", kind: .text, train: (0..<5000).map { Example(id: ExampleID(split: "train", index: $0), input: "b\($0)", label: "x") }, test: [])
        let small = InstructionTask(name: "small", kind: .text, train: (0..<100).map { Example(id: ExampleID(split: "train", index: $0), input: "s\($0)", label: "y") }, test: [])
        let capped = try InstructionMixture.mixture([big, small], settings: InstructionMixtureSettings(cap: 3000))
        XCTAssertEqual(capped.rates[0], 3000.0 / 3100.0, accuracy: 1e-12)
        XCTAssertEqual(capped.rates[1], 100.0 / 3100.0, accuracy: 1e-12)
        let warm = try InstructionMixture.mixture([big, small], settings: InstructionMixtureSettings(cap: 3000, temperature: 2))
        XCTAssertEqual(warm.rates[1], 10 / (3000.0.squareRoot() + 10), accuracy: 1e-12)
        XCTAssertEqual(capped.normalisation, .perToken)
    }

    func testHeldOutStreamsScoreUnseenTemplatesOnBalancedExamplesByRank() throws {
        let world = try InstructionTask.world(train: 10, test: 30, seed: 2)
        let streams = try InstructionMixture.heldOutStreams(world, clusters: ["yes-no"], limit: 12)
        XCTAssertEqual(streams.count, 3 * 6)
        for stream in streams {
            XCTAssertEqual(stream.examples.count, 12)
            XCTAssertEqual(stream.examples.filter { $0.label == "yes" }.count, 6)
            XCTAssertTrue(stream.settings.rankClassification)
            XCTAssertEqual(stream.cluster, "yes-no")
            XCTAssertFalse(stream.settings.template.target.contains("{words}"), "a turned-around template cannot score")
        }
        XCTAssertThrowsError(try InstructionMixture.heldOutStreams(world, clusters: ["nli"]))
    }

    func testPairedBootstrapAgainstHandComputedCases() throws {
        let all = try PairedBootstrap.compare([1, 1, 1, 1], [0, 0, 0, 0])
        XCTAssertEqual(all.difference, 1)
        XCTAssertEqual(all.low, 1)
        XCTAssertEqual(all.high, 1)
        // Differences 1, 0, 0, -1 … : mean 0; the interval straddles 0 and stays inside [-1, 1].
        let a: [Double] = (0..<200).map { $0 % 4 == 0 ? 1 : ($0 % 4 == 3 ? 0 : 1) }
        let b: [Double] = (0..<200).map { $0 % 4 == 3 ? 1 : ($0 % 4 == 0 ? 0 : 1) }
        let even = try PairedBootstrap.compare(a, b, seed: 1)
        XCTAssertEqual(even.difference, 0, accuracy: 1e-12)
        XCTAssertLessThan(even.low, 0)
        XCTAssertGreaterThan(even.high, 0)
        // Against a constant baseline of 0.5, 70 right of 100: +0.2 with a binomial-sized interval
        // (standard error √(0.21/100) ≈ 0.046, so about ±0.09).
        let right = (0..<100).map { $0 < 70 ? 1.0 : 0.0 }
        let chance = try PairedBootstrap.compare(right, [Double](repeating: 0.5, count: 100), seed: 3)
        XCTAssertEqual(chance.difference, 0.2, accuracy: 1e-12)
        XCTAssertEqual(chance.low, 0.11, accuracy: 0.03)
        XCTAssertEqual(chance.high, 0.29, accuracy: 0.03)
        XCTAssertThrowsError(try PairedBootstrap.compare([1], [1, 0]))
    }
}

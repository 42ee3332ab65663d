// The trainer on mixtures: per-stream weights apply per token (checked against the student's own
// token losses), a packed step has the loss and gradients of the padded one, a mixture trains and
// resumes, and rank classification scores options by their summed log-likelihood (checked against
// the model's logits by hand).
import Distill
import Foundation
import Models
import Tensor
import XCTest

final class MixtureTrainingTests: XCTestCase {
    /// Two instruction-style streams of different lengths over the synthetic task, drawn apart.
    private func mixture(normalisation: LossNormalisation = .perToken) throws -> (Mixture, T5Student) {
        let (examples, _) = try TrainingFixtures.synthetic(count: 24)
        let short = try TaskStream.rendering(Array(examples.prefix(12)), name: "short",
                                             template: PromptTemplate(name: "short", input: "Q: {input}"), weight: 1)
        let long = try TaskStream.rendering(Array(examples.suffix(12)), name: "long",
                                            template: PromptTemplate(name: "long", input: "Solve this word problem carefully and write the equation.\n{input}",
                                                                     target: "The equation is {label}, which answers the question."),
                                            weight: 3)
        let mixture = try Mixture([short, long], normalisation: normalisation)
        let student = try T5Student.fromScratch(config: TrainingFixtures.config(dropout: 0), texts: mixture.texts, vocabularySize: 300, seed: 5)
        return (mixture, student)
    }

    private func trainer(_ mixture: Mixture, _ student: Student, pack: Int? = nil, accumulation: Int = 1) throws -> Trainer {
        try Trainer(student: student, mixture: mixture, validation: [], evaluation: EvaluationSettings(kind: .equation),
                    config: TrainerConfig(steps: 2, batchSize: 24 / accumulation, gradientAccumulation: accumulation, packLength: pack, seed: 3))
    }

    private var allDraws: [MixtureDraw] { (0..<12).flatMap { [MixtureDraw(component: 0, example: $0), MixtureDraw(component: 1, example: $0)] } }

    func testStreamWeightsApplyPerTokenAsTheNormalisationSays() throws {
        for normalisation in LossNormalisation.allCases {
            let (mixture, student) = try mixture(normalisation: normalisation)
            let loss = try trainer(mixture, student).loss(draws: allDraws, backward: false)
            // By hand: each stream's token losses, from the student directly.
            var sums: [Double] = [], counts: [Int] = []
            for stream in mixture.streams {
                let pairs = try stream.pairs.map { try student.encode($0, maxSourceTokens: 256, maxTargetTokens: 64) }
                let values = try Tensor.withoutGrad { try student.targetTokenLosses(pairs, packLength: nil) }.scalars
                sums.append(values.reduce(0) { $0 + Double($1) })
                counts.append(values.count)
            }
            let expected: Double
            switch normalisation {
            case .perStream: expected = 1 * sums[0] / Double(counts[0]) + 3 * sums[1] / Double(counts[1])
            case .perToken: expected = (1 * sums[0] + 3 * sums[1]) / Double(counts[0] + counts[1])
            }
            XCTAssertEqual(loss.loss, expected, accuracy: 1e-5 * expected, "\(normalisation)")
            XCTAssertEqual(loss.streams.map(\.stream), ["short", "long"])
            XCTAssertEqual(loss.streams[0].loss, sums[0] / Double(counts[0]), accuracy: 1e-5)
            XCTAssertEqual(loss.streams[1].loss, sums[1] / Double(counts[1]), accuracy: 1e-5)
            XCTAssertEqual(loss.targetTokens, counts[0] + counts[1])
        }
    }

    func testAPackedStepHasTheLossAndGradientsOfThePaddedStep() throws {
        let (mixture, student) = try mixture()
        func step(pack: Int?, accumulation: Int) throws -> (Double, [[Float]]) {
            student.trainableParameters().forEach { $0.1.grad = nil }
            let loss = try trainer(mixture, student, pack: pack, accumulation: accumulation).loss(draws: allDraws, backward: true)
            let grads = student.trainableParameters().map { $0.1.grad?.scalars ?? [] }
            student.trainableParameters().forEach { $0.1.grad = nil }
            return (loss.loss, grads)
        }
        let (padded, paddedGrads) = try step(pack: nil, accumulation: 1)
        for (pack, accumulation) in [(192, 1), (160, 2)] {
            let (packed, packedGrads) = try step(pack: pack, accumulation: accumulation)
            XCTAssertEqual(packed, padded, accuracy: 1e-5 * padded, "pack \(pack)")
            var worst: Float = 0, scale: Float = 0
            for (a, b) in zip(paddedGrads, packedGrads) {
                XCTAssertEqual(a.count, b.count)
                for (x, y) in zip(a, b) {
                    worst = max(worst, abs(x - y))
                    scale = max(scale, abs(x))
                }
            }
            XCTAssertGreaterThan(scale, 1e-4)
            XCTAssertLessThan(worst / scale, 1e-4, "pack \(pack): gradients differ by \(worst) of \(scale)")
        }
        XCTAssertThrowsError(try trainer(mixture, student, pack: 8)) {
            XCTAssertTrue("\($0)".contains("more than pack: 8"), "\($0)")
        }
    }

    func testAMixtureTrainsChecksResumesAndRefusesOtherData() throws {
        let (mixture, student) = try mixture()
        let folder = try TrainingFixtures.temporaryFolder("mixture-resume")
        defer { try? FileManager.default.removeItem(at: folder) }
        var config = TrainerConfig(steps: 6, batchSize: 5, packLength: 192, checkpointDirectory: folder.path, checkpointEvery: 3, seed: 2)
        let first = try Trainer(student: student, mixture: mixture, validation: [], evaluation: EvaluationSettings(kind: .equation), config: config)
        let whole = try first.train()
        XCTAssertEqual(whole.steps, 6)
        XCTAssertTrue(whole.losses.allSatisfy { $0.streamLosses.count >= 1 && $0.loss.isFinite })
        let state = try TrainerCheckpoint.readState(from: folder.appendingPathComponent("last"))
        XCTAssertEqual(state.mixture, first.manifest)
        XCTAssertEqual(state.mixture.streams.map(\.name), ["short", "long"])

        // Another mixture (one weight changed) is refused, with both named.
        var heavier = mixture.streams
        heavier[0].weight = 2
        let other = try Mixture(heavier)
        config.checkpointDirectory = nil
        let refusing = try Trainer(student: student, mixture: other, validation: [], evaluation: EvaluationSettings(kind: .equation), config: config)
        XCTAssertThrowsError(try refusing.resume(from: folder)) {
            XCTAssertTrue("\($0)".contains("another mixture") && "\($0)".contains(first.manifest.shortHash), "\($0)")
        }
    }

    func testLogLikelihoodsAreSummedTokenLogProbabilitiesAndRankPicksTheBest() throws {
        let (mixture, student) = try mixture()
        let source = mixture.streams[0].pairs[0].source
        let options = ["(numa + numb)", "(numa - numb)", "numa"]
        let scores = try student.logLikelihoods(options.map { (source: source, target: $0) }, batchSize: 2)
        // By hand: teacher-forced logits, log-softmax, the target tokens' log-probabilities summed.
        for (option, score) in zip(options, scores) {
            let pair = try student.encode(TrainingPair(exampleID: ExampleID(split: "x", index: 0), source: source, target: option),
                                          maxSourceTokens: 512, maxTargetTokens: 64)
            let model = student.model
            let ids = Tensor(indices: pair.source.map(Int32.init), shape: [1, pair.source.count])
            let labels = Tensor(indices: pair.target.map(Int32.init), shape: [1, pair.target.count])
            let logits = try Tensor.withoutGrad { try model(inputIds: ids, decoderInputIds: try model.shiftRight(labels)) }.scalars
            let v = model.config.vocabSize
            var expected = 0.0
            for (t, token) in pair.target.enumerated() {
                let row = logits[(t * v)..<((t + 1) * v)].map(Double.init)
                let top = row.max() ?? 0
                expected += row[token] - (top + log(row.reduce(0) { $0 + exp($1 - top) }))
            }
            XCTAssertEqual(score, expected, accuracy: 1e-4 * max(1, abs(expected)), option)
            XCTAssertLessThan(score, 0)
        }
        // Rank classification predicts the option with the highest score.
        let example = Example(id: ExampleID(split: "test", index: 0), input: String(source.dropFirst(3)), label: options[0], choices: options)
        let settings = EvaluationSettings(kind: .text, batchSize: 4, rankClassification: true,
                                          template: mixture.streams[0].template)
        let evaluation = try StudentEvaluator.evaluate(student, on: [example], settings: settings)
        let best = options[scores.indices.max { scores[$0] < scores[$1] }!]
        XCTAssertEqual(evaluation.rows.first?.predicted, best)
        XCTAssertThrowsError(try StudentEvaluator.evaluate(student, on: [Example(id: example.id, input: "x", label: "y")], settings: settings)) {
            XCTAssertTrue("\($0)".contains("rank classification needs options"), "\($0)")
        }
        // Several streams: a row per stream, and per template.
        let streams = StudentEvaluator.self
        let result = try streams.evaluate(student, streams: [
            EvaluationStream(name: "a", examples: [example], settings: settings),
            EvaluationStream(name: "b", examples: [example, example], settings: settings),
        ])
        XCTAssertEqual(result.rows.map(\.stream), ["a", "b"])
        XCTAssertEqual(result.rows.map(\.method), ["rank", "rank"])
        XCTAssertEqual(result.byTemplate.map(\.template), ["short"])
        XCTAssertEqual(result.byTemplate.first?.count, 3)
    }
}

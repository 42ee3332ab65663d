// End-to-end learning: an MLP and a one-block transformer reach a stated loss on small
// synthetic tasks, with the engine's autograd and optimizers.

import XCTest
import NN
import Tensor

final class MLP: Module {
    let fc1: Linear, fc2: Linear, fc3: Linear
    init(rng: inout RNG) {
        fc1 = Linear(2, 32, rng: &rng); fc2 = Linear(32, 32, rng: &rng); fc3 = Linear(32, 2, rng: &rng)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { fc3(fc2(fc1(x).relu()).relu()) }
}

final class TinyTransformer: Module {
    let tokens: Embedding, positions: Embedding
    let block: ReferenceBlock
    let norm: LayerNorm
    let head: Linear
    init(vocab: Int, seq: Int, d: Int, rng: inout RNG) {
        tokens = Embedding(vocab, d, std: 0.5, rng: &rng)
        positions = Embedding(seq, d, std: 0.5, rng: &rng)
        block = ReferenceBlock(dModel: d, heads: 4, rng: &rng)
        norm = LayerNorm(d)
        head = Linear(d, vocab, rng: &rng)
    }
    func callAsFunction(_ ids: Tensor) -> Tensor {
        let t = ids.shape[1]
        let pos = Tensor(indices: (0..<Int32(t)).map { $0 }, shape: [t])
        return head(norm(block(tokens(ids) + positions(pos))))
    }
}

final class LearningTests: XCTestCase {
    /// XOR of the signs of two coordinates: not linearly separable.
    func testMLPLearnsXORQuadrants() {
        var rng = RNG(seed: 1)
        let model = MLP(rng: &rng)
        let opt = AdamW(model.trainableParameters(), learningRate: 1e-2, weightDecay: 0)
        var loss: Float = 10
        for _ in 0..<300 {
            let x = rng.uniform([64, 2], low: -1, high: 1)
            let p = x.scalars
            let y = Tensor(indices: (0..<64).map { (p[2 * $0] * p[2 * $0 + 1] > 0) ? 1 : 0 }, shape: [64])
            let l = model(x).crossEntropy(targets: y)
            l.backward()
            opt.step()
            opt.zeroGrad()
            loss = l.item()
        }
        XCTAssertLessThan(loss, 0.15, "MLP should separate the quadrants")
    }

    /// Predict the previous token: needs causal attention to the position before.
    func testTransformerBlockLearnsPreviousToken() {
        var rng = RNG(seed: 2)
        let (vocab, seq, batch) = (8, 8, 16)
        let model = TinyTransformer(vocab: vocab, seq: seq, d: 32, rng: &rng)
        let opt = AdamW(model.trainableParameters(), learningRate: 1e-2, weightDecay: 0)
        let schedule = LRSchedule.cosine(warmup: 20, total: 300, minRatio: 0.1)
        var loss: Float = 10
        for step in 0..<300 {
            var ids: [Int32] = [], targets: [Int32] = []
            for _ in 0..<batch {
                let row = (0..<seq).map { _ in Int32(rng.next() % UInt64(vocab)) }
                ids += row
                targets += [-100] + row.dropLast()
            }
            let logits = model(Tensor(indices: ids, shape: [batch, seq]))
            let l = logits.crossEntropy(targets: Tensor(indices: targets, shape: [batch, seq]))
            l.backward()
            clipGradNorm(model.parameters(), maxNorm: 1)
            opt.learningRate = schedule.learningRate(base: 1e-2, step: step)
            opt.step()
            opt.zeroGrad()
            loss = l.item()
        }
        XCTAssertLessThan(loss, 0.05, "one block should learn to copy the previous token")
    }
}

// Finite-difference checks for every op and fused kernel, on odd shapes and broadcasts.

import Foundation
import XCTest
import Tensor

final class GradientTests: XCTestCase {
    let r = GradCheck.randn

    func testBinaryOpsWithBroadcast() {
        GradCheck.check([r([3, 5, 7], 1, 1), r([5, 1], 2, 1)]) { $0[0] + $0[1] }
        GradCheck.check([r([3, 5, 7], 3, 1), r([7], 4, 1)]) { $0[0] - $0[1] }
        GradCheck.check([r([3, 1, 7], 5, 1), r([5, 7], 6, 1)]) { $0[0] * $0[1] }
        GradCheck.check([r([3, 5, 7], 7, 1), GradCheck.rand([1, 5, 1], seed: 8, low: 0.5, high: 2)]) { $0[0] / $0[1] }
        GradCheck.check([GradCheck.rand([3, 5], seed: 9, low: 0.5, high: 2), GradCheck.rand([5], seed: 10, low: -1, high: 2)]) {
            $0[0].pow($0[1])
        }
    }

    func testUnaryOps() {
        let x = r([3, 5, 7], 11, 1)
        GradCheck.check([x]) { -$0[0] }
        GradCheck.check([x]) { $0[0].exp() }
        GradCheck.check([x]) { $0[0].tanh() }
        GradCheck.check([x]) { $0[0].gelu(.exact) }
        GradCheck.check([x]) { $0[0].gelu(.tanh) }
        GradCheck.check([x]) { $0[0].silu() }
        GradCheck.check([x]) { $0[0].pow(2) }
        let pos = GradCheck.rand([3, 5, 7], seed: 12, low: 0.5, high: 3)
        GradCheck.check([pos]) { $0[0].log() }
        GradCheck.check([pos]) { $0[0].sqrt() }
        GradCheck.check([pos]) { $0[0].rsqrt() }
        // relu away from the kink.
        let away = Tensor(r([3, 5, 7], 13, 1).scalars.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }, shape: [3, 5, 7])
        GradCheck.check([away]) { $0[0].relu() }
    }

    func testReductions() {
        let x = r([3, 5, 7], 14, 1)
        GradCheck.check([x]) { $0[0].sum(axes: [0, 2]) }
        GradCheck.check([x]) { $0[0].sum(axis: 1, keepDims: true) }
        GradCheck.check([x]) { $0[0].sum() }
        GradCheck.check([x]) { $0[0].mean(axes: [1, 2]) }
        GradCheck.check([x]) { $0[0].mean(axis: 0) }
        GradCheck.check([x]) { $0[0].max(axis: 2) }
        GradCheck.check([x]) { $0[0].max(axes: [0, 1]) }
    }

    func testViews() {
        let x = r([3, 5, 7], 15, 1)
        GradCheck.check([x]) { $0[0].reshaped([5, 21]) * 1 }
        GradCheck.check([x]) { $0[0].permuted([2, 0, 1]).contiguous() * 1 }
        GradCheck.check([x]) { $0[0].transposed(0, 2).reshaped([-1]) * 1 }
        GradCheck.check([x]) { $0[0].slice(axis: 1, 1..<4) * 2 }
        GradCheck.check([r([5, 1], 16, 1)]) { $0[0].expanded(to: [3, 5, 7]) * 1 }
        GradCheck.check([x]) { $0[0].unsqueezed(1).squeezed(1) * 1 }
    }

    func testMatmul() {
        GradCheck.check([r([5, 7], 17, 1), r([7, 3], 18, 1)]) { $0[0].matmul($0[1]) }
        GradCheck.check([r([3, 5, 7], 19, 1), r([7, 4], 20, 1)]) { $0[0].matmul($0[1]) }
        GradCheck.check([r([3, 5, 7], 21, 1), r([3, 7, 4], 22, 1)]) { $0[0].matmul($0[1]) }
        GradCheck.check([r([2, 1, 5, 7], 23, 1), r([3, 7, 4], 24, 1)]) { $0[0].matmul($0[1]) }
        GradCheck.check([r([3, 5, 7], 25, 1), r([4, 7], 26, 1)]) { $0[0].matmul($0[1].transposed()) }
        GradCheck.check([r([3, 7, 5], 27, 1), r([3, 4, 7], 28, 1)]) { $0[0].transposed().matmul($0[1].transposed()) }
    }

    func testLinear() {
        GradCheck.check([r([3, 5, 7], 50, 1), r([4, 7], 51, 1), r([4], 52, 1)]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        GradCheck.check([r([5, 7], 53, 1), r([4, 7], 54, 1)]) { $0[0].linear(weight: $0[1]) }
    }

    func testIndexingOps() {
        let table = r([6, 5], 29, 1)
        let ids = Tensor(indices: [0, 3, 3, 5, 1, 0, 2], shape: [7])
        GradCheck.check([table]) { $0[0].embedding(ids) }
        GradCheck.check([table]) { $0[0].embedding(Tensor(indices: [1, 4, 4, 0, 5, 2], shape: [2, 3])) }
        GradCheck.check([r([3, 2, 7], 30, 1), r([3, 4, 7], 31, 1)]) { Tensor.concat($0, axis: 1) }
        GradCheck.check([r([3, 5], 32, 1), r([3, 5], 33, 1)]) { Tensor.stack($0, axis: 1) }
        let cond = Tensor((0..<35).map { Float($0 % 3 == 0 ? 1 : 0) }, shape: [5, 7])
        GradCheck.check([r([3, 5, 7], 34, 1), r([7], 35, 1)]) { Tensor.select(cond, $0[0], $0[1]) }
        GradCheck.check([r([3, 5, 7], 36, 1)]) { $0[0].maskedFill(cond, -3) }
    }

    func testSoftmaxFamily() {
        let x = r([3, 5, 7], 37, 1)
        GradCheck.check([x]) { $0[0].softmax(axis: -1) }
        GradCheck.check([x]) { $0[0].softmax(axis: 1) }
        GradCheck.check([x]) { $0[0].logSoftmax(axis: -1) }
        GradCheck.check([x]) { $0[0].logSoftmax(axis: 0) }
    }

    func testCrossEntropy() {
        let logits = r([3, 5, 7], 38, 1)
        let targets = Tensor(indices: [0, 6, -100, 3, 2, 1, 5, -100, 4, 4, 0, 1, 2, 3, 6], shape: [3, 5])
        GradCheck.check([logits]) { $0[0].crossEntropy(targets: targets) }
        GradCheck.check([logits]) { $0[0].crossEntropy(targets: targets, labelSmoothing: 0.1) }
    }

    func testNorms() {
        let x = r([3, 5, 7], 39, 1), w = r([7], 40, 1), b = r([7], 41, 1)
        GradCheck.check([x, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        GradCheck.check([x, w]) { $0[0].layerNorm(weight: $0[1], bias: nil) }
        GradCheck.check([x, w]) { $0[0].rmsNorm(weight: $0[1]) }
    }

    func testAttention() {
        let q = r([2, 4, 5, 3], 42, 1), k = r([2, 4, 6, 3], 43, 1), v = r([2, 4, 6, 3], 44, 1)
        GradCheck.check([q, k, v]) { Tensor.attention(query: $0[0], key: $0[1], value: $0[2]) }
        GradCheck.check([q, k, v]) { Tensor.attention(query: $0[0], key: $0[1], value: $0[2], causal: true) }
        let bias = r([1, 4, 5, 6], 45, 1)
        GradCheck.check([q, k, v, bias]) {
            Tensor.attention(query: $0[0], key: $0[1], value: $0[2], bias: $0[3], causal: true, scale: 1)
        }
        let pad = Tensor([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0], shape: [2, 1, 1, 6])
        GradCheck.check([q, k, v]) { Tensor.attention(query: $0[0], key: $0[1], value: $0[2], mask: pad) }
        // Grouped-query heads: 4 query heads over 2 key/value heads.
        let kg = r([2, 2, 6, 3], 46, 1), vg = r([2, 2, 6, 3], 47, 1)
        GradCheck.check([q, kg, vg]) { Tensor.attention(query: $0[0], key: $0[1], value: $0[2], causal: true) }
        // Strided inputs: heads split from a (B, T, H*D) projection.
        let qkv = r([2, 5, 12], 48, 1)
        GradCheck.check([qkv]) {
            let h = $0[0].reshaped([2, 5, 4, 3]).transposed(1, 2)
            return Tensor.attention(query: h, key: h, value: h, causal: true).transposed(1, 2).reshaped([2, 5, 12])
        }
    }

    func testCastRoundTripsGradient() {
        GradCheck.check([r([3, 5], 49, 1)], eps: 0.05, atol: 0.02, rtol: 0.05) { $0[0].cast(to: .float16).cast(to: .float32) * 1 }
    }

    func testGradientAccumulatesAndNoGrad() {
        let x = Tensor([1, 2, 3], shape: [3], requiresGrad: true)
        (x * x).sum().backward()
        (x * 2).sum().backward()
        assertClose(x.grad?.scalars ?? [], [4, 6, 8])
        let y = Tensor.withoutGrad { x * x }
        XCTAssertFalse(y.requiresGrad)
        // A tensor used twice gets both contributions.
        let z = Tensor([1, 2], shape: [2], requiresGrad: true)
        (z * z + z).sum().backward()
        assertClose(z.grad?.scalars ?? [], [3, 5])
    }

    func testNoGradOnOneThreadLeavesAnotherRecording() {
        // A cell evaluating under withoutGrad on its thread must not stop training elsewhere.
        let inside = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            Tensor.withoutGrad {
                inside.signal()
                release.wait()
            }
            done.signal()
        }
        inside.wait()
        let x = Tensor([1, 2], shape: [2], requiresGrad: true)
        let y = x * x
        XCTAssertTrue(y.requiresGrad)
        y.sum().backward()
        assertClose(x.grad?.scalars ?? [], [2, 4])
        release.signal()
        done.wait()
        XCTAssertTrue(GradMode.isEnabled)
    }
}

// SIMD kernels against their scalar references, forward values of ops, views, matmul against a
// naive product, and identical bits at 1 and 2 threads.

import XCTest
import Tensor

final class KernelTests: XCTestCase {
    func testSIMDMathMatchesScalarReference() {
        var rng = RNG(seed: 1)
        let x = rng.uniform([1000], low: -12, high: 12)
        let positive = rng.uniform([1000], low: 0.01, high: 50)
        for name in ["neg", "exp", "tanh", "relu", "gelu", "gelu_tanh", "silu"] {
            let fast: Tensor
            switch name {
            case "neg": fast = -x
            case "exp": fast = x.exp()
            case "tanh": fast = x.tanh()
            case "relu": fast = x.relu()
            case "gelu": fast = x.gelu(.exact)
            case "gelu_tanh": fast = x.gelu(.tanh)
            default: fast = x.silu()
            }
            assertClose(fast.scalars, x.referenceUnary(name).scalars, atol: 2e-6, rtol: 2e-6, name)
        }
        for name in ["log", "sqrt", "rsqrt"] {
            let fast = name == "log" ? positive.log() : name == "sqrt" ? positive.sqrt() : positive.rsqrt()
            assertClose(fast.scalars, positive.referenceUnary(name).scalars, atol: 1e-6, rtol: 1e-6, name)
        }
        // exp at the edges: underflow to 0, large values finite.
        let edges = Tensor([-100, -87, 0, 80, 88], shape: [5]).exp().scalars
        XCTAssertLessThan(edges[0], 1e-37)
        XCTAssertEqual(Tensor([Float](repeating: -100, count: 16), shape: [16]).exp().scalars[0], 0)
        XCTAssertEqual(edges[2], 1)
        XCTAssertTrue(edges[4].isFinite && edges[4] > 1e38)
    }

    func testRowKernelsMatchScalarReference() {
        var rng = RNG(seed: 2)
        for n in [1, 7, 16, 33, 100] {
            let x = rng.normal([5, n], std: 3)
            assertClose(x.softmax(axis: -1).scalars, x.referenceSoftmax(log: false).scalars, atol: 1e-6, rtol: 1e-5, "softmax \(n)")
            assertClose(x.logSoftmax(axis: -1).scalars, x.referenceSoftmax(log: true).scalars, atol: 1e-5, rtol: 1e-5, "log \(n)")
            assertClose(x.sum(axis: -1).scalars, x.referenceRowReduce(max: false).scalars, atol: 1e-4, rtol: 1e-5, "sum \(n)")
            XCTAssertEqual(x.max(axis: -1).scalars, x.referenceRowReduce(max: true).scalars, "max \(n)")
        }
    }

    func testCrossEntropyOverWideVocabularyMatchesLogSoftmax() {
        var rng = RNG(seed: 8)
        let logits = rng.normal([4, 100], std: 3)
        logits.requiresGrad = true
        let targets: [Int32] = [3, 99, -100, 50]
        let loss = logits.crossEntropy(targets: Tensor(indices: targets, shape: [4]), labelSmoothing: 0.2)
        let logp = logits.detached().logSoftmax(axis: -1).scalars
        var expected: Float = 0
        for (r, t) in targets.enumerated() where t >= 0 {
            let row = logp[(r * 100)..<(r * 100 + 100)]
            expected += -0.8 * row[r * 100 + Int(t)] - 0.2 * row.reduce(0, +) / 100
        }
        XCTAssertEqual(loss.item(), expected / 3, accuracy: 1e-4)
        loss.backward()
        let grad = logits.grad?.scalars ?? []
        XCTAssertEqual(grad[200..<300].reduce(0) { $0 + abs($1) }, 0)       // ignored row
        XCTAssertEqual(grad[0..<100].reduce(0, +), 0, accuracy: 1e-5)        // rows of a softmax gradient sum to 0
    }

    func testBroadcastArithmeticValues() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10, 20, 30], shape: [3])
        XCTAssertEqual((a + b).scalars, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual((a * Tensor([2, 3], shape: [2, 1])).scalars, [2, 4, 6, 12, 15, 18])
        XCTAssertEqual((1 - a).scalars, [0, -1, -2, -3, -4, -5])
        XCTAssertEqual(a.transposed().scalars, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual((a.transposed() + Tensor([1, 1], shape: [2])).scalars, [2, 5, 3, 6, 4, 7])
    }

    func testReductionsAndArgmax() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        XCTAssertEqual(x.sum().item(), 276)
        XCTAssertEqual(x.sum(axes: [0, 2]).scalars, [60, 92, 124])
        XCTAssertEqual(x.mean(axis: 2).shape, [2, 3])
        XCTAssertEqual(x.max(axis: 1).scalars, [8, 9, 10, 11, 20, 21, 22, 23])
        XCTAssertEqual(Tensor([3, 9, 2, 9, 1, 0], shape: [2, 3]).argmax(axis: 1).indexScalars, [1, 0])
        XCTAssertEqual(Tensor([3, 9, 2, 9, 1, 0], shape: [2, 3]).argmax(axis: 0).indexScalars, [1, 0, 0])
        // A long row is summed in fixed blocks.
        XCTAssertEqual(Tensor.ones([200_000]).sum().item(), 200_000)
    }

    func testViewsShareStorageAndSliceCorrectly() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])
        XCTAssertEqual(x.slice(axis: 2, 1..<3).scalars, [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        XCTAssertEqual(x.permuted([2, 0, 1]).shape, [4, 2, 3])
        XCTAssertFalse(x.permuted([2, 0, 1]).isContiguous)
        XCTAssertEqual(x.permuted([2, 0, 1]).contiguous().scalars[0..<6], [0, 4, 8, 12, 16, 20])
        XCTAssertEqual(Tensor([1, 2], shape: [2, 1]).expanded(to: [2, 3]).scalars, [1, 1, 1, 2, 2, 2])
        XCTAssertEqual(Tensor.concat([Tensor([1, 2], shape: [1, 2]), Tensor([3, 4, 5, 6], shape: [2, 2])], axis: 0).scalars,
                       [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(Tensor([1, 2, 3], shape: [3]).maskedFill(Tensor([0, 1, 0], shape: [3]), -1).scalars, [1, -1, 3])
    }

    func testMatmulMatchesNaiveProduct() {
        var rng = RNG(seed: 3)
        let a = rng.normal([3, 17, 33]), b = rng.normal([3, 33, 9])
        let c = a.matmul(b).scalars
        let av = a.scalars, bv = b.scalars
        var naive = [Float](repeating: 0, count: 3 * 17 * 9)
        for n in 0..<3 { for i in 0..<17 { for j in 0..<9 {
            var s: Float = 0
            for k in 0..<33 { s += av[n * 17 * 33 + i * 33 + k] * bv[n * 33 * 9 + k * 9 + j] }
            naive[n * 153 + i * 9 + j] = s
        } } }
        assertClose(c, naive, atol: 1e-4, rtol: 1e-4)
        // Transposed operands go to BLAS without a copy and agree.
        let bt = b.transposed().contiguous()
        assertClose(a.matmul(bt.transposed()).scalars, naive, atol: 1e-4, rtol: 1e-4)
    }

    func testHalfPrecisionStorage() {
        let x = Tensor([1, -2.5, 3.140625, 65504, 1e-3], shape: [5])
        XCTAssertEqual(x.cast(to: .bfloat16).dtype, .bfloat16)
        assertClose(x.cast(to: .bfloat16).scalars, [1, -2.5, 3.140625, 65536, 1e-3], atol: 0, rtol: 4e-3)
        assertClose(x.cast(to: .float16).scalars, x.scalars, atol: 0, rtol: 1e-3)
        // Half-precision weights feed matmul directly.
        let w = Tensor([1, 2, 3, 4], shape: [2, 2]).cast(to: .bfloat16)
        XCTAssertEqual(Tensor([1, 1], shape: [1, 2]).matmul(w).scalars, [4, 6])
        XCTAssertEqual(Tensor(indices: [7, -1], shape: [2]).indexScalars, [7, -1])
        XCTAssertEqual(Tensor(indices: [16_777_217], shape: [1]).cast(to: .int64).cast(to: .int32).indexScalars, [16_777_217])
        // assign converts into a half-precision parameter.
        let half = Tensor.zeros([2], dtype: .bfloat16)
        half.assign(Tensor([1.5, -2], shape: [2]))
        XCTAssertEqual(half.scalars, [1.5, -2])
    }

    func testSameBitsAtOneAndTwoThreads() {
        let saved = Parallel.threads
        defer { Parallel.threads = saved }
        func run() -> [Float] {
            var rng = RNG(seed: 5)
            let x = rng.normal([64, 257], std: 2), w = rng.normal([257]), b = rng.normal([257])
            let q = rng.normal([2, 4, 33, 16]), k = rng.normal([2, 4, 33, 16])
            [x, w, b, q, k].forEach { $0.requiresGrad = true }
            let y = x.layerNorm(weight: w, bias: b).gelu().softmax(axis: -1).sum(axes: [0]) * 3
            let a = Tensor.attention(query: q, key: k, value: k, causal: true).sum()
            (y.sum() + a + x.sum() * x.sum()).backward()
            return y.scalars + a.scalars + (x.grad?.scalars ?? []) + (w.grad?.scalars ?? []) + (q.grad?.scalars ?? [])
        }
        Parallel.threads = 1
        let one = run()
        Parallel.threads = 2
        let two = run()
        XCTAssertEqual(one, two)
    }

    func testRNGDeterminismAndDistributions() {
        var a = RNG(seed: 42), b = RNG(seed: 42), c = RNG(seed: 43)
        XCTAssertEqual(a.normal([100]).scalars, b.normal([100]).scalars)
        XCTAssertNotEqual(a.next(), c.next())
        var r = RNG(seed: 7)
        let n = r.normal([20000], mean: 1, std: 2).scalars
        let mean = n.reduce(0, +) / Float(n.count)
        let variance = n.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(n.count)
        XCTAssertEqual(mean, 1, accuracy: 0.05)
        XCTAssertEqual(variance.squareRoot(), 2, accuracy: 0.05)
        let u = r.uniform([20000], low: -1, high: 3).scalars
        XCTAssertTrue(u.allSatisfy { $0 >= -1 && $0 < 3 })
        XCTAssertEqual(r.bernoulli([20000], p: 0.3).scalars.reduce(0, +) / 20000, 0.3, accuracy: 0.02)
        let perm = r.permutation(50)
        XCTAssertEqual(perm.sorted(), Array(0..<50))
        var s1 = RNG(seed: 9), s2 = RNG(seed: 9)
        XCTAssertEqual(Array(0..<20).shuffled(using: &s1), Array(0..<20).shuffled(using: &s2))
    }

    // The pool tests use a pool of their own: `BufferPool.shared` is moved by every tensor any
    // other test (or a thread it left running) makes, so its counters say nothing about one test.
    func testBufferPoolReusesBuffers() {
        let pool = BufferPool()
        let first = pool.take(bytes: 12345 * 4)
        pool.give(first, bytes: 12345 * 4)
        let second = pool.take(bytes: 12345 * 4)
        XCTAssertEqual(second, first)
        XCTAssertEqual(pool.allocations, 1)
        XCTAssertEqual(pool.reuses, 1)
        XCTAssertEqual(pool.idle, 0)
        pool.give(second, bytes: 12345 * 4)
        pool.drain()
        XCTAssertEqual(pool.idle, 0)
    }

    func testBufferPoolServesVaryingShapesFromOneSizeClass() {
        // Padded batches change length every step; their buffers must be reused, not piled up.
        // 49,153-65,536 bytes share one size class (64 KiB), so after the first buffer every
        // other length in that range is served from the pool.
        let pool = BufferPool()
        pool.give(pool.take(bytes: 16384 * 4), bytes: 16384 * 4)
        XCTAssertEqual(pool.allocations, 1)
        XCTAssertEqual(pool.idle, 65536)
        var served = 0
        for length in stride(from: 12289, through: 16384, by: 97) {
            let p = pool.take(bytes: length * 4)
            pool.give(p, bytes: length * 4)
            served += 1
        }
        XCTAssertEqual(pool.allocations, 1)
        XCTAssertEqual(pool.reuses, served)
        XCTAssertEqual(pool.idle, 65536)
        pool.drain()
    }

    func testBufferPoolKeepsNoMoreThanItsCapacityIdle() {
        let pool = BufferPool(capacityBytes: 65536)
        let a = pool.take(bytes: 65536), b = pool.take(bytes: 65536)
        pool.give(a, bytes: 65536)
        pool.give(b, bytes: 65536)
        XCTAssertEqual(pool.idle, 65536)
        XCTAssertEqual(pool.allocations, 2)
        pool.drain()
        XCTAssertEqual(pool.idle, 0)
    }

    func testEngineRunsOnFastBLASKernels() {
        // Whether or not OPENBLAS_CORETYPE was set, the first product switches a misdetected
        // OpenBLAS to its AVX-512 kernels in process.
        _ = Tensor.ones([4, 4]).matmul(Tensor.ones([4, 4]))
        if BLASRuntime.cpuHasAVX512 {
            XCTAssertFalse(BLASRuntime.isMisdetected, BLASRuntime.coreName)
        }
    }
}

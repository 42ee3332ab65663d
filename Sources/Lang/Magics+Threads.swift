// `%threads`: how many threads the engine uses for its own kernels, the quantised products of a
// GGUF model and OpenBLAS. The same seed and the same thread count give the same numbers.
import Foundation
import Tensor

/// The most threads `%threads` accepts.
let maximumThreads = 64

/// The `%threads` magic: `%threads 2` sets the count, `%threads` alone shows it.
let threadsMagic: (documentation: String, handler: MagicHandler) = (
    "%threads n: sets the threads for training, generation and BLAS (1 to \(maximumThreads)); `%threads` alone shows the count.",
    { argument, context in
        if !argument.isEmpty {
            guard let count = Int(argument), (1...maximumThreads).contains(count) else {
                throw CellError(.magic, "`%threads` needs a whole number from 1 to \(maximumThreads), as in `%threads 2`; got `\(argument)`")
            }
            // Parallel.threads also sets OpenBLAS's count, and the quantised products read it.
            Parallel.threads = count
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        context.emit(.stream(.stdout, "threads = \(Parallel.threads) (this machine has \(cores) core\(cores == 1 ? "" : "s"))\n"))
    }
)

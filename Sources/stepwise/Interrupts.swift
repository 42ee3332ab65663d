// Ctrl-C for the long-running commands (explain, train, sweep): the first SIGINT sets a cancellation flag
// that the work checks at its next step and says what happens next; a second one quits at once.
import Distill
import Foundation
import Tensor

enum Interrupts {
    /// Routes SIGINT into a fresh flag for the rest of the process.
    /// - Parameters:
    ///   - message: Printed on standard error at the first Ctrl-C.
    /// - Returns: The flag, and the signal source that must stay alive while the work runs.
    static func cancellationFlag(message: String) -> (CancellationFlag, DispatchSourceSignal) {
        let flag = CancellationFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if flag.isCancelled { Foundation.exit(130) }
            flag.cancel()
            FileHandle.standardError.write(Data((message + "\n").utf8))
        }
        source.resume()
        return (flag, source)
    }
}

// Runs a cell on a worker thread with a large stack, so deep (but bounded) recursion in user code
// cannot overflow the kernel's thread, while outputs and input requests are still handled on the
// thread that called `execute`, in order, as they happen.

import Foundation

/// A one-way queue of events from the worker thread to the calling thread.
final class ExecutionChannel {
    enum Event {
        case output(Output)
        case input(prompt: String, password: Bool, reply: InputReply)
        case finished
    }

    private let condition = NSCondition()
    private var events: [Event] = []

    func post(_ event: Event) {
        condition.lock()
        events.append(event)
        condition.signal()
        condition.unlock()
    }

    /// Waits for the next event.
    func next() -> Event {
        condition.lock()
        defer { condition.unlock() }
        while events.isEmpty { condition.wait() }
        return events.removeFirst()
    }
}

/// The answer to one `input(...)` request, filled in by the calling thread.
final class InputReply {
    private let semaphore = DispatchSemaphore(value: 0)
    private var answer: String?

    func fulfil(_ answer: String?) {
        self.answer = answer
        semaphore.signal()
    }

    func wait() -> String? {
        semaphore.wait()
        return answer
    }
}

/// Runs `work` on a fresh thread with `stackSize` bytes of stack, relaying its outputs and input
/// requests to `emit` and `input` on the calling thread; returns when `work` has finished.
func runOnWorkerThread<Result>(stackSize: Int, emit: (Output) -> Void, input: InputProvider?,
                               _ work: @escaping (_ post: @escaping (Output) -> Void, _ read: @escaping (String, Bool) -> String?) -> Result) -> Result {
    let channel = ExecutionChannel()
    let box = ResultBox<Result>()
    let post: (Output) -> Void = { channel.post(.output($0)) }
    let read: (String, Bool) -> String? = { prompt, password in
        let reply = InputReply()
        channel.post(.input(prompt: prompt, password: password, reply: reply))
        return reply.wait()
    }
    let thread = Thread {
        box.result = work(post, read)
        channel.post(.finished)
    }
    thread.stackSize = stackSize
    thread.start()
    while true {
        switch channel.next() {
        case .output(let output): emit(output)
        case .input(let prompt, let password, let reply): reply.fulfil(input?(prompt, password))
        case .finished:
            guard let result = box.result else { fatalError("worker finished without a result") }
            return result
        }
    }
}

/// Carries the worker's result back; the channel's lock orders the write before the read.
private final class ResultBox<Result>: @unchecked Sendable {
    var result: Result?
}

// The kernel's protocol logic, free of sockets (as in xeus): what it needs from an interpreter and
// from a transport, the dispatch tables keyed by msg_type, and the busy/idle and reply plumbing.

import Foundation
import Lang

/// What the kernel needs from a language. `Lang.Interpreter` conforms; tests use a mock.
public protocol KernelInterpreter: AnyObject {
    /// Where `input("prompt")` gets its line; the kernel sets it for each cell.
    var input: InputProvider? { get set }
    /// Runs a cell on the calling thread, calling `emit` for each output as it happens.
    @discardableResult func execute(_ code: String, emit: (Output) -> Void) -> ExecutionStatus
    /// Evaluates one expression for `user_expressions`.
    func evaluateExpression(_ code: String) -> Result<MimeBundle, CellError>
    /// Completion candidates at `cursor` (a Unicode scalar offset).
    func complete(_ code: String, cursor: Int) -> Completion
    /// Documentation for the name at `cursor`, or nil.
    func inspect(_ code: String, cursor: Int) -> MimeBundle?
    /// Whether `code` is ready to run.
    func isComplete(_ code: String) -> Completeness
    /// Stops the running cell at its next check; called from another thread.
    func interrupt()
}

extension Interpreter: KernelInterpreter {}

/// The kernel's sockets, by role.
public enum Channel: String, Sendable { case shell, control, stdin, iopub }

/// How the kernel sends and receives frames. The ZeroMQ server is one; tests use a mock.
public protocol KernelTransport: AnyObject {
    /// Sends signed frames on `channel`; must be safe to call from the shell and control threads.
    func send(_ frames: [Data], on channel: Channel)
    /// Waits up to `timeout` seconds for a message on stdin; nil when none came.
    func receiveStdin(timeout: Double) -> [Data]?
    /// The shell requests already waiting, taken without blocking (for `stop_on_error`).
    func takeQueuedShellRequests() -> [[Data]]
}

/// What the channel loop should do after a message.
public enum KernelAction: Equatable, Sendable {
    case proceed
    case shutdown(restart: Bool)
}

/// The Jupyter protocol over one interpreter: dispatch, replies, IOPub publishing, history.
/// Shell messages must come from one thread and control messages from one other thread.
public final class Kernel {
    typealias Handler = (Kernel) -> (Message, Channel) -> KernelAction

    /// Handlers for the shell socket, keyed by `msg_type`.
    static let shellHandlers: [String: Handler] = [
        "kernel_info_request": Kernel.kernelInfo,
        "execute_request": Kernel.execute,
        "complete_request": Kernel.complete,
        "inspect_request": Kernel.inspect,
        "is_complete_request": Kernel.isComplete,
        "history_request": Kernel.history,
        "comm_info_request": Kernel.commInfo,
        "comm_open": Kernel.commOpen,
        "comm_msg": Kernel.ignore,
        "comm_close": Kernel.ignore,
    ]
    /// Handlers for the control socket, which runs on its own thread while a cell runs.
    static let controlHandlers: [String: Handler] = [
        "kernel_info_request": Kernel.kernelInfo,
        "interrupt_request": Kernel.interruptRequest,
        "shutdown_request": Kernel.shutdown,
    ]

    /// This kernel's session id, in the header of every message it sends.
    public let session = UUID().uuidString.lowercased()
    /// Inputs stored so far.
    public let history = History()
    /// The count of cells run with `store_history`, as ipykernel counts.
    public internal(set) var executionCount = 0
    /// The version reported in `kernel_info_reply`.
    public let version: String

    let interpreter: KernelInterpreter
    let transport: KernelTransport
    let signer: Signer
    /// Shell requests taken off the socket when a cell failed with `stop_on_error`.
    var queuedForAbort: [[Data]] = []
    private let interruptLock = NSLock()
    private var interruptRequested = false

    /// Creates a kernel that drives `interpreter` and talks through `transport`.
    public init(interpreter: KernelInterpreter, transport: KernelTransport, signer: Signer, version: String = "0.1.0") {
        self.interpreter = interpreter; self.transport = transport; self.signer = signer; self.version = version
    }

    /// Handles one received message. Bad signatures and unaddressable messages are dropped and
    /// logged; everything else gets busy, a reply (an error one when needed) and idle.
    @discardableResult
    public func handle(_ frames: [Data], on channel: Channel) -> KernelAction {
        let message: Message
        do {
            message = try Wire.decode(frames, signer: signer)
        } catch WireError.badBody(let request, let reason) {
            return answer(request, on: channel) { kernel in
                kernel.replyError(to: request, on: channel, name: "MalformedMessage", value: reason)
                return .proceed
            }
        } catch {
            log("dropped a message on \(channel.rawValue): \(error)")
            return .proceed
        }
        let table = channel == .control ? Kernel.controlHandlers : Kernel.shellHandlers
        let action = answer(message, on: channel) { kernel in
            guard let handler = table[message.type] else {
                kernel.replyError(to: message, on: channel, name: "UnknownMessageType",
                                  value: "\(message.type) is not handled on \(channel.rawValue)")
                return .proceed
            }
            return handler(kernel)(message, channel)
        }
        if channel == .shell && !queuedForAbort.isEmpty { abortQueuedExecutes() }
        return action
    }

    /// Stops the running cell (and any wait for input). Safe from any thread or signal source.
    public func interrupt() {
        interruptLock.lock(); interruptRequested = true; interruptLock.unlock()
        interpreter.interrupt()
    }

    /// Whether an interrupt came since the flag was last cleared; `clearing` resets it.
    func interruptPending(clearing: Bool) -> Bool {
        interruptLock.lock(); defer { interruptLock.unlock() }
        let value = interruptRequested
        if clearing { interruptRequested = false }
        return value
    }

    // MARK: Sending

    private func answer(_ request: Message, on channel: Channel, _ body: (Kernel) -> KernelAction) -> KernelAction {
        publish("status", ["execution_state": "busy"], parent: request)
        let action = body(self)
        publish("status", ["execution_state": "idle"], parent: request)
        return action
    }

    /// Sends `content` as the reply to `request` on the socket it came from.
    func reply(to request: Message, on channel: Channel, content: JSON, type: String? = nil) {
        let reply = Message(identities: request.identities,
                            header: Message.header(type: type ?? Message.replyType(for: request.type), session: session),
                            parentHeader: request.header, content: content)
        transport.send(Wire.encode(reply, signer: signer), on: channel)
    }

    /// Sends an error reply with `ename`/`evalue`.
    func replyError(to request: Message, on channel: Channel, name: String, value: String) {
        log("\(request.type): \(name): \(value)")
        reply(to: request, on: channel, content: Kernel.errorContent(name: name, value: value, traceback: ["\(name): \(value)"]))
    }

    /// Publishes a message on IOPub, routed to `parent`.
    func publish(_ type: String, _ content: JSON, parent: Message) {
        let message = Message(identities: [Data("kernel.\(session).\(type)".utf8)],
                              header: Message.header(type: type, session: session),
                              parentHeader: parent.header, content: content)
        transport.send(Wire.encode(message, signer: signer), on: .iopub)
    }

    /// An error reply's content, plus `extra` members (an execute_reply's count and payload).
    static func errorContent(name: String, value: String, traceback: [String], extra: [String: JSON] = [:]) -> JSON {
        var content = extra
        content["status"] = "error"
        content["ename"] = .string(name)
        content["evalue"] = .string(value)
        content["traceback"] = .array(traceback.map(JSON.string))
        return .object(content)
    }

    func log(_ text: String) {
        FileHandle.standardError.write(Data("stepwise kernel: \(text)\n".utf8))
    }
}

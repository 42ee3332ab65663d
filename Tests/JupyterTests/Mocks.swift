// Test doubles for the protocol tests: a scripted interpreter, a transport that records what the
// kernel sends, and a client that builds signed requests and reads the kernel's messages.

import Foundation
import Jupyter
import Lang

/// An interpreter whose cells are commands: `print X`, `eprint X`, `result X`, `html X`,
/// `display ID`, `update ID`, `clear`, `page X`, `fail`, `input PROMPT`.
final class MockInterpreter: KernelInterpreter {
    var input: InputProvider?
    private(set) var executed: [String] = []
    private(set) var interrupts = 0

    func execute(_ code: String, emit: (Output) -> Void) -> ExecutionStatus {
        executed.append(code)
        let word = code.split(separator: " ", maxSplits: 1).map(String.init)
        let argument = word.count > 1 ? word[1] : ""
        switch word.first ?? "" {
        case "print": emit(.stream(.stdout, argument + "\n"))
        case "eprint": emit(.stream(.stderr, argument + "\n"))
        case "result": emit(.result(MimeBundle(plain: argument)))
        case "html": emit(.display(MimeBundle(plain: argument, extra: ["text/html": argument]), displayID: nil))
        case "display": emit(.display(MimeBundle(plain: "0%"), displayID: argument))
        case "update": emit(.updateDisplay(MimeBundle(plain: "100%"), displayID: argument))
        case "clear": emit(.clear(wait: true))
        case "page": emit(.pager(MimeBundle(plain: argument)))
        case "input":
            let line = input?(argument, false)
            emit(.stream(.stdout, "got \(line ?? "nothing")\n"))
        case "fail":
            emit(.stream(.stdout, "before\n"))
            let error = CellError(kind: "NameError", message: "x is not defined", line: 1, column: 1)
            emit(.error(error))
            return .error(error)
        default: break
        }
        return .ok
    }

    func evaluateExpression(_ code: String) -> Result<MimeBundle, CellError> {
        code == "bad" ? .failure(CellError(kind: "SyntaxError", message: "bad")) : .success(MimeBundle(plain: "=\(code)"))
    }

    func complete(_ code: String, cursor: Int) -> Completion {
        Completion(matches: ["print", "println"].filter { $0.hasPrefix(code) }, cursorStart: 0, cursorEnd: cursor)
    }

    func inspect(_ code: String, cursor: Int) -> MimeBundle? { code == "print" ? MimeBundle(plain: "print(x)") : nil }

    func isComplete(_ code: String) -> Completeness {
        code.hasSuffix("{") ? .incomplete(indent: "    ") : code.hasPrefix("}") ? .invalid : .complete
    }

    func interrupt() { interrupts += 1 }
}

/// Records every frame list the kernel sends; serves queued shell requests and stdin replies.
final class MockTransport: KernelTransport {
    var sent: [(channel: Channel, frames: [Data])] = []
    var queuedShell: [[Data]] = []
    var stdinReplies: [[Data]] = []

    func send(_ frames: [Data], on channel: Channel) { sent.append((channel, frames)) }

    func receiveStdin(timeout: Double) -> [Data]? { stdinReplies.isEmpty ? nil : stdinReplies.removeFirst() }

    func takeQueuedShellRequests() -> [[Data]] {
        defer { queuedShell = [] }
        return queuedShell
    }
}

/// Both ends of a kernel under test.
final class Harness {
    static let key = Data("secret-key".utf8)
    let signer: Signer
    let interpreter = MockInterpreter()
    let transport = MockTransport()
    let kernel: Kernel
    let identity = Data("client-1".utf8)

    init(key: Data = Harness.key) throws {
        signer = try Signer(key: key)
        kernel = Kernel(interpreter: interpreter, transport: transport, signer: signer, version: "9.9.9")
    }

    /// Signed frames for a request.
    func request(_ type: String, _ content: JSON = [:], id: String = UUID().uuidString) -> (id: String, frames: [Data]) {
        var header = Message.header(type: type, session: "client-session")
        if case .object(var members) = header { members["msg_id"] = .string(id); header = .object(members) }
        return (id, Wire.encode(Message(identities: [identity], header: header, content: content), signer: signer))
    }

    /// Sends a request and returns its id.
    @discardableResult
    func send(_ type: String, _ content: JSON = [:], on channel: Channel = .shell) -> String {
        let (id, frames) = request(type, content)
        kernel.handle(frames, on: channel)
        return id
    }

    /// Everything the kernel sent, decoded (a message that fails to decode fails the test).
    func messages(on channel: Channel? = nil) throws -> [Message] {
        try transport.sent.filter { channel == nil || $0.channel == channel }.map { try Wire.decode($0.frames, signer: signer) }
    }

    func clear() { transport.sent = [] }
}

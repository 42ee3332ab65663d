// The channel loops over real sockets: shell on the calling thread, control and heartbeat on
// threads of their own (so interrupt and shutdown work while a cell runs), SIGINT as interrupt.
// IOPub is an XPUB socket only so that the kernel sees subscriptions arrive: a frontend's first
// kernel_info then waits for its subscriber instead of publishing busy/idle into the void
// (ZeroMQ's slow joiner), which would cost the frontend another round. No iopub_welcome is sent:
// that belongs to protocol 5.5, and this kernel claims 5.3.

import CZeroMQ
import Foundation

/// Runs a `Kernel` on the five ZeroMQ sockets a connection file names.
public final class KernelServer: KernelTransport, @unchecked Sendable {
    private let context: UnsafeMutableRawPointer
    private let shell, control, stdin, iopub, heartbeat: ZMQSocket
    private let iopubLock = NSLock()
    private let stopLock = NSLock()
    private var stopping = false
    private var signalSource: DispatchSourceSignal?
    private var subscribed = false  // guarded by iopubLock
    private var waitedForSubscriber = false  // guarded by iopubLock

    /// Creates the sockets and binds them to the connection file's endpoints.
    public init(connection: ConnectionFile) throws {
        guard let context = zmq_ctx_new() else { throw ZMQSocket.lastError("zmq_ctx_new") }
        self.context = context
        shell = try ZMQSocket(context: context, type: ZMQ_ROUTER)
        control = try ZMQSocket(context: context, type: ZMQ_ROUTER)
        stdin = try ZMQSocket(context: context, type: ZMQ_ROUTER)
        // A frontend sends IOPub nothing but subscriptions (a topic prefix, in practice empty).
        // XPUB keeps every prefix it is sent, and each publish walks them, so one 100 MB frame
        // once grew the kernel past 6 GB: a subscription may be at most 4 KiB.
        iopub = try ZMQSocket(context: context, type: ZMQ_XPUB, maxMessageBytes: 4096)
        heartbeat = try ZMQSocket(context: context, type: ZMQ_REP)
        try shell.bind(connection.endpoint(connection.shellPort))
        try control.bind(connection.endpoint(connection.controlPort))
        try stdin.bind(connection.endpoint(connection.stdinPort))
        try iopub.bind(connection.endpoint(connection.iopubPort))
        try heartbeat.bind(connection.endpoint(connection.hbPort))
    }

    /// Serves `kernel` until a `shutdown_request`. Blocks the calling thread, which runs the shell
    /// loop and therefore every cell.
    public func serve(_ kernel: Kernel) {
        Thread.detachNewThread { [self] in echoHeartbeats() }
        Thread.detachNewThread { [self] in serveControl(kernel) }
        if ProcessInfo.processInfo.environment["JPY_PARENT_PID"] != nil {
            Thread.detachNewThread { KernelServer.exitWhenOrphaned() }
        }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { kernel.interrupt() }
        source.resume()
        signalSource = source

        while !isStopping {
            guard shell.poll(milliseconds: 100), let frames = shell.receive(flags: ZMQ_DONTWAIT) else { continue }
            waitForSubscriber()
            kernel.handle(frames, on: .shell)
        }
        shell.close()
        stdin.close()
        iopubLock.lock(); iopub.close(); iopubLock.unlock()
        zmq_ctx_shutdown(context)  // wakes the heartbeat thread, which closes its socket
        zmq_ctx_term(context)      // waits for pending replies to go out (linger 1 s)
    }

    private var isStopping: Bool {
        stopLock.lock(); defer { stopLock.unlock() }
        return stopping
    }

    private func serveControl(_ kernel: Kernel) {
        while !isStopping {
            guard control.poll(milliseconds: 100), let frames = control.receive(flags: ZMQ_DONTWAIT) else { continue }
            waitForSubscriber()
            if case .shutdown = kernel.handle(frames, on: .control) {
                stopLock.lock(); stopping = true; stopLock.unlock()
                // A cell that ignores interrupts must not keep the kernel alive.
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 3)
                    FileHandle.standardError.write(Data("stepwise kernel: cell did not stop; exiting\n".utf8))
                    exit(0)
                }
            }
        }
        control.close()
    }

    /// Before the first request is handled, waits up to half a second for an IOPub subscriber, so
    /// that the status messages around it reach the frontend that sent it. Later requests never wait.
    private func waitForSubscriber() {
        let deadline = Date().addingTimeInterval(0.5)
        while true {
            iopubLock.lock()
            readSubscriptions()
            let done = subscribed || waitedForSubscriber || Date() > deadline
            if done { waitedForSubscriber = true }
            iopubLock.unlock()
            if done { return }
            usleep(1000)
        }
    }

    /// Reads the subscription frames XPUB hands up (first byte 1: subscribe). Call under iopubLock.
    private func readSubscriptions() {
        guard iopub.handle != nil else { return }
        while let frames = iopub.receive(flags: ZMQ_DONTWAIT) {
            if frames.first?.first == 1 { subscribed = true }
        }
    }

    /// Exits when the process that started the kernel dies (as ipykernel's parent poller does),
    /// so that a crashed frontend leaves no kernel behind.
    private static func exitWhenOrphaned() {
        let parent = getppid()
        while getppid() == parent { Thread.sleep(forTimeInterval: 1) }
        FileHandle.standardError.write(Data("stepwise kernel: parent process is gone; exiting\n".utf8))
        exit(0)
    }

    private func echoHeartbeats() {
        while let frames = heartbeat.receive() { heartbeat.send(frames) }
        heartbeat.close()
    }

    // MARK: KernelTransport

    public func send(_ frames: [Data], on channel: Channel) {
        switch channel {
        case .shell: shell.send(frames)
        case .control: control.send(frames)
        case .stdin: stdin.send(frames)
        case .iopub:
            iopubLock.lock(); defer { iopubLock.unlock() }
            readSubscriptions()
            if iopub.handle != nil { iopub.send(frames) }
        }
    }

    public func receiveStdin(timeout: Double) -> [Data]? {
        guard stdin.poll(milliseconds: Int(timeout * 1000)) else { return nil }
        return stdin.receive(flags: ZMQ_DONTWAIT)
    }

    public func takeQueuedShellRequests() -> [[Data]] {
        var queued: [[Data]] = []
        while let frames = shell.receive(flags: ZMQ_DONTWAIT) { queued.append(frames) }
        return queued
    }
}

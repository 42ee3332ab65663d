// A thin ZeroMQ socket: bind, multipart send and receive, poll. Each socket belongs to one thread
// at a time; IOPub, which two threads publish on, is guarded by the server's lock.

import CZeroMQ
import Foundation

/// One ZeroMQ socket.
final class ZMQSocket {
    private(set) var handle: UnsafeMutableRawPointer?

    /// Creates a socket.
    /// - Parameters:
    ///   - context: The ZeroMQ context.
    ///   - type: The socket type (`ZMQ_ROUTER`, `ZMQ_XPUB`, …).
    ///   - maxMessageBytes: The largest inbound message; a peer sending a larger one is
    ///     disconnected before it is buffered, so a hostile peer cannot make the kernel allocate
    ///     without bound.
    init(context: UnsafeMutableRawPointer, type: Int32, maxMessageBytes: Int64 = 256 << 20) throws {
        guard let handle = zmq_socket(context, type) else { throw ZMQSocket.lastError("zmq_socket") }
        self.handle = handle
        set(ZMQ_LINGER, 1000)
        var limit = maxMessageBytes
        zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &limit, MemoryLayout<Int64>.size)
    }

    func set(_ option: Int32, _ value: Int32) {
        var value = value
        zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size)
    }

    func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQSocket.lastError("bind \(endpoint)") }
    }

    /// Sends frames as one multipart message. Failures are logged: a reply that cannot be sent
    /// (the peer left) must not stop the kernel.
    func send(_ frames: [Data]) {
        for (index, frame) in frames.enumerated() {
            let flags = index < frames.count - 1 ? ZMQ_SNDMORE : 0
            let sent = frame.withUnsafeBytes { raw in zmq_send(handle, raw.baseAddress, raw.count, flags) }
            if sent < 0 {
                FileHandle.standardError.write(Data("stepwise kernel: send failed: \(ZMQSocket.lastError("zmq_send"))\n".utf8))
                return
            }
        }
    }

    /// Receives one multipart message; nil when none is waiting (with `ZMQ_DONTWAIT`) or the
    /// context is shutting down.
    func receive(flags: Int32 = 0) -> [Data]? {
        var frames: [Data] = []
        var message = zmq_msg_t()
        zmq_msg_init(&message)
        defer { zmq_msg_close(&message) }
        repeat {
            guard zmq_msg_recv(&message, handle, frames.isEmpty ? flags : 0) >= 0 else { return nil }
            frames.append(Data(bytes: zmq_msg_data(&message), count: zmq_msg_size(&message)))
        } while zmq_msg_more(&message) == 1
        return frames
    }

    /// Waits up to `milliseconds` for a message to read.
    func poll(milliseconds: Int) -> Bool {
        var item = zmq_pollitem_t(socket: handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0)
        return zmq_poll(&item, 1, milliseconds) > 0 && (item.revents & Int16(ZMQ_POLLIN)) != 0
    }

    func close() {
        if let handle { zmq_close(handle) }
        handle = nil
    }

    static func lastError(_ what: String) -> KernelError {
        .zmq("\(what): \(String(cString: zmq_strerror(zmq_errno())))")
    }
}

// A Jupyter message, free of any transport: identities, header, parent header, metadata, content
// and buffers, plus the kernel's errors and the helpers that build headers for replies.

import Foundation

/// Protocol version the kernel claims in every header and in `kernel_info_reply`.
public let protocolVersion = "5.3"

/// One message of the Jupyter wire protocol, without its signature.
public struct Message: Equatable, Sendable {
    /// ZeroMQ routing identities that precede the `<IDS|MSG>` delimiter.
    public var identities: [Data]
    /// `msg_id`, `session`, `username`, `date`, `msg_type`, `version`.
    public var header: JSON
    /// The header of the request this message answers or was caused by; `{}` for none.
    public var parentHeader: JSON
    public var metadata: JSON
    /// The body, whose shape depends on `msg_type`.
    public var content: JSON
    /// Raw binary frames after the content.
    public var buffers: [Data]

    /// A message from its parts.
    public init(identities: [Data] = [], header: JSON, parentHeader: JSON = [:], metadata: JSON = [:],
                content: JSON = [:], buffers: [Data] = []) {
        self.identities = identities; self.header = header; self.parentHeader = parentHeader
        self.metadata = metadata; self.content = content; self.buffers = buffers
    }

    /// The header's `msg_type`, e.g. `execute_request`.
    public var type: String { header["msg_type"]?.string ?? "" }
    /// The header's `msg_id`.
    public var id: String { header["msg_id"]?.string ?? "" }

    /// The type of the reply to a message of type `requestType`: `x_request` → `x_reply`.
    public static func replyType(for requestType: String) -> String {
        requestType.hasSuffix("_request") ? String(requestType.dropLast(8)) + "_reply" : requestType + "_reply"
    }

    /// A fresh header for a message of type `type` sent in `session`.
    public static func header(type: String, session: String) -> JSON {
        [
            "msg_id": .string(UUID().uuidString.lowercased()),
            "session": .string(session),
            "username": "stepwise",
            "date": .string(timestamp()),
            "msg_type": .string(type),
            "version": .string(protocolVersion),
        ]
    }

    /// The current time as ISO 8601 with microseconds, in UTC (the form Jupyter writes).
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let s = String(value)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1000), 6))Z"
    }
}

/// What went wrong in the kernel layer, in words a person can act on.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// The connection file is missing, unreadable or incomplete.
    case connectionFile(String)
    /// OpenSSL could not provide HMAC-SHA256.
    case crypto(String)
    /// A ZeroMQ call failed.
    case zmq(String)
    /// Installing the kernelspec failed.
    case install(String)

    public var description: String {
        switch self {
        case .connectionFile(let m): return "connection file: \(m)"
        case .crypto(let m): return "crypto: \(m)"
        case .zmq(let m): return "zmq: \(m)"
        case .install(let m): return "install: \(m)"
        }
    }
}

// The connection file Jupyter writes for a kernel: transport, address, five ports, the signing
// key and scheme. Decoding checks what the kernel relies on and says what is wrong.

import Foundation

/// The contents of a Jupyter connection file.
public struct ConnectionFile: Decodable, Equatable, Sendable {
    /// `tcp` or `ipc`.
    public var transport: String
    /// An IP address for tcp, a path prefix for ipc.
    public var ip: String
    /// Port of the shell ROUTER (requests and replies).
    public var shellPort: Int
    /// Port of the IOPub publisher (outputs and status).
    public var iopubPort: Int
    /// Port of the stdin ROUTER (`input_request`).
    public var stdinPort: Int
    /// Port of the control ROUTER (interrupt, shutdown), served on its own thread.
    public var controlPort: Int
    /// Port of the heartbeat REP socket, which echoes every ping.
    public var hbPort: Int
    /// The HMAC key; empty means messages are not signed.
    public var key: String
    /// `hmac-sha256` (the only scheme this kernel implements), or empty when `key` is empty.
    public var signatureScheme: String

    enum CodingKeys: String, CodingKey {
        case transport, ip, key
        case shellPort = "shell_port", iopubPort = "iopub_port", stdinPort = "stdin_port"
        case controlPort = "control_port", hbPort = "hb_port", signatureScheme = "signature_scheme"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        transport = try c.decodeIfPresent(String.self, forKey: .transport) ?? "tcp"
        ip = try c.decodeIfPresent(String.self, forKey: .ip) ?? "127.0.0.1"
        shellPort = try c.decode(Int.self, forKey: .shellPort)
        iopubPort = try c.decode(Int.self, forKey: .iopubPort)
        stdinPort = try c.decode(Int.self, forKey: .stdinPort)
        controlPort = try c.decode(Int.self, forKey: .controlPort)
        hbPort = try c.decode(Int.self, forKey: .hbPort)
        key = try c.decodeIfPresent(String.self, forKey: .key) ?? ""
        signatureScheme = try c.decodeIfPresent(String.self, forKey: .signatureScheme) ?? "hmac-sha256"
    }

    /// Reads and checks the connection file at `path`.
    /// - Throws: `KernelError.connectionFile` naming the problem.
    public static func load(_ path: String) throws -> ConnectionFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KernelError.connectionFile("cannot read \(path)")
        }
        return try parse(data)
    }

    /// Parses and checks connection-file JSON.
    public static func parse(_ data: Data) throws -> ConnectionFile {
        let file: ConnectionFile
        do {
            file = try JSONDecoder().decode(ConnectionFile.self, from: data)
        } catch {
            throw KernelError.connectionFile("not a valid connection file (\(error))")
        }
        guard ["tcp", "ipc"].contains(file.transport) else {
            throw KernelError.connectionFile("transport '\(file.transport)' is neither tcp nor ipc")
        }
        guard file.key.isEmpty || file.signatureScheme == "hmac-sha256" else {
            throw KernelError.connectionFile("signature scheme '\(file.signatureScheme)' is not supported; use hmac-sha256")
        }
        return file
    }

    /// The ZeroMQ endpoint for `port`: `tcp://ip:port`, or `ipc://ip-port` as Jupyter names them.
    public func endpoint(_ port: Int) -> String {
        transport == "ipc" ? "ipc://\(ip)-\(port)" : "tcp://\(ip):\(port)"
    }
}

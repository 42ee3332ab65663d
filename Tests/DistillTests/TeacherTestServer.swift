// A tiny HTTP/1.1 server on 127.0.0.1 for the server-teacher tests: POSIX sockets, one thread per
// connection, `Connection: close`, canned answers from a handler, and a log of every request.
// Loopback only; it stops when the test ends.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request as the test server received it.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    /// The body as a JSON object, or an empty one.
    var json: [String: Any] {
        ((try? JSONSerialization.jsonObject(with: body, options: [])) as? [String: Any]) ?? [:]
    }
}

/// A canned answer.
struct CannedResponse: Sendable {
    var status: Int
    var body: String
    var headers: [String: String] = [:]
    /// Seconds to wait before answering (to provoke client timeouts).
    var delay: Double = 0

    /// A 200 answer in the shape of `/v1/chat/completions` or `/v1/completions`.
    static func completion(_ text: String, chat: Bool = true) -> CannedResponse {
        let escaped = String(decoding: (try? JSONSerialization.data(withJSONObject: [text], options: [])) ?? Data("[\"\"]".utf8),
                             as: UTF8.self).dropFirst().dropLast()
        let choice = chat ? "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(escaped)}}"
                          : "{\"index\":0,\"text\":\(escaped)}"
        return CannedResponse(status: 200, body: "{\"id\":\"x\",\"choices\":[\(choice)]}")
    }
}

enum TestServerError: Error {
    case socket(String)
}

/// The server. `handler` gets the 0-based request number and the request.
final class TestHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let handler: @Sendable (Int, ReceivedRequest) -> CannedResponse
    private let lock = NSLock()
    private var received: [ReceivedRequest] = []
    private var stopped = false

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// Every request so far, in arrival order.
    var requests: [ReceivedRequest] {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    init(handler: @escaping @Sendable (Int, ReceivedRequest) -> CannedResponse) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestServerError.socket("socket() failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw TestServerError.socket("bind/listen failed")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Closes the listening socket; requests after this are refused.
    func stop() {
        lock.lock()
        let wasStopped = stopped
        stopped = true
        lock.unlock()
        if wasStopped { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let request = readRequest(connection) else { return }
        lock.lock()
        let number = received.count
        received.append(request)
        lock.unlock()
        let response = handler(number, request)
        if response.delay > 0 { Thread.sleep(forTimeInterval: response.delay) }
        var head = "HTTP/1.1 \(response.status) Status\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(response.body.utf8.count)\r\nConnection: close\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        let bytes = Array((head + "\r\n" + response.body).utf8)
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a client that gave up must not kill the test process with SIGPIPE.
            let n = bytes[sent...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    private func readRequest(_ connection: Int32) -> ReceivedRequest? {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if headerEnd == nil, let end = firstIndex(of: separator, in: buffer) {
                headerEnd = end
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                for line in head.components(separatedBy: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" {
                        contentLength = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let end = headerEnd, buffer.count >= end + 4 + contentLength { break }
            let n = recv(connection, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            buffer += chunk[0..<n]
        }
        guard let end = headerEnd else { return nil }
        let lines = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = (lines.first ?? "").split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return ReceivedRequest(method: requestLine.first.map(String.init) ?? "",
                               path: requestLine.count > 1 ? String(requestLine[1]) : "",
                               headers: headers, body: Data(buffer[(end + 4)..<(end + 4 + contentLength)]))
    }

    private func firstIndex(of pattern: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        for start in 0...(bytes.count - pattern.count) where bytes[start..<(start + pattern.count)].elementsEqual(pattern) {
            return start
        }
        return nil
    }
}

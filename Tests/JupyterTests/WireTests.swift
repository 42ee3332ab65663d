// Signing (with RFC 4231's HMAC-SHA256 vectors), framing, malformed frames, JSON and the
// connection file.

import Foundation
import Jupyter
import XCTest

final class SignerTests: XCTestCase {
    func testRFC4231Vectors() throws {
        // RFC 4231, test cases 1 and 2.
        let one = try Signer(key: Data(repeating: 0x0b, count: 20))
        XCTAssertEqual(one.signature([Data("Hi There".utf8)]),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let two = try Signer(key: Data("Jefe".utf8))
        XCTAssertEqual(two.signature([Data("what do ya want for nothing?".utf8)]),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Parts are signed as their concatenation.
        XCTAssertEqual(two.signature([Data("what do ya ".utf8), Data("want for nothing?".utf8)]),
                       two.signature([Data("what do ya want for nothing?".utf8)]))
    }

    func testVerifyRejectsWrongShortAndLongSignatures() throws {
        let signer = try Signer(key: Data("k".utf8))
        let parts = [Data("a".utf8), Data("b".utf8)]
        let good = signer.signature(parts)
        XCTAssertTrue(signer.verify(Data(good.utf8), parts))
        var flipped = Array(good.utf8)
        flipped[10] = flipped[10] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        XCTAssertFalse(signer.verify(Data(flipped), parts))
        XCTAssertFalse(signer.verify(Data(good.utf8.dropLast()), parts))
        XCTAssertFalse(signer.verify(Data((good + "0").utf8), parts))
        XCTAssertFalse(signer.verify(Data(), parts))
    }

    func testEmptyKeyDisablesSigning() throws {
        let signer = try Signer(key: Data())
        XCTAssertEqual(signer.signature([Data("x".utf8)]), "")
        XCTAssertTrue(signer.verify(Data(), [Data("x".utf8)]))
    }
}

final class WireTests: XCTestCase {
    var signer = Signer.unsigned

    override func setUpWithError() throws { signer = try Signer(key: Data("key".utf8)) }

    func frames(header: String, content: String = "{}", signed: Bool = true) -> [Data] {
        let parts = [header, "{}", "{}", content].map { Data($0.utf8) }
        let signature = signed ? signer.signature(parts) : "0000"
        return [Data("id".utf8), Wire.delimiter, Data(signature.utf8)] + parts
    }

    func testRoundTripKeepsIdentitiesAndBuffers() throws {
        let message = Message(identities: [Data("a".utf8), Data("b".utf8)],
                              header: Message.header(type: "execute_request", session: "s"),
                              content: ["code": "1 + 1", "silent": false], buffers: [Data([0, 1, 2])])
        let decoded = try Wire.decode(Wire.encode(message, signer: signer), signer: signer)
        XCTAssertEqual(decoded, message)
        XCTAssertEqual(decoded.type, "execute_request")
    }

    func testMalformedFramesAreTypedErrors() {
        let header = #"{"msg_id":"1","msg_type":"execute_request"}"#
        XCTAssertThrowsError(try Wire.decode([Data("junk".utf8)], signer: signer)) {
            guard case WireError.truncated = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Wire.decode(Array(frames(header: header).prefix(4)), signer: signer)) {
            guard case WireError.truncated = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Wire.decode(frames(header: header, signed: false), signer: signer)) {
            XCTAssertEqual($0 as? WireError, .badSignature)
        }
        XCTAssertThrowsError(try Wire.decode(frames(header: #"{"msg_id": "#), signer: signer)) {
            guard case WireError.badHeader = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Wire.decode(frames(header: #"{"msg_id":"1"}"#), signer: signer)) {
            guard case WireError.badHeader = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try Wire.decode(frames(header: header, content: "[1,"), signer: signer)) {
            guard case WireError.badBody(let reply, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(reply.type, "execute_request")
            XCTAssertEqual(reply.identities, [Data("id".utf8)])
        }
    }

    func testJSONKeepsIntegersAndEscapes() throws {
        let value: JSON = ["n": 3, "x": .double(0.5), "s": "a\"b\\c\n\u{1}é", "l": [true, nil]]
        XCTAssertEqual(try JSON(parsing: value.serialized), value)
        XCTAssertEqual(JSON.int(3).text, "3")
        XCTAssertTrue(value.text.contains(#""a\"b\\c\n\u0001é""#))
        XCTAssertThrowsError(try JSON(parsing: Data("{\"a\":".utf8)))
    }

    func testConnectionFile() throws {
        let text = #"{"transport":"tcp","ip":"127.0.0.1","shell_port":1,"iopub_port":2,"stdin_port":3,"#
            + #""control_port":4,"hb_port":5,"key":"k","signature_scheme":"hmac-sha256","kernel_name":"x"}"#
        let file = try ConnectionFile.parse(Data(text.utf8))
        XCTAssertEqual(file.endpoint(file.shellPort), "tcp://127.0.0.1:1")
        var ipc = file
        ipc.transport = "ipc"; ipc.ip = "/tmp/k"
        XCTAssertEqual(ipc.endpoint(5), "ipc:///tmp/k-5")
        let md5 = text.replacingOccurrences(of: "hmac-sha256", with: "hmac-md5")
        XCTAssertThrowsError(try ConnectionFile.parse(Data(md5.utf8)))
        XCTAssertThrowsError(try ConnectionFile.parse(Data(#"{"ip":"x"}"#.utf8)))
    }

    func testKernelSpecInstallsIntoPrefix() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ks-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try KernelSpec.install(binary: "/opt/stepwise", name: "sw-test", location: .prefix(dir.path),
                                            env: ["OPENBLAS_CORETYPE": "SkylakeX"])
        XCTAssertEqual(folder.path, dir.path + "/share/jupyter/kernels/sw-test")
        let spec = try JSON(parsing: Data(contentsOf: folder.appendingPathComponent("kernel.json")))
        XCTAssertEqual(spec["argv"], ["/opt/stepwise", "kernel", "-f", "{connection_file}"])
        XCTAssertEqual(spec["interrupt_mode"], "message")
        XCTAssertEqual(spec["env"]?["OPENBLAS_CORETYPE"], "SkylakeX")
        for logo in ["logo-32x32.png", "logo-64x64.png", "logo-svg.svg"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(logo).path), logo)
        }
        XCTAssertThrowsError(try KernelSpec.install(binary: "/x", name: "../evil", location: .prefix(dir.path)))
    }
}

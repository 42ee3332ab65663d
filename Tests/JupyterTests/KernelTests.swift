// The protocol logic through a mock transport and a mock interpreter: dispatch, busy/idle
// ordering, parent routing, execution counts, outputs, stop_on_error aborts, stdin and control.

import Foundation
import Jupyter
import Lang
import XCTest

final class KernelTests: XCTestCase {
    func testKernelInfoOnShellAndControlIsWrappedInBusyIdle() throws {
        let h = try Harness()
        for channel in [Channel.shell, .control] {
            h.clear()
            let id = h.send("kernel_info_request", on: channel)
            let reply = try XCTUnwrap(h.messages(on: channel).first)
            XCTAssertEqual(reply.type, "kernel_info_reply")
            XCTAssertEqual(reply.parentHeader["msg_id"]?.string, id)
            XCTAssertEqual(reply.identities, [h.identity])
            XCTAssertEqual(reply.content["language_info"]?["name"], "stepwise")
            XCTAssertEqual(reply.content["language_info"]?["file_extension"], ".sw")
            XCTAssertEqual(reply.content["protocol_version"], "5.3")
            let iopub = try h.messages(on: .iopub)
            XCTAssertEqual(iopub.map { $0.content["execution_state"]?.string }, ["busy", "idle"])
            XCTAssertTrue(iopub.allSatisfy { $0.parentHeader["msg_id"]?.string == id })
        }
    }

    func testExecuteOrderAndRouting() throws {
        let h = try Harness()
        let id = h.send("execute_request", ["code": "print hello", "silent": false])
        let iopub = try h.messages(on: .iopub)
        XCTAssertEqual(iopub.map(\.type), ["status", "execute_input", "stream", "status"])
        XCTAssertEqual(iopub.first?.content["execution_state"], "busy")
        XCTAssertEqual(iopub.last?.content["execution_state"], "idle")
        XCTAssertEqual(iopub[1].content["execution_count"], 1)
        XCTAssertEqual(iopub[2].content["text"], "hello\n")
        XCTAssertTrue(iopub.allSatisfy { $0.parentHeader["msg_id"]?.string == id })
        // The reply is sent before idle, so that a client that saw idle has its reply.
        XCTAssertEqual(h.transport.sent.map(\.channel), [.iopub, .iopub, .iopub, .shell, .iopub])
        let reply = try XCTUnwrap(h.messages(on: .shell).first)
        XCTAssertEqual(reply.content["status"], "ok")
        XCTAssertEqual(reply.content["execution_count"], 1)
    }

    func testExecutionCountFollowsSilentAndStoreHistory() throws {
        let h = try Harness()
        h.send("execute_request", ["code": "result 1"])
        h.send("execute_request", ["code": "result 2", "store_history": false])
        h.send("execute_request", ["code": "result 3", "silent": true])
        h.send("execute_request", ["code": "result 4"])
        XCTAssertEqual(try h.messages(on: .shell).map { $0.content["execution_count"] }, [1, 1, 1, 2])
        XCTAssertEqual(h.kernel.history.entries.map(\.input), ["result 1", "result 4"])
        XCTAssertEqual(h.kernel.history.entries.map(\.output), ["1", "4"])
        // Silent publishes nothing but status.
        XCTAssertFalse(try h.messages(on: .iopub).contains { $0.type == "execute_result" && $0.content["data"]?["text/plain"] == "3" })
    }

    func testRichOutputs() throws {
        let h = try Harness()
        for code in ["html <b>hi</b>", "display bar", "update bar", "clear", "result 42"] {
            h.send("execute_request", ["code": .string(code)])
        }
        let outputs = try h.messages(on: .iopub).filter { !["status", "execute_input"].contains($0.type) }
        XCTAssertEqual(outputs.map(\.type), ["display_data", "display_data", "update_display_data", "clear_output", "execute_result"])
        XCTAssertEqual(outputs[0].content["data"]?["text/html"], "<b>hi</b>")
        XCTAssertEqual(outputs[1].content["transient"]?["display_id"], "bar")
        XCTAssertEqual(outputs[2].content["transient"]?["display_id"], "bar")
        XCTAssertEqual(outputs[3].content["wait"], true)
        XCTAssertEqual(outputs[4].content["execution_count"], 5)
    }

    func testErrorReplyAndStopOnErrorAbortsQueuedExecutes() throws {
        let h = try Harness()
        let queued = [h.request("execute_request", ["code": "print later"]), h.request("complete_request", ["code": "pr", "cursor_pos": 2])]
        h.transport.queuedShell = queued.map(\.frames)
        h.send("execute_request", ["code": "fail", "stop_on_error": true])
        let shell = try h.messages(on: .shell)
        XCTAssertEqual(shell.map(\.type), ["execute_reply", "execute_reply", "complete_reply"])
        XCTAssertEqual(shell[0].content["status"], "error")
        XCTAssertEqual(shell[0].content["ename"], "NameError")
        XCTAssertEqual(shell[1].content["status"], "aborted")
        XCTAssertEqual(shell[1].parentHeader["msg_id"]?.string, queued[0].id)
        XCTAssertEqual(shell[2].content["matches"], ["print", "println"])
        XCTAssertEqual(h.interpreter.executed, ["fail"])
        let errors = try h.messages(on: .iopub).filter { $0.type == "error" }
        XCTAssertEqual(errors.count, 1)
        XCTAssertEqual(errors.first?.content["traceback"]?.array?.isEmpty, false)
        // The failed request is idle before the aborted one is busy.
        let states = try h.messages(on: .iopub).filter { $0.type == "status" }
            .map { "\($0.content["execution_state"]?.string ?? "") \($0.parentHeader["msg_id"]?.string == queued[0].id ? "B" : "A")" }
        XCTAssertEqual(Array(states.prefix(4)), ["busy A", "idle A", "busy B", "idle B"])
    }

    func testStopOnErrorFalseRunsQueuedRequests() throws {
        let h = try Harness()
        h.transport.queuedShell = [h.request("execute_request", ["code": "print later"]).frames]
        h.send("execute_request", ["code": "fail", "stop_on_error": false])
        XCTAssertEqual(try h.messages(on: .shell).count, 1)
        XCTAssertEqual(h.transport.queuedShell.count, 1)  // left for the shell loop
    }

    func testPagerPayloadAndUserExpressions() throws {
        let h = try Harness()
        h.send("execute_request", ["code": "page the docs", "user_expressions": ["x": "a + 1", "y": "bad"]])
        let reply = try XCTUnwrap(h.messages(on: .shell).first)
        XCTAssertEqual(reply.content["payload"]?.array?.first?["source"], "page")
        XCTAssertEqual(reply.content["payload"]?.array?.first?["data"]?["text/plain"], "the docs")
        XCTAssertEqual(reply.content["user_expressions"]?["x"]?["data"]?["text/plain"], "=a + 1")
        XCTAssertEqual(reply.content["user_expressions"]?["y"]?["status"], "error")
    }

    func testInputGoesThroughStdin() throws {
        let h = try Harness()
        let (_, frames) = h.request("execute_request", ["code": "input name?", "allow_stdin": true])
        let parentID = try Wire.decode(frames, signer: h.signer).id
        let inputReply = Message(identities: [h.identity], header: Message.header(type: "input_reply", session: "c"),
                                 content: ["value": "Ada"])
        h.transport.stdinReplies = [[Data("garbage".utf8)], Wire.encode(inputReply, signer: h.signer)]
        h.kernel.handle(frames, on: .shell)
        let request = try XCTUnwrap(h.messages(on: .stdin).first)
        XCTAssertEqual(request.type, "input_request")
        XCTAssertEqual(request.content["prompt"], "name?")
        XCTAssertEqual(request.parentHeader["msg_id"]?.string, parentID)
        XCTAssertEqual(request.identities, [h.identity])
        XCTAssertTrue(try h.messages(on: .iopub).contains { $0.content["text"] == "got Ada\n" })
        // Without allow_stdin the interpreter gets no provider.
        h.send("execute_request", ["code": "input again", "allow_stdin": false])
        XCTAssertTrue(try h.messages(on: .iopub).contains { $0.content["text"] == "got nothing\n" })
    }

    func testCompleteInspectIsCompleteHistoryCommInfo() throws {
        let h = try Harness()
        h.send("execute_request", ["code": "result 7"])
        h.clear()
        h.send("complete_request", ["code": "pri", "cursor_pos": 99])
        h.send("inspect_request", ["code": "print", "cursor_pos": 5])
        h.send("inspect_request", ["code": "nope", "cursor_pos": 1])
        h.send("is_complete_request", ["code": "if x {"])
        h.send("is_complete_request", ["code": "} bad"])
        h.send("history_request", ["hist_access_type": "tail", "n": 5, "output": true, "raw": true])
        h.send("comm_info_request")
        let replies = try h.messages(on: .shell)
        XCTAssertEqual(replies.map(\.type), ["complete_reply", "inspect_reply", "inspect_reply", "is_complete_reply",
                                            "is_complete_reply", "history_reply", "comm_info_reply"])
        XCTAssertEqual(replies[0].content["cursor_end"], 3)  // clamped to the code's length
        XCTAssertEqual(replies[1].content["found"], true)
        XCTAssertEqual(replies[2].content["found"], false)
        XCTAssertEqual(replies[3].content["indent"], "    ")
        XCTAssertEqual(replies[4].content["status"], "invalid")
        XCTAssertEqual(replies[5].content["history"], [[1, 1, ["result 7", "7"]]])
        XCTAssertEqual(replies[6].content["comms"], [:])
    }

    func testUnknownMalformedAndForgedMessages() throws {
        let h = try Harness()
        h.send("frobnicate_request")
        var reply = try XCTUnwrap(h.messages(on: .shell).last)
        XCTAssertEqual(reply.type, "frobnicate_reply")
        XCTAssertEqual(reply.content["ename"], "UnknownMessageType")
        // Only kernel_info, interrupt and shutdown are served on control.
        h.send("execute_request", ["code": "print x"], on: .control)
        XCTAssertEqual(try h.messages(on: .control).last?.content["status"], "error")
        XCTAssertEqual(h.interpreter.executed, [])

        // Content that is not JSON: an error reply to the addressable header.
        let header = Message.header(type: "execute_request", session: "c").serialized
        let parts = [header, Data("{}".utf8), Data("{}".utf8), Data("{\"code\":".utf8)]
        h.kernel.handle([h.identity, Wire.delimiter, Data(h.signer.signature(parts).utf8)] + parts, on: .shell)
        reply = try XCTUnwrap(h.messages(on: .shell).last)
        XCTAssertEqual(reply.content["ename"], "MalformedMessage")

        // A forged signature, junk and a bad header: dropped without a word.
        h.clear()
        let forged = [h.identity, Wire.delimiter, Data(String(repeating: "0", count: 64).utf8)] + parts
        h.kernel.handle(forged, on: .shell)
        h.kernel.handle([Data("junk".utf8)], on: .shell)
        let badHeader = [Data("[]".utf8), Data("{}".utf8), Data("{}".utf8), Data("{}".utf8)]
        h.kernel.handle([Wire.delimiter, Data(h.signer.signature(badHeader).utf8)] + badHeader, on: .shell)
        XCTAssertTrue(h.transport.sent.isEmpty)
    }

    func testCommOpenForMissingTargetIsClosed() throws {
        let h = try Harness()
        h.send("comm_open", ["comm_id": "c1", "target_name": "nowhere", "data": [:]])
        let close = try XCTUnwrap(h.messages(on: .iopub).first { $0.type == "comm_close" })
        XCTAssertEqual(close.content["comm_id"], "c1")
        XCTAssertTrue(try h.messages(on: .shell).isEmpty)
    }

    func testInterruptAndShutdownOnControl() throws {
        let h = try Harness()
        XCTAssertEqual(h.kernel.handle(h.request("interrupt_request").frames, on: .control), .proceed)
        XCTAssertEqual(h.interpreter.interrupts, 1)
        XCTAssertEqual(try h.messages(on: .control).last?.type, "interrupt_reply")
        let action = h.kernel.handle(h.request("shutdown_request", ["restart": true]).frames, on: .control)
        XCTAssertEqual(action, .shutdown(restart: true))
        XCTAssertEqual(try h.messages(on: .control).last?.content["restart"], true)
        XCTAssertTrue(try h.messages(on: .iopub).contains { $0.type == "shutdown_reply" })
    }

    func testUnsignedKernelAcceptsUnsignedMessages() throws {
        let h = try Harness(key: Data())
        h.send("kernel_info_request")
        XCTAssertEqual(try h.messages(on: .shell).first?.type, "kernel_info_reply")
        XCTAssertEqual(h.transport.sent.first?.frames[2], Data())
    }

    func testLangInterpreterConforms() throws {
        let signer = try Signer(key: Harness.key)
        let transport = MockTransport()
        let kernel = Kernel(interpreter: Interpreter(), transport: transport, signer: signer)
        let message = Message(identities: [Data("c".utf8)], header: Message.header(type: "execute_request", session: "c"),
                              content: ["code": "let a = 40\na + 2"])
        kernel.handle(Wire.encode(message, signer: signer), on: .shell)
        let sent = try transport.sent.map { try Wire.decode($0.frames, signer: signer) }
        XCTAssertEqual(sent.first { $0.type == "execute_result" }?.content["data"]?["text/plain"], "42")
        XCTAssertEqual(sent.first { $0.type == "execute_reply" }?.content["status"], "ok")
    }
}

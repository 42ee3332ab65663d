// The small request handlers: kernel_info, complete, inspect, is_complete, history, comms,
// interrupt and shutdown.

import Foundation
import Lang

extension Kernel {
    /// The `kernel_info_reply` content.
    public var info: JSON {
        [
            "status": "ok",
            "protocol_version": .string(protocolVersion),
            "implementation": "stepwise",
            "implementation_version": .string(version),
            "language_info": [
                "name": "stepwise",
                "version": .string(version),
                "mimetype": "text/x-swift",
                "file_extension": ".sw",
                "pygments_lexer": "swift",
                "codemirror_mode": "swift",
            ],
            "banner": .string("Stepwise \(version): distilling step-by-step, one cell at a time. Try %help print."),
            "help_links": [
                ["text": "Distilling step-by-step (paper)", "url": "https://arxiv.org/abs/2305.02301"],
                ["text": "Jupyter messaging protocol", "url": "https://jupyter-client.readthedocs.io/en/latest/messaging.html"],
            ],
            "debugger": false,
        ]
    }

    func kernelInfo(_ request: Message, on channel: Channel) -> KernelAction {
        reply(to: request, on: channel, content: info)
        return .proceed
    }

    func complete(_ request: Message, on channel: Channel) -> KernelAction {
        let code = request.content["code"]?.string ?? ""
        let cursor = clamp(request.content["cursor_pos"]?.int, code)
        let completion = interpreter.complete(code, cursor: cursor)
        reply(to: request, on: .shell, content: [
            "status": "ok", "matches": .array(completion.matches.map(JSON.string)),
            "cursor_start": .int(completion.cursorStart), "cursor_end": .int(completion.cursorEnd), "metadata": [:],
        ])
        return .proceed
    }

    func inspect(_ request: Message, on channel: Channel) -> KernelAction {
        let code = request.content["code"]?.string ?? ""
        let bundle = interpreter.inspect(code, cursor: clamp(request.content["cursor_pos"]?.int, code))
        reply(to: request, on: .shell, content: [
            "status": "ok", "found": .bool(bundle != nil),
            "data": bundle.map(Kernel.data) ?? [:], "metadata": [:],
        ])
        return .proceed
    }

    func isComplete(_ request: Message, on channel: Channel) -> KernelAction {
        let content: JSON
        switch interpreter.isComplete(request.content["code"]?.string ?? "") {
        case .complete: content = ["status": "complete"]
        case .incomplete(let indent): content = ["status": "incomplete", "indent": .string(indent)]
        case .invalid: content = ["status": "invalid"]
        }
        reply(to: request, on: .shell, content: content)
        return .proceed
    }

    func history(_ request: Message, on channel: Channel) -> KernelAction {
        reply(to: request, on: .shell, content: history.reply(to: request.content))
        return .proceed
    }

    func commInfo(_ request: Message, on channel: Channel) -> KernelAction {
        reply(to: request, on: .shell, content: ["status": "ok", "comms": [:]])
        return .proceed
    }

    /// No comm targets exist yet: close any comm a frontend opens, so it does not wait.
    func commOpen(_ request: Message, on channel: Channel) -> KernelAction {
        let id = request.content["comm_id"]?.string ?? ""
        let target = request.content["target_name"]?.string ?? ""
        log("no comm target named '\(target)'; closing comm \(id)")
        publish("comm_close", ["comm_id": .string(id), "data": [:]], parent: request)
        return .proceed
    }

    func ignore(_ request: Message, on channel: Channel) -> KernelAction { .proceed }

    func interruptRequest(_ request: Message, on channel: Channel) -> KernelAction {
        interrupt()
        reply(to: request, on: .control, content: ["status": "ok"])
        return .proceed
    }

    func shutdown(_ request: Message, on channel: Channel) -> KernelAction {
        let restart = request.content["restart"]?.bool ?? false
        interrupt()
        let content: JSON = ["status": "ok", "restart": .bool(restart)]
        reply(to: request, on: .control, content: content)
        publish("shutdown_reply", content, parent: request)
        return .shutdown(restart: restart)
    }

    private func clamp(_ cursor: Int?, _ code: String) -> Int {
        let length = code.unicodeScalars.count
        return min(max(0, cursor ?? length), length)
    }
}

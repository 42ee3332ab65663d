// The execute_request handler: execution count, execute_input, outputs routed to the request,
// the pager payload, user_expressions, input through stdin, and stop_on_error aborts.

import Foundation
import Lang

extension Kernel {
    func execute(_ request: Message, on channel: Channel) -> KernelAction {
        let content = request.content
        guard let code = content["code"]?.string else {
            replyError(to: request, on: .shell, name: "MalformedMessage", value: "execute_request has no code")
            return .proceed
        }
        let silent = content["silent"]?.bool ?? false
        let storeHistory = !silent && (content["store_history"]?.bool ?? true)
        let stopOnError = content["stop_on_error"]?.bool ?? true
        let allowStdin = content["allow_stdin"]?.bool ?? true

        if storeHistory { executionCount += 1 }
        let count = executionCount
        if !silent { publish("execute_input", ["code": .string(code), "execution_count": .int(count)], parent: request) }

        _ = interruptPending(clearing: true)
        interpreter.input = allowStdin ? { [unowned self] prompt, password in
            self.requestInput(prompt: prompt, password: password, parent: request)
        } : nil
        var payload: [JSON] = []
        var resultText: String?
        var publishedError = false
        let status = interpreter.execute(code) { output in
            if case .error = output { publishedError = true }
            if case .result(let bundle) = output { resultText = bundle.plain }
            if case .pager(let bundle) = output {
                payload.append(["source": "page", "data": Kernel.data(bundle), "start": 0])
            }
            if !silent { publish(output, count: count, parent: request) }
        }
        interpreter.input = nil
        if storeHistory { history.append(line: count, input: code, output: resultText) }

        switch status {
        case .ok:
            reply(to: request, on: .shell, content: [
                "status": "ok", "execution_count": .int(count), "payload": .array(payload),
                "user_expressions": evaluate(content["user_expressions"]),
            ])
        case .error(let error):
            if !publishedError && !silent { publish(.error(error), count: count, parent: request) }
            // Taken before the reply goes out, so that no request sent after the client saw it
            // can be aborted; they are answered once this request is idle (see `handle`).
            if stopOnError && !silent { queuedForAbort = transport.takeQueuedShellRequests() }
            reply(to: request, on: .shell, content: Kernel.errorContent(
                name: error.kind, value: error.message, traceback: error.traceback,
                extra: ["execution_count": .int(count), "payload": .array(payload), "user_expressions": [:]]))
        }
        return .proceed
    }

    /// Publishes one cell output on IOPub as its Jupyter message.
    private func publish(_ output: Output, count: Int, parent: Message) {
        switch output {
        case .stream(let name, let text):
            publish("stream", ["name": .string(name.rawValue), "text": .string(text)], parent: parent)
        case .display(let bundle, let id):
            publish("display_data", ["data": Kernel.data(bundle), "metadata": [:],
                                     "transient": id.map { ["display_id": .string($0)] } ?? [:]], parent: parent)
        case .updateDisplay(let bundle, let id):
            publish("update_display_data", ["data": Kernel.data(bundle), "metadata": [:],
                                            "transient": ["display_id": .string(id)]], parent: parent)
        case .clear(let wait):
            publish("clear_output", ["wait": .bool(wait)], parent: parent)
        case .result(let bundle):
            publish("execute_result", ["execution_count": .int(count), "data": Kernel.data(bundle),
                                       "metadata": [:]], parent: parent)
        case .pager:
            break  // travels in the reply's payload
        case .error(let error):
            publish("error", ["ename": .string(error.kind), "evalue": .string(error.message),
                              "traceback": .array(error.traceback.map(JSON.string))], parent: parent)
        }
    }

    static func data(_ bundle: MimeBundle) -> JSON { .object(bundle.data.mapValues(JSON.string)) }

    /// Evaluates `user_expressions` into their reply shapes.
    private func evaluate(_ expressions: JSON?) -> JSON {
        guard let expressions = expressions?.object else { return [:] }
        return .object(expressions.mapValues { expression in
            guard let code = expression.string else {
                return Kernel.errorContent(name: "TypeError", value: "an expression must be a string", traceback: [])
            }
            switch interpreter.evaluateExpression(code) {
            case .success(let bundle): return ["status": "ok", "data": Kernel.data(bundle), "metadata": [:]]
            case .failure(let error): return Kernel.errorContent(name: error.kind, value: error.message, traceback: error.traceback)
            }
        })
    }

    /// Replies `aborted` to the execute requests that were queued when a cell failed with
    /// `stop_on_error`, as ipykernel does; other queued requests are answered normally.
    func abortQueuedExecutes() {
        let queued = queuedForAbort
        queuedForAbort = []
        for frames in queued {
            guard let message = try? Wire.decode(frames, signer: signer), message.type == "execute_request" else {
                handle(frames, on: .shell)
                continue
            }
            publish("status", ["execution_state": "busy"], parent: message)
            reply(to: message, on: .shell, content: ["status": "aborted", "execution_count": .int(executionCount)])
            publish("status", ["execution_state": "idle"], parent: message)
        }
    }

    /// Asks the frontend for a line through stdin and waits for its `input_reply`.
    /// Returns nil when the cell is interrupted while waiting.
    func requestInput(prompt: String, password: Bool, parent: Message) -> String? {
        let request = Message(identities: parent.identities,
                              header: Message.header(type: "input_request", session: session),
                              parentHeader: parent.header,
                              content: ["prompt": .string(prompt), "password": .bool(password)])
        transport.send(Wire.encode(request, signer: signer), on: .stdin)
        while !interruptPending(clearing: false) {
            guard let frames = transport.receiveStdin(timeout: 0.1) else { continue }
            do {
                let reply = try Wire.decode(frames, signer: signer)
                guard reply.type == "input_reply" else {
                    log("ignored \(reply.type) on stdin")
                    continue
                }
                return reply.content["value"]?.string ?? ""
            } catch {
                log("dropped a message on stdin: \(error)")
            }
        }
        return nil
    }
}

// The public extension points: registering builtins (with a context that emits displays, checks
// cancellation, reads the seed), host objects with members, and magics.
import Foundation
import Lang
import XCTest

/// A stand-in for a dataset from the Distill layer.
final class FakeDataset: HostObject {
    let name: String
    let rows: [Value]
    init(name: String, rows: [Value]) { self.name = name; self.rows = rows }

    var typeName: String { "Dataset" }
    var memberNames: [String] { ["name", "size", "sample"] }

    func member(_ member: String, context: BuiltinContext) throws -> Value? {
        switch member {
        case "name": return .string(name)
        case "size": return .integer(rows.count)
        case "sample":
            return .function(.builtin(Builtin("sample", [Parameter("n", "Int", default: .integer(1))], returns: "List",
                                              documentation: "The first `n` rows.") { arguments, _ in
                .list(Array(self.rows.prefix(max(0, try arguments.integer("n")))))
            }))
        default: return nil
        }
    }

    func subscriptValue(_ index: Value, context: BuiltinContext) throws -> Value? {
        guard case .integer(let i) = index else { return nil }
        guard rows.indices.contains(i) else { throw CellError(.index, "row \(i) is out of range") }
        return rows[i]
    }

    var elements: [Value]? { rows }
    func render() -> MimeBundle { MimeBundle(plain: "Dataset(\(name), \(rows.count) rows)", extra: ["text/html": "<b>\(name)</b>"]) }
    func documentation(ofMember member: String) -> String? { member == "size" ? "The number of rows." : nil }
}

final class RegistryTests: XCTestCase {
    private func interpreterWithDataset() -> Interpreter {
        let interpreter = Interpreter()
        interpreter.register(Builtin("dataset", [Parameter("name", "String")], returns: "Dataset", documentation: """
            Loads a dataset by name.

            Example: `dataset("svamp")`.
            """) { arguments, _ in
            .host(FakeDataset(name: try arguments.string("name"), rows: [.integer(10), .integer(20), .integer(30)]))
        })
        return interpreter
    }

    func testHostObjectMembersSubscriptsAndIteration() {
        let interpreter = interpreterWithDataset()
        XCTAssertEqual(interpreter.result("let d = dataset(\"svamp\")\nd.size"), "3")
        XCTAssertEqual(interpreter.result("d.name"), "svamp")
        XCTAssertEqual(interpreter.result("d.sample(2)"), "[10, 20]")
        XCTAssertEqual(interpreter.result("d[1]"), "20")
        XCTAssertEqual(interpreter.result("var t = 0\nfor x in d { t += x }\nt"), "60")
        XCTAssertEqual(interpreter.result("len(d)"), "3")
        XCTAssertEqual(interpreter.result("type(of: d)"), "Dataset")
        XCTAssertEqual(interpreter.execute("d"), [.result(MimeBundle(plain: "Dataset(svamp, 3 rows)", extra: ["text/html": "<b>svamp</b>"]))])
        XCTAssertEqual(interpreter.error("d.sizes")?.message, "Dataset has no member `sizes`; did you mean `size`?")
        XCTAssertEqual(interpreter.error("d[7]")?.kind, "IndexError")
        XCTAssertEqual(interpreter.error("d[\"x\"]")?.message, "Dataset cannot be subscripted with String")
    }

    func testBuiltinContextEmitsDisplaysAndUpdates() {
        let interpreter = Interpreter()
        interpreter.register(Builtin("progress", [Parameter("steps", "Int")], returns: "Int", documentation: "Counts with a live display.") { arguments, context in
            let id = context.display(MimeBundle(plain: "0"))
            let steps = try arguments.integer("steps")
            for step in 1...max(1, steps) {
                try context.checkCancelled()
                context.updateDisplay(MimeBundle(plain: "\(step)"), id: id)
            }
            return .integer(Int(context.seed))
        })
        XCTAssertEqual(interpreter.streamText("%seed 7"), "seed = 7\n")
        let outputs = interpreter.execute("progress(2)")
        XCTAssertEqual(outputs.count, 4)
        guard case .display(_, let id?) = outputs.first else { return XCTFail("expected a display with an id") }
        XCTAssertEqual(outputs[1], .updateDisplay(MimeBundle(plain: "1"), displayID: id))
        XCTAssertEqual(outputs[3], .result(MimeBundle(plain: "7")))
        XCTAssertEqual(interpreter.seed, 7)
    }

    func testBuiltinsCanCallClosures() {
        let interpreter = Interpreter()
        interpreter.register(Builtin("twice", [Parameter("f", "Function")], documentation: "Calls `f` twice.") { arguments, context in
            let f = try arguments.function("f")
            return try context.call(f, [context.call(f, [.integer(1)])])
        })
        XCTAssertEqual(interpreter.result("twice { $0 * 3 }"), "9")
    }

    func testSwiftErrorsFromBuiltinsBecomeRuntimeErrors() {
        struct DiskFull: Error, CustomStringConvertible { var description: String { "disk is full" } }
        let interpreter = Interpreter()
        interpreter.register(Builtin("save", documentation: "Saves.") { _, _ in throw DiskFull() })
        let error = interpreter.error("save()")
        XCTAssertEqual(error?.kind, "RuntimeError")
        XCTAssertEqual(error?.message, "disk is full")
        XCTAssertEqual(error?.column, 1)
    }

    func testAddToEveryInterpreter() {
        // Process-wide: removed again, so no other test's interpreter sees the builtin.
        let addition = BuiltinRegistry.addToEveryInterpreter { registry in
            registry.register(Builtin("answerForEveryone", returns: "Int", documentation: "The answer.") { _, _ in .integer(42) })
        }
        XCTAssertEqual(Interpreter().result("answerForEveryone()"), "42")
        addition.remove()
        XCTAssertEqual(Interpreter().error("answerForEveryone()")?.kind, "NameError")
    }

    func testRegisteredMagic() {
        let interpreter = Interpreter()
        var seen: [String] = []
        interpreter.registerMagic("threads", documentation: "%threads n: sets the thread count.") { argument, context in
            seen.append(argument)
            context.emit(.stream(.stdout, "threads = \(argument)\n"))
        }
        XCTAssertEqual(interpreter.streamText("%threads 2"), "threads = 2\n")
        XCTAssertEqual(seen, ["2"])
    }

    func testPreloadedValues() {
        let interpreter = Interpreter()
        interpreter.setValue(.host(FakeDataset(name: "demo", rows: [])), for: "demo")
        XCTAssertEqual(interpreter.result("demo.size"), "0")
        XCTAssertEqual(interpreter.error("demo = 1")?.kind, "TypeError")
        XCTAssertEqual(interpreter.value(of: "demo")?.typeName, "Dataset")
    }
}

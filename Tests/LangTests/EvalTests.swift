// Evaluation of every construct: values, bindings, operators, control flow, closures, functions,
// members, indexing and slicing, and the runtime errors each can raise.
import Lang
import XCTest

final class EvalTests: XCTestCase {
    func testLiteralsAndArithmetic() {
        XCTAssertEqual(evaluate("1 + 2 * 3"), "7")
        XCTAssertEqual(evaluate("7 / 2"), "3")
        XCTAssertEqual(evaluate("7 % 3"), "1")
        XCTAssertEqual(evaluate("7.0 / 2"), "3.5")
        XCTAssertEqual(evaluate("1 + 0.5"), "1.5")
        XCTAssertEqual(evaluate("-(2 - 5)"), "3")
        XCTAssertEqual(evaluate("2.0 * 3"), "6.0")
        XCTAssertEqual(evaluate("\"ab\" + \"cd\""), "abcd")
        XCTAssertEqual(evaluate("[1] + [2, 3]"), "[1, 2, 3]")
        XCTAssertEqual(evaluate("nil"), "nil")
    }

    func testComparisonAndLogic() {
        XCTAssertEqual(evaluate("1 < 2 && 2 <= 2 && 3 > 2 && (3 >= 4) == false"), "true")
        XCTAssertEqual(evaluate("\"a\" < \"b\""), "true")
        XCTAssertEqual(evaluate("[1, 2] == [1, 2] && [\"a\": 1] != [\"a\": 2]"), "true")
        XCTAssertEqual(evaluate("1 == 1.0"), "true")
        XCTAssertEqual(evaluate("false || !false"), "true")
        XCTAssertEqual(evaluate("false && (1 / 0 == 1)"), "false")  // Short-circuits.
        XCTAssertEqual(evaluate("nil ?? 3"), "3")
        XCTAssertEqual(evaluate("2 ?? 3"), "2")
        XCTAssertEqual(evaluate("1 > 2 ? \"yes\" : \"no\""), "no")
    }

    func testStringInterpolation() {
        XCTAssertEqual(evaluate("let n = 3\n\"n = \\(n), twice \\(n * 2), list \\([\"a\"])\""), "n = 3, twice 6, list [\"a\"]")
    }

    func testLetRebindsAndVarAssigns() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.result("let x = 1\nx"), "1")
        XCTAssertEqual(interpreter.result("let x = 2\nx"), "2")  // Re-running a cell rebinds; no redefinition error.
        XCTAssertEqual(interpreter.result("var y = 1\ny += 4\ny *= 2\ny -= 1\ny"), "9")
        XCTAssertEqual(interpreter.result("var z\nz"), "nil")
        let error = interpreter.error("x = 5")
        XCTAssertEqual(error?.kind, "TypeError")
        XCTAssertEqual(error?.message, "cannot assign to `x`: it is a `let` constant; declare it with `var` to change it")
    }

    func testAssignmentToUndeclaredName() {
        let error = failure("count2 = 1")
        XCTAssertEqual(error?.kind, "NameError")
        XCTAssertEqual(error?.message, "cannot find `count2` in scope; did you mean `count`?")
        XCTAssertEqual(failure("qqq = 1")?.message, "cannot find `qqq` in scope; declare it first with `var qqq = ...`")
    }

    func testIfElseWhileFor() {
        XCTAssertEqual(evaluate("var s = \"\"\nfor x in [1, 2, 3] { if x == 2 { s += \"two \" } else { s += \"\\(x) \" } }\ns"), "1 two 3 ")
        XCTAssertEqual(evaluate("var i = 0\nwhile i < 10 { i += 3 }\ni"), "12")
        XCTAssertEqual(evaluate("var t = 0\nfor i in 0..<5 { t += i }\nt"), "10")
        XCTAssertEqual(evaluate("var t = 0\nfor i in 1...5 { if i == 4 { break }; if i == 2 { continue }; t += i }\nt"), "4")
        XCTAssertEqual(evaluate("var t = \"\"\nfor c in \"héllo\" { t = c + t }\nt"), "olléh")
        XCTAssertEqual(evaluate("var ks = []\nfor k in [\"b\": 1, \"a\": 2] { ks = ks + [k] }\nks"), "[\"b\", \"a\"]")
    }

    func testForUnpacksEnumeratedAndPairs() {
        XCTAssertEqual(evaluate("var out = []\nfor (i, x) in [\"a\", \"b\"].enumerated() { out = out + [\"\\(i)\\(x)\"] }\nout"), "[\"0a\", \"1b\"]")
        XCTAssertEqual(evaluate("var t = 0\nfor (a, b) in [[1, 2], [3, 4]] { t += a * b }\nt"), "14")
        XCTAssertEqual(failure("for (a, b) in [1] { }")?.message, "cannot unpack Int 1 into 2 loop variables")
    }

    func testBlocksScopeTheirBindings() {
        XCTAssertEqual(failure("if true { let inner = 1 }\ninner")?.kind, "NameError")
    }

    func testClosures() {
        XCTAssertEqual(evaluate("[1, 2, 3].map { $0 * 2 }"), "[2, 4, 6]")
        XCTAssertEqual(evaluate("[1, 2, 3].filter { $0 > 1 }"), "[2, 3]")
        XCTAssertEqual(evaluate("[1, 2, 3].reduce(0) { $0 + $1 }"), "6")
        XCTAssertEqual(evaluate("let add = { a, b in a + b }\nadd(2, 3)"), "5")
        XCTAssertEqual(evaluate("let k = 10\nlet f = { x in x + k }\nf(1)"), "11")
        XCTAssertEqual(evaluate("[3, 1, 2].sorted { $0 > $1 }"), "[3, 2, 1]")
        XCTAssertEqual(evaluate("let f = { x in\n let y = x * 2\n return y + 1\n}\nf(4)"), "9")
    }

    func testClosuresCaptureTheirScope() {
        XCTAssertEqual(evaluate("func counter() { var n = 0; return { n += 1; return n } }\nlet c = counter()\nc()\nc()\nc()"), "3")
    }

    func testUserFunctionsWithDefaultsAndLabels() {
        let interpreter = Interpreter()
        _ = interpreter.execute("func scale(x, by factor = 2, offset = 0) { return x * factor + offset }")
        XCTAssertEqual(interpreter.result("scale(3)"), "6")
        XCTAssertEqual(interpreter.result("scale(3, factor: 10)"), "30")
        XCTAssertEqual(interpreter.result("scale(3, offset: 1)"), "7")
        XCTAssertEqual(interpreter.result("scale(x: 1, factor: 1, offset: 1)"), "2")
        XCTAssertEqual(interpreter.error("scale()")?.message, "missing argument `x` in call to `scale`")
        XCTAssertEqual(interpreter.error("scale(1, 2, 3, 4)")?.message, "`scale` takes 3 arguments but 4 were given")
        XCTAssertEqual(interpreter.error("scale(1, size: 2)")?.message, "`scale` has no parameter `size`; its parameters are `x`, `factor`, `offset`")
    }

    func testRecursionAndFunctionsWithoutReturnGiveNil() {
        XCTAssertEqual(evaluate("func fib(n) { if n < 2 { return n }; return fib(n - 1) + fib(n - 2) }\nfib(15)"), "610")
        XCTAssertEqual(evaluate("func f() { 1 }\nlet v = f()\nv"), "nil")
    }

    func testListMembers() {
        XCTAssertEqual(evaluate("[1, 2, 3].count"), "3")
        XCTAssertEqual(evaluate("[1, 2, 3].first"), "1")
        XCTAssertEqual(evaluate("[1, 2, 3].last"), "3")
        XCTAssertEqual(evaluate("[].first"), "nil")
        XCTAssertEqual(evaluate("[1, 2, 3].contains(2)"), "true")
        XCTAssertEqual(evaluate("[1, 2, 3].contains { $0 > 5 }"), "false")
        XCTAssertEqual(evaluate("[\"a\", \"b\"].joined(separator: \", \")"), "a, b")
        XCTAssertEqual(evaluate("[3, 1, 2].sorted()"), "[1, 2, 3]")
        XCTAssertEqual(evaluate("[1, 2].reversed()"), "[2, 1]")
        XCTAssertEqual(evaluate("[].isEmpty"), "true")
        XCTAssertEqual(evaluate("[\"x\"].enumerated()"), "[[\"offset\": 0, \"element\": \"x\"]]")
    }

    func testMutatingListMethods() {
        XCTAssertEqual(evaluate("var xs = [1]\nxs.append(2)\nxs.insert(0, at: 0)\nxs"), "[0, 1, 2]")
        XCTAssertEqual(evaluate("var xs = [1, 2, 3]\nlet last = xs.removeLast()\n[last, xs]"), "[3, [1, 2]]")
        XCTAssertEqual(evaluate("var xs = [1, 2, 3]\nxs.remove(at: 0)\nxs"), "[2, 3]")
        XCTAssertEqual(evaluate("var r = [\"xs\": [1]]\nr.xs.append(2)\nr"), "[\"xs\": [1, 2]]")
        XCTAssertEqual(evaluate("var grid = [[1], [2]]\ngrid[1].append(3)\ngrid"), "[[1], [2, 3]]")
        let error = failure("let xs = [1]\nxs.append(2)")
        XCTAssertEqual(error?.message, "cannot use `append` on `xs`: it is a `let` constant; declare it with `var` to change it")
        XCTAssertEqual(failure("[1].append(2)")?.message, "`append` changes its list in place; call it on a `var`, as in `xs.append(...)`")
        XCTAssertEqual(failure("var xs = []\nxs.removeLast()")?.kind, "IndexError")
    }

    func testStringMembers() {
        XCTAssertEqual(evaluate("\"héllo\".count"), "5")
        XCTAssertEqual(evaluate("\"abc\".uppercased()"), "ABC")
        XCTAssertEqual(evaluate("\"ABC\".lowercased()"), "abc")
        XCTAssertEqual(evaluate("\"a b  c\".split()"), "[\"a\", \"b\", \"c\"]")
        XCTAssertEqual(evaluate("\"a,b\".split(separator: \",\")"), "[\"a\", \"b\"]")
        XCTAssertEqual(evaluate("\"hello\".contains(\"ell\")"), "true")
        XCTAssertEqual(evaluate("\"hello\".hasPrefix(\"he\")"), "true")
        XCTAssertEqual(evaluate("\"hello\".hasSuffix(\"lo\")"), "true")
        XCTAssertEqual(evaluate("\"  x \".trimmed()"), "x")
        XCTAssertEqual(evaluate("\"a-b\".replacing(\"-\", with: \"+\")"), "a+b")
    }

    func testRecordMembersAndAssignment() {
        XCTAssertEqual(evaluate("let r = [\"name\": \"svamp\", \"size\": 700]\nr.name"), "svamp")
        XCTAssertEqual(evaluate("let r = [\"b\": 1, \"a\": 2]\nr.keys"), "[\"b\", \"a\"]")
        XCTAssertEqual(evaluate("let r = [\"b\": 1, \"a\": 2]\nr.values"), "[1, 2]")
        XCTAssertEqual(evaluate("let r = [\"a\": 1]\nr[\"missing\"]"), "nil")
        XCTAssertEqual(evaluate("var r = [\"a\": 1]\nr.a = 5\nr[\"b\"] = 6\nr.a += 1\nr"), "[\"a\": 6, \"b\": 6]")
        let error = failure("let r = [\"total\": 1]\nr.totl")
        XCTAssertEqual(error?.kind, "KeyError")
        XCTAssertEqual(error?.message, "the record has no key `totl` (its keys: total); did you mean `total`?")
        XCTAssertEqual(error?.column, 3)  // The caret goes under the member name.
    }

    func testRanges() {
        XCTAssertEqual(evaluate("0..<3"), "0..<3")
        XCTAssertEqual(evaluate("(1...3).map { $0 * 10 }"), "[10, 20, 30]")
        XCTAssertEqual(evaluate("(0..<10).count"), "10")
        XCTAssertEqual(evaluate("(0..<10).contains(10)"), "false")
        XCTAssertEqual(evaluate("(5...5).count"), "1")
        XCTAssertEqual(failure("5..<1")?.message, "a range's lower bound 5 is greater than its upper bound 1")
    }

    func testIndexingAndSlicing() {
        XCTAssertEqual(evaluate("let xs = [10, 20, 30, 40, 50, 60]\nxs[0]"), "10")
        XCTAssertEqual(evaluate("let xs = [10, 20, 30, 40, 50, 60]\nxs[1..<5]"), "[20, 30, 40, 50]")
        XCTAssertEqual(evaluate("let xs = [10, 20, 30, 40, 50, 60]\nxs[1...3]"), "[20, 30, 40]")
        XCTAssertEqual(evaluate("\"héllo\"[1]"), "é")
        XCTAssertEqual(evaluate("\"héllo\"[1...3]"), "éll")
        XCTAssertEqual(evaluate("var xs = [1, 2]\nxs[1] = 5\nxs"), "[1, 5]")
        let error = failure("let xs = [1, 2, 3]\nxs[3]")
        XCTAssertEqual(error?.kind, "IndexError")
        XCTAssertEqual(error?.message, "index 3 is out of range for a list of 3 elements")
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.column, 3)
        XCTAssertEqual(failure("[1, 2][0...2]")?.message, "slice 0...2 is out of range for 2 elements")
        XCTAssertEqual(failure("[1][-1]")?.kind, "IndexError")
        XCTAssertEqual(failure("5[0]")?.message, "cannot subscript Int with Int")
    }

    func testTypeErrors() {
        XCTAssertEqual(failure("1 + \"a\"")?.message, "cannot apply `+` to Int and String")
        XCTAssertEqual(failure("\"a\" + 1")?.message, "cannot apply `+` to String and Int; convert with str(...) or use \"\\(...)\"")
        XCTAssertEqual(failure("if 1 { }")?.message, "a condition must be a Bool, got Int 1")
        XCTAssertEqual(failure("let x = 3\nx()")?.message, "`x` is Int 3, not a function")
        XCTAssertEqual(failure("1 < \"a\"")?.message, "cannot compare Int and String with `<`")
        XCTAssertEqual(failure("for x in 5 { }")?.message, "cannot iterate over Int; use a List, Range, String or Record")
        XCTAssertEqual(failure("5.foo")?.message, "Int has no member `foo`")
        XCTAssertEqual(failure("[1].cont")?.message, "List has no member `cont`; did you mean `count`?")
    }

    func testArithmeticErrors() {
        XCTAssertEqual(failure("1 / 0")?.kind, "ZeroDivisionError")
        XCTAssertEqual(failure("1 % 0")?.kind, "ZeroDivisionError")
        XCTAssertEqual(evaluate("1.0 / 0"), "inf")
        let overflow = failure("9223372036854775807 + 1")
        XCTAssertEqual(overflow?.kind, "OverflowError")
        XCTAssertEqual(overflow?.message, "9223372036854775807 + 1 overflows Int (64-bit)")
        XCTAssertEqual(failure("var x = 3037000500\nx * x")?.kind, "OverflowError")
        XCTAssertEqual(failure("let m = -9223372036854775807 - 1\nm / -1")?.kind, "OverflowError")
        XCTAssertEqual(failure("let m = -9223372036854775807 - 1\n-m")?.kind, "OverflowError")
    }

    func testNameErrorSuggestsTheNearestName() {
        let error = failure("let total = 3\nprint(totl)")
        XCTAssertEqual(error?.kind, "NameError")
        XCTAssertEqual(error?.message, "cannot find `totl` in scope; did you mean `total`?")
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.column, 7)
        XCTAssertEqual(failure("pirnt(1)")?.message, "cannot find `pirnt` in scope; did you mean `print`?")
        XCTAssertEqual(failure("zzzzzz")?.message, "cannot find `zzzzzz` in scope")
    }

    func testRunawayRecursionIsBounded() {
        let error = failure("func down(n) { return down(n + 1) }\ndown(0)")
        XCTAssertEqual(error?.kind, "RecursionError")
        XCTAssertEqual(error?.message, "`down` recursed more than 1000 calls deep")
        XCTAssertEqual(evaluate("func deep(n) { if n == 0 { return 0 }; return 1 + deep(n - 1) }\ndeep(900)"), "900")
    }

    func testDeepRecursionThroughBuiltinsStaysOnTheBigStack() {
        XCTAssertEqual(evaluate("func f(n) { if n == 0 { return 0 }; return [n].map { f($0 - 1) }[0] + 1 }\nf(450)"), "450")  // Two user calls per level.
        XCTAssertEqual(failure("func g(n) { return [n].map { g($0) } }\ng(1)")?.kind, "RecursionError")
    }

    func testControlFlowOutsideItsPlace() {
        XCTAssertEqual(failure("break")?.message, "`break` and `continue` can only be used inside a loop")
        XCTAssertEqual(failure("return 1")?.message, "`return` can only be used inside a function")
    }

    func testResultIsTheLastExpression() {
        XCTAssertNil(evaluate("let x = 1"))
        XCTAssertNil(evaluate("print(1)"))  // A call that returns nil shows no result.
        XCTAssertEqual(evaluate("let x = 1\nx + 1"), "2")
        let outputs = Interpreter().execute("print(\"hi\")\n40 + 2")
        XCTAssertEqual(outputs, [.stream(.stdout, "hi\n"), .result(MimeBundle(plain: "42"))])
    }

    func testStatusOfExecute() {
        let interpreter = Interpreter()
        XCTAssertEqual(interpreter.execute("1", emit: { _ in }), .ok)
        if case .error(let error) = interpreter.execute("1/0", emit: { _ in }) {
            XCTAssertEqual(error.kind, "ZeroDivisionError")
        } else {
            XCTFail("expected an error status")
        }
    }

    func testEvaluateExpression() {
        let interpreter = Interpreter()
        _ = interpreter.execute("let xs = [1, 2]")
        XCTAssertEqual(try interpreter.evaluateExpression("xs.count * 10").get(), MimeBundle(plain: "20"))
        if case .failure(let error) = interpreter.evaluateExpression("nope") { XCTAssertEqual(error.kind, "NameError") } else { XCTFail() }
        if case .failure(let error) = interpreter.evaluateExpression("let a = 1") { XCTAssertEqual(error.kind, "SyntaxError") } else { XCTFail() }
    }

    func testErrorStopsTheCell() {
        let outputs = Interpreter().execute("print(1)\nundefinedName\nprint(2)")
        XCTAssertEqual(outputs.count, 2)
        XCTAssertEqual(outputs.first, .stream(.stdout, "1\n"))
    }
}

// Fuzzing: 10,000+ seeded programs (mutated valid programs, token soup, deep nesting) must each
// end in a value or a typed error: no crash, no hang (a step budget and a watchdog interrupt).
import Foundation
import Lang
import XCTest

/// SplitMix64: a small deterministic generator, so a failing program can be reproduced from its seed.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { bound <= 0 ? 0 : Int(next() % UInt64(bound)) }
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

final class FuzzTests: XCTestCase {
    static let corpus: [String] = [
        "let xs = [3, 1, 2]\nxs.sorted().map { $0 * 2 }",
        "var total = 0\nfor i in 0..<10 { total += i }\ntotal",
        "func fact(n) { if n <= 1 { return 1 }; return n * fact(n - 1) }\nfact(10)",
        "let r = [\"a\": 1, \"b\": [2, 3]]\nr.b[1] + r.a",
        "var s = \"\"\nfor c in \"héllo 😀\" { s = c + s }\ns.uppercased()",
        "let f = { x, y in x * y + 1 }\nf(2, 3) > 6 ? \"big\" : \"small\"",
        "var i = 0\nwhile i < 5 { i += 1; if i == 3 { continue } }\ni",
        "print(\"n = \\(1 + 2), list \\([1, 2].count)\")",
        "[1, 2, 3, 4].filter { $0 % 2 == 0 }.reduce(0) { $0 + $1 }",
        "let t = table([[\"q\": \"1+1\", \"a\": 2], [\"q\": \"<b>\", \"a\": 3]])\nt.count",
        "var xs = [1]\nxs.append(2)\nxs.insert(0, at: 0)\nxs[1...2]",
        "round(sqrt(2.0) * 100, places: 1) + abs(-3)",
        "let words = \"a b c\".split()\nwords.joined(separator: \"-\")",
        "func g(x, scale = 2) { return x * scale }\ng(3) + g(3, scale: 5)",
        "%time\nlet big = (1...50).map { $0 * $0 }\nmax(big)",
        "/* block */ let x = 1 // comment\nx ?? 2",
        "var grid = [[1, 2], [3]]\ngrid[0][1] = 9\ngrid",
        "assert(1 < 2, \"fine\")\ntype(of: [\"k\": nil])",
        "let n = int(\"42\") + int(3.7)\nstr(n) + \"!\"",
        "var r = [\"count\": 0]\nfor _ in range(4) { r.count += 1 }\nr",
        "if [1, 2].contains(2) && !\"abc\".hasPrefix(\"b\") { print(\"yes\") } else { print(\"no\") }",
        "let m = -9223372036854775807 - 1\nm + 1",
        "display([[\"a\": 1]])\nclearOutput(wait: true)",
        "let fs = [{ $0 + 1 }, { $0 * 2 }]\nfs.map { $0(10) }",
        "%seed 7\n%who\nlet e = []\ne.first ?? -1",
    ]

    static let hostileValues = [
        "0", "-1", "9223372036854775807", "3037000500", "1e308", "-0.0", "\"\"", "\"😀é\"", "nil", "[]", "[:]",
        "[[\"a\": 1]]", "(0..<1000000)", "true", "xs", "f", "print", "{ $0 }", "range(5)",
    ]

    static let vocabulary = [
        "let", "var", "func", "return", "if", "else", "for", "in", "while", "break", "continue", "true", "false", "nil",
        "x", "xs", "f", "print", "map", "filter", "count", "$0", "$1", "0", "1", "2.5", "\"s\"", "\"\\(x)\"",
        "+", "-", "*", "/", "%", "=", "==", "<", "..<", "...", "&&", "||", "!", "??", "?", ":", ".", ",", ";",
        "(", ")", "[", "]", "{", "}", "\n", " ", "->", "%time", "%who", "/*", "*/", "//", "\"",
    ]

}

/// Generates fuzz programs: mutations of the corpus, token soup and deep nesting.
enum ProgramGenerator {
    /// The program's source split at its tokens' starts, so mutations keep or break tokens whole.
    static func pieces(_ program: String) -> [String] {
        let scalars = Array(program.unicodeScalars)
        let starts = Lexer.tokenize(program).tokens.map(\.start.offset).filter { $0 < scalars.count }
        var bounds = Array(Set([0] + starts)).sorted()
        bounds.append(scalars.count)
        return zip(bounds, bounds.dropFirst()).map { String(String.UnicodeScalarView(scalars[$0..<$1])) }
    }

    static func mutate(_ program: String, _ random: inout SplitMix64) -> String {
        var tokens = pieces(program)
        var characters = Array(program)
        let rounds = 1 + random.below(3)
        let characterLevel = random.below(3) == 0
        for _ in 0..<rounds {
            if characterLevel {
                guard !characters.isEmpty else { break }
                let at = random.below(characters.count)
                switch random.below(4) {
                case 0: characters.remove(at: at)
                case 1: characters.insert(characters[at], at: at)
                case 2: characters.swapAt(at, random.below(characters.count))
                default: characters.insert(random.pick(Array("(){}[]\"\\$%.,;:=+-*/<>!?\n 0aé😀")), at: at)
                }
            } else {
                guard !tokens.isEmpty else { break }
                let at = random.below(tokens.count)
                switch random.below(6) {
                case 0: tokens.remove(at: at)
                case 1: tokens.insert(tokens[at], at: at)
                case 2: tokens.swapAt(at, random.below(tokens.count))
                case 3: tokens.insert(" " + random.pick(FuzzTests.vocabulary) + " ", at: at)
                default:
                    // Keep the program well-formed but feed it hostile values, to reach the evaluator.
                    let operands = tokens.indices.filter { index in
                        let piece = tokens[index].trimmingCharacters(in: .whitespacesAndNewlines)
                        return piece.first.map { $0.isNumber || $0.isLetter || $0 == "\"" } ?? false
                    }
                    guard !operands.isEmpty else { break }
                    tokens[random.pick(operands)] = " " + random.pick(FuzzTests.hostileValues) + " "
                }
            }
        }
        return characterLevel ? String(characters) : tokens.joined()
    }

    static func soup(_ random: inout SplitMix64) -> String {
        (0..<(1 + random.below(40))).map { _ in random.pick(FuzzTests.vocabulary) }.joined(separator: random.below(2) == 0 ? " " : "")
    }

    static func deepNesting(_ random: inout SplitMix64) -> String {
        let depth = 50 + random.below(600)
        let (open, close) = random.pick([("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")"), ("if true { ", " }"), ("-", ""), ("{ $0 + ", " }")])
        let balanced = random.below(3) != 0
        return String(repeating: open, count: depth) + "1" + String(repeating: close, count: balanced ? depth : random.below(depth))
    }

    /// The generated programs, in a fixed order for a fixed seed.
    static func programs(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(state: seed)
        var programs = FuzzTests.corpus
        while programs.count < count {
            switch random.below(10) {
            case 0, 1: programs.append(soup(&random))
            case 2: programs.append(deepNesting(&random))
            default: programs.append(mutate(random.pick(FuzzTests.corpus), &random))
            }
        }
        return programs
    }
}

extension FuzzTests {
    func testCorpusRunsCleanly() {
        for program in FuzzTests.corpus {
            let interpreter = Interpreter()
            let errors = interpreter.execute(program).compactMap { output -> CellError? in
                if case .error(let error) = output { return error } else { return nil }
            }
            if program.hasPrefix("let m =") {
                XCTAssertEqual(errors.map(\.kind), [], program)
            } else {
                XCTAssertEqual(errors.map(\.message), [], program)
            }
        }
    }

    func testTenThousandProgramsNeverCrashOrHang() {
        let programs = ProgramGenerator.programs(count: 10_500, seed: 0x5EED)
        let knownKinds = Set(ErrorKind.allCases.map(\.rawValue))
        var interpreter = Interpreter()
        let watch = RunWatch()
        var kinds: [String: Int] = [:]
        let start = Date()
        for (number, program) in programs.enumerated() {
            if number % 200 == 0 {
                interpreter = Interpreter()
                interpreter.maximumSteps = 5_000
            }
            watch.start(number)
            let current = interpreter
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
                if watch.isRunning(number) { current.interrupt() }  // A watchdog for anything the step budget misses.
            }
            let lineCount = program.split(separator: "\n", omittingEmptySubsequences: false).count
            for output in interpreter.execute(program) {
                guard case .error(let error) = output else { continue }
                kinds[error.kind, default: 0] += 1
                XCTAssertTrue(knownKinds.contains(error.kind), "unknown kind \(error.kind) for \(program.debugDescription)")
                XCTAssertFalse(error.message.isEmpty)
                if let line = error.line {
                    XCTAssertTrue((1...lineCount).contains(line), "line \(line) outside \(program.debugDescription)")
                    XCTAssertGreaterThanOrEqual(error.column ?? 0, 1)
                }
            }
            _ = interpreter.isComplete(program)
            _ = interpreter.complete(program, cursor: number % (program.unicodeScalars.count + 1))
            _ = interpreter.inspect(program, cursor: number % (program.unicodeScalars.count + 1))
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(kinds["SyntaxError", default: 0], 1_000)
        XCTAssertGreaterThan(kinds.count, 5, "\(kinds)")
        print("fuzz: \(programs.count) programs in \(String(format: "%.1f", elapsed)) s; errors by kind: \(kinds.sorted { $0.key < $1.key })")
    }
}

/// Which program is running, for the watchdog that interrupts a program running too long.
final class RunWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var running = -1
    func start(_ number: Int) { lock.lock(); running = number; lock.unlock() }
    func isRunning(_ number: Int) -> Bool { lock.lock(); defer { lock.unlock() }; return running == number }
}

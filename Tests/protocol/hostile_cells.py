"""A seeded generator of hostile cells for Stepwise: deep nesting of code and of values, huge
counts and sizes, extreme numbers, hostile unicode, random garbage and near-valid syntax, and
random builtin calls with hostile arguments. The same seed gives the same cells, so a failure
reproduces from the seed and the cell's number alone.

Every cell it makes finishes on its own (with a value or an error) within seconds: nothing here
waits forever, so a batch can run through `stepwise run` without anyone to interrupt it. Cells
that run until interrupted come from `long_cell`, for the kernel part of the test.
"""
import json
import random

INT_MAX = "Int.max"
INT_MIN = "Int.min"

# Argument values that have broken interpreters before: limits, non-finite numbers, odd strings,
# empty and nested collections, huge ranges, functions where data is expected.
HOSTILE_VALUES = [
    "0", "-1", "1", "2", "7", "-0.0", "0.5", "3037000500", "9223372036854775807", "-9223372036854775807 - 1",
    INT_MAX, INT_MIN, "Int.max - 1", "-Int.max", "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "1e-320",
    "Double.nan", "Double.infinity", "-Double.infinity", "Double.greatestFiniteMagnitude", "1e19", "-9.3e18",
    '""', '"a"', '"😀"', '"e\\u{301}"', '"\\0"', '"\\u{202E}abc\\u{202C}"', '"\\u{FEFF}"', '"שלום"', '"👩‍👩‍👧‍👦"',
    '"\\u{10FFFF}"', '"\\\\(x)"', '"a,b,,c"', '"   "', '"\\n\\t\\r"',
    "[]", "[:]", "nil", "true", "false", "[1, 2, 3]", "[[1], [2, [3]]]", '["a": Int.max]', '[["a": 1], ["b": 2]]',
    "[Double.nan, 1]", "[1, \"a\", nil]", "0..<0", "0..<Int.max", "Int.min..<Int.max", "Int.min...Int.max", "-5..<5",
    "{ $0 }", "{ x, y in x }", "print", "range", "range(3)", "Int", "Double",
]

# Builtins and the labels they take, so calls bind (or fail to bind) in interesting ways.
BUILTINS = {
    "print": ["", "separator", "terminator", "to"], "eprint": ["", "separator"], "display": ["", "id"],
    "updateDisplay": ["", ""], "html": [""], "table": [""], "clearOutput": ["wait"], "assert": ["", ""],
    "type": ["of"], "len": [""], "count": [""], "range": ["", "", "by"], "stride": ["from", "to", "by"],
    "min": ["", ""], "max": ["", ""], "sum": ["", ""], "abs": [""], "round": ["", "places"], "sqrt": [""],
    "pow": ["", ""], "str": [""], "int": [""], "double": [""],
    "plot": ["", "x", "y", "by", "title", "xLabel", "yLabel"],
    "synthetic": ["train", "test", "difficulty", "seed"], "task": ["", "data"], "jsonl": ["", "input", "label"],
    "cot": ["", "shots", "seed"], "program": ["errorRate", "seed"], "replay": [""],
    "t5": ["size", "tokenizer", "vocabulary", "dropout", "seed"], "gguf": ["", "maxTokens", "temperature", "topK"],
    "openai": ["baseURL", "model", "maxTokens", "timeout", "concurrency", "retries"],
    "train": ["", "on", "steps", "batch", "lr"], "evaluate": ["", "on", "maxTokens", "batch"],
    "sweep": ["", "steps", "batch", "seeds", "fractions"], "finetune": [], "distill": [], "stepByStep": ["alpha"],
    "sleep": [""], "input": [""],
}

MEMBERS = [
    ".count", ".isEmpty", ".first", ".last", ".map { $0 }", ".map { [$0, $0] }", ".filter { true }",
    ".reduce(0) { $0 }", ".sorted()", ".sorted { $0 > $1 }", ".contains(1)", ".joined(separator: \"-\")",
    ".reversed()", ".enumerated()", ".keys", ".values", ".uppercased()", ".lowercased()", ".trimmed()",
    ".split()", ".split(separator: \",\")", ".split(separator: \"\")", ".replacing(\"a\", with: \"bb\")",
    ".hasPrefix(\"\")", ".lowerBound", ".upperBound", "[0]", "[-1]", "[Int.max]", "[Int.min]", "[0...Int.max]",
    "[1..<0]", "[\"a\"]", ".svg", ".series", ".rows", ".columns", ".train", ".sizes", ".max", ".nan",
]

UNICODE_PIECES = [
    "e\u0301", "\u0301\u0301\u0301", "\u202e", "\u200f", "\u200d", "\ufeff", "😀", "👩‍👩‍👧‍👦", "🇫🇷", "שלום",
    "مرحبا", "ǅ", "ß", "İ", "ﬃ", "\u00a0", "\u2028", "\u0000", "\ud7ff", "\U0010ffff", "\x7f", "\\u{D800}",
    "\\u{DFFF}", "\\u{110000}", "\\u{}", "\\u{0}", "\\0", "\\(", "\"", "\\", "`", "$", "$0", "$99", "$100",
]

# Interruptible work for the kernel part: each runs far longer than the test waits, and stays
# well inside the memory limit the test sets (64 MB), so only an interrupt ends it.
LONG_CELLS = [
    "while true { }",
    "var i = 0\nwhile true { i += 1 }",
    "sleep(100)",
    "for i in 0..<Int.max { }",
    "var xs = []\nwhile true { xs.append(1); if xs.count > 1000 { xs = [] } }",
    "func f(n) { return n < 1 ? 0 : f(n - 1) + 1 }\nwhile true { f(900) }",
    "while true { range(2000000).map { $0 * 2 }.sorted { $0 > $1 } }",
    "var s = \"ab \"\nfor i in 0..<18 { s += s }\nwhile true { s.split().count }",
    "var s = \"ab\"\nfor i in 0..<22 { s += s }\nwhile true { s.replacing(\"a\", with: \"c\").count }",
    "while true { synthetic(train: 20000, test: 1) }",
    "let big = \"[\" + range(1500000).map { _ in \"1\" }.joined(separator: \",\") + \"]\"\nwhile true { big.count }",
    "var n = 0\nfor a in 0..<Int.max { for b in 0..<10 { n += b } }",
    "while true { plot(range(20000).map { $0 * 1e300 }).svg.count }",
    "var r = [:]\nvar i = 0\nwhile true { r[str(i % 5000)] = i; i += 1 }",
]


class HostileCells:
    """Makes hostile cells from a seed; `cell()` returns (category, source)."""

    CATEGORIES = ["deep_code", "deep_value", "huge_count", "extreme_number", "unicode", "garbage",
                  "near_valid", "builtin_call"]

    def __init__(self, seed):
        self.random = random.Random(seed)

    def cell(self):
        category = self.random.choice(self.CATEGORIES)
        return category, getattr(self, category)()

    def long_cell(self):
        return self.random.choice(LONG_CELLS)

    def value(self):
        return self.random.choice(HOSTILE_VALUES)

    # Deep nesting of code: the parser must refuse it quickly, never overflow its stack.
    def deep_code(self):
        r = self.random
        # Big nestings cost a lexer pass each; the biggest come up less often.
        n = r.choice([50, 127, 128, 129, 500, 5000, 20000] * 3 + [100000])
        kind = r.randrange(12)
        if kind == 0:
            return "(" * n + "1" + ")" * r.choice([0, n])
        if kind == 1:
            return "[" * n + "]" * r.choice([0, n])
        if kind == 2:
            return "{" * n + "}" * r.choice([0, n])
        if kind == 3:
            return "}" * n
        if kind == 4:
            return "if true { " * n + "1" + " }" * r.choice([0, n])
        if kind == 5:
            return "-" * n + "1"
        if kind == 6:
            return "x" + ".a" * n
        if kind == 7:
            return "1" + " + 1" * n
        if kind == 8:
            return '"\\(' * min(n, 5000) + "1" + ')"' * min(n, 5000)
        if kind == 9:
            return "%time\n" * min(n, 2000) + "1"
        if kind == 10:
            return "f(" * n + ")" * n
        return "let x = " + "[1, " * n + "2" + "]" * n

    # Deep nesting of values: building, printing, comparing and freeing must stay bounded.
    def deep_value(self):
        r = self.random
        n = r.choice([10, 998, 999, 1000, 1001, 5000, 50000])
        forms = [
            f"var v = []\nfor i in 0..<{n} {{ v = [v] }}\nv == v",
            f"var v = [:]\nfor i in 0..<{n} {{ v = [\"k\": v] }}\nstr(v).count",
            f"var v = [1]\nfor i in 0..<{n} {{ var w = [i]; w.append(v); v = w }}\nv",
            f"var v = [0]\nfor i in 0..<{n} {{ v[0] = [v] }}\n[v].count",
            f"var t = table([[\"a\": 1]])\nfor i in 0..<{n} {{ t = table([[\"a\": t]]) }}\nt",
            f"var x = [1, 2]\nfor i in 0..<{min(n, 200)} {{ x = [x, x] }}\nx == x",
            f"var f = {{ 0 }}\nfor i in 0..<{n} {{ let g = f; f = {{ g() + 1 }} }}\nf()",
            f"func deep(n) {{ return n == 0 ? [] : [deep(n - 1)] }}\ndeep({n})",
            f"var v = []\nfor i in 0..<{n} {{ v = [v] }}\nlet w = v\nv == w ? v.count : 0",
            f"var s = []\nfor i in 0..<{n} {{ s = [s, \"\\(i)\"] }}\nprint(s)",
        ]
        return r.choice(forms)

    # Huge counts and sizes: every one is refused before the work or the allocation it asks for.
    def huge_count(self):
        r = self.random
        # Each is out of bounds, or a size past the memory limit: refused before any real work.
        big = r.choice([INT_MAX, INT_MIN, "100000000", "3000000000", "-1", "9223372036854775807", "1e19", "Double.nan"])
        invalid = r.choice([INT_MAX, INT_MIN, "-1", "1e19", "Double.nan"])  # Out of every bound (a seed included).
        forms = [
            f"synthetic(train: {big}, test: 1)",
            f"synthetic(train: 1, test: {big})",
            "synthetic(train: 1000001, test: 0)",
            "plot(0..<1000001)",
            f"range({big}).map {{ $0 }}",
            f"range(0, {big}).filter {{ $0 > 0 }}",
            f"stride(from: 0, to: {big}, by: 1)",
            f"stride(from: {big}, to: 0, by: -1)",
            f"(0..<{big}).reversed()",
            f"[1, 2, 3][0...{big}]",
            f"\"abc\"[{big}]",
            f"plot(0..<{big})",
            f"round(1.5, places: {big})",
            f"(0..<{big}).count",
            f"max(0..<{big})",
            f"t5(size: \"tiny\", tokenizer: synthetic(train: 4, test: 1), vocabulary: {big})",
            f"cot(synthetic(train: 4, test: 1), shots: {big})",
            f"gguf(\"no.gguf\", maxTokens: {big})",
            f"sweep(synthetic(train: 4, test: 1), steps: {invalid})",
            f"sweep(synthetic(train: 4, test: 1), seeds: [{invalid}])",
            f"int({big})",
            f"\"ab\".split(separator: \"\").count + {big}",
        ]
        # Growth until the memory limit allocates up to the limit: real work, so rarer.
        growth = [
            "var s = \"ab\"\nwhile true { s += s }",
            "var xs = [1]\nwhile true { xs += xs }",
            "var s = \"x\"\nwhile true { s = \"\\(s)\\(s)\" }",
            "var xs = [[1]]\nwhile true { xs = xs + xs }",
        ]
        return r.choice(growth) if r.random() < 0.04 else r.choice(forms)

    # Extreme numbers through arithmetic, conversion, comparison, sorting, printing and plotting.
    def extreme_number(self):
        r = self.random
        numbers = ["Int.max", "Int.min", "-Int.max", "1e308", "-1e308", "Double.nan", "Double.infinity",
                   "-Double.infinity", "-0.0", "0", "-1", "5e-324", "1.7976931348623157e308", "9223372036854775807"]
        a, b = r.choice(numbers), r.choice(numbers)
        op = r.choice(["+", "-", "*", "/", "%", "<", "==", "..<", "...", "??", "&&"])
        forms = [
            f"{a} {op} {b}",
            f"-({a}) {op} -({b})",
            f"var x = {a}\nx {r.choice(['+=', '-=', '*=', '/=', '%='])} {b}\nx",
            f"[int({a}), double({b})]",
            f"[{a}, {b}, {a}].sorted()",
            f"plot([{a}, {b}, {r.choice(numbers)}]).svg.count",
            f"plot([[{a}, {b}], [{b}, {a}]], title: \"\\({a})\").svg.count",
            f"plot([\"s\": [{a}, {b}]]).svg.count",
            f"round({a}, places: {r.randrange(-2, 20)})",
            f"[abs({a}), sqrt({b}), pow({a}, {b})]",
            f"str({a}) + str({b})",
            f"sum([{a}, {b}])",
            f"[min({a}, {b}), max({a}, {b})]",
            f"range({a}, {b}, by: {r.choice(numbers)})",
            f"\"\\({a}) \\({b})\".count",
        ]
        return r.choice(forms)

    def _unicode_text(self, length):
        return "".join(self.random.choice(UNICODE_PIECES) for _ in range(length))

    # Hostile unicode in strings, identifiers and source: combining marks, RTL, emoji, NUL, lone surrogates.
    def unicode(self):
        r = self.random
        text = self._unicode_text(r.randrange(1, 30))
        member = r.choice([".count", ".uppercased()", ".lowercased()", ".split()", ".reversed()",
                           ".split(separator: \"\\u{301}\")", ".replacing(\"e\", with: \"\\u{301}\")", "[0]", "[1...2]",
                           ".trimmed()", ".contains(\"\\u{202E}\")", ".hasSuffix(\"😀\")"])
        forms = [
            f"\"{text}\"{member}",
            f"let {text} = 1",
            f"let x{self._unicode_text(3)} = \"{text}\"\nx",
            f"print(\"{text}\")",
            f"[\"{text}\": \"{text}\"]",
            f"\"{text}\" == \"{text}\"",
            f"table([[\"{text}\": \"{text}\"]])",
            f"plot([1, 2], title: \"{text}\").svg.count",
            text,
            f"%help {text}",
            f"\"{text}\" + str([\"{text}\"])",
        ]
        return r.choice(forms)

    # Random garbage: bytes, tokens and symbols in any order.
    def garbage(self):
        r = self.random
        kind = r.randrange(4)
        if kind == 0:
            return "".join(chr(r.randrange(1, 0x2FF)) for _ in range(r.randrange(1, 200)))
        if kind == 1:
            tokens = ["let", "var", "func", "if", "else", "for", "in", "while", "return", "{", "}", "(", ")", "[", "]",
                      ":", ",", ".", "..<", "...", "=", "==", "+", "-", "*", "/", "%", "?", "??", "!", "&&", "$0",
                      "\"", "\\(", "//", "/*", "*/", "%time", "%who", "x", "1", "1e308", "\n", ";", "->", "@", "#"]
            return " ".join(r.choice(tokens) for _ in range(r.randrange(1, 300)))
        if kind == 2:
            return r.choice(["@", "#", "\\", "`", "~", "^", "|", "&", "'"]) * r.choice([1, 1000, 20000] * 3 + [200000])
        return "".join(r.choice("()[]{}\"\\$%.,:;\n ") for _ in range(r.randrange(1, 2000)))

    # Near-valid syntax: a valid program with one thing broken.
    def near_valid(self):
        r = self.random
        programs = [
            "let xs = [3, 1, 2]\nxs.sorted().map { $0 * 2 }",
            "var total = 0\nfor i in 0..<10 { total += i }\ntotal",
            "func fact(n) { if n <= 1 { return 1 }; return n * fact(n - 1) }\nfact(25)",
            "let r = [\"a\": 1, \"b\": [2, 3]]\nr.b[1] + r.a",
            "var s = \"\"\nfor c in \"héllo 😀\" { s = c + s }\ns.uppercased()",
            "let t = table([[\"q\": \"1+1\", \"a\": 2]])\nt.rows",
            "%time\nlet big = (1...500).map { $0 * $0 }\nmax(big)",
            "let s = synthetic(train: 20, test: 5, seed: 3)\ns.train[0].input",
            "let p = cot(synthetic(train: 20, test: 5), shots: 2)\np.shots",
            "program().explain(synthetic(train: 3, test: 1).train, store: nil).accuracy",
        ]
        program = list(r.choice(programs))
        for _ in range(r.randrange(1, 4)):
            position = r.randrange(len(program) + 1)
            action = r.randrange(3)
            if action == 0 and program:
                del program[min(position, len(program) - 1)]
            elif action == 1:
                program.insert(position, r.choice("{}()[]\"\\$.,:;=+-*/%<>!?0123456789 \nxyz"))
            elif program:
                program[min(position, len(program) - 1)] = r.choice("{}()[]\"0")
        return "".join(program)

    # Random builtin calls with hostile arguments, hostile members of hostile values, and magics
    # with hostile arguments (never one that raises the memory limit).
    def builtin_call(self):
        r = self.random
        if r.random() < 0.05:
            return r.choice(["%memory 0", "%memory -1", "%memory 1e30GB", "%memory x", "%seed -1", "%seed 99999999999999999999",
                             "%threads 0", "%threads 100000", "%threads x", "%help", "%help " + "x" * 100000, "%who", "%time " + self.value(),
                             "%nosuch", "%"]) + "\n" + self.value()
        if r.random() < 0.3:
            return f"({self.value()}){r.choice(MEMBERS)}"
        name = r.choice(list(BUILTINS))
        labels = BUILTINS[name]
        arguments = []
        for label in r.sample(labels, r.randrange(0, len(labels) + 1)) if labels else []:
            value = self.value()
            if name == "sleep":  # A real wait would hold the batch up; these all fail at once.
                value = r.choice(["-1", "Double.nan", "Double.infinity", "-Double.infinity", "\"1\"", "nil", "[]"])
            if name in ("synthetic",) and value in ("7", "2", "1", "3037000500"):
                value = "-1"
            arguments.append(f"{label}: {value}" if label else value)
        return f"{name}({', '.join(arguments)})"


def notebook(cells):
    """An nbformat 4 notebook of code cells, each tagged `raises-exception` so that `stepwise run`
    goes on after a cell fails; a marker cell before each one says which cell the errors belong to."""
    out = []
    for number, source in enumerate(cells):
        out.append({"cell_type": "code", "metadata": {}, "source": f'eprint("@@cell {number}")', "outputs": [],
                    "execution_count": None})
        out.append({"cell_type": "code", "metadata": {"tags": ["raises-exception"]}, "source": source, "outputs": [],
                    "execution_count": None})
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


if __name__ == "__main__":
    generator = HostileCells(1)
    for _ in range(20):
        category, source = generator.cell()
        print(f"--- {category}\n{source[:300]}")

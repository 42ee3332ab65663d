// Trained vocabularies: special ids, exact round-trips on held-out text, size, determinism,
// compression on generated arithmetic word problems, and training time.
import Foundation
import Models
import XCTest

final class VocabularyTrainerTests: XCTestCase {
    static let placeholders = (UInt8(ascii: "a")...UInt8(ascii: "z")).map { "num" + String(UnicodeScalar($0)) }
    static let specials = ["[label]", "[rationale]"] + placeholders

    /// `count` arithmetic word problems from a fixed-seed generator (no randomness across runs).
    static func wordProblems(_ count: Int, seed: UInt64 = 42) -> [String] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let names = ["Alice", "Bob", "Carla", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "José"]
        let things = ["apples", "marbles", "books", "pencils", "cookies", "stickers", "coins", "cards"]
        let verbs = ["buys", "finds", "receives", "collects", "gives away", "loses", "sells", "eats"]
        return (0..<count).map { _ in
            let who = names[next(names.count)], other = names[next(names.count)], thing = things[next(things.count)]
            let a = next(500), b = next(100), c = next(12) + 2
            switch next(4) {
            case 0: return "\(who) has \(a) \(thing). \(who) \(verbs[next(verbs.count)]) \(b) more. How many \(thing) does \(who) have now?"
            case 1: return "\(who) gives \(other) \(b) of \(a) \(thing). How many \(thing) are left? Answer: \(a - b)."
            case 2: return "Each box holds \(c) \(thing). \(other) fills \(b) boxes, so there are \(b * c) \(thing) in total."
            default: return "If \(who) splits \(a) \(thing) among \(c) friends, each friend gets \(a / c) and \(a % c) remain."
            }
        }
    }

    static let heldOut = [
        "Zoë paid €12.50 for 3 croissants, didn't she? (Yes!)",
        "Ünïcödé façade — naïve café; 42% off 🎉🙂👍🏽",
        "Tabs\tand\nnewlines, plus  double  spaces and 1234567890.",
        "Brand-new words: quixotic, zephyr, jukebox; symbols #$&*+=<>@^_`|~",
    ]

    // MARK: Specials

    func checkSpecials(_ tokenizer: any Tokenizer) {
        let expected = ["<pad>", "</s>", "<unk>"] + Self.specials
        for (id, text) in expected.enumerated() {
            XCTAssertEqual(tokenizer.tokenText(id), text)
            // UnigramTokenizer keeps `<unk>` typed unknown, as spiece.model does, so written `<unk>` is plain text there.
            if tokenizer is UnigramTokenizer && text == "<unk>" { continue }
            XCTAssertEqual(tokenizer.encode(text), [id], text)
        }
        XCTAssertEqual(tokenizer.eosTokenID, 1)
        let ids = tokenizer.encode("[label] numa + numb = numc")
        XCTAssertEqual(ids.first, 3)
        for placeholder in ["numa", "numb", "numc"] {
            XCTAssertEqual(ids.filter { $0 == expected.firstIndex(of: placeholder) }.count, 1, placeholder)
        }
    }

    func testBPESpecialsRoundTripAndSize() throws {
        let corpus = Self.wordProblems(2000)
        let bpe = try VocabularyTrainer.trainBPE(texts: corpus, vocabularySize: 600, specialTokens: Self.specials)
        XCTAssertEqual(bpe.vocabularySize, 600, "enough repeated pairs: exactly the size asked for")
        checkSpecials(bpe)
        for text in Self.heldOut + ["[label] numa + numb = numc [rationale] ok"] {
            XCTAssertEqual(bpe.decode(bpe.encode(text)), text)
        }
        XCTAssertEqual(bpe.decode(bpe.encode("</s> x"), skipSpecial: true), " x")
    }

    func testUnigramSpecialsRoundTripAndSize() throws {
        let corpus = Self.wordProblems(2000)
        let unigram = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 600, specialTokens: Self.specials)
        XCTAssertEqual(unigram.vocabularySize, 600, "enough substrings: exactly the size asked for")
        checkSpecials(unigram)
        XCTAssertEqual(unigram.tokenText(3 + Self.specials.count), "<0x00>", "byte pieces follow the specials")
        for text in Self.heldOut {
            XCTAssertEqual(unigram.decode(unigram.encode(text)), text)
        }
        // UnigramTokenizer puts a `▁` before every run after a special (as T5's tokenizer does), so
        // the text around specials comes back with its spaces doubled; the words all survive.
        let withSpecials = "[label] numa + numb = numc [rationale] ok"
        let decoded = unigram.decode(unigram.encode(withSpecials))
        XCTAssertEqual(decoded.split(separator: " "), withSpecials.split(separator: " "), decoded)
        print("Unigram round-trip around specials: \(decoded.debugDescription)")
        // Unseen characters fall back to bytes, never to <unk>.
        XCTAssertFalse(unigram.encode("🎉 ok").contains(2))
        let noBytes = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 300, byteFallback: false)
        XCTAssertTrue(noBytes.encode("🎉 ok").contains(2), "without byte fallback unseen characters are <unk>")
    }

    func testSmallCorpusGivesSmallerVocabulary() throws {
        let texts = ["abc abc", "abd"]
        let bpe = try VocabularyTrainer.trainBPE(texts: texts, vocabularySize: 1000)
        XCTAssertLessThan(bpe.vocabularySize, 1000, "stops once no pair is seen twice")
        XCTAssertGreaterThan(bpe.vocabularySize, 3 + 256)
        let unigram = try VocabularyTrainer.trainUnigram(texts: texts, vocabularySize: 1000)
        XCTAssertLessThan(unigram.vocabularySize, 1000)
        XCTAssertEqual(unigram.decode(unigram.encode("abc dab")), "abc dab")
    }

    func testTooSmallVocabularyThrows() {
        XCTAssertThrowsError(try VocabularyTrainer.trainBPE(texts: ["hello"], vocabularySize: 200, specialTokens: ["[x]"])) {
            XCTAssertEqual($0 as? VocabularyTrainerError,
                           .vocabularyTooSmall(requested: 200, minimum: 260, why: "4 special tokens + 256 byte symbols"))
            XCTAssertTrue("\($0)".contains("at least 260"))
        }
        XCTAssertThrowsError(try VocabularyTrainer.trainUnigram(texts: ["hello"], vocabularySize: 262)) {
            // 3 specials + 256 bytes + 5 characters (▁ h e l o)
            guard case .vocabularyTooSmall(_, let minimum, _) = $0 as? VocabularyTrainerError else { return XCTFail("\($0)") }
            XCTAssertEqual(minimum, 264)
        }
        XCTAssertThrowsError(try VocabularyTrainer.trainBPE(texts: [], vocabularySize: 500, specialTokens: ["</s>"]))
        XCTAssertThrowsError(try VocabularyTrainer.trainUnigram(texts: [], vocabularySize: 500, specialTokens: [""]))
    }

    func testSplitDigits() throws {
        let corpus = Self.wordProblems(1000)
        let bpe = try VocabularyTrainer.trainBPE(texts: corpus, vocabularySize: 500, splitDigits: true)
        let unigram = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 500, splitDigits: true)
        for tokenizer in [bpe, unigram] as [any Tokenizer] {
            for id in 0..<tokenizer.vocabularySize {
                guard let text = tokenizer.tokenText(id), !text.hasPrefix("<") else { continue }
                let digits = text.unicodeScalars.filter { ("0"..."9").contains($0) }.count
                XCTAssertTrue(digits == 0 || text.unicodeScalars.count == 1, "'\(text)' joins a digit to something")
            }
            let ids = tokenizer.encode("Bob has 1234 apples")
            let pieces = ids.compactMap { tokenizer.tokenText($0) }
            XCTAssertTrue(["1", "2", "3", "4"].allSatisfy(pieces.contains), "\(pieces)")
            XCTAssertEqual(tokenizer.decode(ids), "Bob has 1234 apples")
        }
    }

    func testDeterminism() throws {
        let corpus = Self.wordProblems(1500, seed: 7)
        let a = try VocabularyTrainer.trainBPE(texts: corpus, vocabularySize: 700)
        let b = try VocabularyTrainer.trainBPE(texts: corpus, vocabularySize: 700)
        XCTAssertEqual(a.tokens, b.tokens)
        XCTAssertEqual(a.encode(Self.heldOut[0]), b.encode(Self.heldOut[0]))
        let u = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 700)
        let v = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 700)
        XCTAssertEqual(u.pieces, v.pieces)
    }

    // MARK: Compression and speed

    func testCompressionOnWordProblems() throws {
        let train = Self.wordProblems(2000), test = Self.wordProblems(200, seed: 99)
        let characters = test.reduce(0) { $0 + $1.count }
        let bpe = try VocabularyTrainer.trainBPE(texts: train, vocabularySize: 1000)
        let unigram = try VocabularyTrainer.trainUnigram(texts: train, vocabularySize: 1000)
        for (name, tokenizer) in [("BPE", bpe), ("Unigram", unigram)] as [(String, any Tokenizer)] {
            let tokens = test.reduce(0) { $0 + tokenizer.encode($1).count }
            let ratio = Double(tokens) / Double(characters)
            print("\(name) vocab 1000: \(tokens) tokens for \(characters) characters = \(String(format: "%.3f", ratio)) tokens/char")
            XCTAssertLessThan(ratio, 0.4, name)
        }
    }

    /// `count` sentences of 6–14 made-up words built from syllables: far more distinct words than
    /// the word problems, so that a 2000-entry vocabulary fills up.
    static func babble(_ count: Int, seed: UInt64 = 5) -> [String] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        let syllables = ["ka", "lo", "mi", "ter", "sun", "pra", "ve", "dor", "qui", "ble", "an", "os", "ri", "ne",
                         "zul", "fa", "gho", "tre", "ix", "um", "pe", "sto", "wa", "char"]
        return (0..<count).map { _ in
            (0..<(6 + next(9))).map { _ in
                let word = (0..<(1 + next(3))).map { _ in syllables[next(syllables.count)] }.joined()
                return next(10) == 0 ? word.capitalized + "," : word
            }.joined(separator: " ") + "."
        }
    }

    func testTrainingSpeed() throws {
        let corpus = Self.wordProblems(5_000, seed: 3) + Self.babble(5_000)
        var start = Date()
        let bpe = try VocabularyTrainer.trainBPE(texts: corpus, vocabularySize: 2000, specialTokens: Self.specials)
        let bpeSeconds = Date().timeIntervalSince(start)
        start = Date()
        let unigram = try VocabularyTrainer.trainUnigram(texts: corpus, vocabularySize: 2000, specialTokens: Self.specials)
        let unigramSeconds = Date().timeIntervalSince(start)
        print(String(format: "training on 10,000 sentences (%d characters) at vocab 2000: BPE %.2f s (%d tokens), Unigram %.2f s (%d pieces)",
                     corpus.reduce(0) { $0 + $1.count }, bpeSeconds, bpe.vocabularySize, unigramSeconds, unigram.vocabularySize))
        XCTAssertEqual(bpe.vocabularySize, 2000)
        XCTAssertEqual(unigram.vocabularySize, 2000)
        XCTAssertLessThan(bpeSeconds, 20)
        XCTAssertLessThan(unigramSeconds, 20)
    }
}

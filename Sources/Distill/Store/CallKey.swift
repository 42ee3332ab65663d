// The rationale store's cache keys: `CallKey` and the SHA-256 (FIPS 180-4) it is made with, in
// plain Swift. No crypto package is available to this layer, and a key must be the same on every
// machine and in every process (Swift's `hashValue` is seeded per run), so the digest is computed
// here and tested against the standard's test vectors.

/// The key of one teacher call in the rationale store: SHA-256 of the teacher's identity, the
/// prompt text and the sample index.
///
/// The hashed text is `stepwise-call-v1` followed by each field as `<utf8 length>:<text>\n`, in the
/// order kind, model, settings, prompt, sample; the length prefix keeps field boundaries
/// unambiguous. The key is 64 lowercase hex digits and is stable across processes and machines;
/// changing this recipe would orphan every stored row, so it carries a version.
public enum CallKey {
    /// The key of a call.
    /// - Parameters:
    ///   - identity: The teacher's identity.
    ///   - prompt: The prompt text (`Teacher.promptText`).
    ///   - sample: The 0-based sample index.
    public static func make(identity: TeacherIdentity, prompt: String, sample: Int) -> String {
        var text = "stepwise-call-v1\n"
        for field in [identity.kind, identity.model, identity.settings, prompt, String(sample)] {
            text += "\(field.utf8.count):\(field)\n"
        }
        return SHA256.hash(text).hex
    }
}

/// The SHA-256 digest of a byte sequence.
///
/// Not tuned for speed: a key hashes a few kilobytes of prompt, which takes microseconds.
public struct SHA256Digest: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes of the digest.
    public let bytes: [UInt8]

    /// The digest as 64 lowercase hexadecimal digits.
    public var hex: String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }

    public var description: String { hex }
}

/// Computes SHA-256 digests.
public enum SHA256 {
    /// The digest of a string's UTF-8 bytes.
    /// - Parameters:
    ///   - text: The text to hash.
    public static func hash(_ text: String) -> SHA256Digest {
        hash(bytes: Array(text.utf8))
    }

    /// The digest of bytes.
    /// - Parameters:
    ///   - bytes: The message.
    public static func hash(bytes message: [UInt8]) -> SHA256Digest {
        var state = initialState
        // Padding: a 1 bit, zeros up to 56 bytes mod 64, then the bit length as a big-endian UInt64.
        var padded = message
        padded.append(0x80)
        while padded.count % 64 != 56 { padded.append(0) }
        let bitLength = UInt64(message.count) &* 8
        for shift in stride(from: 56, through: 0, by: -8) {
            padded.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        var schedule = [UInt32](repeating: 0, count: 64)
        var blockStart = 0
        while blockStart < padded.count {
            compress(&state, block: padded[blockStart..<(blockStart + 64)], schedule: &schedule)
            blockStart += 64
        }
        var digest: [UInt8] = []
        digest.reserveCapacity(32)
        for word in state {
            digest.append(UInt8(truncatingIfNeeded: word >> 24))
            digest.append(UInt8(truncatingIfNeeded: word >> 16))
            digest.append(UInt8(truncatingIfNeeded: word >> 8))
            digest.append(UInt8(truncatingIfNeeded: word))
        }
        return SHA256Digest(bytes: digest)
    }

    // MARK: - The compression function (FIPS 180-4, section 6.2.2)

    private static func compress(_ state: inout [UInt32], block: ArraySlice<UInt8>, schedule w: inout [UInt32]) {
        let base = block.startIndex
        for t in 0..<16 {
            let i = base + 4 * t
            w[t] = UInt32(block[i]) << 24 | UInt32(block[i + 1]) << 16 | UInt32(block[i + 2]) << 8 | UInt32(block[i + 3])
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = state[0], b = state[1], c = state[2], d = state[3]
        var e = state[4], f = state[5], g = state[6], h = state[7]
        for t in 0..<64 {
            let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let choose = (e & f) ^ (~e & g)
            let temp1 = h &+ sum1 &+ choose &+ roundConstants[t] &+ w[t]
            let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let majority = (a & b) ^ (a & c) ^ (b & c)
            let temp2 = sum0 &+ majority
            h = g; g = f; f = e; e = d &+ temp1
            d = c; c = b; b = a; a = temp1 &+ temp2
        }
        state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
        state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
    }

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    private static let initialState: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]

    private static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
}

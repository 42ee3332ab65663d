// HMAC-SHA256 message signing through OpenSSL 3's EVP_MAC, and constant-time verification.

import COpenSSL
import Foundation

/// Signs and verifies the four JSON frames of a message with the connection file's key.
/// An empty key disables signing: signatures are empty and every message verifies.
public final class Signer: @unchecked Sendable {
    /// Whether messages are signed at all.
    public let enabled: Bool
    // A context initialised with the key once; each signature works on a copy, so that the shell
    // and control threads can sign at the same time.
    private let template: OpaquePointer?
    private let mac: OpaquePointer?

    /// Creates a signer for `key` (the UTF-8 bytes of the connection file's `key`).
    /// - Parameter key: the shared secret; empty means no signing.
    public init(key: Data) throws {
        enabled = !key.isEmpty
        guard enabled else { template = nil; mac = nil; return }
        guard let mac = EVP_MAC_fetch(nil, "HMAC", nil), let ctx = EVP_MAC_CTX_new(mac) else {
            throw KernelError.crypto("OpenSSL has no HMAC")
        }
        self.mac = mac
        self.template = ctx
        let ok = "digest".withCString { name -> Int32 in
            "SHA256".withCString { digest -> Int32 in
                var params = [
                    OSSL_PARAM_construct_utf8_string(name, UnsafeMutablePointer(mutating: digest), 0),
                    OSSL_PARAM_construct_end(),
                ]
                return key.withUnsafeBytes { raw in
                    EVP_MAC_init(ctx, raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &params)
                }
            }
        }
        guard ok == 1 else { throw KernelError.crypto("could not initialise HMAC-SHA256") }
    }

    /// A signer for an empty key: signatures are empty and every message verifies.
    public static var unsigned: Signer { Signer() }

    private init() { enabled = false; template = nil; mac = nil }

    deinit {
        EVP_MAC_CTX_free(template)
        EVP_MAC_free(mac)
    }

    /// The lowercase hex HMAC-SHA256 of `parts` in order; empty when signing is disabled.
    public func signature(_ parts: [Data]) -> String {
        guard enabled, let ctx = EVP_MAC_CTX_dup(template) else { return "" }
        defer { EVP_MAC_CTX_free(ctx) }
        for part in parts {
            part.withUnsafeBytes { raw in
                _ = EVP_MAC_update(ctx, raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
            }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length = 0
        guard EVP_MAC_final(ctx, &digest, &length, digest.count) == 1 else { return "" }
        return Signer.hex(digest.prefix(length))
    }

    /// Whether `signature` is the right one for `parts`. Compares in constant time once the
    /// lengths agree, so that timing reveals nothing about how much of a forged signature matched.
    public func verify(_ signature: Data, _ parts: [Data]) -> Bool {
        guard enabled else { return true }
        let expected = Data(self.signature(parts).utf8)
        guard !expected.isEmpty, signature.count == expected.count else { return false }
        return expected.withUnsafeBytes { e in
            signature.withUnsafeBytes { s in
                CRYPTO_memcmp(e.baseAddress, s.baseAddress, e.count) == 0
            }
        }
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

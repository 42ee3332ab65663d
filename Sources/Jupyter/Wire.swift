// The wire framing: identities, `<IDS|MSG>`, signature, four JSON frames and buffers. Decoding
// checks the signature before it parses anything, and says whether a bad message can be answered.

import Foundation

/// Why a list of frames is not a usable message.
public enum WireError: Error, Equatable {
    /// No `<IDS|MSG>` delimiter, or fewer than the five frames that must follow it.
    case truncated(String)
    /// The signature is missing or wrong; the message must be dropped unanswered.
    case badSignature
    /// The header is not a JSON object with `msg_id` and `msg_type`: nobody to answer.
    case badHeader(String)
    /// The header is fine but another part is not: answer `reply` with an error.
    case badBody(reply: Message, reason: String)
}

/// Encodes and decodes messages as ZeroMQ multipart frames.
public enum Wire {
    /// The frame that separates routing identities from the message.
    public static let delimiter = Data("<IDS|MSG>".utf8)

    /// Frames for `message`, signed with `signer`.
    public static func encode(_ message: Message, signer: Signer) -> [Data] {
        let parts = [message.header.serialized, message.parentHeader.serialized,
                     message.metadata.serialized, message.content.serialized]
        return message.identities + [delimiter, Data(signer.signature(parts).utf8)] + parts + message.buffers
    }

    /// Parses `frames` into a message after checking its signature.
    /// - Throws: `WireError`; `.badBody` carries enough of the message to address an error reply.
    public static func decode(_ frames: [Data], signer: Signer) throws -> Message {
        guard let split = frames.firstIndex(of: delimiter) else {
            throw WireError.truncated("no <IDS|MSG> delimiter in \(frames.count) frames")
        }
        let identities = Array(frames[..<split])
        let rest = Array(frames[(split + 1)...])
        guard rest.count >= 5 else {
            throw WireError.truncated("\(rest.count) frames after the delimiter, need at least 5")
        }
        guard signer.verify(rest[0], Array(rest[1...4])) else { throw WireError.badSignature }

        guard let header = try? JSON(parsing: rest[1]), header.object != nil,
              let type = header["msg_type"]?.string, !type.isEmpty, header["msg_id"]?.string != nil else {
            throw WireError.badHeader("the header is not a JSON object with msg_id and msg_type")
        }
        var message = Message(identities: identities, header: header, buffers: Array(rest[5...]))
        let names = ["parent_header", "metadata", "content"]
        for (index, name) in names.enumerated() {
            guard let value = try? JSON(parsing: rest[index + 2]), value.object != nil else {
                throw WireError.badBody(reply: message, reason: "\(name) is not a JSON object")
            }
            switch index {
            case 0: message.parentHeader = value
            case 1: message.metadata = value
            default: message.content = value
            }
        }
        return message
    }
}

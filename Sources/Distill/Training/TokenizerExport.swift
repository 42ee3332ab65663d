// Writes a vocabulary trained here (byte-level BPE) as Hugging Face tokenizer files, so a saved
// student folder loads in transformers (`AutoTokenizer.from_pretrained`) and back in Stepwise.
import Foundation
import Models

/// Hugging Face tokenizer files for a trained byte-level BPE vocabulary.
public enum TokenizerExport {
    /// Writes `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into `folder`.
    ///
    /// The pre-tokenizer is the one the vocabulary was trained with (digits alone then GPT-2's
    /// split, or GPT-2's split); `<pad>`, `</s>` and `<unk>` are special added tokens, other
    /// control or user-defined tokens are added tokens too; a post-processor appends `</s>` as
    /// T5's tokenizers do.
    /// - Parameters:
    ///   - tokenizer: The vocabulary (from `VocabularyTrainer.trainBPE`).
    ///   - folder: An existing folder.
    ///   - modelMaxLength: `model_max_length` in tokenizer_config.json.
    /// - Throws: `TrainingError.badCheckpoint` when a file cannot be written or the pre-tokenizer has no writer.
    public static func write(_ tokenizer: ByteLevelBPETokenizer, to folder: URL, modelMaxLength: Int = 512) throws {
        let tokenJSON = folder.appendingPathComponent("tokenizer.json")
        let preTokenizer: [String: Any]
        let byteLevel: [String: Any] = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true]
        switch tokenizer.preTokenizer {
        case .smollm:
            let digits: [String: Any] = ["type": "Digits", "individual_digits": true]
            preTokenizer = ["type": "Sequence", "pretokenizers": [digits, byteLevel] as [[String: Any]]]
        case .gpt2:
            preTokenizer = byteLevel
        case .llama3:
            throw TrainingError.badCheckpoint(path: tokenJSON.path, reason: "writing Llama 3's pre-tokenizer is not supported")
        }
        var vocab: [String: Int] = [:]
        var added: [[String: Any]] = []
        for (id, text) in tokenizer.tokens.enumerated() {
            switch tokenizer.tokenTypes[id] {
            case .control, .userDefined:
                added.append(["id": id, "content": text, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": tokenizer.tokenTypes[id] == .control])
                if vocab[text] == nil { vocab[text] = id }
            default:
                if vocab[text] == nil { vocab[text] = id }
            }
        }
        let eos = tokenizer.eosTokenID.flatMap { tokenizer.tokenText($0) } ?? "</s>"
        let eosID = tokenizer.eosTokenID ?? 1
        let sequenceA: [String: Any] = ["Sequence": ["id": "A", "type_id": 0] as [String: Any]]
        let sequenceB: [String: Any] = ["Sequence": ["id": "B", "type_id": 0] as [String: Any]]
        let endMark: [String: Any] = ["SpecialToken": ["id": eos, "type_id": 0] as [String: Any]]
        let endEntry: [String: Any] = ["id": eos, "ids": [eosID], "tokens": [eos]]
        let root: [String: Any] = [
            "version": "1.0",
            "truncation": NSNull(),
            "padding": NSNull(),
            "added_tokens": added,
            "normalizer": NSNull(),
            "pre_tokenizer": preTokenizer,
            "post_processor": [
                "type": "TemplateProcessing",
                "single": [sequenceA, endMark],
                "pair": [sequenceA, endMark, sequenceB, endMark],
                "special_tokens": [eos: endEntry],
            ] as [String: Any],
            "decoder": ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] as [String: Any],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "continuing_subword_prefix": NSNull(),
                "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                "ignore_merges": tokenizer.ignoreMerges, "vocab": vocab, "merges": tokenizer.mergeRules,
            ] as [String: Any],
        ]
        let special = ["eos_token": eos, "pad_token": "<pad>", "unk_token": "<unk>"]
        var config: [String: Any] = special
        config["tokenizer_class"] = "PreTrainedTokenizerFast"
        config["model_max_length"] = modelMaxLength
        config["clean_up_tokenization_spaces"] = false
        for (name, object) in [("tokenizer.json", root), ("tokenizer_config.json", config), ("special_tokens_map.json", special as [String: Any])] {
            let url = folder.appendingPathComponent(name)
            do {
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                try data.write(to: url, options: .atomic)
            } catch {
                throw TrainingError.badCheckpoint(path: url.path, reason: "cannot write it: \(error.localizedDescription)")
            }
        }
    }
}

// LoRA on the trainable Llama: adding adapters to target projections, merging them, and saving
// or loading them alone in PEFT's format (adapter_model.safetensors with names like
// `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, plus adapter_config.json).
import Foundation
import NN
import Tensor

extension LlamaTrainable {
    /// The saved adapter's weights file and config file names (PEFT's).
    public static let adapterWeightsFile = "adapter_model.safetensors"
    public static let adapterConfigFile = "adapter_config.json"

    /// Adds adapters to `config.targets` in every layer and freezes everything else.
    /// - Parameter seed: seeds A's initialisation (and dropout masks).
    public func addAdapters(_ config: LoRAConfig, seed: UInt64 = 0) {
        var rng = RNG(seed: seed)
        for p in parameters() { p.requiresGrad = false }
        for (l, layer) in layers.enumerated() {
            for target in config.targets {
                layer.projection(target).addAdapter(config, rng: &rng, dropoutSeed: seed &+ UInt64(l * 16 + target.hashIndex))
            }
        }
    }

    /// Folds every adapter into its base weight (`W += alpha/rank · B A`) and removes it.
    public func mergeAdapters() {
        for layer in layers { for target in LoRATarget.allCases { layer.projection(target).merge() } }
    }

    /// The adapters' parameters with PEFT names (what an optimizer should update).
    public func adapterParameters() -> [(String, Tensor)] {
        namedParameters().filter { $0.0.contains(".lora_") }.map { ("base_model.model." + $0.0, $0.1) }
    }

    /// Writes the adapters to `directory` (created if needed) as PEFT does: B rows of q/k are put
    /// back into Hugging Face's head layout for Llama-arch models.
    public func saveAdapters(to directory: URL, config: LoRAConfig, baseModel: String = "") throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (l, layer) in layers.enumerated() {
            for target in LoRATarget.allCases {
                let p = layer.projection(target)
                guard let a = p.loraA, let b = p.loraB else { continue }
                let prefix = "base_model.model.\(Self.modulePath(layer: l, target))"
                tensors[prefix + ".lora_A.weight"] = a.detached()
                tensors[prefix + ".lora_B.weight"] = headRowsToHF(b, target, toHF: true)
            }
        }
        guard !tensors.isEmpty else { throw LlamaError.adapterMismatch("the model has no adapters to save") }
        try SafetensorsFile.write(tensors, metadata: ["format": "pt"], to: directory.appendingPathComponent(Self.adapterWeightsFile))
        let json: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": config.rank, "lora_alpha": config.alpha,
            "lora_dropout": config.dropout, "target_modules": config.targets.map(\.rawValue), "bias": "none",
            "base_model_name_or_path": baseModel, "fan_in_fan_out": false, "inference_mode": true,
        ]
        let data = try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: directory.appendingPathComponent(Self.adapterConfigFile), options: .atomic)
    }

    /// Loads adapters saved by `saveAdapters` (or PEFT) from `directory`, replacing any present.
    /// - Returns: the adapter's configuration.
    /// - Throws: `LlamaError.adapterMismatch` when a setting is out of range or a tensor is
    ///   missing, mis-shaped, not a float type or not finite.
    @discardableResult
    public func loadAdapters(from directory: URL) throws -> LoRAConfig {
        let configData = try Data(contentsOf: directory.appendingPathComponent(Self.adapterConfigFile))
        guard let json = try JSONSerialization.jsonObject(with: configData) as? [String: Any] else {
            throw LlamaError.adapterMismatch("\(Self.adapterConfigFile) is not a JSON object")
        }
        // Every number is checked before use: the rank sizes the shape check, alpha and dropout scale outputs.
        func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
        guard let r = number("r"), r.isFinite, r == r.rounded(), r >= 1, r <= Double(LlamaLimits.maxWidth) else {
            throw LlamaError.adapterMismatch("\(Self.adapterConfigFile) r = \(json["r"] ?? "nothing"); it must be a whole number from 1 to \(LlamaLimits.maxWidth)")
        }
        let rank = Int(r)
        let alpha = number("lora_alpha") ?? r, dropout = number("lora_dropout") ?? 0
        guard alpha.isFinite, alpha > 0, alpha <= 1e6 else {
            throw LlamaError.adapterMismatch("\(Self.adapterConfigFile) lora_alpha = \(alpha); it must be a finite number in (0, 1e6]")
        }
        guard dropout >= 0, dropout < 1 else {
            throw LlamaError.adapterMismatch("\(Self.adapterConfigFile) lora_dropout = \(dropout); it must be in [0, 1)")
        }
        let names = json["target_modules"] as? [String] ?? []
        let targets = names.compactMap(LoRATarget.init(rawValue:))
        let config = LoRAConfig(rank: rank, alpha: Float(alpha), dropout: Float(dropout), targets: targets)
        let file = try SafetensorsFile(contentsOf: directory.appendingPathComponent(Self.adapterWeightsFile))
        for (l, layer) in layers.enumerated() {
            for target in targets {
                let p = layer.projection(target)
                let prefix = "base_model.model.\(Self.modulePath(layer: l, target))"
                guard file.entries[prefix + ".lora_A.weight"] != nil, file.entries[prefix + ".lora_B.weight"] != nil else {
                    throw LlamaError.adapterMismatch("\(prefix) has no lora_A/lora_B")
                }
                let a = try file.finiteTensor(prefix + ".lora_A.weight"), b = try file.finiteTensor(prefix + ".lora_B.weight")
                guard [a.dtype, b.dtype].allSatisfy({ [.float32, .float16, .bfloat16].contains($0) }) else {
                    throw LlamaError.adapterMismatch("\(prefix): A is \(a.dtype), B is \(b.dtype); adapters must be F32, F16 or BF16")
                }
                guard a.shape == [rank, p.inFeatures], b.shape == [p.outFeatures, rank] else {
                    throw LlamaError.adapterMismatch("\(prefix): A \(a.shape), B \(b.shape) for a \(p.outFeatures)×\(p.inFeatures) weight at rank \(rank)")
                }
                p.setAdapter(a: a.cast(to: .float32).contiguous().detached(),
                             b: headRowsToHF(b.cast(to: .float32).contiguous(), target, toHF: false), scale: config.scale)
            }
        }
        return config
    }

    /// `model.layers.N.self_attn.q_proj` or `model.layers.N.mlp.up_proj`.
    static func modulePath(layer: Int, _ target: LoRATarget) -> String {
        switch target {
        case .q, .k, .v, .o: return "model.layers.\(layer).self_attn.\(target.rawValue)"
        case .gate, .up, .down: return "model.layers.\(layer).mlp.\(target.rawValue)"
        }
    }

    /// Llama-arch GGUFs store Q and K rows per head as (hd/2, 2) pairs where Hugging Face has
    /// (2, hd/2); B's rows follow the weight's. Converts a (out, rank) B between the layouts.
    func headRowsToHF(_ b: Tensor, _ target: LoRATarget, toHF: Bool) -> Tensor {
        let heads: Int
        switch target {
        case .q: heads = config.nHeads
        case .k: heads = config.nKVHeads
        default: return b.detached()
        }
        guard !config.ropeNeoX else { return b.detached() }
        let hd = config.headDim, r = b.shape[1]
        let src = b.contiguous().scalars
        var dst = [Float](repeating: 0, count: src.count)
        for h in 0..<heads {
            for i in 0..<(hd / 2) {
                for j in 0..<2 {
                    let gguf = h * hd + 2 * i + j, hf = h * hd + j * (hd / 2) + i
                    let (from, to) = toHF ? (gguf, hf) : (hf, gguf)
                    for k in 0..<r { dst[to * r + k] = src[from * r + k] }
                }
            }
        }
        return Tensor(dst, shape: b.shape)
    }
}

extension LoRATarget {
    /// A small distinct number per target (dropout seeds).
    var hashIndex: Int { LoRATarget.allCases.firstIndex(of: self) ?? 0 }
}

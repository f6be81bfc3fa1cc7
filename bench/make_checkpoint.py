#!/usr/bin/python3
"""Write a random-weight Hugging Face cross-encoder checkpoint of a real architecture.

Output directory (the layout a Hub download has):
  config.json        the preset's config (fields as the real Hub model's config.json has them)
  model.safetensors  random weights, tensor names exactly as the real checkpoint / HF class
  <tokenizer files>  copied from --tokenizer DIR (tokenizer.json, tokenizer_config.json, ...)

Needs only numpy (runs under /usr/bin/python3). Tensors are generated and written one
at a time, so even the 568M-parameter bge-reranker-v2-m3 preset needs < 1.5 GB of RAM.

Presets (shapes of the real Hub models; see shared/fixtures/models/README.md for sources):
  minilm-l6-ce            cross-encoder/ms-marco-MiniLM-L-6-v2    BertForSequenceClassification
                          6 layers, hidden 384, 12 heads, ffn 1536, vocab 30522, max_pos 512, f32
  bge-reranker-v2-m3      BAAI/bge-reranker-v2-m3                 XLMRobertaForSequenceClassification
                          24 layers, hidden 1024, 16 heads, ffn 4096, vocab 250002, max_pos 8194, f32
  jina-reranker-v2-base   jinaai/jina-reranker-v2-base-multilingual  (custom code
                          "xlm-roberta-flash-implementation"): 12 layers, hidden 768, 12 heads,
                          ffn 3072, vocab 250002, max_pos 1026, bf16.
                          --layout flash (default for this preset) writes the tensor names the
                          published checkpoint uses (roberta.emb_ln, encoder.layers.N.mixer.Wqkv
                          fused q|k|v, mixer.out_proj, norm1, mlp.fc1, mlp.fc2, norm2) and its
                          config.json (auto_map, no model_type). --layout hf writes the same
                          architecture under the standard XLMRobertaForSequenceClassification
                          names with model_type "xlm-roberta", loadable by
                          AutoModelForSequenceClassification (what the PyTorch/ONNX baselines need).

  gte-reranker-modernbert-base  Alibaba-NLP/gte-reranker-modernbert-base  ModernBertForSequenceClassification
                          22 layers, hidden 768, 12 heads, GeGLU ffn 1152 (Wi 768->2304),
                          global attention every 3rd layer, local window 128, rope theta
                          160000 / 10000, no biases but the classifier's, mean pooling,
                          vocab 50368, max_pos 8192, f32.
                          (Added in Winnow's copy, bench/make_checkpoint.py; the shared one has
                          the BERT / XLM-R presets only.)
  qwen3-reranker-0.6b     Qwen/Qwen3-Reranker-0.6B                Qwen3ForCausalLM (yes/no reranker)
                          28 layers, hidden 1024, 16 query heads / 8 key-value heads of 128,
                          SwiGLU ffn 3072, q/k RMSNorm, rope theta 1e6, tied lm_head (no
                          lm_head.weight in the file), vocab 151669, max_pos 40960, bf16.
                          (Winnow's copy only.) With a small tokenizer (--vocab-from) the
                          vocabulary shrinks; the GEMM FLOPs per token do not change.

Examples:
  /usr/bin/python3 make_checkpoint.py --preset minilm-l6-ce --out /tmp/minilm \\
      --tokenizer ../fixtures/tokenizers/bert-uncased
  /usr/bin/python3 make_checkpoint.py --preset bge-reranker-v2-m3 --out /tmp/bge \\
      --tokenizer ../fixtures/tokenizers/xlmr-unigram --vocab-from ../fixtures/tokenizers/xlmr-unigram
  /usr/bin/python3 make_checkpoint.py --preset jina-reranker-v2-base --layout hf --out /tmp/jina-hf
  /usr/bin/python3 make_checkpoint.py --preset gte-reranker-modernbert-base --out /tmp/gte-mb \\
      --tokenizer ../fixtures/tokenizers/bpe-modernbert --vocab-from ../fixtures/tokenizers/bpe-modernbert
  /usr/bin/python3 make_checkpoint.py --preset qwen3-reranker-0.6b --out /tmp/qwen3-06b \\
      --tokenizer ../fixtures/tokenizers/bpe-qwen --vocab-from ../fixtures/tokenizers/bpe-qwen
"""
import argparse
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.txt", "sentencepiece.bpe.model", "added_tokens.json")

# --- presets -------------------------------------------------------------------------------
# "config" holds exactly the keys of the real Hub config.json (values from the Hub files;
# transformers_version / _name_or_path are left out). "dtype" is the real checkpoint's dtype.
PRESETS = {
    "minilm-l6-ce": {
        "family": "bert",
        "hub": "cross-encoder/ms-marco-MiniLM-L-6-v2",
        "dtype": "f32",
        "config": {
            "architectures": ["BertForSequenceClassification"],
            "attention_probs_dropout_prob": 0.1,
            "classifier_dropout": None,
            "gradient_checkpointing": False,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": 384,
            "id2label": {"0": "LABEL_0"},
            "initializer_range": 0.02,
            "intermediate_size": 1536,
            "label2id": {"LABEL_0": 0},
            "layer_norm_eps": 1e-12,
            "max_position_embeddings": 512,
            "model_type": "bert",
            "num_attention_heads": 12,
            "num_hidden_layers": 6,
            "pad_token_id": 0,
            "position_embedding_type": "absolute",
            "sbert_ce_default_activation_function": "torch.nn.modules.linear.Identity",
            "torch_dtype": "float32",
            "type_vocab_size": 2,
            "use_cache": True,
            "vocab_size": 30522,
        },
    },
    "bge-reranker-v2-m3": {
        "family": "xlm-roberta",
        "hub": "BAAI/bge-reranker-v2-m3",
        "dtype": "f32",
        "config": {
            "architectures": ["XLMRobertaForSequenceClassification"],
            "attention_probs_dropout_prob": 0.1,
            "bos_token_id": 0,
            "classifier_dropout": None,
            "eos_token_id": 2,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": 1024,
            "id2label": {"0": "LABEL_0"},
            "initializer_range": 0.02,
            "intermediate_size": 4096,
            "label2id": {"LABEL_0": 0},
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 8194,
            "model_type": "xlm-roberta",
            "num_attention_heads": 16,
            "num_hidden_layers": 24,
            "output_past": True,
            "pad_token_id": 1,
            "position_embedding_type": "absolute",
            "torch_dtype": "float32",
            "type_vocab_size": 1,
            "use_cache": True,
            "vocab_size": 250002,
        },
    },
    "jina-reranker-v2-base": {
        "family": "xlm-roberta",
        "hub": "jinaai/jina-reranker-v2-base-multilingual",
        "dtype": "bf16",
        "default_layout": "flash",
        # The published config.json has no "model_type": the class comes from auto_map
        # (custom code). Key order as published.
        "config": {
            "architectures": ["XLMRobertaForSequenceClassification"],
            "attention_probs_dropout_prob": 0.1,
            "auto_map": {
                "AutoConfig": "configuration_xlm_roberta.XLMRobertaFlashConfig",
                "AutoModel": "modeling_xlm_roberta.XLMRobertaModel",
                "AutoModelForSequenceClassification":
                    "modeling_xlm_roberta.XLMRobertaForSequenceClassification",
            },
            "bos_token_id": 0,
            "classifier_dropout": None,
            "emb_pooler": None,
            "eos_token_id": 2,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": 768,
            "num_labels": 1,
            "id2label": {"0": "LABEL_0"},
            "initializer_range": 0.02,
            "intermediate_size": 3072,
            "label2id": {"LABEL_0": 0},
            "layer_norm_eps": 1e-05,
            "max_position_embeddings": 1026,
            "num_attention_heads": 12,
            "num_hidden_layers": 12,
            "output_past": True,
            "pad_token_id": 1,
            "position_embedding_type": "absolute",
            "torch_dtype": "bfloat16",
            "type_vocab_size": 1,
            "use_cache": False,
            "use_flash_attn": True,
            "vocab_size": 250002,
        },
    },
}


PRESETS["gte-reranker-modernbert-base"] = {
    "family": "modernbert",
    "hub": "Alibaba-NLP/gte-reranker-modernbert-base",
    "dtype": "f32",
    # ModernBERT-base's config (the reranker is fine-tuned from it) with the reranker's head:
    # values as shared/fixtures/models/README.md records them from the model cards.
    "config": {
        "architectures": ["ModernBertForSequenceClassification"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 50281,
        "classifier_activation": "gelu",
        "classifier_bias": False,
        "classifier_dropout": 0.0,
        "classifier_pooling": "mean",
        "cls_token_id": 50281,
        "decoder_bias": True,
        "deterministic_flash_attn": False,
        "embedding_dropout": 0.0,
        "eos_token_id": 50282,
        "global_attn_every_n_layers": 3,
        "global_rope_theta": 160000.0,
        "hidden_activation": "gelu",
        "hidden_size": 768,
        "id2label": {"0": "LABEL_0"},
        "initializer_cutoff_factor": 2.0,
        "initializer_range": 0.02,
        "intermediate_size": 1152,
        "label2id": {"LABEL_0": 0},
        "local_attention": 128,
        "local_rope_theta": 10000.0,
        "max_position_embeddings": 8192,
        "mlp_bias": False,
        "mlp_dropout": 0.0,
        "model_type": "modernbert",
        "norm_bias": False,
        "norm_eps": 1e-05,
        "num_attention_heads": 12,
        "num_hidden_layers": 22,
        "pad_token_id": 50283,
        "sep_token_id": 50282,
        "torch_dtype": "float32",
        "vocab_size": 50368,
    },
}


PRESETS["qwen3-reranker-0.6b"] = {
    "family": "qwen3",
    "hub": "Qwen/Qwen3-Reranker-0.6B",
    "dtype": "bf16",
    # Qwen3-Reranker-0.6B's config.json as shared/fixtures/models/README.md records it.
    "config": {
        "architectures": ["Qwen3ForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 151643,
        "eos_token_id": 151645,
        "head_dim": 128,
        "hidden_act": "silu",
        "hidden_size": 1024,
        "initializer_range": 0.02,
        "intermediate_size": 3072,
        "max_position_embeddings": 40960,
        "max_window_layers": 28,
        "model_type": "qwen3",
        "num_attention_heads": 16,
        "num_hidden_layers": 28,
        "num_key_value_heads": 8,
        "rms_norm_eps": 1e-06,
        "rope_scaling": None,
        "rope_theta": 1000000,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": 151669,
    },
}


# --- tensor names --------------------------------------------------------------------------
def qwen3_specs(cfg):
    """Qwen3ForCausalLM's state_dict() without the tied lm_head.weight (save_pretrained drops it)."""
    H, I, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    D, Q, KV = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    s = [("model.embed_tokens.weight", (V, H), "emb")]
    for i in range(L):
        p = f"model.layers.{i}."
        s += [(p + "input_layernorm.weight", (H,), "lnw"),
              (p + "self_attn.q_proj.weight", (Q * D, H), "w"),
              (p + "self_attn.k_proj.weight", (KV * D, H), "w"),
              (p + "self_attn.v_proj.weight", (KV * D, H), "w"),
              (p + "self_attn.o_proj.weight", (H, Q * D), "w"),
              (p + "self_attn.q_norm.weight", (D,), "lnw"),
              (p + "self_attn.k_norm.weight", (D,), "lnw"),
              (p + "post_attention_layernorm.weight", (H,), "lnw"),
              (p + "mlp.gate_proj.weight", (I, H), "w"),
              (p + "mlp.up_proj.weight", (I, H), "w"),
              (p + "mlp.down_proj.weight", (H, I), "w")]
    s.append(("model.norm.weight", (H,), "lnw"))
    if not cfg.get("tie_word_embeddings", False):
        s.append(("lm_head.weight", (V, H), "w"))
    return s


def modernbert_specs(cfg):
    """ModernBertForSequenceClassification's state_dict(): no biases but the classifier's
    (the preset's *_bias flags are false), layer 0 without attn_norm (an Identity)."""
    H, I, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    n_labels = len(cfg.get("id2label", {"0": ""})) or 1
    s = [("model.embeddings.tok_embeddings.weight", (V, H), "emb"),
         ("model.embeddings.norm.weight", (H,), "lnw")]
    for i in range(L):
        p = f"model.layers.{i}."
        if i > 0:
            s.append((p + "attn_norm.weight", (H,), "lnw"))
        s += [(p + "attn.Wqkv.weight", (3 * H, H), "w"),
              (p + "attn.Wo.weight", (H, H), "w"),
              (p + "mlp_norm.weight", (H,), "lnw"),
              (p + "mlp.Wi.weight", (2 * I, H), "w"),
              (p + "mlp.Wo.weight", (H, I), "w")]
    s += [("model.final_norm.weight", (H,), "lnw"),
          ("head.dense.weight", (H, H), "w"),
          ("head.norm.weight", (H,), "lnw"),
          ("classifier.weight", (n_labels, H), "w"),
          ("classifier.bias", (n_labels,), "b")]
    return s


def hf_specs(family, cfg):
    """[(name, shape, kind)] in the HF class's state_dict() order. kind picks the init:
    'emb' embeddings, 'w' linear weight, 'b' bias, 'lnw' / 'lnb' LayerNorm weight / bias."""
    if family == "modernbert":
        return modernbert_specs(cfg)
    if family == "qwen3":
        return qwen3_specs(cfg)
    H, I = cfg["hidden_size"], cfg["intermediate_size"]
    V, P, T = cfg["vocab_size"], cfg["max_position_embeddings"], cfg["type_vocab_size"]
    L = cfg["num_hidden_layers"]
    n_labels = len(cfg.get("id2label", {"0": ""})) or 1
    pre = "bert." if family == "bert" else "roberta."
    s = [(pre + "embeddings.word_embeddings.weight", (V, H), "emb"),
         (pre + "embeddings.position_embeddings.weight", (P, H), "emb"),
         (pre + "embeddings.token_type_embeddings.weight", (T, H), "emb"),
         (pre + "embeddings.LayerNorm.weight", (H,), "lnw"),
         (pre + "embeddings.LayerNorm.bias", (H,), "lnb")]
    for i in range(L):
        p = f"{pre}encoder.layer.{i}."
        for proj in ("query", "key", "value"):
            s += [(p + f"attention.self.{proj}.weight", (H, H), "w"),
                  (p + f"attention.self.{proj}.bias", (H,), "b")]
        s += [(p + "attention.output.dense.weight", (H, H), "w"),
              (p + "attention.output.dense.bias", (H,), "b"),
              (p + "attention.output.LayerNorm.weight", (H,), "lnw"),
              (p + "attention.output.LayerNorm.bias", (H,), "lnb"),
              (p + "intermediate.dense.weight", (I, H), "w"),
              (p + "intermediate.dense.bias", (I,), "b"),
              (p + "output.dense.weight", (H, I), "w"),
              (p + "output.dense.bias", (H,), "b"),
              (p + "output.LayerNorm.weight", (H,), "lnw"),
              (p + "output.LayerNorm.bias", (H,), "lnb")]
    if family == "bert":
        s += [("bert.pooler.dense.weight", (H, H), "w"), ("bert.pooler.dense.bias", (H,), "b"),
              ("classifier.weight", (n_labels, H), "w"), ("classifier.bias", (n_labels,), "b")]
    else:  # RobertaClassificationHead: dense + tanh + out_proj on the <s> token; no pooler
        s += [("classifier.dense.weight", (H, H), "w"), ("classifier.dense.bias", (H,), "b"),
              ("classifier.out_proj.weight", (n_labels, H), "w"),
              ("classifier.out_proj.bias", (n_labels,), "b")]
    return s


FLASH_RENAMES = ((".attention.output.dense.", ".mixer.out_proj."),
                 (".attention.output.LayerNorm.", ".norm1."),
                 (".intermediate.dense.", ".mlp.fc1."),
                 (".output.dense.", ".mlp.fc2."),
                 (".output.LayerNorm.", ".norm2."))


def tensor_specs(family, cfg, layout="hf"):
    """[(name, shape, kind, parts)]: parts = the standard (hf-layout) tensors, concatenated
    along dim 0, that make up this tensor. Every standard tensor is drawn from its own RNG
    stream (seeded by its name), so both layouts of one seed hold the same numbers."""
    specs = hf_specs(family, cfg)
    if layout == "hf":
        return [(n, s, k, [(n, s, k)]) for n, s, k in specs]
    by_name = {n: (n, s, k) for n, s, k in specs}
    out = []
    for n, s, k in specs:
        if ".attention.self.key." in n or ".attention.self.value." in n:
            continue
        if ".attention.self.query." in n:
            kind = n.rsplit(".", 1)[1]
            base = n.split(".attention.self.query.")[0]
            parts = [by_name[f"{base}.attention.self.{p}.{kind}"] for p in ("query", "key", "value")]
            name = base.replace(".encoder.layer.", ".encoder.layers.") + f".mixer.Wqkv.{kind}"
            out.append((name, (3 * s[0],) + tuple(s[1:]), k, parts))
            continue
        name = n.replace("roberta.embeddings.LayerNorm.", "roberta.emb_ln.")
        if ".encoder.layer." in name:
            name = name.replace(".encoder.layer.", ".encoder.layers.")
            for a, b in FLASH_RENAMES:
                if a in name:
                    name = name.replace(a, b)
                    break
        out.append((name, s, k, [(n, s, k)]))
    return out


# --- safetensors writing (streamed) --------------------------------------------------------
ST_DTYPE = {"f32": ("F32", 4), "f16": ("F16", 2), "bf16": ("BF16", 2)}


def to_bytes(a, dtype):
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "f32":
        return a.astype("<f4").tobytes()
    if dtype == "f16":
        return a.astype("<f2").tobytes()
    # bf16: round to nearest even (finite inputs only; no overflow past 0xFF7FFFFF + 0x8000)
    u = a.view(np.uint32)
    u = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    return u.astype("<u2").tobytes()


def write_safetensors(path, specs, make_tensor, dtype, metadata=None):
    code, size = ST_DTYPE[dtype]
    header, off = {}, 0
    if metadata:
        header["__metadata__"] = dict(metadata)
    for name, shape, _, _ in specs:
        n = int(np.prod(shape)) * size
        header[name] = {"dtype": code, "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape, kind, parts in specs:
            a = np.concatenate([make_tensor(*p) for p in parts], axis=0) if len(parts) > 1 \
                else make_tensor(*parts[0])
            assert a.shape == tuple(shape), (name, a.shape, shape)
            f.write(to_bytes(a, dtype))
    return off


def random_init(seed, std=0.02, pad_rows=None):
    """HF-like init: N(0, std) weights/embeddings, LayerNorm weight ~1, small nonzero biases.
    The padding_idx rows of word/position embeddings are zero, as in HF's _init_weights."""
    pad_rows = pad_rows or {}

    def make(name, shape, kind):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        if kind in ("w", "emb"):
            a = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
            if name in pad_rows:
                a[pad_rows[name]] = 0.0
        elif kind == "lnw":
            a = 1.0 + rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
        else:  # 'b', 'lnb'
            a = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.01)
        return a
    return make


def tokenizer_vocab_size(tok_dir):
    with open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8") as f:
        tj = json.load(f)
    vocab = tj["model"]["vocab"]
    n = len(vocab)  # Unigram: list of [piece, score]; WordPiece/BPE: {token: id}
    ids = list(vocab.values()) if isinstance(vocab, dict) else []
    ids += [t["id"] for t in tj.get("added_tokens", [])]
    return max([n - 1] + ids) + 1


def build_config(preset, layout, vocab_size=None):
    p = PRESETS[preset]
    cfg = json.loads(json.dumps(p["config"]))
    if vocab_size:
        cfg["vocab_size"] = vocab_size
    if p["family"] == "xlm-roberta" and layout == "hf" and "model_type" not in cfg:
        # standard transformers layout: what XLMRobertaConfig.save_pretrained writes
        cfg.pop("auto_map", None)
        for k in ("emb_pooler", "use_flash_attn", "num_labels"):
            cfg.pop(k, None)
        cfg["model_type"] = "xlm-roberta"
        cfg = dict(sorted(cfg.items()))
    return cfg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--tokenizer", help="directory whose tokenizer files are copied into --out")
    ap.add_argument("--vocab-from", metavar="TOKENIZER_DIR",
                    help="set vocab_size to this tokenizer.json's vocabulary size (shrinks the embeddings)")
    ap.add_argument("--layout", choices=["hf", "flash"], default=None,
                    help="tensor naming; default: the real checkpoint's (flash for jina-reranker-v2-base, hf otherwise)")
    ap.add_argument("--dtype", choices=["f32", "f16", "bf16"], default=None,
                    help="stored dtype; default: the real checkpoint's (bf16 for jina, f32 otherwise)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--std", type=float, default=0.02, help="std of the N(0,std) weight init")
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers (smaller test variants)")
    a = ap.parse_args(argv)

    p = PRESETS[a.preset]
    layout = a.layout or p.get("default_layout", "hf")
    if layout == "flash" and p["family"] != "xlm-roberta":
        ap.error("--layout flash exists only for XLM-R presets")
    dtype = a.dtype or p["dtype"]
    vocab = tokenizer_vocab_size(a.vocab_from) if a.vocab_from else None
    cfg = build_config(a.preset, layout, vocab)
    if a.layers:
        cfg["num_hidden_layers"] = a.layers
    if a.dtype:
        cfg["torch_dtype"] = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[dtype]

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    specs = tensor_specs(p["family"], cfg, layout)
    pre = "bert." if p["family"] == "bert" else "roberta."
    pad = cfg.get("pad_token_id", 0)
    pad_rows = {pre + "embeddings.word_embeddings.weight": pad}
    if p["family"] == "modernbert":
        pad_rows = {"model.embeddings.tok_embeddings.weight": pad} if pad < cfg["vocab_size"] else {}
    if p["family"] == "qwen3":
        pad_rows = {}  # no padding_idx
    if p["family"] == "xlm-roberta":
        pad_rows[pre + "embeddings.position_embeddings.weight"] = pad
    nbytes = write_safetensors(os.path.join(a.out, "model.safetensors"), specs,
                               random_init(a.seed, a.std, pad_rows), dtype, {"format": "pt"})
    copied = []
    if a.tokenizer:
        for fn in TOKENIZER_FILES:
            src = os.path.join(a.tokenizer, fn)
            if os.path.isfile(src):
                shutil.copyfile(src, os.path.join(a.out, fn))
                copied.append(fn)
    n_params = sum(int(np.prod(s)) for _, s, _, _ in specs)
    print(json.dumps({"out": a.out, "preset": a.preset, "hub": p["hub"], "layout": layout,
                      "dtype": dtype, "params": n_params, "bytes": nbytes, "tensors": len(specs),
                      "vocab_size": cfg["vocab_size"], "layers": cfg["num_hidden_layers"],
                      "tokenizer_files": copied}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

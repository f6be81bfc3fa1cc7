#!/usr/bin/python3
"""Transformers-free PyTorch forward passes of the two modern reranker families Winnow runs,
written from the architectures (numerically as transformers 4.51 computes them: eager
attention, fp32, eval), for the ONNX export (bench/export_modern.py) and PyTorch's
reduced-precision references (bench/torch_reduced_precision.py):

  ModernBertForSequenceClassification  tok_embeddings -> LayerNorm; pre-norm layers (layer 0
                                       without attn_norm): Wqkv, rotary (global_rope_theta on
                                       global layers, local_rope_theta on local ones), attention
                                       global every global_attn_every_n_layers layers, else a
                                       sliding window of local_attention/2 each side; Wo +
                                       residual; mlp_norm, GeGLU (Wi -> input, gate; act(input)
                                       * gate; Wo) + residual; final_norm; pooling (cls: token 0,
                                       mean: over attended tokens); head dense -> act -> norm;
                                       classifier. LayerNorms without bias where norm_bias false.
  Qwen3ForCausalLM (yes/no reranker)   embed_tokens; pre-norm layers: RMSNorm, q/k/v (GQA),
                                       per-head RMSNorm on q and k, rotary (rope_theta), causal
                                       attention, o_proj + residual; RMSNorm, SwiGLU (down(silu(
                                       gate) * up)) + residual; final RMSNorm; the logits of the
                                       "no" and "yes" rows of lm_head (tied: embed_tokens) at each
                                       row's last real token. Positions count real tokens
                                       (cumsum(mask) - 1), so a left-padded prompt scores as alone.

Loads DIR/config.json + DIR/model.safetensors (F32/F16/BF16, computed in fp32) strictly: every
checkpoint tensor is used and every parameter comes from the checkpoint with its shape.

  from modern_reference import load_reranker
  model, cfg = load_reranker(ckpt_dir)               # either family, by config.json
  logits = model(input_ids, attention_mask)          # ModernBERT [batch, labels]; Qwen3 [batch, 2] = (no, yes)

The Qwen3 label ids come from DIR/tokenizer.json ("no", "yes" entries), else --no-id / --yes-id.
Self-check against the golden logits of tests/data (computed by transformers itself):
  /usr/bin/python3 bench/modern_reference.py --check-goldens [--tests tests/data]
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def shared_bench():
    """shared/bench beside the checkout, found as bench/compare finds it: ../shared (main),
    ../../shared (a worktree), else $WINNOW_SHARED_BENCH."""
    for path in (os.path.join(ROOT, "..", "shared", "bench"), os.path.join(ROOT, "..", "..", "shared", "bench"),
                 os.environ.get("WINNOW_SHARED_BENCH", "")):
        if path and os.path.exists(os.path.join(path, "hf_reference.py")):
            return os.path.normpath(path)
    raise SystemExit("modern_reference: shared/bench not found (set WINNOW_SHARED_BENCH)")


sys.path.insert(0, shared_bench())
from hf_reference import SafeTensors  # noqa: E402  (one safetensors reader for every reference)


def rotary_tables(head_dim, theta, positions):
    """cos, sin [batch, 1, seq, head_dim] as transformers' default rope computes them: inverse
    frequencies from int64 exponents in fp32, angles position * inv_freq in fp32, halves repeated."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = positions.float()[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


def attend(q, k, v, additive_mask):
    """Eager attention: softmax in fp32 over q k^T / sqrt(d) + mask; [b, heads, s, d] in and out."""
    weights = torch.matmul(q, k.transpose(2, 3)) * (q.shape[-1] ** -0.5) + additive_mask
    weights = F.softmax(weights, dim=-1, dtype=torch.float32).to(q.dtype)
    return torch.matmul(weights, v)


class BiasFreeLayerNorm(nn.Module):
    """LayerNorm whose bias is optional (ModernBERT's norm_bias false: F.layer_norm with None)."""

    def __init__(self, h, eps, bias):
        super().__init__()
        self.eps, self.shape = eps, (h,)  # a fixed shape: the ONNX export needs a constant
        self.weight = nn.Parameter(torch.ones(h))
        self.bias = nn.Parameter(torch.zeros(h)) if bias else None
        # Without a bias: an explicit zero one (adding 0 changes no value). ONNX Runtime 1.30's
        # graph optimizer crashes on a LayerNormalization without its bias input.
        self.register_buffer("zero_bias", torch.zeros(h), persistent=False)

    def forward(self, x):
        # In fp32 whatever the input (a no-op in fp32): under bf16 autocast torch >= 2.1 runs
        # layer_norm in fp32; torch 1.13 would refuse a bf16 input with fp32 weights.
        return F.layer_norm(x.float(), self.shape, self.weight,
                            self.bias if self.bias is not None else self.zero_bias, self.eps)


class RMSNorm(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(h))

    def forward(self, x):
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


def activation(name):
    acts = {"gelu": lambda x: F.gelu(x), "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
            "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu, "relu": F.relu}
    if name not in acts:
        raise ValueError(f"config.json: activation \"{name}\" is not supported")
    return acts[name]


# --- ModernBERT ---------------------------------------------------------------------------------
class ModernBertLayer(nn.Module):
    def __init__(self, cfg, index):
        super().__init__()
        h, i = cfg["hidden_size"], cfg["intermediate_size"]
        eps, nb = cfg.get("norm_eps", 1e-5), cfg.get("norm_bias", False)
        self.heads = cfg["num_attention_heads"]
        self.attn_norm = BiasFreeLayerNorm(h, eps, nb) if index > 0 else None  # layer 0: Identity
        self.Wqkv = nn.Linear(h, 3 * h, bias=cfg.get("attention_bias", False))
        self.Wo = nn.Linear(h, h, bias=cfg.get("attention_bias", False))
        self.mlp_norm = BiasFreeLayerNorm(h, eps, nb)
        self.Wi = nn.Linear(h, 2 * i, bias=cfg.get("mlp_bias", False))
        self.mlp_Wo = nn.Linear(i, h, bias=cfg.get("mlp_bias", False))
        self.act = activation(cfg.get("hidden_activation", "gelu"))
        self.is_global = index % cfg.get("global_attn_every_n_layers", 1) == 0

    def forward(self, x, cos, sin, mask):
        b, s, h = x.shape
        y = self.attn_norm(x) if self.attn_norm is not None else x
        qkv = self.Wqkv(y).view(b, s, 3, self.heads, h // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # each [b, heads, s, d]
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        a = attend(q, k, v, mask).transpose(1, 2).reshape(b, s, h)
        x = x + self.Wo(a)
        inp, gate = self.Wi(self.mlp_norm(x)).chunk(2, dim=-1)
        return x + self.mlp_Wo(self.act(inp) * gate)


class ModernBertForSequenceClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, eps, nb = cfg["hidden_size"], cfg.get("norm_eps", 1e-5), cfg.get("norm_bias", False)
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg["vocab_size"], h)
        self.emb_norm = BiasFreeLayerNorm(h, eps, nb)
        self.layers = nn.ModuleList(ModernBertLayer(cfg, i) for i in range(cfg["num_hidden_layers"]))
        self.final_norm = BiasFreeLayerNorm(h, eps, nb)
        self.head_dense = nn.Linear(h, h, bias=cfg.get("classifier_bias", False))
        self.head_act = activation(cfg.get("classifier_activation", cfg.get("hidden_activation", "gelu")))
        self.head_norm = BiasFreeLayerNorm(h, eps, nb)
        self.classifier = nn.Linear(h, len(cfg.get("id2label", {"0": ""})) or 1)
        self.pooling = cfg.get("classifier_pooling", "cls")
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"config.json: classifier_pooling \"{self.pooling}\" is not cls or mean")
        self.head_dim = h // cfg["num_attention_heads"]
        self.half_window = cfg.get("local_attention", -1) // 2

    def forward(self, input_ids, attention_mask):
        s = input_ids.shape[1]
        x = self.emb_norm(self.tok_embeddings(input_ids))
        positions = torch.arange(s, dtype=torch.int64)[None]  # [1, s]: every row from 0
        rope = {}
        for theta_key in ("global_rope_theta", "local_rope_theta"):
            theta = self.cfg.get(theta_key) or self.cfg.get("global_rope_theta", 10000.0)
            rope[theta_key] = rotary_tables(self.head_dim, theta, positions)
        minimum = torch.finfo(x.dtype).min
        # (1 - mask) * min over the keys, and min outside the window on local layers.
        global_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * minimum
        rows = torch.arange(s)
        window = (rows[None, :] - rows[:, None]).abs() <= self.half_window
        local_mask = global_mask.masked_fill(~window[None, None], minimum)
        for layer in self.layers:
            cos, sin = rope["global_rope_theta" if layer.is_global else "local_rope_theta"]
            x = layer(x, cos, sin, global_mask if layer.is_global else local_mask)
        x = self.final_norm(x)
        if self.pooling == "cls":
            pooled = x[:, 0]
        else:
            m = attention_mask[:, :, None].to(x.dtype)
            pooled = (x * m).sum(dim=1) / m.sum(dim=1)
        return self.classifier(self.head_norm(self.head_act(self.head_dense(pooled))))


def modernbert_names(model):
    """Checkpoint name -> parameter, as ModernBertForSequenceClassification's state_dict() names them."""
    names = {"model.embeddings.tok_embeddings.weight": model.tok_embeddings.weight,
             "model.embeddings.norm.weight": model.emb_norm.weight}
    if model.emb_norm.bias is not None:
        names["model.embeddings.norm.bias"] = model.emb_norm.bias

    def add(prefix, module):
        names[prefix + ".weight"] = module.weight
        if module.bias is not None:
            names[prefix + ".bias"] = module.bias

    for i, layer in enumerate(model.layers):
        p = f"model.layers.{i}."
        if layer.attn_norm is not None:
            add(p + "attn_norm", layer.attn_norm)
        add(p + "attn.Wqkv", layer.Wqkv)
        add(p + "attn.Wo", layer.Wo)
        add(p + "mlp_norm", layer.mlp_norm)
        add(p + "mlp.Wi", layer.Wi)
        add(p + "mlp.Wo", layer.mlp_Wo)
    add("model.final_norm", model.final_norm)
    add("head.dense", model.head_dense)
    add("head.norm", model.head_norm)
    add("classifier", model.classifier)
    return names


# --- Qwen3 reranker -----------------------------------------------------------------------------
class Qwen3Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        h, i, eps = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("rms_norm_eps", 1e-6)
        self.heads, self.kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.d = cfg.get("head_dim") or h // self.heads
        bias = cfg.get("attention_bias", False)
        self.input_layernorm = RMSNorm(h, eps)
        self.q_proj = nn.Linear(h, self.heads * self.d, bias=bias)
        self.k_proj = nn.Linear(h, self.kv_heads * self.d, bias=bias)
        self.v_proj = nn.Linear(h, self.kv_heads * self.d, bias=bias)
        self.o_proj = nn.Linear(self.heads * self.d, h, bias=bias)
        self.q_norm = RMSNorm(self.d, eps)
        self.k_norm = RMSNorm(self.d, eps)
        self.post_attention_layernorm = RMSNorm(h, eps)
        self.gate_proj = nn.Linear(h, i, bias=False)
        self.up_proj = nn.Linear(h, i, bias=False)
        self.down_proj = nn.Linear(i, h, bias=False)
        self.act = activation(cfg.get("hidden_act", "silu"))

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        y = self.input_layernorm(x)
        q = self.q_norm(self.q_proj(y).view(b, s, self.heads, self.d)).transpose(1, 2)
        k = self.k_norm(self.k_proj(y).view(b, s, self.kv_heads, self.d)).transpose(1, 2)
        v = self.v_proj(y).view(b, s, self.kv_heads, self.d).transpose(1, 2)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        rep = self.heads // self.kv_heads
        # Query head j reads kv head j // rep (expand + reshape: exports with dynamic shapes).
        k = k[:, :, None].expand(b, self.kv_heads, rep, s, self.d).reshape(b, self.heads, s, self.d)
        v = v[:, :, None].expand(b, self.kv_heads, rep, s, self.d).reshape(b, self.heads, s, self.d)
        a = attend(q, k, v, mask).transpose(1, 2).reshape(b, s, self.heads * self.d)
        x = x + self.o_proj(a)
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(self.act(self.gate_proj(y)) * self.up_proj(y))


class Qwen3Reranker(nn.Module):
    """Qwen3ForCausalLM read as a reranker: forward -> [batch, 2] logits of (no, yes) at each row's
    last real token. Rows may be padded on either side; positions count real tokens only."""

    def __init__(self, cfg, label_ids):
        super().__init__()
        h = cfg["hidden_size"]
        self.cfg = cfg
        self.label_ids = tuple(label_ids)  # (no, yes)
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], h)
        self.layers = nn.ModuleList(Qwen3Layer(cfg) for _ in range(cfg["num_hidden_layers"]))
        self.norm = RMSNorm(h, cfg.get("rms_norm_eps", 1e-6))
        self.label_head = nn.Linear(h, 2, bias=False)  # lm_head's "no" and "yes" rows
        self.head_dim = cfg.get("head_dim") or h // cfg["num_attention_heads"]

    def forward(self, input_ids, attention_mask):
        b, s = input_ids.shape
        x = self.embed_tokens(input_ids)
        mask = attention_mask.to(torch.int64)
        positions = (torch.cumsum(mask, dim=1) - 1).clamp(min=0)
        cos, sin = rotary_tables(self.head_dim, float(self.cfg.get("rope_theta", 10000.0)), positions)
        rows = torch.arange(s)
        allowed = (rows[None, :] <= rows[:, None])[None, None] & (mask[:, None, None, :] > 0)
        additive = (~allowed).to(x.dtype) * torch.finfo(x.dtype).min  # 0 where allowed, min elsewhere
        for layer in self.layers:
            x = layer(x, cos, sin, additive)
        # The last real token of each row: the largest position whose mask is 1.
        last = (mask * rows[None, :]).max(dim=1).values
        h = x[torch.arange(b), last]
        return self.label_head(self.norm(h))


def qwen3_names(model, tied):
    names = {"model.embed_tokens.weight": model.embed_tokens.weight, "model.norm.weight": model.norm.weight}
    for i, layer in enumerate(model.layers):
        p = f"model.layers.{i}."
        for n in ("input_layernorm", "post_attention_layernorm"):
            names[p + n + ".weight"] = getattr(layer, n).weight
        for n in ("q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm"):
            names[p + "self_attn." + n + ".weight"] = getattr(layer, n).weight
            if getattr(getattr(layer, n), "bias", None) is not None:
                names[p + "self_attn." + n + ".bias"] = getattr(layer, n).bias
        for n in ("gate_proj", "up_proj", "down_proj"):
            names[p + "mlp." + n + ".weight"] = getattr(layer, n).weight
    return names


def tokenizer_label_ids(model_dir):
    """("no", "yes") ids from DIR/tokenizer.json's vocabulary or added tokens, else None."""
    path = os.path.join(model_dir, "tokenizer.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    vocab = dict(tok.get("model", {}).get("vocab", {}))
    for added in tok.get("added_tokens", []):
        vocab[added["content"]] = added["id"]
    if "no" in vocab and "yes" in vocab:
        return vocab["no"], vocab["yes"]
    return None


# --- loading ------------------------------------------------------------------------------------
def fill_strictly(path, tensors, names, skip=()):
    """Copy every named checkpoint tensor into its parameter; errors name the tensor at fault."""
    present = set(tensors.names()) - set(skip)
    missing = sorted(set(names) - present)
    unused = sorted(present - set(names))
    if missing:
        raise ValueError(f"{path}: missing tensors {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    if unused:
        raise ValueError(f"{path}: tensors the model does not use {unused[:5]}{' ...' if len(unused) > 5 else ''}")
    with torch.no_grad():
        for name, param in names.items():
            if tuple(tensors.shape(name)) != tuple(param.shape):
                raise ValueError(f"{path}: {name} has shape {tensors.shape(name)}, expected {tuple(param.shape)}")
            param.copy_(torch.from_numpy(tensors.get(name)))


def load_reranker(model_dir, label_ids=None):
    """(model in eval mode, config) for a ModernBERT cross-encoder or a Qwen3 reranker checkpoint."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    path = os.path.join(model_dir, "model.safetensors")
    tensors = SafeTensors(path)
    kind = cfg.get("model_type")
    if kind == "modernbert":
        model = ModernBertForSequenceClassification(cfg)
        fill_strictly(path, tensors, modernbert_names(model))
    elif kind == "qwen3":
        label_ids = label_ids or tokenizer_label_ids(model_dir)
        if label_ids is None:
            raise ValueError(f"{model_dir}: no tokenizer.json with \"no\" and \"yes\"; pass the label ids")
        for t in label_ids:
            if not 0 <= t < cfg["vocab_size"]:
                raise ValueError(f"{model_dir}: label id {t} is outside vocab_size {cfg['vocab_size']}")
        model = Qwen3Reranker(cfg, label_ids)
        tied = cfg.get("tie_word_embeddings", False)
        names = qwen3_names(model, tied)
        head_name = "model.embed_tokens.weight" if tied else "lm_head.weight"
        fill_strictly(path, tensors, names, skip=() if tied else ("lm_head.weight",))
        if not tied and "lm_head.weight" not in tensors.names():
            raise ValueError(f"{path}: missing tensors ['lm_head.weight'] (tie_word_embeddings is false)")
        lm_head = torch.from_numpy(tensors.get(head_name))
        with torch.no_grad():
            model.label_head.weight.copy_(lm_head[list(label_ids)])
    else:
        raise ValueError(f"{model_dir}/config.json: model_type \"{kind}\" is not modernbert or qwen3")
    model.eval()
    return model, cfg


# --- goldens ------------------------------------------------------------------------------------
def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check_goldens(tests, tolerance):
    """Max |ours - transformers'| per golden file; False if any exceeds the tolerance."""
    ok = True
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for name in ("modernbert-ce-tiny", "qwen3-reranker-tiny"):
        model, cfg = load_reranker(os.path.join(tests, "models", name))
        qwen = cfg["model_type"] == "qwen3"
        singles = read_jsonl(os.path.join(tests, "golden", name + ".jsonl"))
        by_id = {r["id"]: r for r in singles}
        worst = 0.0
        with torch.inference_mode():
            for r in singles:
                ids = torch.tensor([r["input_ids"]])
                out = model(ids, torch.ones_like(ids))[0]
                want = [r["logit_no"], r["logit_yes"]] if qwen else [r["logit"]]
                worst = max(worst, max(abs(float(o) - w) for o, w in zip(out, want)))
            batch_worst = 0.0
            batches = read_jsonl(os.path.join(tests, "golden", name + ".batches.jsonl"))
            for b in batches:
                rows = [by_id[i]["input_ids"] for i in b["ids"]]
                width = b["padded_length"]
                ids = torch.full((len(rows), width), b["pad_token_id"], dtype=torch.int64)
                mask = torch.zeros_like(ids)
                for k, row in enumerate(rows):
                    sl = slice(width - len(row), width) if b["padding_side"] == "left" else slice(0, len(row))
                    ids[k, sl] = torch.tensor(row)
                    mask[k, sl] = 1
                out = model(ids, mask)
                if qwen:
                    # Ours runs every prompt at its own positions: the masked-positions goldens.
                    want = torch.tensor([b.get("masked_positions_logits_no", b["logits_no"]),
                                         b.get("masked_positions_logits_yes", b["logits_yes"])]).T
                    if "masked_positions_logits_no" not in b:
                        # Card-style only (heavy left padding): the singles are the reference.
                        want = torch.tensor([[by_id[i]["logit_no"], by_id[i]["logit_yes"]] for i in b["ids"]])
                else:
                    want = torch.tensor(b["logits"])[:, None]
                batch_worst = max(batch_worst, float((out - want).abs().max()))
        verdict = worst <= tolerance and batch_worst <= tolerance
        ok = ok and verdict
        print(f"{name}: {len(singles)} single pairs max |diff| {worst:.3g}, {len(batches)} padded batches "
              f"max |diff| {batch_worst:.3g} ({'ok' if verdict else 'FAIL'}, tolerance {tolerance:g})")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check-goldens", action="store_true", help="compare with tests/data/golden (transformers)")
    ap.add_argument("--tests", default=os.path.join(ROOT, "tests", "data"))
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--model", help="score --ids with this checkpoint")
    ap.add_argument("--ids", help="comma-separated token ids of one pair / prompt")
    ap.add_argument("--no-id", type=int)
    ap.add_argument("--yes-id", type=int)
    a = ap.parse_args()
    if a.check_goldens:
        sys.exit(0 if check_goldens(a.tests, a.tolerance) else 1)
    if a.model and a.ids:
        labels = (a.no_id, a.yes_id) if a.no_id is not None and a.yes_id is not None else None
        model, _ = load_reranker(a.model, labels)
        ids = torch.tensor([[int(t) for t in a.ids.split(",")]])
        with torch.inference_mode():
            print(json.dumps(model(ids, torch.ones_like(ids))[0].tolist()))
        return
    ap.error("nothing to do: --check-goldens, or --model DIR --ids ...")


if __name__ == "__main__":
    main()

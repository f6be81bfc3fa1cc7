#!/usr/bin/python3
"""ONNX export of the modern rerankers (bench/modern_reference.py's modules), for ONNX Runtime
on the same token ids as winnow-bench (bench/ort_modern.mjs):

  ModernBERT  inputs input_ids, attention_mask [batch, seq] (int64) -> logits [batch, labels]
  Qwen3       inputs input_ids, attention_mask [batch, seq] (int64) -> logits [batch, 2]: the
              "no" and "yes" logits at each row's last real token (only those two lm_head rows
              are computed, as Winnow does; rows may be padded on either side)

Writes OUT/model.onnx (opset 17, dynamic batch and sequence axes; weights in
OUT/model.onnx.data when they pass 2 GB), OUT/model_int8.onnx with --int8 (the shared
quantize_dynamic_int8 of ../shared/bench/export_onnx.py: every MatMul on a weight becomes
DynamicQuantizeLinear + MatMulInteger, as onnxruntime's quantize_dynamic writes it),
OUT/bench_meta.json (family, sizes, label ids: what ort_modern.mjs reads) and OUT/check.json
(a few padded rows and the torch module's logits: `node bench/ort_modern.mjs --check
OUT/model.onnx` compares ONNX Runtime with them, fp32 within 1e-4).

  /usr/bin/python3 bench/export_modern.py --model-dir CKPT --out-dir OUT [--int8] [--skip-fp32]

Needs Debian's python3-torch, python3-numpy and python3-onnx.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import torch

from modern_reference import load_reranker, shared_bench

TWO_GB = 2 * 1024 ** 3


def check_rows(cfg, qwen):
    """Three rows of different lengths, padded on the right, with in-vocabulary ids (deterministic)."""
    g = torch.Generator().manual_seed(20241125)
    lengths = [37, 12, 64]
    hi = min(cfg["vocab_size"], 30000)
    pad = cfg.get("pad_token_id")
    if pad is None:
        pad = cfg.get("eos_token_id", 0)
    ids = torch.full((len(lengths), max(lengths)), int(pad), dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(min(1000, hi // 2), hi, (n,), generator=g)
        mask[r, :n] = 1
    return ids, mask


def export(model_dir, out_dir, opset, label_ids):
    model, cfg = load_reranker(model_dir, label_ids)
    qwen = cfg["model_type"] == "qwen3"
    os.makedirs(out_dir, exist_ok=True)
    ids, mask = check_rows(cfg, qwen)
    with torch.inference_mode():
        expected = model(ids, mask)
    path = os.path.join(out_dir, "model.onnx")
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    names = ["input_ids", "attention_mask"]
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"}}
    if params < TWO_GB * 0.9:
        with torch.no_grad():
            torch.onnx.export(model, (ids, mask), path, input_names=names, output_names=["logits"],
                              dynamic_axes=dyn, opset_version=opset, do_constant_folding=True)
    else:
        # Past protobuf's 2 GB the exporter writes one file per tensor: export into a scratch
        # folder, then gather the weights into OUT/model.onnx.data.
        import onnx
        scratch = tempfile.mkdtemp(dir=out_dir, prefix="export-")
        try:
            with torch.no_grad():
                torch.onnx.export(model, (ids, mask), os.path.join(scratch, "model.onnx"), input_names=names,
                                  output_names=["logits"], dynamic_axes=dyn, opset_version=opset,
                                  do_constant_folding=True)
            m = onnx.load(os.path.join(scratch, "model.onnx"))
            if os.path.exists(path + ".data"):
                os.remove(path + ".data")
            onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                      location="model.onnx.data")
        finally:
            shutil.rmtree(scratch)
    meta = {
        "family": "qwen3" if qwen else "modernbert",
        "inputs": names,
        "opset": opset,
        "name": os.path.basename(os.path.normpath(model_dir)),
        "torch": torch.__version__,
        "modeling": "bench/modern_reference.py",
        "config": {k: cfg.get(k) for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                           "num_attention_heads", "num_key_value_heads", "head_dim",
                                           "vocab_size", "pad_token_id", "local_attention",
                                           "global_attn_every_n_layers", "id2label")},
    }
    if qwen:
        meta["label_token_ids"] = {"no": model.label_ids[0], "yes": model.label_ids[1]}
    with open(os.path.join(out_dir, "bench_meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump({"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "logits": expected.tolist(),
                   "tolerance": 1e-4}, f)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--skip-fp32", action="store_true", help="reuse an existing OUT/model.onnx")
    ap.add_argument("--no-id", type=int, help="Qwen3: the \"no\" token id (default: from tokenizer.json)")
    ap.add_argument("--yes-id", type=int, help="Qwen3: the \"yes\" token id (default: from tokenizer.json)")
    a = ap.parse_args()
    if (a.no_id is None) != (a.yes_id is None):
        ap.error("--no-id and --yes-id go together")
    labels = (a.no_id, a.yes_id) if a.no_id is not None else None
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    path = os.path.join(a.out_dir, "model.onnx")
    if not a.skip_fp32:
        path = export(a.model_dir, a.out_dir, a.opset, labels)
        print("wrote", path)
    if a.int8:
        sys.path.insert(0, shared_bench())
        from export_onnx import quantize_dynamic_int8
        dst = os.path.join(a.out_dir, "model_int8.onnx")
        n = quantize_dynamic_int8(path, dst)
        print("wrote", dst, "quantized MatMuls:", n)


if __name__ == "__main__":
    main()

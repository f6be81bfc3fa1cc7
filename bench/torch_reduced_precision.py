#!/usr/bin/python3
"""PyTorch's own reduced-precision logits for every golden cross-encoder pair.

For each tests/data/golden/<model>.jsonl (single pairs), scores every pair alone
with ../shared/bench/hf_reference.py's model (BERT, XLM-R) or bench/modern_reference.py's
(ModernBERT, the Qwen3 reranker; both bit-exact with the goldens) in
  fp32   as is,
  bf16   torch.autocast("cpu", torch.bfloat16) around it,
  int8   torch.quantization.quantize_dynamic(Linear, qint8) on the onednn engine,
the same modes as <model>.reduced_precision.json (which covers 5 pairs only),
and writes <model>.torch_reduced.jsonl: {"id", "fp32", "bf16", "int8"} per pair (the
logit; for the Qwen3 reranker logit("yes") - logit("no"), the score Winnow returns).
tests/inference/precision_agreement_test.cc compares Winnow's bf16 / int8
rankings with these (ours must not rank worse than PyTorch's do).

  /usr/bin/python3 bench/torch_reduced_precision.py [--bench ../shared/bench] [--tests tests/data]

Needs Debian's python3-torch and python3-numpy; not part of the test run.
"""
import argparse
import copy
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def shared_bench():
    """shared/bench beside the checkout: ../shared (main) or ../../shared (a worktree under wt/)."""
    for up in ("..", os.path.join("..", "..")):
        path = os.path.normpath(os.path.join(ROOT, up, "shared", "bench"))
        if os.path.exists(os.path.join(path, "hf_reference.py")):
            return path
    return os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default=shared_bench())
    ap.add_argument("--tests", default=os.path.join(ROOT, "tests", "data"))
    ap.add_argument("--models", default="bert-ce-tiny,xlmr-ce-tiny,xlmr-ce-tiny-long,modernbert-ce-tiny,"
                                        "qwen3-reranker-tiny")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.bench))
    sys.path.insert(0, HERE)
    import torch
    from hf_reference import load_cross_encoder
    from modern_reference import load_reranker

    torch.set_num_threads(2)
    torch.backends.quantized.engine = "onednn"
    for name in args.models.split(","):
        model_dir = os.path.join(args.tests, "models", name)
        with open(os.path.join(model_dir, "config.json")) as f:
            model_type = json.load(f).get("model_type")
        if model_type in ("modernbert", "qwen3"):
            model, _ = load_reranker(model_dir)
            if model_type == "qwen3":
                def run(m, ids, mask, types):
                    out = m(ids, mask)
                    return (out[:, 1] - out[:, 0])[:, None]  # yes - no
            else:
                def run(m, ids, mask, types):
                    return m(ids, mask)
        else:
            model, _ = load_cross_encoder(model_dir)

            def run(m, ids, mask, types):
                return m(ids, mask, types)
        int8 = torch.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
        golden = os.path.join(args.tests, "golden", name + ".jsonl")
        out_path = os.path.join(args.tests, "golden", name + ".torch_reduced.jsonl")
        with open(golden) as f:
            records = [json.loads(line) for line in f if line.strip()]
        with torch.inference_mode(), open(out_path, "w") as out:
            for r in records:
                ids = torch.tensor([r["input_ids"]])
                types = torch.tensor([r.get("token_type_ids", [0] * len(r["input_ids"]))])
                mask = torch.ones_like(ids)
                fp32 = run(model, ids, mask, types)[0, 0].item()
                with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                    bf16 = run(model, ids, mask, types)[0, 0].float().item()
                q8 = run(int8, ids, mask, types)[0, 0].item()
                out.write(json.dumps({"id": r["id"], "fp32": fp32, "bf16": bf16, "int8": q8}) + "\n")
        print(f"{name}: {len(records)} pairs -> {out_path}")


if __name__ == "__main__":
    main()

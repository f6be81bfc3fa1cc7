#!/usr/bin/python3
"""PyTorch's own bf16 / int8 ranking agreement on the pairs `winnow-bench` compared.

`winnow-bench ... --precision all --agreement-out FILE` writes the queries it
built (query 0 is the workload's) and every precision's scores. This scores
the same (query, document) pairs with PyTorch (../shared/bench/hf_reference.py:
fp32, bf16 autocast, dynamic int8 on the onednn engine, as torch_bench.py
runs them) and prints the agreement lines winnow-bench prints, for PyTorch's
modes, so the two can be read side by side:

  /usr/bin/python3 bench/torch_agreement.py --model-dir ~/.cache/winnow-bench/checkpoints/minilm-l6-ce --scores FILE

Needs Debian's python3-torch and python3-numpy; not part of the test run.
"""
import argparse
import copy
import json
import os
import sys

# Where ../shared/bench is: one answer for both torch scripts.
from torch_reduced_precision import shared_bench


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    m = (len(a) - 1) / 2
    cov = sum((x - m) * (y - m) for x, y in zip(ra, rb))
    va = sum((x - m) ** 2 for x in ra)
    vb = sum((y - m) ** 2 for y in rb)
    return cov / (va * vb) ** 0.5 if va and vb else (1.0 if va == vb else 0.0)


def top10(v):
    return sorted(range(len(v)), key=lambda i: (-v[i], i))[:10]


def agreement(ref, red):
    rhos = [spearman(a, b) for a, b in zip(ref, red)]
    same = sum(top10(a) == top10(b) for a, b in zip(ref, red))
    same_set = sum(sorted(top10(a)) == sorted(top10(b)) for a, b in zip(ref, red))
    diff = max(abs(x - y) for a, b in zip(ref, red) for x, y in zip(a, b))
    n = len(ref)
    return {"queries": n, "spearman_min": round(min(rhos), 5), "spearman_mean": round(sum(rhos) / n, 5),
            "top10_identical": round(same / n, 3), "top10_same_set": round(same_set / n, 3),
            "max_abs_diff": round(diff, 6)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--scores", required=True, help="winnow-bench --agreement-out file")
    ap.add_argument("--bench", default=shared_bench())
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.bench))
    import torch
    from hf_reference import load_cross_encoder

    dump = json.load(open(args.scores))
    wl = json.load(open(os.path.join(args.bench, "workloads.json")))
    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = "onednn"
    model, cfg = load_cross_encoder(args.model_dir)
    family = "bert" if cfg["model_type"] == "bert" else "xlm-roberta"
    tpl = wl["pair_templates"][family]
    int8 = torch.quantization.quantize_dynamic(copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8)
    docs = wl["workloads"][dump["workload"]]["docs"]
    scores = {"fp32": [], "bf16": [], "int8": []}
    with torch.inference_mode():
        for q in dump["queries"]:
            head = [tpl["cls"]] + q + [tpl["sep"]] + ([] if family == "bert" else [tpl["sep"]])
            for mode in scores:
                row = []
                for d0 in docs:
                    d = d0[:wl["max_pair_tokens"] - len(head) - 1]
                    ids = head + d + [tpl["sep"]]
                    types = [0] * len(head) + [1] * (len(d) + 1) if family == "bert" else [0] * len(ids)
                    t_ids, t_types = torch.tensor([ids]), torch.tensor([types])
                    mask = torch.ones_like(t_ids)
                    if mode == "bf16":
                        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                            row.append(model(t_ids, mask, t_types)[0, 0].float().item())
                    else:
                        row.append((int8 if mode == "int8" else model)(t_ids, mask, t_types)[0, 0].item())
                scores[mode].append(row)
    engine = "torch-" + torch.__version__.split("+")[0]
    winnow_fp32 = dump["scores"].get("fp32")
    if winnow_fp32:
        fp32_gap = agreement(winnow_fp32, scores["fp32"])["max_abs_diff"]
        print(json.dumps({"engine": engine, "check": "torch fp32 vs winnow fp32", "max_abs_diff": fp32_gap}))
    for mode in ("bf16", "int8"):
        line = {"engine": engine, "agreement": f"{mode} vs fp32", "model": dump["model"],
                "workload": dump["workload"], "docs": len(docs)}
        line.update(agreement(scores["fp32"], scores[mode]))
        print(json.dumps(line))


if __name__ == "__main__":
    main()

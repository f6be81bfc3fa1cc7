#!/usr/bin/python3
"""The ratio table of bench/compare from its results.jsonl (standard library only).

One row per model x workload x Winnow precision: Winnow's median, ONNX
Runtime's best fp32 and int8 medians from the same session (over the batch
sizes it ran), the speed-ups, effective GFLOP/s, efficiency against the GEMM
ceiling measured in the same run, peak RSS, other_load; then the agreement
lines and the GEMM ceilings.

  /usr/bin/python3 bench/compare_table.py bench/results/<date>/results.jsonl
"""
import json
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    winnow = [r for r in rows if r.get("engine") == "winnow" and "median_ms" in r]
    ort = [r for r in rows if str(r.get("engine", "")).startswith("onnxruntime")]
    agreement = [r for r in rows if "agreement" in r]
    gemm = [r for r in rows if r.get("bench") == "gemm"]

    def best_ort(model, workload, precision):
        found = [r for r in ort if r["model"] == model and r["workload"] == workload and r["precision"] == precision]
        return min(found, key=lambda r: r["median_ms"]) if found else None

    header = (f"{'model':10} {'work':5} {'prec':4} {'winnow ms':>10} {'ORT fp32':>9} {'ORT int8':>9} "
              f"{'x fp32':>7} {'x int8':>7} {'GFLOP/s':>8} {'GEMM':>6} {'eff':>5} {'RSS MB':>7} {'load':>5}")
    print(header)
    print("-" * len(header))
    for r in winnow:
        f = best_ort(r["model"], r["workload"], "fp32")
        i = best_ort(r["model"], r["workload"], "int8")
        fx = f"{f['median_ms'] / r['median_ms']:.2f}" if f else "-"
        ix = f"{i['median_ms'] / r['median_ms']:.2f}" if i else "-"
        load = max([r["other_load"]] + [x["other_load"] for x in (f, i) if x])
        print(f"{r['model']:10} {r['workload']:5} {r['precision']:4} {r['median_ms']:10.1f} "
              f"{(f['median_ms'] if f else float('nan')):9.1f} {(i['median_ms'] if i else float('nan')):9.1f} "
              f"{fx:>7} {ix:>7} {r['gflops_eff']:8.1f} {r['gemm_gflops']:6.0f} {r['efficiency']:5.2f} "
              f"{r['peak_rss_mb']:7.0f} {load:5.2f}")
    if ort:
        print()
        print("ONNX Runtime (same session): " + "; ".join(
            f"{r['model']} {r['workload']} {r['precision']} batch {r['batch']}: {r['median_ms']:.0f} ms, "
            f"{r['gflops_eff']} GFLOP/s, RSS {r['peak_rss_mb']:.0f} MB" for r in ort))
    if agreement:
        print()
        print(f"{'model':10} {'work':5} {'agreement':13} {'queries':>7} {'spearman min':>12} {'mean':>7} "
              f"{'top10 same':>10} {'top10 set':>9} {'max|diff|':>10} {'fp32 std':>9} {'bar':>4}")
        for a in agreement:
            print(f"{a['model']:10} {a['workload']:5} {a['agreement']:13} {a['queries']:7} {a['spearman_min']:12.4f} "
                  f"{a['spearman_mean']:7.4f} {a['top10_identical']:10.2f} {a['top10_same_set']:9.2f} "
                  f"{a['max_abs_diff']:10.5f} {a.get('fp32_score_std', float('nan')):9.5f} "
                  f"{'yes' if a['meets_bar'] else 'no':>4}")
    if gemm:
        print()
        for g in gemm:
            shapes = ", ".join(f"{s['k']}->{s['n']}: {s['gflops']:.0f}" for s in g["shapes"])
            print(f"GEMM ceiling {g.get('model', '')} {g['precision']}: {g['gflops']:.0f} GFLOP/s ({shapes}; "
                  f"{g['shapes'][0]['impl']})")


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
"""The ratio table of bench/compare from its results.jsonl (standard library only).

One row per model x workload x Winnow precision: Winnow's median, ONNX
Runtime's best fp32 and int8 medians from the same session (over the batch
sizes it ran), the speed-ups, effective GFLOP/s, efficiency against the GEMM
ceiling measured in the same run, peak RSS, other_load; then the agreement
lines and the GEMM ceilings.

With several rounds (bench/compare --rounds N: Winnow, then ONNX Runtime, N
times over), each ratio is taken within its round, and the row gives the
median over the rounds of every figure (the ratios included, not a ratio of
medians); the rounds' own ratios follow the table.

  /usr/bin/python3 bench/compare_table.py bench/results/<date>/results.jsonl
"""
import json
import statistics
import sys


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip().startswith("{")]
    winnow = [r for r in rows if r.get("engine") == "winnow" and "median_ms" in r]
    ort = [r for r in rows if str(r.get("engine", "")).startswith("onnxruntime")]
    agreement = [r for r in rows if "agreement" in r]
    gemm = [r for r in rows if r.get("bench") == "gemm"]
    rounds = sorted({r.get("round", 1) for r in winnow + ort})

    def best_ort(model, workload, precision, round_):
        found = [r for r in ort if r["model"] == model and r["workload"] == workload and
                 r["precision"] == precision and r.get("round", 1) == round_]
        return min(found, key=lambda r: r["median_ms"]) if found else None

    # (model, workload, precision) in the order first seen, with one entry per round.
    measured = {}
    for r in winnow:
        f = best_ort(r["model"], r["workload"], "fp32", r.get("round", 1))
        i = best_ort(r["model"], r["workload"], "int8", r.get("round", 1))
        measured.setdefault((r["model"], r["workload"], r["precision"]), []).append((r, f, i))

    def median(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def text(value, spec):
        return format(value, spec) if value is not None else "-"

    header = (f"{'model':10} {'work':5} {'prec':4} {'winnow ms':>10} {'ORT fp32':>9} {'ORT int8':>9} "
              f"{'x fp32':>7} {'x int8':>7} {'GFLOP/s':>8} {'GEMM':>6} {'eff':>5} {'RSS MB':>7} {'load':>5}")
    if len(rounds) > 1:
        print(f"medians over {len(rounds)} rounds (each ratio taken within its round)")
    print(header)
    print("-" * len(header))
    per_round = []
    for (model, workload, precision), entries in measured.items():
        def over(get):
            return median([get(r, f, i) for r, f, i in entries])
        fx = [f["median_ms"] / r["median_ms"] if f else None for r, f, i in entries]
        ix = [i["median_ms"] / r["median_ms"] if i else None for r, f, i in entries]
        load = max(x["other_load"] for r, f, i in entries for x in (r, f, i) if x)
        print(f"{model:10} {workload:5} {precision:4} {text(over(lambda r, f, i: r['median_ms']), '10.1f')} "
              f"{text(over(lambda r, f, i: f['median_ms'] if f else None), '9.1f')} "
              f"{text(over(lambda r, f, i: i['median_ms'] if i else None), '9.1f')} "
              f"{text(median(fx), '7.2f')} {text(median(ix), '7.2f')} "
              f"{text(over(lambda r, f, i: r['gflops_eff']), '8.1f')} "
              f"{text(over(lambda r, f, i: r['gemm_gflops']), '6.0f')} "
              f"{text(over(lambda r, f, i: r['efficiency']), '5.2f')} "
              f"{text(over(lambda r, f, i: r['peak_rss_mb']), '7.0f')} {load:5.2f}")
        if len(entries) > 1:
            per_round.append(f"{model} {workload} {precision}: x ORT fp32 " +
                             " / ".join(text(x, ".2f") for x in fx) + ", x ORT int8 " +
                             " / ".join(text(x, ".2f") for x in ix) + ", eff " +
                             " / ".join(f"{r['efficiency']:.2f}" for r, f, i in entries))
    if per_round:
        print()
        print("Each round (Winnow, then ONNX Runtime), in order:")
        for line in per_round:
            print("  " + line)
    if ort:
        print()
        print("ONNX Runtime (same session): " + "; ".join(
            f"{r['model']} {r['workload']} {r['precision']} batch {r['batch']}"
            f"{' round ' + str(r['round']) if len(rounds) > 1 else ''}: {r['median_ms']:.0f} ms, "
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

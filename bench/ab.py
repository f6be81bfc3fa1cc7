#!/usr/bin/env python3
"""Two winnow-bench builds timed in turn on one model and workload: the
median of the paired ratios (after / before) and each encoder stage's median.

On a shared host the time of one binary drifts by 10-20 % within minutes, in
every stage alike, so two builds are only compared run against neighbouring
run: the pairs alternate which binary goes first, and each pair gives one
ratio of their fastest runs. Give the same binary as both to see the host's
own spread (an A/A run).

  /usr/bin/python3 bench/ab.py --before OLD/winnow-bench --after build/winnow-bench \\
      --model ~/.cache/winnow-bench/checkpoints/minilm-l6-ce --workload short --precision int8 --pairs 8
"""

import argparse
import json
import os
import statistics
import subprocess
import sys


def shared_workloads():
    """shared/bench/workloads.json beside the checkout (as bench/compare finds it)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for candidate in (os.path.join(root, "..", "shared", "bench"), os.path.join(root, "..", "..", "shared", "bench"),
                      os.environ.get("WINNOW_SHARED_BENCH", "")):
        path = os.path.join(candidate, "workloads.json")
        if candidate and os.path.isfile(path):
            return os.path.abspath(path)
    return None


def run_once(args, binary):
    command = [binary, "--model", args.model, "--workload", args.workload_file, "--name", args.workload,
               "--precision", args.precision, "--runs", str(args.runs), "--threads", str(args.threads), "--json",
               "--profile", "--agreement-queries", "0"]
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "min_ms" in record:
                return record
    sys.exit(f"bench/ab.py: {binary} gave no timing (exit {done.returncode}): {done.stderr.strip()[-500:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="the winnow-bench binary to compare against")
    parser.add_argument("--after", required=True, help="the winnow-bench binary being measured")
    parser.add_argument("--model", required=True, help="checkpoint directory (bench/compare --setup-only makes them)")
    parser.add_argument("--workload", default="short", help="workload name in the workloads file")
    parser.add_argument("--workload-file", default=shared_workloads(), help="default: shared/bench/workloads.json")
    parser.add_argument("--precision", default="int8", choices=["fp32", "bf16", "int8"])
    parser.add_argument("--pairs", type=int, default=8, help="alternations (each runs both binaries)")
    parser.add_argument("--runs", type=int, default=3, help="winnow-bench --runs per invocation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = parser.parse_args()
    if args.workload_file is None:
        sys.exit("bench/ab.py: shared/bench/workloads.json not found (give --workload-file or set WINNOW_SHARED_BENCH)")
    if args.pairs < 1 or args.runs < 1:
        sys.exit("bench/ab.py: --pairs and --runs must be at least 1")
    for binary in (args.before, args.after):
        if not os.access(binary, os.X_OK):
            sys.exit(f"bench/ab.py: {binary} is not an executable")

    before, after = [], []
    for pair in range(args.pairs):
        order = [(before, args.before), (after, args.after)]
        if pair % 2 == 1:
            order.reverse()
        for runs, binary in order:
            runs.append(run_once(args, binary))
        if not args.json:
            print(f"pair {pair + 1}: before {before[-1]['min_ms']:.1f} ms, after {after[-1]['min_ms']:.1f} ms",
                  flush=True)

    ratios = [a["min_ms"] / b["min_ms"] for a, b in zip(after, before)]
    stages = {}
    for name in before[0].get("stages_ms", {}):
        stages[name] = {"before": statistics.median(r["stages_ms"][name] for r in before),
                        "after": statistics.median(r["stages_ms"][name] for r in after)}
    summary = {"model": os.path.basename(os.path.normpath(args.model)), "workload": args.workload,
               "precision": args.precision, "pairs": args.pairs, "cpu": before[0].get("cpu"),
               "before_min_ms": statistics.median(r["min_ms"] for r in before),
               "after_min_ms": statistics.median(r["min_ms"] for r in after),
               "ratio_median": statistics.median(ratios), "ratio_lowest": min(ratios), "ratio_highest": max(ratios),
               "stages_ms": stages}
    if args.json:
        print(json.dumps(summary))
        return
    print(f"{summary['model']} {args.workload} {args.precision}, {args.pairs} pairs: fastest run before "
          f"{summary['before_min_ms']:.1f} ms, after {summary['after_min_ms']:.1f} ms (medians); after / before "
          f"{summary['ratio_median']:.3f} (pairs {summary['ratio_lowest']:.3f} to {summary['ratio_highest']:.3f})")
    for name, s in stages.items():
        if s["before"] or s["after"]:
            print(f"  {name:<14} before {s['before']:8.1f} ms  after {s['after']:8.1f} ms")


if __name__ == "__main__":
    main()

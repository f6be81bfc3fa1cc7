#!/usr/bin/python3
"""Server concurrency: N clients sending small rerank requests at once, against
the same requests sent one at a time, through the real `winnow serve` over HTTP.

What it shows is the Scorer's cross-request batching: 20-document requests
are too small to keep both cores' GEMMs busy alone; concurrent ones are planned
into shared batches under the token budget. Standard library only; never part
of ctest.

  /usr/bin/python3 bench/server_concurrency.py --model ~/.cache/winnow-bench/checkpoints/minilm-l6-ce \
      [--precision fp32] [--clients 8] [--requests 5] [--docs 20] [--winnow build/winnow]

Prints one JSON line: requests per second both ways, the speed-up, p50 / p99
latency both ways, and whether every concurrent answer equals its sequential
one (scores must not depend on what a request was batched with).
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "du", "ne", "pa", "qui", "ber",
             "gan", "il", "mo", "rus", "te", "xo", "zar", "el", "fin", "hal", "jo", "wen"]


def text(rng, min_words, max_words):
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
                    for _ in range(rng.randint(min_words, max_words)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.request("POST", "/v1/rerank", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    payload = response.read()
    elapsed_ms = (time.perf_counter() - started) * 1000
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"/v1/rerank answered {response.status}: {payload[:300]!r}")
    results = json.loads(payload)["results"]
    return elapsed_ms, sorted((r["index"], r["relevance_score"]) for r in results)


def percentile(values, p):
    values = sorted(values)
    rank = p / 100 * (len(values) - 1)
    lo, hi = int(rank), min(int(rank) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model directory")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=5, help="requests per client")
    parser.add_argument("--docs", type=int, default=20, help="documents per request")
    parser.add_argument("--threads", type=int, default=2, help="compute threads of the server")
    parser.add_argument("--winnow", default=os.path.join(os.path.dirname(__file__), "..", "build", "winnow"))
    args = parser.parse_args()

    rng = random.Random(20261126)
    total = args.clients * args.requests
    requests = [{"model": "bench-ce", "query": text(rng, 6, 10),
                 "documents": [text(rng, 20, 60) for _ in range(args.docs)], "top_n": args.docs}
                for _ in range(total)]

    load_before = float(open("/proc/loadavg").read().split()[0])  # others' load: benchmarks want it low
    data = tempfile.mkdtemp(prefix="winnow-bench-")
    port = free_port()
    with open(os.path.join(data, "models.json"), "w") as f:
        json.dump({"models": [{"name": "bench-ce", "source": os.path.abspath(args.model),
                               "precision": args.precision, "load_at_start": True}]}, f)
    log = open(os.path.join(data, "serve.log"), "wb")
    server = subprocess.Popen([args.winnow, "serve", "--data", data, "--port", str(port),
                               "--threads", str(args.threads), "--http-threads", str(max(16, 2 * args.clients)),
                               # the concurrent round repeats the sequential one's requests: without
                               # this, the score cache would answer them all
                               "--score-cache-mb", "0"],
                              # a file, not a pipe nobody reads (see server_load.py's Server)
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                with open(log.name, "rb") as text:
                    sys.exit("winnow serve did not start: " + text.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)

        for body in requests[:2]:  # warm-up: primitives for the usual row counts
            post(port, body)

        sequential = []
        started = time.perf_counter()
        for body in requests:
            sequential.append(post(port, body))
        sequential_s = time.perf_counter() - started

        concurrent = [None] * total
        errors = []

        def client(c):
            try:
                for r in range(c, total, args.clients):
                    concurrent[r] = post(port, requests[r])
            except Exception as e:  # reported below; the other clients go on
                errors.append(e)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        concurrent_s = time.perf_counter() - started
        if errors:
            sys.exit(f"a client failed: {errors[0]}")

        sequential_ms = [ms for ms, _ in sequential]
        concurrent_ms = [ms for ms, _ in concurrent]
        print(json.dumps({
            "engine": "winnow-serve", "bench": "server_concurrency", "precision": args.precision,
            "model": os.path.basename(os.path.normpath(args.model)), "clients": args.clients,
            "requests": total, "docs": args.docs, "threads": args.threads,
            "sequential_rps": round(total / sequential_s, 2), "concurrent_rps": round(total / concurrent_s, 2),
            "speedup": round(sequential_s / concurrent_s, 2),
            "sequential_p50_ms": round(percentile(sequential_ms, 50), 1),
            "sequential_p99_ms": round(percentile(sequential_ms, 99), 1),
            "p50_ms": round(percentile(concurrent_ms, 50), 1), "p99_ms": round(percentile(concurrent_ms, 99), 1),
            "identical_to_sequential": all(a[1] == b[1] for a, b in zip(sequential, concurrent)),
            "load_before": load_before,
        }))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Server load: the score cache and latency under open-loop load, through the
real `winnow serve` over HTTP (POST /v1/rerank). Standard library only; never
part of ctest.

  /usr/bin/python3 bench/server_load.py --model ~/.cache/winnow-bench/checkpoints/minilm-l6-ce-tok \
      [--precision int8] [--part cache|load|all] [--winnow build/winnow] [--threads 2]

--part cache (a server with the default --score-cache-mb): per run, a fresh
query over --cache-docs (100) documents: the first request (every document
scored), the second identical request (time, hit rate), and a request whose
documents overlap the first's by half (time, hit rate). Medians of --runs.

--part load (a server with --score-cache-mb 0, every request's texts new):
  1. unloaded: --unloaded requests of --docs (20) documents one at a time:
     p50 / p99 / max;
  2. saturation: --clients closed-loop clients for --saturation-s seconds:
     requests per second;
  3. open loop at each --levels fraction (0.5, 0.9) of that rate: --arrivals
     (poisson: independent arrivals, bursts included; uniform: evenly spaced,
     a constant-throughput generator's load, as wrk2 -R offers) for --load-s
     seconds, each request on its own thread (a slow
     answer never delays the next arrival); latency counts from the scheduled
     arrival. p50 / p99 / max, and p99 against the unloaded p99 (the targets:
     <= 2x at 50 %, <= 4x at 90 %).
     With each level, what queueing alone costs: one server answering requests
     one at a time in arrival order (FIFO, which for requests of one size has
     the shortest tail of any order that never interrupts a request), with
     service times drawn from the unloaded latencies, the same kind of
     arrivals at the same rate: its utilization and its p99 (median over 50 simulated runs
     of 20,000 arrivals), against the unloaded p99. A measured p99 near it
     is the queue's, not the engine's.

--background N starts N busy loops at nice 19 for the whole run: other
work on the machine that should cost the server almost nothing (a nice-19
process gets about 1.5 % of a core beside a nice-0 one).

Each level's line also says what the server saw (its /metrics): the mean
wait in the model's queue, the mean handler time beyond it, and batches per
request. Prints one JSON line per measurement, with the machine's load average before
and after and the CPU, so a run on a shared machine can be judged and rerun on
a quiet one.
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "du", "ne", "pa", "qui", "ber",
             "gan", "il", "mo", "rus", "te", "xo", "zar", "el", "fin", "hal", "jo", "wen"]
TARGETS = {0.5: 2.0, 0.9: 4.0}  # the p99 bounds, as multiples of the unloaded p99


def text(rng, min_words, max_words):
    return " ".join("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
                    for _ in range(rng.randint(min_words, max_words)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_average():
    return float(open("/proc/loadavg").read().split()[0])


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def percentile(values, p):
    values = sorted(values)
    rank = p / 100 * (len(values) - 1)
    lo, hi = int(rank), min(int(rank) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)


class Server:
    """`winnow serve` on a fresh data directory with one model, `bench-ce`."""

    def __init__(self, args, extra):
        self.data = tempfile.mkdtemp(prefix="winnow-load-")
        self.port = free_port()
        with open(os.path.join(self.data, "models.json"), "w") as f:
            json.dump({"models": [{"name": "bench-ce", "source": os.path.abspath(args.model),
                                   "precision": args.precision, "load_at_start": True}]}, f)
        # The server's log goes to a file: a pipe nobody reads fills after a few
        # hundred requests' log lines, and the server's last flush at exit then
        # waits on it (its request path never does: the logger drops instead).
        self.log = open(os.path.join(self.data, "serve.log"), "wb")
        self.process = subprocess.Popen(
            [args.winnow, "serve", "--data", self.data, "--port", str(self.port), "--threads", str(args.threads),
             "--http-threads", "64", "--max-concurrent-requests", "100000"] + extra,
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/ready")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                self.close()
                with open(self.log.name, "rb") as log:
                    sys.exit("winnow serve did not start: " + log.read().decode(errors="replace")[-2000:])
            time.sleep(0.2)

    def rerank(self, query, documents):
        """(milliseconds, meta) of one POST /v1/rerank."""
        body = json.dumps({"model": "bench-ce", "query": query, "documents": documents, "top_n": 10})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        started = time.perf_counter()
        conn.request("POST", "/v1/rerank", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        payload = response.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        conn.close()
        if response.status != 200:
            raise RuntimeError(f"/v1/rerank answered {response.status}: {payload[:300]!r}")
        return elapsed_ms, json.loads(payload)["meta"]

    def metric_sums(self):
        """{series: value} of the _sum and _count lines of /metrics' histograms."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        conn.close()
        sums = {}
        for line in text.splitlines():
            if line.startswith("#") or " " not in line:
                continue
            series, value = line.rsplit(" ", 1)
            name = series.split("{", 1)[0]
            if name.endswith("_sum") or name.endswith("_count"):
                if name.startswith("winnow_http_request_duration_seconds") and "rerank" not in series:
                    continue
                sums[name] = sums.get(name, 0.0) + float(value)
        return sums

    def close(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.log.close()
        shutil.rmtree(self.data, ignore_errors=True)


def has_cache_flag(winnow):
    """Whether this winnow has the score cache (a build from before it, run as a baseline, has not)."""
    help_text = subprocess.run([winnow, "serve", "--help"], capture_output=True, text=True).stdout
    return "--score-cache-mb" in help_text


def common(args):
    return {"engine": "winnow-serve", "winnow": args.winnow, "model": os.path.basename(os.path.normpath(args.model)),
            "precision": args.precision, "threads": args.threads, "cpu": cpu_name(), "background": args.background}


def hit_rate(meta):
    cache = meta["score_cache"]
    total = cache["hits"] + cache["misses"]
    return cache["hits"] / total if total else 0.0


def run_cache(args, rng):
    server = Server(args, ["--score-cache-mb", str(args.score_cache_mb)])
    try:
        load_before = load_average()
        server.rerank(text(rng, 6, 10), [text(rng, 20, 60) for _ in range(args.cache_docs)])  # warm-up
        first, second, overlap, second_rate, overlap_rate = [], [], [], [], []
        for _ in range(args.runs):
            query = text(rng, 6, 10)
            documents = [text(rng, 20, 60) for _ in range(args.cache_docs)]
            ms, meta = server.rerank(query, documents)
            first.append(ms)
            ms, meta = server.rerank(query, documents)
            second.append(ms)
            second_rate.append(hit_rate(meta))
            half = args.cache_docs // 2
            mixed = documents[half:] + [text(rng, 20, 60) for _ in range(args.cache_docs - half)]
            ms, meta = server.rerank(query, mixed)
            overlap.append(ms)
            overlap_rate.append(hit_rate(meta))
        first_ms, second_ms, overlap_ms = (statistics.median(v) for v in (first, second, overlap))
        print(json.dumps({**common(args), "bench": "score_cache", "docs": args.cache_docs, "runs": args.runs,
                          "score_cache_mb": args.score_cache_mb,
                          "first_ms": round(first_ms, 2), "second_ms": round(second_ms, 2),
                          "second_hit_rate": round(statistics.median(second_rate), 3),
                          "second_speedup": round(first_ms / second_ms, 1),
                          "overlap_ms": round(overlap_ms, 2),
                          "overlap_hit_rate": round(statistics.median(overlap_rate), 3),
                          "overlap_speedup": round(first_ms / overlap_ms, 2),
                          "first_all_ms": [round(v, 1) for v in first],
                          "second_all_ms": [round(v, 1) for v in second],
                          "overlap_all_ms": [round(v, 1) for v in overlap],
                          "load_before": load_before, "load_after": load_average()}), flush=True)
    finally:
        server.close()


def new_request(rng, docs):
    return text(rng, 6, 10), [text(rng, 20, 60) for _ in range(docs)]


def gap(rng, rate, arrivals):
    """Seconds to the next arrival: exponential (Poisson arrivals) or 1 / rate (uniform)."""
    return rng.expovariate(rate) if arrivals == "poisson" else 1.0 / rate


def open_loop(server, rate, seconds, requests, seed, arrivals):
    """`arrivals` at `rate` per second for `seconds`; latencies (ms) from each scheduled arrival,
    errors, the whole run's seconds and the arrivals' own rate (a Poisson count varies: ±sqrt(n))."""
    latencies, errors, threads = [], [], []
    lock = threading.Lock()
    arrivals_rng = random.Random(seed)

    def one(scheduled, query, documents):
        try:
            server.rerank(query, documents)
            done = time.perf_counter()
            with lock:
                latencies.append((done - scheduled) * 1000)
        except Exception as e:  # counted, reported
            with lock:
                errors.append(str(e))

    start = time.perf_counter()
    at = start
    i = 0
    while at - start < seconds:
        at += gap(arrivals_rng, rate, arrivals)
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        query, documents = requests[i % len(requests)]
        i += 1
        t = threading.Thread(target=one, args=(at, query, documents), daemon=True)
        t.start()
        threads.append(t)
    arrival_rps = len(threads) / (at - start)
    for t in threads:
        t.join()
    return latencies, errors, time.perf_counter() - start, arrival_rps


def fifo_queue_p99(service_ms, rate, kind, arrivals=20_000, runs=50, seed=7):
    """The p99 latency (ms) of a single FIFO server whose service times are drawn from
    `service_ms`, under `kind` arrivals (poisson, uniform) at `rate` per second: the median
    over `runs` simulated runs of `arrivals` requests, and the utilization (rate x mean service)."""
    sim = random.Random(seed)
    utilization = rate * statistics.fmean(service_ms) / 1000
    if utilization >= 1:
        return float("inf"), utilization
    p99s = []
    for _ in range(runs):
        clock = free_at = 0.0
        latencies = []
        for _ in range(arrivals):
            clock += gap(sim, rate, kind) * 1000
            start = max(clock, free_at)
            free_at = start + sim.choice(service_ms)
            latencies.append(free_at - clock)
        p99s.append(percentile(latencies, 99))
    return statistics.median(p99s), utilization


def server_side(before, after):
    """What the server saw of a level, from its /metrics: the mean time a rerank waited in the
    model's queue, the mean time its handler took beyond that (parsing, tokenizing, the model,
    the answer), and the model's batches per request (below 1: requests shared batches)."""
    def delta(name):
        return after.get(name, 0.0) - before.get(name, 0.0)
    requests = delta("winnow_http_request_duration_seconds_count")
    waits = delta("winnow_engine_queue_wait_seconds_count")
    if requests <= 0 or waits <= 0:
        return {}
    queue_ms = delta("winnow_engine_queue_wait_seconds_sum") / waits * 1000
    handler_ms = delta("winnow_http_request_duration_seconds_sum") / requests * 1000
    return {"server_queue_wait_ms": round(queue_ms, 1), "server_beyond_queue_ms": round(handler_ms - queue_ms, 1),
            "batches_per_request": round(delta("winnow_engine_batch_pairs_count") / requests, 2)}


def run_load(args, rng):
    server = Server(args, ["--score-cache-mb", "0"] if has_cache_flag(args.winnow) else [])
    try:
        # Every request's texts new (and the cache off): the engine works every time.
        pool = [new_request(rng, args.docs) for _ in range(4000)]
        for query, documents in pool[:3]:  # warm-up
            server.rerank(query, documents)
        load_before = load_average()
        before = server.metric_sums()
        unloaded = [server.rerank(q, d)[0] for q, d in pool[3:3 + args.unloaded]]
        unloaded_p99 = percentile(unloaded, 99)
        print(json.dumps({**common(args), "bench": "unloaded", "docs": args.docs, "requests": len(unloaded),
                          "p50_ms": round(percentile(unloaded, 50), 1), "p99_ms": round(unloaded_p99, 1),
                          "max_ms": round(max(unloaded), 1), **server_side(before, server.metric_sums()),
                          "load_before": load_before, "load_after": load_average()}), flush=True)

        # Saturation: closed-loop clients as fast as the server answers.
        done = [0]
        lock = threading.Lock()
        stop = time.perf_counter() + args.saturation_s
        load_before = load_average()

        def client(c):
            k = c
            while time.perf_counter() < stop:
                query, documents = pool[k % len(pool)]
                k += args.clients
                server.rerank(query, documents)
                with lock:
                    done[0] += 1

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(c,)) for c in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        saturation = done[0] / (time.perf_counter() - started)
        print(json.dumps({**common(args), "bench": "saturation", "docs": args.docs, "clients": args.clients,
                          "seconds": args.saturation_s, "requests": done[0], "rps": round(saturation, 2),
                          "load_before": load_before, "load_after": load_average()}), flush=True)

        for level in args.levels:
            rate = level * saturation
            load_before = load_average()
            before = server.metric_sums()
            latencies, errors, elapsed, arrival_rps = open_loop(server, rate, args.load_s, pool,
                                                                seed=int(level * 1000), arrivals=args.arrivals)
            p99 = percentile(latencies, 99) if latencies else float("nan")
            line = {**common(args), "bench": "open_loop", "arrivals": args.arrivals, "docs": args.docs, "level": level,
                    "offered_rps": round(rate, 2), "arrival_rps": round(arrival_rps, 2),
                    "achieved_rps": round(len(latencies) / elapsed, 2),
                    "requests": len(latencies), "errors": len(errors),
                    "p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
                    "p99_ms": round(p99, 1), "max_ms": round(max(latencies), 1) if latencies else None,
                    "unloaded_p99_ms": round(unloaded_p99, 1), "p99_over_unloaded": round(p99 / unloaded_p99, 2),
                    "load_before": load_before, "load_after": load_average()}
            fifo_p99, utilization = fifo_queue_p99(unloaded, rate, args.arrivals)
            line["fifo_utilization"] = round(utilization, 3)
            line["fifo_p99_ms"] = round(fifo_p99, 1)
            line["fifo_p99_over_unloaded"] = round(fifo_p99 / unloaded_p99, 2)
            line.update(server_side(before, server.metric_sums()))
            if level in TARGETS:
                line["target"] = TARGETS[level]
                line["met"] = p99 <= TARGETS[level] * unloaded_p99
            if errors:
                line["first_error"] = errors[0][:300]
            print(json.dumps(line), flush=True)
    finally:
        server.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="model directory (with its tokenizer)")
    parser.add_argument("--precision", default="int8")
    parser.add_argument("--part", choices=["cache", "load", "all"], default="all")
    parser.add_argument("--threads", type=int, default=2, help="compute threads of the server")
    parser.add_argument("--winnow", default=os.path.join(os.path.dirname(__file__), "..", "build", "winnow"))
    parser.add_argument("--runs", type=int, default=5, help="cache: runs (medians)")
    parser.add_argument("--cache-docs", type=int, default=100, help="cache: documents per request")
    parser.add_argument("--score-cache-mb", type=int, default=64, help="cache: the server's --score-cache-mb")
    parser.add_argument("--docs", type=int, default=20, help="load: documents per request")
    parser.add_argument("--unloaded", type=int, default=100, help="load: requests one at a time")
    parser.add_argument("--clients", type=int, default=8, help="load: closed-loop clients for saturation")
    parser.add_argument("--saturation-s", type=float, default=20)
    parser.add_argument("--load-s", type=float, default=30, help="load: seconds of open-loop arrivals per level")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.5, 0.9])
    parser.add_argument("--arrivals", choices=["poisson", "uniform"], default="poisson",
                        help="load: Poisson arrivals, or evenly spaced ones (constant throughput)")
    parser.add_argument("--background", type=int, default=0,
                        help="busy loops at nice 19 running beside the server for the whole run")
    args = parser.parse_args()
    if args.background < 0:
        parser.error("--background must be 0 or more")

    rng = random.Random(20261207)
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=lambda: os.nice(19))
             for _ in range(args.background)]
    try:
        if args.part in ("cache", "all"):
            run_cache(args, rng)
        if args.part in ("load", "all"):
            run_load(args, rng)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Soak and overload: N clients for M minutes against the real `winnow serve`.

Starts `build/winnow serve` on a fresh data directory (or attaches to a running
server with --attach URL --pid PID), sets up a collection of SciFact documents
(tests/data/scifact, 5,183 abstracts), a stored retriever (text_search ->
rerank -> limit) and a rerank model, then runs N clients over loopback, each
sending, one after another, a mix of

  rerank    POST /v1/rerank: a SciFact query and --rerank-docs abstracts
  retrieve  POST /v1/retrievers/soak/execute: BM25 top --top-k, rerank, limit 10
  ingest    POST /v1/collections/soak/documents: --ingest-docs NDJSON documents,
            upserted over a bounded id space (--ingest-ids), so the store
            reaches a steady size and memory can level off

while a sampler reads the server's VmRSS / VmHWM (/proc/PID/status), open file
descriptors (/proc/PID/fd) and CPU time every second, and a prober times GET
/health on a new connection every half second (from its own process, so that
the clients' threads do not delay it). Clients honour Retry-After on
429 / 503 (they wait before their next request; the waits are counted).
Standard library only; never part of ctest.

  /usr/bin/python3 bench/soak.py --model ~/.cache/winnow-bench/checkpoints/minilm-l6-ce-tok \\
      --clients 48 --minutes 10 --mix rerank=4,retrieve=4,ingest=2 --json soak.json

Prints a table and, with --json, writes every figure (and the memory curve) to
a file. See bench/README.md ("Soak and overload") for what is judged how.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ("rerank", "retrieve", "ingest")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    rank = p / 100 * (len(values) - 1)
    lo, hi = int(rank), min(int(rank) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (rank - lo)


def parse_mix(text):
    mix = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in KINDS:
            sys.exit(f"--mix: unknown kind '{name}' (known: {', '.join(KINDS)})")
        try:
            mix[name] = float(weight)
        except ValueError:
            sys.exit(f"--mix: '{part}' needs a number after '='")
        if mix[name] < 0:
            sys.exit(f"--mix: weight of '{name}' is negative")
    if sum(mix.values()) <= 0:
        sys.exit("--mix: every weight is zero")
    return mix


class Server:
    """The server under test: its address and, when known, its process id."""

    def __init__(self, host, port, pid, process=None, data=None, log=None):
        self.host, self.port, self.pid, self.process, self.data, self.log = host, port, pid, process, data, log

    def connection(self, timeout):
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, content_type="application/json", timeout=600):
        conn = self.connection(timeout)
        try:
            headers = {"Content-Type": content_type} if body is not None else {}
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            payload = response.read()
            return response.status, payload
        finally:
            conn.close()


def start_server(args):
    data = args.data or tempfile.mkdtemp(prefix="winnow-soak-")
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, "models.json"), "w") as f:
        json.dump({"models": [{"name": "soak-ce", "source": os.path.abspath(os.path.expanduser(args.model)),
                               "load_at_start": True}]}, f)
    port = free_port()
    log = open(os.path.join(data, "server.log"), "w")
    command = [args.winnow, "serve", "--data", data, "--port", str(port), "--http-threads", str(args.http_threads)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    # The same queries come back all the time: with the score cache on, the
    # soak would measure the cache instead of the engine.
    command += ["--score-cache-mb", str(args.score_cache_mb)]
    command += args.server_arg
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = Server("127.0.0.1", port, process.pid, process, data, log)
    deadline = time.time() + 300
    while True:
        try:
            status, _ = server.request("GET", "/ready", timeout=2)
            if status == 200:
                return server
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            log.flush()
            with open(os.path.join(data, "server.log")) as f:
                sys.exit("winnow serve did not get ready:\n" + f.read()[-3000:])
        time.sleep(0.2)


def read_corpus(n):
    docs = []
    with open(os.path.join(ROOT, "tests", "data", "scifact", "corpus.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            docs.append({"id": "s" + d["_id"], "title": d["title"], "text": d["text"]})
            if len(docs) == n:
                break
    queries = []
    with open(os.path.join(ROOT, "tests", "data", "scifact", "queries.jsonl")) as f:
        for line in f:
            queries.append(json.loads(line)["text"])
    return docs, queries


def set_up(server, args, model, docs):
    """Collection 'soak' with the corpus, retriever 'soak'; returns seconds spent ingesting."""
    status, _ = server.request("GET", "/v1/collections/soak")
    if status == 200:
        if not args.attach:
            sys.exit("a collection 'soak' already exists in the fresh data directory")
        status, payload = server.request("DELETE", "/v1/collections/soak")
        if status != 200:
            sys.exit(f"deleting the old 'soak' collection: {status} {payload[:300]!r}")
    status, payload = server.request("POST", "/v1/collections", json.dumps({"collection_id": "soak"}))
    if status != 201:
        sys.exit(f"creating collection 'soak': {status} {payload[:300]!r}")
    started = time.perf_counter()
    body = "".join(json.dumps(d) + "\n" for d in docs)
    status, payload = server.request("POST", "/v1/collections/soak/documents", body, "application/x-ndjson")
    if status != 200 or json.loads(payload)["documents_stored"] != len(docs):
        sys.exit(f"ingesting the corpus: {status} {payload[:300]!r}")
    ingest_s = time.perf_counter() - started
    server.request("DELETE", "/v1/retrievers/soak")
    retriever = {
        "retriever_id": "soak", "collection_ids": ["soak"],
        "input_schema": {"query": {"type": "string", "required": True}},
        "stages": [
            {"stage_type": "filter", "stage_id": "text_search", "parameters": {"top_k": args.top_k}},
            {"stage_type": "sort", "stage_id": "rerank",
             "parameters": {"model": model, "top_n": args.top_n, "field": "text"}},
            {"stage_type": "reduce", "stage_id": "limit", "parameters": {"limit": 10}}]}
    status, payload = server.request("POST", "/v1/retrievers", json.dumps(retriever))
    if status != 201:
        sys.exit(f"creating retriever 'soak': {status} {payload[:300]!r}")
    return ingest_s


def build_requests(args, model, docs, queries, rng):
    """Pre-encoded bodies, so clients spend their time waiting, not encoding."""
    rerank = []
    for q in queries:
        picked = rng.sample(docs, min(args.rerank_docs, len(docs)))
        rerank.append(json.dumps({"model": model, "query": q, "documents": [d["text"] for d in picked],
                                  "top_n": args.top_n}).encode())
    retrieve = [json.dumps({"inputs": {"query": q}}).encode() for q in queries]
    ingest = []
    for b in range(max(1, args.ingest_ids // max(1, args.ingest_docs))):
        lines = []
        for j in range(args.ingest_docs):
            d = rng.choice(docs)
            n = (b * args.ingest_docs + j) % args.ingest_ids
            lines.append(json.dumps({"id": f"ingest-{n}", "title": d["title"], "text": d["text"],
                                     "metadata": {"batch": b}}))
        ingest.append(("\n".join(lines) + "\n").encode())
    return {"rerank": rerank, "retrieve": retrieve, "ingest": ingest}


ROUTES = {
    "rerank": ("/v1/rerank", "application/json"),
    "retrieve": ("/v1/retrievers/soak/execute", "application/json"),
    "ingest": ("/v1/collections/soak/documents", "application/x-ndjson"),
}


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = []  # (kind, status or error name, latency_ms, finished_at)
        self.retry_after_waits = 0
        self.retry_after_s = 0.0
        self.documents_stored = 0

    def add(self, record):
        with self.lock:
            self.records.append(record)


def retry_after_seconds(value):
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0  # an HTTP date, or garbage: wait a second


def client(server, args, requests, mix, seed, deadline, results):
    rng = random.Random(seed)
    kinds = [k for k in KINDS if mix.get(k, 0) > 0]
    weights = [mix[k] for k in kinds]
    conn = None
    while time.time() < deadline:
        kind = rng.choices(kinds, weights)[0]
        path, content_type = ROUTES[kind]
        body = rng.choice(requests[kind])
        if conn is None:
            conn = server.connection(args.timeout)
        started = time.perf_counter()
        try:
            conn.request("POST", path, body, {"Content-Type": content_type})
            response = conn.getresponse()
            payload = response.read()
        except socket.timeout:
            results.add((kind, "timeout", (time.perf_counter() - started) * 1000, time.time()))
            conn.close()
            conn = None
            continue
        except (OSError, http.client.HTTPException) as e:
            results.add((kind, "conn_error:" + type(e).__name__, (time.perf_counter() - started) * 1000, time.time()))
            conn.close()
            conn = None
            time.sleep(0.05)
            continue
        elapsed_ms = (time.perf_counter() - started) * 1000
        results.add((kind, response.status, elapsed_ms, time.time()))
        if kind == "ingest" and response.status == 200:
            with results.lock:
                results.documents_stored += json.loads(payload)["documents_stored"]
        if response.will_close or response.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = None
        if response.status in (429, 503):
            wait = response.getheader("Retry-After")
            if wait is not None:
                seconds = min(retry_after_seconds(wait), args.max_retry_after)
                with results.lock:
                    results.retry_after_waits += 1
                    results.retry_after_s += seconds
                time.sleep(max(0.0, min(seconds, deadline - time.time())))
    if conn is not None:
        conn.close()


def read_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def data_mb(data):
    """Bytes of the data directory's files (database, write-ahead log, indexes), in MB."""
    total = 0
    for root, _, files in os.walk(data):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return round(total / 2 ** 20, 1)


def sampler(pid, data, stop, samples, t0):
    while not stop.is_set():
        try:
            status = read_status(pid)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            samples.append({"t": round(time.time() - t0, 2), "rss_kb": status.get("VmRSS"),
                            "hwm_kb": status.get("VmHWM"), "threads": status.get("Threads"), "fds": fds,
                            "cpu_s": round(cpu_seconds(pid), 2), "data_mb": data_mb(data) if data else None})
        except (FileNotFoundError, ProcessLookupError):
            samples.append({"t": round(time.time() - t0, 2), "gone": True})
            return
        stop.wait(1.0)


def prober(server, stop, path, t0, interval):
    """Runs in its own process: the clients' threads share one interpreter
    lock, and a probe timed among them would time the lock too (under a
    retry storm, tens of milliseconds). Writes [t, status, ms] lines to `path`."""
    with open(path, "w") as out:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                status, _ = server.request("GET", "/health", timeout=30)
                probe = [time.time() - t0, status, (time.perf_counter() - started) * 1000]
            except OSError as e:
                probe = [time.time() - t0, "error:" + type(e).__name__, (time.perf_counter() - started) * 1000]
            out.write(json.dumps(probe) + "\n")
            out.flush()
            stop.wait(interval)


def read_probes(path):
    with open(path) as f:
        return [tuple(json.loads(line)) for line in f if line.strip()]


def fit_slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def at_time(samples, t):
    """The last sample at or before t seconds (the first one if none is)."""
    live = [s for s in samples if "gone" not in s]
    before = [s for s in live if s["t"] <= t]
    return before[-1] if before else (live[0] if live else None)


def ms(value):
    return None if value is None else round(value, 1)


def summarize(args, mix, results, samples, probes, load_start, load_end, warm_end, setup, server):
    window = max(1e-9, load_end - warm_end)
    per_kind = {}
    statuses = {}
    for kind in KINDS:
        done = [r for r in results.records if r[0] == kind and r[3] >= warm_end]
        ok = [r[2] for r in done if isinstance(r[1], int) and 200 <= r[1] < 300]
        by_status = {}
        for r in done:
            by_status[str(r[1])] = by_status.get(str(r[1]), 0) + 1
        for key, count in by_status.items():
            statuses[key] = statuses.get(key, 0) + count
        per_kind[kind] = {
            "requests": len(done), "ok": len(ok), "ok_per_s": round(len(ok) / window, 2),
            "p50_ms": ms(percentile(ok, 50)), "p99_ms": ms(percentile(ok, 99)), "max_ms": ms(max(ok) if ok else None),
            "statuses": by_status,
        }
    all_records = results.records
    errors = {}
    for r in all_records:
        if not (isinstance(r[1], int) and 200 <= r[1] < 300):
            errors[str(r[1])] = errors.get(str(r[1]), 0) + 1

    live = [s for s in samples if "gone" not in s]
    t_start, t_warm, t_end = load_start, warm_end, load_end
    s_start, s_warm, s_end = at_time(live, t_start), at_time(live, t_warm), at_time(live, t_end)
    steady = [(s["t"] / 60, s["rss_kb"] / 1024) for s in live if t_warm <= s["t"] <= t_end]
    slope = fit_slope(steady)  # MiB per minute
    growth = slope * (t_end - t_warm) / 60
    # The same fit over the last half of the measured window alone: a leak
    # keeps its slope there, the tail of a warm-up does not.
    t_half = (t_warm + t_end) / 2
    late = [(t, y) for t, y in steady if t * 60 >= t_half]
    late_slope = fit_slope(late)
    warm_mb = s_warm["rss_kb"] / 1024 if s_warm else 0
    tolerance = max(0.05 * warm_mb, 8.0)
    memory = {
        "rss_mb_setup": round(live[0]["rss_kb"] / 1024, 1) if live else None,
        "rss_mb_start": round(s_start["rss_kb"] / 1024, 1) if s_start else None,
        "rss_mb_warm": round(warm_mb, 1),
        "rss_mb_end": round(s_end["rss_kb"] / 1024, 1) if s_end else None,
        "rss_mb_peak": round(max(s["rss_kb"] for s in live) / 1024, 1) if live else None,
        "hwm_mb_end": round(s_end["hwm_kb"] / 1024, 1) if s_end else None,
        "rss_mb_min_after_warm": round(min(y for _, y in steady), 1) if steady else None,
        "rss_mb_max_after_warm": round(max(y for _, y in steady), 1) if steady else None,
        "rss_slope_mb_per_min_after_warm": round(slope, 3),
        "rss_fitted_growth_mb_after_warm": round(growth, 1),
        "rss_slope_mb_per_min_last_half": round(late_slope, 3),
        "flat_tolerance_mb": round(tolerance, 1),
        "data_mb_warm": s_warm.get("data_mb") if s_warm else None,
        "data_mb_end": s_end.get("data_mb") if s_end else None,
        "flat_after_warm": (abs(growth) <= tolerance) if steady else None,
    }
    fds = {
        "start": s_start["fds"] if s_start else None, "warm": s_warm["fds"] if s_warm else None,
        "end": s_end["fds"] if s_end else None, "max": max(s["fds"] for s in live) if live else None,
        "after_idle": live[-1]["fds"] if live else None,  # after the recovery probe and 5 s idle
    }
    probe_ms = [p[2] for p in probes if p[1] == 200 and load_start <= p[0] <= load_end]
    probe_failed = [p for p in probes if p[1] != 200 and load_start <= p[0] <= load_end]
    cpu = None
    if s_start and s_end:
        cpu = round((s_end["cpu_s"] - s_start["cpu_s"]) / max(1e-9, s_end["t"] - s_start["t"]), 2)
    return {
        "bench": "soak", "model": os.path.basename(os.path.normpath(os.path.expanduser(args.model))),
        "clients": args.clients, "minutes": args.minutes, "warmup_s": args.warmup, "mix": mix,
        "rerank_docs": args.rerank_docs, "top_k": args.top_k, "top_n": args.top_n, "ingest_docs": args.ingest_docs,
        "corpus_documents": setup["documents"], "setup_ingest_s": round(setup["ingest_s"], 1),
        "measured_window_s": round(window, 1), "per_kind": per_kind,
        "statuses_after_warm": statuses, "non_2xx_whole_run": errors,
        "http_429": sum(1 for r in all_records if r[1] == 429),
        "retry_after_waits": results.retry_after_waits, "retry_after_s": round(results.retry_after_s, 1),
        "documents_ingested": results.documents_stored,
        "memory": memory, "fds": fds,
        "health": {"probes": len(probe_ms) + len(probe_failed), "failed": len(probe_failed),
                   "p50_ms": ms(percentile(probe_ms, 50)), "p99_ms": ms(percentile(probe_ms, 99)),
                   "max_ms": ms(max(probe_ms) if probe_ms else None)},
        "server_cpu_cores_used": cpu,
        "recovery_s": None if setup["recovery_s"] is None else round(setup["recovery_s"], 1),
        "server_alive": server.process.poll() is None if server.process else None,
        "load_before": setup["load_before"], "cpus": os.cpu_count(),
    }


def print_table(report):
    print(f"soak: {report['clients']} clients, {report['minutes']} min, mix {report['mix']}, model {report['model']}, "
          f"measured after {report['warmup_s']} s warm-up ({report['measured_window_s']} s)")
    print(f"{'kind':<10}{'ok/s':>9}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}  statuses")
    for kind, k in report["per_kind"].items():
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        print(f"{kind:<10}{k['ok_per_s']:>9.2f}{fmt(k['p50_ms']):>10}{fmt(k['p99_ms']):>10}{fmt(k['max_ms']):>10}  "
              f"{k['statuses']}")
    m, f, h = report["memory"], report["fds"], report["health"]
    print(f"429: {report['http_429']} (Retry-After waits {report['retry_after_waits']}, {report['retry_after_s']} s); "
          f"non-2xx over the whole run: {report['non_2xx_whole_run'] or 'none'}")
    print(f"RSS MB: setup {m['rss_mb_setup']}, start {m['rss_mb_start']}, warm {m['rss_mb_warm']}, "
          f"end {m['rss_mb_end']}, peak {m['rss_mb_peak']} (VmHWM {m['hwm_mb_end']}); after warm-up "
          f"{m['rss_mb_min_after_warm']}..{m['rss_mb_max_after_warm']}, fitted growth "
          f"{m['rss_fitted_growth_mb_after_warm']} MB (tolerance {m['flat_tolerance_mb']}): "
          f"{'flat' if m['flat_after_warm'] else 'NOT flat'} (last half {m['rss_slope_mb_per_min_last_half']} MB/min); data directory {m['data_mb_warm']} -> {m['data_mb_end']} MB")
    print(f"fds: start {f['start']}, warm {f['warm']}, end {f['end']}, max {f['max']}, after idle {f['after_idle']}; "
          f"a one-document rerank answered {report['recovery_s']} s after the load stopped")
    print(f"/health: {h['probes']} probes, {h['failed']} failed, p50 {h['p50_ms']} ms, p99 {h['p99_ms']} ms, "
          f"max {h['max_ms']} ms; server used {report['server_cpu_cores_used']} cores; load before "
          f"{report['load_before']} on {report['cpus']} CPUs; alive at the end: {report['server_alive']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--winnow", default=os.path.join(ROOT, "build", "winnow"))
    parser.add_argument("--attach", metavar="URL", help="use this running server instead of starting one")
    parser.add_argument("--pid", type=int, help="with --attach: the server's process id, for memory and fds")
    parser.add_argument("--data", help="data directory of the started server (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the started server's data directory")
    parser.add_argument("--model", default=os.path.join(ROOT, "tests", "data", "models", "bert-ce-tiny"),
                        help="rerank model directory (default: the tiny fixture model)")
    parser.add_argument("--model-name", help="with --attach: the name or path the server knows the model by "
                                             "(default: --model's absolute path)")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=60, help="seconds of load before measuring")
    parser.add_argument("--mix", default="rerank=4,retrieve=4,ingest=2", help="weights of the request kinds")
    parser.add_argument("--rerank-docs", type=int, default=20, help="documents per /v1/rerank request")
    parser.add_argument("--top-k", type=int, default=50, help="BM25 candidates the retriever reranks")
    parser.add_argument("--top-n", type=int, default=10)
    parser.add_argument("--ingest-docs", type=int, default=50, help="documents per ingest request")
    parser.add_argument("--ingest-ids", type=int, default=5000, help="ids ingest upserts over (bounded store)")
    parser.add_argument("--corpus", type=int, default=0, help="SciFact documents to load (0: all)")
    parser.add_argument("--threads", type=int, default=0, help="server compute threads (0: its default)")
    parser.add_argument("--http-threads", type=int, default=16)
    parser.add_argument("--server-arg", action="append", default=[], help="one more argument for winnow serve")
    parser.add_argument("--score-cache-mb", type=int, default=0,
                        help="the server's score cache (0, the default here: off, so that the engine is soaked)")
    parser.add_argument("--timeout", type=float, default=120, help="client read timeout, seconds")
    parser.add_argument("--max-retry-after", type=float, default=30, help="longest Retry-After honoured, seconds")
    parser.add_argument("--probe-interval", type=float, default=0.5)
    parser.add_argument("--recovery-timeout", type=float, default=900,
                        help="after the load, wait this long at most for a small rerank to be answered")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", help="write the report (and the memory curve) to this file")
    args = parser.parse_args()
    if args.attach and args.data:
        sys.exit("--data is for a started server, not with --attach")
    mix = parse_mix(args.mix)

    load_before = float(open("/proc/loadavg").read().split()[0])
    docs, queries = read_corpus(args.corpus or 10 ** 9)
    if args.attach:
        url = urllib.parse.urlparse(args.attach)
        server = Server(url.hostname, url.port or 80, args.pid)
        model = args.model_name or os.path.abspath(os.path.expanduser(args.model))
    else:
        server = start_server(args)
        model = "soak-ce"
    try:
        ingest_s = set_up(server, args, model, docs)
        rng = random.Random(args.seed)
        requests = build_requests(args, model, docs, queries, rng)
        results = Results()
        samples, probes = [], []
        stop = threading.Event()
        t0 = time.time()
        # The prober's process first, before this one has threads to fork.
        fork = multiprocessing.get_context("fork")
        probe_stop = fork.Event()
        probe_file = tempfile.NamedTemporaryFile(prefix="winnow-soak-probes-", suffix=".jsonl", delete=False).name
        probe_process = fork.Process(target=prober, args=(server, probe_stop, probe_file, t0, args.probe_interval),
                                     daemon=True)
        probe_process.start()
        watchers = []
        if server.pid:
            watchers.append(threading.Thread(target=sampler, args=(server.pid, server.data, stop, samples, t0), daemon=True))
        for w in watchers:
            w.start()
        time.sleep(3)  # a few idle samples before the load
        load_start = time.time() - t0
        deadline = time.time() + args.minutes * 60
        clients = [threading.Thread(target=client, args=(server, args, requests, mix, args.seed + i, deadline, results))
                   for i in range(args.clients)]
        for c in clients:
            c.start()
        for c in clients:
            c.join()
        load_end = time.time() - t0
        # Recovery: how long after the load stops a one-document rerank is
        # answered. Long when the server still works off requests whose
        # clients gave up (timed out) during the load.
        recovery_s = None
        small = json.dumps({"model": model, "query": queries[0], "documents": [docs[0]["text"]]})
        try:
            status, _ = server.request("POST", "/v1/rerank", small, timeout=args.recovery_timeout)
            if status == 200:
                recovery_s = time.time() - t0 - load_end
        except OSError:
            pass
        time.sleep(5)  # idle again: connections closed, memory after load
        stop.set()
        probe_stop.set()
        for w in watchers:
            w.join()
        probe_process.join()
        probes = read_probes(probe_file)
        os.unlink(probe_file)
        setup = {"documents": len(docs), "ingest_s": ingest_s, "load_before": load_before, "recovery_s": recovery_s}
        if not samples:
            samples = [{"t": 0, "gone": True}]
        report = summarize(args, mix, results, samples, probes, load_start, load_end,
                           min(load_end, load_start + args.warmup), setup, server)
        print_table(report)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({**report, "samples": samples,
                           "health_probes": [[round(t, 2), s, round(v, 1)] for t, s, v in probes]}, f, indent=1)
    finally:
        if server.process:
            server.process.terminate()
            try:
                server.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.process.kill()
            server.log.close()
            if not args.keep and not args.data:
                shutil.rmtree(server.data, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Nothing lost, nothing stuck: kill -9 the real `winnow serve` at random points
of ingest, retriever creation and collection deletion, --kills times (round
robin over the three), and after every restart check everything written so far.

Per kind, one client thread writes one request after another until the kill:

  ingest    1,100 NDJSON documents per request into a collection with a BM25
            and an 8-d vector index (the server commits batches of 500, 500, 100)
  retriever POST /v1/retrievers, one new retriever per request
  delete    DELETE /v1/collections/{id} over collections of 200 documents each

and the kill lands after a random delay. After each restart (timed to /ready):

  - every acknowledged write is there: each document of every 200 ingest
    (all ids listed), each retriever of every 201 with its stages unchanged,
    and each collection of every 200 delete is gone (404, not listed, not
    searchable);
  - a cut write is whole or absent: the cut ingest request kept a whole number
    of commit batches (0, 500, 1000 or 1100 documents, a prefix), the cut
    retriever is absent or complete, the cut collection is gone or intact;
  - nothing was invented: no document, retriever or collection that was not sent;
  - the store is consistent: per collection, SQLite's document_count, the
    documents a BM25 search finds and the documents the vector index returns
    are equal; PRAGMA integrity_check says ok; no stray index files.

Standard library only; never part of ctest (tests/e2e/kill_nine_test.cc runs
a few kills of each kind).

  /usr/bin/python3 bench/kill_loop.py --kills 60 [--seed N] [--json kill_loop.json]
"""
import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
KINDS = ("ingest", "retriever", "delete")
REQUEST = 1100                        # documents per ingest request
BATCH_ENDS = {0, 500, 1000, 1100}     # what a cut request may keep
MAX_PER_COLLECTION = 8000             # a search counts at most 10,000
DELETE_DOCS = 200


class Failure(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vector(n):
    rng = random.Random(n)
    return [round(rng.uniform(-1, 1), 6) + 0.001 for _ in range(8)]


def document(n):
    return {"id": f"d{n}", "text": f"shared tok{n} filler{n % 97} filler{n % 89}", "vectors": {"vec": vector(n)}}


def ndjson(first, count):
    return "".join(json.dumps(document(n)) + "\n" for n in range(first, first + count))


def collection_body(cid):
    return {"collection_id": cid, "vector_indexes": [{"name": "vec", "dimensions": 8}]}


def retriever_body(n):
    return {"retriever_id": f"r{n}", "collection_ids": ["base"],
            "input_schema": {"query": {"type": "string", "required": True}},
            "stages": [{"stage_type": "filter", "stage_id": "text_search",
                        "parameters": {"query": "{{INPUT.query}}", "top_k": 20 + n % 50}},
                       {"stage_type": "reduce", "stage_id": "limit", "parameters": {"limit": 5}}]}


class Server:
    def __init__(self, winnow, data, log):
        self.winnow, self.data, self.log = winnow, data, log
        self.process, self.port = None, None

    def start(self):
        self.port = free_port()
        started = time.perf_counter()
        self.process = subprocess.Popen([self.winnow, "serve", "--data", self.data, "--port", str(self.port)],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            try:
                if self.call("GET", "/ready", timeout=2)[0] == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise Failure(f"winnow serve did not get ready (exit {self.process.poll()}); see {self.log.name}")
            time.sleep(0.02)

    def kill9(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.terminate()
        return self.process.wait(timeout=60)

    def call(self, method, path, body=None, content_type="application/json", timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if body is not None and not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            conn.request(method, path, body, {"Content-Type": content_type} if body is not None else {})
            response = conn.getresponse()
            payload = response.read()
            try:
                return response.status, json.loads(payload) if payload else None
            except ValueError:
                return response.status, payload
        finally:
            conn.close()

    def must(self, status, method, path, body=None, content_type="application/json"):
        got, payload = self.call(method, path, body, content_type)
        if got != status:
            raise Failure(f"{method} {path}: expected {status}, got {got}: {str(payload)[:300]}")
        return payload


class State:
    """Everything written so far, and what each check found."""

    def __init__(self):
        self.ingest_collection = 0
        self.next_doc = 0
        self.acked_ranges = {}     # collection -> [(first, count)]
        self.cut_ranges = {}       # collection -> [(first, count)]
        self.cut_kept = []         # documents each cut ingest request kept
        self.next_retriever = 0
        self.acked_retrievers = set()
        self.cut_retrievers = set()
        self.cut_retriever_present = 0
        self.delete_next = 0       # next del<m> to create
        self.delete_live = []      # created, not (yet) deleted, in deletion order
        self.deleted = set()       # acknowledged, or found gone after a cut
        self.cut_deletes = {"gone": 0, "intact": 0}
        self.kills = {k: 0 for k in KINDS}
        self.cuts = {k: 0 for k in KINDS}
        self.acks = {k: 0 for k in KINDS}         # acknowledged writes
        self.checks = {k: 0 for k in KINDS}       # acknowledged writes verified (summed over restarts)
        self.losses = []
        self.restart_s = []
        self.integrity = []


def ingest_collection_name(state):
    return f"ing{state.ingest_collection}"


def run_kind(server, state, kind, rng):
    """Writes until the kill; returns the request the kill cut, if any."""
    in_flight = {}
    stop = threading.Event()

    def ingest():
        cid = ingest_collection_name(state)
        while not stop.is_set():
            first = state.next_doc
            in_flight["request"] = (cid, first)
            try:
                status, body = server.call("POST", f"/v1/collections/{cid}/documents", ndjson(first, REQUEST),
                                           "application/x-ndjson")
            except OSError:
                return
            if status != 200 or body["documents_stored"] != REQUEST:
                in_flight["error"] = f"ingest answered {status}: {str(body)[:300]}"
                return
            state.acked_ranges.setdefault(cid, []).append((first, REQUEST))
            state.acks["ingest"] += REQUEST
            state.next_doc += REQUEST
            in_flight.pop("request")

    def retriever():
        while not stop.is_set():
            n = state.next_retriever
            in_flight["request"] = n
            try:
                status, body = server.call("POST", "/v1/retrievers", retriever_body(n))
            except OSError:
                return
            if status != 201:
                in_flight["error"] = f"retriever creation answered {status}: {str(body)[:300]}"
                return
            state.acked_retrievers.add(n)
            state.acks["retriever"] += 1
            state.next_retriever += 1
            in_flight.pop("request")

    def delete():
        while state.delete_live and not stop.is_set():
            cid = state.delete_live[0]
            in_flight["request"] = cid
            try:
                status, body = server.call("DELETE", f"/v1/collections/{cid}")
            except OSError:
                return
            if status != 200:
                in_flight["error"] = f"delete answered {status}: {str(body)[:300]}"
                return
            state.deleted.add(cid)
            state.delete_live.pop(0)
            state.acks["delete"] += 1
            in_flight.pop("request")

    delays = {"ingest": (0.05, 1.2), "retriever": (0.02, 0.4), "delete": (0.003, 0.25)}
    worker = threading.Thread(target={"ingest": ingest, "retriever": retriever, "delete": delete}[kind])
    worker.start()
    time.sleep(rng.uniform(*delays[kind]))
    server.kill9()
    stop.set()
    worker.join()
    if "error" in in_flight:
        raise Failure(in_flight["error"])
    return in_flight.get("request")


def prepare(server, state, kind):
    """What the kind needs before its kill: a collection with room, collections to delete."""
    if kind == "ingest":
        cid = ingest_collection_name(state)
        stored = sum(c for _, c in state.acked_ranges.get(cid, [])) + sum(c for _, c in state.cut_ranges.get(cid, []))
        if stored + 4 * REQUEST > MAX_PER_COLLECTION or state.next_doc == 0:
            if state.next_doc:
                state.ingest_collection += 1
                cid = ingest_collection_name(state)
            server.must(201, "POST", "/v1/collections", collection_body(cid))
    elif kind == "delete":
        while len(state.delete_live) < 25:
            cid = f"del{state.delete_next}"
            state.delete_next += 1
            server.must(201, "POST", "/v1/collections", collection_body(cid))
            server.must(200, "POST", f"/v1/collections/{cid}/documents", ndjson(0, DELETE_DOCS), "application/x-ndjson")
            state.delete_live.append(cid)


def list_ids(server, cid):
    ids, after = set(), ""
    while True:
        body = server.must(200, "GET", f"/v1/collections/{cid}/documents?limit=1000" + (f"&after={after}" if after else ""))
        ids.update(d["document_id"] for d in body["documents"])
        if body["next_after"] is None:
            return ids
        after = body["next_after"]


def counts(server, cid):
    stored = server.must(200, "GET", f"/v1/collections/{cid}")["document_count"]
    bm25 = server.must(200, "POST", "/v1/retrievers/execute", {
        "collection_ids": [cid], "stages": [{"stage_type": "filter", "stage_id": "text_search",
                                             "parameters": {"query": "shared", "top_k": 10000}}]})
    dense = server.must(200, "POST", "/v1/retrievers/execute", {
        "collection_ids": [cid], "stages": [{"stage_type": "filter", "stage_id": "semantic_search",
                                             "parameters": {"query_vector": vector(0), "vector_index": "vec",
                                                            "top_k": 10000}}]})
    return stored, len(bm25["documents"]), len(dense["documents"])


def check_consistent(server, cid):
    stored, bm25, dense = counts(server, cid)
    if not stored == bm25 == dense:
        raise Failure(f"collection {cid}: SQLite holds {stored} documents, BM25 finds {bm25}, vectors {dense}")
    return stored


def verify(server, state):
    # Ingest: acknowledged documents, cut requests' whole batches, nothing else.
    for cid in sorted(set(state.acked_ranges) | set(state.cut_ranges)):
        ids = list_ids(server, cid)
        expected = 0
        for first, count in state.acked_ranges.get(cid, []):
            missing = [f"d{n}" for n in range(first, first + count) if f"d{n}" not in ids]
            if missing:
                state.losses.append(f"{cid}: {len(missing)} acknowledged documents missing, e.g. {missing[:3]}")
            state.checks["ingest"] += count
            expected += count
        for first, count in state.cut_ranges.get(cid, []):
            kept = 0
            while kept < count and f"d{first + kept}" in ids:
                kept += 1
            if kept not in BATCH_ENDS:
                raise Failure(f"{cid}: the cut request from d{first} kept {kept} documents, not whole batches")
            if any(f"d{n}" in ids for n in range(first + kept, first + count)):
                raise Failure(f"{cid}: the cut request from d{first} kept documents after a missing one")
            expected += kept
        if len(ids) != expected:
            raise Failure(f"{cid}: {len(ids)} documents stored, {expected} expected (acknowledged + cut batches)")
        if check_consistent(server, cid) != expected:
            raise Failure(f"{cid}: document_count differs from the listed documents")
    # Retrievers: every acknowledged one, unchanged; the cut ones absent or whole.
    listed = {r["retriever_id"]: r for r in server.must(200, "GET", "/v1/retrievers")["retrievers"]}
    for n in state.acked_retrievers:
        state.checks["retriever"] += 1
        got = listed.get(f"r{n}")
        if got is None:
            state.losses.append(f"retriever r{n} acknowledged (201) but missing")
        elif got["stages"] != retriever_body(n)["stages"]:
            raise Failure(f"retriever r{n}: stages changed: {got['stages']}")
    for rid, got in listed.items():
        n = int(rid[1:])
        if n not in state.acked_retrievers and n not in state.cut_retrievers:
            raise Failure(f"retriever {rid} was never sent")
        if got["stages"] != retriever_body(n)["stages"]:
            raise Failure(f"retriever {rid}: stages differ from what was sent")
    if listed:
        rid = max(listed, key=lambda r: int(r[1:]))
        body = server.must(200, "POST", f"/v1/retrievers/{rid}/execute", {"inputs": {"query": "shared tok7"}})
        if not body["documents"] or body["documents"][0]["document_id"] != "d7":
            raise Failure(f"retriever {rid} does not find d7: {str(body)[:300]}")
    # Deletions: acknowledged ones gone everywhere; the rest intact.
    collections = {c["collection_id"] for c in server.must(200, "GET", "/v1/collections")["collections"]}
    for cid in state.deleted:
        state.checks["delete"] += 1
        status, _ = server.call("GET", f"/v1/collections/{cid}")
        if status != 404 or cid in collections:
            state.losses.append(f"collection {cid} deleted (200) but still there (GET answered {status})")
        status, _ = server.call("POST", "/v1/retrievers/execute", {
            "collection_ids": [cid], "stages": [{"stage_type": "filter", "stage_id": "text_search",
                                                 "parameters": {"query": "shared"}}]})
        if status != 404:
            state.losses.append(f"collection {cid} deleted (200) but searchable (answered {status})")
    for cid in state.delete_live:
        if cid not in collections:
            raise Failure(f"collection {cid} was never deleted but is not listed")
        if check_consistent(server, cid) != DELETE_DOCS:
            raise Failure(f"collection {cid} lost documents")
    if check_consistent(server, "base") != 50:
        raise Failure("collection base lost documents")
    known = {"base"} | set(state.acked_ranges) | set(state.cut_ranges) | set(state.delete_live)
    if collections - known:
        raise Failure(f"collections that should not exist: {sorted(collections - known)}")
    # SQLite's own check, beside the running server, and no stray index files.
    db = sqlite3.connect(f"file:{os.path.join(server.data, 'winnow.db')}?mode=ro", uri=True, timeout=10)
    try:
        result = [row[0] for row in db.execute("PRAGMA integrity_check")]
    finally:
        db.close()
    state.integrity.append(result == ["ok"])
    if result != ["ok"]:
        raise Failure(f"PRAGMA integrity_check: {result[:5]}")
    stray = [f for f in os.listdir(os.path.join(server.data, "indexes"))]
    if stray:
        raise Failure(f"files left in indexes/: {stray[:5]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--winnow", default=os.path.join(ROOT, "build", "winnow"))
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--seed", type=int, help="random seed (default: from the clock, printed)")
    parser.add_argument("--data", help="data directory (default: a fresh temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument("--json", help="write the report to this file")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    data = args.data or tempfile.mkdtemp(prefix="winnow-kill-")
    os.makedirs(data, exist_ok=True)
    log = open(os.path.join(data, "server.log"), "a")
    server = Server(args.winnow, data, log)
    state = State()
    started = time.time()
    failure = None
    try:
        state.restart_s.append(server.start())
        server.must(201, "POST", "/v1/collections", collection_body("base"))
        server.must(200, "POST", "/v1/collections/base/documents", ndjson(0, 50), "application/x-ndjson")
        for k in range(args.kills):
            kind = KINDS[k % len(KINDS)]
            prepare(server, state, kind)
            cut = run_kind(server, state, kind, rng)
            state.kills[kind] += 1
            if cut is not None:
                state.cuts[kind] += 1
                if kind == "ingest":
                    cid, first = cut
                    state.cut_ranges.setdefault(cid, []).append((first, REQUEST))
                    state.next_doc = first + REQUEST
                elif kind == "retriever":
                    state.cut_retrievers.add(cut)
                    state.next_retriever = cut + 1
            state.restart_s.append(server.start())
            if cut is not None and kind == "delete":
                status, _ = server.call("GET", f"/v1/collections/{cut}")
                state.cut_deletes["gone" if status == 404 else "intact"] += 1
                if status == 404:
                    state.deleted.add(cut)
                    state.delete_live.remove(cut)
            if cut is not None and kind == "retriever":
                status, _ = server.call("GET", f"/v1/retrievers/r{cut}")
                state.cut_retriever_present += status == 200
            if cut is not None and kind == "ingest":
                ids = list_ids(server, cut[0])
                kept = 0
                while kept < REQUEST and f"d{cut[1] + kept}" in ids:
                    kept += 1
                state.cut_kept.append(kept)
            verify(server, state)
            print(f"kill {k + 1}/{args.kills} ({kind}): {'cut a request' if cut is not None else 'between requests'}; "
                  f"restart {state.restart_s[-1]:.2f} s; {len(state.losses)} losses", flush=True)
        exit_status = server.stop()
        if exit_status != 0:
            raise Failure(f"the last server exited {exit_status} on SIGTERM")
    except Failure as e:
        failure = str(e)
        if server.process and server.process.poll() is None:
            server.kill9()
    finally:
        log.close()
    restarts = sorted(state.restart_s)
    report = {
        "bench": "kill_loop", "seed": seed, "kills": state.kills, "cut_requests": state.cuts,
        "acknowledged_writes": state.acks, "acknowledged_checks": state.checks,
        "cut_ingest_kept": state.cut_kept, "cut_retrievers_present": state.cut_retriever_present,
        "cut_deletes": state.cut_deletes, "losses": state.losses, "failure": failure,
        "integrity_ok": sum(state.integrity), "integrity_checks": len(state.integrity),
        "restart_s_median": round(restarts[len(restarts) // 2], 3) if restarts else None,
        "restart_s_max": round(restarts[-1], 3) if restarts else None,
        "minutes": round((time.time() - started) / 60, 1),
    }
    print(json.dumps(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    if not args.keep and not args.data and failure is None:
        shutil.rmtree(data, ignore_errors=True)
    elif failure is not None:
        print(f"data kept in {data}", file=sys.stderr)
    sys.exit(1 if failure or state.losses else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes requests.jsonl: hostile requests for every route and field, which
tests/e2e/hostile_requests_test.cc sends to the real server. Run it from the
repository root when routes or fields change:

  python3 tests/e2e/hostile/make_corpus.py

Each line: {"name", "method", "target", "body"?: text, "raw"?: bytes as
latin-1 text (sent as they are on a fresh connection, for the transport),
"headers"?: [[name, value], ...] sent besides Host, Connection and Content-*,
where "@@REPEAT:N:TEXT@@" stands for TEXT repeated N times (keeps the file
small) and "@@MODELS@@" for the fixture models' folder, which the server
serves with --model-dir (the test expands both),
"expect": a status or a list of statuses the server may answer}. The test's
world: a collection "c" with three documents, a vector index "v" of 3
dimensions without a model, and a stored retriever "r". Nothing here may get a
5xx, crash the server or make /health slow.
"""
import json
import pathlib

out = []


def add(name, method, target, body=None, expect=(400,), raw=None, content_type="application/json", headers=None):
    item = {"name": name, "method": method, "target": target, "expect": list(expect)}
    if headers:
        item["headers"] = [list(h) for h in headers]
    if body is not None:
        # Bytes as code points 0-255: text is sent as UTF-8, bytes as they are.
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        item["body"] = (body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body).decode("latin-1")
        item["content_type"] = content_type
    if raw is not None:
        item["raw"] = (raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw).decode("latin-1")
    out.append(item)


DEEP = "[" * 600 + "]" * 600


def repeat(n, text):
    return f"@@REPEAT:{n}:{text}@@"


VERY_DEEP = repeat(70000, "[") + repeat(70000, "]")
HUGE_INT = "18446744073709551616"
# Values of the wrong kind for any field, as JSON text.
WRONG = {
    "null": "null", "true": "true", "zero": "0", "negative": "-1", "float": "1.5", "overflow": "1e400",
    "huge_int": HUGE_INT, "string": '"x"', "empty_string": '""', "array": "[1,2]", "object": '{"a":1}',
    "deep": DEEP, "very_deep": VERY_DEEP, "lone_surrogate": '"\\ud800"', "nul_char": '"a\\u0000b"',
}


def with_field(base, field, value_text):
    """`base` (a dict) as JSON text with `field` set to raw JSON `value_text`."""
    body = dict(base)
    body[field] = "__VALUE__"
    return json.dumps(body).replace('"__VALUE__"', value_text)


def fields_of(route, method, target, base, fields, ok_kinds=()):
    """Every hostile kind of value in every field; `ok_kinds` lists the
    (field, kind) pairs a request may legitimately succeed with."""
    for field in fields:
        for kind, value in WRONG.items():
            expect = (400, 404, 413, 422) + ((200, 201) if (field, kind) in ok_kinds else ())
            add(f"{route} {field}={kind}", method, target, with_field(base, field, value), expect=expect)


# ---- collections ----
collection = {"collection_id": "h1", "text_fields": ["text"]}
fields_of("create collection", "POST", "/v1/collections", collection,
          ["collection_id", "text_fields", "vector_indexes", "bm25"],
          ok_kinds={("vector_indexes", "null"), ("bm25", "null"), ("text_fields", "null"), ("collection_id", "string")})
for bad_id in [".", "..", "a/b", "../etc", "%2e%2e", "a b", "x" * 129, "", "é", "a\\u0000"]:
    add(f"create collection id {bad_id[:20]!r}", "POST", "/v1/collections",
        '{"collection_id": "' + bad_id + '"}', expect=(400,))
for key, value in [("k1", "1e400"), ("k1", "-1"), ("b", "2"), ("b", '"x"'), ("stopwords", "5"), ("stopwords", DEEP)]:
    add(f"create collection bm25.{key}", "POST", "/v1/collections",
        '{"collection_id": "h2", "bm25": {"' + key + '": ' + value + "}}", expect=(400,))
for key, value in [("dimensions", "1e400"), ("dimensions", "0"), ("dimensions", "-3"), ("dimensions", HUGE_INT),
                   ("dimensions", "100000000"), ("metric", '"hamming"'), ("name", '"../x"'), ("name", "7"),
                   ("model", '"/etc"'), ("model", '"../../etc"'), ("model", '"/proc/self"'), ("field", "[]")]:
    add(f"create collection vector_indexes[].{key}", "POST", "/v1/collections",
        '{"collection_id": "h3", "vector_indexes": [{"name": "v", "' + key + '": ' + value +
        (', "field": "text"' if key == "model" else "") + "}]}", expect=(400, 403, 404))
for path in ["/v1/collections/..", "/v1/collections/.", "/v1/collections/%2e%2e", "/v1/collections/%2F",
             "/v1/collections/rel%2Fdocuments", "/v1/collections/" + "x" * 5000, "/v1/collections/%00",
             "/v1/collections/%zz", "/v1/collections/c%2Fdocuments%2Fa"]:
    add(f"get collection {path[:40]}", "GET", path, expect=(400, 404, 414))
    add(f"delete collection {path[:40]}", "DELETE", path, expect=(400, 404, 414))

# ---- documents ----
ndjson_lines = {
    "overflow": '{"id":"x","text":"a","metadata":{"n":1e400}}',
    "deep_metadata": '{"id":"y","text":"a","metadata":{"d":' + VERY_DEEP + "}}",
    "not_json": "this is not json",
    "array": "[1,2,3]",
    "bad_vector": '{"id":"z","vectors":{"v":[1,"a",3]}}',
    "wrong_dims": '{"id":"z","vectors":{"v":[1,2]}}',
    "nan_vector": '{"id":"z","vectors":{"v":[1e400,1,1]}}',
    "control_id": '{"id":"a\\u0001b","text":"a"}',
    "long_id": '{"id":"' + "i" * 600 + '","text":"a"}',
    "unknown_index": '{"id":"z","vectors":{"u":[1,2,3]}}',
    "lone_surrogate": '{"id":"s","text":"\\udc00"}',
}
for name, line in ndjson_lines.items():
    # Bad lines are reported in a 200 answer; the good line after each is stored.
    add(f"ingest {name}", "POST", "/v1/collections/c/documents", line + '\n{"id":"ok","text":"fine"}\n',
        expect=(200,), content_type="application/x-ndjson")
add("ingest into missing collection", "POST", "/v1/collections/nope/documents", '{"id":"a"}\n', expect=(404,),
    content_type="application/x-ndjson")
add("ingest into '..'", "POST", "/v1/collections/../documents", '{"id":"a"}\n', expect=(400, 404),
    content_type="application/x-ndjson")
add("ingest invalid utf-8", "POST", "/v1/collections/c/documents", b'{"id":"u","text":"\xff\xfe"}\n',
    expect=(200,), content_type="application/x-ndjson")
for query in ["limit=0", "limit=-1", "limit=1e400", "limit=abc", "limit=100000", "limit=" + "9" * 40,
              "after=%00", "after=" + "a" * 10000, "limit=5&limit=6", "limit=%41"]:
    add(f"list documents {query[:30]}", "GET", "/v1/collections/c/documents?" + query, expect=(200, 400, 414))
for doc in ["..", "%2e%2e", "%00", "a%2Fb", "x" * 3000, "%ff"]:
    add(f"get document {doc[:20]}", "GET", "/v1/collections/c/documents/" + doc, expect=(400, 404, 414))
    add(f"delete document {doc[:20]}", "DELETE", "/v1/collections/c/documents/" + doc, expect=(400, 404, 414))

# ---- retrievers ----
stages = [{"stage_type": "filter", "stage_id": "text_search", "parameters": {"top_k": 5}}]
retriever = {"retriever_id": "h4", "collection_ids": ["c"], "stages": stages}
fields_of("create retriever", "POST", "/v1/retrievers", retriever,
          ["retriever_id", "collection_ids", "input_schema", "stages"],
          ok_kinds={("input_schema", "null"), ("retriever_id", "string")})
execute = {"collection_ids": ["c"], "stages": stages, "inputs": {"query": "fine"}}
fields_of("execute", "POST", "/v1/retrievers/execute", execute,
          ["collection_ids", "stages", "inputs", "input_schema", "return_fields"],
          ok_kinds={("input_schema", "null"), ("return_fields", "null")})
fields_of("execute stored", "POST", "/v1/retrievers/r/execute", {"inputs": {"query": "fine"}},
          ["inputs", "return_fields"], ok_kinds={("return_fields", "null")})


def stage(stage_type, stage_id, **parameters):
    return {"stage_type": stage_type, "stage_id": stage_id, "parameters": parameters}


STAGE_PARAMETERS = [
    ("filter", "text_search", ["query", "top_k"]),
    ("filter", "semantic_search", ["vector_index", "query_vector", "top_k", "query"]),
    ("filter", "hybrid_search", ["query", "vector_index", "query_vector", "top_k", "fusion", "rrf_k", "weights",
                                 "candidates"]),
    ("filter", "structured_filter", ["conditions"]),
    ("sort", "rerank", ["model", "top_n", "query", "field", "max_candidates", "precision"]),
    ("sort", "sort_by_field", ["field", "direction"]),
    ("reduce", "limit", ["limit", "offset"]),
]
for stage_type, stage_id, params in STAGE_PARAMETERS:
    for param in params:
        for kind in ["overflow", "negative", "huge_int", "deep", "object", "lone_surrogate", "float"]:
            body = {"collection_ids": ["c"], "inputs": {"query": "fine"},
                    "stages": [{"stage_type": stage_type, "stage_id": stage_id, "parameters": {param: "__VALUE__"}}]}
            add(f"stage {stage_id}.{param}={kind}", "POST", "/v1/retrievers/execute",
                json.dumps(body).replace('"__VALUE__"', WRONG[kind]), expect=(400, 403, 404))


def nested(group, depth):
    c = {"field": "metadata.year", "operator": "gte", "value": 2020}
    for _ in range(depth):
        c = {group: c} if group == "NOT" else {group: [c]}
    return c


for group in ["AND", "OR", "NOT"]:
    for depth in [65, 200]:
        add(f"conditions {group} x{depth}", "POST", "/v1/retrievers/execute",
            {"collection_ids": ["c"], "inputs": {},
             "stages": [stage("filter", "structured_filter", conditions=nested(group, depth))]}, expect=(400,))
add("conditions 10000 ANDs", "POST", "/v1/retrievers/execute",
    '{"collection_ids": ["c"], "inputs": {}, "stages": [{"stage_type": "filter", "stage_id": "structured_filter", '
    '"parameters": {"conditions": ' + repeat(10000, '{"AND": [') + '{"field": "a", "operator": "eq", "value": 1}' +
    repeat(10000, "]}") + "}}]}", expect=(400,))
for op, value in [("in", "5"), ("gte", "[1]"), ("bogus", "1"), ("eq", "1e400"), ("contains", DEEP),
                  ("exists", '"yes"')]:
    add(f"condition operator {op} value", "POST", "/v1/retrievers/execute",
        '{"collection_ids": ["c"], "inputs": {}, "stages": [{"stage_type": "filter", "stage_id": '
        '"structured_filter", "parameters": {"conditions": {"field": "metadata.year", "operator": "' + op +
        '", "value": ' + value + "}}}]}", expect=(200, 400))
for template in ["{{INPUT.", "{{INPUT.}}", "{{INPUT.a.b}}", "{{INPUT.missing}}", "{{ INPUT.query }}",
                 "{{INPUT.query}}" * 1000, "{{INPUT." + "x" * 10000 + "}}", "{{INPUT.__proto__}}"]:
    add(f"template {template[:24]!r}", "POST", "/v1/retrievers/execute",
        {"collection_ids": ["c"], "inputs": {"query": "fine"},
         "stages": [stage("filter", "text_search", query=template, top_k=5)]}, expect=(200, 400))
for model in ["/etc", "/etc/passwd", "../../../../etc", "/proc/self/cwd", "@@MODELS@@/../../../etc",
              "org/does-not-exist", "{{INPUT.m}}", "", "x" * 5000, "a\u0000b"]:
    body = {"collection_ids": ["c"], "inputs": {"query": "fine", "m": "/etc"},
            "stages": [stage("filter", "text_search", top_k=5), stage("sort", "rerank", model=model, top_n=2)]}
    add(f"rerank stage model {model[:24]!r}", "POST", "/v1/retrievers/execute", body, expect=(400, 403, 404))
for schema in [{"query": {"type": "nonsense"}}, {"query": {"type": "string", "default": 5}}, {"query": 5},
               {"type": "object", "properties": 5}, {"type": "object", "required": "query"}]:
    add(f"input_schema {json.dumps(schema)[:30]}", "POST", "/v1/retrievers/execute",
        {"collection_ids": ["c"], "inputs": {"query": "fine"}, "input_schema": schema, "stages": stages},
        expect=(400,))
for bad_id in ["..", ".", "%2e%2e", "x" * 3000]:
    add(f"get retriever {bad_id[:20]}", "GET", "/v1/retrievers/" + bad_id, expect=(400, 404, 414))
    add(f"execute retriever {bad_id[:20]}", "POST", "/v1/retrievers/" + bad_id + "/execute", {"inputs": {}},
        expect=(400, 404, 414))

# ---- rerank ----
rerank = {"model": "@@MODELS@@/bert-ce-tiny", "query": "what is bm25",
          "documents": ["BM25 ranks by term frequency", "bread needs flour"], "top_n": 1}
for route in ["/v1/rerank", "/v2/rerank"]:
    fields_of(f"rerank {route}", "POST", route, rerank,
              ["model", "query", "documents", "top_n", "return_documents", "rank_fields", "precision",
               "max_tokens_per_doc", "max_chunks_per_doc"],
              ok_kinds={("top_n", "null"), ("return_documents", "null"), ("rank_fields", "null"),
                        ("precision", "null"), ("max_tokens_per_doc", "null"), ("max_chunks_per_doc", "null"),
                        ("documents", "array"), ("query", "string"), ("query", "empty_string"),
                        ("query", "nul_char"), ("return_documents", "true")})
    for model in ["/etc", "/etc/passwd", "../../../../etc", "/proc/self/root", "@@MODELS@@/../../..",
                  "@@MODELS@@/bert-ce-tiny/../../../../etc", "org/does-not-exist", "x" * 5000,
                  "@@MODELS@@", "@@MODELS@@/bert-embed-tiny"]:
        add(f"rerank {route} model {model[:24]!r}", "POST", route, dict(rerank, model=model), expect=(400, 403, 404))
    for documents in [[1, 2], [{"text": 5}], [{"title": "x"}], [None], [[]], [DEEP]]:
        body = json.dumps(dict(rerank, documents="__D__")).replace('"__D__"', json.dumps(documents).replace(
            '"' + DEEP + '"', DEEP))
        add(f"rerank {route} documents {json.dumps(documents)[:24]}", "POST", route, body, expect=(400, 413))
    add(f"rerank {route} 10,001 documents", "POST", route,
        json.dumps(dict(rerank, documents="__D__")).replace('"__D__"', "[" + repeat(10000, '"a",') + '"a"]'),
        expect=(400, 413))
    add(f"rerank {route} long query", "POST", route, dict(rerank, query=repeat(70000, "q")), expect=(400,))
    add(f"rerank {route} rank_fields missing", "POST", route,
        dict(rerank, documents=[{"title": "x"}], rank_fields=["nope"]), expect=(200, 400))
    add(f"rerank {route} unknown field", "POST", route, dict(rerank, tokens_per_doc=3), expect=(200, 400))

# ---- fields and routes added since the first corpus: deadlines, long
# documents, truncation, score filters, TEI's POST /rerank. Each case names
# the one status it must get (a list only where either answer is right).
V1 = "/v1/rerank"
TEI = "/rerank"
tei = {"model": "@@MODELS@@/bert-ce-tiny", "query": "what is bm25", "texts": ["BM25 ranks by term frequency", "bread"]}
execute_rerank = {"collection_ids": ["c"], "inputs": {"query": "fine"},
                  "stages": [stage("filter", "text_search", top_k=5),
                             stage("sort", "rerank", model="@@MODELS@@/bert-ce-tiny", top_n=2)]}


def rerank_stage_with(**parameters):
    body = json.loads(json.dumps(execute_rerank))
    body["stages"][1]["parameters"].update(parameters)
    return body


def raw_value(body, key, value_text):
    """`body` as JSON text with `key` (top level) set to raw JSON `value_text`."""
    return with_field(body, key, value_text)


# timeout_ms: a whole number of milliseconds from 1 to 86,400,000, in the body of every scoring route but TEI's.
TIMEOUTS = {"negative": ("-5", 400), "zero": ("0", 400), "huge": ("100000000000", 400), "string": ('"100"', 400),
            "overflow": ("1e400", 400), "float": ("2.5", 400), "true": ("true", 400), "huge_int": (HUGE_INT, 400),
            "array": ("[100]", 400), "deep": (DEEP, 400), "null": ("null", 200), "max": ("86400000", 200),
            "over_max": ("86400001", 400), "one_ms": ("1", (200, 504))}
for kind, (value, status) in TIMEOUTS.items():
    # 1 ms: a 504, or a 200 where the machine answers that fast.
    expect = status if isinstance(status, tuple) else (status,)
    add(f"timeout_ms={kind} {V1}", "POST", V1, raw_value(rerank, "timeout_ms", value), expect=expect)
    add(f"timeout_ms={kind} /v2/rerank", "POST", "/v2/rerank", raw_value(rerank, "timeout_ms", value), expect=expect)
    add(f"timeout_ms={kind} execute", "POST", "/v1/retrievers/execute",
        raw_value(execute_rerank, "timeout_ms", value), expect=expect)
    add(f"timeout_ms={kind} execute stored", "POST", "/v1/retrievers/r/execute",
        raw_value({"inputs": {"query": "fine"}}, "timeout_ms", value), expect=expect)
# TEI answers a request it cannot validate 422 (its "Validation" kind); POST /rerank keeps its statuses.
add("timeout_ms on TEI /rerank (not a TEI field)", "POST", TEI, dict(tei, timeout_ms=100), expect=(422,))
# A query string the router cannot decode, on TEI's route (found by fuzz/http_routes_fuzz.cc): 400 in TEI's shape.
for query in ["%e", "a=%zz", "%00=1"]:
    add(f"TEI /rerank?{query}", "POST", TEI + "?" + query, tei, expect=(400,))

# X-Request-Timeout: the same range, as header text; checked on scoring routes only.
HEADER_TIMEOUTS = {"garbage": "soon", "empty": "", "negative": "-1", "zero": "0", "overflow": "9" * 30,
                   "float": "1.5", "exponent": "1e3", "inner space": "1 00", "unit": "100ms", "over_max": "86400001",
                   "hex": "0x10", "plus": "+100", "nul": "1\u00000", "long": "1" * 5000}
for kind, value in HEADER_TIMEOUTS.items():
    for route, body in [(V1, rerank), ("/v2/rerank", rerank), (TEI, tei), ("/v1/retrievers/execute", execute_rerank),
                        ("/v1/retrievers/r/execute", {"inputs": {"query": "fine"}})]:
        # A NUL in a header value is refused by the transport (400) before any route.
        # Refused by admission before any handler: 400 (on TEI's route in TEI's error shape).
        expect = (400, 431) if kind == "long" else (400,)
        add(f"X-Request-Timeout {kind} {route}", "POST", route, body, expect=expect,
            headers=[("X-Request-Timeout", value)])
add("X-Request-Timeout with spaces around (HTTP strips them)", "POST", V1, rerank, expect=(200,),
    headers=[("X-Request-Timeout", "  60000  ")])
add("X-Request-Timeout on /health (not a scoring route: ignored)", "GET", "/health", expect=(200,),
    headers=[("X-Request-Timeout", "soon")])
add("X-Request-Timeout valid", "POST", V1, rerank, expect=(200,), headers=[("X-Request-Timeout", "60000")])
add("X-Request-Timeout twice, first bad", "POST", V1, rerank, expect=(400,),
    headers=[("X-Request-Timeout", "x"), ("X-Request-Timeout", "100")])

# chunking (an object) on /v1/rerank and on the rerank stage; max_chunks_per_doc on /v1/rerank.
CHUNKINGS = {
    "string": ('"yes"', 400), "number": ("5", 400), "true": ("true", 400), "array": ("[1]", 400),
    "empty object": ("{}", 200), "deep": (DEEP, 400), "unknown field": ('{"size": 5}', 400),
    "max_tokens 0": ('{"max_tokens": 0}', 400), "max_tokens negative": ('{"max_tokens": -4}', 400),
    "max_tokens huge": ('{"max_tokens": 100000000}', 400), "max_tokens overflow": ('{"max_tokens": 1e400}', 400),
    "max_tokens float": ('{"max_tokens": 8.5}', 400), "max_tokens string": ('{"max_tokens": "64"}', 400),
    "max_tokens huge_int": ('{"max_tokens": ' + HUGE_INT + "}", 400),
    "overlap = max_tokens": ('{"max_tokens": 16, "overlap": 16}', 400),
    "overlap > max_tokens": ('{"max_tokens": 16, "overlap": 40}', 400),
    "overlap negative": ('{"overlap": -1}', 400), "overlap string": ('{"overlap": "2"}', 400),
    "max_chunks 0": ('{"max_chunks": 0}', 400), "max_chunks negative": ('{"max_chunks": -2}', 400),
    "max_chunks huge": ('{"max_chunks": 100000000}', 400), "max_chunks null": ('{"max_chunks": null}', 200),
    "aggregate unknown": ('{"aggregate": "min"}', 400), "aggregate number": ('{"aggregate": 3}', 400),
    "k without mean_top_k": ('{"k": 2}', 400), "k 0": ('{"aggregate": "mean_top_k", "k": 0}', 400),
    "k huge": ('{"aggregate": "mean_top_k", "k": 100000000}', 400),
    "small chunks": ('{"max_tokens": 8, "overlap": 7, "max_chunks": 4}', 200),
}
for kind, (value, status) in CHUNKINGS.items():
    add(f"{V1} chunking {kind}", "POST", V1, raw_value(rerank, "chunking", value), expect=(status,))
    body = rerank_stage_with(chunking="__CHUNKING__")
    add(f"rerank stage chunking {kind}", "POST", "/v1/retrievers/execute",
        json.dumps(body).replace('"__CHUNKING__"', value), expect=(status,))
MAX_CHUNKS = {"zero": ("0", 400), "negative": ("-3", 400), "huge": ("100000000", 400), "over 2^20": ("1048577", 400),
              "string": ('"4"', 400), "float": ("2.5", 400), "overflow": ("1e400", 400), "object": ('{"n": 1}', 400),
              "one": ("1", 200), "four": ("4", 200)}
for kind, (value, status) in MAX_CHUNKS.items():
    add(f"{V1} max_chunks_per_doc {kind}", "POST", V1, raw_value(rerank, "max_chunks_per_doc", value),
        expect=(status,))
add(f"{V1} max_chunks_per_doc with chunking", "POST", V1, dict(rerank, max_chunks_per_doc=2, chunking={}),
    expect=(400,))
add(f"{V1} return_chunks without chunking", "POST", V1, dict(rerank, return_chunks=True), expect=(400,))
add(f"{V1} return_chunks string", "POST", V1, dict(rerank, return_chunks="yes", max_chunks_per_doc=2), expect=(400,))

# max_tokens_per_doc, truncation_direction, truncation.
for kind, (value, status) in {"zero": ("0", 400), "negative": ("-1", 400), "over 2^20": ("1048577", 400),
                              "string": ('"64"', 400), "overflow": ("1e400", 400), "one": ("1", 200),
                              "float": ("3.5", 400)}.items():
    add(f"{V1} max_tokens_per_doc {kind}", "POST", V1, raw_value(rerank, "max_tokens_per_doc", value),
        expect=(status,))
    add(f"rerank stage max_tokens_per_doc {kind}", "POST", "/v1/retrievers/execute",
        json.dumps(rerank_stage_with(max_tokens_per_doc="__V__")).replace('"__V__"', value),
        # The stage takes 0 as "no limit".
        expect=(200,) if kind == "zero" else (status,))
DIRECTIONS = {"up": ('"up"', 400), "empty": ('""', 400), "number": ("5", 400), "LEFT": ('"LEFT"', 200),
              "array": ('["left"]', 400), "nul": ('"left\\u0000"', 400), "long": ('"' + "l" * 10000 + '"', 400)}
for kind, (value, status) in DIRECTIONS.items():
    add(f"{V1} truncation_direction {kind}", "POST", V1, raw_value(rerank, "truncation_direction", value),
        expect=(status,))
    add(f"{TEI} truncation_direction {kind}", "POST", TEI, raw_value(tei, "truncation_direction", value),
        expect=(422,) if status == 400 else (status,))
    add(f"rerank stage truncation_direction {kind}", "POST", "/v1/retrievers/execute",
        json.dumps(rerank_stage_with(truncation_direction="__V__")).replace('"__V__"', value), expect=(status,))
for kind, (value, status) in {"string": ('"no"', 400), "number": ("0", 400), "false": ("false", 200),
                              "array": ("[]", 400)}.items():
    add(f"{V1} truncation {kind}", "POST", V1, raw_value(rerank, "truncation", value), expect=(status,))
add(f"{V1} truncation false, a document too long", "POST", V1,
    dict(rerank, truncation=False, documents=[repeat(3000, "word ")]), expect=(400, 413))

# min_score: a number from 0 to 1.
MIN_SCORES = {"NaN string": ('"NaN"', 400), "nan": ('"nan"', 400), "Infinity string": ('"Infinity"', 400),
              "-inf string": ('"-inf"', 400), "overflow": ("1e400", 400), "negative overflow": ("-1e400", 400),
              "negative": ("-0.1", 400), "over one": ("1.5", 400), "huge_int": (HUGE_INT, 400),
              "true": ("true", 400), "array": ("[0.5]", 400), "string number": ('"0.5"', 400),
              "zero": ("0", 200), "one": ("1", 200), "tiny": ("1e-300", 200)}
for kind, (value, status) in MIN_SCORES.items():
    add(f"{V1} min_score {kind}", "POST", V1, raw_value(rerank, "min_score", value), expect=(status,))
    add(f"rerank stage min_score {kind}", "POST", "/v1/retrievers/execute",
        json.dumps(rerank_stage_with(min_score="__V__")).replace('"__V__"', value), expect=(status,))

# rank_fields naming fields no document has; priority (accepted and ignored, any JSON value).
object_docs = [{"title": "BM25", "text": "ranks by term frequency"}, {"title": "bread", "text": "needs flour"}]
for kind, (fields, status) in {"absent": (["nope"], 400), "one absent": (["title", "nope"], 400),
                               "empty name": ([""], 400), "number": ([5], 400), "nested": ([["title"]], 400),
                               "present": (["title"], 200), "string not list": ("title", 400),
                               "many absent": (["f%d" % i for i in range(1000)], 400)}.items():
    for route in [V1, "/v2/rerank"]:
        add(f"{route} rank_fields {kind}", "POST", route, dict(rerank, documents=object_docs, rank_fields=fields),
            expect=(status,))
for kind, (value, status) in {"string": ('"high"', 200), "negative": ("-1", 200), "huge": (HUGE_INT, 200),
                              "object": ('{"a": 1}', 200), "overflow": ("1e400", 400), "deep": (DEEP, 400),
                              "very deep": (VERY_DEEP, 400)}.items():
    add(f"/v2/rerank priority {kind}", "POST", "/v2/rerank", raw_value(rerank, "priority", value), expect=(status,))

# TEI's POST /rerank: texts, raw_scores, return_text, truncate; its errors are {"error", "error_type"}.
for kind, (value, status) in {"string": ('"a text"', 422), "numbers": ("[1, 2]", 422), "nulls": ("[null]", 422),
                              "empty": ("[]", 400), "object": ('{"a": "b"}', 422), "nested": ('[["a"]]', 422),
                              "objects": ('[{"text": "a"}]', 422), "null": ("null", 422),
                              "deep": (DEEP, 422), "very deep": (VERY_DEEP, 422),
                              "10,001 texts": ("[" + repeat(10000, '"a",') + '"a"]', 422),
                              "one empty text": ('[""]', 200), "huge text": ('["' + repeat(500000, "word ") + '"]', 200),
                              "lone surrogate": ('["\\ud800"]', 422)}.items():
    add(f"{TEI} texts {kind}", "POST", TEI, raw_value(tei, "texts", value), expect=(status,))
for field in ["raw_scores", "return_text", "truncate"]:
    for kind, value in {"string": '"true"', "number": "1", "array": "[]", "object": "{}", "overflow": "1e400"}.items():
        add(f"{TEI} {field} {kind}", "POST", TEI, raw_value(tei, field, value), expect=(422,))
    add(f"{TEI} {field} null", "POST", TEI, raw_value(tei, field, "null"), expect=(200,))
add(f"{TEI} truncate false, a text too long", "POST", TEI, dict(tei, truncate=False, texts=[repeat(3000, "word ")]),
    expect=(413,))
for kind, value in {"missing": None, "number": 5, "array": ["q"], "long": repeat(70000, "q"), "empty": ""}.items():
    body = dict(tei)
    if value is None:
        del body["query"]
    else:
        body["query"] = value
    add(f"{TEI} query {kind}", "POST", TEI, body, expect=(200,) if kind == "empty" else (422,))
add(f"{TEI} unknown field", "POST", TEI, dict(tei, top_n=1), expect=(422,))
add(f"{TEI} no model and no --default-reranker", "POST", TEI, {"query": "q", "texts": ["a"]}, expect=(422,))
for model in ["/etc", "/etc/passwd", "../../../../etc", "/proc/self/root", "@@MODELS@@/../../..",
              "@@MODELS@@/bert-ce-tiny/../../../../etc", "org/does-not-exist", "x" * 5000, "@@MODELS@@",
              "@@MODELS@@/bert-embed-tiny", "", 5, None]:
    # A path outside the allowed roots: 403 naming the policy; an unknown or unloadable name: TEI's 422.
    add(f"{TEI} model {str(model)[:24]!r}", "POST", TEI, dict(tei, model=model),
        expect=(422,) if model is None or model == "" or model == 5 else (403, 422))

# ---- bodies any JSON route may get ----
for route in ["/v1/collections", "/v1/retrievers", "/v1/retrievers/execute", "/v1/rerank", "/v2/rerank", "/rerank"]:
    for name, body in [("empty", ""), ("whitespace", "   \n"), ("not json", "hello"), ("array", "[1,2]"),
                       ("number", "42"), ("truncated", '{"a": '), ("very deep", VERY_DEEP),
                       ("deep object", '{"a":' * 600 + "1" + "}" * 600), ("overflow top", "1e400"),
                       ("bad escape", '{"a": "\\x41"}'), ("invalid utf-8", b'{"a": "\xff"}'),
                       ("duplicate keys", '{"a": 1, "a": 2}'), ("bom", "\ufeff{}"),
                       ("trailing garbage", "{} {}"), ("nul", '{"a":1}\u0000')]:
        add(f"{route} body {name}", "POST", route, body, expect=(400, 404, 413, 422))

# ---- methods and routes ----
for method, target in [("PUT", "/v1/collections"), ("PATCH", "/v1/rerank"), ("DELETE", "/v1/rerank"),
                       ("GET", "/v1/rerank"), ("POST", "/health"), ("GET", "/nope"), ("GET", "/v1/"),
                       ("GET", "//v1/collections"), ("GET", "/v1/collections/../../etc/passwd"),
                       ("GET", "/%2e%2e/%2e%2e/etc/passwd"), ("BREW", "/"), ("GET", "/v1/collections?" + repeat(20000, "a="))]:
    add(f"{method} {target[:40]}", method, target, expect=(400, 404, 405, 414, 431, 501))

# ---- the transport, as raw bytes on a fresh connection ----
CRLF = "\r\n"
raw = {
    "no version": "GET /health" + CRLF + CRLF,
    "bad version": "GET /health HTTP/9.9" + CRLF + CRLF,
    "lowercase method": "get /health HTTP/1.1" + CRLF + "Host: x" + CRLF + CRLF,
    "space in target": "GET /he alth HTTP/1.1" + CRLF + "Host: x" + CRLF + CRLF,
    "header without colon": "GET /health HTTP/1.1" + CRLF + "Host x" + CRLF + CRLF,
    "huge header": "GET /health HTTP/1.1" + CRLF + "X-A: " + repeat(100000, "a") + CRLF + CRLF,
    "many headers": "GET /health HTTP/1.1" + CRLF + repeat(2000, "X-Many: 1" + CRLF) + CRLF,
    "long target": "GET /" + repeat(100000, "a") + " HTTP/1.1" + CRLF + "Host: x" + CRLF + CRLF,
    "negative length": "POST /v1/rerank HTTP/1.1" + CRLF + "Content-Length: -5" + CRLF + CRLF,
    "huge length": "POST /v1/rerank HTTP/1.1" + CRLF + "Content-Length: 99999999999999999999" + CRLF + CRLF,
    "two lengths": "POST /v1/rerank HTTP/1.1" + CRLF + "Content-Length: 2" + CRLF + "Content-Length: 3" + CRLF +
                   CRLF + "{}",
    "huge chunk": "POST /v1/rerank HTTP/1.1" + CRLF + "Transfer-Encoding: chunked" + CRLF + CRLF +
                  "7FFFFFFFFFFFFFFF" + CRLF + "{}",
    "bad chunk size": "POST /v1/rerank HTTP/1.1" + CRLF + "Transfer-Encoding: chunked" + CRLF + CRLF + "zz" + CRLF,
    "chunked and length": "POST /v1/rerank HTTP/1.1" + CRLF + "Transfer-Encoding: chunked" + CRLF +
                          "Content-Length: 5" + CRLF + CRLF + "0" + CRLF + CRLF,
    "unknown encoding": "POST /v1/rerank HTTP/1.1" + CRLF + "Transfer-Encoding: gzip" + CRLF + CRLF,
    "bare LF": "GET /health HTTP/1.1\nHost: x\n\n",
    "nul in head": "GET /health\u0000 HTTP/1.1" + CRLF + CRLF,
    "binary": bytes(range(256)) + b"\r\n\r\n",
    "TLS hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"a" * 40,
    "absolute target": "GET http://example.com/health HTTP/1.1" + CRLF + "Host: x" + CRLF + CRLF,
    "expect 100": "POST /v1/rerank HTTP/1.1" + CRLF + "Expect: 100-continue" + CRLF + "Content-Length: 1000000000"
                  + CRLF + CRLF,
}
for name, data in raw.items():
    add(f"raw {name}", "RAW", "", raw=data, expect=(0, 400, 404, 405, 411, 413, 414, 431, 501, 505))

path = pathlib.Path(__file__).resolve().parent / "requests.jsonl"
with path.open("w") as f:
    for item in out:
        f.write(json.dumps(item, ensure_ascii=True) + "\n")
print(f"{len(out)} requests -> {path}")

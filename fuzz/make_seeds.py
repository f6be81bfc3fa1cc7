#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from
the test data. Run from the repository root after the test data changes:

  python3 fuzz/make_seeds.py

Seeds are small on purpose: libFuzzer mutates them, and small inputs run fast.
"""
import json
import pathlib
import struct

root = pathlib.Path(__file__).resolve().parent.parent
data = root / "tests" / "data"
corpus = root / "fuzz" / "corpus"


def write(target, name, content):
    folder = corpus / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())


def small_tokenizer(path, keep):
    """The tokenizer.json at `path` with its vocabulary cut to `keep` entries
    (special tokens kept), so that every other part is seeded as it is."""
    t = json.loads(path.read_text())
    model = t["model"]
    specials = {a["content"] for a in t.get("added_tokens", [])}
    if model.get("type") == "BPE":  # token -> id, plus merges whose three tokens are kept
        model["vocab"] = {tok: i for tok, i in model["vocab"].items() if i < keep}
        vocab = model["vocab"]
        pairs = [m.split(" ") if isinstance(m, str) else m for m in model["merges"]]
        model["merges"] = [m for m, (a, b) in zip(model["merges"], pairs)
                           if a in vocab and b in vocab and a + b in vocab]
        # Added tokens the vocabulary lacks take the next ids, in file order.
        ids = dict(vocab)
        for a in t.get("added_tokens", []):
            a["id"] = ids.setdefault(a["content"], len(ids))
        for special in (t.get("post_processor") or {}).get("special_tokens", {}).values():
            special["ids"] = [ids[tok] for tok in special["tokens"]]
    elif isinstance(model["vocab"], dict):  # WordPiece: token -> id
        items = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        kept = [kv for kv in items if kv[0] in specials or kv[1] < keep or kv[0].startswith("##") and kv[1] < 4 * keep]
        model["vocab"] = {tok: i for i, (tok, _) in enumerate(kept)}
        ids = model["vocab"]
        for a in t.get("added_tokens", []):
            a["id"] = ids[a["content"]]
        for special in (t.get("post_processor") or {}).get("special_tokens", {}).values():
            special["ids"] = [ids[tok] for tok in special["tokens"]]
    else:  # Unigram: [piece, score] list; ids are positions
        model["vocab"] = model["vocab"][:keep]
    return json.dumps(t, ensure_ascii=False)


# tokenizer_json: the two real tokenizers' structure with small vocabularies.
write("tokenizer_json", "wordpiece.json", small_tokenizer(data / "tokenizers" / "bert-uncased" / "tokenizer.json", 1200))
write("tokenizer_json", "unigram.json", small_tokenizer(data / "tokenizers" / "xlmr-unigram" / "tokenizer.json", 400))
unigram = json.loads(small_tokenizer(data / "tokenizers" / "xlmr-unigram" / "tokenizer.json", 400))
unigram["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Replace",
                         "pattern": {"Regex": " {2,}"}, "content": " "}]}
write("tokenizer_json", "unigram_nfkc.json", json.dumps(unigram, ensure_ascii=False))
# Byte-level BPE: the 256 byte symbols and the first merges (Qwen2's Split +
# ByteLevel with "a b" merges; ModernBERT's ByteLevel regex, [a, b] merges and template).
write("tokenizer_json", "bpe_qwen.json", small_tokenizer(data / "tokenizers" / "bpe-qwen" / "tokenizer.json", 600))
write("tokenizer_json", "bpe_modernbert.json",
      small_tokenizer(data / "tokenizers" / "bpe-modernbert" / "tokenizer.json", 600))
write("tokenizer_json", "minimal.json", json.dumps({
    "version": "1.0", "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"},
                                                                          {"type": "StripAccents"}]},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Punctuation"}]},
    "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
    "added_tokens": [{"id": 0, "content": "[UNK]", "special": True}, {"id": 1, "content": "[CLS]", "special": True},
                     {"id": 2, "content": "[SEP]", "special": True}],
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
              "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "a": 3, "b": 4, "##b": 5, "hello": 6, ",": 7}}}))

# tokenize: texts in the scripts and shapes the goldens cover.
for i, line in enumerate((data / "tokenizers" / "bert-uncased" / "tokens.jsonl").read_text().splitlines()[:40:4]):
    text = json.loads(line).get("text", "")
    write("tokenize", f"text{i}", b"\x10\x00" + text.encode())
# What the byte-level BPE tokenizers split specially: contractions, digit runs,
# newline runs, their added tokens.
write("tokenize", "bpe_text", b"\x10\x00" + "I'M sure it'S 2024!\r\n\n  <|im_start|>user\n<think>\n\n</think> a [MASK]".encode())
write("tokenize", "invalid_utf8", b"\x40\x01query\xff\xfe\xc3(doc")

# safetensors: a small valid file with several dtypes, and the fixture's header.
header = {"__metadata__": {"format": "pt"},
          "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]},
          "c": {"dtype": "I64", "shape": [1], "data_offsets": [22, 30]}}
h = json.dumps(header).encode()
write("safetensors", "small", struct.pack("<Q", len(h)) + h + bytes(range(30)))
fixture = (data / "models" / "bert-ce-tiny" / "model.safetensors").read_bytes()
n = struct.unpack("<Q", fixture[:8])[0]
write("safetensors", "fixture_header_only", fixture[:8 + n])

# model_config: the fixtures' config.json files.
for name in ("bert-ce-tiny", "xlmr-ce-tiny", "xlmr-ce-tiny-long"):
    write("model_config", name, (data / "models" / name / "config.json").read_text())

# ndjson_ingest: the README's documents and the bad lines the tests use.
write("ndjson_ingest", "papers", (root / "examples" / "papers.jsonl").read_text())
write("ndjson_ingest", "mixed",
      '{"id": "a", "text": "alpha"}\nthis is not json\n\n[1, 2, 3]\n{"id": "b", "text": "beta", "year": 1999}\n'
      '{"id": "c", "text": "gamma", "vectors": {"v": [1, 2, 3]}}\r\n{"id": "d", "metadata": {"n": 1e300}}')

# pipeline: the declarative pipeline cases' stages and inputs.
for case in sorted((root / "tests" / "pipeline" / "cases").glob("*.json")):
    spec = json.loads(case.read_text())
    body = {"stages": spec.get("stages", spec.get("pipeline", [])), "inputs": spec.get("inputs", {})}
    if "input_schema" in spec:
        body["input_schema"] = spec["input_schema"]
    text = json.dumps(body)
    # The fuzz world's documents are "papers" with index "v" and model "tiny-ce".
    for model in ("tests/data/models/bert-ce-tiny", "bert-ce-tiny"):
        text = text.replace(model, "tiny-ce")
    write("pipeline", case.stem, text)

# http_routes: one seed per route of the fuzz target's table (a byte choosing
# the route, the path parameter line, the query line, the body), bodies from
# the README's requests.
routes = ["POST /v1/collections", "GET /v1/collections/{}", "DELETE /v1/collections/{}",
          "GET /v1/collections/{}/documents", "GET /v1/collections/c/documents/{}",
          "DELETE /v1/collections/c/documents/{}", "POST /v1/retrievers", "GET /v1/retrievers/{}",
          "DELETE /v1/retrievers/{}", "POST /v1/retrievers/{}/execute", "POST /v1/retrievers/execute",
          "POST /v1/rerank", "POST /v2/rerank", "GET /v1/models", "GET /v1/collections", "GET /v1/retrievers",
          "POST /rerank"]
search = {"stage_type": "filter", "stage_id": "text_search", "parameters": {"query": "{{INPUT.query}}", "top_k": 10}}
rerank_stage = {"stage_type": "sort", "stage_id": "rerank",
                "parameters": {"model": "@@MODELS@@/bert-ce-tiny", "top_n": 2}}
condition = {"stage_type": "filter", "stage_id": "structured_filter",
             "parameters": {"conditions": {"AND": [{"field": "metadata.year", "operator": "gte", "value": 2020},
                                                   {"NOT": {"field": "metadata.year", "operator": "eq", "value": 1}}]}}}
bodies = {
    "POST /v1/collections": {"collection_id": "n", "text_fields": ["text"],
                             "vector_indexes": [{"name": "w", "dimensions": 4, "metric": "ip"}],
                             "bm25": {"k1": 1.2, "b": 0.75, "stopwords": "none"}},
    "POST /v1/retrievers": {"retriever_id": "r", "collection_ids": ["c"],
                            "input_schema": {"query": {"type": "string", "required": True}},
                            "stages": [search, condition]},
    "POST /v1/retrievers/{}/execute": {"inputs": {"query": "fine"}, "return_fields": ["text", "metadata"]},
    "POST /v1/retrievers/execute": {"collection_ids": ["c"], "inputs": {"query": "fine"},
                                    "stages": [search, condition, {"stage_type": "reduce", "stage_id": "limit",
                                                                   "parameters": {"limit": 1}}]},
    "POST /v1/rerank": {"model": "@@MODELS@@/bert-ce-tiny", "query": "what is bm25",
                        "documents": ["BM25 ranks by term frequency", {"text": "bread"}], "top_n": 1,
                        "return_documents": True},
    "POST /v2/rerank": {"model": "@@MODELS@@/bert-ce-tiny", "query": "q", "documents": [{"title": "t", "text": "x"}],
                        "rank_fields": ["title", "text"], "precision": "fp32"},
    "POST /rerank": {"model": "@@MODELS@@/modernbert-ce-tiny", "query": "what is bm25",
                     "texts": ["BM25 ranks by term frequency", "bread"], "raw_scores": True, "return_text": True,
                     "truncation_direction": "left"},
}
# More seeds of the rerank routes: a decoder reranker with an instruction, and
# long documents chunked.
extra = {
    "v2_qwen3_instruction": ("POST /v2/rerank", {"model": "@@MODELS@@/qwen3-reranker-tiny", "query": "q",
                                                 "documents": ["a", "b"], "instruction": "Find code", "top_n": 1}),
    "v1_long_documents": ("POST /v1/rerank", {"model": "@@MODELS@@/bert-ce-tiny", "query": "q",
                                              "documents": ["word " * 700], "chunking": {"max_tokens": 64, "overlap": 8},
                                              "precision": "int8"}),
}
for i, route in enumerate(routes):
    body = json.dumps(bodies.get(route, {}))
    # The fuzz target cannot expand @@MODELS@@: it serves the fixtures' folder
    # under its --model-dir, by an absolute path that differs per checkout, so
    # seeds name the model through a path relative to the working directory
    # libFuzzer runs in (the repository root, as scripts/fuzz runs it).
    body = body.replace("@@MODELS@@", "tests/data/models")
    param = "c" if "{}" in route and "documents/{}" not in route else ("a" if "{}" in route else "")
    if route.startswith("POST /v1/retrievers/{}"):
        param = "r"
    query = "limit=1&after=a" if route.endswith("/documents") else ""
    write("http_routes", f"route{i:02d}", bytes([i]) + f"{param}\n{query}\n".encode() + body.encode())
for name, (route, body) in extra.items():
    text = json.dumps(body).replace("@@MODELS@@", "tests/data/models")
    write("http_routes", name, bytes([routes.index(route)]) + b"\n\n" + text.encode())

// Reading a BEIR-layout test collection: corpus.jsonl ({"_id", "title",
// "text"}), queries.jsonl ({"_id", "text"}) and qrels/<split>.tsv
// ("query-id<TAB>corpus-id<TAB>score" after a header line).
//
// It lives in store/ because the store's BM25 tests and `winnow eval` are its
// only users so far; it knows nothing of the store (see ir_metrics.h).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace winnow::eval {

struct BeirDocument {
  std::string id;
  std::string title;
  std::string text;
};

struct BeirQuery {
  std::string id;
  std::string text;
};

// query id -> (document id -> relevance score; > 0 means relevant)
using Qrels = std::map<std::string, std::map<std::string, int>>;

struct BeirDataset {
  std::vector<BeirDocument> corpus;  // in file order
  std::vector<BeirQuery> queries;    // only those judged in the split, in file order
  Qrels qrels;
};

base::Result<std::vector<BeirDocument>> read_beir_corpus(const std::filesystem::path& path);
base::Result<std::vector<BeirQuery>> read_beir_queries(const std::filesystem::path& path);
base::Result<Qrels> read_beir_qrels(const std::filesystem::path& path);

// Reads <dir>/corpus.jsonl, <dir>/queries.jsonl and <dir>/qrels/<split>.tsv.
base::Result<BeirDataset> read_beir_dataset(const std::filesystem::path& dir, const std::string& split = "test");

// The document as one line of Winnow NDJSON: {"id", "title", "text"}; the
// title comes first so BM25's flat field is title + " " + text, as Anserini's.
std::string beir_document_ndjson(const BeirDocument& document);

}  // namespace winnow::eval

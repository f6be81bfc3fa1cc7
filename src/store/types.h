// The values the store hands out and takes in (see store.h for the calls).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "store/settings.h"

namespace winnow::store {

struct Collection {
  std::string collection_id;
  std::int64_t created_at_ms = 0;  // milliseconds since the Unix epoch
  CollectionSettings settings;     // dimensions filled in once the first vector fixed them
  std::int64_t document_count = 0;
};

struct TextField {
  std::string name;
  std::string text;
};

struct StoredDocument {
  std::string document_id;
  std::vector<TextField> text_fields;  // in the document's order
  nlohmann::json metadata;             // always an object
  std::int64_t created_at_ms = 0;
  std::int64_t updated_at_ms = 0;
};

struct DocumentPage {
  std::vector<StoredDocument> documents;  // by document_id ascending
  std::string next_after;  // pass as `after` for the next page; empty on the last page
};

// A search result: best first.
struct ScoredDocument {
  std::string document_id;
  double score = 0;
};

struct Retriever {
  std::string retriever_id;
  std::vector<std::string> collection_ids;
  nlohmann::json input_schema;  // as the client sent it (null if absent)
  nlohmann::json stages;        // a JSON array, stored as sent; pipeline/ validates it
  std::int64_t created_at_ms = 0;  // set by the store
};

// Embeds texts for a vector index: one vector per text, in order. Supplied by
// the layer above (the store knows nothing of models); called once per batch
// and index with the texts of the documents that sent no vector for it.
using EmbedFunction = std::function<base::Result<std::vector<std::vector<float>>>(
    const std::string& index_name, std::span<const std::string> texts)>;

struct IngestOptions {
  std::size_t batch_lines = 500;         // commit after this many lines ...
  std::size_t batch_bytes = 8u << 20;    // ... or this many bytes, whichever first
  EmbedFunction embed;                   // optional; see EmbedFunction
  // Called after each batch is durably committed, with the number of input
  // lines consumed so far (blank and bad lines included). Everything up to
  // that line survives a crash from then on.
  std::function<void(std::size_t lines_done)> on_batch_committed;
  std::size_t max_reported_errors = 1000;  // further bad lines are only counted
};

struct LineError {
  std::size_t line = 0;  // 1-based
  std::string error;     // names the field, index or document at fault
};

struct IngestReport {
  std::size_t lines = 0;              // lines read, blank ones included
  std::size_t documents_stored = 0;   // inserted or replaced
  std::size_t bad_lines = 0;          // all of them, even beyond max_reported_errors
  std::vector<LineError> errors;      // in line order
};

struct VectorIndexInfo {
  VectorIndexSpec spec;
  std::size_t vectors = 0;
  bool hnsw = false;             // false: exact search
  std::int64_t applied_seq = 0;  // change sequence the in-memory index reflects
  // How it was obtained at open or first use: "new", "loaded", "caught up N
  // changes", "rebuilt: <why>", "exact from the database".
  std::string origin;
};

}  // namespace winnow::store

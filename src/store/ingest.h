// Ingest pieces that know nothing of SQLite: reading NDJSON in batches, and
// checking / completing each document's vectors against the index specs
// (dimensions, zero norms, embedding for model-backed indexes).
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <vector>

#include "base/status.h"
#include "store/documents.h"
#include "store/settings.h"
#include "store/types.h"

namespace winnow::store {

// Reads NDJSON line by line (one JSON document per line; "\r\n" accepted)
// and hands out batches of non-blank lines of at most `batch_lines` lines or
// about `batch_bytes` bytes.
class NdjsonBatcher {
 public:
  struct Line {
    std::size_t number = 0;  // 1-based
    std::string text;
  };

  NdjsonBatcher(std::istream& in, std::size_t batch_lines, std::size_t batch_bytes);

  // The next batch; empty at the end of the input. DataLoss on a read error.
  base::Result<std::vector<Line>> next();

  // Lines consumed so far, blank ones included.
  std::size_t lines_read() const { return lines_read_; }

 private:
  std::istream& in_;
  std::size_t batch_lines_;
  std::size_t batch_bytes_;
  std::size_t lines_read_ = 0;
};

// A parsed document on its way into the store.
struct PendingDocument {
  std::size_t line = 0;  // 0 when not from a stream
  std::string id;        // the client's or a generated one
  ParsedDocument document;
  std::vector<VectorWrite> vectors;  // filled by resolve_vectors
};

// Embeds, through `embed`, the `field` text of documents that sent no vector
// for a model-backed index (adding it to the document's vectors), then checks
// every vector against `settings` (known index, dimensions, finite and - for
// cosine - non-zero) into PendingDocument::vectors, fixing the dimensions of
// indexes that have none yet from the first vector (in document order; sets
// `settings_changed`). Documents with an error are removed from `documents`
// and reported in `errors` with their line and id. Returns an error only when
// `embed` itself fails. Safe to call again (without `embed`) on the result.
base::Status resolve_vectors(CollectionSettings& settings, std::vector<PendingDocument>& documents,
                             const EmbedFunction& embed, std::vector<LineError>& errors, bool& settings_changed);

}  // namespace winnow::store

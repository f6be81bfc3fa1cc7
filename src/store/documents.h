// Documents: parsing the client's JSON object, and their rows in SQLite
// (documents, vectors, the FTS row and the change log) written together.
//
// A document is a JSON object: "id" (optional string; generated if absent),
// "metadata" (optional object), "vectors" (optional {index_name: [floats]}),
// and text fields: every other top-level member, each a string. Any other
// top-level value is an error that names the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "store/settings.h"
#include "store/sqlite.h"
#include "store/types.h"

namespace winnow::store {

struct ParsedDocument {
  std::optional<std::string> id;
  std::vector<TextField> text_fields;  // in the document's order
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
  std::vector<std::pair<std::string, std::vector<float>>> vectors;  // as sent, in order

  const std::string* text_field(std::string_view name) const;
  const std::vector<float>* vector(std::string_view index_name) const;
};

// Parses one NDJSON line / request body. Errors name the field; the caller
// adds the line number.
base::Result<ParsedDocument> parse_document(std::string_view json_text);
base::Result<ParsedDocument> parse_document_value(const nlohmann::ordered_json& value);

// The text BM25 indexes: the fields named in `text_fields` (all fields when
// empty), joined with a single space.
std::string flat_text(const ParsedDocument& document, const std::vector<std::string>& text_fields);

// Internal identity of a collection, as read from its row.
struct CollectionRow {
  std::int64_t key = 0;
  std::string id;
  std::int64_t created_at_ms = 0;
  CollectionSettings settings;
  std::int64_t log_floor = 0;
};

// NotFound "collection 'x' not found".
base::Result<CollectionRow> find_collection(Database& db, std::string_view collection_id);

// One vector a written document carries, already validated.
struct VectorWrite {
  std::string index_name;
  std::vector<float> vector;
};

// Inserts or replaces a document inside the caller's transaction: its row,
// its FTS row, its vectors (replacing all previous ones), and a change-log
// entry when the collection has vector indexes. Returns the doc_key.
base::Result<std::int64_t> write_document(Database& db, const CollectionRow& collection, const std::string& id,
                                          const ParsedDocument& document, const std::vector<VectorWrite>& vectors,
                                          std::int64_t now_ms);

// Deletes a document and everything derived from it, inside the caller's
// transaction. Returns its doc_key; NotFound if absent.
base::Result<std::int64_t> erase_document(Database& db, const CollectionRow& collection, std::string_view id);

base::Result<std::optional<StoredDocument>> read_document(Database& db, const CollectionRow& collection,
                                                          std::string_view id);
base::Result<DocumentPage> read_document_page(Database& db, const CollectionRow& collection,
                                              std::string_view after, std::size_t limit);

std::vector<std::uint8_t> vector_to_blob(std::span<const float> vector);
std::vector<float> blob_to_vector(std::span<const std::uint8_t> blob);

}  // namespace winnow::store

// A collection's settings: which text fields BM25 indexes, how BM25 scores,
// and the vector index specs. Parsed from the client's JSON with errors that
// name the field at fault; stored as JSON in the collections table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::store {

enum class Metric {
  kCosine,  // inner product of L2-normalised vectors; score in [-1, 1]
  kInnerProduct,  // raw inner product; score unbounded
  kL2,  // Euclidean distance; score = -distance, so higher is still better
};

std::string_view metric_name(Metric metric);

enum class Stopwords {
  kEnglish,           // Lucene's 33 English stopwords, dropped at index and query time
  kEnglishQueryOnly,  // indexed, but dropped from queries (document lengths count them)
  kNone,
};

std::string_view stopwords_name(Stopwords stopwords);

struct VectorIndexSpec {
  std::string name;    // [A-Za-z0-9._-]{1,128}; unique in its collection
  std::string model;   // embedding model that fills it at ingest; empty: client vectors only
  std::string field;   // the text field the model embeds; required with a model
  std::optional<std::int64_t> dimensions;  // fixed by the spec or by the first vector stored
  Metric metric = Metric::kCosine;

  nlohmann::json to_json() const;
};

// Lucene's BM25 (as Anserini configures it for BEIR "flat" indexes).
struct Bm25Settings {
  double k1 = 0.9;
  double b = 0.4;
  Stopwords stopwords = Stopwords::kEnglish;

  nlohmann::json to_json() const;
};

struct CollectionSettings {
  // The fields BM25 indexes, joined with a space in this order. Empty: every
  // string field of each document, in the document's order.
  std::vector<std::string> text_fields;
  std::vector<VectorIndexSpec> vector_indexes;
  Bm25Settings bm25;

  // nullptr if the collection has no index of that name.
  const VectorIndexSpec* find_index(std::string_view name) const;
  VectorIndexSpec* find_index(std::string_view name);

  nlohmann::json to_json() const;
};

// Parses the client's settings object:
//   {"text_fields": ["title", "text"],
//    "vector_indexes": [{"name": ..., "model": ..., "field": ..., "dimensions": 384, "metric": "cosine"}],
//    "bm25": {"k1": 0.9, "b": 0.4, "stopwords": "english" | "english_query_only" | "none"}}
// Every key is optional; an unknown key is an error that names it.
base::Result<CollectionSettings> parse_collection_settings(const nlohmann::json& json);

}  // namespace winnow::store

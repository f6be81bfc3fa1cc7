// BM25 through SQLite FTS5, in the same database as the documents, so a
// document and its lexical index entry commit in one transaction.
//
// Each collection has one FTS5 table fts_<collection_key> with one column:
// the document's text fields joined with a space (Anserini's "flat" index),
// rowid = documents.doc_key. Analysis follows Anserini's English analyzer:
// unicode61 (remove_diacritics 2) lower-cases and splits, the "winnow_stop"
// tokenizer drops Lucene's 33 English stopwords and possessive "'s", and
// FTS5's porter tokenizer stems. Scores are Lucene's BM25
//   sum over query terms t of idf(t) * tf / (tf + k1 * (1 - b + b * dl / avgdl)),
//   idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)),
// computed by the "winnow_bm25" FTS5 auxiliary function; dl and avgdl count
// tokens after stopword removal, like Lucene's norms. A term repeated in the
// query counts once per occurrence, as Anserini's bag-of-words query boosts it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/settings.h"
#include "store/sqlite.h"

namespace winnow::store {

// Registers the winnow_stop tokenizer and the winnow_bm25 function on `db`.
// Every connection must do this before touching an FTS table.
base::Status register_lexical_extensions(Database& db);

// True for Lucene's EnglishAnalyzer stop words ("a", "an", "and", ... "with").
bool is_english_stopword(std::string_view lowercase_word);

std::string fts_table_name(std::int64_t collection_key);

// Creates / drops a collection's FTS table (inside the caller's transaction).
base::Status create_fts_table(Database& db, std::int64_t collection_key, const Bm25Settings& bm25);
base::Status drop_fts_table(Database& db, std::int64_t collection_key);

// Replaces the indexed text of one document; empty text removes its row.
base::Status index_text(Database& db, std::int64_t collection_key, std::int64_t doc_key, std::string_view text);
base::Status remove_text(Database& db, std::int64_t collection_key, std::int64_t doc_key);

// The FTS5 MATCH expression for a user's query: each searchable token, as it
// appears in the query, double-quoted, joined with OR. No user text is ever
// parsed as FTS5 syntax. Empty when the query has no searchable token.
base::Result<std::string> build_match_expression(Database& db, std::string_view query, Stopwords stopwords);

struct LexicalHit {
  std::string document_id;
  double score = 0;
};

// The top_k documents by BM25, best first; ties by document_id ascending.
// A query with no searchable token returns no hits.
base::Result<std::vector<LexicalHit>> lexical_search(Database& db, std::int64_t collection_key,
                                                     const Bm25Settings& bm25, std::string_view query,
                                                     std::size_t top_k);

}  // namespace winnow::store

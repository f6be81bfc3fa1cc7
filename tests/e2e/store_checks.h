// What the crash and full-disk tests check after every restart: the
// acknowledged documents are there, SQLite, the BM25 index and the vector
// index hold the same documents, and SQLite finds its file sound.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/e2e_util.h"

namespace winnow::testing {

// Document i of a test collection: the word "shared" (so a BM25 search for it
// finds every document), a word of its own "tokN", and a pseudo-random 8-d
// vector for the index "vec".
inline nlohmann::json checked_document(std::int64_t i, std::size_t text_words = 4) {
  std::vector<float> v(8);
  std::uint64_t x = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(i + 1);
  for (float& f : v) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 29;
    f = static_cast<float>(static_cast<double>(x % 20001) / 10000.0 - 1.0) + 0.001f;
  }
  std::string text = "shared tok" + std::to_string(i);
  for (std::size_t w = 0; w < text_words; ++w) text += " filler" + std::to_string((i * 7 + static_cast<std::int64_t>(w)) % 101);
  return {{"id", "doc" + std::to_string(i)}, {"text", text}, {"vectors", {{"vec", v}}}};
}

// Documents [from, to) as NDJSON.
inline std::string checked_ndjson(std::int64_t from, std::int64_t to, std::size_t text_words = 4) {
  std::string out;
  for (std::int64_t i = from; i < to; ++i) out += checked_document(i, text_words).dump() + "\n";
  return out;
}

// The body of POST /v1/collections for a collection of checked documents.
inline nlohmann::json checked_collection(const std::string& id) {
  return {{"collection_id", id}, {"vector_indexes", {{{"name", "vec"}, {"dimensions", 8}}}}};
}

// Every document id of the collection, paging through GET .../documents.
inline std::set<std::string> all_document_ids(httplib::Client& c, const std::string& collection) {
  std::set<std::string> ids;
  std::string after;
  while (true) {
    auto page = http_get(c, "/v1/collections/" + collection + "/documents?limit=1000" +
                                (after.empty() ? "" : "&after=" + after));
    EXPECT_EQ(page.status, 200) << page.raw;
    if (page.status != 200) return ids;
    for (const auto& d : page.body["documents"]) ids.insert(d["document_id"].get<std::string>());
    if (page.body["next_after"].is_null()) return ids;
    after = page.body["next_after"].get<std::string>();
  }
}

struct IndexCounts {
  long stored = -1;  // SQLite: the collection's document_count
  long bm25 = -1;    // documents a BM25 search for "shared" finds
  long dense = -1;   // documents the vector index returns for a top_k above the count
};

// A search stage returns at most 10,000 documents (the server's max top_k):
// the tests keep their collections below that.
inline constexpr long kMaxCheckedDocuments = 10000;

inline IndexCounts index_counts(httplib::Client& c, const std::string& collection) {
  IndexCounts out;
  auto info = http_get(c, "/v1/collections/" + collection);
  if (info.status != 200) return out;
  out.stored = info.body["document_count"].get<long>();
  auto text = http_post(c, "/v1/retrievers/execute",
                        nlohmann::json{{"collection_ids", {collection}},
                                       {"stages", {stage("filter", "text_search", {{"query", "shared"}, {"top_k", 10000}})}}});
  if (text.status == 200) out.bm25 = static_cast<long>(text.body["documents"].size());
  auto dense = http_post(
      c, "/v1/retrievers/execute",
      nlohmann::json{{"collection_ids", {collection}},
                     {"stages", {stage("filter", "semantic_search",
                                       {{"query_vector", checked_document(0)["vectors"]["vec"]},
                                        {"vector_index", "vec"},
                                        {"top_k", 10000}})}}});
  if (dense.status == 200) out.dense = static_cast<long>(dense.body["documents"].size());
  return out;
}

// Passes when SQLite, BM25 and the vector index agree on the collection.
inline ::testing::AssertionResult indexes_agree(httplib::Client& c, const std::string& collection) {
  IndexCounts n = index_counts(c, collection);
  if (n.stored >= kMaxCheckedDocuments) {
    return ::testing::AssertionFailure() << "collection '" << collection << "' holds " << n.stored
                                         << " documents, more than a search can count";
  }
  if (n.stored >= 0 && n.stored == n.bm25 && n.stored == n.dense) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "collection '" << collection << "': SQLite holds " << n.stored
                                       << " documents, BM25 finds " << n.bm25 << ", the vector index " << n.dense;
}

// PRAGMA integrity_check on the store's database, read-only beside the
// running server (WAL lets a reader in): "ok", or what SQLite found.
inline std::string sqlite_integrity(const std::filesystem::path& data_dir) {
  sqlite3* db = nullptr;
  const std::string path = (data_dir / "winnow.db").string();
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = path + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
    result = path + ": " + sqlite3_errmsg(db);
  } else {
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_DONE) result += std::string(result.empty() ? "" : "; ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

}  // namespace winnow::testing

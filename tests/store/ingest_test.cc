#include <gtest/gtest.h>

#include <sstream>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using base::StatusCode;
using testing::ids_of;
using testing::TempDir;

TEST(Ingest, BadLinesAreReportedWithLineNumbersAndGoodOnesStored) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("c", {{"vector_indexes", {{{"name", "v"}, {"dimensions", 2}}}}}));
  std::istringstream input(
      R"({"id": "a", "text": "alpha"})"
      "\n"
      "this is not json\n"
      "\n"  // blank lines are skipped but counted
      R"([1, 2, 3])"
      "\n"
      R"({"id": "b", "text": "beta", "year": 1999})"
      "\n"
      R"({"id": "c", "text": "gamma", "vectors": {"v": [1, 2, 3]}})"
      "\r\n"
      R"({"id": "d", "text": "delta", "vectors": {"v": [1, 2]}})"
      "\n"
      R"({"id": "e", "text": "epsilon"})");  // no final newline
  std::vector<std::size_t> acknowledged;
  IngestOptions options;
  options.batch_lines = 3;
  options.on_batch_committed = [&](std::size_t lines) { acknowledged.push_back(lines); };
  WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport report, store->ingest("c", input, options));
  EXPECT_EQ(report.lines, 8u);
  EXPECT_EQ(report.documents_stored, 3u);
  EXPECT_EQ(report.bad_lines, 4u);
  ASSERT_EQ(report.errors.size(), 4u);
  EXPECT_EQ(report.errors[0].line, 2u);
  EXPECT_NE(report.errors[0].error.find("invalid JSON"), std::string::npos) << report.errors[0].error;
  EXPECT_EQ(report.errors[1].line, 4u);
  EXPECT_EQ(report.errors[1].error, "expected a JSON object, got an array");
  EXPECT_EQ(report.errors[2].line, 5u);
  EXPECT_NE(report.errors[2].error.find("field 'year' is a number"), std::string::npos);
  EXPECT_EQ(report.errors[3].line, 6u);
  EXPECT_EQ(report.errors[3].error, "document 'c': index 'v': vector has 3 dimensions, expected 2");
  // Batches of 3 non-blank lines: lines 1-4, 5-7, 8.
  EXPECT_EQ(acknowledged, (std::vector<std::size_t>{4, 7, 8}));

  for (const char* id : {"a", "d", "e"}) WINNOW_ASSERT_OK(store->get_document("c", id));
  for (const char* id : {"b", "c"}) EXPECT_EQ(store->get_document("c", id).status().code(), StatusCode::kNotFound);
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store->text_search("c", "alpha delta epsilon beta", 10));
  EXPECT_EQ(hits.size(), 3u);
}

// issue 10: this one line aborted the server (an uncaught number overflow).
TEST(Ingest, HostileLinesAreTheirOwnErrorsAndIngestGoesOn) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("c", nullptr));
  std::istringstream input(std::string(R"({"id":"x","text":"a","metadata":{"n":1e400}})") + "\n" +
                           R"({"id":"y","text":"b","metadata":{"deep":)" + std::string(70000, '[') +
                           std::string(70000, ']') + "}}\n" + R"({"id":"z","text":"c"})" + "\n");
  WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport report, store->ingest("c", input, IngestOptions{}));
  EXPECT_EQ(report.documents_stored, 1u);
  ASSERT_EQ(report.errors.size(), 2u);
  EXPECT_EQ(report.errors[0].line, 1u);
  EXPECT_NE(report.errors[0].error.find("field metadata.n: number overflow"), std::string::npos)
      << report.errors[0].error;
  EXPECT_EQ(report.errors[1].line, 2u);
  EXPECT_NE(report.errors[1].error.find("nested deeper than 512 levels"), std::string::npos)
      << report.errors[1].error;
  WINNOW_ASSERT_OK(store->get_document("c", "z"));
}

TEST(Ingest, UnknownCollectionIsNotFound) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  std::istringstream input(R"({"text": "x"})");
  auto report = store->ingest("nope", input);
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(), "collection 'nope' not found");
}

TEST(Ingest, ModelIndexesUseTheEmbedFunctionOrRequireClientVectors) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection(
      "c", {{"vector_indexes", {{{"name", "emb"}, {"model", "tiny"}, {"field", "text"}}}}}));
  std::string lines =
      R"({"id": "a", "text": "first"})"
      "\n"
      R"({"id": "b", "text": "second", "vectors": {"emb": [0, 0, 1]}})"
      "\n"
      R"({"id": "c", "title": "no text field: not in the index"})"
      "\n";

  // Without an embedding function only client vectors are accepted.
  std::istringstream without(lines);
  WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport plain, store->ingest("c", without));
  ASSERT_EQ(plain.errors.size(), 1u);
  EXPECT_EQ(plain.errors[0].line, 1u);
  EXPECT_NE(plain.errors[0].error.find("document 'a': index 'emb' needs a vector: send vectors.emb, or ingest "
                                       "with the embedding model 'tiny' for field 'text'"),
            std::string::npos)
      << plain.errors[0].error;
  EXPECT_EQ(plain.documents_stored, 2u);

  // With one, the store asks it for the texts of documents without vectors.
  std::vector<std::string> asked;
  IngestOptions options;
  options.embed = [&](const std::string& index, std::span<const std::string> texts)
      -> base::Result<std::vector<std::vector<float>>> {
    EXPECT_EQ(index, "emb");
    std::vector<std::vector<float>> out;
    for (const auto& text : texts) {
      asked.push_back(text);
      out.push_back({1, 0, 0});
    }
    return out;
  };
  std::istringstream with(lines);
  WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport embedded, store->ingest("c", with, options));
  EXPECT_TRUE(embedded.errors.empty());
  EXPECT_EQ(asked, std::vector<std::string>{"first"});
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store->vector_search("c", "emb", std::vector<float>{1, 0, 0}, 10));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document_id, "a");
  EXPECT_EQ(hits[1].document_id, "b");

  // A failing model stops the ingest with its error; earlier batches stay.
  options.embed = [](const std::string&, std::span<const std::string>) -> base::Result<std::vector<std::vector<float>>> {
    return base::unavailable("model not loaded");
  };
  options.batch_lines = 1;
  std::istringstream failing(R"({"id": "z", "text": "t", "vectors": {"emb": [1, 1, 0]}})"
                             "\n"
                             R"({"id": "y", "text": "needs the model"})");
  auto stopped = store->ingest("c", failing, options);
  EXPECT_EQ(stopped.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(stopped.status().message().find("ingest stopped at line 2 (1 document of lines 1 to 1 is stored; nothing from line 2 on)"),
            std::string::npos)
      << stopped.status().message();
  EXPECT_NE(stopped.status().message().find("model not loaded"), std::string::npos);
  WINNOW_ASSERT_OK(store->get_document("c", "z"));
}

TEST(Ingest, LaterLinesReplaceEarlierOnesWithTheSameId) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection("c", nullptr));
  std::istringstream input(R"({"id": "a", "text": "old words"})"
                           "\n"
                           R"({"id": "a", "text": "new text"})");
  WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport report, store->ingest("c", input));
  EXPECT_EQ(report.documents_stored, 2u);
  WINNOW_ASSERT_OK_AND_ASSIGN(auto old_hits, store->text_search("c", "old", 10));
  EXPECT_TRUE(old_hits.empty());
  WINNOW_ASSERT_OK_AND_ASSIGN(auto new_hits, store->text_search("c", "new", 10));
  EXPECT_EQ(ids_of(new_hits), std::vector<std::string>{"a"});
}

// Found by the ndjson_ingest fuzzer: once a connection had cached over 512
// statements (table names carry collection keys, so every collection adds
// its own), the cache dropped idle statements while a document write still
// held one that SQLite did not count as busy (bound, or stepped to its end),
// and the write then used the freed statement. Run under ASan in CI.
TEST(Ingest, ManyCollectionsOverTimeKeepTheStatementsAWriteHolds) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  const nlohmann::json settings = {{"text_fields", {"title", "text"}},
                                   {"vector_indexes", {{{"name", "v"}, {"dimensions", 3}}}}};
  for (int round = 0; round < 120; ++round) {
    WINNOW_ASSERT_OK(store->create_collection("c", settings));
    std::istringstream input(R"({"id": "a", "title": "t", "text": "alpha", "vectors": {"v": [1, 2, 3]}})"
                             "\n"
                             R"({"id": "c", "text": "gamma", "metadata": {"year": 1999}})"
                             "\n"
                             R"({"id": "b", "text": "beta"})");
    WINNOW_ASSERT_OK_AND_ASSIGN(IngestReport report, store->ingest("c", input));
    ASSERT_EQ(report.documents_stored, 3u) << "round " << round << ": " << (report.errors.empty() ? std::string() : report.errors.front().error);
    WINNOW_ASSERT_OK(store->delete_collection("c"));
  }
}

}  // namespace
}  // namespace winnow::store

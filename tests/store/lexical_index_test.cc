#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "store/store.h"
#include "test_util.h"

namespace winnow::store {
namespace {

using testing::ids_of;
using testing::TempDir;

double score_of(const std::vector<ScoredDocument>& hits, const std::string& id) {
  for (const auto& hit : hits) {
    if (hit.document_id == id) return hit.score;
  }
  return -1;
}

// Three documents small enough to score by hand (k1 = 0.9, b = 0.4). After
// analysis (lower case, stopwords out, Porter):
//   d1 "Cats chase mice."         -> cat chase mice        dl 3
//   d2 "The cat sleeps"           -> cat sleep             dl 2
//   d3 "Dogs chase cats and cats" -> dog chase cat cat     dl 4
// N = 3, avgdl = 9 / 3 = 3.
class LuceneBm25ByHand : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(dir_.path());
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();
    store_ = std::move(opened).value();
    WINNOW_ASSERT_OK(store_->create_collection("c", nullptr));
    std::istringstream input(R"({"id": "d1", "text": "Cats chase mice."})"
                             "\n"
                             R"({"id": "d2", "text": "The cat sleeps"})"
                             "\n"
                             R"({"id": "d3", "title": "Dogs chase cats", "text": "and cats"})");
    WINNOW_ASSERT_OK(store_->ingest("c", input));
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(LuceneBm25ByHand, SingleTerm) {
  const double k1 = 0.9, b = 0.4, avgdl = 3.0;
  const double idf_cat = std::log(1 + (3 - 3 + 0.5) / (3 + 0.5));  // df 3
  auto bm25 = [&](double tf, double dl) { return tf / (tf + k1 * (1 - b + b * dl / avgdl)); };
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store_->text_search("c", "cat", 10));
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_NEAR(score_of(hits, "d1"), idf_cat * bm25(1, 3), 1e-5);
  EXPECT_NEAR(score_of(hits, "d2"), idf_cat * bm25(1, 2), 1e-5);
  EXPECT_NEAR(score_of(hits, "d3"), idf_cat * bm25(2, 4), 1e-5);
  EXPECT_EQ(ids_of(hits), (std::vector<std::string>{"d3", "d2", "d1"}));
}

TEST_F(LuceneBm25ByHand, SeveralTermsStemmingAndStopwords) {
  const double k1 = 0.9, b = 0.4, avgdl = 3.0;
  const double idf_chase = std::log(1 + (3 - 2 + 0.5) / (2 + 0.5));  // df 2
  const double idf_mice = std::log(1 + (3 - 1 + 0.5) / (1 + 0.5));   // df 1
  auto bm25 = [&](double tf, double dl) { return tf / (tf + k1 * (1 - b + b * dl / avgdl)); };
  // "the", "and" are stopwords; "chased" stems to "chase".
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store_->text_search("c", "The mice and chased", 10));
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].document_id, "d1");
  EXPECT_NEAR(hits[0].score, idf_chase * bm25(1, 3) + idf_mice * bm25(1, 3), 1e-5);
  EXPECT_EQ(hits[1].document_id, "d3");
  EXPECT_NEAR(hits[1].score, idf_chase * bm25(1, 4), 1e-5);
  // A repeated query word counts twice, as Anserini's query boosts it.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto twice, store_->text_search("c", "mice mice", 10));
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_NEAR(twice[0].score, 2 * idf_mice * bm25(1, 3), 1e-5);
}

TEST_F(LuceneBm25ByHand, QueriesAreNeverParsedAsFts5Syntax) {
  for (const char* query : {"cat\" OR NEAR(dog", "cat*", "body:cat", "(cat", "cat AND -dog", "^cat", "\"\"\"",
                            "c\xC3\xA1t", "cat's"}) {
    auto hits = store_->text_search("c", query, 10);
    EXPECT_TRUE(hits.ok()) << query << ": " << hits.status().to_string();
  }
  WINNOW_ASSERT_OK_AND_ASSIGN(auto accented, store_->text_search("c", "C\xC3\x81TS", 10));  // "CÁTS"
  EXPECT_EQ(accented.size(), 3u);
}

TEST_F(LuceneBm25ByHand, NoSearchableWordsMeansNoHits) {
  for (const char* query : {"", "   ", "the and of", "!!! ???"}) {
    WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store_->text_search("c", query, 10));
    EXPECT_TRUE(hits.empty()) << query;
  }
  WINNOW_ASSERT_OK_AND_ASSIGN(auto none, store_->text_search("c", "cat", 0));
  EXPECT_TRUE(none.empty());
}

TEST_F(LuceneBm25ByHand, TiesAreOrderedByDocumentId) {
  WINNOW_ASSERT_OK(store_->create_collection("ties", nullptr));
  std::istringstream input(R"({"id": "z", "text": "same words"})"
                           "\n"
                           R"({"id": "m", "text": "same words"})"
                           "\n"
                           R"({"id": "a", "text": "same words"})");
  WINNOW_ASSERT_OK(store_->ingest("ties", input));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto hits, store_->text_search("ties", "words", 10));
  EXPECT_EQ(ids_of(hits), (std::vector<std::string>{"a", "m", "z"}));
  WINNOW_ASSERT_OK_AND_ASSIGN(auto top, store_->text_search("ties", "words", 2));
  EXPECT_EQ(ids_of(top), (std::vector<std::string>{"a", "m"}));
}

TEST(LexicalSettings, TextFieldsAndParametersFromTheCollection) {
  TempDir dir;
  WINNOW_ASSERT_OK_AND_ASSIGN(auto store, Store::open(dir.path()));
  WINNOW_ASSERT_OK(store->create_collection(
      "c", {{"text_fields", {"title"}}, {"bm25", {{"k1", 1.2}, {"b", 0.75}, {"stopwords", "none"}}}}));
  WINNOW_ASSERT_OK(store->put_document("c", R"({"id": "a", "title": "the heron", "text": "egret"})"));
  WINNOW_ASSERT_OK(store->put_document("c", R"({"id": "b", "title": "egret"})"));
  // Only titles are indexed.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto egret, store->text_search("c", "egret", 10));
  EXPECT_EQ(ids_of(egret), std::vector<std::string>{"b"});
  // Stopwords are kept and searchable; k1 = 1.2, b = 0.75; N = 2, avgdl = 1.5.
  WINNOW_ASSERT_OK_AND_ASSIGN(auto the, store->text_search("c", "the", 10));
  ASSERT_EQ(the.size(), 1u);
  double idf = std::log(1 + (2 - 1 + 0.5) / (1 + 0.5));
  EXPECT_NEAR(the[0].score, idf * 1 / (1 + 1.2 * (1 - 0.75 + 0.75 * 2 / 1.5)), 1e-5);
}

}  // namespace
}  // namespace winnow::store

// Scorer::score_documents: long documents truncated as asked (direction, a
// per-document token limit, or refused) or scored in windows whose scores
// are exactly what scoring each window's text alone gives.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "inference/scorer.h"
#include "model/test_util.h"
#include "text/windows.h"

namespace winnow::inference {
namespace {

using model::testing::golden_path;
using model::testing::model_dir;
using model::testing::read_jsonl;

std::unique_ptr<Scorer> load(const std::string& name) {
  auto scorer = Scorer::load(model_dir(name), ScorerOptions{});
  EXPECT_TRUE(scorer.ok()) << scorer.status().to_string();
  return scorer.ok() ? std::move(*scorer) : nullptr;
}

// The golden pairs' distinct documents and their first query.
struct Pool {
  std::string query;
  std::vector<std::string> documents;
};

Pool golden_pool(const std::string& model) {
  Pool pool;
  for (const auto& r : read_jsonl(golden_path(model + ".jsonl"))) {
    if (pool.query.empty()) pool.query = r["query"].get<std::string>();
    const std::string doc = r["document"].get<std::string>();
    if (std::find(pool.documents.begin(), pool.documents.end(), doc) == pool.documents.end()) {
      pool.documents.push_back(doc);
    }
  }
  return pool;
}

std::string repeat(const std::string& piece, std::size_t n) {
  std::string text;
  for (std::size_t i = 0; i < n; ++i) text += (i ? " " : "") + piece;
  return text;
}

float alone(const Scorer& scorer, const std::string& query, std::string_view text) {
  const std::vector<std::string> one{std::string(text)};
  auto scores = scorer.score(query, one);
  EXPECT_TRUE(scores.ok()) << scores.status().to_string();
  return scores.ok() ? (*scores)[0].logit : NAN;
}

TEST(ScorerDocuments, WithoutChunkingTheyAreTheScorersPairs) {
  for (const char* name : {"bert-ce-tiny", "xlmr-ce-tiny"}) {
    auto scorer = load(name);
    ASSERT_TRUE(scorer);
    Pool pool = golden_pool(name);
    pool.documents.push_back(repeat("long text", 400));
    auto pairs = scorer->score(pool.query, pool.documents);
    ASSERT_TRUE(pairs.ok());
    auto documents = scorer->score_documents(pool.query, pool.documents, DocumentOptions{});
    ASSERT_EQ(documents.size(), pool.documents.size());
    for (std::size_t i = 0; i < documents.size(); ++i) {
      ASSERT_TRUE(documents[i].ok()) << documents[i].status().to_string();
      EXPECT_EQ(documents[i]->logit, (*pairs)[i].logit) << name << " document " << i;
      EXPECT_EQ(documents[i]->tokens, (*pairs)[i].tokens);
      EXPECT_EQ(documents[i]->truncated, (*pairs)[i].truncated);
      EXPECT_EQ(documents[i]->chunks, 1u);
    }
    EXPECT_TRUE(documents.back()->truncated);
  }
}

// Chunked: each document's logit is the max (or mean of the top k) of its
// windows' logits, each window scored alone as a document of its own.
TEST(ScorerDocuments, ChunkedScoreIsTheAggregateOfTheWindowsScoredAlone) {
  for (const char* name : {"bert-ce-tiny", "xlmr-ce-tiny"}) {
    auto scorer = load(name);
    ASSERT_TRUE(scorer);
    const Pool pool = golden_pool(name);
    std::vector<std::string> documents;
    for (std::size_t i = 0; i < 6; ++i) {
      std::string doc;
      for (std::size_t j = 0; j < 8; ++j) doc += (j ? " " : "") + pool.documents[(i * 5 + j) % pool.documents.size()];
      documents.push_back(doc);
    }
    documents.push_back(pool.documents[0]);  // short: one window
    for (ChunkAggregate aggregate : {ChunkAggregate::kMax, ChunkAggregate::kMeanTopK}) {
      DocumentOptions options;
      options.chunking = ChunkOptions{.max_tokens = 48, .overlap = 8, .max_chunks = 6, .aggregate = aggregate, .top_k = 2};
      auto scores = scorer->score_documents(pool.query, documents, options);
      ASSERT_EQ(scores.size(), documents.size());
      for (std::size_t i = 0; i < documents.size(); ++i) {
        ASSERT_TRUE(scores[i].ok()) << scores[i].status().to_string();
        auto plan = text::plan_windows(scorer->tokenizer(), documents[i],
                                       {.max_tokens = 48, .overlap = 8, .max_windows = 6});
        ASSERT_TRUE(plan.ok());
        std::vector<float> logits;
        for (const text::TextWindow& w : plan->windows) {
          logits.push_back(alone(*scorer, pool.query, std::string_view(documents[i]).substr(w.begin, w.end - w.begin)));
        }
        ASSERT_EQ(scores[i]->chunks, logits.size());
        const std::size_t best = std::max_element(logits.begin(), logits.end()) - logits.begin();
        float expected = logits[best];
        if (aggregate == ChunkAggregate::kMeanTopK && logits.size() > 1) {
          std::vector<float> sorted = logits;
          std::sort(sorted.begin(), sorted.end(), std::greater<float>());
          expected = (sorted[0] + sorted[1]) / 2;
        }
        EXPECT_NEAR(scores[i]->logit, expected, 1e-5) << name << " document " << i;
        EXPECT_EQ(scores[i]->best_chunk, best);
        EXPECT_EQ(scores[i]->chunk_begin, plan->windows[best].begin);
        EXPECT_EQ(scores[i]->chunk_end, plan->windows[best].end);
        EXPECT_EQ(scores[i]->truncated, plan->cut);
        if (i + 1 < documents.size()) {
          EXPECT_GT(scores[i]->chunks, 1u) << "document " << i << " should be long";
        }
      }
      EXPECT_EQ(scores.back()->chunks, 1u);
      EXPECT_EQ(scores.back()->logit, alone(*scorer, pool.query, documents.back()));
    }
  }
}

// A document whose relevant passage is at its end, past the model's window:
// truncation scores only the filler before it, chunking finds the passage.
TEST(ScorerDocuments, RelevantEndRanksFirstOnlyWithChunking) {
  auto scorer = load("bert-ce-tiny");
  ASSERT_TRUE(scorer);
  Pool pool = golden_pool("bert-ce-tiny");
  // Passages that fit one window of 128 tokens.
  std::erase_if(pool.documents, [&](const std::string& d) { return scorer->tokenizer().tokenize(d)->size() > 120; });
  ASSERT_GT(pool.documents.size(), 5u);
  std::vector<float> logits;
  for (const std::string& d : pool.documents) logits.push_back(alone(*scorer, pool.query, d));
  const std::size_t best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  ASSERT_LE(scorer->tokenizer().tokenize(pool.documents[best])->size(), 128u);
  // "the" is one token: 640 of them fill exactly five windows of 128 and
  // more than bert-ce-tiny's 512.
  const std::string filler = repeat("the", 640);
  const std::string long_document = filler + " " + pool.documents[best];
  const float filler_window = alone(*scorer, pool.query, repeat("the", 128));
  const float truncated = alone(*scorer, pool.query, long_document);
  const float floor = std::max(filler_window, truncated);
  // A competitor between what truncation sees and the passage's own score.
  std::size_t competitor = pool.documents.size();
  for (std::size_t i = 0; i < pool.documents.size(); ++i) {
    if (logits[i] > floor && logits[i] < logits[best] && pool.documents[i] != pool.documents[best]) competitor = i;
  }
  ASSERT_LT(competitor, pool.documents.size()) << "no document scores between " << floor << " and " << logits[best];
  const std::vector<std::string> documents{pool.documents[competitor], long_document};

  auto truncated_scores = scorer->score_documents(pool.query, documents, DocumentOptions{});
  ASSERT_TRUE(truncated_scores[1].ok());
  EXPECT_TRUE(truncated_scores[1]->truncated);
  EXPECT_LT(truncated_scores[1]->logit, truncated_scores[0]->logit) << "truncated, the long document ranks second";

  DocumentOptions chunked;
  chunked.chunking = ChunkOptions{.max_tokens = 128, .overlap = 0, .max_chunks = 10};
  auto chunked_scores = scorer->score_documents(pool.query, documents, chunked);
  ASSERT_TRUE(chunked_scores[1].ok()) << chunked_scores[1].status().to_string();
  EXPECT_FALSE(chunked_scores[1]->truncated);
  EXPECT_EQ(chunked_scores[1]->chunks, 6u);
  EXPECT_EQ(chunked_scores[1]->best_chunk, 5u);
  EXPECT_GT(chunked_scores[1]->logit, chunked_scores[0]->logit) << "chunked, the long document ranks first";
  EXPECT_NEAR(chunked_scores[1]->logit, logits[best], 1e-5);
  EXPECT_EQ(long_document.substr(chunked_scores[1]->chunk_begin,
                                 chunked_scores[1]->chunk_end - chunked_scores[1]->chunk_begin),
            pool.documents[best]);
  EXPECT_EQ(chunked_scores[1]->chunk_begin_char, text::code_point_offset(long_document, filler.size() + 1));
}

TEST(ScorerDocuments, TruncationDirectionAndDocumentTokenLimit) {
  auto scorer = load("bert-ce-tiny");
  ASSERT_TRUE(scorer);
  const std::string query = "where is the cat";
  // One token a word in bert-uncased.
  const std::vector<std::string> documents{"the cat sat on the mat and then the dog ran home"};
  DocumentOptions options;
  options.max_document_tokens = 4;
  auto right = scorer->score_documents(query, documents, options);
  ASSERT_TRUE(right[0].ok());
  EXPECT_TRUE(right[0]->truncated);
  EXPECT_EQ(right[0]->tokens, 4u + 4u + 3u);  // query, document, [CLS] [SEP] [SEP]
  EXPECT_EQ(right[0]->logit, alone(*scorer, query, "the cat sat on"));

  options.direction = TruncationDirection::kLeft;
  auto left = scorer->score_documents(query, documents, options);
  ASSERT_TRUE(left[0].ok());
  EXPECT_TRUE(left[0]->truncated);
  EXPECT_EQ(left[0]->logit, alone(*scorer, query, "the dog ran home"));

  // Left truncation to max_length keeps the document's end.
  DocumentOptions whole;
  whole.direction = TruncationDirection::kLeft;
  const std::vector<std::string> long_documents{repeat("the", 600) + " cat sat"};
  auto kept_end = scorer->score_documents(query, long_documents, whole);
  ASSERT_TRUE(kept_end[0].ok());
  EXPECT_TRUE(kept_end[0]->truncated);
  EXPECT_EQ(kept_end[0]->tokens, scorer->max_length());
  EXPECT_EQ(kept_end[0]->logit, alone(*scorer, query, repeat("the", scorer->max_length() - 3 - 4 - 2) + " cat sat"));

  // A limit the document fits in cuts nothing.
  DocumentOptions roomy;
  roomy.max_document_tokens = 100;
  auto fits = scorer->score_documents(query, documents, roomy);
  ASSERT_TRUE(fits[0].ok());
  EXPECT_FALSE(fits[0]->truncated);
  EXPECT_EQ(fits[0]->logit, alone(*scorer, query, documents[0]));
}

TEST(ScorerDocuments, TruncationOffRefusesTooLongPairsOnly) {
  auto scorer = load("bert-ce-tiny");
  ASSERT_TRUE(scorer);
  DocumentOptions options;
  options.truncate = false;
  const std::vector<std::string> documents{"short and fine", repeat("the", 600)};
  auto scores = scorer->score_documents("query", documents, options);
  ASSERT_TRUE(scores[0].ok());
  EXPECT_FALSE(scores[0]->truncated);
  ASSERT_FALSE(scores[1].ok());
  EXPECT_EQ(scores[1].status().code(), base::StatusCode::kOutOfRange);
  EXPECT_NE(scores[1].status().message().find("604 tokens"), std::string::npos) << scores[1].status().to_string();
  EXPECT_NE(scores[1].status().message().find("max_length 512"), std::string::npos);
}

TEST(ScorerDocuments, BadChunkingIsNamed) {
  auto scorer = load("bert-ce-tiny");
  ASSERT_TRUE(scorer);
  const std::vector<std::string> documents{"text"};
  DocumentOptions overlap;
  overlap.chunking = ChunkOptions{.max_tokens = 16, .overlap = 16};
  auto a = scorer->score_documents("q", documents, overlap);
  ASSERT_FALSE(a[0].ok());
  EXPECT_NE(a[0].status().message().find("overlap"), std::string::npos);
  DocumentOptions none;
  none.chunking = ChunkOptions{.max_tokens = 16, .max_chunks = 0};
  auto b = scorer->score_documents("q", documents, none);
  ASSERT_FALSE(b[0].ok());
  EXPECT_NE(b[0].status().message().find("max_chunks"), std::string::npos);
}

}  // namespace
}  // namespace winnow::inference

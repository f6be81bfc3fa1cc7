// A decoder reranker (Qwen3-Reranker) through the Scorer: the model card's
// prompt built from (instruction, query, document) with the ids of the
// goldens, scores equal to transformers', the instruction per model and per
// call, shared-prefix reuse through the engine's batches, and what is refused.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "inference/scorer.h"
#include "model/test_util.h"

namespace winnow::inference {
namespace {

using model::testing::golden_path;
using model::testing::model_dir;
using model::testing::read_jsonl;
using model::testing::TempDir;
using model::testing::write_text;

constexpr const char* kModel = "qwen3-reranker-tiny";

std::unique_ptr<Scorer> load(ScorerOptions options = {}) {
  auto scorer = Scorer::load(model_dir(kModel), options);
  EXPECT_TRUE(scorer.ok()) << scorer.status().to_string();
  return scorer.ok() ? std::move(*scorer) : nullptr;
}

// Every golden record through score_documents, one call per (instruction,
// query, max_length): the tokens scored are the golden prompt's, the logit
// is logit_yes − logit_no within 1e-4.
TEST(DecoderScorerTest, GoldenPromptsAndScoresPerCall) {
  std::map<std::size_t, std::unique_ptr<Scorer>> scorers;
  for (std::size_t max_length : {std::size_t{128}, std::size_t{8192}}) {  // the goldens' two
    ScorerOptions options;
    if (max_length != 8192) options.max_length = max_length;  // 8192: the default for decoder rerankers
    scorers[max_length] = load(options);
    ASSERT_NE(scorers[max_length], nullptr);
    EXPECT_EQ(scorers[max_length]->max_length(), max_length);
    EXPECT_TRUE(scorers[max_length]->takes_instruction());
  }
  struct Call {
    std::vector<std::string> documents;
    std::vector<nlohmann::json> records;
  };
  std::map<std::tuple<std::size_t, std::string, std::string>, Call> calls;
  for (const auto& r : read_jsonl(golden_path(std::string(kModel) + ".jsonl"))) {
    Call& call = calls[{r["max_length"].get<std::size_t>(), r["instruction"].get<std::string>(),
                        r["query"].get<std::string>()}];
    call.documents.push_back(r["document"].get<std::string>());
    call.records.push_back(r);
  }
  double worst = 0;
  std::size_t checked = 0;
  for (const auto& [key, call] : calls) {
    const auto& [max_length, instruction, query] = key;
    DocumentOptions options;
    options.instruction = instruction;
    auto results = scorers[max_length]->score_documents(query, call.documents, options);
    ASSERT_EQ(results.size(), call.documents.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      ASSERT_TRUE(results[i].ok()) << results[i].status().to_string();
      const auto& r = call.records[i];
      EXPECT_EQ(results[i]->tokens, r["input_ids"].size()) << r["id"];
      const double golden = r["logit_yes"].get<double>() - r["logit_no"].get<double>();
      worst = std::max(worst, std::abs(results[i]->logit - golden));
      EXPECT_NEAR(relevance_score(results[i]->logit), r["score"].get<double>(), 1e-5) << r["id"];
      ++checked;
    }
  }
  std::cout << "decoder scorer: " << checked << " documents, max |logit diff| " << worst << "\n";
  EXPECT_EQ(checked, 114u);
  EXPECT_LE(worst, 1e-4);
}

// The same documents with prefix reuse on and off, concurrently from several
// callers so that batches mix calls: the logits agree within 1e-5.
TEST(DecoderScorerTest, PrefixReuseThroughTheEngineEqualsNoReuse) {
  ScorerOptions off;
  off.prefix_reuse = false;
  auto with = load();
  auto without = load(off);
  ASSERT_NE(with, nullptr);
  ASSERT_NE(without, nullptr);
  std::vector<std::string> documents;
  std::vector<std::string> queries;
  for (const auto& r : read_jsonl(golden_path(std::string(kModel) + ".jsonl"))) {
    if (r["input_ids"].size() > 400 || documents.size() == 24) continue;
    documents.push_back(r["document"].get<std::string>());
    if (std::find(queries.begin(), queries.end(), r["query"].get<std::string>()) == queries.end()) {
      queries.push_back(r["query"].get<std::string>());
    }
  }
  queries.resize(3);
  std::vector<std::vector<base::Result<DocumentScore>>> a(queries.size()), b(queries.size());
  std::vector<std::thread> threads;
  for (std::size_t q = 0; q < queries.size(); ++q) {
    threads.emplace_back([&, q] { a[q] = with->score_documents(queries[q], documents, {}); });
  }
  for (auto& t : threads) t.join();
  for (std::size_t q = 0; q < queries.size(); ++q) b[q] = without->score_documents(queries[q], documents, {});
  double worst = 0;
  for (std::size_t q = 0; q < queries.size(); ++q) {
    for (std::size_t i = 0; i < documents.size(); ++i) {
      ASSERT_TRUE(a[q][i].ok() && b[q][i].ok());
      worst = std::max(worst, static_cast<double>(std::abs(a[q][i]->logit - b[q][i]->logit)));
      EXPECT_EQ(a[q][i]->tokens, b[q][i]->tokens);
    }
  }
  std::cout << "prefix reuse through the engine: max |diff| " << worst << "\n";
  EXPECT_LE(worst, 1e-5);
}

TEST(DecoderScorerTest, InstructionPerModelAndPerCall) {
  const std::string query = "how do I change file permissions";
  const std::vector<std::string> documents{"Use chmod to change a file's mode bits.", "Bread needs flour."};
  ScorerOptions custom;
  custom.instruction = "Given a question in any language, judge whether the passage answers it";
  auto card = load();
  auto model_default = load(custom);
  ASSERT_NE(card, nullptr);
  ASSERT_NE(model_default, nullptr);
  DocumentOptions per_call;
  per_call.instruction = *custom.instruction;
  auto by_model = model_default->score_documents(query, documents, {});
  auto by_call = card->score_documents(query, documents, per_call);
  auto plain = card->score_documents(query, documents, {});
  for (std::size_t i = 0; i < documents.size(); ++i) {
    ASSERT_TRUE(by_model[i].ok() && by_call[i].ok() && plain[i].ok());
    EXPECT_EQ(by_model[i]->logit, by_call[i]->logit);
    EXPECT_NE(by_call[i]->logit, plain[i]->logit);  // the instruction is in the prompt
  }
}

TEST(DecoderScorerTest, LongDocumentsTruncatedRefusedOrChunked) {
  auto scorer = load([] {
    ScorerOptions o;
    o.max_length = 160;
    return o;
  }());
  ASSERT_NE(scorer, nullptr);
  std::string long_document;
  for (int i = 0; i < 120; ++i) long_document += "the daemon drops privileges when possible ";
  const std::vector<std::string> documents{long_document, "short"};
  auto cut = scorer->score_documents("what does the daemon do", documents, {});
  ASSERT_TRUE(cut[0].ok()) << cut[0].status().to_string();
  EXPECT_TRUE(cut[0]->truncated);
  EXPECT_EQ(cut[0]->tokens, 160u);
  EXPECT_FALSE(cut[1]->truncated);
  DocumentOptions refuse;
  refuse.truncate = false;
  auto refused = scorer->score_documents("what does the daemon do", documents, refuse);
  ASSERT_FALSE(refused[0].ok());
  EXPECT_EQ(refused[0].status().code(), base::StatusCode::kOutOfRange);
  EXPECT_TRUE(refused[1].ok());
  DocumentOptions chunked;
  chunked.chunking = ChunkOptions{};
  auto windows = scorer->score_documents("what does the daemon do", documents, chunked);
  ASSERT_TRUE(windows[0].ok()) << windows[0].status().to_string();
  EXPECT_GT(windows[0]->chunks, 1u);
  DocumentOptions limited;
  limited.max_document_tokens = 10;
  auto few = scorer->score_documents("what does the daemon do", documents, limited);
  ASSERT_TRUE(few[0].ok());
  EXPECT_TRUE(few[0]->truncated);
  EXPECT_LE(few[0]->tokens, cut[1]->tokens + 10);  // "short" is a token or two
}

TEST(DecoderScorerTest, RefusesWhatCannotBeScored) {
  {
    // The prompt template alone does not fit max_length.
    ScorerOptions tiny;
    tiny.max_length = 60;
    auto scorer = Scorer::load(model_dir(kModel), tiny);
    ASSERT_FALSE(scorer.ok());
    EXPECT_NE(scorer.status().message().find("max_length 60"), std::string::npos) << scorer.status().to_string();
    EXPECT_NE(scorer.status().message().find("prompt template"), std::string::npos) << scorer.status().to_string();
  }
  {
    // A query that leaves no room for windows in max_length: every document
    // is refused, naming it.
    ScorerOptions small;
    small.max_length = 140;
    auto scorer = load(small);
    ASSERT_NE(scorer, nullptr);
    std::string query;
    for (int i = 0; i < 40; ++i) query += "permissions ";
    DocumentOptions chunked;
    chunked.chunking = ChunkOptions{};
    auto results = scorer->score_documents(query, std::vector<std::string>{"a", "b"}, chunked);
    ASSERT_FALSE(results[0].ok());
    EXPECT_NE(results[0].status().message().find("max_length 140"), std::string::npos);
  }
  {
    // An encoder cross-encoder takes no instruction: per model and per call.
    ScorerOptions with;
    with.instruction = "judge";
    auto refused = Scorer::load(model_dir("bert-ce-tiny"), with);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("instruction"), std::string::npos);
    auto bert = Scorer::load(model_dir("bert-ce-tiny"), {});
    ASSERT_TRUE(bert.ok());
    EXPECT_FALSE((*bert)->takes_instruction());
    DocumentOptions per_call;
    per_call.instruction = "judge";
    auto results = (*bert)->score_documents("q", std::vector<std::string>{"d"}, per_call);
    ASSERT_FALSE(results[0].ok());
    EXPECT_EQ(results[0].status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(results[0].status().message().find("instruction"), std::string::npos);
  }
  {
    // A Qwen3 checkpoint whose tokenizer has no "yes" token.
    TempDir dir("qwen3_no_yes");
    for (const auto& entry : std::filesystem::directory_iterator(model_dir(kModel))) {
      std::filesystem::copy_file(entry.path(), dir.path() / entry.path().filename());
    }
    nlohmann::json tokenizer = nlohmann::json::parse(std::ifstream(dir.path() / "tokenizer.json"));
    auto& vocab = tokenizer["model"]["vocab"];
    vocab["yes_renamed"] = vocab["yes"];
    vocab.erase("yes");
    auto& merges = tokenizer["model"]["merges"];
    merges.erase(std::remove(merges.begin(), merges.end(), nlohmann::json("y es")), merges.end());
    std::filesystem::permissions(dir.path() / "tokenizer.json", std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::add);
    write_text(dir.path() / "tokenizer.json", tokenizer.dump());
    auto scorer = Scorer::load(dir.path(), {});
    ASSERT_FALSE(scorer.ok());
    EXPECT_NE(scorer.status().message().find("tokenizer.json"), std::string::npos) << scorer.status().to_string();
    EXPECT_NE(scorer.status().message().find("\"yes\""), std::string::npos) << scorer.status().to_string();
  }
}

}  // namespace
}  // namespace winnow::inference

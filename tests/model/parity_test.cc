// Golden parity: logits of the tiny BERT / XLM-R / ModernBERT cross-encoders against
// transformers 4.40.2 (ModernBERT: 4.51.3; tests/data/models/README.md), alone, in the golden
// batch compositions, and all pairs in one packed batch.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "model/cross_encoder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using testing::golden_path;
using testing::int_vector;
using testing::model_dir;
using testing::read_jsonl;

constexpr double kTolerance = 1e-4;

struct Fixture {
  std::unique_ptr<CrossEncoder> model;
  std::vector<nlohmann::json> records;
  std::map<std::string, const nlohmann::json*> by_id;
};

const Fixture& fixture(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[name];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    auto loaded = CrossEncoder::load(model_dir(name));
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    if (loaded.ok()) slot->model = std::move(loaded).value();
    slot->records = read_jsonl(golden_path(name + ".jsonl"));
    for (const auto& r : slot->records) slot->by_id[r["id"].get<std::string>()] = &r;
  }
  return *slot;
}

void add(TokenBatch& batch, const nlohmann::json& record) {
  batch.add(int_vector(record["input_ids"]), int_vector(record["token_type_ids"]));
}

class ParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    f_ = &fixture(GetParam());
    ASSERT_NE(f_->model, nullptr);
    ASSERT_FALSE(f_->records.empty());
  }
  const Fixture* f_ = nullptr;
};

TEST_P(ParityTest, EveryPairAloneMatchesGolden) {
  double max_diff = 0.0;
  for (const auto& r : f_->records) {
    TokenBatch batch;
    add(batch, r);
    auto logits = f_->model->score(batch);
    ASSERT_TRUE(logits.ok()) << r["id"] << ": " << logits.status().to_string();
    ASSERT_EQ(logits->size(), 1u);
    const double diff = std::abs((*logits)[0] - r["logit"].get<double>());
    max_diff = std::max(max_diff, diff);
    EXPECT_LE(diff, kTolerance) << r["id"] << ": got " << (*logits)[0] << ", golden " << r["logit"];
  }
  std::cout << GetParam() << ": " << f_->records.size() << " pairs alone, max |logit - golden| = " << max_diff
            << "\n";
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

TEST_P(ParityTest, GoldenBatchCompositionsMatch) {
  const auto batches = read_jsonl(golden_path(GetParam() + ".batches.jsonl"));
  ASSERT_FALSE(batches.empty());
  double max_diff = 0.0;
  std::size_t pairs = 0;
  for (const auto& b : batches) {
    TokenBatch batch;
    for (const auto& id : b["ids"]) add(batch, *f_->by_id.at(id.get<std::string>()));
    auto logits = f_->model->score(batch);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    ASSERT_EQ(logits->size(), b["logits"].size());
    for (std::size_t i = 0; i < logits->size(); ++i) {
      const double diff = std::abs((*logits)[i] - b["logits"][i].get<double>());
      max_diff = std::max(max_diff, diff);
      EXPECT_LE(diff, kTolerance) << b["ids"][i];
    }
    pairs += logits->size();
  }
  std::cout << GetParam() << ": " << batches.size() << " batches (" << pairs
            << " pairs), max |logit - golden| = " << max_diff << "\n";
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

TEST_P(ParityTest, AllPairsInOneBatchMatchAndAgreeWithAlone) {
  TokenBatch all;
  for (const auto& r : f_->records) add(all, r);
  auto batched = f_->model->score(all);
  ASSERT_TRUE(batched.ok()) << batched.status().to_string();
  ASSERT_EQ(batched->size(), f_->records.size());
  double max_diff = 0.0, max_vs_alone = 0.0;
  std::size_t bitwise_equal = 0;
  for (std::size_t i = 0; i < f_->records.size(); ++i) {
    const auto& r = f_->records[i];
    const double diff = std::abs((*batched)[i] - r["logit"].get<double>());
    max_diff = std::max(max_diff, diff);
    EXPECT_LE(diff, kTolerance) << r["id"];
    TokenBatch one;
    add(one, r);
    auto alone = f_->model->score(one);
    ASSERT_TRUE(alone.ok());
    max_vs_alone = std::max(max_vs_alone, static_cast<double>(std::abs((*alone)[0] - (*batched)[i])));
    bitwise_equal += (*alone)[0] == (*batched)[i];
  }
  // A pair's logit must not depend on its batch beyond GEMM rounding.
  EXPECT_LE(max_vs_alone, 1e-5);
  std::cout << GetParam() << ": all " << f_->records.size() << " pairs in one batch (" << all.num_tokens()
            << " tokens), max |logit - golden| = " << max_diff << "; vs alone max |diff| = " << max_vs_alone
            << ", bitwise equal " << bitwise_equal << "/" << f_->records.size() << "\n";
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

TEST_P(ParityTest, RankingPerQueryMatchesGolden) {
  // Group the pairs as a reranker sees them: one query, one truncation setting.
  std::map<std::string, std::vector<const nlohmann::json*>> groups;
  for (const auto& r : f_->records) {
    groups[r["query"].get<std::string>() + "\x1f" + std::to_string(r["max_length"].get<int>()) + "\x1f" +
           r["truncation"].get<std::string>()]
        .push_back(&r);
  }
  std::size_t checked = 0;
  for (const auto& [key, group] : groups) {
    if (group.size() < 2) continue;
    TokenBatch batch;
    for (const auto* r : group) add(batch, *r);
    auto logits = f_->model->score(batch);
    ASSERT_TRUE(logits.ok());
    for (std::size_t a = 0; a < group.size(); ++a) {
      for (std::size_t b = 0; b < group.size(); ++b) {
        const double ga = (*group[a])["logit"].get<double>(), gb = (*group[b])["logit"].get<double>();
        if (ga < gb) {
          EXPECT_LT((*logits)[a], (*logits)[b]) << (*group[a])["id"] << " vs " << (*group[b])["id"];
        }
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 10u);
}

INSTANTIATE_TEST_SUITE_P(Goldens, ParityTest, ::testing::Values("bert-ce-tiny", "xlmr-ce-tiny", "xlmr-ce-tiny-long",
                                                                      "modernbert-ce-tiny"),
                         testing::FixtureTestName());

}  // namespace
}  // namespace winnow::model

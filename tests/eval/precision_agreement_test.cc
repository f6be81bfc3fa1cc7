// bf16 and int8 against fp32 on the golden fixtures, measured the way the
// benchmark measures the full-size models (eval/agreement.h), and
// compared with PyTorch's own reduced precision on the same pairs:
//   <model>.reduced_precision.json  PyTorch bf16 autocast / dynamic int8 on 5 pairs
//   <model>.torch_reduced.jsonl     the same modes on every golden pair
//                                   (bench/torch_reduced_precision.py; it
//                                   reproduces the 5 pairs above exactly)
//
// The rule, per fixture and precision ("ours" = |our fp32 − our P|, "theirs"
// = |torch fp32 − torch P|):
//   1. the 5 pairs of reduced_precision.json: each pair's ours ≤ 2 ·
//      max(theirs on that pair, median of theirs), and their mean ours ≤
//      mean theirs. (One pair where PyTorch happens to land close to fp32 is
//      not a bar; a factor 2 beyond its typical error would be a real loss.)
//   2. every golden pair: mean ours ≤ mean theirs and max ours ≤ max theirs;
//   3. rankings of each query's documents (groups of one query, max_length
//      and truncation, as RankingPerQueryMatchesGolden forms them): our
//      top-10 is identical to our fp32's for at least as many queries as
//      PyTorch's is to its own, and our mean Spearman is within 0.02 of
//      PyTorch's or above it (a group has 2–6 documents, so one swap moves a
//      query's Spearman by 0.1–0.5 and the mean over ~72 queries by up to
//      0.007: 0.02 is about three swaps).
// The absolute bar (Spearman ≥ 0.99 per query, top-10 identical for
// ≥ 99% of queries) is printed, not asserted: with 2–6 near-tied documents
// per query neither PyTorch's bf16 nor its int8 meets it on these tiny models.
//
// The modern families (modernbert-ce-tiny, qwen3-reranker-tiny) are held to
// rules 2 and 3 over every golden pair: their torch_reduced.jsonl comes from
// bench/modern_reference.py (bit-identical with transformers' goldens in
// fp32); they have no 5-pair reduced_precision.json, which rule 2 subsumes.
// For the Qwen3 reranker the value compared is Winnow's score, logit("yes")
// − logit("no"), and a query group is also keyed by its instruction.
#include <algorithm>
#include <array>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "eval/agreement.h"
#include "kernels/precision.h"
#include "model/cross_encoder.h"
#include "model/test_util.h"
#include "text/tokenizer.h"

namespace winnow::eval {
namespace {

using base::Precision;
using model::CrossEncoder;
using model::TokenBatch;
using model::testing::golden_path;
using model::testing::int_vector;
using model::testing::model_dir;
using model::testing::read_jsonl;

struct Param {
  std::string model;
  Precision precision;
};

std::unique_ptr<CrossEncoder> load(const std::string& name, Precision precision) {
  model::LoadOptions options;
  options.precisions = {precision};
  if (name.rfind("qwen3", 0) == 0) {
    // A decoder reranker scores with its tokenizer's "no" and "yes" ids, as the Scorer reads them.
    auto tokenizer = text::Tokenizer::load_dir(model_dir(name));
    EXPECT_TRUE(tokenizer.ok()) << tokenizer.status().to_string();
    if (!tokenizer.ok()) return nullptr;
    const auto no = tokenizer->token_to_id("no"), yes = tokenizer->token_to_id("yes");
    EXPECT_TRUE(no && yes);
    if (!no || !yes) return nullptr;
    options.label_token_ids = std::array<std::int32_t, 2>{*no, *yes};
  }
  auto loaded = CrossEncoder::load(model_dir(name), options);
  EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
  return loaded.ok() ? std::move(loaded).value() : nullptr;
}

// Token types of a golden record: the decoder reranker's records have none (all 0).
std::vector<std::int32_t> types_of(const nlohmann::json& pair) {
  return pair.contains("token_type_ids") ? int_vector(pair["token_type_ids"])
                                         : std::vector<std::int32_t>(pair["input_ids"].size(), 0);
}

float score_alone(CrossEncoder& model, const nlohmann::json& pair) {
  TokenBatch batch;
  batch.add(int_vector(pair["input_ids"]), types_of(pair));
  auto logits = model.score(batch);
  EXPECT_TRUE(logits.ok()) << logits.status().to_string();
  return logits.ok() ? (*logits)[0] : 0.0f;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : (v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2);
}

class PrecisionAgreementTest : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    if (auto s = kernels::check_precision_supported(GetParam().precision); !s.ok()) GTEST_SKIP() << s.message();
    fp32_ = load(GetParam().model, Precision::kFp32);
    reduced_ = load(GetParam().model, GetParam().precision);
    ASSERT_NE(fp32_, nullptr);
    ASSERT_NE(reduced_, nullptr);
    EXPECT_EQ(reduced_->info().precision, GetParam().precision);
  }
  std::string mode() const { return std::string(base::precision_name(GetParam().precision)); }

  std::unique_ptr<CrossEncoder> fp32_, reduced_;
};

// Rule 1: the fixtures with a 5-pair reduced_precision.json (BERT, XLM-R).
class FivePairPrecisionAgreementTest : public PrecisionAgreementTest {};

TEST_P(FivePairPrecisionAgreementTest, PairsOfReducedPrecisionFixtureDeviateNoMoreThanPyTorch) {
  const auto fixture = nlohmann::json::parse(std::ifstream(golden_path(GetParam().model + ".reduced_precision.json")));
  const std::string key = mode() == "bf16" ? "bf16_absdiff" : "int8_absdiff";
  std::vector<double> ours, theirs;
  for (const auto& pair : fixture["pairs"]) {
    ours.push_back(std::abs(score_alone(*fp32_, pair) - score_alone(*reduced_, pair)));
    theirs.push_back(pair[key].get<double>());
  }
  ASSERT_FALSE(ours.empty());
  const double typical = median(theirs);
  for (std::size_t i = 0; i < ours.size(); ++i) {
    std::cout << GetParam().model << " " << mode() << " " << fixture["pairs"][i]["id"].get<std::string>()
              << ": ours " << ours[i] << ", PyTorch " << theirs[i] << "\n";
    EXPECT_LE(ours[i], 2.0 * std::max(theirs[i], typical)) << fixture["pairs"][i]["id"];
  }
  EXPECT_LE(mean(ours), mean(theirs));
}

TEST_P(PrecisionAgreementTest, EveryGoldenPairDeviatesNoMoreThanPyTorchOnAverageOrAtWorst) {
  std::map<std::string, nlohmann::json> torch;
  for (auto& r : read_jsonl(golden_path(GetParam().model + ".torch_reduced.jsonl"))) {
    torch[r["id"].get<std::string>()] = r;
  }
  std::vector<double> ours, theirs;
  for (const auto& r : read_jsonl(golden_path(GetParam().model + ".jsonl"))) {
    const auto& t = torch.at(r["id"].get<std::string>());
    ours.push_back(std::abs(score_alone(*fp32_, r) - score_alone(*reduced_, r)));
    theirs.push_back(std::abs(t["fp32"].get<double>() - t[mode()].get<double>()));
  }
  const double our_max = *std::max_element(ours.begin(), ours.end());
  const double their_max = *std::max_element(theirs.begin(), theirs.end());
  std::cout << GetParam().model << " " << mode() << ": " << ours.size() << " pairs, mean |fp32 - " << mode()
            << "| ours " << mean(ours) << " PyTorch " << mean(theirs) << "; max ours " << our_max << " PyTorch "
            << their_max << "\n";
  EXPECT_LE(mean(ours), mean(theirs));
  EXPECT_LE(our_max, their_max);
}

TEST_P(PrecisionAgreementTest, RankingsPerQueryAgreeAtLeastAsWellAsPyTorchs) {
  std::map<std::string, nlohmann::json> torch;
  for (auto& r : read_jsonl(golden_path(GetParam().model + ".torch_reduced.jsonl"))) {
    torch[r["id"].get<std::string>()] = r;
  }
  const auto records = read_jsonl(golden_path(GetParam().model + ".jsonl"));
  std::map<std::string, std::vector<const nlohmann::json*>> groups;
  for (const auto& r : records) {
    groups[r["query"].get<std::string>() + "\x1f" + std::to_string(r["max_length"].get<int>()) + "\x1f" +
           r.value("truncation", std::string()) + "\x1f" + r.value("instruction", std::string())]
        .push_back(&r);
  }
  std::vector<std::vector<float>> ours_fp32, ours, torch_fp32, torch_reduced;
  for (const auto& [key, group] : groups) {
    if (group.size() < 2) continue;
    TokenBatch batch;
    std::vector<float> tf, tr;
    for (const auto* r : group) {
      batch.add(int_vector((*r)["input_ids"]), types_of(*r));
      const auto& t = torch.at((*r)["id"].get<std::string>());
      tf.push_back(t["fp32"].get<float>());
      tr.push_back(t[mode()].get<float>());
    }
    ours_fp32.push_back(*fp32_->score(batch));
    ours.push_back(*reduced_->score(batch));
    torch_fp32.push_back(tf);
    torch_reduced.push_back(tr);
  }
  const Agreement a = measure_agreement(ours_fp32, ours);
  const Agreement t = measure_agreement(torch_fp32, torch_reduced);
  std::cout << GetParam().model << " " << mode() << ", " << a.queries << " queries: Spearman min " << a.spearman_min
            << " mean " << a.spearman_mean << ", top-10 identical " << a.top10_identical << ", max |diff| "
            << a.max_abs_diff << (a.meets_bar() ? " (meets the bar)" : " (below the bar)") << "; PyTorch: Spearman min "
            << t.spearman_min << " mean " << t.spearman_mean << ", top-10 identical " << t.top10_identical
            << ", max |diff| " << t.max_abs_diff << "\n";
  EXPECT_GE(a.top10_identical, t.top10_identical);
  EXPECT_GE(a.spearman_mean, t.spearman_mean - 0.02);
}

std::string param_name(const ::testing::TestParamInfo<Param>& param_info) {
  std::string name = param_info.param.model + "_" + std::string(base::precision_name(param_info.param.precision));
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

const auto kEncoderFixtures = ::testing::Values(
    Param{"bert-ce-tiny", Precision::kBf16}, Param{"bert-ce-tiny", Precision::kInt8},
    Param{"xlmr-ce-tiny", Precision::kBf16}, Param{"xlmr-ce-tiny", Precision::kInt8},
    Param{"xlmr-ce-tiny-long", Precision::kBf16}, Param{"xlmr-ce-tiny-long", Precision::kInt8});

INSTANTIATE_TEST_SUITE_P(Goldens, PrecisionAgreementTest, kEncoderFixtures, param_name);
INSTANTIATE_TEST_SUITE_P(Goldens, FivePairPrecisionAgreementTest, kEncoderFixtures, param_name);
INSTANTIATE_TEST_SUITE_P(ModernGoldens, PrecisionAgreementTest,
                         ::testing::Values(Param{"modernbert-ce-tiny", Precision::kBf16},
                                           Param{"modernbert-ce-tiny", Precision::kInt8},
                                           Param{"qwen3-reranker-tiny", Precision::kBf16},
                                           Param{"qwen3-reranker-tiny", Precision::kInt8}),
                         param_name);

}  // namespace
}  // namespace winnow::eval

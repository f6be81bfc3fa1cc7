// Qwen3-Reranker (Qwen3ForCausalLM + the yes/no head) against the goldens of
// transformers 4.51.3: the last token's "yes" and "no" logits in fp32, alone
// and in mixed-length batches; shared-prefix reuse against none; bf16 and
// int8 within bounds; and configs or checkpoints the loader must refuse.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>

#include <gtest/gtest.h>

#include "kernels/precision.h"
#include "model/cross_encoder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr const char* kModel = "qwen3-reranker-tiny";
// The fixture tokenizer's "no" and "yes" (fixtures README).
constexpr std::array<std::int32_t, 2> kLabels{810, 3000};

LoadOptions options_in(base::Precision precision) {
  LoadOptions options;
  options.precisions = {precision};
  options.label_token_ids = kLabels;
  return options;
}

std::unique_ptr<CrossEncoder> load(base::Precision precision = base::Precision::kFp32) {
  auto model = CrossEncoder::load(model_dir(kModel), options_in(precision));
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  return model.ok() ? std::move(*model) : nullptr;
}

std::vector<nlohmann::json> goldens() { return read_jsonl(golden_path(std::string(kModel) + ".jsonl")); }

// How many leading ids two prompts share.
std::size_t common_prefix(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>& b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

TEST(Qwen3ParityTest, GoldenYesNoLogitsAloneAndInOneMixedBatch) {
  auto model = load();
  ASSERT_NE(model, nullptr);
  EXPECT_TRUE(model->info().decoder_reranker);
  EXPECT_EQ(model->info().layout, "qwen3");
  const auto records = goldens();
  ASSERT_EQ(records.size(), 114u);
  TokenBatch all;
  for (const auto& r : records) all.add(int_vector(r["input_ids"]));
  auto labels = model->label_logits(all, base::Precision::kFp32);
  ASSERT_TRUE(labels.ok()) << labels.status().to_string();
  double worst = 0, worst_score = 0, vs_alone = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const double no = records[i]["logit_no"].get<double>(), yes = records[i]["logit_yes"].get<double>();
    const float logit = (*labels)[2 * i + 1] - (*labels)[2 * i];  // what score() returns
    worst = std::max({worst, std::abs((*labels)[2 * i] - no), std::abs((*labels)[2 * i + 1] - yes),
                      std::abs(logit - (yes - no))});
    const double score = 1.0 / (1.0 + std::exp(-static_cast<double>(logit)));
    worst_score = std::max(worst_score, std::abs(score - records[i]["score"].get<double>()));
    if (i % 5 == 0 && records[i]["input_ids"].size() <= 1024) {  // a sample alone (long ones are slow under ASan)
      TokenBatch one;
      one.add(int_vector(records[i]["input_ids"]));
      auto alone = model->score(one);
      ASSERT_TRUE(alone.ok());
      vs_alone = std::max(vs_alone, static_cast<double>(std::abs((*alone)[0] - logit)));
    }
  }
  std::cout << "qwen3 fp32: max |diff| yes/no/yes-no " << worst << ", score " << worst_score << ", batch vs alone "
            << vs_alone << "\n";
  EXPECT_LE(worst, 1e-4);
  EXPECT_LE(worst_score, 1e-5);
  EXPECT_LE(vs_alone, 1e-5);
}

// The fixture's padded batches, as the reference ran them with every prompt
// at its own positions (masked_positions_*): the same values as alone.
TEST(Qwen3ParityTest, GoldenBatchesAtTheirOwnPositions) {
  auto model = load();
  ASSERT_NE(model, nullptr);
  const auto batches = read_jsonl(golden_path(std::string(kModel) + ".batches.jsonl"));
  ASSERT_FALSE(batches.empty());
  std::map<std::string, std::vector<std::int32_t>> prompts;
  for (const auto& r : goldens()) prompts[r["id"].get<std::string>()] = int_vector(r["input_ids"]);
  double worst = 0;
  std::size_t checked = 0;
  for (const auto& b : batches) {
    if (!b.contains("masked_positions_logits_yes")) continue;
    TokenBatch batch;
    for (const auto& id : b["ids"]) {
      ASSERT_TRUE(prompts.count(id.get<std::string>())) << id;
      batch.add(prompts[id.get<std::string>()]);
    }
    auto labels = model->label_logits(batch, base::Precision::kFp32);
    ASSERT_TRUE(labels.ok()) << labels.status().to_string();
    for (std::size_t i = 0; i < batch.num_sequences(); ++i) {
      worst = std::max({worst, std::abs((*labels)[2 * i] - b["masked_positions_logits_no"][i].get<double>()),
                        std::abs((*labels)[2 * i + 1] - b["masked_positions_logits_yes"][i].get<double>())});
      ++checked;
    }
  }
  std::cout << "qwen3 batches: " << checked << " prompts, max |diff| " << worst << "\n";
  EXPECT_GT(checked, 50u);
  EXPECT_LE(worst, 1e-4);
}

// Shared-prefix reuse: every prompt of one (instruction, query) shares its
// ids up to the document; with the shared length declared, the prefix is
// computed once and every prompt runs only its own tokens. The logits must
// be those of the whole prompts run without reuse, and a second call must
// find the prefixes cached.
TEST(Qwen3PrefixTest, ReuseGivesTheLogitsOfNoReuse) {
  auto model = load();
  ASSERT_NE(model, nullptr);
  std::map<std::string, std::vector<std::vector<std::int32_t>>> groups;
  for (const auto& r : goldens()) {
    if (r["max_length"].get<int>() != 128) continue;
    groups[r["instruction"].get<std::string>() + "\n" + r["query"].get<std::string>()].push_back(
        int_vector(r["input_ids"]));
  }
  TokenBatch reused, whole;
  std::size_t shared_groups = 0;
  for (const auto& [key, prompts] : groups) {
    std::size_t shared = prompts.front().size();
    for (const auto& p : prompts) shared = std::min(shared, common_prefix(prompts.front(), p));
    if (prompts.size() > 1) ++shared_groups;
    for (const auto& p : prompts) {
      reused.add(p, {}, prompts.size() > 1 ? shared : 0);
      whole.add(p);
    }
  }
  ASSERT_GT(shared_groups, 2u);
  model->set_prefix_reuse(false);
  auto expected = model->score(whole);
  ASSERT_TRUE(expected.ok()) << expected.status().to_string();
  auto ignored = model->score(reused);  // reuse off: the declared prefixes are ignored
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(model->decoder()->prefix_passes(), 0u);
  model->set_prefix_reuse(true);
  std::size_t first_passes = 0;
  for (int call = 0; call < 2; ++call) {
    auto logits = model->score(reused);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    double worst = 0;
    for (std::size_t i = 0; i < logits->size(); ++i) {
      worst = std::max(worst, static_cast<double>(std::abs((*logits)[i] - (*expected)[i])));
      EXPECT_EQ((*ignored)[i], (*expected)[i]);
    }
    std::cout << "qwen3 prefix reuse, call " << call << ": max |diff| against no reuse " << worst << "\n";
    EXPECT_LE(worst, 1e-5);
    if (call == 0) first_passes = model->decoder()->prefix_passes();
  }
  // The first call computed each group's prefix once; the second found the
  // latest ones cached (the cache holds fewer than the groups).
  EXPECT_EQ(first_passes, shared_groups);
  EXPECT_GT(model->decoder()->prefix_hits(), 0u);
  EXPECT_LT(model->decoder()->prefix_passes(), 2 * shared_groups);
}

// A declared prefix as long as the prompt (two identical prompts) keeps the
// last token its own; a prefix shared by prompts of different lengths, and
// prompts with and without one, mix in one batch.
TEST(Qwen3PrefixTest, PrefixAsLongAsThePromptAndMixedBatches) {
  auto model = load();
  ASSERT_NE(model, nullptr);
  const auto records = goldens();
  const std::vector<std::int32_t> a = int_vector(records[1]["input_ids"]);
  const std::vector<std::int32_t> b = int_vector(records[3]["input_ids"]);
  TokenBatch batch, plain;
  batch.add(a, {}, a.size());
  batch.add(a, {}, a.size());
  batch.add(b);
  batch.add(b, {}, 40);
  for (int i = 0; i < 2; ++i) plain.add(a);
  for (int i = 0; i < 2; ++i) plain.add(b);
  auto with = model->score(batch);
  model->set_prefix_reuse(false);
  auto without = model->score(plain);
  ASSERT_TRUE(with.ok() && without.ok());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR((*with)[i], (*without)[i], 1e-5) << i;
}

// bf16 and int8 against the fp32 goldens. No PyTorch reduced-precision
// reference exists for this model, so the bounds are set from the yes − no
// spread (std 2.14, range -4.3 .. 4.3) at about twice what this engine
// measures (bf16 mean 0.031 / max 0.081; int8 mean 0.15 / max 0.43: the
// fixture's weights are deliberately larger than a trained model's, fixtures
// README); a pair's logit in a batch is the one it gets alone.
TEST(Qwen3Test, ReducedPrecisionsStayCloseToFp32Goldens) {
  struct Case {
    base::Precision precision;
    double mean_bound, max_bound;
  };
  const Case cases[] = {{base::Precision::kBf16, 0.06, 0.2}, {base::Precision::kInt8, 0.3, 0.9}};
  std::vector<nlohmann::json> records;
  for (const auto& r : goldens()) {
    if (r["max_length"].get<int>() == 128) records.push_back(r);  // the long ones add time, not cases
  }
  for (const Case& c : cases) {
    if (!kernels::check_precision_supported(c.precision).ok()) {
      std::cout << base::precision_name(c.precision) << ": not supported on this CPU, skipped\n";
      continue;
    }
    auto model = load(c.precision);
    ASSERT_NE(model, nullptr);
    TokenBatch all;
    for (const auto& r : records) all.add(int_vector(r["input_ids"]));
    auto logits = model->score(all, c.precision);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    double sum = 0, worst = 0, vs_alone = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const double golden = records[i]["logit_yes"].get<double>() - records[i]["logit_no"].get<double>();
      const double diff = std::abs((*logits)[i] - golden);
      sum += diff;
      worst = std::max(worst, diff);
      if (i % 9 == 0) {
        TokenBatch one;
        one.add(int_vector(records[i]["input_ids"]));
        auto alone = model->score(one, c.precision);
        ASSERT_TRUE(alone.ok());
        vs_alone = std::max(vs_alone, static_cast<double>(std::abs((*alone)[0] - (*logits)[i])));
      }
    }
    const double mean = sum / static_cast<double>(records.size());
    std::cout << "qwen3 " << base::precision_name(c.precision) << ": mean |diff| " << mean << ", max " << worst
              << ", batch vs alone " << vs_alone << "\n";
    EXPECT_LE(mean, c.mean_bound);
    EXPECT_LE(worst, c.max_bound);
    EXPECT_LE(vs_alone, 1e-5);
  }
}

// A copy of the fixture with config.json edited by `edit`.
void copy_with_config(const std::filesystem::path& to, const std::function<void(nlohmann::json&)>& edit) {
  for (const auto& entry : std::filesystem::directory_iterator(model_dir(kModel))) {
    std::filesystem::copy_file(entry.path(), to / entry.path().filename());
  }
  nlohmann::json config = nlohmann::json::parse(std::ifstream(to / "config.json"));
  edit(config);
  std::filesystem::permissions(to / "config.json", std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);
  write_text(to / "config.json", config.dump(2));
}

TEST(Qwen3Test, UnsupportedConfigOptionsAreRefusedByName) {
  struct Case {
    const char* field;
    nlohmann::json value;
  };
  const Case cases[] = {
      {"rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}},
      {"use_sliding_window", true},
      {"hidden_act", "gelu"},
      {"num_key_value_heads", 3},
      {"head_dim", 15},
  };
  for (const Case& c : cases) {
    TempDir dir("qwen3_config");
    copy_with_config(dir.path(), [&](nlohmann::json& config) { config[c.field] = c.value; });
    auto model = CrossEncoder::load(dir.path(), options_in(base::Precision::kFp32));
    ASSERT_FALSE(model.ok()) << c.field;
    EXPECT_NE(model.status().message().find(c.field), std::string::npos) << model.status().to_string();
    EXPECT_NE(model.status().message().find("config.json"), std::string::npos) << model.status().to_string();
  }
}

TEST(Qwen3Test, MissingHeadOrLabelsAreRefused) {
  {
    // Untied, but the file has no lm_head.weight (save_pretrained dropped it as tied).
    TempDir dir("qwen3_untied");
    copy_with_config(dir.path(), [](nlohmann::json& config) { config["tie_word_embeddings"] = false; });
    auto model = CrossEncoder::load(dir.path(), options_in(base::Precision::kFp32));
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find("lm_head.weight"), std::string::npos) << model.status().to_string();
  }
  {
    LoadOptions no_labels;
    auto model = CrossEncoder::load(model_dir(kModel), no_labels);
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find("\"yes\""), std::string::npos) << model.status().to_string();
  }
  {
    LoadOptions outside = options_in(base::Precision::kFp32);
    outside.label_token_ids = std::array<std::int32_t, 2>{810, 5000};
    auto model = CrossEncoder::load(model_dir(kModel), outside);
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find("5000"), std::string::npos) << model.status().to_string();
  }
}

TEST(Qwen3Test, BadBatchesAreRefusedNamingTheSequence) {
  auto model = load();
  ASSERT_NE(model, nullptr);
  TokenBatch batch;
  batch.add(std::vector<std::int32_t>{1, 2, 3});
  batch.add(std::vector<std::int32_t>{1, 4000});
  auto logits = model->score(batch);
  ASSERT_FALSE(logits.ok());
  EXPECT_NE(logits.status().message().find("sequence 1"), std::string::npos) << logits.status().to_string();
  TokenBatch prefix;
  prefix.add(std::vector<std::int32_t>{1, 2, 3}, {}, 4);
  EXPECT_FALSE(model->score(prefix).ok());
}

}  // namespace
}  // namespace winnow::model

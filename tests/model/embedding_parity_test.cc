// Sentence embeddings of the tiny BertModel / XLMRobertaModel fixtures against
// transformers 4.40.2 + sentence-transformers pooling (EMBEDDINGS.md): every
// component within 1e-4, alone and batched.
#include <cmath>
#include <iostream>

#include <gtest/gtest.h>

#include "model/checkpoint_writer.h"
#include "model/sentence_embedder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using namespace testing;  // NOLINT: test helpers

constexpr double kTolerance = 1e-4;

class EmbeddingParityTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto loaded = SentenceEmbedder::load(model_dir(GetParam()));
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    model_ = std::move(loaded).value();
    records_ = read_jsonl(golden_path(GetParam() + ".embeddings.jsonl"));
    ASSERT_EQ(records_.size(), 150u);
  }

  // Embeds records_[begin, end) as one batch; returns the max |diff| to the golden.
  double check_batch(std::size_t begin, std::size_t end) {
    TokenBatch batch;
    for (std::size_t i = begin; i < end; ++i) batch.add(int_vector(records_[i]["input_ids"]));
    auto embeddings = model_->embed(batch);
    EXPECT_TRUE(embeddings.ok()) << embeddings.status().to_string();
    if (!embeddings.ok()) return 1e9;
    double max_diff = 0.0;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& got = (*embeddings)[i - begin];
      const auto want = records_[i]["embedding"].get<std::vector<double>>();
      EXPECT_EQ(got.size(), want.size());
      double norm = 0.0;
      for (std::size_t c = 0; c < got.size() && c < want.size(); ++c) {
        max_diff = std::max(max_diff, std::abs(got[c] - want[c]));
        norm += static_cast<double>(got[c]) * got[c];
      }
      EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << records_[i]["id"];
    }
    EXPECT_LE(max_diff, kTolerance) << GetParam() << " batch [" << begin << ", " << end << ")";
    return max_diff;
  }

  std::unique_ptr<SentenceEmbedder> model_;
  std::vector<nlohmann::json> records_;
};

TEST_P(EmbeddingParityTest, InfoDescribesTheModules) {
  const ModelInfo& info = model_->info();
  const bool bert = GetParam() == "bert-embed-tiny";
  EXPECT_EQ(info.architecture, bert ? "BertModel" : "XLMRobertaModel");
  EXPECT_EQ(info.layout, bert ? "bert" : "xlm-roberta");
  EXPECT_EQ(info.pooling, bert ? "mean" : "cls");
  EXPECT_TRUE(info.normalize);
  EXPECT_EQ(info.max_seq_length, 128u);
  EXPECT_EQ(info.max_tokens, 512u);
  EXPECT_EQ(info.hidden_size, 64u);
  EXPECT_FALSE(info.declared_activation.has_value());
}

TEST_P(EmbeddingParityTest, EveryTextAloneMatchesGolden) {
  double max_diff = 0.0;
  for (std::size_t i = 0; i < records_.size(); ++i) max_diff = std::max(max_diff, check_batch(i, i + 1));
  std::cout << GetParam() << ": " << records_.size() << " texts alone, max |component - golden| = " << max_diff << "\n";
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

TEST_P(EmbeddingParityTest, BatchesOf16AndOneBatchOfAllMatchGolden) {
  double max_diff = 0.0;
  for (std::size_t i = 0; i < records_.size(); i += 16) {
    max_diff = std::max(max_diff, check_batch(i, std::min(records_.size(), i + 16)));
  }
  max_diff = std::max(max_diff, check_batch(0, records_.size()));
  std::cout << GetParam() << ": batches of 16 and one of all, max |component - golden| = " << max_diff << "\n";
  RecordProperty("max_abs_diff", std::to_string(max_diff));
}

INSTANTIATE_TEST_SUITE_P(Goldens, EmbeddingParityTest, ::testing::Values("bert-embed-tiny", "xlmr-embed-tiny"),
                         testing::FixtureTestName());

class EmbedderModulesTest : public ::testing::Test {
 protected:
  EmbedderModulesTest() : dir_("embedder_modules") {
    for (const char* file : {"config.json", "model.safetensors", "modules.json", "sentence_bert_config.json"}) {
      std::filesystem::copy_file(model_dir("bert-embed-tiny") / file, dir_.path() / file);
    }
    std::filesystem::create_directories(dir_.path() / "1_Pooling");
    std::filesystem::copy_file(model_dir("bert-embed-tiny") / "1_Pooling" / "config.json",
                               dir_.path() / "1_Pooling" / "config.json");
  }
  void expect_error(const std::string& fragment) {
    auto model = SentenceEmbedder::load(dir_.path());
    ASSERT_FALSE(model.ok());
    EXPECT_NE(model.status().message().find(fragment), std::string::npos) << model.status().to_string();
  }
  TempDir dir_;
};

TEST_F(EmbedderModulesTest, NormalizeFolderIsOptional) {
  // The fixture has no 2_Normalize folder copied here; modules.json alone decides.
  auto model = SentenceEmbedder::load(dir_.path());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_TRUE((*model)->info().normalize);
}

TEST_F(EmbedderModulesTest, WithoutModulesJsonMeanPoolingWithoutNormalisation) {
  std::filesystem::remove(dir_.path() / "modules.json");
  auto model = SentenceEmbedder::load(dir_.path());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->info().pooling, "mean");
  EXPECT_FALSE((*model)->info().normalize);
  TokenBatch batch;
  batch.add(std::vector<std::int32_t>{101, 7592, 102});
  auto embeddings = (*model)->embed(batch);
  ASSERT_TRUE(embeddings.ok());
  double norm = 0;
  for (float v : (*embeddings)[0]) norm += v * v;
  EXPECT_GT(std::abs(std::sqrt(norm) - 1.0), 1e-3);  // not normalised
}

TEST_F(EmbedderModulesTest, UnsupportedModulesAndPoolingAreRefused) {
  auto modules = read_json(dir_.path() / "modules.json");
  modules.push_back({{"idx", 3}, {"name", "3"}, {"path", "3_Dense"}, {"type", "sentence_transformers.models.Dense"}});
  write_json(dir_.path() / "modules.json", modules);
  expect_error("module type \"sentence_transformers.models.Dense\" is not supported");
  modules.erase(modules.size() - 1);
  write_json(dir_.path() / "modules.json", modules);

  auto pooling = read_json(dir_.path() / "1_Pooling" / "config.json");
  pooling["pooling_mode_cls_token"] = true;
  write_json(dir_.path() / "1_Pooling" / "config.json", pooling);
  expect_error("several pooling modes");
  pooling["pooling_mode_cls_token"] = false;
  pooling["pooling_mode_mean_tokens"] = false;
  write_json(dir_.path() / "1_Pooling" / "config.json", pooling);
  expect_error("no pooling mode is set");
  pooling["pooling_mode_max_tokens"] = true;
  pooling["word_embedding_dimension"] = 32;
  write_json(dir_.path() / "1_Pooling" / "config.json", pooling);
  expect_error("word_embedding_dimension 32 differs from hidden_size 64");
}

}  // namespace
}  // namespace winnow::model

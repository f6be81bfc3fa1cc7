// Checkpoint forms a published model may come in: sharded, with extra
// buffers, in F16, and what ModelInfo reports about each.
#include <gtest/gtest.h>

#include "model/checkpoint_writer.h"
#include "model/config.h"
#include "model/cross_encoder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using namespace testing;  // NOLINT: test helpers

// The first `n` golden pairs of `fixture` as one batch.
TokenBatch golden_batch(const std::string& fixture, std::size_t n) {
  TokenBatch batch;
  auto records = read_jsonl(golden_path(fixture + ".jsonl"));
  for (std::size_t i = 0; i < n && i < records.size(); ++i) {
    batch.add(int_vector(records[i]["input_ids"]), int_vector(records[i]["token_type_ids"]));
  }
  return batch;
}

std::vector<float> score_dir(const std::filesystem::path& dir, const TokenBatch& batch) {
  auto model = CrossEncoder::load(dir);
  EXPECT_TRUE(model.ok()) << model.status().to_string();
  if (!model.ok()) return {};
  auto scores = (*model)->score(batch);
  EXPECT_TRUE(scores.ok()) << scores.status().to_string();
  return scores.ok() ? *scores : std::vector<float>{};
}

TEST(ModelInfoTest, DescribesTheFixtures) {
  struct Expected {
    const char* name;
    const char* architecture;
    const char* layout;
    std::size_t layers, vocab, max_tokens, parameters;
    std::int32_t pad;
  };
  for (const Expected& e : {Expected{"bert-ce-tiny", "BertForSequenceClassification", "bert", 2, 30522, 512, 2090625, 0},
                            Expected{"xlmr-ce-tiny", "XLMRobertaForSequenceClassification", "xlm-roberta", 2, 8002, 512,
                                     649409, 1},
                            Expected{"xlmr-ce-tiny-long", "XLMRobertaForSequenceClassification", "xlm-roberta", 3, 8002,
                                     1024, 732161, 1}}) {
    auto model = CrossEncoder::load(model_dir(e.name));
    ASSERT_TRUE(model.ok()) << model.status().to_string();
    const ModelInfo& info = (*model)->info();
    EXPECT_EQ(info.architecture, e.architecture);
    EXPECT_EQ(info.layout, e.layout);
    EXPECT_EQ(info.hidden_size, 64u);
    EXPECT_EQ(info.num_layers, e.layers);
    EXPECT_EQ(info.num_heads, 4u);
    EXPECT_EQ(info.intermediate_size, 256u);
    EXPECT_EQ(info.vocab_size, e.vocab);
    EXPECT_EQ(info.max_tokens, e.max_tokens);
    EXPECT_EQ(info.pad_token_id, e.pad);
    EXPECT_EQ(info.stored_dtype, "F32");
    EXPECT_EQ(info.parameter_count, e.parameters) << e.name;
    // Per layer: q, k, v, o [64x64]+64, FFN 64x256+256 and 256x64+64, two LayerNorms.
    const std::size_t per_layer = 4 * (64 * 64 + 64) + (64 * 256 + 256) + (256 * 64 + 64) + 2 * 2 * 64;
    EXPECT_EQ(info.encoder_layer_parameter_count, e.layers * per_layer);
    EXPECT_GT(info.weight_bytes, info.encoder_layer_parameter_count * 4);
    EXPECT_FALSE(info.declared_activation.has_value());
  }
}

TEST(ConfigTest, ReadsSentenceTransformersActivationAndCustomCodeKeys) {
  nlohmann::json json = {{"architectures", {"XLMRobertaForSequenceClassification"}},
                         {"auto_map", {{"AutoModel", "modeling_xlm_roberta.XLMRobertaModel"}}},
                         {"hidden_size", 768},
                         {"num_hidden_layers", 12},
                         {"num_attention_heads", 12},
                         {"intermediate_size", 3072},
                         {"vocab_size", 250002},
                         {"max_position_embeddings", 1026},
                         {"type_vocab_size", 1},
                         {"num_labels", 1},
                         {"layer_norm_eps", 1e-5},
                         {"sbert_ce_default_activation_function", "torch.nn.modules.linear.Identity"}};
  auto config = parse_model_config(json, "config.json");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_FALSE(config->model_type.has_value());
  EXPECT_EQ(config->auto_map.at("AutoModel"), "modeling_xlm_roberta.XLMRobertaModel");
  EXPECT_EQ(config->pad_token_id, 1);  // XLM-R default when absent
  EXPECT_EQ(config->num_labels, 1u);
  EXPECT_FLOAT_EQ(config->layer_norm_eps, 1e-5f);
  EXPECT_EQ(config->sbert_ce_default_activation_function, "torch.nn.modules.linear.Identity");

  json.erase("hidden_size");
  auto missing = parse_model_config(json, "config.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("config.json: missing \"hidden_size\""), std::string::npos);
}

TEST(CheckpointTest, DeclaredActivationIsExposed) {
  TempDir dir("activation");
  copy_model("bert-ce-tiny", dir.path());
  auto config = read_json(dir.path() / "config.json");
  config["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity";
  write_json(dir.path() / "config.json", config);
  auto model = CrossEncoder::load(dir.path());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  EXPECT_EQ((*model)->info().declared_activation, "torch.nn.modules.linear.Identity");
}

TEST(CheckpointTest, PositionIdsBufferOfOlderBertCheckpointsIsIgnored) {
  TempDir dir("position_ids");
  copy_model("bert-ce-tiny", dir.path());
  auto tensors = read_raw_tensors(model_dir("bert-ce-tiny") / "model.safetensors");
  RawTensor position_ids{"bert.embeddings.position_ids", "I64", {1, 512}, std::string(512 * 8, '\0')};
  for (std::int64_t i = 0; i < 512; ++i) std::memcpy(position_ids.bytes.data() + 8 * i, &i, 8);
  tensors.push_back(position_ids);
  write_text(dir.path() / "model.safetensors", safetensors_bytes(tensors));
  const TokenBatch batch = golden_batch("bert-ce-tiny", 12);
  EXPECT_EQ(score_dir(dir.path(), batch), score_dir(model_dir("bert-ce-tiny"), batch));
  auto model = CrossEncoder::load(dir.path());
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->info().parameter_count, 2090625u);  // the buffer is no parameter
}

TEST(CheckpointTest, ShardedCheckpointGivesTheSameLogits) {
  TempDir dir("sharded");
  std::filesystem::copy_file(model_dir("xlmr-ce-tiny") / "config.json", dir.path() / "config.json");
  auto tensors = read_raw_tensors(model_dir("xlmr-ce-tiny") / "model.safetensors");
  std::vector<RawTensor> first, second;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const bool in_first = i % 2 == 0;
    (in_first ? first : second).push_back(tensors[i]);
    weight_map[tensors[i].name] = in_first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  write_text(dir.path() / "model-00001-of-00002.safetensors", safetensors_bytes(first));
  write_text(dir.path() / "model-00002-of-00002.safetensors", safetensors_bytes(second));
  write_json(dir.path() / "model.safetensors.index.json",
             {{"metadata", {{"total_size", 2597636}}}, {"weight_map", weight_map}});
  const TokenBatch batch = golden_batch("xlmr-ce-tiny", 20);
  EXPECT_EQ(score_dir(dir.path(), batch), score_dir(model_dir("xlmr-ce-tiny"), batch));

  // A weight_map entry naming a file outside the model directory is refused.
  weight_map[tensors[0].name] = "../model-00001-of-00002.safetensors";
  write_json(dir.path() / "model.safetensors.index.json", {{"weight_map", weight_map}});
  auto escaped = CrossEncoder::load(dir.path());
  ASSERT_FALSE(escaped.ok());
  EXPECT_NE(escaped.status().message().find("is not a file name in the model directory"), std::string::npos);

  // A tensor mapped to a shard that lacks it.
  weight_map[tensors[0].name] = "model-00002-of-00002.safetensors";
  write_json(dir.path() / "model.safetensors.index.json", {{"weight_map", weight_map}});
  auto misplaced = CrossEncoder::load(dir.path());
  ASSERT_FALSE(misplaced.ok());
  EXPECT_NE(misplaced.status().message().find("tensor " + tensors[0].name + " is mapped to model-00002-of-00002"),
            std::string::npos)
      << misplaced.status().to_string();
}

TEST(CheckpointTest, F16AndBF16TensorsAreConvertedAtLoad) {
  // Weights rounded to F16 / BF16 and stored so, against the same rounded
  // values stored as F32: the conversion must be exact.
  for (const std::string dtype : {"F16", "BF16"}) {
    TempDir reduced("reduced"), twin("twin");
    copy_model("xlmr-ce-tiny", reduced.path());
    copy_model("xlmr-ce-tiny", twin.path());
    auto tensors = read_raw_tensors(model_dir("xlmr-ce-tiny") / "model.safetensors");
    auto rounded = tensors;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      auto values = as_floats(tensors[i]);
      if (dtype == "BF16") {
        rounded[i].bytes = bf16_bytes(values);
        for (auto& v : values) v = bf16_round(v);
      } else {
        std::string bytes(values.size() * 2, '\0');
        for (std::size_t j = 0; j < values.size(); ++j) {
          const _Float16 h = static_cast<_Float16>(values[j]);
          std::memcpy(bytes.data() + 2 * j, &h, 2);
          values[j] = static_cast<float>(h);
        }
        rounded[i].bytes = bytes;
      }
      rounded[i].dtype = dtype;
      tensors[i].bytes = f32_bytes(values);
    }
    write_text(reduced.path() / "model.safetensors", safetensors_bytes(rounded));
    write_text(twin.path() / "model.safetensors", safetensors_bytes(tensors));
    const TokenBatch batch = golden_batch("xlmr-ce-tiny", 30);
    EXPECT_EQ(score_dir(reduced.path(), batch), score_dir(twin.path(), batch)) << dtype;
    auto model = CrossEncoder::load(reduced.path());
    ASSERT_TRUE(model.ok());
    EXPECT_EQ((*model)->info().stored_dtype, dtype);
  }
}

}  // namespace
}  // namespace winnow::model

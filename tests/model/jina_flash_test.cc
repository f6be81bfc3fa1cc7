// jinaai/jina-reranker-v2-base-multilingual publishes its weights under the
// flash-attention implementation's names (fused Wqkv, emb_ln, norm1, mlp.fc1…),
// in BF16, with a config.json that has auto_map and no model_type. This test
// rebuilds xlmr-ce-tiny in that layout, and its standard-named F32 twin holding
// the same bf16-rounded weights, and checks that both give identical logits.
#include <cmath>
#include <iostream>

#include <gtest/gtest.h>

#include "model/checkpoint_writer.h"
#include "model/cross_encoder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using namespace testing;  // NOLINT: test helpers

// config.json as make_checkpoint.py writes it for --preset jina-reranker-v2-base
// (the published file's keys), with xlmr-ce-tiny's dimensions.
nlohmann::json jina_config(const nlohmann::json& tiny) {
  return {
      {"architectures", {"XLMRobertaForSequenceClassification"}},
      {"attention_probs_dropout_prob", 0.1},
      {"auto_map",
       {{"AutoConfig", "configuration_xlm_roberta.XLMRobertaFlashConfig"},
        {"AutoModel", "modeling_xlm_roberta.XLMRobertaModel"},
        {"AutoModelForSequenceClassification", "modeling_xlm_roberta.XLMRobertaForSequenceClassification"}}},
      {"bos_token_id", 0},
      {"classifier_dropout", nullptr},
      {"emb_pooler", nullptr},
      {"eos_token_id", 2},
      {"hidden_act", "gelu"},
      {"hidden_dropout_prob", 0.1},
      {"hidden_size", tiny["hidden_size"]},
      {"num_labels", 1},
      {"id2label", {{"0", "LABEL_0"}}},
      {"initializer_range", 0.02},
      {"intermediate_size", tiny["intermediate_size"]},
      {"label2id", {{"LABEL_0", 0}}},
      {"layer_norm_eps", 1e-05},
      {"max_position_embeddings", tiny["max_position_embeddings"]},
      {"num_attention_heads", tiny["num_attention_heads"]},
      {"num_hidden_layers", tiny["num_hidden_layers"]},
      {"output_past", true},
      {"pad_token_id", 1},
      {"position_embedding_type", "absolute"},
      {"torch_dtype", "bfloat16"},
      {"type_vocab_size", 1},
      {"use_cache", false},
      {"use_flash_attn", true},
      {"vocab_size", tiny["vocab_size"]},
  };
}

// Standard XLM-R name -> jina flash name ("" for q/k/v parts, fused separately).
std::string flash_name(std::string name) {
  static const std::pair<const char*, const char*> kRenames[] = {
      {".attention.output.dense.", ".mixer.out_proj."}, {".attention.output.LayerNorm.", ".norm1."},
      {".intermediate.dense.", ".mlp.fc1."},            {".output.dense.", ".mlp.fc2."},
      {".output.LayerNorm.", ".norm2."}};
  if (name.rfind("roberta.embeddings.LayerNorm.", 0) == 0) {
    return "roberta.emb_ln." + name.substr(std::string("roberta.embeddings.LayerNorm.").size());
  }
  const std::string layer = ".encoder.layer.";
  auto pos = name.find(layer);
  if (pos == std::string::npos) return name;
  if (name.find(".attention.self.") != std::string::npos) return "";
  name.replace(pos, layer.size(), ".encoder.layers.");
  for (const auto& [from, to] : kRenames) {
    auto at = name.find(from);
    if (at != std::string::npos) return name.replace(at, std::string(from).size(), to);
  }
  return name;
}

class JinaFlashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    flash_ = new TempDir("jina_flash");
    twin_ = new TempDir("jina_twin");
    const nlohmann::json tiny = read_json(model_dir("xlmr-ce-tiny") / "config.json");
    auto tensors = read_raw_tensors(model_dir("xlmr-ce-tiny") / "model.safetensors");
    std::map<std::string, std::vector<float>> rounded;  // standard name -> bf16-rounded values
    for (const auto& t : tensors) {
      auto values = as_floats(t);
      for (auto& v : values) v = bf16_round(v);
      rounded[t.name] = values;
    }
    std::vector<RawTensor> flash, twin;
    for (const auto& t : tensors) {
      twin.push_back({t.name, "F32", t.shape, f32_bytes(rounded[t.name])});
      const std::string name = flash_name(t.name);
      if (!name.empty()) flash.push_back({name, "BF16", t.shape, bf16_bytes(rounded[t.name])});
    }
    const std::size_t hidden = tiny["hidden_size"];
    for (std::size_t layer = 0; layer < tiny["num_hidden_layers"].get<std::size_t>(); ++layer) {
      const std::string base = "roberta.encoder.layer." + std::to_string(layer) + ".attention.self.";
      for (const std::string kind : {"weight", "bias"}) {
        std::vector<float> fused;
        for (const char* part : {"query.", "key.", "value."}) {
          const auto& v = rounded.at(base + part + kind);
          fused.insert(fused.end(), v.begin(), v.end());
        }
        std::vector<std::size_t> shape = {3 * hidden};
        if (kind == "weight") shape.push_back(hidden);
        flash.push_back({"roberta.encoder.layers." + std::to_string(layer) + ".mixer.Wqkv." + kind, "BF16", shape,
                         bf16_bytes(fused)});
      }
    }
    write_text(flash_->path() / "model.safetensors", safetensors_bytes(flash));
    write_json(flash_->path() / "config.json", jina_config(tiny));
    write_text(twin_->path() / "model.safetensors", safetensors_bytes(twin));
    std::filesystem::copy_file(model_dir("xlmr-ce-tiny") / "config.json", twin_->path() / "config.json");
  }
  static void TearDownTestSuite() {
    delete flash_;
    delete twin_;
  }
  static TempDir* flash_;
  static TempDir* twin_;
};
TempDir* JinaFlashTest::flash_ = nullptr;
TempDir* JinaFlashTest::twin_ = nullptr;

TEST_F(JinaFlashTest, FlashLayoutIsDetectedFromTensorNames) {
  auto model = CrossEncoder::load(flash_->path());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
  const ModelInfo& info = (*model)->info();
  EXPECT_EQ(info.architecture, "XLMRobertaForSequenceClassification");
  EXPECT_EQ(info.layout, "jina-flash");
  EXPECT_EQ(info.stored_dtype, "BF16");
  EXPECT_EQ(info.max_tokens, 512u);
  EXPECT_EQ(info.parameter_count, 649409u);
  auto twin = CrossEncoder::load(twin_->path());
  ASSERT_TRUE(twin.ok()) << twin.status().to_string();
  EXPECT_EQ((*twin)->info().layout, "xlm-roberta");
  EXPECT_EQ((*twin)->info().encoder_layer_parameter_count, info.encoder_layer_parameter_count);
}

TEST_F(JinaFlashTest, FlashAndTwinGiveIdenticalLogitsAndTwinIsNearGolden) {
  auto flash = CrossEncoder::load(flash_->path());
  auto twin = CrossEncoder::load(twin_->path());
  ASSERT_TRUE(flash.ok() && twin.ok());
  const auto records = read_jsonl(golden_path("xlmr-ce-tiny.jsonl"));
  TokenBatch batch;
  for (const auto& r : records) batch.add(int_vector(r["input_ids"]), int_vector(r["token_type_ids"]));
  auto flash_logits = (*flash)->score(batch);
  auto twin_logits = (*twin)->score(batch);
  ASSERT_TRUE(flash_logits.ok() && twin_logits.ok());
  EXPECT_EQ(*flash_logits, *twin_logits);
  // bf16-rounded weights against the fp32 golden: PyTorch's own bf16 autocast
  // drifts up to 0.060 on this model (reduced_precision.json, whose tiny
  // weights are large on purpose); rounding the weights must drift by the same
  // order (measured 0.067), not by a wrong-tensor amount (> 0.5).
  double max_diff = 0.0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    max_diff = std::max(max_diff, std::abs((*twin_logits)[i] - records[i]["logit"].get<double>()));
  }
  std::cout << "jina-flash twin (bf16-rounded weights) vs fp32 golden: max |diff| = " << max_diff << " over "
            << records.size() << " pairs\n";
  EXPECT_LE(max_diff, 0.1);
}

}  // namespace
}  // namespace winnow::model

// Bad checkpoints and bad inputs: each refused with a clear error that names
// the file, tensor or sequence at fault, and never a crash.
#include <random>

#include <gtest/gtest.h>

#include "model/checkpoint_writer.h"
#include "model/cross_encoder.h"
#include "model/test_util.h"

namespace winnow::model {
namespace {

using namespace testing;  // NOLINT: test helpers

class LoadErrorsTest : public ::testing::Test {
 protected:
  LoadErrorsTest() : dir_("load_errors") { copy_model("xlmr-ce-tiny", dir_.path()); }

  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path weights() const { return dir() / "model.safetensors"; }

  // Loads dir() and expects failure with `fragment` in the message.
  void expect_error(const std::string& fragment) {
    auto model = CrossEncoder::load(dir());
    ASSERT_FALSE(model.ok()) << "loaded although expecting: " << fragment;
    EXPECT_NE(model.status().message().find(fragment), std::string::npos)
        << "message: " << model.status().to_string() << "\nexpected fragment: " << fragment;
  }

  void rewrite_weights(const std::function<void(std::vector<RawTensor>&)>& edit,
                       const std::function<void(nlohmann::json&)>& header_patch = nullptr) {
    auto tensors = read_raw_tensors(model_dir("xlmr-ce-tiny") / "model.safetensors");
    edit(tensors);
    write_text(weights(), safetensors_bytes(tensors, header_patch));
  }

  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    auto config = read_json(dir() / "config.json");
    edit(config);
    write_json(dir() / "config.json", config);
  }

  TempDir dir_;
};

TEST_F(LoadErrorsTest, IntactCopyLoads) {
  auto model = CrossEncoder::load(dir());
  ASSERT_TRUE(model.ok()) << model.status().to_string();
}

TEST_F(LoadErrorsTest, MissingConfig) {
  std::filesystem::remove(dir() / "config.json");
  expect_error("config.json: no such file");
}

TEST_F(LoadErrorsTest, MalformedConfig) {
  write_text(dir() / "config.json", "{\"hidden_size\": 64,, }");
  expect_error("config.json: invalid JSON at line 1");
}

TEST_F(LoadErrorsTest, ConfigWithWrongTypes) {
  edit_config([](auto& c) { c["hidden_size"] = "sixty-four"; });
  expect_error("config.json: \"hidden_size\" must be a non-negative integer, got \"sixty-four\"");
}

TEST_F(LoadErrorsTest, MissingSafetensors) {
  std::filesystem::remove(weights());
  expect_error("no model.safetensors or model.safetensors.index.json");
}

TEST_F(LoadErrorsTest, TruncatedFile) {
  std::filesystem::resize_file(weights(), std::filesystem::file_size(weights()) / 2);
  expect_error("are beyond the end of the file");
  std::filesystem::resize_file(weights(), 5);
  expect_error("too short for a safetensors header");
}

TEST_F(LoadErrorsTest, HeaderLengthLargerThanFile) {
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(0xFF);
  bytes[5] = 0x01;  // ~1 TB
  write_text(weights(), bytes + "{}");
  expect_error("header length 1099511628031 is larger than the file (10 bytes)");
}

TEST_F(LoadErrorsTest, HeaderNotJson) {
  std::string text = "this is not json";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(text.size());
  write_text(weights(), bytes + text);
  expect_error("model.safetensors: header: invalid JSON");
}

TEST_F(LoadErrorsTest, HeaderNotAnObject) {
  std::string text = "[1, 2]";
  std::string bytes(8, '\0');
  bytes[0] = static_cast<char>(text.size());
  write_text(weights(), bytes + text);
  expect_error("header is not a JSON object");
}

TEST_F(LoadErrorsTest, DataOffsetsBeyondTheFile) {
  rewrite_weights([](auto&) {}, [](nlohmann::json& h) {
    h["classifier.dense.bias"]["data_offsets"] = {100000000, 100000256};
  });
  expect_error("tensor classifier.dense.bias: data_offsets [100000000, 100000256] are beyond the end of the file");
}

TEST_F(LoadErrorsTest, ByteLengthDifferentFromShapeTimesDtype) {
  rewrite_weights([](auto&) {}, [](nlohmann::json& h) { h["classifier.dense.bias"]["shape"] = {65}; });
  expect_error("tensor classifier.dense.bias: 256 bytes of data for shape [65] and dtype F32, expected 260");
}

TEST_F(LoadErrorsTest, OverlappingTensors) {
  rewrite_weights([](auto&) {}, [](nlohmann::json& h) {
    auto a = h["classifier.dense.bias"]["data_offsets"];
    h["classifier.out_proj.bias"]["data_offsets"] = {a[0].get<std::size_t>(), a[0].get<std::size_t>() + 4};
  });
  expect_error("overlap in the data section");
}

TEST_F(LoadErrorsTest, UnknownDtype) {
  rewrite_weights([](auto&) {}, [](nlohmann::json& h) { h["classifier.dense.bias"]["dtype"] = "Q7"; });
  expect_error("tensor classifier.dense.bias has unknown dtype \"Q7\"");
}

TEST_F(LoadErrorsTest, MissingTensor) {
  rewrite_weights([](auto& t) { std::erase_if(t, [](const RawTensor& r) { return r.name == "classifier.out_proj.weight"; }); });
  expect_error("missing tensor classifier.out_proj.weight (expected shape [1, 64])");
}

TEST_F(LoadErrorsTest, WrongShape) {
  rewrite_weights([](auto& t) {
    RawTensor* w = find_tensor(t, "classifier.out_proj.weight");
    w->shape = {2, 64};
    w->bytes += w->bytes;
  });
  expect_error("model.safetensors: tensor classifier.out_proj.weight has shape [2, 64], expected [1, 64]");
}

TEST_F(LoadErrorsTest, WrongDtype) {
  rewrite_weights([](auto& t) {
    RawTensor* w = find_tensor(t, "classifier.dense.bias");  // 64 x F32 = 32 x I64 bytes
    w->dtype = "I64";
    w->shape = {64};
    w->bytes += w->bytes;
  });
  expect_error("model.safetensors: tensor classifier.dense.bias has dtype I64, expected a float dtype");
}

TEST_F(LoadErrorsTest, UnsupportedArchitecture) {
  edit_config([](auto& c) {
    c["architectures"] = {"GPT2LMHeadModel"};
    c["model_type"] = "gpt2";
  });
  expect_error("architecture \"GPT2LMHeadModel\" is not supported");
}

TEST_F(LoadErrorsTest, UnsupportedActivation) {
  edit_config([](auto& c) { c["hidden_act"] = "relu"; });
  expect_error("hidden_act \"relu\" is not supported");
}

TEST_F(LoadErrorsTest, MoreThanOneLabelIsRefused) {
  edit_config([](auto& c) { c["id2label"] = {{"0", "no"}, {"1", "yes"}}; });
  expect_error("num_labels is 2");
}

TEST_F(LoadErrorsTest, CheckpointWithMoreLayersThanConfig) {
  edit_config([](auto& c) { c["num_hidden_layers"] = 1; });
  expect_error("belongs to layer 1, but config.json has num_hidden_layers 1");
}

TEST_F(LoadErrorsTest, RandomCorruptionNeverCrashes) {
  const std::string good = safetensors_bytes(read_raw_tensors(model_dir("xlmr-ce-tiny") / "model.safetensors"));
  std::uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = (header_length << 8) | static_cast<unsigned char>(good[i]);
  std::mt19937 rng(2024);
  int refused = 0;
  for (int trial = 0; trial < 150; ++trial) {
    std::string bytes = good;
    const int edits = 1 + trial % 4;
    for (int e = 0; e < edits; ++e) {
      // Mostly in the header, where corruption matters; sometimes the length field.
      const std::size_t pos = (trial % 10 == 0) ? rng() % 8 : 8 + rng() % header_length;
      bytes[pos] = static_cast<char>(rng() % 256);
    }
    if (trial % 7 == 0) bytes.resize(rng() % bytes.size());
    write_text(weights(), bytes);
    auto model = CrossEncoder::load(dir());
    if (!model.ok()) {
      ++refused;
      EXPECT_FALSE(model.status().message().empty());
    }
  }
  EXPECT_GT(refused, 0);
}

class ScoreErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto loaded = CrossEncoder::load(model_dir("xlmr-ce-tiny"));
    ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
    model_ = std::move(loaded).value().release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }
  static void expect_error(const TokenBatch& batch, const std::string& fragment) {
    auto scores = model_->score(batch);
    ASSERT_FALSE(scores.ok());
    EXPECT_EQ(scores.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_NE(scores.status().message().find(fragment), std::string::npos) << scores.status().to_string();
  }
  static CrossEncoder* model_;
};
CrossEncoder* ScoreErrorsTest::model_ = nullptr;

TEST_F(ScoreErrorsTest, TokenIdOutsideVocabulary) {
  TokenBatch batch;
  batch.add(std::vector<std::int32_t>{0, 100, 2});
  batch.add(std::vector<std::int32_t>{0, 5, 8002, 2});
  expect_error(batch, "sequence 1: token 2 has id 8002, outside the vocabulary of 8002");
  TokenBatch negative;
  negative.add(std::vector<std::int32_t>{0, -3, 2});
  expect_error(negative, "sequence 0: token 1 has id -3");
}

TEST_F(ScoreErrorsTest, SequenceLongerThanMaxTokens) {
  EXPECT_EQ(model_->info().max_tokens, 512u);
  TokenBatch batch;
  batch.add(std::vector<std::int32_t>(512, 5));  // exactly the limit: fine
  ASSERT_TRUE(model_->score(batch).ok());
  batch.add(std::vector<std::int32_t>(513, 5));
  expect_error(batch, "sequence 1 has 513 tokens; the model's maximum is 512");
}

TEST_F(ScoreErrorsTest, TokenTypeOutsideTypeVocabulary) {
  TokenBatch batch;
  batch.add(std::vector<std::int32_t>{0, 7, 2}, std::vector<std::int32_t>{0, 1, 0});
  expect_error(batch, "sequence 0: token 1 has token type 1; the model has type_vocab_size 1");
}

TEST_F(ScoreErrorsTest, EmptyAndInconsistentBatches) {
  TokenBatch empty_sequence;
  empty_sequence.add(std::vector<std::int32_t>{});
  expect_error(empty_sequence, "sequence 0 is empty");
  TokenBatch mismatched;
  mismatched.add(std::vector<std::int32_t>{0, 7, 2}, std::vector<std::int32_t>{0, 0});
  expect_error(mismatched, "2 token_type_ids for 3 input_ids");
  TokenBatch bad_offsets;
  bad_offsets.input_ids = {0, 1, 2};
  bad_offsets.token_type_ids = {0, 0, 0};
  bad_offsets.offsets = {0, 2};
  expect_error(bad_offsets, "offsets end at 2 but 3 tokens are packed");
  TokenBatch none;
  auto scores = model_->score(none);
  ASSERT_TRUE(scores.ok());
  EXPECT_TRUE(scores->empty());
}

}  // namespace
}  // namespace winnow::model

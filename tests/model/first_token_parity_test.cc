// An encoder loaded for the first tokens' states (EncoderStates::kFirstTokens,
// as cross-encoders with a head on the first token load it) projects its
// last layer's q for those tokens alone: its states must be those of the
// fused projection's first-token pass, in every precision this CPU runs,
// and in fp32 forward()'s rows of the same tokens. (Not in int8 or bf16:
// int8 models attend in bf16 over every token but in fp32 from the first
// one alone, and bf16 rounds the context, which a summation order flips.)
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/precision.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/layout.h"
#include "model/test_util.h"
#include "model/weights.h"

namespace winnow::model {
namespace {

using testing::golden_path;
using testing::int_vector;
using testing::model_dir;
using testing::read_jsonl;

base::Result<Encoder> load_encoder(const std::string& name, base::Precision precision, EncoderStates states) {
  const auto dir = model_dir(name);
  WINNOW_ASSIGN_OR_RETURN(ModelConfig config, read_model_config(dir / "config.json"));
  WINNOW_ASSIGN_OR_RETURN(Family family, family_of(config, name));
  WINNOW_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  WINNOW_ASSIGN_OR_RETURN(EncoderLayout layout, detect_layout(family, checkpoint));
  WeightReader weights(checkpoint);
  LoadOptions options;
  options.precisions = {precision};
  return Encoder::load(config, layout, checkpoint, weights, options, states);
}

class FirstTokenParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FirstTokenParityTest, FirstTokenStatesAreEveryTokenStatesAtTheFirstTokens) {
  TokenBatch batch;
  const auto records = read_jsonl(golden_path(GetParam() + ".jsonl"));
  ASSERT_GE(records.size(), 24u);
  for (std::size_t i = 0; i < 24; ++i) {
    batch.add(int_vector(records[i]["input_ids"]), int_vector(records[i]["token_type_ids"]));
  }
  const std::size_t sequences = batch.num_sequences();
  for (base::Precision precision : {base::Precision::kFp32, base::Precision::kBf16, base::Precision::kInt8}) {
    if (!kernels::check_precision_supported(precision).ok()) continue;
    SCOPED_TRACE(std::string(base::precision_name(precision)));
    auto every = load_encoder(GetParam(), precision, EncoderStates::kEveryToken);
    auto first = load_encoder(GetParam(), precision, EncoderStates::kFirstTokens);
    ASSERT_TRUE(every.ok()) << every.status().to_string();
    ASSERT_TRUE(first.ok()) << first.status().to_string();
    EncoderWorkspace ws_every, ws_first;
    std::vector<float> all, first_rows, from_every;
    ASSERT_TRUE(every->forward(batch, precision, ws_every, all).ok());
    ASSERT_TRUE(every->forward_first_tokens(batch, precision, ws_every, from_every).ok());
    ASSERT_TRUE(first->forward_first_tokens(batch, precision, ws_first, first_rows).ok());
    const std::size_t h = first->hidden_size();
    ASSERT_EQ(first_rows.size(), sequences * h);
    // The states are LayerNorm outputs, O(1).
    for (std::size_t s = 0; s < sequences; ++s) {
      for (std::size_t c = 0; c < h; ++c) {
        ASSERT_NEAR(first_rows[s * h + c], from_every[s * h + c], 1e-5) << "sequence " << s << " column " << c;
        if (precision != base::Precision::kFp32) continue;
        ASSERT_NEAR(first_rows[s * h + c], all[static_cast<std::size_t>(batch.offsets[s]) * h + c], 1e-5)
            << "against forward(), sequence " << s << " column " << c;
      }
    }
    // forward() needs every token's last layer, which this one does not have.
    std::vector<float> refused;
    EXPECT_EQ(first->forward(batch, precision, ws_first, refused).code(), base::StatusCode::kFailedPrecondition);
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FirstTokenParityTest, ::testing::Values("bert-ce-tiny", "xlmr-ce-tiny-long"),
                         testing::FixtureTestName());

}  // namespace
}  // namespace winnow::model

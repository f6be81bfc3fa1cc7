#include "kernels/attention.h"

#include <omp.h>

#include <cmath>
#include <algorithm>
#include <iostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "base/cpu_features.h"
#include "kernels/bf16.h"
#include "kernels/quantize.h"

namespace winnow::kernels {
namespace {

// softmax(QKᵀ/√d)·V per sequence and head, in double, from the packed layout;
// with a window or causal, query i sums over its allowed keys only.
std::vector<double> naive_attention(const std::vector<float>& qkv, const std::vector<std::int32_t>& offsets,
                                    std::size_t heads, std::size_t d, std::size_t window = 0, bool causal = false) {
  const std::size_t hidden = heads * d, stride = 3 * hidden;
  std::vector<double> out(static_cast<std::size_t>(offsets.back()) * hidden);
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
    const std::size_t begin = offsets[s], len = offsets[s + 1] - offsets[s];
    for (std::size_t h = 0; h < heads; ++h) {
      for (std::size_t i = 0; i < len; ++i) {
        std::vector<double> p(len);
        double max = -1e300;
        for (std::size_t j = 0; j < len; ++j) {
          double dot = 0;
          for (std::size_t c = 0; c < d; ++c) {
            dot += static_cast<double>(qkv[(begin + i) * stride + h * d + c]) *
                   qkv[(begin + j) * stride + hidden + h * d + c];
          }
          p[j] = dot / std::sqrt(static_cast<double>(d));
          max = std::max(max, p[j]);
        }
        double sum = 0;
        for (std::size_t j = 0; j < len; ++j) {
          const bool seen = (window == 0 || (j + window >= i && j <= i + window)) && (!causal || j <= i);
          sum += (p[j] = seen ? std::exp(p[j] - max) : 0.0);
        }
        for (std::size_t c = 0; c < d; ++c) {
          double acc = 0;
          for (std::size_t j = 0; j < len; ++j) acc += p[j] / sum * qkv[(begin + j) * stride + 2 * hidden + h * d + c];
          out[(begin + i) * hidden + h * d + c] = acc;
        }
      }
    }
  }
  return out;
}

std::vector<float> random_qkv(std::size_t tokens, std::size_t hidden, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.5f);
  std::vector<float> v(tokens * 3 * hidden);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<std::int32_t> offsets_of(const std::vector<int>& lengths) {
  std::vector<std::int32_t> offsets{0};
  for (int l : lengths) offsets.push_back(offsets.back() + l);
  return offsets;
}

// Runs a fresh Attention; fails the test on error.
void run(const std::vector<float>& qkv, const std::vector<std::int32_t>& offsets, std::size_t heads, std::size_t d,
         std::vector<float>& out) {
  auto attention = Attention::create(heads, d);
  ASSERT_TRUE(attention.ok());
  std::vector<float> scratch;
  auto status = attention->forward(qkv.data(), offsets, out.data(), scratch);
  ASSERT_TRUE(status.ok()) << status.to_string();
}

TEST(AttentionTest, MatchesNaiveReferenceOverMixedLengths) {
  std::mt19937 rng(5);
  for (std::size_t d : {5u, 16u, 32u}) {
    const std::size_t heads = 3, hidden = heads * d;
    auto offsets = offsets_of({1, 7, 2, 33, 1, 130});
    const std::size_t tokens = offsets.back();
    auto qkv = random_qkv(tokens, hidden, rng);
    std::vector<float> out(tokens * hidden, -7.0f);
    run(qkv, offsets, heads, d, out);
    auto want = naive_attention(qkv, offsets, heads, d);
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << "d=" << d << " i=" << i;
  }
}

// Sliding-window and causal attention (ModernBERT's local layers, decoders)
// against the naive reference, on every kernel this CPU has (fp32): the
// hand-written one where head_dim allows, oneDNN always; and the first-token
// mode, whose one query sees keys 0 .. window.
TEST(AttentionTest, WindowAndCausalMasksMatchNaiveReference) {
  std::mt19937 rng(21);
  for (AttentionKernel kernel : {AttentionKernel::kAuto, AttentionKernel::kOneDnn}) {
    for (std::size_t d : {5u, 16u, 32u}) {
      for (auto [window, causal] : {std::pair<std::size_t, bool>{3, false}, {8, false}, {0, true}, {4, true}}) {
        const std::size_t heads = 2, hidden = heads * d;
        auto offsets = offsets_of({1, 7, 2, 33, 130});
        const std::size_t tokens = offsets.back();
        auto qkv = random_qkv(tokens, hidden, rng);
        auto attention = Attention::create(heads, d, kernel);
        ASSERT_TRUE(attention.ok());
        std::vector<float> out(tokens * hidden, -7.0f), scratch;
        AttentionRequest request;
        request.qkv = qkv.data();
        request.offsets = offsets;
        request.out = out.data();
        request.scratch = &scratch;
        request.window = window;
        request.causal = causal;
        ASSERT_TRUE(attention->forward(request).ok());
        auto want = naive_attention(qkv, offsets, heads, d, window, causal);
        for (std::size_t i = 0; i < out.size(); ++i) {
          ASSERT_NEAR(out[i], want[i], 2e-5) << attention->kernel_name() << " d=" << d << " window=" << window
                                             << " causal=" << causal << " i=" << i;
        }
        std::vector<float> first((offsets.size() - 1) * hidden, -7.0f);
        request.out = first.data();
        request.first_token_only = true;
        ASSERT_TRUE(attention->forward(request).ok());
        for (std::size_t s = 0; s + 1 < offsets.size(); ++s) {
          for (std::size_t c = 0; c < hidden; ++c) {
            ASSERT_NEAR(first[s * hidden + c], want[offsets[s] * hidden + c], 2e-5)
                << attention->kernel_name() << " first token of sequence " << s << " window=" << window;
          }
        }
      }
    }
  }
}

// With many sequences a task holds several heads of one, and the first-token
// path reads each key's row once for all of them (keys outer, heads inner):
// every head's context must still be its own, under a window as well, and
// the same as the full pass's first rows.
TEST(AttentionTest, FirstTokenTasksOfSeveralHeadsMatchNaiveReference) {
  std::mt19937 rng(31);
  const std::size_t heads = 4, d = 32, hidden = heads * d;
  std::vector<int> lengths;
  for (int i = 0; i < 40; ++i) lengths.push_back(1 + (i * 37) % 90);
  const auto offsets = offsets_of(lengths);
  const std::size_t tokens = offsets.back(), sequences = offsets.size() - 1;
  const auto qkv = random_qkv(tokens, hidden, rng);
  auto attention = Attention::create(heads, d);
  ASSERT_TRUE(attention.ok());
  for (std::size_t window : {0u, 6u}) {
    const auto want = naive_attention(qkv, offsets, heads, d, window);
    std::vector<float> first(sequences * hidden, -7.0f);
    AttentionRequest request;
    request.qkv = qkv.data();
    request.offsets = offsets;
    request.out = first.data();
    request.window = window;
    request.first_token_only = true;
    ASSERT_TRUE(attention->forward(request).ok());
    for (std::size_t s = 0; s < sequences; ++s) {
      for (std::size_t c = 0; c < hidden; ++c) {
        ASSERT_NEAR(first[s * hidden + c], want[static_cast<std::size_t>(offsets[s]) * hidden + c], 2e-5)
            << attention->kernel_name() << " sequence " << s << " column " << c << " window " << window;
      }
    }
  }
}

// The bf16 kernel applies the same mask (its products are bf16, so the bound
// is bf16's).
TEST(AttentionTest, WindowMaskInBf16KernelMatchesNaiveReference) {
  if (!base::cpu_features().avx512_bf16) GTEST_SKIP() << "no AVX512_BF16 on this CPU";
  std::mt19937 rng(22);
  const std::size_t heads = 2, d = 32, hidden = heads * d, window = 5;
  auto offsets = offsets_of({3, 40, 17});
  const std::size_t tokens = offsets.back();
  auto qkv = random_qkv(tokens, hidden, rng);
  auto attention = Attention::create(heads, d);
  ASSERT_TRUE(attention.ok());
  std::vector<float> out(tokens * hidden);
  AttentionRequest request;
  request.qkv = qkv.data();
  request.offsets = offsets;
  request.out = out.data();
  request.bf16 = true;
  request.window = window;
  ASSERT_TRUE(attention->forward(request).ok());
  auto want = naive_attention(qkv, offsets, heads, d, window);
  auto full = naive_attention(qkv, offsets, heads, d);
  double worst = 0, worst_unmasked = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    worst = std::max(worst, std::abs(out[i] - want[i]));
    worst_unmasked = std::max(worst_unmasked, std::abs(out[i] - full[i]));
  }
  EXPECT_LE(worst, 0.1);
  EXPECT_GT(worst_unmasked, 0.3);  // the mask changes the result well beyond bf16 rounding
}

// Issue 12: under a window or causal mask each block of queries computes only
// the keys it sees. At lengths where that skips most keys (300, 513 against
// a window of 64), around the window (63, 64, 65) and below one block (1, 7),
// every path the dispatch can take must still give the reference's context:
// the hand-written fp32 kernel (AVX-512, or AVX2 under WINNOW_CPU=avx2),
// oneDNN, the bf16 kernel, the int8 GEMM's row affine, the int8 context
// (out_q) and the first-token mode. Inputs are bf16 values, so the bf16
// kernel's products are exact and a key it wrongly skipped or added would
// stand out from its rounding of the probabilities.
TEST(AttentionTest, MaskedKeysAreSkippedExactlyOnEveryPath) {
  std::mt19937 rng(12);
  const std::size_t heads = 2, d = 64, hidden = heads * d, cols = 3 * hidden;
  const auto offsets = offsets_of({1, 7, 63, 300, 64, 513, 65});
  const std::size_t tokens = offsets.back(), sequences = offsets.size() - 1;
  auto qkv = random_qkv(tokens, hidden, rng);
  for (float& x : qkv) x = to_float(to_bf16(x));
  // The same values as an int8 GEMM's raw output and its row affine.
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  std::vector<float> row_scale(tokens), row_zero(tokens), comp(cols), bias(cols), raw(qkv.size());
  for (auto& v : row_scale) v = u(rng);
  for (auto& v : row_zero) v = std::round(u(rng) * 50);
  for (auto& v : comp) v = u(rng) - 1.0f;
  for (auto& v : bias) v = u(rng) - 1.0f;
  for (std::size_t t = 0; t < tokens; ++t) {
    for (std::size_t c = 0; c < cols; ++c) {
      raw[t * cols + c] = (qkv[t * cols + c] - bias[c]) / row_scale[t] + row_zero[t] * comp[c];
    }
  }
  auto onednn = Attention::create(heads, d, AttentionKernel::kOneDnn);
  auto automatic = Attention::create(heads, d);
  ASSERT_TRUE(onednn.ok() && automatic.ok());
  const bool avx512 = automatic->kernel_name() == "avx512";
  struct Path {
    const Attention* attention;
    bool bf16, affine;
    double tolerance;
  };
  std::vector<Path> paths = {{&*onednn, false, false, 2e-5}};
  if (automatic->kernel_name() != "onednn") paths.push_back({&*automatic, false, false, 2e-5});
  if (avx512) paths.push_back({&*automatic, false, true, 2e-4});
  if (avx512 && base::cpu_features().avx512_bf16) paths.push_back({&*automatic, true, false, 1e-2});
  for (auto [window, causal] : {std::pair<std::size_t, bool>{64, false}, {20, false}, {0, true}, {5, true}}) {
    const auto want = naive_attention(qkv, offsets, heads, d, window, causal);
    for (const Path& path : paths) {
      for (bool first_only : {false, true}) {
        SCOPED_TRACE(path.attention->kernel_name() + (path.bf16 ? " bf16" : "") + (path.affine ? " affine" : "") +
                     (first_only ? " first token" : "") + " window " + std::to_string(window) +
                     (causal ? " causal" : ""));
        const std::size_t rows = first_only ? sequences : tokens;
        std::vector<float> out(rows * hidden, -7.0f), scale(rows), zero(rows), scratch;
        std::vector<std::uint8_t> q(rows * hidden);
        AttentionRequest request;
        request.qkv = path.affine ? raw.data() : qkv.data();
        if (path.affine) request.affine = {row_scale.data(), row_zero.data(), comp.data(), bias.data()};
        request.offsets = offsets;
        request.bf16 = path.bf16;
        request.first_token_only = first_only;
        request.window = window;
        request.causal = causal;
        request.out = out.data();
        request.out_q = q.data();
        request.out_scale = scale.data();
        request.out_zero = zero.data();
        request.scratch = &scratch;
        ASSERT_TRUE(path.attention->forward(request).ok());
        // Counted so that a NaN (a block left with no keys) fails too.
        std::size_t off = 0;
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t token = first_only ? static_cast<std::size_t>(offsets[r]) : r;
          for (std::size_t c = 0; c < hidden; ++c) {
            if (!(std::abs(out[r * hidden + c] - want[token * hidden + c]) <= path.tolerance)) ++off;
          }
        }
        EXPECT_EQ(off, 0u) << "outputs further than " << path.tolerance << " from the reference";
        std::vector<std::uint8_t> q_want(rows * hidden);
        std::vector<float> scale_want(rows), zero_want(rows);
        quantize_rows(out.data(), rows, hidden, q_want.data(), scale_want.data(), zero_want.data());
        EXPECT_EQ(q, q_want);
        EXPECT_EQ(scale, scale_want);
        EXPECT_EQ(zero, zero_want);
      }
    }
  }
}

TEST(AttentionTest, LengthOneSequenceReturnsItsValue) {
  std::mt19937 rng(9);
  const std::size_t heads = 2, d = 4, hidden = heads * d;
  auto qkv = random_qkv(1, hidden, rng);
  std::vector<float> out(hidden);
  run(qkv, offsets_of({1}), heads, d, out);
  for (std::size_t c = 0; c < hidden; ++c) EXPECT_EQ(out[c], qkv[2 * hidden + c]);
}

TEST(AttentionTest, SequenceResultIsBitwiseIndependentOfBatch) {
  std::mt19937 rng(13);
  const std::size_t heads = 4, d = 16, hidden = heads * d;
  const std::vector<int> lengths = {9, 64, 1, 17};
  auto offsets = offsets_of(lengths);
  const std::size_t tokens = offsets.back();
  auto qkv = random_qkv(tokens, hidden, rng);
  std::vector<float> batched(tokens * hidden);
  run(qkv, offsets, heads, d, batched);
  auto want = naive_attention(qkv, offsets, heads, d);
  const int saved_threads = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    std::vector<float> again(tokens * hidden);
    run(qkv, offsets, heads, d, again);
    for (std::size_t i = 0; i < again.size(); ++i) ASSERT_NEAR(again[i], want[i], 2e-5) << "threads " << threads;
  }
  omp_set_num_threads(saved_threads);
  // The same Attention (cached primitives) on each sequence alone, at the same thread count.
  auto attention = Attention::create(heads, d);
  ASSERT_TRUE(attention.ok());
  std::vector<float> scratch;
  for (std::size_t s = 0; s < lengths.size(); ++s) {
    const std::size_t begin = offsets[s], len = lengths[s];
    std::vector<float> alone_qkv(qkv.begin() + begin * 3 * hidden, qkv.begin() + (begin + len) * 3 * hidden);
    std::vector<float> alone(len * hidden);
    ASSERT_TRUE(attention->forward(alone_qkv.data(), offsets_of({static_cast<int>(len)}), alone.data(), scratch).ok());
    for (std::size_t i = 0; i < alone.size(); ++i) ASSERT_EQ(alone[i], batched[begin * hidden + i]) << "sequence " << s;
  }
}

TEST(AttentionTest, LongSequenceIsProcessedInRowBlocks) {
  // 8 heads x 1100 tokens: 1100 x 1100 x 8 scores exceed the 8M-float bound,
  // so rows go in blocks; the result must not show it.
  std::mt19937 rng(21);
  const std::size_t heads = 8, d = 4, hidden = heads * d;
  auto offsets = offsets_of({1100});
  auto qkv = random_qkv(1100, hidden, rng);
  std::vector<float> out(1100 * hidden);
  run(qkv, offsets, heads, d, out);
  auto want = naive_attention(qkv, offsets, heads, d);
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5) << i;
}

TEST(AttentionTest, EmptyAttentionRefuses) {
  Attention empty;
  std::vector<float> scratch;
  float x = 0;
  EXPECT_FALSE(empty.forward(&x, std::vector<std::int32_t>{0, 1}, &x, scratch).ok());
  EXPECT_FALSE(Attention::create(0, 4).ok());
}

TEST(AttentionTest, EmptySequencesAreSkipped) {
  std::mt19937 rng(17);
  const std::size_t heads = 1, d = 8, hidden = 8;
  auto offsets = offsets_of({0, 3, 0});
  auto qkv = random_qkv(3, hidden, rng);
  std::vector<float> out(3 * hidden);
  run(qkv, offsets, heads, d, out);
  auto want = naive_attention(qkv, offsets, heads, d);
  for (std::size_t i = 0; i < out.size(); ++i) ASSERT_NEAR(out[i], want[i], 2e-5);
}

}  // namespace
}  // namespace winnow::kernels

namespace winnow::kernels {
namespace {

// The request form: every variant of the hand-written kernel against the
// double-precision reference. bf16 variants get the error bf16 rounding of
// their inputs explains (2^-8 relative per operand).
class AttentionRequestTest : public ::testing::Test {
 protected:
  static constexpr std::size_t kHeads = 3, kDim = 32, kHidden = kHeads * kDim;

  void SetUp() override {
    std::mt19937 rng(31);
    offsets_ = offsets_of({1, 7, 2, 33, 1, 130, 16});
    tokens_ = static_cast<std::size_t>(offsets_.back());
    qkv_ = random_qkv(tokens_, kHidden, rng);
    want_ = naive_attention(qkv_, offsets_, kHeads, kDim);
    attention_ = std::move(Attention::create(kHeads, kDim)).value();
  }

  // Max |got − want| over the rows `rows` of the output (token rows, or the
  // first token of each sequence when first_only).
  double max_error(const std::vector<float>& got, bool first_only) const {
    double worst = 0;
    const std::size_t sequences = offsets_.size() - 1;
    const std::size_t rows = first_only ? sequences : tokens_;
    for (std::size_t r = 0; r < rows; ++r) {
      const std::size_t token = first_only ? static_cast<std::size_t>(offsets_[r]) : r;
      for (std::size_t c = 0; c < kHidden; ++c) {
        worst = std::max(worst, std::abs(got[r * kHidden + c] - want_[token * kHidden + c]));
      }
    }
    return worst;
  }

  std::vector<std::int32_t> offsets_;
  std::size_t tokens_ = 0;
  std::vector<float> qkv_;
  std::vector<double> want_;
  Attention attention_;
};

TEST_F(AttentionRequestTest, Fp32KernelMatchesReferenceAndFirstTokenRowsMatchFullRows) {
  if (attention_.kernel_name() == "onednn") GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<float> full(tokens_ * kHidden), first((offsets_.size() - 1) * kHidden);
  AttentionRequest request;
  request.qkv = qkv_.data();
  request.offsets = offsets_;
  request.out = full.data();
  ASSERT_TRUE(attention_.forward(request).ok());
  EXPECT_LE(max_error(full, false), 2e-5);
  request.first_token_only = true;
  request.out = first.data();
  ASSERT_TRUE(attention_.forward(request).ok());
  // The first-token path takes each dot product directly (no packing): the
  // same values up to summation order.
  EXPECT_LE(max_error(first, true), 2e-5);
  for (std::size_t s = 0; s + 1 < offsets_.size(); ++s) {
    for (std::size_t c = 0; c < kHidden; ++c) {
      ASSERT_NEAR(first[s * kHidden + c], full[static_cast<std::size_t>(offsets_[s]) * kHidden + c], 1e-5) << s;
    }
  }
}

TEST_F(AttentionRequestTest, Bf16KernelsStayWithinBf16Rounding) {
  if (!base::cpu_features().avx512_bf16) GTEST_SKIP() << "no AVX512_BF16";
  {
    std::vector<float> out(tokens_ * kHidden);
    std::vector<Bf16> out_bf16(tokens_ * kHidden);
    AttentionRequest request;
    request.qkv = qkv_.data();
    request.offsets = offsets_;
    request.bf16 = true;
    request.out = out.data();
    request.out_bf16 = out_bf16.data();
    ASSERT_TRUE(attention_.forward(request).ok());
    // Values are O(1); q·k sums 32 products of N(0, 1.5²) inputs.
    std::cout << "bf16 attention: max error " << max_error(out, false) << "\n";
    EXPECT_LE(max_error(out, false), 0.15);
    for (std::size_t i = 0; i < out.size(); ++i) ASSERT_EQ(out_bf16[i], to_bf16(out[i])) << i;
  }
}

TEST_F(AttentionRequestTest, RowAffineIsAppliedAsValuesAreRead) {
  if (attention_.kernel_name() != "avx512") GTEST_SKIP() << "the affine form needs the AVX-512 kernel";
  // raw = (value − bias) / scale + zero · comp, so that affine(raw) = value.
  std::mt19937 rng(37);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  const std::size_t cols = 3 * kHidden;
  std::vector<float> scale(tokens_), zero(tokens_), comp(cols), bias(cols), raw(qkv_.size());
  for (auto& v : scale) v = u(rng);
  for (auto& v : zero) v = std::round(u(rng) * 50);
  for (auto& v : comp) v = u(rng) - 1.0f;
  for (auto& v : bias) v = u(rng) - 1.0f;
  for (std::size_t t = 0; t < tokens_; ++t) {
    for (std::size_t c = 0; c < cols; ++c) {
      raw[t * cols + c] = (qkv_[t * cols + c] - bias[c]) / scale[t] + zero[t] * comp[c];
    }
  }
  std::vector<float> out(tokens_ * kHidden);
  AttentionRequest request;
  request.qkv = raw.data();
  request.offsets = offsets_;
  request.affine = {scale.data(), zero.data(), comp.data(), bias.data()};
  request.out = out.data();
  ASSERT_TRUE(attention_.forward(request).ok());
  EXPECT_LE(max_error(out, false), 2e-4);
}

// The int8 context (out_q): each output row quantized per row, bitwise what
// quantize_rows makes of the fp32 output, whichever thread finishes the
// sequence (here every head is a task of its own: min_groups splits the
// heads of 7 sequences over 2 threads), on every kernel and in first-token
// mode.
TEST_F(AttentionRequestTest, QuantizedContextIsTheFp32ContextQuantizedPerRow) {
  auto onednn = Attention::create(kHeads, kDim, AttentionKernel::kOneDnn);
  ASSERT_TRUE(onednn.ok());
  for (const Attention* attention : {&attention_, &*onednn}) {
    for (bool bf16 : {false, true}) {
      if (bf16 && (attention->kernel_name() != "avx512" || !base::cpu_features().avx512_bf16)) continue;
      for (bool first_only : {false, true}) {
        SCOPED_TRACE(attention->kernel_name() + (bf16 ? " bf16" : " fp32") + (first_only ? " first" : " all"));
        const std::size_t rows = first_only ? offsets_.size() - 1 : tokens_;
        std::vector<float> out(rows * kHidden, -7.0f), scale(rows, -1.0f), zero(rows, -1.0f);
        std::vector<std::uint8_t> q(rows * kHidden, 0);
        AttentionRequest request;
        request.qkv = qkv_.data();
        request.offsets = offsets_;
        request.bf16 = bf16;
        request.first_token_only = first_only;
        request.out = out.data();
        request.out_q = q.data();
        request.out_scale = scale.data();
        request.out_zero = zero.data();
        ASSERT_TRUE(attention->forward(request).ok());
        EXPECT_LE(max_error(out, first_only), bf16 ? 0.15 : 2e-5);
        std::vector<std::uint8_t> q_want(rows * kHidden);
        std::vector<float> scale_want(rows), zero_want(rows);
        quantize_rows(out.data(), rows, kHidden, q_want.data(), scale_want.data(), zero_want.data());
        EXPECT_EQ(q, q_want);
        EXPECT_EQ(scale, scale_want);
        EXPECT_EQ(zero, zero_want);
      }
    }
  }
  // All three outputs or none, and only beside the fp32 one.
  std::vector<float> out(tokens_ * kHidden), scale(tokens_);
  std::vector<std::uint8_t> q(tokens_ * kHidden);
  AttentionRequest request;
  request.qkv = qkv_.data();
  request.offsets = offsets_;
  request.out = out.data();
  request.out_q = q.data();
  request.out_scale = scale.data();
  EXPECT_EQ(attention_.forward(request).code(), base::StatusCode::kInvalidArgument);
}

// A last layer may project the first tokens' q apart from every token's k
// and v (first_query): the kernels must give what they give on the fused
// rows. The hand-written ones compute each head the same way from the same
// values, so bitwise, except for length-1 sequences, which the fused rows
// send through the packed path (another summation order for q·k: an ulp);
// oneDNN's within the reference bound, as every row is.
TEST_F(AttentionRequestTest, FirstQueryApartGivesTheFusedFirstTokenResult) {
  const std::size_t sequences = offsets_.size() - 1;
  std::vector<float> first_q(sequences * kHidden), kv(tokens_ * 2 * kHidden);
  for (std::size_t s = 0; s < sequences; ++s) {
    const float* row = qkv_.data() + static_cast<std::size_t>(offsets_[s]) * 3 * kHidden;
    std::copy(row, row + kHidden, first_q.begin() + static_cast<std::ptrdiff_t>(s * kHidden));
  }
  for (std::size_t t = 0; t < tokens_; ++t) {
    const float* row = qkv_.data() + t * 3 * kHidden + kHidden;
    std::copy(row, row + 2 * kHidden, kv.begin() + static_cast<std::ptrdiff_t>(t * 2 * kHidden));
  }
  auto onednn = Attention::create(kHeads, kDim, AttentionKernel::kOneDnn);
  ASSERT_TRUE(onednn.ok());
  for (const Attention* attention : {&attention_, &*onednn}) {
    for (bool bf16 : {false, true}) {
      if (bf16 && (attention->kernel_name() != "avx512" || !base::cpu_features().avx512_bf16)) continue;
      SCOPED_TRACE(attention->kernel_name() + (bf16 ? " bf16" : " fp32"));
      std::vector<float> fused(sequences * kHidden, -7.0f), apart(sequences * kHidden, -9.0f);
      AttentionRequest request;
      request.qkv = qkv_.data();
      request.offsets = offsets_;
      request.bf16 = bf16;
      request.first_token_only = true;
      request.out = fused.data();
      ASSERT_TRUE(attention->forward(request).ok());
      request.qkv = kv.data();
      request.first_query = first_q.data();
      request.out = apart.data();
      ASSERT_TRUE(attention->forward(request).ok());
      EXPECT_LE(max_error(apart, true), 2e-5);
      if (attention->kernel_name() == "onednn") continue;
      for (std::size_t s = 0; s < sequences; ++s) {
        if (offsets_[s + 1] - offsets_[s] == 1) continue;
        for (std::size_t c = 0; c < kHidden; ++c) {
          ASSERT_EQ(apart[s * kHidden + c], fused[s * kHidden + c]) << "sequence " << s << " column " << c;
        }
      }
    }
  }
  std::vector<float> out(tokens_ * kHidden);
  AttentionRequest request;
  request.qkv = kv.data();
  request.offsets = offsets_;
  request.first_query = first_q.data();
  request.out = out.data();
  EXPECT_EQ(attention_.forward(request).code(), base::StatusCode::kInvalidArgument) << "needs first_token_only";
}

// With first_query, int8 GEMM outputs: k | v finished by their affine (rows
// by token, columns from k's), q by its own (rows by sequence).
TEST_F(AttentionRequestTest, FirstQueryApartAppliesEachAffine) {
  if (attention_.kernel_name() != "avx512") GTEST_SKIP() << "the affine form needs the AVX-512 kernel";
  std::mt19937 rng(41);
  std::uniform_real_distribution<float> u(0.5f, 2.0f);
  const std::size_t sequences = offsets_.size() - 1, kv_cols = 2 * kHidden;
  // raw = (value − bias) / scale + zero · comp, so that affine(raw) = value.
  auto make = [&](std::size_t rows, std::size_t cols, auto value, std::vector<float>& raw, std::vector<float>& scale,
                  std::vector<float>& zero, std::vector<float>& comp, std::vector<float>& bias) {
    raw.resize(rows * cols);
    scale.resize(rows);
    zero.resize(rows);
    comp.resize(cols);
    bias.resize(cols);
    for (auto& v : scale) v = u(rng);
    for (auto& v : zero) v = std::round(u(rng) * 50);
    for (auto& v : comp) v = u(rng) - 1.0f;
    for (auto& v : bias) v = u(rng) - 1.0f;
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t c = 0; c < cols; ++c) raw[r * cols + c] = (value(r, c) - bias[c]) / scale[r] + zero[r] * comp[c];
    }
  };
  std::vector<float> kv, kv_scale, kv_zero, kv_comp, kv_bias, q, q_scale, q_zero, q_comp, q_bias;
  make(tokens_, kv_cols, [&](std::size_t t, std::size_t c) { return qkv_[t * 3 * kHidden + kHidden + c]; }, kv,
       kv_scale, kv_zero, kv_comp, kv_bias);
  make(sequences, kHidden,
       [&](std::size_t s, std::size_t c) { return qkv_[static_cast<std::size_t>(offsets_[s]) * 3 * kHidden + c]; }, q,
       q_scale, q_zero, q_comp, q_bias);
  std::vector<float> out(sequences * kHidden, -7.0f);
  AttentionRequest request;
  request.qkv = kv.data();
  request.offsets = offsets_;
  request.affine = {kv_scale.data(), kv_zero.data(), kv_comp.data(), kv_bias.data()};
  request.first_token_only = true;
  request.first_query = q.data();
  request.first_query_affine = {q_scale.data(), q_zero.data(), q_comp.data(), q_bias.data()};
  request.out = out.data();
  ASSERT_TRUE(attention_.forward(request).ok());
  EXPECT_LE(max_error(out, true), 2e-4);
}

TEST_F(AttentionRequestTest, OneDnnKernelAgreesWithTheHandWrittenOne) {
  auto onednn = Attention::create(kHeads, kDim, AttentionKernel::kOneDnn);
  ASSERT_TRUE(onednn.ok());
  EXPECT_EQ(onednn->kernel_name(), "onednn");
  std::vector<float> out(tokens_ * kHidden);
  AttentionRequest request;
  request.qkv = qkv_.data();
  request.offsets = offsets_;
  request.out = out.data();
  ASSERT_TRUE(onednn->forward(request).ok());
  EXPECT_LE(max_error(out, false), 2e-5);
  request.bf16 = true;
  EXPECT_FALSE(onednn->forward(request).ok());
}

}  // namespace
}  // namespace winnow::kernels

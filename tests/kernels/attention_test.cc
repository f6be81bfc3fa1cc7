#include "kernels/attention.h"

#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace winnow::kernels {
namespace {

// softmax(QKᵀ/√d)·V per sequence and head, in double, from the packed layout.
std::vector<double> naive_attention(const std::vector<float>& qkv, const std::vector<std::int32_t>& offsets,
                                    std::size_t heads, std::size_t d) {
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
        for (auto& v : p) sum += (v = std::exp(v - max));
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

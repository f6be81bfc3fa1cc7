#include "kernels/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "kernels/activations.h"

namespace winnow::kernels {

namespace {

// One (sequence, head): q, k, v point at the head's first element of the
// sequence's first token; consecutive tokens are `stride` floats apart.
void attend_one_head(const float* q, const float* k, const float* v, std::size_t stride, std::size_t len,
                     std::size_t head_dim, float* out, std::size_t out_stride, float* scores) {
  const float sqrt_d = std::sqrt(static_cast<float>(head_dim));
  for (std::size_t i = 0; i < len; ++i) {
    const float* qi = q + i * stride;
    for (std::size_t j = 0; j < len; ++j) {
      const float* kj = k + j * stride;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (std::size_t c = 0; c < head_dim; ++c) dot += qi[c] * kj[c];
      scores[j] = dot / sqrt_d;
    }
    softmax(scores, len);
    float* oi = out + i * out_stride;
    std::fill(oi, oi + head_dim, 0.0f);
    for (std::size_t j = 0; j < len; ++j) {
      const float p = scores[j];
      const float* vj = v + j * stride;
#pragma omp simd
      for (std::size_t c = 0; c < head_dim; ++c) oi[c] += p * vj[c];
    }
  }
}

}  // namespace

void attention(const float* qkv, std::span<const std::int32_t> offsets, std::size_t num_heads,
               std::size_t head_dim, float* out, std::vector<float>& scratch) {
  if (offsets.size() < 2) return;
  const std::size_t num_sequences = offsets.size() - 1;
  const std::size_t hidden = num_heads * head_dim;
  const std::size_t stride = 3 * hidden;
  std::size_t max_len = 0;
  for (std::size_t s = 0; s < num_sequences; ++s) {
    max_len = std::max(max_len, static_cast<std::size_t>(offsets[s + 1] - offsets[s]));
  }
  if (max_len == 0) return;
  const auto threads = static_cast<std::size_t>(std::max(1, omp_get_max_threads()));
  if (scratch.size() < threads * max_len) scratch.resize(threads * max_len);
  float* scratch_base = scratch.data();
  const auto tasks = static_cast<std::int64_t>(num_sequences * num_heads);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t t = 0; t < tasks; ++t) {
    const std::size_t s = static_cast<std::size_t>(t) / num_heads;
    const std::size_t h = static_cast<std::size_t>(t) % num_heads;
    const auto start = static_cast<std::size_t>(offsets[s]);
    const auto len = static_cast<std::size_t>(offsets[s + 1] - offsets[s]);
    if (len == 0) continue;
    const float* q = qkv + start * stride + h * head_dim;
    float* scores = scratch_base + static_cast<std::size_t>(omp_get_thread_num()) * max_len;
    attend_one_head(q, q + hidden, q + 2 * hidden, stride, len, head_dim, out + start * hidden + h * head_dim,
                    hidden, scores);
  }
}

}  // namespace winnow::kernels

#include "kernels/activation_rows.h"

#include <algorithm>

namespace winnow::kernels {

namespace {

template <typename Vector>
void grow(Vector& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

void ActivationRows::reserve(base::Precision precision, std::size_t rows, std::size_t cols) {
  precision_ = precision;
  rows_ = rows;
  cols_ = cols;
  fp32_ = nullptr;
  switch (precision) {
    case base::Precision::kBf16:
      grow(bf16_, rows * cols);
      break;
    case base::Precision::kInt8:
      grow(q_, rows * cols);
      grow(scale_, rows);
      grow(zero_, rows);
      break;
    case base::Precision::kFp32:
    case base::Precision::kAuto:
      break;
  }
}

void ActivationRows::assign(const float* x, std::size_t rows) {
  switch (precision_) {
    case base::Precision::kBf16:
      convert_to_bf16(x, rows * cols_, bf16_.data());
      break;
    case base::Precision::kInt8:
      quantize_rows(x, rows, cols_, q_.data(), scale_.data(), zero_.data());
      break;
    case base::Precision::kFp32:
    case base::Precision::kAuto:
      fp32_ = x;
      break;
  }
}

void ActivationRows::gather(const ActivationRows& from, std::span<const std::int32_t> rows) {
  const std::size_t n = rows.size(), c = cols_;
  switch (precision_) {
    case base::Precision::kBf16:
      for (std::size_t i = 0; i < n; ++i) {
        const Bf16* src = from.bf16_.data() + static_cast<std::size_t>(rows[i]) * c;
        std::copy(src, src + c, bf16_.data() + i * c);
      }
      break;
    case base::Precision::kInt8:
      for (std::size_t i = 0; i < n; ++i) {
        const auto r = static_cast<std::size_t>(rows[i]);
        std::copy(from.q_.data() + r * c, from.q_.data() + (r + 1) * c, q_.data() + i * c);
        scale_[i] = from.scale_[r];
        zero_[i] = from.zero_[r];
      }
      break;
    case base::Precision::kFp32:
    case base::Precision::kAuto:
      grow(staging_, n * c);
      for (std::size_t i = 0; i < n; ++i) {
        const float* src = from.fp32_ + static_cast<std::size_t>(rows[i]) * c;
        std::copy(src, src + c, staging_.data() + i * c);
      }
      fp32_ = staging_.data();
      break;
  }
}

ActivationRows::Targets ActivationRows::targets() {
  if (precision_ == base::Precision::kBf16) return {.bf16 = bf16_.data()};
  grow(staging_, rows_ * cols_);
  if (precision_ == base::Precision::kInt8) {
    return {.fp32 = staging_.data(), .q = q_.data(), .scale = scale_.data(), .zero = zero_.data()};
  }
  return {.fp32 = staging_.data()};
}

void ActivationRows::complete(std::size_t rows, bool quantized) {
  switch (precision_) {
    case base::Precision::kInt8:
      if (!quantized) quantize_rows(staging_.data(), rows, cols_, q_.data(), scale_.data(), zero_.data());
      break;
    case base::Precision::kFp32:
    case base::Precision::kAuto:
      fp32_ = staging_.data();
      break;
    case base::Precision::kBf16:
      break;
  }
}

ActivationRows::Copies ActivationRows::copies_for(const float* fp32) {
  switch (precision_) {
    case base::Precision::kBf16:
      return {.bf16 = bf16_.data()};
    case base::Precision::kInt8:
      return {.q = q_.data(), .scale = scale_.data(), .zero = zero_.data()};
    case base::Precision::kFp32:
    case base::Precision::kAuto:
      fp32_ = fp32;
      break;
  }
  return {};
}

}  // namespace winnow::kernels

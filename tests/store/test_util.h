// Helpers shared by the store tests: temporary data directories and Status
// assertions that print the error.
#pragma once

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/store.h"

#define WINNOW_ASSERT_OK(expr)                                                          \
  do {                                                                                  \
    const auto& winnow_test_status_ = ::winnow::store::testing::status_of(expr);        \
    ASSERT_TRUE(winnow_test_status_.ok()) << winnow_test_status_.to_string();           \
  } while (false)

#define WINNOW_ASSERT_OK_AND_ASSIGN(lhs, expr)                                             \
  auto WINNOW_CONCAT_(winnow_test_result_, __LINE__) = (expr);                             \
  ASSERT_TRUE(WINNOW_CONCAT_(winnow_test_result_, __LINE__).ok())                          \
      << WINNOW_CONCAT_(winnow_test_result_, __LINE__).status().to_string();               \
  lhs = std::move(WINNOW_CONCAT_(winnow_test_result_, __LINE__)).value()

namespace winnow::store::testing {

inline base::Status status_of(const base::Status& status) { return status; }
template <typename T>
base::Status status_of(const base::Result<T>& result) {
  return result.ok() ? base::Status() : result.status();
}

// A fresh directory under the system temp dir, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "winnow-store-XXXXXX").string();
    char* made = ::mkdtemp(pattern.data());
    if (made == nullptr) std::abort();
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A random unit vector.
inline std::vector<float> random_unit_vector(std::mt19937& rng, std::size_t dims) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(dims);
  double norm = 0;
  for (auto& x : v) {
    x = normal(rng);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  for (auto& x : v) x = static_cast<float>(x / norm);
  return v;
}

inline float dot(const std::vector<float>& a, const std::vector<float>& b) {
  float s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

inline std::vector<std::string> ids_of(const std::vector<ScoredDocument>& hits) {
  std::vector<std::string> ids;
  for (const auto& hit : hits) ids.push_back(hit.document_id);
  return ids;
}

}  // namespace winnow::store::testing

// Sizes, the weight estimate against what loading measures, and the limits a
// registry keeps loaded models under: least recently used idle models are
// unloaded, models in use never are, and what cannot fit is refused.
#include "registry/model_memory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "inference/scorer.h"
#include "registry/model_registry.h"
#include "registry_test_util.h"

namespace winnow::registry {
namespace {

using namespace winnow::registry::testing;

TEST(ByteSizeTest, ParsesBinaryMultiples) {
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("2K"), 2048u);
  EXPECT_EQ(*parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("512mb"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("512MiB"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("4G"), 4ull << 30);
  EXPECT_EQ(*parse_byte_size("1.5G"), 3ull << 29);
  EXPECT_EQ(*parse_byte_size("1T"), 1ull << 40);
  for (const char* bad : {"", "M", "12X", "-1", "0", "1.2.3G", "4 G", "G4"}) {
    auto parsed = parse_byte_size(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("512M"), std::string::npos);
  }
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(8ull << 20), "8.0 MiB");
  EXPECT_EQ(format_bytes(3ull << 29), "1.5 GiB");
}

std::vector<base::Precision> available_precisions() {
  std::vector<base::Precision> out;
  for (base::Precision p : {base::Precision::kFp32, base::Precision::kBf16, base::Precision::kInt8}) {
    if (inference::resolve_precision(p).ok()) out.push_back(p);
  }
  return out;
}

// The estimate is what a budget is checked against before loading: it must
// not undercount what loading measures (ModelInfo::weight_bytes), nor
// overcount it much.
TEST(WeightEstimateTest, MatchesTheMeasuredWeightsOfEveryFixtureInEveryPrecision) {
  const fs::path dir = scratch_dir("estimate");
  const std::vector<std::pair<std::string, std::string>> models = {{"bert-ce-tiny", "reranker"},
                                                                   {"xlmr-ce-tiny", "reranker"},
                                                                   {"xlmr-ce-tiny-long", "reranker"},
                                                                   {"bert-embed-tiny", "embedder"},
                                                                   {"xlmr-embed-tiny", "embedder"}};
  nlohmann::json entries = nlohmann::json::array();
  for (base::Precision p : available_precisions()) {
    for (const auto& [model, kind] : models) {
      entries.push_back({{"name", model + "-" + std::string(base::precision_name(p))},
                         {"source", fixture(model).string()}, {"kind", kind},
                         {"precision", base::precision_name(p)}});
    }
  }
  // A reranker prepared in two precisions counts both.
  if (available_precisions().size() > 1) {
    entries.push_back({{"name", "two-precisions"}, {"source", fixture("bert-ce-tiny").string()},
                       {"precision", base::precision_name(available_precisions().back())}, {"extra_precisions", {"fp32"}}});
  }
  write_text(dir / "models.json", nlohmann::json{{"models", entries}}.dump());
  RegistryOptions options;
  options.models_file = dir / "models.json";
  auto registry = ModelRegistry::create(options);
  ASSERT_TRUE(registry.ok()) << registry.status().to_string();
  for (const nlohmann::json& e : entries) {
    const std::string name = e["name"];
    const bool reranker = e.value("kind", "reranker") == "reranker";
    base::Status loaded = reranker ? (*registry)->reranker(name).status() : (*registry)->embedder(name).status();
    ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.to_string();
    std::vector<base::Precision> precisions = {*base::parse_precision(e["precision"].get<std::string>())};
    if (e.contains("extra_precisions")) precisions.push_back(base::Precision::kFp32);
    auto estimate = estimate_weight_bytes(e["source"].get<std::string>(), precisions);
    ASSERT_TRUE(estimate.ok()) << estimate.status().to_string();
    std::uint64_t measured = 0;
    for (const ModelStatus& s : (*registry)->status()) {
      if (s.entry.name == name) measured = s.resident_bytes;
    }
    ASSERT_GT(measured, 0u) << name;
    EXPECT_GE(static_cast<double>(*estimate), 0.95 * static_cast<double>(measured))
        << name << ": estimate " << *estimate << ", measured " << measured;
    EXPECT_LE(static_cast<double>(*estimate), 1.15 * static_cast<double>(measured))
        << name << ": estimate " << *estimate << ", measured " << measured;
  }
  fs::remove_all(dir);
}

TEST(WeightEstimateTest, CraftedHeadersAreInvalidArgumentNamingTheFile) {
  const fs::path dir = scratch_dir("crafted");
  std::vector<std::string> headers = {
      crafted_safetensors(),
      std::string("\x05\0\0\0\0\0\0\0{not}", 13),
      std::string("\x02\0\0\0\0\0\0\0[]", 10),
  };
  const std::string mismatched = R"({"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4]}})";
  std::string length(8, '\0');
  length[0] = static_cast<char>(mismatched.size());
  headers.push_back(length + mismatched + "abcd");
  const std::string unknown_dtype = R"({"w":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})";
  length[0] = static_cast<char>(unknown_dtype.size());
  headers.push_back(length + unknown_dtype + "abcd");
  for (const std::string& bytes : headers) {
    write_text(dir / "model.safetensors", bytes);
    auto estimate = estimate_weight_bytes(dir, std::vector<base::Precision>{base::Precision::kFp32});
    ASSERT_FALSE(estimate.ok());
    EXPECT_EQ(estimate.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(estimate.status().message().rfind("model.safetensors", 0), 0u) << estimate.status().message();
  }
  fs::remove(dir / "model.safetensors");
  write_text(dir / "model.safetensors.index.json", R"({"weight_map": {"w": "../../etc/passwd"}})");
  auto escaping = estimate_weight_bytes(dir, std::vector<base::Precision>{base::Precision::kFp32});
  ASSERT_FALSE(escaping.ok());
  EXPECT_NE(escaping.status().message().find("not a file name in the model directory"), std::string::npos);
  fs::remove_all(dir);
}

// Registries over the fixture models with limits; unloads are logged.
struct Limited {
  std::unique_ptr<ModelRegistry> registry;
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
};

Limited open_limited(MemoryLimits limits) {
  Limited out;
  RegistryOptions options;
  options.limits = limits;
  options.log = [log = out.log](const std::string& line) { log->push_back(line); };
  auto registry = ModelRegistry::create(options);
  EXPECT_TRUE(registry.ok()) << registry.status().to_string();
  out.registry = std::move(*registry);
  return out;
}

const ModelStatus* find_status(const std::vector<ModelStatus>& all, const std::string& name) {
  for (const ModelStatus& s : all) {
    if (s.entry.name == name) return &s;
  }
  return nullptr;
}

std::vector<float> logits(const rerankers::Reranker& reranker) {
  const std::vector<std::string> docs = {"BM25 ranks by term frequency", "bread needs flour", "cross-encoders"};
  auto outcome = reranker.rerank("what is bm25", docs, docs.size());
  EXPECT_TRUE(outcome.ok()) << outcome.status().to_string();
  std::vector<float> out(docs.size());
  if (outcome.ok()) {
    for (const auto& r : outcome->results) out[r.index] = r.logit;
  }
  return out;
}

TEST(MemoryLimitsTest, TheLeastRecentlyUsedIdleModelIsUnloadedAndReloadedWithTheSameScores) {
  Limited l = open_limited({.max_loaded_models = 1, .budget_bytes = std::nullopt});
  const std::string a = fixture("bert-ce-tiny").string();
  const std::string b = fixture("xlmr-ce-tiny").string();
  std::vector<float> first;
  {
    auto ra = l.registry->reranker(a);
    ASSERT_TRUE(ra.ok()) << ra.status().to_string();
    first = logits(**ra);
  }
  {
    auto rb = l.registry->reranker(b);
    ASSERT_TRUE(rb.ok()) << rb.status().to_string();
    logits(**rb);
  }
  auto status = l.registry->status();
  ASSERT_NE(find_status(status, a), nullptr);
  EXPECT_FALSE(find_status(status, a)->loaded);
  EXPECT_EQ(find_status(status, a)->unloads, 1u);
  EXPECT_EQ(find_status(status, a)->resident_bytes, 0u);
  EXPECT_TRUE(find_status(status, b)->loaded);
  EXPECT_GT(find_status(status, b)->resident_bytes, 0u);
  ASSERT_EQ(l.log->size(), 1u);
  EXPECT_NE((*l.log)[0].find("unloaded model \"" + a + "\""), std::string::npos) << (*l.log)[0];

  auto again = l.registry->reranker(a);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(logits(**again), first) << "a reloaded model scores as before";
  const MemoryStatus memory = l.registry->memory();
  EXPECT_EQ(memory.loads, 3u);
  EXPECT_EQ(memory.unloads, 2u);
  EXPECT_EQ(memory.loaded_models, 1u);
  EXPECT_EQ(memory.used_bytes, find_status(l.registry->status(), a)->resident_bytes);
}

TEST(MemoryLimitsTest, AModelInUseIsNeverUnloadedUnderItsCaller) {
  Limited l = open_limited({.max_loaded_models = 1, .budget_bytes = std::nullopt});
  const std::string a = fixture("bert-ce-tiny").string();
  const std::string b = fixture("xlmr-ce-tiny").string();
  auto held = l.registry->reranker(a);  // a request still scoring with it
  ASSERT_TRUE(held.ok());
  auto refused = l.registry->reranker(b);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kUnavailable);
  const std::string& message = refused.status().message();
  EXPECT_NE(message.find("--max-loaded-models"), std::string::npos) << message;
  EXPECT_NE(message.find("\"" + a + "\""), std::string::npos) << message;
  EXPECT_NE(message.find("in use"), std::string::npos) << message;
  EXPECT_NE(message.find("estimated"), std::string::npos) << message;
  EXPECT_TRUE(find_status(l.registry->status(), a)->in_use);
  EXPECT_FALSE(logits(**held).empty()) << "still scoring";
  held->reset();  // the request is done
  EXPECT_FALSE(find_status(l.registry->status(), a)->in_use);
  EXPECT_TRUE(l.registry->reranker(b).ok());
  EXPECT_EQ(l.registry->memory().refusals, 1u);
}

TEST(MemoryLimitsTest, AModelLargerThanTheBudgetIsRefusedAndSmallerOnesStillLoad) {
  const std::vector<base::Precision> fp32 = {base::Precision::kFp32};
  const std::uint64_t big = *estimate_weight_bytes(fixture("bert-ce-tiny"), fp32);
  const std::uint64_t small = *estimate_weight_bytes(fixture("xlmr-ce-tiny"), fp32);
  ASSERT_LT(small, big);
  Limited l = open_limited({.max_loaded_models = std::nullopt, .budget_bytes = (small + big) / 2});
  auto refused = l.registry->reranker(fixture("bert-ce-tiny").string());
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find(format_bytes(big)), std::string::npos) << refused.status().message();
  EXPECT_NE(refused.status().message().find(format_bytes((small + big) / 2)), std::string::npos);
  EXPECT_NE(refused.status().message().find("--memory-budget"), std::string::npos);
  auto fits = l.registry->reranker(fixture("xlmr-ce-tiny").string());
  ASSERT_TRUE(fits.ok()) << fits.status().to_string();
  EXPECT_LE(l.registry->memory().used_bytes, (small + big) / 2);
}

TEST(MemoryLimitsTest, ABudgetForOneModelAtATimeUnloadsTheOther) {
  const std::vector<base::Precision> fp32 = {base::Precision::kFp32};
  const std::uint64_t a_bytes = *estimate_weight_bytes(fixture("bert-ce-tiny"), fp32);
  const std::uint64_t b_bytes = *estimate_weight_bytes(fixture("xlmr-ce-tiny"), fp32);
  Limited l = open_limited({.max_loaded_models = std::nullopt, .budget_bytes = a_bytes + b_bytes / 2});
  ASSERT_TRUE(l.registry->reranker(fixture("xlmr-ce-tiny").string()).ok());
  ASSERT_TRUE(l.registry->reranker(fixture("bert-ce-tiny").string()).ok());
  const MemoryStatus memory = l.registry->memory();
  EXPECT_EQ(memory.unloads, 1u);
  EXPECT_EQ(memory.loaded_models, 1u);
  EXPECT_LE(memory.used_bytes, a_bytes + b_bytes / 2);
  EXPECT_FALSE(find_status(l.registry->status(), fixture("xlmr-ce-tiny").string())->loaded);
}

TEST(MemoryLimitsTest, ModelsLoadedAtStartMustFitTogether) {
  const fs::path dir = scratch_dir("startup");
  write_text(dir / "models.json",
             nlohmann::json{{"models",
                             {{{"name", "first"}, {"source", fixture("bert-ce-tiny").string()}, {"load_at_start", true}},
                              {{"name", "second"}, {"source", fixture("xlmr-ce-tiny").string()}, {"load_at_start", true}}}}}
                 .dump());
  RegistryOptions options;
  options.models_file = dir / "models.json";
  options.limits.max_loaded_models = 1;
  auto registry = ModelRegistry::create(options);
  ASSERT_TRUE(registry.ok());
  base::Status started = (*registry)->load_startup_models();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), base::StatusCode::kUnavailable);
  EXPECT_NE(started.message().find("load_at_start model \"second\""), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("\"first\""), std::string::npos) << started.message();
  EXPECT_NE(started.message().find("--max-loaded-models"), std::string::npos) << started.message();
  EXPECT_EQ((*registry)->memory().unloads, 0u) << "one start-up model is never unloaded for another";

  options.limits.max_loaded_models = 2;
  auto roomy = ModelRegistry::create(options);
  ASSERT_TRUE(roomy.ok());
  EXPECT_TRUE((*roomy)->load_startup_models().ok());
  EXPECT_EQ((*roomy)->memory().loaded_models, 2u);
  fs::remove_all(dir);
}

// Threads asking for two models with room for one: every answer is either the
// model's right scores or Unavailable, and the limit holds throughout.
TEST(MemoryLimitsTest, ConcurrentCallersShareTheLimitSafely) {
  Limited l = open_limited({.max_loaded_models = 1, .budget_bytes = std::nullopt});
  const std::string names[2] = {fixture("bert-ce-tiny").string(), fixture("xlmr-ce-tiny").string()};
  std::vector<float> expected[2];
  for (int m = 0; m < 2; ++m) expected[m] = logits(**l.registry->reranker(names[m]));
  std::atomic<int> scored{0}, refused{0}, wrong{0}, over_limit{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        const int m = (t + i) % 2;
        auto reranker = l.registry->reranker(names[m]);
        if (l.registry->memory().loaded_models > 1) ++over_limit;
        if (!reranker.ok()) {
          ++(reranker.status().code() == base::StatusCode::kUnavailable ? refused : wrong);
          continue;
        }
        ++(logits(**reranker) == expected[m] ? scored : wrong);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(over_limit.load(), 0);
  EXPECT_EQ(scored + refused, 32);
  EXPECT_GT(scored.load(), 0);
  EXPECT_LE(l.registry->memory().loaded_models, 1u);
}

}  // namespace
}  // namespace winnow::registry

// The model policy of a server's registry: which names a request may use, one
// load per model however it is spelled, and whose fault a broken model is.
#include "registry/model_policy.h"

#include <gtest/gtest.h>

#include <chrono>

#include "registry/model_registry.h"
#include "registry_test_util.h"

namespace winnow::registry {
namespace {

using namespace winnow::registry::testing;

class ModelPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = scratch_dir("policy");
    root_ = base_ / "root";
    copy_model("bert-ce-tiny", root_ / "ce");
    fs::create_directory_symlink(root_ / "ce", root_ / "alias");                // stays inside: allowed
    fs::create_directory_symlink(fixture("xlmr-ce-tiny"), root_ / "escape");    // leads outside: refused
    copy_model("bert-ce-tiny", root_ / "bad-header");
    write_text(root_ / "bad-header" / "model.safetensors", crafted_safetensors());
    copy_model("bert-ce-tiny", root_ / "bad-config");
    write_text(root_ / "bad-config" / "config.json", "{\"model_type\": ");
  }
  static void TearDownTestSuite() { fs::remove_all(base_); }

  static std::unique_ptr<ModelRegistry> open(bool allow_downloads = false,
                                             std::optional<fs::path> models_file = std::nullopt) {
    RegistryOptions options;
    options.policy = ModelPolicy{{root_}, allow_downloads};
    options.pull.offline = true;
    options.pull.cache_dir = base_ / "empty-cache";
    options.models_file = models_file;
    auto registry = ModelRegistry::create(options);
    EXPECT_TRUE(registry.ok()) << registry.status().to_string();
    return std::move(*registry);
  }

  static fs::path base_;
  static fs::path root_;
};

fs::path ModelPolicyTest::base_;
fs::path ModelPolicyTest::root_;

TEST(PathIsInsideTest, ComparesWholeComponents) {
  EXPECT_TRUE(path_is_inside("/a/b", "/a"));
  EXPECT_TRUE(path_is_inside("/a", "/a"));
  EXPECT_TRUE(path_is_inside("/a/b", "/a/"));
  EXPECT_TRUE(path_is_inside("/a/b", "/"));
  EXPECT_FALSE(path_is_inside("/ab", "/a"));
  EXPECT_FALSE(path_is_inside("/", "/a"));
}

TEST_F(ModelPolicyTest, PathsOutsideTheRootsAreRefusedWithoutSayingWhetherTheyExist) {
  auto registry = open();
  const std::vector<std::string> outside = {
      "/etc",
      "/etc/",
      "/no/such/directory",
      fixture("xlmr-ce-tiny").string(),                      // a real model, outside the root
      (root_ / ".." / ".." / "etc").string(),                // ".." out of the root
      (root_ / "ce" / ".." / ".." / "root-sibling").string(),
      (root_ / "escape").string(),                           // a link inside that leads outside
      (root_ / "escape" / "").string(),
      (root_ / "alias" / ".." / "escape").string(),
  };
  for (const std::string& spec : outside) {
    for (ModelKind kind : {ModelKind::kReranker, ModelKind::kEmbedder}) {
      auto resolved = registry->resolve(spec, kind);
      ASSERT_FALSE(resolved.ok()) << spec;
      EXPECT_EQ(resolved.status().code(), base::StatusCode::kPermissionDenied) << spec;
      // The same words for every refused path: nothing about whether it exists.
      EXPECT_EQ(resolved.status().message(), PathPolicy::refused(spec).message()) << spec;
      EXPECT_NE(resolved.status().message().find("--model-dir"), std::string::npos);
    }
    auto loaded = registry->reranker(spec);
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), base::StatusCode::kPermissionDenied) << spec;
  }
  EXPECT_TRUE(registry->status().size() == builtin_models().size()) << "refused names leave nothing behind";
}

TEST_F(ModelPolicyTest, EverySpellingOfADirectoryIsOneLoadedModel) {
  auto registry = open();
  const std::vector<std::string> spellings = {
      (root_ / "ce").string(),
      (root_ / "ce" / "").string(),
      (root_ / "." / "ce" / "." / "").string(),
      (root_ / "alias").string(),                   // a link to it inside the root
      (root_ / "bad-header" / ".." / "ce").string(),
      fs::canonical(root_ / "ce").string(),
      "ce",                                         // relative to the root
  };
  auto first = registry->reranker(spellings[0]);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  for (const std::string& spec : spellings) {
    auto again = registry->reranker(spec);
    ASSERT_TRUE(again.ok()) << spec << ": " << again.status().to_string();
    EXPECT_EQ(again->get(), first->get()) << spec;
  }
  std::size_t listed = 0;
  for (const ModelStatus& s : registry->status()) {
    if (s.entry.builtin) continue;
    ++listed;
    EXPECT_EQ(s.entry.name, (root_ / "ce").lexically_normal().string());
    EXPECT_TRUE(s.loaded);
    EXPECT_EQ(s.loads, 1u);
  }
  EXPECT_EQ(listed, 1u);
  EXPECT_EQ(registry->memory().loads, 1u);
}

TEST_F(ModelPolicyTest, RepoIdsAreDownloadedOnRequestOnlyWhenAllowed) {
  auto strict = open(/*allow_downloads=*/false);
  auto refused = strict->reranker("someorg/some-reranker");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(refused.status().message().find("--allow-downloads"), std::string::npos) << refused.status().message();

  auto open_registry = open(/*allow_downloads=*/true);
  ASSERT_TRUE(open_registry->resolve("someorg/some-reranker", ModelKind::kReranker).ok());
  const auto start = std::chrono::steady_clock::now();
  auto offline = open_registry->reranker("someorg/some-reranker");
  ASSERT_FALSE(offline.ok());
  EXPECT_EQ(offline.status().code(), base::StatusCode::kNotFound) << offline.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "offline: no network, no retries";
}

TEST_F(ModelPolicyTest, NamesAreTheOperatorsAndAlwaysAllowed) {
  const fs::path models_file = base_ / "models.json";
  write_text(models_file, R"({"models": [{"name": "outside-ce", "source": ")" + fixture("bert-ce-tiny").string() +
                              R"("}]})");
  auto registry = open(false, models_file);
  EXPECT_TRUE(registry->resolve("bge-reranker-v2-m3", ModelKind::kReranker).ok());
  auto named = registry->reranker("outside-ce");
  ASSERT_TRUE(named.ok()) << named.status().to_string();
  // The same directory named by path is still outside the root.
  EXPECT_EQ(registry->reranker(fixture("bert-ce-tiny").string()).status().code(),
            base::StatusCode::kPermissionDenied);
}

TEST_F(ModelPolicyTest, AMissingDirectoryInsideARootIsNotFound) {
  auto registry = open();
  auto missing = registry->reranker((root_ / "nope" / "deeper").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no model directory"), std::string::npos) << missing.status().message();
}

TEST_F(ModelPolicyTest, BrokenModelsUnderARootAreTheRequestsFaultNamingTheFile) {
  auto registry = open();
  const std::string canonical_root = fs::canonical(root_).string();
  auto header = registry->reranker((root_ / "bad-header").string());
  ASSERT_FALSE(header.ok());
  EXPECT_EQ(header.status().code(), base::StatusCode::kInvalidArgument) << header.status().to_string();
  EXPECT_NE(header.status().message().find(": model.safetensors: header length"), std::string::npos)
      << header.status().message();

  auto config = registry->reranker((root_ / "bad-config").string());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), base::StatusCode::kInvalidArgument) << config.status().to_string();
  EXPECT_NE(config.status().message().find(": config.json"), std::string::npos) << config.status().message();
  EXPECT_EQ(config.status().message().find(canonical_root + "/bad-config/config.json"), std::string::npos)
      << "files are named within the model directory: " << config.status().message();

  auto embedder = registry->embedder((root_ / "bad-header").string());
  ASSERT_FALSE(embedder.ok());
  EXPECT_EQ(embedder.status().code(), base::StatusCode::kInvalidArgument);
  // Failed loads are not listed, and a good model still loads.
  EXPECT_EQ(registry->status().size(), builtin_models().size());
  EXPECT_TRUE(registry->reranker("ce").ok());
}

TEST_F(ModelPolicyTest, CheckModelIsWhatACollectionsIndexModelIsCheckedWith) {
  auto registry = open();
  EXPECT_EQ(registry->check_model("/etc", ModelKind::kEmbedder).code(), base::StatusCode::kPermissionDenied);
  EXPECT_TRUE(registry->check_model((root_ / "ce").string(), ModelKind::kEmbedder).ok());
  EXPECT_EQ(registry->check_model("bge-reranker-v2-m3", ModelKind::kEmbedder).code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry->check_model("bge-m3", ModelKind::kEmbedder).ok());
  EXPECT_EQ(registry->memory().loads, 0u) << "checking loads nothing";
}

TEST_F(ModelPolicyTest, ARootMustBeAnExistingDirectory) {
  auto policy = PathPolicy::create(ModelPolicy{{base_ / "no-such-root"}, false});
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.status().message().find("--model-dir"), std::string::npos);
  EXPECT_NE(policy.status().message().find("no-such-root"), std::string::npos);
}

TEST_F(ModelPolicyTest, TheCommandLineTakesAnyDirectoryOnceHoweverSpelled) {
  auto registry = ModelRegistry::create({});
  ASSERT_TRUE(registry.ok());
  auto a = (*registry)->reranker(fixture("bert-ce-tiny").string());
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = (*registry)->reranker((fixture("bert-ce-tiny") / "." / "").string());
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ((*registry)->memory().loads, 1u);
}

}  // namespace
}  // namespace winnow::registry

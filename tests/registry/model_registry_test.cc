#include "registry/model_registry.h"

#include <gtest/gtest.h>

#include <fstream>

namespace winnow::registry {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string fixture(const std::string& name) { return (fs::path(WINNOW_TEST_DATA) / "models" / name).string(); }

TEST(ModelRegistryTest, BuiltInNamesOfTheSpec) {
  auto registry = ModelRegistry::create({});
  ASSERT_TRUE(registry.ok()) << registry.status().to_string();
  auto bge = (*registry)->resolve("bge-reranker-v2-m3", ModelKind::kReranker);
  ASSERT_TRUE(bge.ok());
  EXPECT_EQ(bge->source, "BAAI/bge-reranker-v2-m3");
  EXPECT_EQ(bge->backend, ModelBackend::kLocal);
  auto jina = (*registry)->resolve("jina-reranker-v2", ModelKind::kReranker);
  ASSERT_TRUE(jina.ok());
  EXPECT_EQ(jina->source, "jinaai/jina-reranker-v2-base-multilingual");
  auto modernbert = (*registry)->resolve("gte-reranker-modernbert-base", ModelKind::kReranker);
  ASSERT_TRUE(modernbert.ok());
  EXPECT_EQ(modernbert->source, "Alibaba-NLP/gte-reranker-modernbert-base");
  EXPECT_EQ(modernbert->backend, ModelBackend::kLocal);
  EXPECT_EQ(modernbert->revision, "f7481e6055501a30fb19d090657df9ec1f79ab2c");
  struct Pinned {
    const char* name;
    const char* repo;
    const char* revision;
  };
  for (const Pinned& p : {Pinned{"qwen3-reranker-0.6b", "Qwen/Qwen3-Reranker-0.6B",
                                 "e61197ed45024b0ed8a2d74b80b4d909f1255473"},
                          Pinned{"qwen3-reranker-4b", "Qwen/Qwen3-Reranker-4B",
                                 "22e683669bc0f0bd69640a1354a6d0aebcfeede5"},
                          Pinned{"qwen3-reranker-8b", "Qwen/Qwen3-Reranker-8B",
                                 "77d193c791ed757ca307ee72715aa132723da912"}}) {
    auto qwen = (*registry)->resolve(p.name, ModelKind::kReranker);
    ASSERT_TRUE(qwen.ok()) << p.name;
    EXPECT_EQ(qwen->source, p.repo);
    EXPECT_EQ(qwen->revision, p.revision) << p.name;
    EXPECT_EQ(qwen->backend, ModelBackend::kLocal);
  }
  auto cohere = (*registry)->resolve("cohere-rerank-v3", ModelKind::kReranker);
  ASSERT_TRUE(cohere.ok());
  EXPECT_EQ(cohere->backend, ModelBackend::kCohere);
  EXPECT_EQ(cohere->remote_model, "rerank-english-v3.0");
  EXPECT_EQ((*registry)->resolve("cohere-rerank-v3.5", ModelKind::kReranker)->remote_model, "rerank-v3.5");
}

TEST(ModelRegistryTest, UnknownNamesListTheKnownOnes) {
  auto registry = ModelRegistry::create({});
  auto bad = (*registry)->resolve("not a model!", ModelKind::kReranker);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(bad.status().message().find("bge-reranker-v2-m3"), std::string::npos) << bad.status().message();
}

TEST(ModelRegistryTest, ModelsFileAddsAndOverridesWithErrorsNamingTheEntry) {
  auto parsed = parse_models_file(
      json{{"models",
            {{{"name", "fast"}, {"source", "cross-encoder/ms-marco-MiniLM-L-6-v2"}, {"max_tokens", 256}},
             {{"name", "far"}, {"base_url", "http://10.0.0.2:8080"}, {"path", "/v1/rerank"}, {"model", "bge-reranker-v2-m3"}},
             {{"name", "bge-m3"}, {"kind", "embedder"}, {"source", "/models/bge-m3"}}}}},
      "models.json");
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].max_tokens, 256u);
  EXPECT_EQ((*parsed)[1].backend, ModelBackend::kCohere);
  EXPECT_EQ((*parsed)[1].remote_model, "bge-reranker-v2-m3");
  EXPECT_EQ((*parsed)[2].kind, ModelKind::kEmbedder);

  auto precise = parse_models_file(
      json{{"models", {{{"name", "q"}, {"source", "a/b"}, {"precision", "int8"}, {"extra_precisions", {"fp32"}}}}}},
      "models.json");
  ASSERT_TRUE(precise.ok()) << precise.status().to_string();
  EXPECT_EQ((*precise)[0].precision, base::Precision::kInt8);
  ASSERT_EQ((*precise)[0].extra_precisions.size(), 1u);
  EXPECT_FALSE(parse_models_file(json{{"models", {{{"name", "q"}, {"source", "a/b"}, {"precision", "fp8"}}}}}, "m.json").ok());
  auto instructed = parse_models_file(
      json{{"models", {{{"name", "q"}, {"source", "Qwen/Qwen3-Reranker-0.6B"}, {"instruction", "Judge code"}}}}}, "m.json");
  ASSERT_TRUE(instructed.ok()) << instructed.status().to_string();
  EXPECT_EQ((*instructed)[0].instruction, "Judge code");
  EXPECT_EQ((*instructed)[0].to_json()["instruction"], "Judge code");
  auto bad_instruction =
      parse_models_file(json{{"models", {{{"name", "q"}, {"source", "a/b"}, {"instruction", 3}}}}}, "m.json");
  ASSERT_FALSE(bad_instruction.ok());
  EXPECT_NE(bad_instruction.status().message().find("instruction"), std::string::npos);

  auto bad = parse_models_file(json{{"models", {{{"name", "x"}, {"source", "a/b"}, {"max_token", 5}}}}}, "models.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "models.json: models[0]: unknown field \"max_token\"");
  bad = parse_models_file(json{{"models", {{{"source", "a/b"}}}}}, "models.json");
  EXPECT_EQ(bad.status().message(), "models.json: models[0]: needs a string \"name\"");
  bad = parse_models_file(json{{"models", {{{"name", "x"}, {"source", "a/b"}, {"kind", "classifier"}}}}}, "m.json");
  EXPECT_EQ(bad.status().message(), "m.json: models[0].kind: must be \"reranker\" or \"embedder\"");
}

TEST(ModelRegistryTest, LoadsLocalDirectoriesOnceAndChecksTheKind) {
  auto registry = ModelRegistry::create({});
  auto a = (*registry)->reranker(fixture("bert-ce-tiny"));
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = (*registry)->reranker(fixture("bert-ce-tiny"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a->get(), b->get()) << "loaded once, shared";
  std::vector<std::string> docs = {"a cat", "bm25 ranking"};
  auto outcome = (*a)->rerank("ranking", docs, 1);
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->results.size(), 1u);
  auto embedder = (*registry)->embedder(fixture("bert-embed-tiny"));
  ASSERT_TRUE(embedder.ok()) << embedder.status().to_string();
  EXPECT_EQ((*embedder)->dimensions(), 64u);
  bool listed = false;
  for (const ModelStatus& s : (*registry)->status()) listed = listed || (s.entry.name == fixture("bert-ce-tiny") && s.loaded);
  EXPECT_TRUE(listed);
  auto wrong = (*registry)->embedder("bge-reranker-v2-m3");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "model \"bge-reranker-v2-m3\" is a reranker, not an embedding model");
}

TEST(ModelRegistryTest, OfflineWithoutTheModelSaysHowToGetIt) {
  RegistryOptions options;
  options.pull.cache_dir = fs::temp_directory_path() / ("winnow_registry_empty_" + std::to_string(::getpid()));
  options.download = false;
  auto registry = ModelRegistry::create(options);
  auto missing = (*registry)->reranker("bge-reranker-v2-m3");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), base::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("winnow pull bge-reranker-v2-m3"), std::string::npos)
      << missing.status().message();
}

TEST(ModelRegistryTest, AMissingExplicitModelsFileIsAnError) {
  RegistryOptions options;
  options.models_file = "/nonexistent/models.json";
  options.models_file_required = true;
  auto registry = ModelRegistry::create(options);
  ASSERT_FALSE(registry.ok());
  EXPECT_NE(registry.status().message().find("/nonexistent/models.json"), std::string::npos);
}

// Cohere's model names as aliases of a local model: the client's default
// "model" reaches it, loaded once whichever name is used; an alias that is
// already a name, a tei entry, and a bad alias list are errors or entries.
TEST(ModelRegistryTest, AliasesReachTheSameModel) {
  const fs::path dir = fs::temp_directory_path() / ("winnow_registry_aliases_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "models.json")
      << json{{"models", {{{"name", "local-bert"}, {"source", fixture("bert-ce-tiny")},
                           {"aliases", {"rerank-english-v3.0", "rerank-v3.5"}}},
                          {{"name", "tei-m3"}, {"backend", "tei"}, {"base_url", "http://127.0.0.1:9"}}}}}
             .dump();
  RegistryOptions options;
  options.models_file = dir / "models.json";
  auto registry = ModelRegistry::create(options);
  ASSERT_TRUE(registry.ok()) << registry.status().to_string();
  auto by_name = (*registry)->reranker("local-bert");
  auto by_alias = (*registry)->reranker("rerank-english-v3.0");
  ASSERT_TRUE(by_name.ok()) << by_name.status().to_string();
  ASSERT_TRUE(by_alias.ok()) << by_alias.status().to_string();
  EXPECT_EQ(by_name->get(), by_alias->get()) << "one loaded model under both names";
  EXPECT_EQ((*registry)->resolve("rerank-v3.5", ModelKind::kReranker)->name, "local-bert");
  auto tei = (*registry)->resolve("tei-m3", ModelKind::kReranker);
  ASSERT_TRUE(tei.ok());
  EXPECT_EQ(tei->backend, ModelBackend::kTei);
  EXPECT_EQ(tei->path, "/rerank");
  EXPECT_EQ(tei->max_documents_per_request, 32u);
  EXPECT_EQ(tei->to_json()["backend"], "tei");

  std::ofstream(dir / "models.json", std::ios::trunc)
      << json{{"models", {{{"name", "a"}, {"source", "x/y"}, {"aliases", {"cohere-rerank-v3"}}}}}}.dump();
  auto taken = ModelRegistry::create(options);
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.status().message().find("alias \"cohere-rerank-v3\""), std::string::npos) << taken.status().message();
  EXPECT_FALSE(parse_models_file(json{{"models", {{{"name", "a"}, {"source", "x/y"}, {"aliases", "b"}}}}}, "m.json").ok());
  EXPECT_FALSE(parse_models_file(json{{"models", {{{"name", "t"}, {"backend", "tei"}}}}}, "m.json").ok())
      << "a tei entry needs its base_url";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace winnow::registry

// A Reranker backed by Winnow's own engine: a Hugging Face cross-encoder
// directory scored by inference::Scorer. The one local rerank path: the
// server and pipelines get it from the registry, `winnow rerank` builds it
// with its command-line flags.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "inference/scorer.h"
#include "rerankers/reranker.h"
#include "rerankers/score_cache.h"

namespace winnow::rerankers {

class LocalCrossEncoder : public Reranker {
 public:
  // `name` and `revision` are what responses report as having answered (a
  // registry name or repo id, and a commit hash when known). With
  // `score_cache`, scores are looked up there first and stored there after
  // (score_cache.h); the cache may be shared by many models.
  static base::Result<std::unique_ptr<LocalCrossEncoder>> load(const std::filesystem::path& model_dir,
                                                               const inference::ScorerOptions& options,
                                                               std::string name, std::string revision,
                                                               std::shared_ptr<ScoreCache> score_cache = nullptr);

  base::Result<RerankOutcome> rerank(std::string_view query, std::span<const std::string> documents,
                                     std::size_t top_n,
                                     const RerankOptions& options = {}) const override;

  const inference::Scorer& scorer() const { return *scorer_; }
  const std::filesystem::path& model_dir() const { return model_dir_; }

 private:
  LocalCrossEncoder(std::filesystem::path model_dir, std::unique_ptr<inference::Scorer> scorer, std::string name,
                    std::string revision, std::shared_ptr<ScoreCache> score_cache, std::string identity)
      : model_dir_(std::move(model_dir)), scorer_(std::move(scorer)), name_(std::move(name)),
        revision_(std::move(revision)), score_cache_(std::move(score_cache)), identity_(std::move(identity)) {}

  // score_documents through the cache: hits from it, the rest from the
  // engine (stored after), in input order. `use` counts what happened.
  std::vector<base::Result<inference::DocumentScore>> score_cached(std::string_view query,
                                                                   std::span<const std::string> documents,
                                                                   const inference::DocumentOptions& options,
                                                                   base::Precision precision,
                                                                   ScoreCacheUse& use) const;

  std::filesystem::path model_dir_;
  std::unique_ptr<inference::Scorer> scorer_;
  std::string name_;
  std::string revision_;
  std::shared_ptr<ScoreCache> score_cache_;  // null: no cache
  // Who computed the cache's scores: the directory and revision, or with no
  // revision the directory and this load's number (files may change between loads).
  std::string identity_;
};

}  // namespace winnow::rerankers

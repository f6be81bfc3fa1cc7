// The models Winnow knows by name, and the loaded ones.
//
// A model is asked for by a registry name ("bge-reranker-v2-m3"), a Hugging
// Face repo id ("cross-encoder/ms-marco-MiniLM-L-6-v2") or a directory. Names
// come built in (the spec's three rerankers and common embedders) and from a
// models file that adds or overrides entries:
//
//   {"models": [
//     {"name": "fast-ce", "source": "cross-encoder/ms-marco-MiniLM-L-6-v2", "revision": "main",
//      "kind": "reranker", "max_tokens": 512, "precision": "int8", "extra_precisions": ["fp32"],
//      "load_at_start": true},
//     {"name": "far-bge", "backend": "cohere", "base_url": "http://10.0.0.2:8080",
//      "path": "/v1/rerank", "model": "bge-reranker-v2-m3"}]}
//
// Local models are found in the Hugging Face cache or downloaded on first use
// (unless offline), then loaded once and shared. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "inference/embedder.h"
#include "inference/scorer.h"
#include "hub/hub_download.h"
#include "rerankers/reranker.h"

namespace winnow::registry {

enum class ModelKind { kReranker, kEmbedder };
enum class ModelBackend { kLocal, kCohere };

struct ModelEntry {
  std::string name;
  ModelKind kind = ModelKind::kReranker;
  ModelBackend backend = ModelBackend::kLocal;
  bool builtin = false;
  // Local: a repo id or a directory. Cohere: unused (see remote_model).
  std::string source;
  std::string revision = "main";
  std::optional<std::size_t> max_tokens;  // the engine's max_length for this model
  // Local models: the precision requests get by default ("auto": the fastest
  // that met the agreement bar on this CPU), and further ones prepared at load
  // for requests that name them.
  base::Precision precision = base::Precision::kFp32;
  std::vector<base::Precision> extra_precisions;
  bool load_at_start = false;
  // Cohere-compatible endpoints.
  std::string remote_model;  // sent as "model"
  std::string base_url;      // default https://api.cohere.com
  std::string path = "/v2/rerank";
  std::string api_key_env = "COHERE_API_KEY";
  std::size_t max_documents_per_request = 1000;
  std::chrono::milliseconds timeout{30'000};

  nlohmann::json to_json() const;
};

struct RegistryOptions {
  std::optional<std::filesystem::path> models_file;  // read if it exists
  bool models_file_required = false;                  // an explicit --models FILE must exist
  bool download = true;                               // pull missing models (unless offline)
  hub::PullOptions pull;                              // cache dir, endpoint, token, offline, progress
  inference::BatchLimits batch_limits;
};

// What `winnow models` and GET /v1/models show.
struct ModelStatus {
  ModelEntry entry;
  std::optional<std::filesystem::path> local_dir;  // where its files are, when on disk
  std::uint64_t bytes_on_disk = 0;                 // safetensors weights
  bool loaded = false;
};

class ModelRegistry {
 public:
  static base::Result<std::unique_ptr<ModelRegistry>> create(const RegistryOptions& options);

  // The built-in entries with the models file's on top, by name.
  std::vector<ModelEntry> entries() const;

  // The entry `spec` names: a registry name, else a directory or repo id as
  // an unnamed local model of `kind`.
  base::Result<ModelEntry> resolve(std::string_view spec, ModelKind kind) const;

  // Loaded once per spec and shared; concurrent first uses wait for one load.
  base::Result<std::shared_ptr<const rerankers::Reranker>> reranker(std::string_view spec);
  base::Result<std::shared_ptr<const inference::Embedder>> embedder(std::string_view spec);

  // Loads the entries marked load_at_start.
  base::Status load_startup_models();

  // Told the size of every batch a local reranker's engine runs, with the
  // model's name (the server's batch-size metrics). Models loaded before the
  // call are not observed: set it before load_startup_models().
  using EngineBatchObserver = std::function<void(const std::string& model, std::size_t pairs, std::size_t tokens)>;
  void observe_engine_batches(EngineBatchObserver observer) { engine_batch_observer_ = std::move(observer); }

  // Every known entry plus the loaded unnamed ones, with disk and load state.
  std::vector<ModelStatus> status() const;

  // The directory of a local model, downloading it when allowed.
  base::Result<std::filesystem::path> local_dir(const ModelEntry& entry);

 private:
  explicit ModelRegistry(RegistryOptions options) : options_(std::move(options)) {}

  struct Slot {
    std::mutex load_mutex;  // held while loading, so concurrent first uses wait
    std::shared_ptr<const rerankers::Reranker> reranker;
    std::shared_ptr<const inference::Embedder> embedder;
    std::atomic<bool> loaded{false};  // read by status() without waiting for a load
  };
  Slot& slot_for(const std::string& key);

  RegistryOptions options_;
  EngineBatchObserver engine_batch_observer_;
  std::map<std::string, ModelEntry> entries_;
  mutable std::mutex mutex_;                  // guards slots_ and unnamed_
  std::map<std::string, std::unique_ptr<Slot>> slots_;
  std::map<std::string, ModelEntry> unnamed_;  // repo ids and directories used so far
};

// Parses a models file's JSON; errors name the entry index and field.
base::Result<std::vector<ModelEntry>> parse_models_file(const nlohmann::json& json, const std::string& source);

// The built-in names: bge-reranker-v2-m3, jina-reranker-v2, cohere-rerank-v3 (+ variants), and embedders.
std::vector<ModelEntry> builtin_models();

}  // namespace winnow::registry

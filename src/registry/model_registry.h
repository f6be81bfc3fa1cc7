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
//      "path": "/v1/rerank", "model": "bge-reranker-v2-m3"},
//     {"name": "tei-bge", "backend": "tei", "base_url": "http://10.0.0.3:8080"}]}
//
// Local models are found in the Hugging Face cache or downloaded on first use
// (unless offline), then loaded once and shared: one copy per model identity
// (a registry name, a resolved directory, or a repo id at a revision), however
// a request spells it. A server sets a ModelPolicy (which models requests may
// name, model_policy.h) and MemoryLimits (how many loaded models and how many
// weight bytes, model_memory.h): idle models are unloaded least recently used
// first to make room, and a load that cannot fit is refused. Thread-safe.
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
#include "registry/model_memory.h"
#include "registry/model_policy.h"
#include "rerankers/reranker.h"
#include "rerankers/score_cache.h"

namespace winnow::registry {

enum class ModelKind { kReranker, kEmbedder };
// kTei: Hugging Face text-embeddings-inference's POST /rerank.
enum class ModelBackend { kLocal, kCohere, kTei };

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
  // Decoder rerankers (Qwen3-Reranker): the instruction their prompt carries
  // when a request names none (models file "instruction"); unset: the model
  // card's. A model that takes no instruction fails to load with one.
  std::optional<std::string> instruction;
  bool load_at_start = false;
  // Cohere-compatible endpoints and TEI servers.
  std::string remote_model;  // Cohere: sent as "model"; TEI: what it serves, for reports (optional)
  std::string base_url;      // Cohere: default https://api.cohere.com; TEI: required
  std::string path = "/v2/rerank";             // TEI: /rerank
  std::string api_key_env = "COHERE_API_KEY";  // TEI: none unless named
  std::size_t max_documents_per_request = 1000;  // TEI: 32, its --max-client-batch-size default
  std::chrono::milliseconds timeout{30'000};
  // Further names requests may use for this entry (models file "aliases"),
  // e.g. Cohere's "rerank-english-v3.0" for a local model, so that clients
  // whose default model name cannot be changed reach it. Same loaded model.
  std::vector<std::string> aliases;

  nlohmann::json to_json() const;
};

struct RegistryOptions {
  std::optional<std::filesystem::path> models_file;  // read if it exists
  bool models_file_required = false;                  // an explicit --models FILE must exist
  bool download = true;                               // pull missing models (unless offline)
  hub::PullOptions pull;                              // cache dir, endpoint, token, offline, progress
  inference::BatchLimits batch_limits;
  // Tokens waiting in one engine's queue beyond which a server's requests are
  // refused (429) and the command line's calls wait (EngineOptions).
  std::size_t max_queued_tokens = inference::EngineOptions{}.max_queued_tokens;
  // The order each engine serves queued requests in: highest response ratio first, a
  // request waiting longer than aging_seconds before all others (0: arrival order).
  inference::SchedulingLimits scheduling;
  // Set by a server: every model name comes from a request and must pass
  // this policy. Unset (the command line): any directory or repo id.
  std::optional<ModelPolicy> policy;
  MemoryLimits limits;
  // Told each unload and each load refused for memory, one line each (the
  // server's log). Called with the registry's lock held: it must not call back.
  std::function<void(const std::string& line)> log;
  // Shared by every local reranker this registry loads (keys name the model,
  // its revision and settings, so models never see each other's scores).
  // Null: no cache (the command line; `winnow serve --score-cache-mb 0`).
  std::shared_ptr<rerankers::ScoreCache> score_cache;
};

// What `winnow models` and GET /v1/models show.
struct ModelStatus {
  ModelEntry entry;
  std::optional<std::filesystem::path> local_dir;  // where its files are, when on disk
  std::uint64_t bytes_on_disk = 0;                 // safetensors weights
  bool loaded = false;
  bool loading = false;
  bool in_use = false;                        // held by a request right now
  std::uint64_t resident_bytes = 0;           // measured weight bytes while loaded, else 0
  std::optional<std::int64_t> last_used_ms;   // Unix time of the last use, when used since start
  std::uint64_t loads = 0;                    // loads since start (reloads after an unload included)
  std::uint64_t unloads = 0;                  // unloaded to make room
};

// The loaded models' memory against the limits, and what happened so far.
struct MemoryStatus {
  std::uint64_t used_bytes = 0;  // loaded models' measured weights + estimates of those loading
  std::optional<std::uint64_t> budget_bytes;
  std::size_t loaded_models = 0;  // local models loaded or loading
  std::optional<std::size_t> max_loaded_models;
  std::uint64_t loads = 0;
  std::uint64_t unloads = 0;   // idle models unloaded to make room
  std::uint64_t refusals = 0;  // loads refused because they could not fit
};

class ModelRegistry {
 public:
  static base::Result<std::unique_ptr<ModelRegistry>> create(const RegistryOptions& options);

  // The built-in entries with the models file's on top, by name.
  std::vector<ModelEntry> entries() const;

  // The entry `spec` names: a registry name, else a directory or repo id as
  // an unnamed local model of `kind`. Under a policy: PermissionDenied for a
  // path outside the --model-dir roots (whether or not it exists), NotFound
  // for a repo id when requests may not download, or for a missing directory
  // inside a root.
  base::Result<ModelEntry> resolve(std::string_view spec, ModelKind kind) const;

  // OK when `spec` names a model of `kind` that this registry would load:
  // resolve() and the kind check, without loading or downloading anything.
  // What a collection's vector index model is checked with at creation.
  base::Status check_model(std::string_view spec, ModelKind kind) const;

  // Loaded once per model identity and shared; concurrent first uses wait
  // for one load. Under limits, idle models (no caller holds them) are
  // unloaded least recently used first to make room; when even that cannot
  // make room, Unavailable naming the limits, the model's estimated size and
  // what is loaded. A directory named under a policy that fails to load is
  // InvalidArgument (the request's fault), naming the file within it.
  // Callers keep the model loaded for as long as they hold the pointer.
  base::Result<std::shared_ptr<const rerankers::Reranker>> reranker(std::string_view spec);
  base::Result<std::shared_ptr<const inference::Embedder>> embedder(std::string_view spec);

  // Loads the entries marked load_at_start, within the limits and without
  // unloading one for another: a set that does not fit is an error naming them.
  base::Status load_startup_models();

  // What the engines of local models tell the server's metrics, with the
  // model's name, from the engines' threads. Models loaded before the call
  // are not observed: set it before load_startup_models().
  struct EngineObserver {
    // Every batch run: sequences (pairs or texts) and tokens.
    std::function<void(const std::string& model, ModelKind kind, std::size_t items, std::size_t tokens)> batch;
    // Every call's wait in the engine's queue.
    std::function<void(const std::string& model, double seconds)> queue_wait;
    // Sequences dropped unrun (their request's deadline passed or it was cancelled).
    std::function<void(const std::string& model, std::size_t sequences)> dropped;
  };
  void observe_engines(EngineObserver observer) { engine_observer_ = std::move(observer); }

  // Every known entry plus the unnamed ones loaded so far (once each), with
  // disk, load and memory state.
  std::vector<ModelStatus> status() const;
  MemoryStatus memory() const;
  // The rerankers' score cache; null when there is none.
  const rerankers::ScoreCache* score_cache() const { return options_.score_cache.get(); }

  // The directory of a local model, downloading it when allowed.
  base::Result<std::filesystem::path> local_dir(const ModelEntry& entry);

 private:
  explicit ModelRegistry(RegistryOptions options) : options_(std::move(options)) {}

  // What a spec names, and the identity its loaded copy is shared under.
  struct Resolved {
    ModelEntry entry;
    std::string key;  // "name:N", "dir:KIND:CANONICAL" or "repo:KIND:REPO@REVISION"
    std::optional<std::filesystem::path> dir;  // a directory named by path, links resolved
    bool request_directory = false;            // named under a policy: load errors are the client's
  };
  base::Result<Resolved> resolve_spec(std::string_view spec, ModelKind kind) const;

  struct Slot {
    ModelEntry entry;
    std::optional<std::filesystem::path> dir;
    bool request_directory = false;
    std::mutex load_mutex;  // held while loading, so concurrent first uses wait
    // The rest is guarded by the registry's mutex_.
    std::shared_ptr<const rerankers::Reranker> reranker;
    std::shared_ptr<const inference::Embedder> embedder;
    bool local = true;     // remote models hold no weights and count against no limit
    bool loading = false;  // `bytes` is reserved while it loads
    std::uint64_t bytes = 0;  // the estimate while loading, the measured weights once loaded
    std::chrono::steady_clock::time_point last_use;
    std::optional<std::int64_t> last_used_ms;
    std::uint64_t loads = 0;
    std::uint64_t unloads = 0;
    bool loaded() const { return reranker != nullptr || embedder != nullptr; }
    // Only the registry holds it: it may be unloaded.
    bool idle() const {
      return reranker ? reranker.use_count() == 1 : embedder ? embedder.use_count() == 1 : true;
    }
  };
  // The pointers a caller takes, copied under mutex_ so an unload cannot race them.
  struct Held {
    std::shared_ptr<const rerankers::Reranker> reranker;
    std::shared_ptr<const inference::Embedder> embedder;
  };
  std::shared_ptr<Slot> slot_for(const Resolved& resolved);
  base::Result<Held> acquire(std::string_view spec, ModelKind kind, bool may_unload);
  base::Result<Held> load_local(const std::shared_ptr<Slot>& slot, ModelKind kind, bool may_unload);
  std::optional<Held> take_loaded(Slot& slot);  // caller holds mutex_
  // Makes room for `bytes` more under the limits, unloading idle models into
  // `unloaded` (destroyed by the caller, outside the lock); marks `slot` loading.
  base::Status reserve(Slot& slot, std::uint64_t bytes, bool may_unload,
                       std::vector<Held>& unloaded);  // caller holds mutex_
  void unload(Slot& slot, const std::string& why, std::vector<Held>& unloaded);  // caller holds mutex_
  std::string loaded_summary() const;  // caller holds mutex_
  // Sets the engine's queue bound and wires its callbacks to engine_observer_.
  void observe(inference::EngineOptions& options, const std::string& name, ModelKind kind) const;
  base::Status client_error(const base::Status& status, const Slot& slot) const;

  RegistryOptions options_;
  std::optional<PathPolicy> policy_;
  EngineObserver engine_observer_;
  std::map<std::string, ModelEntry> entries_;
  std::map<std::string, std::string> aliases_;  // alias -> entry name
  mutable std::mutex mutex_;  // guards slots_, the slots' state and the counters
  std::map<std::string, std::shared_ptr<Slot>> slots_;
  std::uint64_t loads_ = 0;
  std::uint64_t unloads_ = 0;
  std::uint64_t refusals_ = 0;
};

// Parses a models file's JSON; errors name the entry index and field.
base::Result<std::vector<ModelEntry>> parse_models_file(const nlohmann::json& json, const std::string& source);

// The built-in names: bge-reranker-v2-m3, jina-reranker-v2, ms-marco-MiniLM-L-6-v2,
// gte-reranker-modernbert-base, cohere-rerank-v3 (+ variants), and embedders.
std::vector<ModelEntry> builtin_models();

}  // namespace winnow::registry

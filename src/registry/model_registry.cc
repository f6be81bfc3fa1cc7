#include "registry/model_registry.h"

#include <algorithm>
#include <cstdlib>

#include "base/env.h"
#include "base/files.h"
#include "rerankers/cohere_reranker.h"
#include "hub/hub_cache.h"
#include "rerankers/local_cross_encoder.h"

namespace winnow::registry {
namespace fs = std::filesystem;
namespace {

ModelEntry local(std::string name, ModelKind kind, std::string repo) {
  ModelEntry e;
  e.name = std::move(name);
  e.kind = kind;
  e.builtin = true;
  e.source = std::move(repo);
  return e;
}

ModelEntry cohere(std::string name, std::string api_model) {
  ModelEntry e;
  e.name = std::move(name);
  e.backend = ModelBackend::kCohere;
  e.builtin = true;
  e.remote_model = std::move(api_model);
  e.base_url = std::string(rerankers::kCohereBaseUrl);
  return e;
}

std::string_view kind_name(ModelKind kind) { return kind == ModelKind::kReranker ? "reranker" : "embedder"; }

std::uint64_t safetensors_bytes(const fs::path& dir) {
  std::uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".safetensors") bytes += fs::file_size(entry.path(), ec);  // follows links
  }
  return bytes;
}

}  // namespace

nlohmann::json ModelEntry::to_json() const {
  nlohmann::json j = {{"name", name}, {"kind", kind_name(kind)}, {"builtin", builtin}};
  if (backend == ModelBackend::kLocal) {
    j["backend"] = "local";
    j["source"] = source;
    j["revision"] = revision;
    if (max_tokens) j["max_tokens"] = *max_tokens;
    j["precision"] = base::precision_name(precision);
    if (!extra_precisions.empty()) {
      nlohmann::json extra = nlohmann::json::array();
      for (base::Precision p : extra_precisions) extra.push_back(base::precision_name(p));
      j["extra_precisions"] = std::move(extra);
    }
    j["load_at_start"] = load_at_start;
  } else {
    j["backend"] = "cohere";
    j["model"] = remote_model;
    j["base_url"] = base_url;
    j["path"] = path;
  }
  return j;
}

std::vector<ModelEntry> builtin_models() {
  return {
      local("bge-reranker-v2-m3", ModelKind::kReranker, "BAAI/bge-reranker-v2-m3"),
      local("jina-reranker-v2", ModelKind::kReranker, "jinaai/jina-reranker-v2-base-multilingual"),
      local("ms-marco-MiniLM-L-6-v2", ModelKind::kReranker, "cross-encoder/ms-marco-MiniLM-L-6-v2"),
      cohere("cohere-rerank-v3", "rerank-english-v3.0"),
      cohere("cohere-rerank-v3-multilingual", "rerank-multilingual-v3.0"),
      cohere("cohere-rerank-v3.5", "rerank-v3.5"),
      local("bge-m3", ModelKind::kEmbedder, "BAAI/bge-m3"),
      local("all-MiniLM-L6-v2", ModelKind::kEmbedder, "sentence-transformers/all-MiniLM-L6-v2"),
  };
}

base::Result<std::vector<ModelEntry>> parse_models_file(const nlohmann::json& json, const std::string& source) {
  const nlohmann::json* list = &json;
  if (json.is_object()) {
    auto it = json.find("models");
    if (it == json.end() || json.size() != 1) {
      return base::invalid_argument(source + ": expected {\"models\": [...]} or an array of model entries");
    }
    list = &*it;
  }
  if (!list->is_array()) return base::invalid_argument(source + ": \"models\" must be an array");
  std::vector<ModelEntry> entries;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& item = (*list)[i];
    const std::string where = source + ": models[" + std::to_string(i) + "]";
    if (!item.is_object()) return base::invalid_argument(where + ": must be an object");
    ModelEntry e;
    auto string_field = [&](const char* key, std::string& out, bool required) -> base::Status {
      auto it = item.find(key);
      if (it == item.end()) {
        return required ? base::invalid_argument(where + ": needs a string \"" + key + "\"") : base::Status();
      }
      if (!it->is_string() || it->get<std::string>().empty()) {
        return base::invalid_argument(where + ".\"" + key + "\": must be a non-empty string");
      }
      out = it->get<std::string>();
      return {};
    };
    WINNOW_RETURN_IF_ERROR(string_field("name", e.name, true));
    std::string backend = item.contains("base_url") || item.contains("model") ? "cohere" : "local";
    WINNOW_RETURN_IF_ERROR(string_field("backend", backend, false));
    std::string kind = "reranker";
    WINNOW_RETURN_IF_ERROR(string_field("kind", kind, false));
    if (kind != "reranker" && kind != "embedder") {
      return base::invalid_argument(where + ".kind: must be \"reranker\" or \"embedder\"");
    }
    e.kind = kind == "reranker" ? ModelKind::kReranker : ModelKind::kEmbedder;
    if (backend == "local") {
      WINNOW_RETURN_IF_ERROR(string_field("source", e.source, true));
      WINNOW_RETURN_IF_ERROR(string_field("revision", e.revision, false));
    } else if (backend == "cohere") {
      if (e.kind != ModelKind::kReranker) return base::invalid_argument(where + ": a cohere backend is a reranker");
      e.backend = ModelBackend::kCohere;
      e.base_url = std::string(rerankers::kCohereBaseUrl);
      WINNOW_RETURN_IF_ERROR(string_field("model", e.remote_model, true));
      WINNOW_RETURN_IF_ERROR(string_field("base_url", e.base_url, false));
      WINNOW_RETURN_IF_ERROR(string_field("path", e.path, false));
      WINNOW_RETURN_IF_ERROR(string_field("api_key_env", e.api_key_env, false));
    } else {
      return base::invalid_argument(where + ".backend: must be \"local\" or \"cohere\"");
    }
    auto positive = [&](const char* key, std::size_t max) -> base::Result<std::optional<std::size_t>> {
      auto it = item.find(key);
      if (it == item.end()) return std::optional<std::size_t>();
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::uint64_t>() > max) {
        return base::invalid_argument(where + "." + key + ": must be an integer from 1 to " + std::to_string(max));
      }
      return std::optional<std::size_t>(it->get<std::size_t>());
    };
    WINNOW_ASSIGN_OR_RETURN(e.max_tokens, positive("max_tokens", 1u << 20));
    WINNOW_ASSIGN_OR_RETURN(auto per_request, positive("max_documents_per_request", 100000));
    if (per_request) e.max_documents_per_request = *per_request;
    WINNOW_ASSIGN_OR_RETURN(auto timeout_ms, positive("timeout_ms", 3600000));
    if (timeout_ms) e.timeout = std::chrono::milliseconds(*timeout_ms);
    if (auto it = item.find("precision"); it != item.end()) {
      if (!it->is_string()) return base::invalid_argument(where + ".precision: must be fp32, bf16, int8 or auto");
      auto parsed = base::parse_precision(it->get<std::string>());
      if (!parsed.ok()) return parsed.status().with_context(where + ".precision");
      e.precision = *parsed;
    }
    if (auto it = item.find("extra_precisions"); it != item.end()) {
      if (!it->is_array()) return base::invalid_argument(where + ".extra_precisions: must be an array");
      for (const auto& name : *it) {
        auto parsed = name.is_string() ? base::parse_precision(name.get<std::string>())
                                       : base::Result<base::Precision>(base::invalid_argument("not a string"));
        if (!parsed.ok()) return parsed.status().with_context(where + ".extra_precisions");
        e.extra_precisions.push_back(*parsed);
      }
    }
    if (auto it = item.find("load_at_start"); it != item.end()) {
      if (!it->is_boolean()) return base::invalid_argument(where + ".load_at_start: must be true or false");
      e.load_at_start = it->get<bool>();
    }
    static const std::vector<std::string> kKnown = {
        "name",     "kind",       "backend",          "source",   "revision",    "max_tokens",
        "precision", "extra_precisions", "load_at_start", "model", "base_url", "path",
        "api_key_env", "max_documents_per_request", "timeout_ms"};
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (std::find(kKnown.begin(), kKnown.end(), it.key()) == kKnown.end()) {
        return base::invalid_argument(where + ": unknown field \"" + it.key() + "\"");
      }
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

base::Result<std::unique_ptr<ModelRegistry>> ModelRegistry::create(const RegistryOptions& options) {
  std::unique_ptr<ModelRegistry> registry(new ModelRegistry(options));
  for (ModelEntry& e : builtin_models()) registry->entries_[e.name] = std::move(e);
  if (options.models_file) {
    std::error_code ec;
    if (fs::exists(*options.models_file, ec)) {
      WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(*options.models_file));
      WINNOW_ASSIGN_OR_RETURN(std::vector<ModelEntry> entries,
                              parse_models_file(json, options.models_file->string()));
      for (ModelEntry& e : entries) registry->entries_[e.name] = std::move(e);
    } else if (options.models_file_required) {
      return base::not_found(options.models_file->string() + ": no such models file");
    }
  }
  return registry;
}

std::vector<ModelEntry> ModelRegistry::entries() const {
  std::vector<ModelEntry> out;
  for (const auto& [name, e] : entries_) out.push_back(e);
  return out;
}

base::Result<ModelEntry> ModelRegistry::resolve(std::string_view spec, ModelKind kind) const {
  if (spec.empty()) return base::invalid_argument("model: empty name");
  if (auto it = entries_.find(std::string(spec)); it != entries_.end()) return it->second;
  std::error_code ec;
  if (fs::is_directory(fs::path(spec), ec) || hub::looks_like_repo_id(spec)) {
    ModelEntry e;
    e.name = std::string(spec);
    e.kind = kind;
    e.source = std::string(spec);
    return e;
  }
  std::string names;
  for (const auto& [name, e] : entries_) names += (names.empty() ? "" : ", ") + name;
  return base::not_found("unknown model \"" + std::string(spec) +
                         "\": not a known name, a directory or a Hugging Face repo id (known: " + names + ")");
}

base::Result<fs::path> ModelRegistry::local_dir(const ModelEntry& entry) {
  std::error_code ec;
  if (fs::is_directory(fs::path(entry.source), ec)) return fs::path(entry.source);
  if (options_.download) {
    auto found = hub::find_or_pull(entry.source, entry.revision, options_.pull);
    if (!found.ok()) return found.status().with_context("model \"" + entry.name + "\"");
    return found->snapshot_dir;
  }
  const fs::path cache = options_.pull.cache_dir.value_or(hub::hub_cache_dir());
  auto snapshot = hub::find_cached_snapshot(cache, entry.source, entry.revision);
  if (snapshot.ok() && hub::check_snapshot_complete(*snapshot).ok()) return snapshot;
  return base::not_found("model \"" + entry.name + "\" (" + entry.source + ") is not in the Hugging Face cache at " +
                         cache.string() + "; fetch it with: winnow pull " + entry.name);
}

ModelRegistry::Slot& ModelRegistry::slot_for(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& slot = slots_[key];
  if (!slot) slot = std::make_unique<Slot>();
  return *slot;
}

base::Result<std::shared_ptr<const rerankers::Reranker>> ModelRegistry::reranker(std::string_view spec) {
  WINNOW_ASSIGN_OR_RETURN(ModelEntry entry, resolve(spec, ModelKind::kReranker));
  if (entry.kind != ModelKind::kReranker) {
    return base::invalid_argument("model \"" + entry.name + "\" is an embedding model, not a reranker");
  }
  Slot& slot = slot_for(entry.name);
  std::lock_guard<std::mutex> load(slot.load_mutex);
  if (slot.reranker) return slot.reranker;
  if (entry.backend == ModelBackend::kCohere) {
    rerankers::CohereOptions o;
    o.model = entry.remote_model;
    o.base_url = entry.base_url;
    o.path = entry.path;
    if (auto key = base::env(entry.api_key_env.c_str())) o.api_key = *key;
    o.timeout = entry.timeout;
    o.max_documents_per_request = entry.max_documents_per_request;
    WINNOW_ASSIGN_OR_RETURN(std::unique_ptr<rerankers::CohereReranker> cohere_reranker, rerankers::CohereReranker::create(std::move(o)));
    slot.reranker = std::move(cohere_reranker);
  } else {
    WINNOW_ASSIGN_OR_RETURN(fs::path dir, local_dir(entry));
    inference::ScorerOptions o;
    o.max_length = entry.max_tokens;
    o.batch_limits = options_.batch_limits;
    o.precision = entry.precision;
    o.extra_precisions = entry.extra_precisions;
    if (engine_batch_observer_) {
      o.on_batch = [observer = engine_batch_observer_, name = entry.name](std::size_t pairs, std::size_t tokens) {
        observer(name, pairs, tokens);
      };
    }
    auto loaded = rerankers::LocalCrossEncoder::load(dir, o, entry.name, hub::snapshot_revision(dir));
    if (!loaded.ok()) return loaded.status().with_context("model \"" + entry.name + "\"");
    slot.reranker = std::move(*loaded);
  }
  slot.loaded = true;
  if (!entry.builtin && entries_.count(entry.name) == 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    unnamed_[entry.name] = entry;
  }
  return slot.reranker;
}

base::Result<std::shared_ptr<const inference::Embedder>> ModelRegistry::embedder(std::string_view spec) {
  WINNOW_ASSIGN_OR_RETURN(ModelEntry entry, resolve(spec, ModelKind::kEmbedder));
  if (entry.kind != ModelKind::kEmbedder) {
    return base::invalid_argument("model \"" + entry.name + "\" is a reranker, not an embedding model");
  }
  Slot& slot = slot_for(entry.name);
  std::lock_guard<std::mutex> load(slot.load_mutex);
  if (slot.embedder) return slot.embedder;
  WINNOW_ASSIGN_OR_RETURN(fs::path dir, local_dir(entry));
  inference::EmbedderOptions o;
  o.max_length = entry.max_tokens;
  o.batch_limits = options_.batch_limits;
  o.precision = entry.precision;
  auto loaded = inference::Embedder::load(dir, o);
  if (!loaded.ok()) return loaded.status().with_context("model \"" + entry.name + "\"");
  slot.embedder = std::move(*loaded);
  slot.loaded = true;
  if (entries_.count(entry.name) == 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    unnamed_[entry.name] = entry;
  }
  return slot.embedder;
}

base::Status ModelRegistry::load_startup_models() {
  for (const auto& [name, entry] : entries_) {
    if (!entry.load_at_start) continue;
    if (entry.kind == ModelKind::kReranker) {
      WINNOW_RETURN_IF_ERROR(reranker(name).status());
    } else {
      WINNOW_RETURN_IF_ERROR(embedder(name).status());
    }
  }
  return {};
}

std::vector<ModelStatus> ModelRegistry::status() const {
  std::vector<ModelEntry> all = entries();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, e] : unnamed_) all.push_back(e);
  }
  const fs::path cache = options_.pull.cache_dir.value_or(hub::hub_cache_dir());
  std::vector<ModelStatus> out;
  for (const ModelEntry& e : all) {
    ModelStatus s;
    s.entry = e;
    if (e.backend == ModelBackend::kLocal) {
      std::error_code ec;
      if (fs::is_directory(fs::path(e.source), ec)) {
        s.local_dir = fs::path(e.source);
      } else if (auto snapshot = hub::find_cached_snapshot(cache, e.source, e.revision); snapshot.ok()) {
        s.local_dir = *snapshot;
      }
      if (s.local_dir) s.bytes_on_disk = safetensors_bytes(*s.local_dir);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = slots_.find(e.name); it != slots_.end()) {
      s.loaded = it->second->loaded.load();
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace winnow::registry

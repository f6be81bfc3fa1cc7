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

ModelEntry local(std::string name, ModelKind kind, std::string repo, std::string revision = "main") {
  ModelEntry e;
  e.name = std::move(name);
  e.kind = kind;
  e.builtin = true;
  e.source = std::move(repo);
  e.revision = std::move(revision);
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
  if (!aliases.empty()) j["aliases"] = aliases;
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
    if (instruction) j["instruction"] = *instruction;
    j["load_at_start"] = load_at_start;
  } else {
    j["backend"] = backend == ModelBackend::kTei ? "tei" : "cohere";
    if (!remote_model.empty()) j["model"] = remote_model;
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
      // The ModernBERT and decoder rerankers follow a pinned commit, so a pull
      // gets the files their parity was checked against: the publisher-pinned
      // revision of gte-reranker-modernbert-base, and Qwen3-Reranker's
      // 2026-04-16 commits (the Sentence Transformers update) of each size.
      local("gte-reranker-modernbert-base", ModelKind::kReranker, "Alibaba-NLP/gte-reranker-modernbert-base",
            "f7481e6055501a30fb19d090657df9ec1f79ab2c"),
      local("qwen3-reranker-0.6b", ModelKind::kReranker, "Qwen/Qwen3-Reranker-0.6B",
            "e61197ed45024b0ed8a2d74b80b4d909f1255473"),
      local("qwen3-reranker-4b", ModelKind::kReranker, "Qwen/Qwen3-Reranker-4B",
            "22e683669bc0f0bd69640a1354a6d0aebcfeede5"),
      local("qwen3-reranker-8b", ModelKind::kReranker, "Qwen/Qwen3-Reranker-8B",
            "77d193c791ed757ca307ee72715aa132723da912"),
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
    } else if (backend == "tei") {
      if (e.kind != ModelKind::kReranker) return base::invalid_argument(where + ": a tei backend is a reranker");
      e.backend = ModelBackend::kTei;
      e.path = "/rerank";
      e.api_key_env.clear();
      e.max_documents_per_request = 32;
      WINNOW_RETURN_IF_ERROR(string_field("base_url", e.base_url, true));
      WINNOW_RETURN_IF_ERROR(string_field("model", e.remote_model, false));
      WINNOW_RETURN_IF_ERROR(string_field("path", e.path, false));
      WINNOW_RETURN_IF_ERROR(string_field("api_key_env", e.api_key_env, false));
    } else {
      return base::invalid_argument(where + ".backend: must be \"local\", \"cohere\" or \"tei\"");
    }
    auto positive = [&](const char* key, std::size_t max) -> base::Result<std::optional<std::size_t>> {
      auto it = item.find(key);
      if (it == item.end()) return std::optional<std::size_t>();
      if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::uint64_t>() > max) {
        return base::invalid_argument(where + "." + key + ": must be an integer from 1 to " + std::to_string(max));
      }
      return std::optional<std::size_t>(it->get<std::size_t>());
    };
    if (auto it = item.find("aliases"); it != item.end()) {
      if (!it->is_array()) return base::invalid_argument(where + ".aliases: must be an array of names");
      for (const auto& alias : *it) {
        if (!alias.is_string() || alias.get<std::string>().empty()) {
          return base::invalid_argument(where + ".aliases: must be an array of non-empty names");
        }
        e.aliases.push_back(alias.get<std::string>());
      }
    }
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
    if (auto it = item.find("instruction"); it != item.end()) {
      if (!it->is_string()) return base::invalid_argument(where + ".instruction: must be a string");
      e.instruction = it->get<std::string>();
    }
    if (auto it = item.find("load_at_start"); it != item.end()) {
      if (!it->is_boolean()) return base::invalid_argument(where + ".load_at_start: must be true or false");
      e.load_at_start = it->get<bool>();
    }
    static const std::vector<std::string> kKnown = {
        "name",     "kind",       "backend",          "source",   "revision",    "max_tokens",
        "precision", "extra_precisions", "load_at_start", "model", "base_url", "path",
        "api_key_env", "max_documents_per_request", "timeout_ms", "aliases", "instruction"};
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
  if (options.policy) {
    WINNOW_ASSIGN_OR_RETURN(PathPolicy policy, PathPolicy::create(*options.policy));
    registry->policy_ = std::move(policy);
  }
  if (options.limits.max_loaded_models && *options.limits.max_loaded_models == 0) {
    return base::invalid_argument("--max-loaded-models: must be at least 1");
  }
  for (ModelEntry& e : builtin_models()) registry->entries_[e.name] = std::move(e);
  if (options.models_file) {
    std::error_code ec;
    if (fs::exists(*options.models_file, ec)) {
      WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(*options.models_file));
      WINNOW_ASSIGN_OR_RETURN(std::vector<ModelEntry> entries,
                              parse_models_file(json, options.models_file->string()));
      for (ModelEntry& e : entries) registry->entries_[e.name] = std::move(e);
      for (const auto& [name, e] : registry->entries_) {
        for (const std::string& alias : e.aliases) {
          if (registry->entries_.count(alias) != 0 || registry->aliases_.count(alias) != 0) {
            return base::invalid_argument(options.models_file->string() + ": model \"" + name + "\": alias \"" +
                                          alias + "\" is already a model name or another model's alias");
          }
          registry->aliases_[alias] = name;
        }
      }
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

base::Result<ModelRegistry::Resolved> ModelRegistry::resolve_spec(std::string_view spec, ModelKind kind) const {
  if (spec.empty()) return base::invalid_argument("model: empty name");
  if (auto it = entries_.find(std::string(spec)); it != entries_.end()) {
    return Resolved{it->second, "name:" + it->first, std::nullopt, false};
  }
  if (auto alias = aliases_.find(std::string(spec)); alias != aliases_.end()) {
    const ModelEntry& e = entries_.at(alias->second);
    return Resolved{e, "name:" + e.name, std::nullopt, false};
  }
  auto unnamed = [&](std::string name, std::string source) {
    ModelEntry e;
    e.name = std::move(name);
    e.kind = kind;
    e.source = std::move(source);
    return e;
  };
  auto repo = [&] {
    Resolved r{unnamed(std::string(spec), std::string(spec)), "", std::nullopt, false};
    r.key = "repo:" + std::string(kind_name(kind)) + ":" + r.entry.source + "@" + r.entry.revision;
    return r;
  };
  auto known_names = [&] {
    std::string names;
    for (const auto& [name, e] : entries_) names += (names.empty() ? "" : ", ") + name;
    return names;
  };

  if (!policy_) {
    // The command line: any directory, then any repo id.
    std::error_code ec;
    const fs::path path{std::string(spec)};
    if (fs::is_directory(path, ec)) {
      const fs::path canonical = fs::weakly_canonical(path, ec);
      fs::path name = path.lexically_normal();
      if (name.has_relative_path() && name.filename().empty()) name = name.parent_path();
      Resolved r{unnamed(name.string(), std::string(spec)), "", canonical, false};
      r.key = "dir:" + std::string(kind_name(kind)) + ":" + canonical.string();
      return r;
    }
    if (hub::looks_like_repo_id(spec)) return repo();
    return base::not_found("unknown model \"" + std::string(spec) +
                           "\": not a known name, a directory or a Hugging Face repo id (known: " + known_names() + ")");
  }

  // A request's name: directories only under the roots, repo ids only when
  // requests may download.
  const PathPolicy::Found found = policy_->find_directory(spec);
  if (found.lookup == PathPolicy::Lookup::kDirectory) {
    const PolicyDirectory& d = *found.directory;
    Resolved r{unnamed(d.display, d.display), "", d.canonical, true};
    r.key = "dir:" + std::string(kind_name(kind)) + ":" + d.canonical.string();
    return r;
  }
  if (found.lookup == PathPolicy::Lookup::kEscapes) return PathPolicy::refused(spec);
  if (hub::looks_like_repo_id(spec)) {
    if (policy_->allow_downloads()) return repo();
    return base::not_found("unknown model \"" + std::string(spec) +
                           "\": not a name this server knows, nor a model directory under its --model-dir roots; "
                           "Hugging Face repo ids are downloaded on request only when the server runs with "
                           "--allow-downloads (or give it a name in the models file; known names: " +
                           known_names() + ")");
  }
  if (found.lookup == PathPolicy::Lookup::kMissing) {
    return base::not_found("model \"" + std::string(spec) + "\": no model directory there under the --model-dir roots");
  }
  return PathPolicy::refused(spec);
}

base::Result<ModelEntry> ModelRegistry::resolve(std::string_view spec, ModelKind kind) const {
  WINNOW_ASSIGN_OR_RETURN(Resolved r, resolve_spec(spec, kind));
  return r.entry;
}

namespace {

base::Status check_kind(const ModelEntry& entry, ModelKind kind) {
  if (entry.kind == kind) return {};
  return base::invalid_argument("model \"" + entry.name + "\" is " +
                                (entry.kind == ModelKind::kReranker ? "a reranker, not an embedding model"
                                                                    : "an embedding model, not a reranker"));
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

base::Status ModelRegistry::check_model(std::string_view spec, ModelKind kind) const {
  WINNOW_ASSIGN_OR_RETURN(Resolved r, resolve_spec(spec, kind));
  return check_kind(r.entry, kind);
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

std::shared_ptr<ModelRegistry::Slot> ModelRegistry::slot_for(const Resolved& resolved) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<Slot>& slot = slots_[resolved.key];
  if (!slot) {
    slot = std::make_shared<Slot>();
    slot->entry = resolved.entry;
    slot->dir = resolved.dir;
    slot->request_directory = resolved.request_directory;
    slot->local = resolved.entry.backend == ModelBackend::kLocal;
  }
  return slot;
}

std::optional<ModelRegistry::Held> ModelRegistry::take_loaded(Slot& slot) {
  if (!slot.loaded()) return std::nullopt;
  slot.last_use = std::chrono::steady_clock::now();
  slot.last_used_ms = unix_ms();
  return Held{slot.reranker, slot.embedder};
}

std::string ModelRegistry::loaded_summary() const {
  std::string out;
  for (const auto& [key, slot] : slots_) {
    if (!slot->local || !(slot->loaded() || slot->loading)) continue;
    out += (out.empty() ? "" : ", ") + ("\"" + slot->entry.name + "\" (" + format_bytes(slot->bytes) +
                                        (slot->loading ? ", loading" : slot->idle() ? ", idle" : ", in use") + ")");
  }
  return out.empty() ? "none" : out;
}

void ModelRegistry::unload(Slot& slot, const std::string& why, std::vector<Held>& unloaded) {
  const auto idle_for = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - slot.last_use);
  if (options_.log) {
    options_.log("unloaded model \"" + slot.entry.name + "\" (" + format_bytes(slot.bytes) + ", idle " +
                 std::to_string(idle_for.count()) + " s) " + why);
  }
  unloaded.push_back(Held{std::move(slot.reranker), std::move(slot.embedder)});
  slot.reranker.reset();
  slot.embedder.reset();
  slot.bytes = 0;
  ++slot.unloads;
  ++unloads_;
}

base::Status ModelRegistry::reserve(Slot& slot, std::uint64_t bytes, bool may_unload, std::vector<Held>& unloaded) {
  const MemoryLimits& limits = options_.limits;
  std::uint64_t used = 0;
  std::size_t count = 0;
  std::vector<Slot*> idle;
  for (const auto& [key, other] : slots_) {
    if (other.get() == &slot || !other->local || !(other->loaded() || other->loading)) continue;
    used += other->bytes;
    ++count;
    if (!other->loading && other->idle()) idle.push_back(other.get());
  }
  auto fits = [&](std::uint64_t u, std::size_t c) {
    return (!limits.budget_bytes || u + bytes <= *limits.budget_bytes) &&
           (!limits.max_loaded_models || c + 1 <= *limits.max_loaded_models);
  };
  auto refuse = [&](const std::string& reason) {
    ++refusals_;
    std::string message = "cannot load model \"" + slot.entry.name + "\" (weights about " + format_bytes(bytes) +
                          ", estimated): " + reason + "; loaded: " + loaded_summary();
    if (options_.log) options_.log("refused to load: " + message);
    return base::unavailable(message);
  };
  if (limits.budget_bytes && bytes > *limits.budget_bytes) {
    return refuse("more than the whole memory budget of " + format_bytes(*limits.budget_bytes) +
                  " (--memory-budget)");
  }
  // Least recently used first; unload only if that makes enough room.
  std::sort(idle.begin(), idle.end(), [](const Slot* a, const Slot* b) { return a->last_use < b->last_use; });
  std::size_t take = 0;
  std::uint64_t u = used;
  std::size_t c = count;
  while (!fits(u, c) && may_unload && take < idle.size()) {
    u -= idle[take]->bytes;
    --c;
    ++take;
  }
  if (!fits(u, c)) {
    std::string limit;
    if (limits.budget_bytes) {
      limit = "the memory budget is " + format_bytes(*limits.budget_bytes) + " (--memory-budget) with " +
              format_bytes(used) + " in use";
    }
    if (limits.max_loaded_models) {
      limit += (limit.empty() ? "" : ", and ") + std::string("at most ") + std::to_string(*limits.max_loaded_models) +
               " models may be loaded (--max-loaded-models), " + std::to_string(count) + " are";
    }
    return refuse(limit + (may_unload ? "; models in use by a request are not unloaded: retry when they are idle"
                                      : "; models loaded at start are not unloaded for one another"));
  }
  for (std::size_t i = 0; i < take; ++i) unload(*idle[i], "to make room for \"" + slot.entry.name + "\"", unloaded);
  slot.loading = true;
  slot.bytes = bytes;
  return {};
}

base::Status ModelRegistry::client_error(const base::Status& status, const Slot& slot) const {
  if (!slot.request_directory || !slot.dir) return status.with_context("model \"" + slot.entry.name + "\"");
  // The directory's files named within it; never the resolved server path.
  std::string message = status.message();
  const std::string canonical = slot.dir->string();
  for (const std::string& from : {canonical + "/", canonical}) {
    const std::string to = from == canonical ? slot.entry.name : "";
    for (std::size_t at = message.find(from); at != std::string::npos; at = message.find(from, at + to.size())) {
      message.replace(at, from.size(), to);
    }
  }
  base::StatusCode code = status.code();
  if (code != base::StatusCode::kUnavailable && code != base::StatusCode::kResourceExhausted &&
      code != base::StatusCode::kDeadlineExceeded) {
    code = base::StatusCode::kInvalidArgument;  // a broken model the request named is the request's problem
  }
  return base::Status(code, "model \"" + slot.entry.name + "\" cannot be loaded: " + message);
}

void ModelRegistry::observe(inference::EngineOptions& o, const std::string& name, ModelKind kind) const {
  o.max_queued_tokens = options_.max_queued_tokens;
  o.scheduling = options_.scheduling;
  const EngineObserver& observer = engine_observer_;
  if (observer.batch) {
    o.on_batch = [f = observer.batch, name, kind](std::size_t items, std::size_t tokens) { f(name, kind, items, tokens); };
  }
  if (observer.queue_wait) o.on_queue_wait = [f = observer.queue_wait, name](double seconds) { f(name, seconds); };
  if (observer.dropped) o.on_dropped = [f = observer.dropped, name](std::size_t n) { f(name, n); };
}

base::Result<ModelRegistry::Held> ModelRegistry::load_local(const std::shared_ptr<Slot>& slot, ModelKind kind,
                                                            bool may_unload) {
  const ModelEntry& entry = slot->entry;
  fs::path dir;
  if (slot->dir) {
    dir = *slot->dir;
  } else {
    WINNOW_ASSIGN_OR_RETURN(dir, local_dir(entry));
  }
  // The precisions the engine will prepare, as it resolves them.
  std::vector<base::Precision> precisions;
  std::vector<base::Precision> requested{entry.precision};
  if (kind == ModelKind::kReranker) {
    requested.insert(requested.end(), entry.extra_precisions.begin(), entry.extra_precisions.end());
  }
  for (base::Precision p : requested) {
    auto resolved = inference::resolve_precision(p);
    if (!resolved.ok()) return client_error(resolved.status(), *slot);
    if (std::find(precisions.begin(), precisions.end(), *resolved) == precisions.end()) precisions.push_back(*resolved);
  }
  auto estimate = estimate_weight_bytes(dir, precisions);
  if (!estimate.ok()) return client_error(estimate.status(), *slot);

  std::vector<Held> unloaded;  // destroyed outside the lock (an engine joins its worker)
  {
    std::lock_guard<std::mutex> lock(mutex_);
    WINNOW_RETURN_IF_ERROR(reserve(*slot, *estimate, may_unload, unloaded));
  }
  unloaded.clear();

  Held held;
  std::uint64_t measured = 0;
  base::Status failed;
  if (kind == ModelKind::kReranker) {
    inference::ScorerOptions o;
    o.max_length = entry.max_tokens;
    o.batch_limits = options_.batch_limits;
    o.precision = entry.precision;
    o.extra_precisions = entry.extra_precisions;
    o.instruction = entry.instruction;
    observe(o, entry.name, kind);
    auto loaded = rerankers::LocalCrossEncoder::load(dir, o, entry.name, hub::snapshot_revision(dir),
                                                      options_.score_cache);
    if (loaded.ok()) {
      measured = (*loaded)->scorer().info().weight_bytes;
      held.reranker = std::move(*loaded);
    } else {
      failed = loaded.status();
    }
  } else {
    inference::EmbedderOptions o;
    o.max_length = entry.max_tokens;
    o.batch_limits = options_.batch_limits;
    o.precision = entry.precision;
    observe(o, entry.name, kind);
    auto loaded = inference::Embedder::load(dir, o);
    if (loaded.ok()) {
      measured = (*loaded)->info().weight_bytes;
      held.embedder = std::move(*loaded);
    } else {
      failed = loaded.status();
    }
  }

  std::lock_guard<std::mutex> lock(mutex_);
  slot->loading = false;
  if (!failed.ok()) {
    slot->bytes = 0;
    return client_error(failed, *slot);
  }
  slot->reranker = held.reranker;
  slot->embedder = held.embedder;
  slot->bytes = measured;
  ++slot->loads;
  ++loads_;
  std::optional<Held> out = take_loaded(*slot);
  // The estimate may have been short: unload idle others until the limits hold again.
  const MemoryLimits& limits = options_.limits;
  if (limits.budget_bytes && may_unload) {
    while (true) {
      std::uint64_t used = 0;
      Slot* oldest = nullptr;
      for (const auto& [key, other] : slots_) {
        if (!other->local || !(other->loaded() || other->loading)) continue;
        used += other->bytes;
        if (other != slot && !other->loading && other->idle() && (!oldest || other->last_use < oldest->last_use)) {
          oldest = other.get();
        }
      }
      if (used <= *limits.budget_bytes) break;
      if (oldest == nullptr) {
        if (options_.log) {
          options_.log("model \"" + slot->entry.name + "\" measured " + format_bytes(measured) +
                       ", more than estimated: the loaded models take " + format_bytes(used) +
                       ", over the memory budget of " + format_bytes(*limits.budget_bytes) +
                       " until one is idle and unloaded");
        }
        break;
      }
      unload(*oldest, "to make room for \"" + slot->entry.name + "\", larger than estimated", unloaded);
    }
  }
  return *out;
}

base::Result<ModelRegistry::Held> ModelRegistry::acquire(std::string_view spec, ModelKind kind, bool may_unload) {
  WINNOW_ASSIGN_OR_RETURN(Resolved resolved, resolve_spec(spec, kind));
  WINNOW_RETURN_IF_ERROR(check_kind(resolved.entry, kind));
  std::shared_ptr<Slot> slot;
  std::unique_lock<std::mutex> load;
  while (true) {
    slot = slot_for(resolved);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto held = take_loaded(*slot)) return *held;
    }
    load = std::unique_lock<std::mutex>(slot->load_mutex);
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto held = take_loaded(*slot)) return *held;  // loaded while this call waited
    auto it = slots_.find(resolved.key);
    if (it != slots_.end() && it->second == slot) break;
    load.unlock();  // forgotten after the load this call waited for failed: start again
  }
  base::Result<Held> loaded = base::internal_error("not loaded");
  if (slot->entry.backend == ModelBackend::kCohere || slot->entry.backend == ModelBackend::kTei) {
    const ModelEntry& entry = slot->entry;
    rerankers::CohereOptions o;
    o.api = entry.backend == ModelBackend::kTei ? rerankers::RemoteApi::kTei : rerankers::RemoteApi::kCohere;
    // TEI serves one model and reports none; the entry's name stands for it.
    o.model = entry.remote_model.empty() ? entry.name : entry.remote_model;
    o.base_url = entry.base_url;
    o.path = entry.path;
    if (!entry.api_key_env.empty()) {
      if (auto key = base::env(entry.api_key_env.c_str())) o.api_key = *key;
    }
    o.timeout = entry.timeout;
    o.max_documents_per_request = entry.max_documents_per_request;
    auto created = rerankers::CohereReranker::create(std::move(o));
    if (created.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      slot->reranker = std::move(*created);
      ++slot->loads;
      loaded = *take_loaded(*slot);
    } else {
      loaded = created.status();
    }
  } else {
    loaded = load_local(slot, kind, may_unload);
  }
  if (!loaded.ok()) {
    // A name that never loaded is forgotten, so failing names do not pile up.
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = slots_.find(resolved.key);
    if (it != slots_.end() && it->second == slot && slot->loads == 0 && !slot->loaded()) slots_.erase(it);
  }
  return loaded;
}

base::Result<std::shared_ptr<const rerankers::Reranker>> ModelRegistry::reranker(std::string_view spec) {
  WINNOW_ASSIGN_OR_RETURN(Held held, acquire(spec, ModelKind::kReranker, /*may_unload=*/true));
  return std::move(held.reranker);
}

base::Result<std::shared_ptr<const inference::Embedder>> ModelRegistry::embedder(std::string_view spec) {
  WINNOW_ASSIGN_OR_RETURN(Held held, acquire(spec, ModelKind::kEmbedder, /*may_unload=*/true));
  return std::move(held.embedder);
}

base::Status ModelRegistry::load_startup_models() {
  for (const auto& [name, entry] : entries_) {
    if (!entry.load_at_start) continue;
    auto loaded = acquire(name, entry.kind, /*may_unload=*/false);
    if (!loaded.ok()) return loaded.status().with_context("load_at_start model \"" + name + "\"");
  }
  return {};
}

std::vector<ModelStatus> ModelRegistry::status() const {
  std::vector<std::pair<ModelEntry, std::shared_ptr<Slot>>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [name, e] : entries_) {
      auto it = slots_.find("name:" + name);
      all.emplace_back(e, it == slots_.end() ? nullptr : it->second);
    }
    for (const auto& [key, slot] : slots_) {
      if (key.rfind("name:", 0) != 0 && (slot->loads > 0 || slot->loaded())) all.emplace_back(slot->entry, slot);
    }
  }
  const fs::path cache = options_.pull.cache_dir.value_or(hub::hub_cache_dir());
  std::vector<ModelStatus> out;
  for (const auto& [e, slot] : all) {
    ModelStatus s;
    s.entry = e;
    if (e.backend == ModelBackend::kLocal) {
      std::error_code ec;
      if (slot && slot->dir) {
        s.local_dir = fs::path(e.source);
        s.bytes_on_disk = safetensors_bytes(*slot->dir);
      } else if (fs::is_directory(fs::path(e.source), ec)) {
        s.local_dir = fs::path(e.source);
      } else if (auto snapshot = hub::find_cached_snapshot(cache, e.source, e.revision); snapshot.ok()) {
        s.local_dir = *snapshot;
      }
      if (s.local_dir && s.bytes_on_disk == 0) s.bytes_on_disk = safetensors_bytes(*s.local_dir);
    }
    if (slot) {
      std::lock_guard<std::mutex> lock(mutex_);
      s.loaded = slot->loaded();
      s.loading = slot->loading;
      s.in_use = slot->loaded() && !slot->idle();
      s.resident_bytes = slot->loaded() && slot->local ? slot->bytes : 0;
      s.last_used_ms = slot->last_used_ms;
      s.loads = slot->loads;
      s.unloads = slot->unloads;
    }
    out.push_back(std::move(s));
  }
  return out;
}

MemoryStatus ModelRegistry::memory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryStatus m;
  m.budget_bytes = options_.limits.budget_bytes;
  m.max_loaded_models = options_.limits.max_loaded_models;
  for (const auto& [key, slot] : slots_) {
    if (!slot->local || !(slot->loaded() || slot->loading)) continue;
    m.used_bytes += slot->bytes;
    ++m.loaded_models;
  }
  m.loads = loads_;
  m.unloads = unloads_;
  m.refusals = refusals_;
  return m;
}

}  // namespace winnow::registry

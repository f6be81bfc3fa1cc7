#include "server/routes.h"

namespace winnow::server {
namespace {

// The registry's model memory in Prometheus text, after the server's own metrics.
std::string model_memory_metrics(const registry::MemoryStatus& m) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("winnow_model_loads_total", "counter", "Local models loaded (reloads after an unload included).",
         m.loads);
  metric("winnow_model_unloads_total", "counter", "Idle models unloaded to make room for another.",
         m.unloads);
  metric("winnow_model_load_refusals_total", "counter",
         "Model loads refused because they could not fit in --memory-budget / --max-loaded-models.",
         m.refusals);
  metric("winnow_models_loaded", "gauge", "Local models loaded or loading.", m.loaded_models);
  metric("winnow_model_memory_bytes", "gauge", "Weight bytes of the loaded models (estimates while loading).",
         m.used_bytes);
  if (m.budget_bytes) {
    metric("winnow_model_memory_budget_bytes", "gauge", "--memory-budget.", *m.budget_bytes);
  }
  return out;
}

// The rerankers' score cache in Prometheus text; nothing when it is off.
std::string score_cache_metrics(const rerankers::ScoreCache* cache) {
  if (cache == nullptr) return {};
  const rerankers::ScoreCache::Stats s = cache->stats();
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
           std::to_string(value) + "\n";
  };
  metric("winnow_score_cache_hits_total", "counter", "Documents answered from the score cache, not scored.", s.hits);
  metric("winnow_score_cache_misses_total", "counter", "Documents looked up in the score cache and scored.", s.misses);
  metric("winnow_score_cache_evictions_total", "counter",
         "Scores dropped, least recently used first, to stay under --score-cache-mb.", s.evictions);
  metric("winnow_score_cache_entries", "gauge", "Scores in the score cache.", s.entries);
  metric("winnow_score_cache_bytes", "gauge", "Memory the score cache takes.", s.bytes);
  metric("winnow_score_cache_capacity_bytes", "gauge", "--score-cache-mb, in bytes.", s.capacity_bytes);
  return out;
}

}  // namespace

void add_system_routes(Api& api) {
  ServerContext& ctx = api.context();

  // Liveness: the process answers. On the I/O thread, touching nothing that
  // can wait, so it answers while every worker is busy.
  api.get("/health", [](const Request&) -> base::Result<Reply> { return Reply{200, {{"status", "ok"}}}; },
          Access::kPublic, Lane::kInline);

  // Readiness: the store is open and the models file's load_at_start models
  // are loaded; 503 naming what is missing otherwise (and while draining).
  api.get("/ready", [&ctx](const Request&) -> base::Result<Reply> {
    nlohmann::json missing = nlohmann::json::array();
    if (ctx.readiness.draining()) missing.push_back("the server is draining (shutting down)");
    if (!ctx.readiness.store_open()) missing.push_back("the store is not open");
    for (const std::string& model : ctx.readiness.models_loading()) {
      missing.push_back("model " + model + " (load_at_start) is not loaded yet");
    }
    if (missing.empty()) return Reply{200, {{"status", "ready"}}};
    return Reply{503, {{"status", "not_ready"}, {"missing", std::move(missing)}}};
  }, Access::kPublic, Lane::kInline);

  // Rendering takes one short lock: inline too, so it is readable under overload.
  api.get("/metrics", [&ctx](const Request&) -> base::Result<Reply> {
    Reply reply;
    reply.text = ctx.metrics.render() + model_memory_metrics(ctx.registry->memory()) +
                 score_cache_metrics(ctx.registry->score_cache());
    reply.content_type = "text/plain; version=0.0.4";
    return reply;
  }, Access::kKey, Lane::kInline);

  api.get("/v1/models", [&ctx](const Request&) -> base::Result<Reply> {
    nlohmann::json models = nlohmann::json::array();
    for (const registry::ModelStatus& s : ctx.registry->status()) {
      nlohmann::json m = s.entry.to_json();
      m["on_disk"] = s.local_dir.has_value();
      if (s.local_dir) m["path"] = s.local_dir->string();
      m["bytes_on_disk"] = s.bytes_on_disk;
      m["loaded"] = s.loaded;
      m["loading"] = s.loading;
      m["in_use"] = s.in_use;
      m["resident_bytes"] = s.resident_bytes;
      m["last_used_ms"] = s.last_used_ms ? nlohmann::json(*s.last_used_ms) : nlohmann::json(nullptr);
      m["loads"] = s.loads;
      m["unloads"] = s.unloads;
      models.push_back(std::move(m));
    }
    const registry::MemoryStatus memory = ctx.registry->memory();
    nlohmann::json budget = {
        {"used_bytes", memory.used_bytes},
        {"budget_bytes", memory.budget_bytes ? nlohmann::json(*memory.budget_bytes) : nlohmann::json(nullptr)},
        {"loaded_models", memory.loaded_models},
        {"max_loaded_models",
         memory.max_loaded_models ? nlohmann::json(*memory.max_loaded_models) : nlohmann::json(nullptr)},
        {"loads", memory.loads},
        {"unloads", memory.unloads},
        {"refused_loads", memory.refusals}};
    return Reply{200, {{"models", std::move(models)}, {"memory", std::move(budget)}}};
  });
}

void add_all_routes(Api& api) {
  add_system_routes(api);
  add_collection_routes(api);
  add_document_routes(api);
  add_retriever_routes(api);
  add_rerank_routes(api);
}

}  // namespace winnow::server

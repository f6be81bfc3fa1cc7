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

}  // namespace

void add_system_routes(Api& api) {
  ServerContext& ctx = api.context();

  api.get("/health", "/health", [&ctx](const httplib::Request&) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::Collection> collections, ctx.store->list_collections());
    return Reply{200, {{"status", "ok"}, {"collections", collections.size()}}};
  }, /*public_route=*/true);

  api.get("/metrics", "/metrics", [&ctx](const httplib::Request&) -> base::Result<Reply> {
    Reply reply;
    reply.text = ctx.metrics.render() + model_memory_metrics(ctx.registry->memory());
    reply.content_type = "text/plain; version=0.0.4";
    return reply;
  }, /*public_route=*/true);

  api.get("/v1/models", "/v1/models", [&ctx](const httplib::Request&) -> base::Result<Reply> {
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

}  // namespace winnow::server

#include "server/routes.h"

namespace winnow::server {

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
    reply.text = ctx.metrics.render();
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
      models.push_back(std::move(m));
    }
    return Reply{200, {{"models", std::move(models)}}};
  });
}

}  // namespace winnow::server

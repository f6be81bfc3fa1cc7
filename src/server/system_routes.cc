#include "server/routes.h"

namespace winnow::server {

void add_system_routes(Api& api) {
  ServerContext& ctx = api.context();

  api.get("/health", "/health", [&ctx](const httplib::Request&) -> base::Result<Reply> {
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::Collection> collections, ctx.store->list_collections());
    return Reply{200, {{"status", "ok"}, {"collections", collections.size()}}};
  }, /*public_route=*/true);

  api.get("/metrics", "/metrics", [&ctx](const httplib::Request&) -> base::Result<Reply> {
    Reply reply;
    reply.text = ctx.metrics.render();
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
      models.push_back(std::move(m));
    }
    return Reply{200, {{"models", std::move(models)}}};
  });
}

}  // namespace winnow::server

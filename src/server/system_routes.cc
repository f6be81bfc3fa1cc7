#include "server/openapi.h"
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

// A human-readable page of the OpenAPI document, built in the browser from
// /openapi.json: no script, style or font from elsewhere, so it works
// offline and on machines without internet.
const char* kDocsPage = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Winnow HTTP API</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
code,pre{font:12px ui-monospace,monospace}pre{background:#f5f5f5;padding:.6em;overflow:auto}
.op{border-top:1px solid #ddd;padding:.6em 0}.method{display:inline-block;min-width:4.5em;font-weight:bold}
details{margin:.15em 0 .15em 1em}summary{cursor:pointer}
</style></head>
<body><h1>Winnow HTTP API</h1>
<p>Built from <a href="openapi.json">/openapi.json</a> (OpenAPI 3.1); this page loads nothing else.</p>
<div id="doc">Loading&hellip;</div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
const pre = (value) => '<pre>' + esc(JSON.stringify(value, null, 2)) + '</pre>';
fetch('openapi.json').then((r) => r.json()).then((d) => {
  const ref = (o, kind) => (o && o.$ref ? d.components[kind][o.$ref.split('/').pop()] : o);
  let h = '<p>' + esc(d.info.description).replace(/\n\n/g, '</p><p>') + '</p>';
  for (const [path, item] of Object.entries(d.paths)) {
    for (const method of ['get', 'post', 'put', 'delete', 'patch']) {
      const op = item[method];
      if (!op) continue;
      h += '<div class="op"><span class="method">' + method.toUpperCase() + '</span><code>' + esc(path) +
           '</code> &mdash; ' + esc(op.summary) + (op.description ? '<p>' + esc(op.description) + '</p>' : '');
      const body = op.requestBody && Object.entries(op.requestBody.content)[0];
      if (body) h += '<details><summary>request body (' + esc(body[0]) + ')</summary>' + pre(body[1].schema) + '</details>';
      for (const [status, r] of Object.entries(op.responses)) {
        const response = ref(r, 'responses');
        const content = response.content ? Object.entries(response.content)[0] : null;
        h += '<details><summary>' + esc(status) + ' ' + esc(response.description) + '</summary>' +
             (content ? '<p><code>' + esc(content[0]) + '</code></p>' + pre(content[1].schema) : '') + '</details>';
      }
      h += '</div>';
    }
  }
  h += '<h2>Schemas</h2>';
  for (const [name, schema] of Object.entries(d.components.schemas)) {
    h += '<details id="' + esc(name) + '"><summary>' + esc(name) + '</summary>' + pre(schema) + '</details>';
  }
  document.getElementById('doc').innerHTML = h;
}).catch((e) => { document.getElementById('doc').textContent = 'could not read openapi.json: ' + e; });
</script>
</body></html>
)html";

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
                 "# HELP winnow_admitted_tokens Tokens of scoring work admitted and not finished (estimated from "
                 "body lengths until tokenized), under --max-queued-tokens.\n# TYPE winnow_admitted_tokens gauge\n"
                 "winnow_admitted_tokens " + std::to_string(ctx.admitted_tokens.admitted()) + "\n" +
                 score_cache_metrics(ctx.registry->score_cache());
    reply.content_type = "text/plain; version=0.0.4";
    return reply;
  }, Access::kKey, Lane::kInline);

  // The OpenAPI document, public like /health: it names the schemes a
  // client needs before it has a key. Rendered once for each key state, as
  // keys may be configured after the routes are registered.
  base::Result<std::string> with_keys = openapi_for_server(true);
  base::Result<std::string> without_keys = openapi_for_server(false);
  api.get("/openapi.json", [&ctx, with_keys, without_keys](const Request&) -> base::Result<Reply> {
    const base::Result<std::string>& document = ctx.api_keys.enabled() ? with_keys : without_keys;
    if (!document.ok()) return document.status();
    Reply reply;
    reply.text = *document;
    reply.content_type = "application/json";
    return reply;
  }, Access::kPublic, Lane::kInline);
  api.get("/docs", [](const Request&) -> base::Result<Reply> {
    Reply reply;
    reply.text = kDocsPage;
    reply.content_type = "text/html; charset=utf-8";
    return reply;
  }, Access::kPublic, Lane::kInline);

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

// The HTTP API's routes as the transport calls them (Api::route, then
// Api::run), without sockets: every JSON route with any body and any path
// parameters, through the same parsing and validation the server uses, over
// a real store and registry (the fixture models served by --model-dir, as in
// the tests). A client's bytes may get any 4xx, never a 5xx: 500 means an
// error escaped to the last-resort catch, which is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "fuzz_support.h"
#include "pipeline/stage.h"
#include "registry/model_registry.h"
#include "server/api.h"
#include "server/routes.h"
#include "store/store.h"

namespace {

struct World {
  std::unique_ptr<winnow::store::Store> store;
  std::unique_ptr<winnow::registry::ModelRegistry> registry;
  std::unique_ptr<winnow::server::ServerContext> context;
  std::unique_ptr<winnow::server::Api> api;
};

World& world() {
  static World w = [] {
    using namespace winnow;
    World out;
    auto s = store::Store::open(fuzz::scratch_dir() / "store");
    if (!s.ok()) fuzz::invariant_broken("cannot open a store: " + s.status().message());
    out.store = std::move(*s);
    registry::RegistryOptions options;
    options.download = false;
    options.pull.offline = true;
    options.policy = registry::ModelPolicy{{fuzz::test_data() / "models"}, false};
    auto r = registry::ModelRegistry::create(options);
    if (!r.ok()) fuzz::invariant_broken("cannot create the registry: " + r.status().message());
    out.registry = std::move(*r);
    out.context = std::make_unique<server::ServerContext>();
    out.context->store = out.store.get();
    out.context->registry = out.registry.get();
    out.context->services = pipeline::services_for(*out.store, *out.registry);
    out.context->limits.max_body_bytes = 1 << 20;
    out.context->readiness.set_store_open(true);
    server::declare_metrics(out.context->metrics);
    out.api = std::make_unique<server::Api>(*out.context);
    server::add_all_routes(*out.api);

    nlohmann::json settings = {{"vector_indexes", {{{"name", "v"}, {"dimensions", 3}}}}};
    (void)out.store->create_collection("c", settings);
    std::istringstream docs(R"({"id":"a","text":"fine alpha","metadata":{"year":2021},"vectors":{"v":[1,0,0]}})"
                            "\n"
                            R"({"id":"b","text":"fine beta","metadata":{"year":2019},"vectors":{"v":[0,1,0]}})");
    (void)out.store->ingest("c", docs, store::IngestOptions{});
    return out;
  }();
  return w;
}

// JSON routes (the NDJSON ingest route streams its body: ndjson_ingest_fuzz).
constexpr const char* kTargets[][2] = {
    {"POST", "/v1/collections"},          {"GET", "/v1/collections/{}"},
    {"DELETE", "/v1/collections/{}"},     {"GET", "/v1/collections/{}/documents"},
    {"GET", "/v1/collections/c/documents/{}"}, {"DELETE", "/v1/collections/c/documents/{}"},
    {"POST", "/v1/retrievers"},           {"GET", "/v1/retrievers/{}"},
    {"DELETE", "/v1/retrievers/{}"},      {"POST", "/v1/retrievers/{}/execute"},
    {"POST", "/v1/retrievers/execute"},   {"POST", "/v1/rerank"},
    {"POST", "/v2/rerank"},               {"GET", "/v1/models"},
    {"GET", "/v1/collections"},           {"GET", "/v1/retrievers"},
    {"POST", "/rerank"},  // TEI's: its errors are {"error": message, "error_type"}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  World& w = world();
  // Input: a byte choosing the route, the path parameter up to '\n', the
  // query string up to '\n', then the body (fuzz/make_seeds.py writes seeds).
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto line = [&rest] {
    const std::size_t end = std::min(rest.find('\n'), rest.size());
    std::string out(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
    return out;
  };
  const auto& [method, pattern] = kTargets[data[0] % std::size(kTargets)];
  std::string target = pattern;
  const std::string param = line();
  if (auto at = target.find("{}"); at != std::string::npos) target.replace(at, 2, param);
  if (const std::string query = line(); !query.empty()) target += "?" + query;
  server::Request request;
  request.method = method;
  request.target = target;
  request.path = target.substr(0, target.find('?'));
  request.id = "fuzz";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = std::string(rest);
  server::Dispatch dispatch = w.api->route(request);
  server::Response response = dispatch.answer ? *dispatch.answer : w.api->run(*dispatch.route, request);
  if (response.status == 500) fuzz::invariant_broken(std::string(method) + " " + target + ": 500 " + response.body);
  const bool tei = request.path == "/rerank";
  if (response.status >= 400 && response.body.find(tei ? "\"error_type\"" : "\"message\"") == std::string::npos) {
    fuzz::invariant_broken(std::string(method) + " " + target + ": an error without a message: " + response.body);
  }
  return 0;
}

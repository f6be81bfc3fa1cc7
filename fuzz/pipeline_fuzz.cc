// Pipelines as a request sends them: {"stages", "inputs", "input_schema"}
// validated and executed against a small store (text, metadata, vectors)
// with the tiny cross-encoder of the test data as model "tiny-ce". Templates,
// structured_filter conditions, every stage's parameters: errors name the
// stage and parameter, nothing crashes.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

#include "base/files.h"
#include "fuzz_support.h"
#include "pipeline/executor.h"
#include "pipeline/stage.h"
#include "registry/model_registry.h"
#include "store/store.h"

namespace {

struct World {
  std::unique_ptr<winnow::store::Store> store;
  std::unique_ptr<winnow::registry::ModelRegistry> registry;
  winnow::pipeline::PipelineServices services;
};

const World& world() {
  static const World w = [] {
    using namespace winnow;
    World out;
    auto s = store::Store::open(fuzz::scratch_dir() / "store");
    if (!s.ok()) fuzz::invariant_broken("cannot open a store: " + s.status().message());
    out.store = std::move(*s);
    nlohmann::json settings = {{"text_fields", {"title", "text"}},
                               {"vector_indexes", {{{"name", "v"}, {"dimensions", 4}}}}};
    if (!out.store->create_collection("papers", settings).ok()) fuzz::invariant_broken("cannot create papers");
    std::ostringstream docs;
    const char* topics[] = {"bm25 ranks by term frequency", "cross-encoders score query and passage together",
                            "bread needs flour and water", "vector search finds nearest neighbours"};
    for (int i = 0; i < 12; ++i) {
      nlohmann::json d = {{"id", "p" + std::to_string(i)},
                          {"title", std::string("paper ") + std::to_string(i)},
                          {"text", topics[i % 4]},
                          {"metadata", {{"year", 2015 + i}, {"category", i % 2 ? "ir" : "food"}, {"tags", {"a", "b"}}}},
                          {"vectors", {{"v", {1.0 + i, 0.5, -0.25 * i, 2.0}}}}};
      docs << d.dump() << "\n";
    }
    std::istringstream input(docs.str());
    auto ingested = out.store->ingest("papers", input, store::IngestOptions{});
    if (!ingested.ok() || ingested->documents_stored != 12) fuzz::invariant_broken("cannot ingest the documents");

    const std::filesystem::path models_file = fuzz::scratch_dir() / "models.json";
    std::ofstream(models_file) << nlohmann::json{
        {"models",
         {{{"name", "tiny-ce"}, {"source", (fuzz::test_data() / "models" / "bert-ce-tiny").string()}}}}}.dump();
    registry::RegistryOptions options;
    options.models_file = models_file;
    options.download = false;
    options.pull.offline = true;
    auto r = registry::ModelRegistry::create(options);
    if (!r.ok()) fuzz::invariant_broken("cannot create the registry: " + r.status().message());
    out.registry = std::move(*r);
    out.services = pipeline::services_for(*out.store, *out.registry);
    return out;
  }();
  return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  auto body = base::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "request body");
  if (!body.ok() || !body->is_object()) return 0;
  pipeline::PipelineRequest request;
  request.collection_ids = {"papers"};
  request.stages = body->value("stages", nlohmann::json());
  request.inputs = body->value("inputs", nlohmann::json::object());
  request.input_schema = body->value("input_schema", nlohmann::json());
  base::Status valid = pipeline::validate_pipeline(request.stages, request.input_schema);
  pipeline::PipelineLimits limits;
  limits.max_top_k = 50;
  auto result = pipeline::execute_pipeline(world().services, limits, request);
  if (valid.ok() != true && result.ok()) fuzz::invariant_broken("a pipeline that failed validation ran");
  if (!result.ok() && result.status().message().empty()) fuzz::invariant_broken("an error without a message");
  if (result.ok()) (void)pipeline::pipeline_result_json(*result, std::nullopt).dump();
  return 0;
}

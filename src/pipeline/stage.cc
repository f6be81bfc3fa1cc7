#include "pipeline/stage.h"

#include <map>

namespace winnow::pipeline {

std::string_view stage_type_name(StageType type) {
  switch (type) {
    case StageType::kFilter: return "filter";
    case StageType::kSort: return "sort";
    case StageType::kReduce: return "reduce";
  }
  return "unknown";
}

std::shared_ptr<const LoadedDocument> load_document(const store::StoredDocument& document) {
  auto loaded = std::make_shared<LoadedDocument>();
  loaded->view = nlohmann::json::object();
  loaded->view["document_id"] = document.document_id;
  for (const store::TextField& field : document.text_fields) {
    loaded->text_fields.emplace_back(field.name, field.text);
    loaded->view[field.name] = field.text;
  }
  loaded->metadata = document.metadata;
  loaded->view["metadata"] = document.metadata;
  return loaded;
}

base::Status StageContext::load_documents(std::vector<Candidate>& candidates) {
  std::map<std::string, std::vector<std::string>> missing;  // collection -> ids
  for (const Candidate& c : candidates) {
    if (!c.document) missing[c.collection_id].push_back(c.document_id);
  }
  if (missing.empty()) return {};
  std::map<std::pair<std::string, std::string>, std::shared_ptr<const LoadedDocument>> loaded;
  for (const auto& [collection, ids] : missing) {
    WINNOW_ASSIGN_OR_RETURN(std::vector<store::StoredDocument> documents,
                            services_.store->fetch_documents(collection, ids));
    for (const store::StoredDocument& d : documents) {
      loaded[{collection, d.document_id}] = load_document(d);
    }
  }
  std::vector<Candidate> kept;
  kept.reserve(candidates.size());
  for (Candidate& c : candidates) {
    if (!c.document) {
      auto it = loaded.find({c.collection_id, c.document_id});
      if (it == loaded.end()) continue;  // deleted since it was found
      c.document = it->second;
    }
    kept.push_back(std::move(c));
  }
  candidates = std::move(kept);
  return {};
}

PipelineServices services_for(store::Store& store, registry::ModelRegistry& registry) {
  PipelineServices services;
  services.store = &store;
  services.reranker = [&registry](std::string_view model) { return registry.reranker(model); };
  services.embed = [&registry](std::string_view model,
                               std::span<const std::string> texts) -> base::Result<std::vector<std::vector<float>>> {
    WINNOW_ASSIGN_OR_RETURN(std::shared_ptr<const inference::Embedder> embedder, registry.embedder(model));
    return embedder->embed(texts);
  };
  return services;
}

store::EmbedFunction ingest_embedder(const PipelineServices& services, const std::string& collection_id) {
  return [services, collection_id](const std::string& index_name,
                                   std::span<const std::string> texts) -> base::Result<std::vector<std::vector<float>>> {
    WINNOW_ASSIGN_OR_RETURN(store::VectorIndexSpec spec, services.store->index_spec(collection_id, index_name));
    if (spec.model.empty()) {
      return base::invalid_argument("vector index "" + index_name + "" has no model: send vectors with the documents");
    }
    auto vectors = services.embed(spec.model, texts);
    if (!vectors.ok()) return vectors.status().with_context("embedding with " + spec.model);
    return vectors;
  };
}

nlohmann::json StageContext::take_details() {
  nlohmann::json out = std::move(details_);
  details_ = nlohmann::json::object();
  return out;
}

}  // namespace winnow::pipeline

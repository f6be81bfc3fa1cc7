#include "store/ingest.h"

#include <cmath>
#include <map>

namespace winnow::store {

using base::Result;
using base::Status;

NdjsonBatcher::NdjsonBatcher(std::istream& in, std::size_t batch_lines, std::size_t batch_bytes)
    : in_(in), batch_lines_(std::max<std::size_t>(1, batch_lines)), batch_bytes_(std::max<std::size_t>(1, batch_bytes)) {}

Result<std::vector<NdjsonBatcher::Line>> NdjsonBatcher::next() {
  std::vector<Line> batch;
  std::size_t bytes = 0;
  std::string text;
  while (batch.size() < batch_lines_ && bytes < batch_bytes_ && std::getline(in_, text)) {
    ++lines_read_;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    bool blank = text.find_first_not_of(" \t") == std::string::npos;
    if (blank) continue;
    bytes += text.size();
    batch.push_back({lines_read_, std::move(text)});
    text.clear();
  }
  if (in_.bad()) return base::data_loss("read error after line " + std::to_string(lines_read_));
  return batch;
}

namespace {

std::string where(const PendingDocument& pending) { return "document '" + pending.id + "'"; }

// An error for the document, or OK.
Status check_vector(const VectorIndexSpec& spec, const std::vector<float>& vector) {
  if (spec.dimensions && static_cast<std::int64_t>(vector.size()) != *spec.dimensions) {
    return base::invalid_argument("index '" + spec.name + "': vector has " + std::to_string(vector.size()) +
                                  " dimensions, expected " + std::to_string(*spec.dimensions));
  }
  double norm = 0;
  for (float v : vector) {
    if (!std::isfinite(v)) return base::invalid_argument("index '" + spec.name + "': vector has a non-finite value");
    norm += static_cast<double>(v) * v;
  }
  if (spec.metric == Metric::kCosine && norm == 0) {
    return base::invalid_argument("index '" + spec.name + "': vector has zero length, which cosine cannot compare");
  }
  return {};
}

}  // namespace

Status resolve_vectors(CollectionSettings& settings, std::vector<PendingDocument>& documents,
                       const EmbedFunction& embed, std::vector<LineError>& errors, bool& settings_changed) {
  std::vector<bool> failed(documents.size(), false);
  auto fail = [&](std::size_t i, const std::string& message) {
    if (failed[i]) return;
    failed[i] = true;
    errors.push_back({documents[i].line, where(documents[i]) + ": " + message});
  };

  // 1. Embed the text of documents that sent no vector for a model-backed
  //    index; the vectors join the document's own, as if the client sent them.
  std::map<std::string, std::vector<std::size_t>> to_embed;  // index name -> documents
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const ParsedDocument& document = documents[i].document;
    for (const auto& spec : settings.vector_indexes) {
      if (spec.model.empty() || document.vector(spec.name) != nullptr) continue;
      const std::string* text = document.text_field(spec.field);
      if (text == nullptr || text->empty()) continue;  // nothing to embed: not in this index
      if (!embed) {
        fail(i, "index '" + spec.name + "' needs a vector: send vectors." + spec.name +
                    ", or ingest with the embedding model '" + spec.model + "' for field '" + spec.field + "'");
        break;
      }
      to_embed[spec.name].push_back(i);
    }
  }
  for (auto& [name, members] : to_embed) {
    const VectorIndexSpec* spec = settings.find_index(name);
    std::vector<std::size_t> live;
    std::vector<std::string> texts;
    for (std::size_t i : members) {
      if (failed[i]) continue;
      live.push_back(i);
      texts.push_back(*documents[i].document.text_field(spec->field));
    }
    if (texts.empty()) continue;
    auto embedded = embed(name, texts);
    if (!embedded.ok()) return embedded.status().with_context("embedding field '" + spec->field + "' for index '" + name + "'");
    if (embedded->size() != texts.size()) {
      return base::internal_error("embedding for index '" + name + "': " + std::to_string(texts.size()) +
                                  " texts gave " + std::to_string(embedded->size()) + " vectors");
    }
    for (std::size_t j = 0; j < live.size(); ++j) {
      documents[live[j]].document.vectors.emplace_back(name, std::move((*embedded)[j]));
    }
  }

  // 2. Check every vector against its index; the first one fixes the
  //    dimensions of an index that has none yet.
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (failed[i]) continue;
    PendingDocument& pending = documents[i];
    pending.vectors.clear();
    for (const auto& [name, vector] : pending.document.vectors) {
      VectorIndexSpec* spec = settings.find_index(name);
      if (spec == nullptr) {
        std::string known;
        for (const auto& s : settings.vector_indexes) known += (known.empty() ? "" : ", ") + s.name;
        fail(i, "vectors: the collection has no vector index '" + name + "'" +
                    (known.empty() ? std::string(" (it has none)") : " (it has " + known + ")"));
        break;
      }
      Status status = check_vector(*spec, vector);
      if (!status.ok()) {
        fail(i, status.message());
        break;
      }
      if (!spec->dimensions) {
        spec->dimensions = static_cast<std::int64_t>(vector.size());
        settings_changed = true;
      }
      pending.vectors.push_back({name, vector});
    }
  }

  std::vector<PendingDocument> kept;
  kept.reserve(documents.size());
  for (std::size_t i = 0; i < documents.size(); ++i) {
    if (!failed[i]) kept.push_back(std::move(documents[i]));
  }
  documents = std::move(kept);
  return {};
}

}  // namespace winnow::store

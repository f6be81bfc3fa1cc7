#include "server/chunk_stream.h"
#include "server/routes.h"

namespace winnow::server {
namespace {

nlohmann::json document_json(const store::StoredDocument& d) {
  nlohmann::json fields = nlohmann::json::object();
  for (const store::TextField& f : d.text_fields) fields[f.name] = f.text;
  return {{"document_id", d.document_id},
          {"fields", std::move(fields)},
          {"metadata", d.metadata},
          {"created_at_ms", d.created_at_ms},
          {"updated_at_ms", d.updated_at_ms}};
}

nlohmann::json report_json(const store::IngestReport& report) {
  nlohmann::json errors = nlohmann::json::array();
  for (const store::LineError& e : report.errors) errors.push_back({{"line", e.line}, {"error", e.error}});
  return {{"lines", report.lines},
          {"documents_stored", report.documents_stored},
          {"bad_lines", report.bad_lines},
          {"errors", std::move(errors)}};
}

}  // namespace

void add_document_routes(Api& api) {
  ServerContext& ctx = api.context();

  // NDJSON, one document per line, parsed and committed in batches while the
  // body is still arriving (on this worker; the transport pushes the chunks).
  // The response lists bad lines; good lines are stored.
  api.post_streaming("/v1/collections/{id}/documents", [&ctx](const Request& req) -> base::Result<Reply> {
    const std::string collection = req.path_param("id");
    req.annotate("collection", collection);
    WINNOW_RETURN_IF_ERROR(ctx.store->get_collection(collection).status());

    store::IngestOptions options;
    options.embed = pipeline::ingest_embedder(ctx.services, collection);
    base::Result<store::IngestReport> report = ctx.store->ingest(collection, *req.stream, options);
    req.stream->close();  // stop the transport if ingest ended early
    const base::Status body = req.stream->status();
    if (body.code() == base::StatusCode::kOutOfRange) {
      // Batches committed before the limit stay stored, as the message says.
      std::size_t stored = report.ok() ? report->documents_stored : 0;
      return base::out_of_range("ingest body over the limit of " + std::to_string(ctx.limits.max_ingest_bytes) +
                                " bytes; the " + std::to_string(stored) +
                                " documents before it were stored: send the rest in another request");
    }
    if (!body.ok()) return body;
    if (!report.ok()) return report.status();
    req.annotate("documents", report->documents_stored);
    ctx.metrics.increment("winnow_documents_ingested_total", {{"collection", collection}},
                          static_cast<double>(report->documents_stored));
    return Reply{200, report_json(*report)};
  });

  api.get("/v1/collections/{id}/documents",
          [&ctx](const Request& req) -> base::Result<Reply> {
            std::size_t limit = 100;
            if (std::optional<std::string> given = req.query("limit")) {
              const std::string& raw = *given;
              char* end = nullptr;
              unsigned long value = std::strtoul(raw.c_str(), &end, 10);
              if (raw.empty() || *end != '\0' || value == 0 || value > 1000) {
                return base::invalid_argument("query parameter limit: must be an integer from 1 to 1000, got \"" +
                                              raw + "\"");
              }
              limit = value;
            }
            WINNOW_ASSIGN_OR_RETURN(store::DocumentPage page,
                                    ctx.store->list_documents(req.path_param("id"), req.query("after").value_or(""), limit));
            nlohmann::json documents = nlohmann::json::array();
            for (const store::StoredDocument& d : page.documents) documents.push_back(document_json(d));
            nlohmann::json body = {{"documents", std::move(documents)}};
            body["next_after"] = page.next_after.empty() ? nlohmann::json(nullptr) : nlohmann::json(page.next_after);
            return Reply{200, std::move(body)};
          });

  api.get("/v1/collections/{id}/documents/{document_id}",
          [&ctx](const Request& req) -> base::Result<Reply> {
            WINNOW_ASSIGN_OR_RETURN(store::StoredDocument d,
                                    ctx.store->get_document(req.path_param("id"), req.path_param("document_id")));
            return Reply{200, document_json(d)};
          });

  api.del("/v1/collections/{id}/documents/{document_id}",
          [&ctx](const Request& req) -> base::Result<Reply> {
            const std::string id = req.path_param("document_id");
            WINNOW_RETURN_IF_ERROR(ctx.store->delete_document(req.path_param("id"), id));
            return Reply{200, {{"deleted", id}}};
          });
}

}  // namespace winnow::server

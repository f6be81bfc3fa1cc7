// The HTTP API, one function per resource; each registers its routes.
#pragma once

#include "server/admission.h"
#include "server/api.h"

namespace winnow::server {

// POST/GET/DELETE /v1/collections[/{id}]
void add_collection_routes(Api& api);
// POST (NDJSON ingest) /v1/collections/{id}/documents, GET list, GET/DELETE one
void add_document_routes(Api& api);
// POST/GET/DELETE /v1/retrievers[/{id}], POST /v1/retrievers/{id}/execute, POST /v1/retrievers/execute
void add_retriever_routes(Api& api);
// POST /v1/rerank and /v2/rerank (Cohere's shapes), POST /rerank (TEI's)
void add_rerank_routes(Api& api);
// GET /health, GET /ready, GET /metrics, GET /v1/models, GET /openapi.json, GET /docs
void add_system_routes(Api& api);

// Every route above: the whole HTTP API.
void add_all_routes(Api& api);

}  // namespace winnow::server

// The OpenAPI 3.1 document of the HTTP API: src/server/openapi.json, embedded
// into the binary at build time (embed_openapi.cmake), served at
// GET /openapi.json and checked by the tests against the routes registered
// and every answer the end-to-end tests receive.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace winnow::server {

// The document as written, byte for byte.
std::string_view openapi_document();

// The document a server serves: as written when it has API keys (the
// security schemes it accepts, and the routes that need none); without keys,
// with no security requirement or scheme. Internal error when the embedded
// document is not JSON (a broken build).
base::Result<std::string> openapi_for_server(bool api_keys);

}  // namespace winnow::server

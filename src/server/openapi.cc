#include "server/openapi.h"

#include <nlohmann/json.hpp>

namespace winnow::server {

base::Result<std::string> openapi_for_server(bool api_keys) {
  nlohmann::json document = nlohmann::json::parse(openapi_document(), nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return base::internal_error("the embedded OpenAPI document (src/server/openapi.json) is not a JSON object");
  }
  if (!api_keys) {
    // A server without keys asks for none: no scheme, no requirement.
    document.erase("security");
    if (auto components = document.find("components"); components != document.end()) {
      components->erase("securitySchemes");
    }
    for (auto& [path, item] : document["paths"].items()) {
      for (auto& [method, operation] : item.items()) {
        if (operation.is_object()) operation.erase("security");
      }
    }
  }
  return document.dump(2);
}

}  // namespace winnow::server

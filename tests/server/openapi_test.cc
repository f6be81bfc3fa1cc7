// The OpenAPI document (src/server/openapi.json, embedded by the build)
// describes exactly the routes the server registers: every route is a
// path and method of the document, and every operation of the document is
// a route. Its answers are checked against it by the end-to-end tests.
#include "server/openapi.h"

#include <gtest/gtest.h>

#include <set>

#include "server/api.h"
#include "server/routes.h"

namespace winnow::server {
namespace {

TEST(OpenApiDocumentTest, DescribesExactlyTheRegisteredRoutes) {
  ServerContext context;
  Api api(context);
  add_all_routes(api);
  std::set<std::string> registered;
  for (const Route& route : api.routes()) registered.insert(route.method + " " + route.pattern);

  const nlohmann::json document = nlohmann::json::parse(openapi_document());
  std::set<std::string> documented;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const char* method : {"get", "put", "post", "delete", "patch", "head", "options"}) {
      if (!item.contains(method)) continue;
      std::string upper = method;
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(upper + " " + path);
    }
  }
  EXPECT_EQ(documented, registered);
  EXPECT_GE(registered.size(), 22u);
  // The routes that need no key are the operations with an empty security requirement.
  for (const Route& route : api.routes()) {
    std::string method = route.method;
    for (char& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const nlohmann::json& operation = document["paths"][route.pattern][method];
    const bool open = operation.contains("security") && operation["security"] == nlohmann::json::array();
    EXPECT_EQ(open, route.access == Access::kPublic) << route.method << " " << route.pattern;
  }
}

TEST(OpenApiDocumentTest, NamesSecuritySchemesOnlyForAServerWithKeys) {
  base::Result<std::string> keyed = openapi_for_server(true);
  base::Result<std::string> open = openapi_for_server(false);
  ASSERT_TRUE(keyed.ok()) << keyed.status().message();
  ASSERT_TRUE(open.ok()) << open.status().message();
  const nlohmann::json with_keys = nlohmann::json::parse(*keyed);
  const nlohmann::json without_keys = nlohmann::json::parse(*open);
  EXPECT_EQ(with_keys, nlohmann::json::parse(openapi_document()));
  EXPECT_EQ(with_keys["security"].size(), 2u);
  EXPECT_TRUE(with_keys["components"]["securitySchemes"].contains("bearerKey"));
  EXPECT_TRUE(with_keys["components"]["securitySchemes"].contains("headerKey"));
  EXPECT_FALSE(without_keys.contains("security"));
  EXPECT_FALSE(without_keys["components"].contains("securitySchemes"));
  EXPECT_FALSE(without_keys["paths"]["/health"]["get"].contains("security"));
  EXPECT_EQ(without_keys["paths"]["/v1/rerank"], [&] {
    nlohmann::json op = with_keys["paths"]["/v1/rerank"];
    return op;
  }());
}

}  // namespace
}  // namespace winnow::server

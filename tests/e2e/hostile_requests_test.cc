// Hostile requests against the real server (issue 10): every route and field
// with wrong types, overflow, nesting, odd encodings, path-like ids, model
// paths, and raw transport abuse, from tests/e2e/hostile/requests.jsonl
// (written by make_corpus.py beside it). For every one: an answer among the
// expected ones, never a 5xx for the client's mistake, an error body that
// says what was wrong, the server still alive, and /health fast throughout.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "support/raw_http.h"

namespace winnow::testing {
namespace {

using nlohmann::json;

// Expands "@@REPEAT:N:TEXT@@" and "@@MODELS@@" (see make_corpus.py).
std::string expand(std::string text) {
  const std::string models = (test_data() / "models").string();
  for (std::size_t at; (at = text.find("@@MODELS@@")) != std::string::npos;) text.replace(at, 10, models);
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = text.find("@@REPEAT:", from)) != std::string::npos;) {
    const std::size_t colon = text.find(':', at + 9);
    const std::size_t end = text.find("@@", colon + 1);
    out.append(text, from, at - from);
    const std::size_t count = std::stoul(text.substr(at + 9, colon - at - 9));
    const std::string piece = text.substr(colon + 1, end - colon - 1);
    out.reserve(out.size() + count * piece.size());
    for (std::size_t i = 0; i < count; ++i) out += piece;
    from = end + 2;
  }
  out.append(text, from);
  return out;
}

// The corpus stores raw bytes as code points 0-255 (JSON strings are UTF-8).
std::string latin1_bytes(const std::string& utf8) {
  std::string out;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(((c & 0x1F) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    }
  }
  return out;
}

double median_health_ms(int port) {
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    const double start = now_seconds();
    RawResponse r = raw_request(port, get_request("/health"), 5);
    ms.push_back(r.status == 200 ? (now_seconds() - start) * 1000 : 1e9);
  }
  std::sort(ms.begin(), ms.end());
  return ms[2];
}

TEST(HostileRequests, EveryRouteAndFieldGetsAClearAnswerAndTheServerKeepsServing) {
  std::ifstream in(std::string(WINNOW_TEST_DATA) + "/../e2e/hostile/requests.jsonl");
  ASSERT_TRUE(in) << "tests/e2e/hostile/requests.jsonl is missing";
  std::vector<json> corpus;
  for (std::string line; std::getline(in, line);) corpus.push_back(json::parse(line));
  ASSERT_GE(corpus.size(), 300u);

  ServerProcess server(fresh_dir("hostile"), fixture_models({"--max-body-mb", "8"}));
  auto client = server.client();
  // The world the corpus expects: collection c (index v, 3 dimensions), retriever r.
  ASSERT_EQ(http_post(*client, "/v1/collections",
                      json{{"collection_id", "c"}, {"vector_indexes", {{{"name", "v"}, {"dimensions", 3}}}}})
                .status,
            201);
  ASSERT_EQ(http_post(*client, "/v1/collections/c/documents",
                      std::string(R"({"id":"a","text":"fine alpha","metadata":{"year":2021},"vectors":{"v":[1,0,0]}})"
                                  "\n"
                                  R"({"id":"b","text":"fine beta","metadata":{"year":2019},"vectors":{"v":[0,1,0]}})"
                                  "\n"),
                      "application/x-ndjson")
                .status,
            200);
  ASSERT_EQ(http_post(*client, "/v1/retrievers",
                      json{{"retriever_id", "r"},
                           {"collection_ids", {"c"}},
                           {"stages", {stage("filter", "text_search", {{"top_k", 5}})}}})
                .status,
            201);

  std::size_t server_errors = 0, unexpected = 0;
  for (std::size_t i = 0; i < corpus.size(); ++i) {
    const json& item = corpus[i];
    const std::string name = item["name"];
    std::vector<int> expect = item["expect"].get<std::vector<int>>();
    RawResponse response;
    if (item["method"] == "RAW") {
      RawConnection connection(server.port());
      ASSERT_TRUE(connection.connected()) << name;
      connection.send(expand(latin1_bytes(item["raw"].get<std::string>())));
      response = connection.read_response(20);
    } else {
      const std::string body = item.contains("body") ? expand(latin1_bytes(item["body"].get<std::string>())) : "";
      std::string request = item["method"].get<std::string>() + " " + expand(item["target"]) + " HTTP/1.1\r\n" +
                            "Host: 127.0.0.1\r\nConnection: close\r\n";
      for (const json& header : item.value("headers", json::array())) {
        request += header[0].get<std::string>() + ": " + expand(latin1_bytes(header[1].get<std::string>())) + "\r\n";
      }
      if (item.contains("body")) {
        request += "Content-Type: " + item.value("content_type", std::string("application/json")) + "\r\n" +
                   "Content-Length: " + std::to_string(body.size()) + "\r\n";
      }
      response = raw_request(server.port(), request + "\r\n" + body, 60);
    }
    const bool expected = std::find(expect.begin(), expect.end(), response.status) != expect.end();
    // A 5xx is a server error unless the entry expects it: only a 504 for a
    // deadline the client itself set too short (timeout_ms 1).
    const bool expected_5xx = expected && response.status == 504;
    if (response.status >= 500 && !expected_5xx) ++server_errors;
    if (!expected) ++unexpected;
    EXPECT_TRUE(expected) << "#" << i << " " << name << ": answered " << response.status << " "
                          << response.body.substr(0, 300);
    EXPECT_TRUE(response.status < 500 || expected_5xx)
        << "#" << i << " " << name << ": a server error for a client's mistake: " << response.body.substr(0, 300);
    if (response.status >= 400 && response.status != 405) {
      // Errors say what was wrong: {"error": {"code", "message"}}, or in
      // TEI's shape on its POST /rerank, {"error": message, "error_type"}.
      json error = json::parse(response.body, nullptr, false);
      const bool tei_shape = error.is_object() && error.contains("error") && error["error"].is_string() &&
                             !error["error"].get<std::string>().empty() && error.contains("error_type");
      EXPECT_TRUE(tei_shape ||
                  (error.is_object() && error.contains("error") && error["error"].is_object() &&
                   error["error"].value("message", "") != ""))
          << "#" << i << " " << name << ": " << response.status << " without a JSON error: "
          << response.body.substr(0, 200);
    }
    ASSERT_TRUE(server.running()) << "the server died after #" << i << " " << name << "\n" << server.log();
    if (i % 50 == 49) {
      const double ms = median_health_ms(server.port());
      EXPECT_LT(ms, 100) << "/health after #" << i << " " << name;
    }
  }
  EXPECT_EQ(server_errors, 0u);
  EXPECT_EQ(unexpected, 0u);
  // Still serving, and what the setup stored is intact.
  EXPECT_LT(median_health_ms(server.port()), 100);
  HttpResult doc = http_get(*client, "/v1/collections/c/documents/a");
  EXPECT_EQ(doc.status, 200) << doc.raw;
  EXPECT_EQ(http_post(*client, "/v1/retrievers/r/execute", json{{"inputs", {{"query", "alpha"}}}}).status, 200);
}

}  // namespace
}  // namespace winnow::testing

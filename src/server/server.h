// The HTTP server: one process serving the store, the pipelines and the
// models over HTTP/JSON (routes in *_routes.cc, transport in http_transport.h).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/http_transport.h"
#include "server/server_context.h"

namespace winnow::server {

class Api;

struct ServerOptions {
  TransportOptions transport;        // address, workers, timeouts, head limits
  ServerLimits limits;
  pipeline::PipelineLimits pipeline_limits;
  std::vector<std::string> api_keys;     // --api-key / WINNOW_API_KEY; none and no file: no authentication
  std::filesystem::path api_key_file;    // one key per line; reread by reload_api_keys()
  std::vector<std::string> cors_origins; // none: CORS off
  std::string default_reranker;          // TEI's POST /rerank without "model"; empty: refused
};

class Server {
 public:
  // Does not take ownership of `store` and `registry`; they must outlive it.
  Server(const ServerOptions& options, store::Store& store, registry::ModelRegistry& registry);
  ~Server();

  // Reads the API key file and binds the port; errors name the file or the address.
  base::Status bind();
  // The bound port (after bind()).
  int port() const { return transport_->port(); }
  // Serves in the background. /ready answers 503 until startup_models_loaded().
  void start();
  // The models file's load_at_start models are loaded: /ready may say ready.
  void startup_models_loaded();
  // Blocks until a drain ended; `cut` requests were still running at its deadline.
  DrainOutcome wait();
  // Thread-safe: stop accepting, finish in-flight requests within `deadline`,
  // then wait() returns. A second call cuts at once.
  void drain(std::chrono::milliseconds deadline);
  // Rereads the API key file; on error the keys in force stay. Thread-safe.
  base::Status reload_api_keys();
  std::size_t api_key_count() const { return context_.api_keys.count(); }

 private:
  ServerOptions options_;
  ServerContext context_;
  std::unique_ptr<Api> api_;  // the routes' handlers refer to it
  std::unique_ptr<HttpTransport> transport_;
};

}  // namespace winnow::server

// The HTTP server: one process serving the store, the pipelines and the
// models over HTTP/JSON.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace winnow::server {

class Api;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port (see Server::port)
  std::size_t threads = 16;      // request threads; the engine batches across them
  int read_timeout_seconds = 60;
  ServerLimits limits;
  pipeline::PipelineLimits pipeline_limits;
  std::string api_key;           // empty: no authentication
};

class Server {
 public:
  // Does not take ownership of `store` and `registry`; they must outlive it.
  Server(const ServerOptions& options, store::Store& store, registry::ModelRegistry& registry);
  ~Server();

  // Binds the port; FailedPrecondition naming the address when it is taken.
  base::Status bind();
  // The bound port (after bind()).
  int port() const { return port_; }
  // Serves until stop(). Blocks.
  base::Status serve();
  // Thread-safe and signal-safe enough to call from a signal-handling thread.
  void stop();

 private:
  ServerOptions options_;
  ServerContext context_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<Api> api_;  // the routes' handlers refer to it
  int port_ = 0;
};

}  // namespace winnow::server

// The HTTP/1.1 transport (Boost.Beast on Asio): connections are read and
// written asynchronously on one I/O thread, route handlers run on a worker
// pool, so a slow client or a slow handler never holds a thread another
// connection needs. It enforces the limits and timeouts below, answers
// pipelined requests in order, and drains gracefully.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "base/status.h"
#include "server/api.h"

namespace winnow::server {

struct TransportOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port
  std::size_t workers = 16;        // handler threads (--http-threads)
  // A new connection's request head, or a keep-alive connection's next head
  // once its first byte came, must arrive within this; else it is closed.
  std::chrono::milliseconds header_timeout{10'000};
  // A body must keep arriving, and a response keep leaving: at most this
  // long without progress; else the connection is closed.
  std::chrono::milliseconds body_timeout{30'000};
  // A keep-alive connection with no request is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_head_bytes = 16 << 10;    // request line + headers; above: 431 (414 if the line alone is)
  std::size_t max_target_bytes = 8 << 10;   // the request target; above: 414
  std::size_t max_header_fields = 100;      // above: 431
  bool log_bodies = false;                  // request bodies and error messages in the request log
};

// How a drain ended: requests still running at the deadline were cut.
struct DrainOutcome {
  std::size_t cut = 0;
};

class HttpTransport {
 public:
  // Does not take ownership of `api`; it must outlive the transport.
  HttpTransport(TransportOptions options, const Api& api);
  // Waits for running handlers. After a drain that cut requests, exit the
  // process instead: their handlers may run on for long.
  ~HttpTransport();

  // Binds and listens; FailedPrecondition naming the address when it is taken.
  base::Status bind();
  int port() const;
  // Starts the I/O thread and the workers. Returns at once.
  void start();
  // Blocks until a drain ended.
  DrainOutcome wait();
  // Thread-safe. Stops accepting connections (the port refuses them), closes
  // idle ones, lets requests already received finish and closes their
  // connections after the answer; what still runs after `deadline` is cut.
  // A second call cuts at once.
  void drain(std::chrono::milliseconds deadline);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace winnow::server

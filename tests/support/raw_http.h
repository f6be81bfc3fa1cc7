// A raw TCP client for the tests that need what HTTP libraries hide:
// pipelined requests, half-sent heads and bodies, idle connections,
// malformed bytes, and when exactly the server closes.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "support/answer_log.h"

namespace winnow::testing {

struct RawResponse {
  int status = 0;                              // 0: none (closed, or timed out)
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; connected() says whether it worked.
  explicit RawConnection(int port);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes);
  // Reads until `count` whole responses arrived (1xx ones skipped), the
  // server closed, or `timeout_seconds` passed.
  std::vector<RawResponse> read_responses(std::size_t count, double timeout_seconds);
  RawResponse read_response(double timeout_seconds);
  // True when the server closes the connection within `timeout_seconds`
  // (what it sends meanwhile is discarded).
  bool closed_within(double timeout_seconds);

 private:
  bool parse_one(RawResponse* response);

  int fd_ = -1;
  std::string pending_;
  RequestLineScanner sent_;  // the requests sent, to record each answer with its request
};

// One request on a new connection.
RawResponse raw_request(int port, const std::string& request, double timeout_seconds = 20);
// A GET with the given extra header lines ("Name: value\r\n" each).
std::string get_request(const std::string& target, const std::string& headers = "");
// True when a TCP connection to the port is accepted.
bool can_connect(int port);
// Seconds since an arbitrary start (steady clock).
double now_seconds();

}  // namespace winnow::testing

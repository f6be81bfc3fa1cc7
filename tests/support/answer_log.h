// Records every answer the end-to-end tests receive from the real server, so
// that a last test (tests/openapi/) can check each one against the OpenAPI
// document the server serves (tests/clients/validate_answers.mjs).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace winnow::testing {

// Appends one answer to $WINNOW_ANSWER_LOG_DIR/answers-<pid>.jsonl as
// {"test", "method", "target", "status", "content_type", "body"}; does
// nothing when the variable is unset (the tests of other rooms). `method`
// and `target` are empty when the request is unknown (raw bytes that held
// no request line). Thread-safe.
void record_answer(std::string_view method, std::string_view target, int status, std::string_view content_type,
                   std::string_view body);

// Finds the request lines ("METHOD TARGET HTTP/1.x") in bytes sent on one
// connection, as they are sent in pieces, so that raw answers can be
// matched to their requests in order.
class RequestLineScanner {
 public:
  void feed(std::string_view bytes);
  // The next request line found and not yet taken: false when none.
  bool next(std::string* method, std::string* target);

 private:
  std::string line_;                                    // the current, unfinished line (bounded)
  std::vector<std::pair<std::string, std::string>> found_;
  std::size_t taken_ = 0;
};

}  // namespace winnow::testing

// The end-to-end tests record every answer they receive (support/answer_log.h)
// in the build's e2e-answers folder unless WINNOW_ANSWER_LOG_DIR names
// another; the programs they start (the real clients' node script) inherit it.
#include <cstdlib>

namespace winnow::testing {
namespace {

const bool kAnswerLogSet = [] {
  return ::setenv("WINNOW_ANSWER_LOG_DIR", WINNOW_ANSWER_LOG_DIR_DEFAULT, /*overwrite=*/0) == 0;
}();

}  // namespace
}  // namespace winnow::testing

// Runs a program the way a user would, for black-box tests of the winnow binary.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace winnow::testing {

struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal number if killed
  std::string out;
  std::string err;
};

// Runs `argv` with `input` on standard input, waits, and captures both output
// streams. `env` entries are added to (or override) the current environment.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::map<std::string, std::string>& env = {});

// The winnow binary under test (built beside the tests).
std::string winnow_binary();

}  // namespace winnow::testing

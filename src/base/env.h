// Reading the process environment.
#pragma once

#include <optional>
#include <string>

namespace winnow::base {

// The value of environment variable `name`, or nullopt when it is unset or
// empty (an empty value means "not set" for every variable Winnow reads).
std::optional<std::string> env(const char* name);

}  // namespace winnow::base

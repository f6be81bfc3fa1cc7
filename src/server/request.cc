#include "server/request.h"

#include <strings.h>

#include <random>

namespace winnow::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (same_name(key, name)) return value;
  }
  return {};
}

bool Request::has_header(std::string_view name) const {
  for (const auto& h : headers) {
    if (same_name(h.first, name)) return true;
  }
  return false;
}

const std::string& Request::path_param(std::string_view name) const {
  static const std::string kNone;
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return kNone;
}

std::optional<std::string> Request::query(std::string_view name) const {
  for (const auto& [key, value] : query_params) {
    if (key == name) return value;
  }
  return std::nullopt;
}

base::Result<std::string> percent_decode(std::string_view text, bool plus_is_space, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (high < 0 || low < 0) {
        return base::invalid_argument(std::string(what) + ": malformed percent-encoding \"" +
                                      std::string(text.substr(i, 3)) + "\"");
      }
      const char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '\0') return base::invalid_argument(std::string(what) + ": %00 is not allowed");
      out += decoded;
      i += 2;
    } else {
      out += (plus_is_space && c == '+') ? ' ' : c;
    }
  }
  return out;
}

base::Result<Params> parse_query(std::string_view query) {
  Params params;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    WINNOW_ASSIGN_OR_RETURN(std::string name, percent_decode(pair.substr(0, eq), true, "query parameter name"));
    std::string value;
    if (eq != std::string_view::npos) {
      WINNOW_ASSIGN_OR_RETURN(value, percent_decode(pair.substr(eq + 1), true, "query parameter " + name));
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=';
    if (!ok) return false;
  }
  return true;
}

std::string generate_request_id() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  static const char* kHex = "0123456789abcdef";
  std::string id(32, '0');
  std::uint64_t bits = rng();
  for (int i = 0; i < 32; ++i) {
    if (i == 16) bits = rng();
    id[i] = kHex[bits & 15];
    bits >>= 4;
  }
  return id;
}

}  // namespace winnow::server

// Ids: the rules every id a client names must follow, generated document
// ids, and wall-clock timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace winnow::store {

// Collection, retriever and vector index ids: 1-128 characters of
// [A-Za-z0-9._-], not "." or "..", so an id is never a path component that
// means something else. `what` names the kind in the error ("collection_id").
base::Status validate_id(std::string_view id, std::string_view what);

// A document's id: 1-512 bytes of UTF-8 text (the JSON parser checked the
// encoding), without control characters (U+0000-U+001F, U+007F).
base::Status validate_document_id(std::string_view id);

// 32 lowercase hex digits from 128 random bits (std::random_device).
// Thread-safe.
std::string generate_id();

// Milliseconds since the Unix epoch (system clock).
std::int64_t now_ms();

}  // namespace winnow::store

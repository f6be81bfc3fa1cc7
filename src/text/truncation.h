// Truncation of encoded sequences to a length budget, as the crate's
// `truncate_encodings` does with stride 0, in either direction.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "text/tokenizer.h"

namespace winnow::text {

// Cuts `a` and `b` (content tokens, no specials) so that together they hold at
// most `budget` tokens (max_length minus the pair template's special tokens).
//
// kLongestFirst: when only the longer sequence is over its share it alone is
// cut; otherwise each keeps budget / 2, the longer one (the second on a tie)
// getting the odd token. kOnlySecond: only `b` is cut; InvalidArgument when it
// has no more tokens than must be removed. A budget of 0 empties both.
// The lengths are chosen the same way in both directions; kRight then drops
// tokens from the end of each sequence, kLeft from its start (the crate's
// TruncationDirection). Returns whether any token was dropped.
base::Result<bool> truncate_pair(std::vector<std::int32_t>& a, std::vector<std::int32_t>& b, std::size_t budget,
                                 Truncation strategy, TruncationDirection direction = TruncationDirection::kRight);

// Keeps at most `length` tokens of `ids`: the first ones (kRight) or the last
// ones (kLeft). Returns whether any token was dropped.
bool truncate_to(std::vector<std::int32_t>& ids, std::size_t length, TruncationDirection direction);

}  // namespace winnow::text

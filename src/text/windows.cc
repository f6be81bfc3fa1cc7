#include "text/windows.h"

#include <algorithm>
#include <string>

#include "text/unicode.h"

namespace winnow::text {
namespace {

// A span of the text with its planned token count.
struct Piece {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t tokens = 0;
};

bool whitespace_at(std::string_view text, std::size_t i, std::size_t* next) {
  std::size_t j = i;
  const char32_t cp = unicode::decode(text, j);
  *next = j;
  return unicode::is_whitespace(cp);
}

// Whitespace-delimited pieces: each is its leading whitespace and one run of
// non-whitespace characters (whitespace at the end joins the last piece).
std::vector<Piece> split_pieces(std::string_view text) {
  std::vector<Piece> pieces;
  std::size_t i = 0;
  std::size_t begin = 0;
  bool in_word = false;
  while (i < text.size()) {
    std::size_t next = 0;
    const bool space = whitespace_at(text, i, &next);
    if (space && in_word) {
      pieces.push_back({begin, i, 0});
      begin = i;
      in_word = false;
    } else if (!space) {
      in_word = true;
    }
    i = next;
  }
  if (begin < text.size() || pieces.empty()) {
    if (!in_word && !pieces.empty()) {
      pieces.back().end = text.size();  // trailing whitespace
    } else {
      pieces.push_back({begin, text.size(), 0});
    }
  }
  return pieces;
}

class Planner {
 public:
  Planner(const Tokenizer& tokenizer, std::string_view text) : tokenizer_(tokenizer), text_(text) {}

  base::Status count(Piece& piece) const {
    WINNOW_ASSIGN_OR_RETURN(std::vector<std::int32_t> ids, tokenizer_.tokenize(text_.substr(piece.begin, piece.end - piece.begin)));
    piece.tokens = ids.size();
    return {};
  }

  // The character boundary nearest the middle of `piece`, strictly inside
  // it; npos when the piece is a single character.
  std::size_t middle(const Piece& piece) const {
    std::size_t mid = piece.begin + (piece.end - piece.begin) / 2;
    while (mid > piece.begin && (static_cast<unsigned char>(text_[mid]) & 0xC0) == 0x80) --mid;
    if (mid == piece.begin) {
      mid = piece.begin + unicode::sequence_length(static_cast<unsigned char>(text_[piece.begin]));
    }
    return mid < piece.end ? mid : std::string_view::npos;
  }

  // Appends `piece` to `out`, halved (recursively, between characters)
  // until every part has at most `limit` tokens or is one character.
  base::Status split_to(Piece piece, std::size_t limit, std::vector<Piece>& out) const {
    if (piece.tokens <= limit) {
      out.push_back(piece);
      return {};
    }
    const std::size_t mid = middle(piece);
    if (mid == std::string_view::npos) {
      out.push_back(piece);
      return {};
    }
    Piece first{piece.begin, mid, 0};
    Piece second{mid, piece.end, 0};
    WINNOW_RETURN_IF_ERROR(count(first));
    WINNOW_RETURN_IF_ERROR(count(second));
    WINNOW_RETURN_IF_ERROR(split_to(first, limit, out));
    return split_to(second, limit, out);
  }

  // Splits `piece` (the one that crosses a budget of `room` tokens) so that
  // the part on the kept side (its start, or its end when `from_end`) fills
  // as much of `room` as halving finds. Returns that part, or nothing.
  base::Result<std::optional<Piece>> fill(Piece piece, std::size_t room, bool from_end) const {
    std::optional<Piece> kept;
    while (room > 0) {
      const std::size_t mid = middle(piece);
      if (mid == std::string_view::npos) break;
      Piece near{from_end ? mid : piece.begin, from_end ? piece.end : mid, 0};
      Piece far{from_end ? piece.begin : mid, from_end ? mid : piece.end, 0};
      WINNOW_RETURN_IF_ERROR(count(near));
      if (near.tokens <= room) {
        // Keep `near` and go on filling from `far`.
        kept = kept ? Piece{std::min(kept->begin, near.begin), std::max(kept->end, near.end), kept->tokens + near.tokens}
                    : near;
        room -= near.tokens;
        WINNOW_RETURN_IF_ERROR(count(far));
        if (far.tokens <= room) {
          kept = Piece{std::min(kept->begin, far.begin), std::max(kept->end, far.end), kept->tokens + far.tokens};
          break;
        }
        piece = far;
      } else {
        piece = near;
      }
    }
    return kept;
  }

 private:
  const Tokenizer& tokenizer_;
  std::string_view text_;
};

bool space_at(std::string_view text, std::size_t i) {
  std::size_t next = 0;
  return i < text.size() && whitespace_at(text, i, &next);
}

// [begin, end) without leading and trailing whitespace (unless all of it is).
void trim(std::string_view text, std::size_t& begin, std::size_t& end) {
  std::size_t b = begin;
  while (b < end && space_at(text, b)) {
    std::size_t next = 0;
    whitespace_at(text, b, &next);
    b = next;
  }
  std::size_t e = end;
  while (e > b) {
    std::size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    if (!space_at(text, start)) break;
    e = start;
  }
  if (b < e) {
    begin = b;
    end = e;
  }
}

}  // namespace

base::Result<WindowPlan> plan_windows(const Tokenizer& tokenizer, std::string_view text, const WindowOptions& options) {
  if (options.max_tokens == 0) return base::invalid_argument("windows: max_tokens must be at least 1");
  if (options.overlap >= options.max_tokens) {
    return base::invalid_argument("windows: overlap (" + std::to_string(options.overlap) +
                                  " tokens) must be smaller than max_tokens (" + std::to_string(options.max_tokens) + ")");
  }
  if (options.max_windows == 0) return base::invalid_argument("windows: max_windows must be at least 1");
  const std::size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    return base::invalid_argument("invalid UTF-8 at byte " + std::to_string(bad) + " of the document");
  }
  const bool from_end = options.direction == TruncationDirection::kLeft;
  Planner planner(tokenizer, text);

  std::vector<Piece> words = split_pieces(text);
  WindowPlan plan;
  std::vector<Piece> pieces;  // no piece over max_tokens (but single characters)
  pieces.reserve(words.size());
  for (Piece& word : words) {
    WINNOW_RETURN_IF_ERROR(planner.count(word));
    plan.tokens += word.tokens;
    WINNOW_RETURN_IF_ERROR(planner.split_to(word, options.max_tokens, pieces));
  }
  // From the end that is kept: windows are filled in this order.
  if (from_end) std::reverse(pieces.begin(), pieces.end());

  if (options.max_total_tokens && plan.tokens > *options.max_total_tokens) {
    std::size_t room = *options.max_total_tokens;
    std::size_t kept = 0;
    while (kept < pieces.size() && pieces[kept].tokens <= room) room -= pieces[kept++].tokens;
    std::optional<Piece> part;
    if (kept < pieces.size() && room > 0) {
      WINNOW_ASSIGN_OR_RETURN(part, planner.fill(pieces[kept], room, from_end));
    }
    pieces.resize(kept);
    if (part) pieces.push_back(*part);
    plan.cut = true;
  }

  std::size_t kept_tokens = 0;
  for (const Piece& p : pieces) kept_tokens += p.tokens;
  if (!plan.cut && kept_tokens <= options.max_tokens) {
    plan.windows.push_back({0, text.size(), kept_tokens});
    return plan;
  }
  if (pieces.empty()) {
    plan.windows.push_back({from_end ? text.size() : 0, from_end ? text.size() : 0, 0});
    return plan;
  }

  std::size_t start = 0;
  while (true) {
    std::size_t end = start;
    std::size_t tokens = 0;
    while (end < pieces.size() && tokens + pieces[end].tokens <= options.max_tokens) tokens += pieces[end++].tokens;
    if (end == start) tokens = pieces[end++].tokens;  // one character over max_tokens: its own window
    const Piece& first = pieces[start];
    const Piece& last = pieces[end - 1];
    TextWindow window{from_end ? last.begin : first.begin, from_end ? first.end : last.end, tokens};
    trim(text, window.begin, window.end);
    plan.windows.push_back(window);
    if (end == pieces.size()) break;
    if (plan.windows.size() == options.max_windows) {
      plan.cut = true;
      break;
    }
    std::size_t next = end;
    std::size_t shared = 0;
    while (next - 1 > start && shared + pieces[next - 1].tokens <= options.overlap) shared += pieces[--next].tokens;
    start = next;
  }
  if (from_end) std::reverse(plan.windows.begin(), plan.windows.end());
  return plan;
}

std::size_t code_point_offset(std::string_view text, std::size_t byte_offset) {
  return unicode::count_chars(text.substr(0, std::min(byte_offset, text.size())));
}

}  // namespace winnow::text

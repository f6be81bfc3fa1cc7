// Windows over a long text: the spans a document longer than a model's
// window is cut into, so that each is scored on its own (chunked scoring).
//
// A window is a span of the original text (bytes [begin, end)), so that it
// can be shown, scored again on its own, and reported as offsets. Windows
// start and end at whitespace, except inside a run of text without
// whitespace longer than a window, which is cut between characters. Token
// counts are planned by tokenizing each whitespace-delimited piece on its
// own: that is the text's tokenization for WordPiece and Metaspace
// tokenizers, but a piece's tokens may differ at the edges (a normalizer
// that joins across whitespace), so the tokens a window really has are what
// its own encoding gives, which may be a few more than planned.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/tokenizer.h"

namespace winnow::text {

struct WindowOptions {
  std::size_t max_tokens = 0;  // content tokens per window (no special tokens); >= 1
  std::size_t overlap = 0;     // tokens at most shared by consecutive windows; < max_tokens
  std::size_t max_windows = 1;  // windows at most; the text beyond them is in none (>= 1)
  // Tokens of the text considered at all, counted from the end `direction`
  // keeps (Cohere's max_tokens_per_doc); unset: the whole text.
  std::optional<std::size_t> max_total_tokens;
  // kRight: windows from the start of the text, and what does not fit is
  // its end; kLeft: windows from the end, dropping the start.
  TruncationDirection direction = TruncationDirection::kRight;
};

struct TextWindow {
  std::size_t begin = 0;   // byte offsets into the text, at character boundaries
  std::size_t end = 0;
  std::size_t tokens = 0;  // content tokens, as planned
};

struct WindowPlan {
  std::vector<TextWindow> windows;  // in text order, at least one (an empty text has one empty window)
  std::size_t tokens = 0;           // content tokens of the whole text, as planned
  bool cut = false;                 // some of the text is in no window
};

// Plans the windows of `text` for `tokenizer`: a text whose planned tokens
// fit max_tokens (and max_total_tokens) is one window, the whole text.
// Otherwise windows are filled greedily up to max_tokens, the next starting
// so that it repeats at most `overlap` tokens of the previous one, until the
// text (or max_windows) is used up. InvalidArgument for invalid UTF-8 or
// options out of range. Thread-safe.
base::Result<WindowPlan> plan_windows(const Tokenizer& tokenizer, std::string_view text, const WindowOptions& options);

// The number of Unicode code points in text[0, byte_offset): a window's
// byte offsets as character offsets.
std::size_t code_point_offset(std::string_view text, std::size_t byte_offset);

}  // namespace winnow::text

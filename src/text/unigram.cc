#include "text/unigram.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "text/json_fields.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

constexpr double kUnkPenalty = 10.0;

// 10^k for 0 <= k <= 308, correctly rounded (as Rust's float literals are).
const std::vector<double>& powers_of_ten() {
  static const std::vector<double> table = [] {
    std::vector<double> t(309);
    for (int k = 0; k <= 308; ++k) t[static_cast<std::size_t>(k)] = std::strtod(("1e" + std::to_string(k)).c_str(), nullptr);
    return t;
  }();
  return table;
}

// The value serde_json (built without float_roundtrip, as the crate uses it)
// gets for the JSON number that prints as `value`: it reads the decimal
// digits into a u64 significand and scales it by one power of ten, which is
// off by one ULP for about a fifth of SentencePiece scores. Scores must match
// the crate's bit for bit, or near-ties in Viterbi could resolve differently.
// Assumes the file holds shortest round-trip decimals (Python and serde both
// write them).
double as_serde_json_reads(double value) {
  if (value == 0.0 || !std::isfinite(value)) return value;
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), std::fabs(value));
  if (ec != std::errc()) return value;
  std::uint64_t significand = 0;
  int exponent = 0;
  bool after_point = false;
  for (const char* p = buffer; p < end; ++p) {
    if (*p >= '0' && *p <= '9') {
      if (significand > (UINT64_MAX - 9) / 10) return value;  // cannot happen for shortest decimals
      significand = significand * 10 + static_cast<std::uint64_t>(*p - '0');
      if (after_point) --exponent;
    } else if (*p == '.') {
      after_point = true;
    } else if (*p == 'e' || *p == 'E') {
      exponent += std::atoi(p + 1);
      break;
    }
  }
  const auto& pow10 = powers_of_ten();
  double f = static_cast<double>(significand);
  while (true) {
    int magnitude = exponent < 0 ? -exponent : exponent;
    if (magnitude <= 308) {
      if (exponent >= 0) {
        f *= pow10[static_cast<std::size_t>(magnitude)];
      } else {
        f /= pow10[static_cast<std::size_t>(magnitude)];
      }
      break;
    }
    if (f == 0.0 || exponent >= 0) break;
    f /= 1e308;
    exponent += 308;
  }
  return value < 0 ? -f : f;
}

}  // namespace

void PieceTrie::build(const std::vector<std::string>& keys) {
  nodes_.clear();
  labels_.clear();
  root_children_.fill(-1);
  std::vector<std::uint32_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return keys[a] < keys[b]; });
  nodes_.push_back(Node{});
  labels_.push_back(0);
  struct Pending {
    std::uint32_t node;
    std::size_t lo;
    std::size_t hi;
    std::size_t depth;
  };
  std::vector<Pending> stack;
  stack.push_back({0, 0, order.size(), 0});
  while (!stack.empty()) {
    Pending p = stack.back();
    stack.pop_back();
    std::size_t i = p.lo;
    // Keys that end here sort first; with duplicates the last index wins.
    while (i < p.hi && keys[order[i]].size() == p.depth) {
      auto v = static_cast<std::int32_t>(order[i]);
      if (v > nodes_[p.node].value) nodes_[p.node].value = v;
      ++i;
    }
    auto first = static_cast<std::uint32_t>(nodes_.size());
    std::uint32_t count = 0;
    while (i < p.hi) {
      auto label = static_cast<unsigned char>(keys[order[i]][p.depth]);
      std::size_t j = i;
      while (j < p.hi && static_cast<unsigned char>(keys[order[j]][p.depth]) == label) ++j;
      nodes_.push_back(Node{});
      labels_.push_back(label);
      stack.push_back({first + count, i, j, p.depth + 1});
      ++count;
      i = j;
    }
    nodes_[p.node].first_child = first;
    nodes_[p.node].child_count = count;
  }
  const Node& root = nodes_[0];
  for (std::uint32_t c = 0; c < root.child_count; ++c) {
    root_children_[labels_[root.first_child + c]] = static_cast<std::int32_t>(root.first_child + c);
  }
}

std::int32_t PieceTrie::child(const Node& n, unsigned char label) const {
  const unsigned char* begin = labels_.data() + n.first_child;
  const unsigned char* end = begin + n.child_count;
  const unsigned char* it = std::lower_bound(begin, end, label);
  if (it == end || *it != label) return -1;
  return static_cast<std::int32_t>(n.first_child + (it - begin));
}

base::Result<std::unique_ptr<SubwordModel>> Unigram::from_json(const nlohmann::json& spec, std::string_view where) {
  auto model = std::make_unique<Unigram>();
  auto vocab_it = spec.find("vocab");
  if (vocab_it == spec.end() || !vocab_it->is_array()) {
    return field_error(where, "vocab", "must be an array of [piece, score] pairs");
  }
  std::vector<std::string> pieces;
  pieces.reserve(vocab_it->size());
  model->scores_.reserve(vocab_it->size());
  model->vocab_.reserve(vocab_it->size());
  double min_score = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < vocab_it->size(); ++i) {
    const auto& entry = (*vocab_it)[i];
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_number()) {
      return field_error(where, "vocab", "entry " + std::to_string(i) + " is not a [piece, score] pair");
    }
    pieces.push_back(entry[0].get<std::string>());
    double score = as_serde_json_reads(entry[1].get<double>());
    model->scores_.push_back(score);
    model->vocab_[pieces.back()] = static_cast<std::int32_t>(i);
    min_score = std::min(min_score, score);
  }
  model->min_score_ = min_score;
  auto unk_it = spec.find("unk_id");
  if (unk_it != spec.end() && !unk_it->is_null()) {
    if (!unk_it->is_number_integer() || unk_it->get<std::int64_t>() < 0) {
      return field_error(where, "unk_id", "must be a non-negative integer or null");
    }
    if (pieces.empty()) return field_error(where, "vocab", "is empty but at least <unk> is needed");
    if (unk_it->get<std::int64_t>() >= static_cast<std::int64_t>(pieces.size())) {
      return field_error(where, "unk_id", "is not an index of the vocabulary");
    }
    model->unk_id_ = static_cast<std::int32_t>(unk_it->get<std::int64_t>());
  }
  WINNOW_ASSIGN_OR_RETURN(model->byte_fallback_, get_bool(spec, "byte_fallback", false, where));
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = model->vocab_.find(std::string_view(name));
    model->byte_ids_[static_cast<std::size_t>(b)] = it == model->vocab_.end() ? -1 : it->second;
  }
  model->trie_.build(pieces);
  return std::unique_ptr<SubwordModel>(std::move(model));
}

std::optional<std::int32_t> Unigram::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

base::Status Unigram::push_unknown_piece(std::string_view piece, std::vector<std::int32_t>& ids) const {
  auto it = vocab_.find(piece);
  if (it != vocab_.end()) {
    ids.push_back(it->second);
    return {};
  }
  if (byte_fallback_) {
    bool all = true;
    for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
    if (all) {
      for (char c : piece) ids.push_back(byte_ids_[static_cast<unsigned char>(c)]);
      return {};
    }
  }
  if (!unk_id_) return base::failed_precondition("Unigram: encountered an unknown piece but unk_id is missing");
  ids.push_back(*unk_id_);
  return {};
}

base::Status Unigram::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (word.empty()) return {};
  struct BestPath {
    double score = 0.0;
    std::int32_t id = 0;
    std::int32_t starts_at = -1;  // -1: not reached yet
  };
  thread_local std::vector<BestPath> best;
  const std::size_t size = word.size();
  best.assign(size + 1, BestPath{});
  const double unk_score = min_score_ - kUnkPenalty;
  std::size_t starts_at = 0;
  while (starts_at < size) {
    const double score_here = best[starts_at].score;
    const std::size_t char_len = unicode::sequence_length(static_cast<unsigned char>(word[starts_at]));
    bool has_single_node = false;
    trie_.common_prefix_search(word.substr(starts_at), [&](std::size_t length, std::int32_t id) {
      BestPath& target = best[starts_at + length];
      double candidate = scores_[static_cast<std::size_t>(id)] + score_here;
      if (target.starts_at < 0 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<std::int32_t>(starts_at);
        target.id = id;
      }
      if (length == char_len) has_single_node = true;
    });
    if (!has_single_node) {
      BestPath& target = best[starts_at + char_len];
      double candidate = unk_score + score_here;
      if (target.starts_at < 0 || candidate > target.score) {
        if (!unk_id_) return base::failed_precondition("Unigram: encountered an unknown piece but unk_id is missing");
        target.score = candidate;
        target.starts_at = static_cast<std::int32_t>(starts_at);
        target.id = *unk_id_;
      }
    }
    starts_at += char_len;
  }
  // Walk back from the end; unknown pieces next to each other are fused.
  thread_local std::vector<std::pair<std::uint32_t, std::uint32_t>> spans;  // [start, end), reversed
  thread_local std::vector<bool> unknown;
  spans.clear();
  unknown.clear();
  std::size_t ends_at = size;
  while (ends_at > 0) {
    const BestPath& node = best[ends_at];
    auto start = static_cast<std::size_t>(node.starts_at);
    bool is_unk = unk_id_ && node.id == *unk_id_;
    if (is_unk && !unknown.empty() && unknown.back()) {
      spans.back().first = static_cast<std::uint32_t>(start);
    } else {
      spans.emplace_back(static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(ends_at));
      unknown.push_back(is_unk);
    }
    ends_at = start;
  }
  for (std::size_t k = spans.size(); k-- > 0;) {
    std::string_view piece = word.substr(spans[k].first, spans[k].second - spans[k].first);
    if (unknown[k]) {
      WINNOW_RETURN_IF_ERROR(push_unknown_piece(piece, ids));
    } else {
      // A piece found in the trie: its string maps to the node's id, unless
      // that string is absent from the map, which cannot happen.
      const BestPath& node = best[spans[k].second];
      ids.push_back(node.id);
    }
  }
  return {};
}

}  // namespace winnow::text

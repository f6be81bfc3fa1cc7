#include "text/bpe.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>
#include <shared_mutex>

#include "text/json_fields.h"
#include "text/unicode.h"

namespace winnow::text {

namespace {

// The crate caches words shorter than this many bytes, at most this many words.
constexpr std::size_t kCacheMaxWordBytes = 256;
constexpr std::size_t kCacheCapacity = 10000;

// A string field that may be absent or null (the crate's Option<String>).
base::Result<std::optional<std::string>> optional_string(const nlohmann::json& spec, std::string_view field,
                                                         std::string_view where) {
  auto it = spec.find(std::string(field));
  if (it == spec.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return field_error(where, field, "must be a string or null");
  return std::optional<std::string>(it->get<std::string>());
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One symbol of the word being merged; `len` 0 marks a symbol merged into its
// left neighbour (the crate's convention).
struct Symbol {
  std::int32_t id;
  std::int32_t prev;
  std::int32_t next;
  std::uint32_t len;
};

struct Candidate {
  std::uint32_t rank;
  std::uint32_t pos;
  std::int32_t new_id;
};

// std::push_heap keeps the "largest" on top: make that the lowest rank, then
// the leftmost position, as the crate's heap orders its merges.
struct PopsLater {
  bool operator()(const Candidate& a, const Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  }
};

}  // namespace

// Words already merged. Sharded so that threads tokenizing at once rarely
// share a lock; once full it only answers lookups, as the crate's cache does.
class Bpe::WordCache {
 public:
  // Appends the cached ids of `word` and returns true, or returns false.
  bool get(std::string_view word, std::vector<std::int32_t>& ids) const {
    const std::size_t hash = std::hash<std::string_view>{}(word);
    const Shard& shard = shards_[hash % kShards];
    std::shared_lock lock(shard.mutex);
    auto it = shard.words.find(word);
    if (it == shard.words.end()) return false;
    ids.insert(ids.end(), it->second.begin(), it->second.end());
    return true;
  }

  // Remembers `word`'s ids unless the shard is full or busy.
  void put(std::string_view word, const std::int32_t* ids, std::size_t count) {
    const std::size_t hash = std::hash<std::string_view>{}(word);
    Shard& shard = shards_[hash % kShards];
    std::unique_lock lock(shard.mutex, std::try_to_lock);
    if (!lock.owns_lock() || shard.words.size() >= kCapacity / kShards) return;
    shard.words.emplace(std::string(word), std::vector<std::int32_t>(ids, ids + count));
  }

 private:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kCapacity = kCacheCapacity;
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>, StringHash, std::equal_to<>> words;
  };
  std::array<Shard, kShards> shards_;
};

Bpe::Bpe() : cache_(std::make_unique<WordCache>()) {
  byte_ids_.fill(-1);
  char_ids_.fill(-1);
}

Bpe::~Bpe() = default;

base::Result<std::unique_ptr<SubwordModel>> Bpe::from_json(const nlohmann::json& spec, std::string_view where) {
  std::unique_ptr<Bpe> model(new Bpe());
  if (auto it = spec.find("dropout"); it != spec.end() && !it->is_null()) {
    if (!it->is_number()) return field_error(where, "dropout", "must be a number or null");
    // The crate keeps an f32; 0 (or what rounds to it) means no dropout.
    const auto p = static_cast<float>(it->get<double>());
    if (!(p >= 0.0f && p <= 1.0f)) return field_error(where, "dropout", "must be between 0 and 1");
    if (p > 0.0f) {
      return field_error(where, "dropout",
                         "is " + it->dump() +
                             ": BPE dropout skips merges at random, so the same text would get different "
                             "token ids from call to call; Winnow needs it null or 0");
    }
  }
  WINNOW_ASSIGN_OR_RETURN(model->unk_token_, optional_string(spec, "unk_token", where));
  WINNOW_ASSIGN_OR_RETURN(model->prefix_, optional_string(spec, "continuing_subword_prefix", where));
  WINNOW_ASSIGN_OR_RETURN(model->suffix_, optional_string(spec, "end_of_word_suffix", where));
  WINNOW_ASSIGN_OR_RETURN(model->fuse_unk_, get_bool(spec, "fuse_unk", false, where));
  WINNOW_ASSIGN_OR_RETURN(model->byte_fallback_, get_bool(spec, "byte_fallback", false, where));
  WINNOW_ASSIGN_OR_RETURN(model->ignore_merges_, get_bool(spec, "ignore_merges", false, where));

  auto vocab_it = spec.find("vocab");
  if (vocab_it == spec.end() || !vocab_it->is_object()) {
    return field_error(where, "vocab", "must be an object mapping tokens to ids");
  }
  model->vocab_.reserve(vocab_it->size());
  for (const auto& [token, id] : vocab_it->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX) {
      return field_error(where, "vocab", "has a non-integer or out-of-range id for token " + in_quotes(token));
    }
    model->vocab_[token] = static_cast<std::int32_t>(id.get<std::int64_t>());
  }

  auto merges_it = spec.find("merges");
  if (merges_it == spec.end() || !merges_it->is_array()) {
    return field_error(where, "merges", "must be an array of merges (\"a b\" strings or [\"a\", \"b\"] pairs)");
  }
  const std::size_t prefix_len = model->prefix_ ? model->prefix_->size() : 0;
  std::uint32_t rank = 0;
  for (std::size_t i = 0; i < merges_it->size(); ++i) {
    const auto& entry = (*merges_it)[i];
    const std::string item = "merges[" + std::to_string(i) + "]";
    std::string a;
    std::string b;
    if (entry.is_string()) {
      // Legacy merges.txt lines: "a b", exactly one space.
      const std::string line = entry.get<std::string>();
      if (line.rfind("#version", 0) == 0) continue;
      auto space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return field_error(where, "merges", "entry " + std::to_string(i) + " (" + in_quotes(line) +
                                                ") must be two tokens separated by one space");
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string()) {
      a = entry[0].get<std::string>();
      b = entry[1].get<std::string>();
    } else {
      return field_error(where, "merges", "entry " + std::to_string(i) + " must be a \"a b\" string or a [\"a\", \"b\"] pair");
    }
    auto a_it = model->vocab_.find(a);
    auto b_it = model->vocab_.find(b);
    const std::string missing = a_it == model->vocab_.end() ? a : b;
    if (a_it == model->vocab_.end() || b_it == model->vocab_.end()) {
      return base::invalid_argument(std::string(where) + ": " + item + " (" + in_quotes(a) + ", " + in_quotes(b) +
                                    ") names token " + in_quotes(missing) + ", which is not in the vocab");
    }
    // The merged token drops the right side's continuing_subword_prefix.
    if (b.size() < prefix_len ||
        (prefix_len < b.size() && (static_cast<unsigned char>(b[prefix_len]) & 0xC0) == 0x80)) {
      return base::invalid_argument(std::string(where) + ": " + item + ": token " + in_quotes(b) +
                                    " does not start with a whole continuing_subword_prefix");
    }
    const std::string merged = a + b.substr(prefix_len);
    auto merged_it = model->vocab_.find(merged);
    if (merged_it == model->vocab_.end()) {
      return base::invalid_argument(std::string(where) + ": " + item + " (" + in_quotes(a) + ", " + in_quotes(b) +
                                    ") makes " + in_quotes(merged) + ", which is not in the vocab");
    }
    // A pair listed twice keeps its last rank, as the crate's map does.
    model->merges_[pair_key(a_it->second, b_it->second)] = {rank, merged_it->second};
    ++rank;
  }

  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    auto it = model->vocab_.find(std::string_view(name));
    model->byte_ids_[static_cast<std::size_t>(b)] = it == model->vocab_.end() ? -1 : it->second;
  }
  for (const auto& [token, id] : model->vocab_) {
    if (token.empty() || unicode::find_invalid_utf8(token) != std::string_view::npos) continue;
    std::size_t i = 0;
    char32_t cp = unicode::decode(token, i);
    if (i == token.size() && cp < model->char_ids_.size()) model->char_ids_[cp] = id;
  }
  return std::unique_ptr<SubwordModel>(std::move(model));
}

std::optional<std::int32_t> Bpe::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

base::Status Bpe::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (word.empty()) return {};
  if (ignore_merges_) {
    if (auto it = vocab_.find(word); it != vocab_.end()) {
      ids.push_back(it->second);
      return {};
    }
  }
  const bool cacheable = word.size() < kCacheMaxWordBytes;
  if (cacheable && cache_->get(word, ids)) return {};
  const std::size_t first = ids.size();
  WINNOW_RETURN_IF_ERROR(merge_word(word, ids));
  if (cacheable) cache_->put(word, ids.data() + first, ids.size() - first);
  return {};
}

base::Status Bpe::merge_word(std::string_view word, std::vector<std::int32_t>& ids) const {
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  thread_local std::string decorated;
  symbols.clear();
  heap.clear();
  auto add = [](std::int32_t id, std::uint32_t len) {
    auto n = static_cast<std::int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, len});
  };

  // One symbol per code point.
  std::int32_t unk_id = -1;  // a pending unk token (-1: none) and the bytes it covers
  std::uint32_t unk_len = 0;
  const bool has_prefix = prefix_ && !prefix_->empty();
  const bool has_suffix = suffix_ && !suffix_->empty();
  std::size_t i = 0;
  while (i < word.size()) {
    const std::size_t start = i;
    const char32_t cp = unicode::decode(word, i);
    const auto len = static_cast<std::uint32_t>(i - start);
    const bool first = start == 0;
    const bool last = i == word.size();
    std::string_view piece = word.substr(start, len);
    std::int32_t id = -1;
    if ((first || !has_prefix) && (!last || !has_suffix)) {
      if (cp < char_ids_.size()) {
        id = char_ids_[cp];
      } else if (auto it = vocab_.find(piece); it != vocab_.end()) {
        id = it->second;
      }
    } else {
      decorated.clear();
      if (!first && has_prefix) decorated += *prefix_;
      decorated += piece;
      if (last && has_suffix) decorated += *suffix_;
      piece = decorated;
      if (auto it = vocab_.find(piece); it != vocab_.end()) id = it->second;
    }
    if (id >= 0) {
      if (unk_id >= 0) {
        add(unk_id, unk_len);
        unk_id = -1;
      }
      add(id, len);
      continue;
    }
    if (byte_fallback_) {
      // The crate adds these without flushing a pending unk first.
      bool all = true;
      for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : piece) add(byte_ids_[static_cast<unsigned char>(c)], 1);
        continue;
      }
    }
    if (!unk_token_) continue;  // no unk token: the character is dropped, as in the crate
    if (unk_id >= 0 && fuse_unk_) {
      unk_len += len;
      continue;
    }
    if (unk_id >= 0) add(unk_id, unk_len);
    auto unk_it = vocab_.find(*unk_token_);
    if (unk_it == vocab_.end()) {
      return base::failed_precondition("BPE: unknown token " + in_quotes(*unk_token_) + " is not in the vocabulary");
    }
    unk_id = unk_it->second;
    unk_len = len;
  }
  if (unk_id >= 0) add(unk_id, unk_len);

  // Merge the lowest-ranked pair, leftmost first, until none applies.
  for (std::size_t pos = 0; pos + 1 < symbols.size(); ++pos) {
    if (const MergeRule* rule = find_merge(symbols[pos].id, symbols[pos + 1].id)) {
      heap.push_back({rule->rank, static_cast<std::uint32_t>(pos), rule->new_id});
    }
  }
  std::make_heap(heap.begin(), heap.end(), PopsLater());
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), PopsLater());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (left.len == 0 || left.next == -1) continue;
    const auto right_pos = static_cast<std::size_t>(left.next);
    const Symbol right = symbols[right_pos];
    // Skip entries made stale by earlier merges.
    const MergeRule* current = find_merge(left.id, right.id);
    if (current == nullptr || current->new_id != top.new_id) continue;
    left.id = top.new_id;
    left.len += right.len;
    left.next = right.next;
    symbols[right_pos].len = 0;
    if (right.next > -1 && static_cast<std::size_t>(right.next) < symbols.size()) {
      symbols[static_cast<std::size_t>(right.next)].prev = static_cast<std::int32_t>(top.pos);
    }
    const Symbol merged = symbols[top.pos];
    if (merged.prev >= 0) {
      if (const MergeRule* rule = find_merge(symbols[static_cast<std::size_t>(merged.prev)].id, merged.id)) {
        heap.push_back({rule->rank, static_cast<std::uint32_t>(merged.prev), rule->new_id});
        std::push_heap(heap.begin(), heap.end(), PopsLater());
      }
    }
    if (merged.next >= 0 && static_cast<std::size_t>(merged.next) < symbols.size()) {
      if (const MergeRule* rule = find_merge(merged.id, symbols[static_cast<std::size_t>(merged.next)].id)) {
        heap.push_back({rule->rank, top.pos, rule->new_id});
        std::push_heap(heap.begin(), heap.end(), PopsLater());
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) ids.push_back(s.id);
  }
  return {};
}

}  // namespace winnow::text

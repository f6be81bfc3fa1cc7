#include "rerankers/score_cache.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace winnow::rerankers {
namespace {

// What glibc's malloc takes for a request of `n` bytes: an 8-byte header,
// rounded up to 16, at least 32.
std::size_t malloc_chunk(std::size_t n) { return std::max<std::size_t>(32, (n + 8 + 15) & ~std::size_t{15}); }

// A std::list node: two pointers and the value. An unordered_map node (no
// cached hash: KeyHash is noexcept and cheap): the next pointer and the value.
template <typename Value>
constexpr std::size_t list_node_bytes() {
  return 2 * sizeof(void*) + sizeof(Value);
}
template <typename Value>
constexpr std::size_t map_node_bytes() {
  return sizeof(void*) + sizeof(Value);
}

}  // namespace

std::size_t ScoreCache::KeyHash::operator()(const Key& key) const noexcept {
  std::size_t h;
  std::memcpy(&h, key.data(), sizeof h);  // a digest's bytes are already uniform
  return h;
}

std::size_t ScoreCache::entry_bytes() {
  using MapValue = std::pair<const Key, std::list<Entry>::iterator>;
  return malloc_chunk(list_node_bytes<Entry>()) + malloc_chunk(map_node_bytes<MapValue>());
}

ScoreCache::ScoreCache(std::size_t capacity_bytes, std::size_t shards) : capacity_bytes_(capacity_bytes) {
  // Each shard should hold at least a few thousand entries, or eviction
  // becomes per-shard noise; small caches get fewer shards.
  const std::size_t per_shard_floor = 4096 * entry_bytes();
  shards = std::max<std::size_t>(1, std::min(shards, capacity_bytes / per_shard_floor));
  shards_.reserve(shards);
  for (std::size_t i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->capacity = capacity_bytes / shards;
    shards_.push_back(std::move(shard));
  }
}

ScoreCache::Shard& ScoreCache::shard_of(const Key& key) {
  // Bytes other than KeyHash's, so that a shard's table still spreads.
  std::size_t h;
  std::memcpy(&h, key.data() + 8, sizeof h);
  return *shards_[h % shards_.size()];
}

std::size_t ScoreCache::bytes_of(const Shard& shard) {
  return shard.bytes + shard.index.bucket_count() * sizeof(void*);
}

std::optional<inference::DocumentScore> ScoreCache::find(const Key& key) {
  Shard& shard = shard_of(key);
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      inference::DocumentScore score = it->second->score;
      hits_.fetch_add(1, std::memory_order_relaxed);
      return score;
    }
  }
  misses_.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::size_t ScoreCache::insert(const Key& key, const inference::DocumentScore& score) {
  Shard& shard = shard_of(key);
  // An entry larger than a shard's whole part is never stored (cache off, or a bound of a few bytes).
  if (entry_bytes() + sizeof(void*) > shard.capacity) return 0;
  std::size_t evicted = 0;
  {
    std::lock_guard<std::mutex> lock(shard.mutex);
    auto it = shard.index.find(key);
    if (it != shard.index.end()) {
      it->second->score = score;
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      return 0;
    }
    shard.lru.push_front(Entry{key, score});
    shard.index.emplace(key, shard.lru.begin());
    shard.bytes += entry_bytes();
    while (bytes_of(shard) > shard.capacity && shard.lru.size() > 1) {
      shard.index.erase(shard.lru.back().key);
      shard.lru.pop_back();
      shard.bytes -= entry_bytes();
      ++evicted;
    }
  }
  insertions_.fetch_add(1, std::memory_order_relaxed);
  if (evicted > 0) evictions_.fetch_add(evicted, std::memory_order_relaxed);
  return evicted;
}

ScoreCache::Stats ScoreCache::stats() const {
  Stats stats;
  stats.hits = hits_.load(std::memory_order_relaxed);
  stats.misses = misses_.load(std::memory_order_relaxed);
  stats.evictions = evictions_.load(std::memory_order_relaxed);
  stats.insertions = insertions_.load(std::memory_order_relaxed);
  stats.capacity_bytes = capacity_bytes_;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mutex);
    stats.entries += shard->lru.size();
    stats.bytes += bytes_of(*shard);
  }
  return stats;
}

// ------------------------------------------------------------------ keys

struct ScoreKeys::Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Digest() { EVP_MD_CTX_free(ctx); }

  // Every field goes in with its length first, so that no two different
  // field lists hash the same bytes.
  void add(std::string_view bytes) const {
    const std::uint64_t size = bytes.size();
    EVP_DigestUpdate(ctx, &size, sizeof size);
    EVP_DigestUpdate(ctx, bytes.data(), bytes.size());
  }
  void add(std::uint64_t value) const {
    add(std::string_view(reinterpret_cast<const char*>(&value), sizeof value));
  }
};

ScoreKeys::ScoreKeys(const ScoreSettings& settings, std::string_view query) : prefix_(std::make_unique<Digest>()) {
  if (prefix_->ctx == nullptr || EVP_DigestInit_ex(prefix_->ctx, EVP_sha256(), nullptr) != 1) {
    prefix_.reset();  // no keys: every document is a miss that is not stored
    return;
  }
  const Digest& d = *prefix_;
  d.add("winnow score cache 1");  // the layout of what follows
  d.add(settings.model);
  d.add(settings.revision);
  d.add(static_cast<std::uint64_t>(settings.precision));
  d.add(static_cast<std::uint64_t>(settings.max_length));
  d.add(static_cast<std::uint64_t>(settings.tokenizer_truncation));
  const inference::DocumentOptions default_options;
  const inference::DocumentOptions& o = settings.options ? *settings.options : default_options;
  d.add(static_cast<std::uint64_t>(o.direction));
  d.add(o.max_document_tokens ? *o.max_document_tokens + 1 : 0);
  d.add(o.truncate ? 1 : 0);
  if (o.chunking) {
    const inference::ChunkOptions& c = *o.chunking;
    d.add(1);
    d.add(c.max_tokens);
    d.add(c.overlap);
    d.add(c.max_chunks);
    d.add(static_cast<std::uint64_t>(c.aggregate));
    d.add(c.top_k);
  } else {
    d.add(0);
  }
  d.add(settings.instruction);
  d.add(query);
}

ScoreKeys::~ScoreKeys() = default;

std::optional<ScoreCache::Key> ScoreKeys::key(std::string_view document) const {
  if (!prefix_) return std::nullopt;
  Digest d;
  ScoreCache::Key key{};
  unsigned int size = 0;
  if (d.ctx == nullptr || EVP_MD_CTX_copy_ex(d.ctx, prefix_->ctx) != 1) return std::nullopt;
  d.add(document);
  if (EVP_DigestFinal_ex(d.ctx, key.data(), &size) != 1 || size != key.size()) return std::nullopt;
  return key;
}

}  // namespace winnow::rerankers

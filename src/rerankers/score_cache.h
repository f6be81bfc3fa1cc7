// ScoreCache: scores the local cross-encoder computed before, so that a
// repeated (query, document) pair under the same model and settings answers
// without the engine (the common case behind a search box: pagination,
// retries, the same popular query).
//
// A key is the SHA-256 of everything a score depends on (ScoreKeys below):
// the model's identity and revision, the precision, max_length and the
// tokenizer's truncation strategy, the call's truncation and chunking
// settings, the query and the document. Storing the digest instead of the
// texts keeps an entry's size fixed (a collision would need a SHA-256
// collision). Values are the scores exactly as the engine returned them, so a
// hit is bitwise the score a miss computes.
//
// Memory is bounded by the bytes the entries really take (nodes as the
// allocator rounds them, the hash tables' bucket arrays); the least recently
// used entries are evicted to stay under it. Sharded: each shard is its own
// LRU under its own mutex with an equal part of the budget, so concurrent
// callers rarely meet on a lock.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "inference/scorer.h"

namespace winnow::rerankers {

class ScoreCache {
 public:
  using Key = std::array<unsigned char, 32>;  // SHA-256

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t evictions = 0;  // entries dropped to stay under the bound
    std::uint64_t insertions = 0;
    std::size_t entries = 0;
    std::size_t bytes = 0;           // what the entries and the tables take now
    std::size_t capacity_bytes = 0;  // the bound
  };

  // The default shard count: enough that the server's workers (a few per
  // core) rarely wait on one another.
  static constexpr std::size_t kDefaultShards = 16;

  // At most `capacity_bytes` in all (each of `shards` shards its part);
  // shards is clamped so that each part holds some entries.
  explicit ScoreCache(std::size_t capacity_bytes, std::size_t shards = kDefaultShards);
  ScoreCache(const ScoreCache&) = delete;
  ScoreCache& operator=(const ScoreCache&) = delete;

  // The score stored under `key`, counted as a hit (and made the most
  // recently used), or nullopt, counted as a miss. Thread-safe.
  std::optional<inference::DocumentScore> find(const Key& key);
  // Stores `score` under `key` (replacing any there) and evicts least
  // recently used entries until the shard is under its bound again; returns
  // how many it evicted. Thread-safe.
  std::size_t insert(const Key& key, const inference::DocumentScore& score);

  Stats stats() const;
  std::size_t shards() const { return shards_.size(); }
  // What one entry costs, its share of the bucket array aside.
  static std::size_t entry_bytes();

 private:
  struct Entry {
    Key key;
    inference::DocumentScore score;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<Entry> lru;  // most recently used first
    std::unordered_map<Key, std::list<Entry>::iterator, KeyHash> index;
    std::size_t bytes = 0;  // entries only; bucket arrays are added by bytes_of()
    std::size_t capacity = 0;
  };
  // A shard's memory now. Caller holds its mutex.
  static std::size_t bytes_of(const Shard& shard);
  Shard& shard_of(const Key& key);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::size_t capacity_bytes_;
  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> insertions_{0};
};

// Everything a score depends on besides the query and the document. Two
// calls share cache entries only when every field is equal.
struct ScoreSettings {
  std::string_view model;     // the model's identity: its directory (and a load number when it has no revision)
  std::string_view revision;  // a commit hash, "" when unknown
  base::Precision precision = base::Precision::kFp32;  // resolved: never kAuto
  std::size_t max_length = 0;
  int tokenizer_truncation = 0;  // text::Truncation of the scorer
  const inference::DocumentOptions* options = nullptr;  // truncation direction, max tokens, truncate, chunking
  std::string_view instruction;  // an instruction the model's prompt carries, "" when none
};

// Keys for one call: the settings and the query are hashed once, each
// document's key continues from there.
class ScoreKeys {
 public:
  ScoreKeys(const ScoreSettings& settings, std::string_view query);
  ~ScoreKeys();
  ScoreKeys(const ScoreKeys&) = delete;
  ScoreKeys& operator=(const ScoreKeys&) = delete;

  // nullopt only if OpenSSL fails to hash (out of memory): the document is
  // then scored and not stored.
  std::optional<ScoreCache::Key> key(std::string_view document) const;

 private:
  struct Digest;
  std::unique_ptr<Digest> prefix_;
};

}  // namespace winnow::rerankers

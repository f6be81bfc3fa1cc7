// One vector index of one collection, held in memory: exact search below a
// size threshold, HNSW (hnswlib) at and above it.
//
// SQLite's vectors table is the source of truth; this is a cache of it. An
// HNSW index is persisted beside the database (save) with the highest change
// sequence it reflects, and on open is loaded and caught up from the change
// log, or rebuilt (see store.cc). Exact indexes are not persisted: below the
// threshold, reading the vectors back from SQLite is as fast as a file.
//
// Labels are documents.doc_key. For the cosine metric vectors are stored
// L2-normalised and the score is the inner product; for ip the raw inner
// product; for l2 the score is minus the Euclidean distance. Higher is better.
//
// Thread-safety: search() and the read-only accessors take a shared lock;
// mutations require the caller to hold write_lock(), so the store can keep
// searches out from before a commit until the index reflects it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "store/settings.h"

namespace winnow::store {

struct VectorIndexOptions {
  std::size_t exact_threshold = 20000;  // vectors; at or above it the index is HNSW
  std::size_t hnsw_m = 16;
  std::size_t hnsw_ef_construction = 200;
  std::size_t hnsw_ef_search = 100;  // raised to top_k when top_k is larger
  std::size_t build_threads = 0;     // for (re)building HNSW; 0: hardware concurrency
};

// Identifies what a persisted file belongs to; a file whose header differs
// in any of these is from another store, collection, index or schema.
struct VectorIndexIdentity {
  std::string store_id;
  std::int64_t collection_key = 0;
  std::string index_name;
  Metric metric = Metric::kCosine;
  std::int64_t dimensions = 0;
};

struct VectorHit {
  std::int64_t label = 0;  // doc_key
  float score = 0;
};

class VectorIndex {
 public:
  // dimensions > 0.
  VectorIndex(VectorIndexIdentity identity, VectorIndexOptions options);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  // Loads a persisted HNSW index. Fails (and the caller rebuilds) if the file
  // is missing, corrupt (checksum), or its header names another identity.
  // On success, applied_seq() is the sequence the file reflects.
  static base::Result<std::unique_ptr<VectorIndex>> load(const std::filesystem::path& file,
                                                         const VectorIndexIdentity& identity,
                                                         VectorIndexOptions options);

  // An index of the given vectors (labels[i] -> data[i * dimensions ...]):
  // exact below the threshold, HNSW at or above it.
  static base::Result<std::unique_ptr<VectorIndex>> build(const VectorIndexIdentity& identity,
                                                          VectorIndexOptions options,
                                                          std::vector<std::int64_t> labels,
                                                          std::vector<float> data);

  // Writes an HNSW index to `file` (+ ".meta"), atomically (temp + fsync +
  // rename), and removes both files for an exact index. Caller holds a read
  // or write lock.
  base::Status save(const std::filesystem::path& file) const;

  std::unique_lock<std::shared_mutex> write_lock() { return std::unique_lock<std::shared_mutex>(mutex_); }
  std::shared_lock<std::shared_mutex> read_lock() const { return std::shared_lock<std::shared_mutex>(mutex_); }

  // Mutations: the caller holds write_lock(). `vector` has dimensions() floats.
  base::Status upsert(std::int64_t label, std::span<const float> vector);
  base::Status remove(std::int64_t label);  // no-op for an absent label
  // Switches exact -> HNSW once the index reaches the threshold, and rebuilds
  // an HNSW graph whose deleted entries outnumber the live ones.
  base::Status maintain();
  void set_applied_seq(std::int64_t seq) { applied_seq_ = seq; }

  // The top_k nearest vectors, best first (ties by label). Takes a shared lock.
  base::Result<std::vector<VectorHit>> search(std::span<const float> query, std::size_t top_k) const;

  // Unlocked accessors: call with a lock held, or while nothing writes.
  std::size_t size() const;  // live vectors
  bool is_hnsw() const;
  std::int64_t applied_seq() const { return applied_seq_; }
  const VectorIndexIdentity& identity() const { return identity_; }

 private:
  struct Impl;  // hnswlib's space and graph; hnswlib is included by one file only

  base::Status build_hnsw(const std::vector<std::int64_t>& labels, const std::vector<float>& data);  // data prepared
  void prepare(std::span<const float> in, std::vector<float>& out) const;
  float score_of(float distance) const;

  VectorIndexIdentity identity_;
  VectorIndexOptions options_;
  std::int64_t applied_seq_ = 0;
  mutable std::shared_mutex mutex_;

  // exact mode
  std::vector<float> data_;                 // [size, dimensions]
  std::vector<std::int64_t> labels_;        // [size]
  std::unordered_map<std::int64_t, std::size_t> slots_;

  std::unique_ptr<Impl> impl_;
};

// File name of a persisted index inside the store's index directory.
std::filesystem::path vector_index_file(const std::filesystem::path& dir, std::int64_t collection_key,
                                        std::string_view index_name);

}  // namespace winnow::store

#include "store/vector_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <thread>

#include <hnswlib/hnswlib.h>

#include "base/files.h"
#include "base/mapped_file.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

constexpr int kFileFormat = 1;  // bump when the file layout or hnswlib's changes

std::unique_ptr<hnswlib::SpaceInterface<float>> make_space(Metric metric, std::size_t dimensions) {
  if (metric == Metric::kL2) return std::make_unique<hnswlib::L2Space>(dimensions);
  return std::make_unique<hnswlib::InnerProductSpace>(dimensions);
}

bool better(const VectorHit& a, const VectorHit& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.label < b.label;
}

}  // namespace

struct VectorIndex::Impl {
  std::unique_ptr<hnswlib::SpaceInterface<float>> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;  // null in exact mode
  std::size_t live = 0;                                   // live elements of graph

  bool graph_has(std::int64_t label) const {
    auto it = graph->label_lookup_.find(static_cast<hnswlib::labeltype>(label));
    return it != graph->label_lookup_.end() && !graph->isMarkedDeleted(it->second);
  }
};

std::filesystem::path vector_index_file(const std::filesystem::path& dir, std::int64_t collection_key,
                                        std::string_view index_name) {
  return dir / ("c" + std::to_string(collection_key) + "." + std::string(index_name) + ".hnsw");
}

VectorIndex::VectorIndex(VectorIndexIdentity identity, VectorIndexOptions options)
    : identity_(std::move(identity)), options_(options), impl_(std::make_unique<Impl>()) {
  impl_->space = make_space(identity_.metric, static_cast<std::size_t>(identity_.dimensions));
}

VectorIndex::~VectorIndex() = default;

bool VectorIndex::is_hnsw() const { return impl_->graph != nullptr; }

std::size_t VectorIndex::size() const { return impl_->graph ? impl_->live : labels_.size(); }

void VectorIndex::prepare(std::span<const float> in, std::vector<float>& out) const {
  out.assign(in.begin(), in.end());
  if (identity_.metric != Metric::kCosine) return;
  double norm = 0;
  for (float v : out) norm += static_cast<double>(v) * v;
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (float& v : out) v = static_cast<float>(v / norm);
  }
}

float VectorIndex::score_of(float distance) const {
  if (identity_.metric == Metric::kL2) return -std::sqrt(std::max(distance, 0.0f));
  return 1.0f - distance;  // hnswlib's inner-product distance is 1 - <a, b>
}

Status VectorIndex::upsert(std::int64_t label, std::span<const float> vector) {
  if (static_cast<std::int64_t>(vector.size()) != identity_.dimensions) {
    return base::invalid_argument("vector index '" + identity_.index_name + "': vector has " +
                                  std::to_string(vector.size()) + " dimensions, expected " +
                                  std::to_string(identity_.dimensions));
  }
  std::vector<float> prepared;
  prepare(vector, prepared);
  if (impl_->graph) {
    auto& graph = *impl_->graph;
    try {
      bool live = impl_->graph_has(label);
      bool known = graph.label_lookup_.count(static_cast<hnswlib::labeltype>(label)) > 0;
      if (!known && graph.cur_element_count >= graph.max_elements_) {
        graph.resizeIndex(std::max<std::size_t>(1024, graph.max_elements_ * 2));
      }
      graph.addPoint(prepared.data(), static_cast<hnswlib::labeltype>(label));
      if (!live) ++impl_->live;
    } catch (const std::exception& e) {
      return base::internal_error("vector index '" + identity_.index_name + "': hnswlib: " + e.what());
    }
    return {};
  }
  std::size_t dims = static_cast<std::size_t>(identity_.dimensions);
  auto it = slots_.find(label);
  if (it != slots_.end()) {
    std::copy(prepared.begin(), prepared.end(), data_.begin() + static_cast<std::ptrdiff_t>(it->second * dims));
    return {};
  }
  slots_[label] = labels_.size();
  labels_.push_back(label);
  data_.insert(data_.end(), prepared.begin(), prepared.end());
  return {};
}

Status VectorIndex::remove(std::int64_t label) {
  if (impl_->graph) {
    if (!impl_->graph_has(label)) return {};
    try {
      impl_->graph->markDelete(static_cast<hnswlib::labeltype>(label));
    } catch (const std::exception& e) {
      return base::internal_error("vector index '" + identity_.index_name + "': hnswlib: " + e.what());
    }
    --impl_->live;
    return {};
  }
  auto it = slots_.find(label);
  if (it == slots_.end()) return {};
  std::size_t slot = it->second, last = labels_.size() - 1;
  std::size_t dims = static_cast<std::size_t>(identity_.dimensions);
  if (slot != last) {
    std::copy(data_.begin() + static_cast<std::ptrdiff_t>(last * dims),
              data_.begin() + static_cast<std::ptrdiff_t>((last + 1) * dims),
              data_.begin() + static_cast<std::ptrdiff_t>(slot * dims));
    labels_[slot] = labels_[last];
    slots_[labels_[slot]] = slot;
  }
  labels_.pop_back();
  data_.resize(last * dims);
  slots_.erase(it);
  return {};
}

Status VectorIndex::build_hnsw(const std::vector<std::int64_t>& labels, const std::vector<float>& data) {
  std::size_t n = labels.size();
  std::size_t dims = static_cast<std::size_t>(identity_.dimensions);
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;
  try {
    graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(
        impl_->space.get(), std::max<std::size_t>(1024, n + n / 4), options_.hnsw_m, options_.hnsw_ef_construction);
  } catch (const std::exception& e) {
    return base::resource_exhausted("vector index '" + identity_.index_name + "': hnswlib: " + e.what());
  }
  graph->setEf(options_.hnsw_ef_search);
  // hnswlib inserts concurrently; distinct labels need no outside locking.
  std::size_t threads = options_.build_threads ? options_.build_threads : std::thread::hardware_concurrency();
  threads = std::max<std::size_t>(1, std::min<std::size_t>(threads, n / 1000 + 1));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mutex;
  auto work = [&] {
    for (std::size_t i = next++; i < n && !failed; i = next++) {
      try {
        graph->addPoint(data.data() + i * dims, static_cast<hnswlib::labeltype>(labels[i]));
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        failure = e.what();
        failed = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (failed) return base::internal_error("vector index '" + identity_.index_name + "': hnswlib: " + failure);
  impl_->graph = std::move(graph);
  impl_->live = n;
  data_.clear();
  data_.shrink_to_fit();
  labels_.clear();
  labels_.shrink_to_fit();
  slots_.clear();
  return {};
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::build(const VectorIndexIdentity& identity,
                                                        VectorIndexOptions options, std::vector<std::int64_t> labels,
                                                        std::vector<float> data) {
  auto index = std::make_unique<VectorIndex>(identity, options);
  std::size_t dims = static_cast<std::size_t>(identity.dimensions);
  if (data.size() != labels.size() * dims) {
    return base::internal_error("vector index '" + identity.index_name + "': " + std::to_string(labels.size()) +
                                " labels but " + std::to_string(data.size()) + " floats");
  }
  std::vector<float> prepared;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    index->prepare(std::span<const float>(data.data() + i * dims, dims), prepared);
    std::copy(prepared.begin(), prepared.end(), data.begin() + static_cast<std::ptrdiff_t>(i * dims));
  }
  if (labels.size() >= options.exact_threshold) {
    WINNOW_RETURN_IF_ERROR(index->build_hnsw(labels, data));
    return index;
  }
  index->slots_.reserve(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, inserted] = index->slots_.emplace(labels[i], index->labels_.size());
    if (!inserted) continue;
    index->labels_.push_back(labels[i]);
  }
  if (index->labels_.size() == labels.size()) {
    index->data_ = std::move(data);
  } else {  // duplicate labels: keep the first of each
    index->data_.reserve(index->labels_.size() * dims);
    index->slots_.clear();
    index->labels_.clear();
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (index->slots_.count(labels[i])) continue;
      index->slots_[labels[i]] = index->labels_.size();
      index->labels_.push_back(labels[i]);
      index->data_.insert(index->data_.end(), data.begin() + static_cast<std::ptrdiff_t>(i * dims),
                          data.begin() + static_cast<std::ptrdiff_t>((i + 1) * dims));
    }
  }
  return index;
}

Status VectorIndex::maintain() {
  if (!impl_->graph) {
    if (labels_.size() < options_.exact_threshold) return {};
    // data_ is already normalised for cosine. On failure the exact index stays.
    return build_hnsw(labels_, data_);
  }
  auto& graph = *impl_->graph;
  std::size_t deleted = graph.num_deleted_;
  if (deleted <= 1000 || deleted <= impl_->live) return {};
  std::size_t dims = static_cast<std::size_t>(identity_.dimensions);
  std::vector<std::int64_t> labels;
  std::vector<float> data;
  labels.reserve(impl_->live);
  data.reserve(impl_->live * dims);
  for (const auto& [label, internal] : graph.label_lookup_) {
    if (graph.isMarkedDeleted(internal)) continue;
    const float* v = reinterpret_cast<const float*>(graph.getDataByInternalId(internal));
    labels.push_back(static_cast<std::int64_t>(label));
    data.insert(data.end(), v, v + dims);
  }
  impl_->graph.reset();
  return build_hnsw(labels, data);
}

Result<std::vector<VectorHit>> VectorIndex::search(std::span<const float> query, std::size_t top_k) const {
  if (static_cast<std::int64_t>(query.size()) != identity_.dimensions) {
    return base::invalid_argument("vector index '" + identity_.index_name + "': query vector has " +
                                  std::to_string(query.size()) + " dimensions, expected " +
                                  std::to_string(identity_.dimensions));
  }
  std::vector<float> prepared;
  prepare(query, prepared);
  auto lock = read_lock();
  std::vector<VectorHit> hits;
  std::size_t k = std::min(top_k, size());
  if (k == 0) return hits;
  if (impl_->graph) {
    try {
      auto queue = impl_->graph->searchKnn(prepared.data(), k);
      hits.reserve(queue.size());
      while (!queue.empty()) {
        hits.push_back({static_cast<std::int64_t>(queue.top().second), score_of(queue.top().first)});
        queue.pop();
      }
    } catch (const std::exception& e) {
      return base::internal_error("vector index '" + identity_.index_name + "': hnswlib: " + e.what());
    }
    std::sort(hits.begin(), hits.end(), better);
    return hits;
  }
  auto distance = impl_->space->get_dist_func();
  void* param = impl_->space->get_dist_func_param();
  std::size_t dims = static_cast<std::size_t>(identity_.dimensions);
  hits.resize(labels_.size());
  for (std::size_t i = 0; i < labels_.size(); ++i) {
    hits[i] = {labels_[i], score_of(distance(prepared.data(), data_.data() + i * dims, param))};
  }
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k), hits.end(), better);
  hits.resize(k);
  return hits;
}

// ---- persistence ----------------------------------------------------------

namespace {

std::filesystem::path meta_path(const std::filesystem::path& file) {
  std::filesystem::path meta = file;
  meta += ".meta";
  return meta;
}

// The size of the file hnswlib's saveIndex writes for `graph`: its header
// fields, level 0 of every element, then each element's upper link lists
// preceded by their size.
std::uintmax_t hnsw_file_bytes(const hnswlib::HierarchicalNSW<float>& g) {
  std::uintmax_t bytes = sizeof(g.offsetLevel0_) + sizeof(g.max_elements_) + sizeof(g.cur_element_count) +
                         sizeof(g.size_data_per_element_) + sizeof(g.label_offset_) + sizeof(g.offsetData_) +
                         sizeof(g.maxlevel_) + sizeof(g.enterpoint_node_) + sizeof(g.maxM_) + sizeof(g.maxM0_) +
                         sizeof(g.M_) + sizeof(g.mult_) + sizeof(g.ef_construction_);
  bytes += static_cast<std::uintmax_t>(g.cur_element_count) * g.size_data_per_element_;
  for (std::size_t i = 0; i < g.cur_element_count; ++i) {
    bytes += sizeof(unsigned int);
    if (g.element_levels_[i] > 0) bytes += g.size_links_per_element_ * static_cast<std::size_t>(g.element_levels_[i]);
  }
  return bytes;
}

// Why `tmp` holds `got` bytes where `want` were written: hnswlib writes through
// a std::ofstream and never reports a failed write, so ask the file system
// whether the missing bytes fit (a full disk answers ENOSPC).
Status short_write(const std::filesystem::path& tmp, std::uintmax_t got, std::uintmax_t want) {
  std::string wrote = "wrote " + std::to_string(got) + " of " + std::to_string(want) + " bytes";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CLOEXEC);
  int error = fd < 0 ? errno : ::posix_fallocate(fd, 0, static_cast<off_t>(want));
  if (fd >= 0) ::close(fd);
  if (error != 0) return base::file_error(tmp, "saving the vector index (" + wrote + ")", error);
  return base::internal_error(tmp.string() + ": hnswlib could not save the index: " + wrote);
}

}  // namespace

Status VectorIndex::save(const std::filesystem::path& file) const {
  std::error_code ec;
  if (!impl_->graph) {
    std::filesystem::remove(meta_path(file), ec);
    std::filesystem::remove(file, ec);
    return {};
  }
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  // On any failure the temporary file goes, and the old file and header stay.
  auto failed = [&](Status status) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return status;
  };
  const std::uintmax_t expected = hnsw_file_bytes(*impl_->graph);
  try {
    impl_->graph->saveIndex(tmp.string());
  } catch (const std::exception& e) {
    return failed(base::internal_error(tmp.string() + ": hnswlib could not save the index: " + e.what()));
  }
  std::uintmax_t bytes = std::filesystem::file_size(tmp, ec);
  if (ec) return failed(base::internal_error(tmp.string() + ": " + ec.message()));
  if (bytes != expected) return failed(short_write(tmp, bytes, expected));
  auto checksum = base::file_checksum(tmp);
  if (!checksum.ok()) return failed(checksum.status());
  if (Status synced = base::sync_file(tmp); !synced.ok()) return failed(synced);
  // Remove the old header first: a crash between the renames leaves a data
  // file without a header, which load() rejects, never a mismatched pair.
  std::filesystem::remove(meta_path(file), ec);
  std::filesystem::rename(tmp, file, ec);
  if (ec) return failed(base::internal_error(file.string() + ": rename failed: " + ec.message()));
  nlohmann::json meta = {
      {"format", kFileFormat},
      {"store_id", identity_.store_id},
      {"collection_key", identity_.collection_key},
      {"index_name", identity_.index_name},
      {"metric", metric_name(identity_.metric)},
      {"dimensions", identity_.dimensions},
      {"applied_seq", applied_seq_},
      {"elements", impl_->live},
      {"bytes", bytes},
      {"checksum", *checksum},
  };
  return base::write_file_durably(meta_path(file), meta.dump(2) + "\n");
}

Result<std::unique_ptr<VectorIndex>> VectorIndex::load(const std::filesystem::path& file,
                                                       const VectorIndexIdentity& identity,
                                                       VectorIndexOptions options) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json meta, base::read_json_file(meta_path(file)));
  std::string where = file.string() + ": ";
  try {
    if (meta.at("format").get<int>() != kFileFormat) {
      return base::failed_precondition(where + "written in format " + meta.at("format").dump() + ", expected " +
                                       std::to_string(kFileFormat));
    }
    if (meta.at("store_id").get<std::string>() != identity.store_id ||
        meta.at("collection_key").get<std::int64_t>() != identity.collection_key ||
        meta.at("index_name").get<std::string>() != identity.index_name) {
      return base::failed_precondition(where + "belongs to another store, collection or index");
    }
    if (meta.at("metric").get<std::string>() != metric_name(identity.metric) ||
        meta.at("dimensions").get<std::int64_t>() != identity.dimensions) {
      return base::failed_precondition(where + "was built with another metric or dimensions");
    }
  } catch (const nlohmann::json::exception& e) {
    return base::data_loss(where + "unreadable header: " + e.what());
  }
  std::uintmax_t header_bytes = 0;
  std::uint64_t header_checksum = 0;
  std::int64_t applied_seq = 0;
  try {
    header_bytes = meta.at("bytes").get<std::uintmax_t>();
    header_checksum = meta.at("checksum").get<std::uint64_t>();
    applied_seq = meta.at("applied_seq").get<std::int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return base::data_loss(where + "unreadable header: " + e.what());
  }
  std::error_code ec;
  std::uintmax_t bytes = std::filesystem::file_size(file, ec);
  if (ec) return base::not_found(where + ec.message());
  if (header_bytes != bytes) {
    return base::data_loss(where + "has " + std::to_string(bytes) + " bytes, its header says " +
                           std::to_string(header_bytes));
  }
  WINNOW_ASSIGN_OR_RETURN(std::uint64_t checksum, base::file_checksum(file));
  if (header_checksum != checksum) return base::data_loss(where + "checksum mismatch");

  auto index = std::make_unique<VectorIndex>(identity, options);
  try {
    index->impl_->graph =
        std::make_unique<hnswlib::HierarchicalNSW<float>>(index->impl_->space.get(), file.string());
  } catch (const std::exception& e) {
    return base::data_loss(where + "hnswlib could not load it: " + e.what());
  }
  auto& graph = *index->impl_->graph;
  if (graph.label_offset_ - graph.offsetData_ != static_cast<std::size_t>(identity.dimensions) * sizeof(float)) {
    return base::data_loss(where + "element size does not match the dimensions");
  }
  graph.setEf(options.hnsw_ef_search);
  // hnswlib 0.6.2's loading constructor leaves num_deleted_ uninitialised
  // before counting into it; recount, since search relies on it.
  std::size_t deleted = 0;
  for (std::size_t i = 0; i < graph.cur_element_count; ++i) {
    deleted += graph.isMarkedDeleted(static_cast<hnswlib::tableint>(i)) ? 1 : 0;
  }
  graph.num_deleted_ = deleted;
  index->impl_->live = graph.cur_element_count - deleted;
  index->applied_seq_ = applied_seq;
  return index;
}

}  // namespace winnow::store

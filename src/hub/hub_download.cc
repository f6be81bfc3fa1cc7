#include "hub/hub_download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <thread>

#include "base/env.h"
#include "base/file_lock.h"
#include "base/files.h"
#include "hub/hub_cache.h"
#include "hub/sha256.h"
#include "net/http_client.h"
#include "net/retry.h"

namespace winnow::hub {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWeightsFile = "model.safetensors";
constexpr std::string_view kWeightsIndexFile = "model.safetensors.index.json";
constexpr std::string_view kConfigFile = "config.json";

// What the engine reads besides the weights: the model and tokenizer
// configuration, and the sentence-transformers files of embedding models.
constexpr std::array<std::string_view, 8> kSupportFiles = {
    "config.json",  "tokenizer.json",           "tokenizer_config.json",           "special_tokens_map.json",
    "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json",
};

constexpr auto kProgressInterval = std::chrono::milliseconds(100);

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

bool is_sha256_hex(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A repo path we are willing to create under snapshots/<commit>/: relative, no
// "..", no empty or hidden-trick components. Shard names come from a file the
// server sent, so they are checked like any other input.
bool is_safe_repo_path(std::string_view path) {
  if (path.empty() || path.size() > 512 || path.front() == '/' || path.back() == '/') return false;
  if (path.find('\\') != std::string_view::npos || path.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

// An ETag becomes a file name under blobs/: hex digits and a few safe characters only.
bool is_safe_etag(std::string_view etag) {
  if (etag.empty() || etag.size() > 128 || etag.front() == '.') return false;
  return std::all_of(etag.begin(), etag.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// 'W/"abc"' or '"abc"' -> 'abc', as huggingface_hub normalizes it.
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  while (!etag.empty() && etag.front() == '"') etag.erase(0, 1);
  while (!etag.empty() && etag.back() == '"') etag.pop_back();
  return etag;
}

std::optional<std::uint64_t> parse_size(const std::optional<std::string>& value) {
  if (!value || value->empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : *value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool is_transient(const net::HttpResponse& r) {
  switch (r.failure) {
    case net::HttpFailure::kTimeout:
    case net::HttpFailure::kConnect:
    case net::HttpFailure::kInterrupted: return true;
    case net::HttpFailure::kAborted:
    case net::HttpFailure::kOther: return false;
    case net::HttpFailure::kNone: break;
  }
  return r.status == 429 || r.status >= 500;
}

std::vector<std::string> list_snapshot_files(const fs::path& snapshot) {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snapshot, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_symlink(ec) || it->is_regular_file(ec)) {
      files.push_back(it->path().lexically_relative(snapshot).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

base::Result<std::vector<std::string>> shards_of_index(const fs::path& index_path) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json index, base::read_json_file(index_path));
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return base::data_loss(index_path.string() + ": no \"weight_map\" object");
  }
  std::set<std::string> shards;
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    if (!file.is_string()) return base::data_loss(index_path.string() + ": weight_map[\"" + tensor + "\"] is not a file name");
    const std::string name = file.get<std::string>();
    if (!is_safe_repo_path(name)) return base::data_loss(index_path.string() + ": unsafe shard path \"" + name + "\"");
    shards.insert(name);
  }
  if (shards.empty()) return base::data_loss(index_path.string() + ": weight_map names no shard");
  return std::vector<std::string>(shards.begin(), shards.end());
}

struct FileMeta {
  std::string download_url;  // the resolve URL, or the CDN Location it redirects to
  std::string etag;          // normalized; the blob's name
  std::uint64_t size = 0;
  bool lfs = false;          // X-Linked-Etag: the etag is the file's sha256
};

// One pull of one repo: the resolved options and the HTTP client.
class HubSession {
 public:
  HubSession(std::string_view repo_id, std::string_view revision, const PullOptions& options)
      : repo_id_(repo_id),
        revision_(revision.empty() ? "main" : revision),
        options_(options),
        cache_dir_(options.cache_dir.value_or(hub_cache_dir())),
        endpoint_(options.endpoint ? *options.endpoint : hub_endpoint()),
        token_(options.token ? *options.token : hub_token().value_or("")) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  }

  base::Result<PullResult> pull() {
    WINNOW_ASSIGN_OR_RETURN(RepoInfo info, fetch_repo_info());
    auto selection = pull_file_selection(repo_id_, info.siblings);
    if (!selection.ok()) {
      return base::Status(selection.status().code(), selection.status().message() + " (" + endpoint_ +
                                                         ", revision " + revision_ + ")");
    }

    PullResult result;
    result.commit = info.commit;
    result.snapshot_dir = repo_cache_dir(cache_dir_, repo_id_) / "snapshots" / info.commit;
    for (const std::string& file : *selection) {
      WINNOW_RETURN_IF_ERROR(fetch_file(info.commit, file, &result.bytes_downloaded));
      if (file == kWeightsIndexFile) {
        const fs::path index = snapshot_file_path(cache_dir_, repo_id_, info.commit, file);
        auto shards = shards_of_index(index);
        if (!shards.ok()) return shards.status().with_context(repo_id_);
        const std::set<std::string> listed(info.siblings.begin(), info.siblings.end());
        for (const std::string& shard : *shards) {
          if (!listed.count(shard)) {
            return base::data_loss(repo_id_ + ": " + std::string(kWeightsIndexFile) + " names shard " + shard +
                                   ", which the repo at commit " + info.commit + " does not have");
          }
          WINNOW_RETURN_IF_ERROR(fetch_file(info.commit, shard, &result.bytes_downloaded));
        }
      }
    }
    // Last, so that a branch name never points at a snapshot still being filled.
    if (revision_ != info.commit) WINNOW_RETURN_IF_ERROR(write_ref(cache_dir_, repo_id_, revision_, info.commit));
    result.files = list_snapshot_files(result.snapshot_dir);
    return result;
  }

 private:
  struct RepoInfo {
    std::string commit;
    std::vector<std::string> siblings;
  };

  std::vector<std::string> headers_for(const std::string& url) const {
    std::vector<std::string> headers = {"User-Agent: " + net::user_agent()};
    // A token goes to the Hub only, never to the CDN host a file redirects to.
    if (!token_.empty() && net::url_origin(url) == net::url_origin(endpoint_)) headers.push_back("Authorization: Bearer " + token_);
    return headers;
  }

  // Performs `request`, retrying transient failures with backoff (and the wait
  // a 429 or 503 asks for in Retry-After). `tries` receives how many were made.
  net::HttpResponse perform_with_retries(const net::HttpRequest& request, int* tries) const {
    net::RetriedResponse retried = net::perform_with_retries(client_, request, options_.retry, is_transient);
    *tries = retried.tries;
    return std::move(retried.response);
  }

  // The user's view of a failed exchange with the Hub about `file` ("" for the repo itself).
  base::Status hub_error(const net::HttpResponse& r, const std::string& url, std::string_view file, int tries) const {
    const std::string after = tries > 1 ? " (after " + std::to_string(tries) + " tries)" : "";
    switch (r.failure) {
      case net::HttpFailure::kNone: break;
      case net::HttpFailure::kTimeout:
        return base::unavailable("timed out talking to " + endpoint_ + " (" + url + ")" + after + ": " + r.failure_message);
      case net::HttpFailure::kConnect:
        return base::unavailable("cannot reach " + endpoint_ + " (" + url + ")" + after + ": " + r.failure_message);
      case net::HttpFailure::kInterrupted:
        return base::unavailable("the connection to " + net::url_origin(url) + " broke (" + url + ")" + after + ": " +
                                 r.failure_message);
      case net::HttpFailure::kAborted:
      case net::HttpFailure::kOther: return base::unavailable(url + after + ": " + r.failure_message);
    }
    const std::string code = r.header("X-Error-Code").value_or("");
    std::string detail = r.header("X-Error-Message").value_or("");
    detail = detail.empty() ? "" : ": " + detail;
    const std::string answered = " (" + endpoint_ + " answered " + std::to_string(r.status) + " for " + url + detail + ")";
    const std::string what = file.empty() ? "model " + repo_id_ : std::string(file) + " of model " + repo_id_;
    if (code == "RepoNotFound") {
      return base::not_found("no model " + repo_id_ + " at revision " + revision_ + " on " + endpoint_ +
                             (token_.empty() ? " (if it is private or gated, set HF_TOKEN)" : " that HF_TOKEN can see") +
                             answered);
    }
    if (code == "RevisionNotFound" || (r.status == 404 && file.empty())) {
      return base::not_found("no model " + repo_id_ + " at revision " + revision_ + " on " + endpoint_ + answered);
    }
    if (r.status == 404 || code == "EntryNotFound") {
      return base::not_found(std::string(file) + " is not in model " + repo_id_ + " at revision " + revision_ + answered);
    }
    if (r.status == 401) {
      return base::unauthenticated(
          what + " is gated or private: set HF_TOKEN to a token that has access" +
          (token_.empty() ? std::string(" (none is set)") : std::string(" (the one set was refused)")) + answered);
    }
    if (r.status == 403) {
      return base::permission_denied(what + " is gated or private: set HF_TOKEN to a token whose account has been " +
                                     "granted access (accept the model's terms on its page)" + answered);
    }
    if (r.status == 429 || r.status >= 500) {
      return base::unavailable(endpoint_ + " is failing or rate limiting" + after + answered);
    }
    return base::internal_error("unexpected answer about " + what + answered);
  }

  base::Result<RepoInfo> fetch_repo_info() const {
    net::HttpRequest request;
    request.url = endpoint_ + "/api/models/" + repo_id_ + "/revision/" + net::url_encode(revision_, false);
    request.headers = headers_for(request.url);
    request.follow_redirects = true;  // renamed repos; libcurl keeps the token to the same host only
    request.connect_timeout = options_.connect_timeout;
    request.timeout = options_.metadata_timeout;
    int tries = 0;
    const net::HttpResponse response = perform_with_retries(request, &tries);
    if (!response.success()) return hub_error(response, request.url, "", tries);

    WINNOW_ASSIGN_OR_RETURN(nlohmann::json info, base::parse_json(response.body, request.url));
    RepoInfo repo;
    if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() ||
        !is_commit_hash(info["sha"].get<std::string>())) {
      return base::internal_error(request.url + ": the answer has no commit hash (\"sha\")");
    }
    repo.commit = info["sha"].get<std::string>();
    if (info.contains("siblings") && info["siblings"].is_array()) {
      for (const auto& sibling : info["siblings"]) {
        if (sibling.is_object() && sibling.contains("rfilename") && sibling["rfilename"].is_string()) {
          repo.siblings.push_back(sibling["rfilename"].get<std::string>());
        }
      }
    }
    if (repo.siblings.empty()) {
      return base::internal_error(request.url + ": the answer lists no files (\"siblings\")");
    }
    return repo;
  }

  base::Result<FileMeta> head_file(const std::string& commit, const std::string& file) const {
    std::string url = endpoint_ + "/" + repo_id_ + "/resolve/" + commit + "/" + net::url_encode(file, true);
    net::HttpResponse response;
    int tries = 0;
    for (int hops = 0;; ++hops) {
      net::HttpRequest request;
      request.method = "HEAD";
      request.url = url;
      request.headers = headers_for(url);
      request.headers.push_back("Accept-Encoding: identity");  // the size of the file, not of a compressed form
      request.connect_timeout = options_.connect_timeout;
      request.timeout = options_.metadata_timeout;
      response = perform_with_retries(request, &tries);
      // A relative redirect is the Hub's own (a renamed repo): follow it. An
      // absolute one points at the CDN: that is where the GET will go.
      const auto location = response.header("Location");
      if (response.complete() && response.status >= 300 && response.status < 400 && location &&
          location->rfind("/", 0) == 0 && location->rfind("//", 0) != 0 && hops < 5) {
        url = net::url_origin(endpoint_) + *location;
        continue;
      }
      break;
    }
    if (!response.complete() || response.status >= 400 || response.status < 200) {
      return hub_error(response, url, file, tries);
    }

    FileMeta meta;
    const auto linked_etag = response.header("X-Linked-Etag");
    meta.etag = normalize_etag(linked_etag.value_or(response.header("ETag").value_or("")));
    if (meta.etag.empty()) {
      return base::internal_error(url + ": no ETag in the answer; cannot cache " + file + " safely");
    }
    if (!is_safe_etag(meta.etag)) return base::internal_error(url + ": unusable ETag \"" + meta.etag + "\"");
    meta.lfs = linked_etag.has_value() && is_sha256_hex(meta.etag);
    auto size = parse_size(response.header("X-Linked-Size"));
    if (!size) size = parse_size(response.header("Content-Length"));
    if (!size) return base::internal_error(url + ": no X-Linked-Size or Content-Length in the answer");
    meta.size = *size;
    if (const auto answered_commit = response.header("X-Repo-Commit"); answered_commit && *answered_commit != commit) {
      return base::internal_error(url + ": answered for commit " + *answered_commit + ", asked for " + commit);
    }
    const auto location = response.header("Location");
    meta.download_url = (response.status >= 300 && location) ? *location : url;
    return meta;
  }

  // Makes snapshots/<commit>/<file> present: links an existing blob, or downloads it.
  base::Status fetch_file(const std::string& commit, const std::string& file, std::uint64_t* bytes) const {
    if (!is_safe_repo_path(file)) return base::invalid_argument(repo_id_ + ": unsafe file path \"" + file + "\"");
    std::error_code ec;
    if (fs::exists(snapshot_file_path(cache_dir_, repo_id_, commit, file), ec)) return base::Status::ok_status();

    WINNOW_ASSIGN_OR_RETURN(FileMeta meta, head_file(commit, file));
    const fs::path blob = blob_path(cache_dir_, repo_id_, meta.etag);
    fs::create_directories(blob.parent_path(), ec);
    if (ec) return base::failed_precondition(blob.parent_path().string() + ": cannot create: " + ec.message());
    if (!fs::exists(blob, ec)) {
      WINNOW_ASSIGN_OR_RETURN(base::FileLock lock, base::FileLock::acquire(blob_lock_path(cache_dir_, repo_id_, meta.etag)));
      // Another thread or process may have finished it while we waited for the lock.
      if (!fs::exists(blob, ec)) WINNOW_RETURN_IF_ERROR(download_blob(file, meta, blob, bytes));
    }
    return link_snapshot_file(cache_dir_, repo_id_, commit, file, meta.etag);
  }

  // Downloads to <blob>.incomplete, resuming what is there, retrying transient
  // failures; renames into place once size and hash match. Holds the blob's lock.
  base::Status download_blob(const std::string& file, const FileMeta& meta, const fs::path& blob,
                             std::uint64_t* bytes) const {
    fs::path incomplete = blob;
    incomplete += ".incomplete";
    for (int retry = 0;; ++retry) {
      bool transient = false;
      base::Status status = download_attempt(file, meta, incomplete, bytes, &transient);
      if (status.ok()) break;
      if (!transient || retry >= options_.retry.max_retries) return status;
      std::this_thread::sleep_for(net::backoff_delay(options_.retry, retry));
    }
    if (::rename(incomplete.c_str(), blob.c_str()) != 0) {
      return base::failed_precondition(blob.string() + ": cannot rename the download into place: " +
                                       std::strerror(errno));
    }
    return base::Status::ok_status();
  }

  base::Status download_attempt(const std::string& file, const FileMeta& meta, const fs::path& incomplete,
                                std::uint64_t* bytes, bool* transient) const {
    std::error_code ec;
    std::uint64_t resume_from = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
    if (ec || resume_from > meta.size) {
      fs::remove(incomplete, ec);
      resume_from = 0;
    }
    Sha256 hash;
    if (meta.lfs && resume_from > 0) {
      // The bytes already there count towards the hash: read them once.
      std::FILE* prefix = std::fopen(incomplete.c_str(), "rb");
      if (prefix == nullptr) return base::failed_precondition(incomplete.string() + ": cannot read: " + std::strerror(errno));
      std::vector<char> buffer(1 << 20);
      std::size_t n = 0;
      while ((n = std::fread(buffer.data(), 1, buffer.size(), prefix)) > 0) hash.update(std::string_view(buffer.data(), n));
      std::fclose(prefix);
    }
    std::FILE* out = std::fopen(incomplete.c_str(), "ab");
    if (out == nullptr) return base::failed_precondition(incomplete.string() + ": cannot write: " + std::strerror(errno));
    std::vector<char> out_buffer(1 << 20);
    std::setvbuf(out, out_buffer.data(), _IOFBF, out_buffer.size());

    std::uint64_t written = resume_from;
    std::uint64_t received_now = 0;
    base::Status sink_error;
    bool started = false;
    const auto start = std::chrono::steady_clock::now();
    auto last_report = start - kProgressInterval;
    auto report = [&](bool force) {
      if (!options_.on_progress) return;
      const auto now = std::chrono::steady_clock::now();
      if (!force && now - last_report < kProgressInterval) return;
      last_report = now;
      const double seconds = std::chrono::duration<double>(now - start).count();
      options_.on_progress(file, written, meta.size, seconds > 0 ? static_cast<double>(received_now) / seconds : 0.0);
    };

    net::HttpResponse response;
    if (resume_from < meta.size || meta.size == 0) {
      net::HttpRequest request;
      request.url = meta.download_url;
      request.headers = headers_for(request.url);
      if (resume_from > 0) request.headers.push_back("Range: bytes=" + std::to_string(resume_from) + "-");
      request.follow_redirects = true;  // a CDN may redirect again; libcurl drops the token on another host
      request.connect_timeout = options_.connect_timeout;
      request.stall_timeout = options_.stall_timeout;
      request.on_body = [&](const net::HttpResponse& head, std::string_view chunk) {
        if (!started) {
          started = true;
          if (resume_from > 0 && head.status == 200) {
            // The server ignored Range and sends the whole file: start over.
            std::fflush(out);
            if (::ftruncate(::fileno(out), 0) != 0) {
              sink_error = base::failed_precondition(incomplete.string() + ": cannot truncate: " + std::strerror(errno));
              return false;
            }
            written = 0;
            hash.reset();
          } else if (resume_from > 0) {
            const std::string range = head.header("Content-Range").value_or("");
            if (range.rfind("bytes " + std::to_string(resume_from) + "-", 0) != 0) {
              sink_error = base::unavailable(request.url + ": asked for bytes from " + std::to_string(resume_from) +
                                             ", got Content-Range \"" + range + "\"");
              return false;
            }
          }
        }
        if (std::fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
          sink_error = base::failed_precondition(incomplete.string() + ": write failed: " + std::strerror(errno));
          return false;
        }
        if (meta.lfs) hash.update(chunk);
        written += chunk.size();
        received_now += chunk.size();
        if (written > meta.size) {
          sink_error = base::data_loss(file + " of " + repo_id_ + ": the server sent more than the announced " +
                                       std::to_string(meta.size) + " bytes (" + request.url + ")");
          return false;
        }
        report(false);
        return true;
      };
      response = client_.perform(request);
    }
    const bool flushed = std::fflush(out) == 0 && ::fsync(::fileno(out)) == 0;
    std::fclose(out);
    *bytes += received_now;

    if (!sink_error.ok()) {
      // A bad resume or an oversized body: the partial file cannot be trusted.
      if (sink_error.code() != base::StatusCode::kFailedPrecondition) fs::remove(incomplete, ec);
      *transient = sink_error.code() == base::StatusCode::kUnavailable;
      return sink_error;
    }
    if (!flushed) return base::failed_precondition(incomplete.string() + ": write failed: " + std::strerror(errno));
    if (resume_from < meta.size || meta.size == 0) {
      if (!response.complete() || !(response.status >= 200 && response.status < 300)) {
        if (response.complete() && response.status == 416) fs::remove(incomplete, ec);  // our partial file is wrong
        *transient = is_transient(response) || response.status == 416;
        return hub_error(response, meta.download_url, file, 1).with_context("downloading " + file);
      }
    }
    if (written < meta.size) {
      *transient = true;
      return base::unavailable(file + " of " + repo_id_ + ": the transfer ended after " + std::to_string(written) +
                               " of " + std::to_string(meta.size) + " bytes (" + meta.download_url + ")");
    }
    if (meta.lfs) {
      const std::string actual = hash.hex_digest();
      if (actual != meta.etag) {
        fs::remove(incomplete, ec);
        return base::data_loss(file + " of " + repo_id_ + ": sha256 mismatch: expected " + meta.etag + ", got " +
                               actual + " (downloaded from " + meta.download_url + "; the partial file was deleted)");
      }
    }
    report(true);
    return base::Status::ok_status();
  }

  const std::string repo_id_;
  const std::string revision_;
  const PullOptions& options_;
  const fs::path cache_dir_;
  std::string endpoint_;
  const std::string token_;
  net::HttpClient client_;
};

bool offline_requested(const PullOptions& options) { return options.offline || hub_offline(); }

std::string offline_reason(const PullOptions& options) {
  return options.offline ? "offline mode is on" : "offline mode is on (HF_HUB_OFFLINE is set)";
}

base::Result<PullResult> from_cache(const fs::path& cache_dir, std::string_view repo_id, std::string_view revision) {
  WINNOW_ASSIGN_OR_RETURN(fs::path snapshot, find_cached_snapshot(cache_dir, repo_id, std::string(revision)));
  WINNOW_RETURN_IF_ERROR(check_snapshot_complete(snapshot));
  PullResult result;
  result.snapshot_dir = snapshot;
  result.commit = snapshot.filename().string();
  result.files = list_snapshot_files(snapshot);
  return result;
}

}  // namespace

std::string hub_endpoint() {
  std::string endpoint = base::env("HF_ENDPOINT").value_or(std::string(kDefaultHubEndpoint));
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::optional<std::string> hub_token() {
  if (auto token = base::env("HF_TOKEN")) return trim(*token);
  if (auto token = base::env("HUGGING_FACE_HUB_TOKEN")) return trim(*token);
  const fs::path path = base::env("HF_TOKEN_PATH").value_or((hf_home_dir() / "token").string());
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) return line;
  }
  return std::nullopt;
}

bool hub_offline() {
  std::string value = base::env("HF_HUB_OFFLINE").value_or("");
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

base::Result<std::vector<std::string>> pull_file_selection(std::string_view repo_id,
                                                           const std::vector<std::string>& siblings) {
  const std::set<std::string> listed(siblings.begin(), siblings.end());
  if (!listed.count(std::string(kConfigFile))) {
    return base::failed_precondition("model " + std::string(repo_id) + " has no config.json");
  }
  std::vector<std::string> selection;
  for (std::string_view file : kSupportFiles) {
    if (listed.count(std::string(file))) selection.emplace_back(file);
  }
  if (listed.count(std::string(kWeightsFile))) {
    selection.emplace_back(kWeightsFile);
  } else if (listed.count(std::string(kWeightsIndexFile))) {
    selection.emplace_back(kWeightsIndexFile);  // its shards are added once it is read
  } else {
    return base::failed_precondition("model " + std::string(repo_id) +
                                     " has no model.safetensors; Winnow reads safetensors only");
  }
  return selection;
}

base::Status check_snapshot_complete(const fs::path& snapshot_dir) {
  std::error_code ec;
  const auto missing = [&](const std::string& what) {
    return base::not_found(snapshot_dir.string() + " is incomplete: " + what);
  };
  for (auto it = fs::recursive_directory_iterator(snapshot_dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_symlink(ec) && !fs::exists(it->path(), ec)) {
      return missing(it->path().lexically_relative(snapshot_dir).generic_string() + " is a link to a missing blob");
    }
  }
  if (!fs::exists(snapshot_dir / kConfigFile, ec)) return missing("no config.json");
  if (fs::exists(snapshot_dir / kWeightsFile, ec)) return base::Status::ok_status();
  const fs::path index = snapshot_dir / kWeightsIndexFile;
  if (!fs::exists(index, ec)) return missing("no model.safetensors");
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> shards, shards_of_index(index));
  for (const std::string& shard : shards) {
    if (!fs::exists(snapshot_dir / shard, ec)) return missing("no " + shard + " (named by " + std::string(kWeightsIndexFile) + ")");
  }
  return base::Status::ok_status();
}

base::Result<PullResult> pull(std::string_view repo_id, std::string_view revision, const PullOptions& options) {
  if (!looks_like_repo_id(repo_id)) {
    return base::invalid_argument("'" + std::string(repo_id) + "' is not a Hugging Face repo id (ORG/NAME)");
  }
  const std::string rev = revision.empty() ? "main" : std::string(revision);
  if (offline_requested(options)) {
    auto cached = from_cache(options.cache_dir.value_or(hub_cache_dir()), repo_id, rev);
    if (cached.ok()) return cached;
    return base::not_found("model " + std::string(repo_id) + " at revision " + rev +
                           " is not complete in the Hugging Face cache and " + offline_reason(options) +
                           "; pull it where the Hub is reachable (" + cached.status().message() + ")");
  }
  HubSession session(repo_id, rev, options);
  return session.pull();
}

base::Result<PullResult> find_or_pull(std::string_view repo_id, std::string_view revision, const PullOptions& options) {
  const std::string rev = revision.empty() ? "main" : std::string(revision);
  auto cached = from_cache(options.cache_dir.value_or(hub_cache_dir()), repo_id, rev);
  if (cached.ok()) return cached;
  return pull(repo_id, rev, options);
}

}  // namespace winnow::hub

// A fake Hugging Face Hub on loopback ports for the downloader's tests. It
// answers the Hub's URL layout with the headers the Hub sends:
//   GET  /api/models/{repo}/revision/{rev}       {"sha", "siblings": [{"rfilename"}]}
//   HEAD/GET /{repo}/resolve/{rev}/{path}         X-Repo-Commit, ETag (git blob sha1),
//        small files: 200 with the bytes, Content-Length, Accept-Ranges, Range support;
//        LFS files: 302 to the CDN with X-Linked-Etag (sha256) and X-Linked-Size
// and a second server on another port plays the CDN (/repos/{sha256}), so a
// token sent there would be a token sent to another host. Faults are switched
// on per test: cut transfers, ignored Range, corrupted bytes, slow bodies.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/loopback_server.h"
#include "hub/sha256.h"

namespace winnow::test_support {

struct FakeFile {
  std::string content;
  bool lfs = false;
};

struct FakeRepo {
  std::string repo_id;
  std::string commit;                      // 40 hex digits; "main" resolves to it
  std::map<std::string, FakeFile> files;   // repo path -> file
  std::optional<std::string> required_token;  // gated: "Authorization: Bearer <token>" or 401
};

struct RecordedRequest {
  std::string server;  // "hub" or "cdn"
  std::string method;
  std::string path;
  std::string range;          // the Range header, if any
  std::string authorization;  // the Authorization header, if any
  int status = 0;
};

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string sha256_hex(std::string_view bytes) {
  hub::Sha256 hash;
  hash.update(bytes);
  return hash.hex_digest();
}

// SHA-256 of a whole file, hex; empty when it cannot be read (what the tests
// compare a downloaded blob against).
inline std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  hub::Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    hash.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  }
  return in.bad() ? "" : hash.hex_digest();
}

// The id git gives a blob: sha1("blob <size>\0<bytes>"), the Hub's ETag for non-LFS files.
inline std::string git_blob_sha1(std::string_view bytes) {
  std::string object = "blob " + std::to_string(bytes.size());
  object.push_back('\0');
  object.append(bytes);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(object.data(), object.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

// Every file under `dir` (model.safetensors as an LFS file), plus files a real
// repo carries that Winnow must never fetch.
inline FakeRepo fixture_repo(const std::string& repo_id, const std::filesystem::path& dir, const std::string& commit) {
  FakeRepo repo{repo_id, commit, {}, std::nullopt};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = std::filesystem::relative(entry.path(), dir).generic_string();
    repo.files[path] = FakeFile{read_whole_file(entry.path()), path.ends_with(".safetensors")};
  }
  repo.files["pytorch_model.bin"] = FakeFile{"pickled weights Winnow never reads", true};
  repo.files["onnx/model.onnx"] = FakeFile{"an ONNX graph Winnow never reads", true};
  repo.files["README.md"] = FakeFile{"# a model card\n", false};
  repo.files[".gitattributes"] = FakeFile{"*.safetensors filter=lfs diff=lfs merge=lfs -text\n", false};
  return repo;
}

class FakeHub {
 public:
  FakeHub() {
    hub_.routes().Get(R"(/api/models/([^/]+/[^/]+)/revision/(.+))",
                      [this](const httplib::Request& req, httplib::Response& res) { answer_api(req, res); });
    hub_.routes().Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                      [this](const httplib::Request& req, httplib::Response& res) { answer_resolve(req, res); });
    cdn_.routes().Get(R"(/repos/([0-9a-f]{64}))",
                      [this](const httplib::Request& req, httplib::Response& res) { answer_cdn(req, res); });
    hub_.start();
    cdn_.start();
  }

  std::string endpoint() const { return hub_.url(); }
  std::string cdn_url() const { return cdn_.url(); }

  void add_repo(FakeRepo repo) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [path, file] : repo.files) {
      if (file.lfs) lfs_by_sha_[sha256_hex(file.content)] = std::make_shared<const std::string>(file.content);
    }
    const std::string id = repo.repo_id;
    repos_[id] = std::make_shared<const FakeRepo>(std::move(repo));
  }

  // Faults, for the CDN's answers.
  std::atomic<int> cut_next_cdn_gets{0};     // these many next GETs send half their body, then close
  std::atomic<bool> ignore_range{false};     // answer 200 with the whole file even when asked for a range
  std::atomic<bool> corrupt_lfs{false};      // send the right length with one wrong byte
  std::atomic<int> cdn_chunk_delay_ms{0};    // sleep between 64 KiB chunks
  std::atomic<int> fail_next_api_calls{0};   // these many next API calls answer 503 (Retry-After: 0)

  std::vector<RecordedRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  // Requests to `server` ("hub"/"cdn", "" for both) with `method` ("" for any) whose path contains `part`.
  std::size_t count(std::string_view server, std::string_view method, std::string_view part) const {
    std::size_t n = 0;
    for (const RecordedRequest& r : requests()) {
      if ((server.empty() || r.server == server) && (method.empty() || r.method == method) &&
          r.path.find(part) != std::string::npos) {
        ++n;
      }
    }
    return n;
  }

 private:
  void record(const char* server, const httplib::Request& req, const httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back({server, req.method, req.path, req.get_header_value("Range"),
                         req.get_header_value("Authorization"), res.status});
  }

  // Looks the repo up and checks the token; false (with the answer set) when it must not go on.
  bool find_repo(const httplib::Request& req, httplib::Response& res, std::shared_ptr<const FakeRepo>* repo) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = repos_.find(req.matches[1].str());
    if (it == repos_.end()) {
      res.status = 404;
      res.set_header("X-Error-Code", "RepoNotFound");
      res.set_content(R"({"error":"Repository not found"})", "application/json");
      return false;
    }
    if (it->second->required_token && req.get_header_value("Authorization") != "Bearer " + *it->second->required_token) {
      res.status = 401;
      res.set_header("X-Error-Code", "GatedRepo");
      res.set_header("X-Error-Message", "Access to model " + it->first + " is restricted.");
      res.set_content(R"({"error":"Access to this model is restricted"})", "application/json");
      return false;
    }
    const std::string revision = req.matches[2].str();
    if (revision != "main" && revision != it->second->commit) {
      res.status = 404;
      res.set_header("X-Error-Code", "RevisionNotFound");
      res.set_content(R"({"error":"Invalid rev id"})", "application/json");
      return false;
    }
    *repo = it->second;  // shared, not copied: a repo may hold a 100 MB file
    return true;
  }

  void answer_api(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const FakeRepo> repo;
    if (fail_next_api_calls.fetch_sub(1) > 0) {
      res.status = 503;
      res.set_header("Retry-After", "0");
      res.set_content("upstream overloaded", "text/plain");
    } else if (find_repo(req, res, &repo)) {
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& [path, file] : repo->files) siblings.push_back({{"rfilename", path}});
      nlohmann::json info = {{"id", repo->repo_id}, {"modelId", repo->repo_id}, {"sha", repo->commit},
                             {"private", false}, {"siblings", siblings}};
      res.status = 200;
      res.set_content(info.dump(), "application/json");
    }
    record("hub", req, res);
  }

  void answer_resolve(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const FakeRepo> repo;
    if (find_repo(req, res, &repo)) {
      res.set_header("X-Repo-Commit", repo->commit);
      auto it = repo->files.find(req.matches[3].str());
      if (it == repo->files.end()) {
        res.status = 404;
        res.set_header("X-Error-Code", "EntryNotFound");
      } else if (it->second.lfs) {
        const std::string sha = sha256_hex(it->second.content);
        const std::string pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha + "\nsize " +
                                    std::to_string(it->second.content.size()) + "\n";
        res.status = 302;
        res.set_header("Location", cdn_.url() + "/repos/" + sha);
        res.set_header("ETag", "\"" + git_blob_sha1(pointer) + "\"");
        res.set_header("X-Linked-Etag", "\"" + sha + "\"");
        res.set_header("X-Linked-Size", std::to_string(it->second.content.size()));
      } else {
        res.set_header("ETag", "\"" + git_blob_sha1(it->second.content) + "\"");
        serve_bytes(req, res, std::make_shared<const std::string>(it->second.content), false);
      }
    }
    record("hub", req, res);
  }

  void answer_cdn(const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const std::string> content;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = lfs_by_sha_.find(req.matches[1].str());
      if (it != lfs_by_sha_.end()) content = it->second;
    }
    if (!content) {
      res.status = 404;
    } else {
      if (corrupt_lfs) {
        auto bad = std::make_shared<std::string>(*content);
        (*bad)[bad->size() / 2] ^= 0x5a;
        content = bad;
      }
      const bool cut = req.method == "GET" && cut_next_cdn_gets.fetch_sub(1) > 0;
      serve_bytes(req, res, content, cut);
    }
    record("cdn", req, res);
  }

  // The bytes from the requested offset (Range: bytes=N-) unless ignore_range;
  // `cut`: close the connection halfway through the body.
  void serve_bytes(const httplib::Request& req, httplib::Response& res, std::shared_ptr<const std::string> content,
                   bool cut) {
    std::size_t offset = 0;
    if (!req.ranges.empty() && !ignore_range && req.ranges[0].first >= 0) {
      offset = static_cast<std::size_t>(req.ranges[0].first);
    }
    // The range is answered here; keep httplib from slicing the body a second time.
    const_cast<httplib::Request&>(req).ranges.clear();
    res.set_header("Accept-Ranges", "bytes");
    if (offset >= content->size() && offset > 0) {
      res.status = 416;
      return;
    }
    res.status = offset > 0 ? 206 : 200;
    const std::size_t length = content->size() - offset;
    if (offset > 0) {
      res.set_header("Content-Range", "bytes " + std::to_string(offset) + "-" + std::to_string(content->size() - 1) +
                                          "/" + std::to_string(content->size()));
    }
    if (length == 0) return;
    const std::size_t cut_at = cut ? length / 2 : length;
    const int delay_ms = cdn_chunk_delay_ms;
    res.set_content_provider(
        length, "application/octet-stream",
        [content, offset, cut_at, delay_ms](std::size_t at, std::size_t remaining, httplib::DataSink& sink) {
          if (at >= cut_at) return false;  // closes the connection mid-body
          const std::size_t n = std::min({remaining, cut_at - at, std::size_t{64 * 1024}});
          if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
          return sink.write(content->data() + offset + at, n);
        });
  }

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const FakeRepo>> repos_;
  std::map<std::string, std::shared_ptr<const std::string>> lfs_by_sha_;
  std::vector<RecordedRequest> requests_;
  // Last, so they stop (and their handlers finish) before the state above goes.
  LoopbackServer hub_;
  LoopbackServer cdn_;
};

}  // namespace winnow::test_support

// The API keys a server accepts: from --api-key / WINNOW_API_KEY and from a
// key file (one key per line; blank lines and # comments ignored) that can
// be reloaded while the server runs. Only SHA-256 digests of the keys are
// kept, and a presented key is compared with every one of them in constant
// time, so neither the answer's timing nor a memory dump gives a key away.
#pragma once

#include <array>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::server {

// a == b without a timing that depends on where they differ: both are
// hashed (SHA-256) and the digests compared with CRYPTO_memcmp.
bool constant_time_equal(std::string_view a, std::string_view b);

// The keys of a key file, in order. Errors name the file and line.
base::Result<std::vector<std::string>> read_key_file(const std::filesystem::path& path);

class ApiKeys {
 public:
  // `fixed`: keys that stay for the process's life (--api-key); `file`: a
  // key file read now and by reload() ("" for none). An error names the file
  // and line; a file without keys is an error (it would turn auth off).
  base::Status configure(std::vector<std::string> fixed, std::filesystem::path file);

  // Re-reads the key file. On error the keys in force stay, and the error
  // says why. Thread-safe; requests being checked meanwhile see the old or
  // the new keys, never a mix.
  base::Status reload();

  // True when any key is configured (requests then need one).
  bool enabled() const;
  // How many keys are in force (for the startup log line).
  std::size_t count() const;
  // True when `presented` is one of the keys; its time depends on the number
  // of keys and the length of `presented` only. Thread-safe.
  bool accepts(std::string_view presented) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  using Digest = std::array<unsigned char, 32>;
  using DigestSet = std::vector<Digest>;

  void install(const std::vector<std::string>& file_keys);

  std::vector<Digest> fixed_;
  std::filesystem::path file_;
  mutable std::mutex mutex_;
  std::shared_ptr<const DigestSet> digests_ = std::make_shared<DigestSet>();
};

}  // namespace winnow::server

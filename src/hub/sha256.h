// Incremental SHA-256 (OpenSSL's EVP), for checking downloaded LFS blobs
// against the hash the Hub announces.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace winnow::hub {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // Lower-case hex of the digest of everything passed since construction or reset().
  std::string hex_digest();
  void reset();

 private:
  void* ctx_;  // EVP_MD_CTX*
};

}  // namespace winnow::hub

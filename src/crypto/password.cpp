#include "crypto/password.hpp"

#include <sodium.h>

#include <stdexcept>
#include <vector>

#include "crypto/digest.hpp"

namespace stockwatch {

bool crypto_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Result<std::string> hash_password(std::string_view password) {
  if (!crypto_ready()) return Error(ErrorCode::kInternal, "libsodium could not start");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Error(ErrorCode::kInternal, "not enough memory to hash the password");
  }
  return std::string(out);
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (!crypto_ready() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

std::string random_token(std::size_t bytes) {
  if (!crypto_ready()) throw std::runtime_error("libsodium could not start");
  std::vector<unsigned char> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return to_hex(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string token_digest(std::string_view token) {
  return to_hex(Digest::of(Digest::Kind::kSha256, token));
}

}  // namespace stockwatch

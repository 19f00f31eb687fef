// Incremental SHA-256 (OpenSSL EVP), used to recognise a report's content.
//
// Contract: move-only owner of an EVP_MD_CTX. update() any number of times,
// then hex() once. Not thread-safe. Construction throws std::bad_alloc only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace stockwatch {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  // Lower-case hex digest; the object is spent afterwards.
  [[nodiscard]] std::string hex();

  [[nodiscard]] static std::string of(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace stockwatch

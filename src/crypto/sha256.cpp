#include "crypto/sha256.hpp"

#include "crypto/digest.hpp"

namespace stockwatch {

struct Sha256::Ctx {
  Digest digest{Digest::Kind::kSha256};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) { ctx_->digest.update(data); }

std::string Sha256::hex() { return to_hex(ctx_->digest.finish()); }

std::string Sha256::of(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

}  // namespace stockwatch

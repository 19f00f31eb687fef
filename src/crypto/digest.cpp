#include "crypto/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>

#include <array>
#include <new>

namespace stockwatch {

struct Digest::Ctx {
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> md;
};

namespace {
const EVP_MD* builtin_md_of(Digest::Kind kind) {
  switch (kind) {
    case Digest::Kind::kMd5: return EVP_md5();
    case Digest::Kind::kSha1: return EVP_sha1();
    case Digest::Kind::kSha256: return EVP_sha256();
  }
  return EVP_sha256();
}

// With OpenSSL 3, EVP_sha256() and its kin name an algorithm that every
// EVP_DigestInit_ex looks up again among the providers (an implicit fetch:
// about 6,000 instructions, once per report loaded, and more than hashing a
// six-row report). Each kind is fetched once, from the default library
// context with no properties, which is what the implicit fetch finds; kept
// for the process's life.
const EVP_MD* md_of(Digest::Kind kind) {
#if OPENSSL_VERSION_MAJOR >= 3
  auto fetch = [](Digest::Kind k) -> const EVP_MD* {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, EVP_MD_get0_name(builtin_md_of(k)), nullptr);
    return fetched ? fetched : builtin_md_of(k);
  };
  switch (kind) {
    case Digest::Kind::kMd5: {
      static const EVP_MD* const md5 = fetch(kind);
      return md5;
    }
    case Digest::Kind::kSha1: {
      static const EVP_MD* const sha1 = fetch(kind);
      return sha1;
    }
    case Digest::Kind::kSha256: break;
  }
  static const EVP_MD* const sha256 = fetch(Digest::Kind::kSha256);
  return sha256;
#else
  return builtin_md_of(kind);
#endif
}
}  // namespace

Digest::Digest(Kind kind) : ctx_(std::make_unique<Ctx>()) {
  ctx_->md.reset(EVP_MD_CTX_new());
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md.get(), md_of(kind), nullptr) != 1) {
    throw std::bad_alloc();
  }
}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(std::string_view data) {
  EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size());
}

std::string Digest::finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md.get(), digest, &len);
  return std::string(reinterpret_cast<const char*>(digest), len);
}

std::string Digest::of(Kind kind, std::string_view data) {
  Digest d(kind);
  d.update(data);
  return d.finish();
}

namespace {
// Reflected CRC-32 tables, built once.
using CrcTable = std::array<std::uint32_t, 256>;
CrcTable make_table(std::uint32_t reflected_poly) {
  CrcTable t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ reflected_poly : c >> 1;
    t[i] = c;
  }
  return t;
}
const CrcTable& table_of(Crc32::Kind kind) {
  static const CrcTable iso = make_table(0xEDB88320u);
  static const CrcTable castagnoli = make_table(0x82F63B78u);
  return kind == Crc32::Kind::kIso ? iso : castagnoli;
}
}  // namespace

Crc32::Crc32(Kind kind) : kind_(kind) {}

void Crc32::update(std::string_view data) {
  const CrcTable& t = table_of(kind_);
  std::uint32_t c = state_;
  for (unsigned char b : data) c = t[(c ^ b) & 0xFFu] ^ (c >> 8);
  state_ = c;
}

std::string Crc32::finish() const {
  const std::uint32_t v = state_ ^ 0xFFFFFFFFu;
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFFu);
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string to_hex(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view text) {
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = digit(text[i]);
    const int lo = digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string percent_encode(std::string_view text, bool keep_slash) {
  static constexpr std::string_view kUpperHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (const unsigned char c : text) {
    // Not std::isalnum: its answer depends on the locale.
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kUpperHex[c >> 4];
      out += kUpperHex[c & 15];
    }
  }
  return out;
}

std::string to_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

namespace {
int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}
}  // namespace

// A strict decoder: EVP_DecodeBlock skips surrounding whitespace and reads
// '=' anywhere as a zero digit, so "Z=9v" or "====" would decode to bytes.
std::string from_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return {};
  std::size_t padding = 0;
  if (text.back() == '=') ++padding;
  if (text[text.size() - 2] == '=') ++padding;
  if (padding == 1 && text[text.size() - 2] == '=') return {};
  std::string out;
  out.reserve(3 * text.size() / 4);
  const std::size_t digits = text.size() - padding;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    const int v = base64_value(text[i]);
    if (v < 0) return {};
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFFu);
    }
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace stockwatch

// Message digests, HMAC and checksums (OpenSSL EVP and Boost.CRC), and the
// encodings S3 and email use for them (lower-case hex, base64, percent).
//
// Contract: a Digest is a move-only owner of an EVP_MD_CTX; update() any
// number of times, then finish() once (the object is spent afterwards).
// Crc32 is a plain value. Nothing here touches files, sockets or global
// state; every function may be called from any thread. Construction throws
// std::bad_alloc only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stockwatch {

class Digest {
 public:
  enum class Kind { kMd5, kSha1, kSha256 };
  explicit Digest(Kind kind);
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view data);
  // The raw digest bytes.
  [[nodiscard]] std::string finish();

  [[nodiscard]] static std::string of(Kind kind, std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// CRC-32 (ISO-HDLC, as zlib) or CRC-32C (Castagnoli), as S3's
// x-amz-checksum-crc32 / -crc32c.
class Crc32 {
 public:
  enum class Kind { kIso, kCastagnoli };
  explicit Crc32(Kind kind);
  void update(std::string_view data);
  // The checksum as 4 big-endian bytes (what S3 base64-encodes).
  [[nodiscard]] std::string finish() const;

 private:
  Kind kind_;
  std::uint32_t state_ = 0xFFFFFFFFu;
};

// HMAC-SHA256 of `data` under `key`: 32 raw bytes.
[[nodiscard]] std::string hmac_sha256(std::string_view key, std::string_view data);

[[nodiscard]] std::string to_hex(std::string_view bytes);
// Decodes hex (either case); nullopt for an odd length or a non-hex digit.
[[nodiscard]] std::optional<std::string> from_hex(std::string_view text);
[[nodiscard]] std::string to_base64(std::string_view bytes);
// Decodes standard base64 (with padding); empty on malformed input.
[[nodiscard]] std::string from_base64(std::string_view text);
// Percent-encodes every byte but RFC 3986's unreserved A-Z a-z 0-9 - _ . ~
// (and '/' when keep_slash), with upper-case hex: what AWS Signature
// Version 4, a URL path and an RFC 2231 parameter value all accept.
[[nodiscard]] std::string percent_encode(std::string_view text, bool keep_slash = false);

// Compares two strings in time that depends only on their lengths.
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace stockwatch

// Passwords and secret tokens for the web console: Argon2id password
// hashes and random tokens, from libsodium.
//
// Contract:
// - hash_password() returns libsodium's self-describing Argon2id string
//   ("$argon2id$v=19$m=...,t=...,p=1$salt$hash"), salted at random; the
//   cost is libsodium's "interactive" level (64 MiB, about 0.1 s), so a
//   sign-in never runs on a thread that serves other requests.
//   verify_password() checks a password against such a string in constant
//   time and is false for a malformed string.
// - random_token() is `bytes` bytes from the system's random source, as
//   lower-case hex; token_digest() is the SHA-256 (hex) under which a
//   token is stored, so a copy of the database holds no usable session or
//   link.
// - Every function may be called from any thread. crypto_ready() must have
//   returned true once (it initialises libsodium; false only when the
//   system has no random source), which the first call does itself.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace stockwatch {

[[nodiscard]] bool crypto_ready();
// kInternal when libsodium cannot allocate the memory Argon2id asks for.
[[nodiscard]] Result<std::string> hash_password(std::string_view password);
[[nodiscard]] bool verify_password(std::string_view password, const std::string& hash);
[[nodiscard]] std::string random_token(std::size_t bytes = 32);
[[nodiscard]] std::string token_digest(std::string_view token);

}  // namespace stockwatch

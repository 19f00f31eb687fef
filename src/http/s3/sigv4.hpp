// AWS Signature Version 4, verified the way S3 does: the Authorization
// header (AWS4-HMAC-SHA256) and presigned URLs (X-Amz-Signature in the
// query string).
//
// Contract:
// - verify_sigv4() never throws; a refused request comes back with the S3
//   error to send (AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch,
//   RequestTimeTooSkewed, AuthorizationHeaderMalformed, ...).
// - It checks the signature over the method, path, query and signed
//   headers. The body is covered only through the payload hash the client
//   declared (x-amz-content-sha256): the caller must hash the body it reads
//   and compare (payload_hash is "UNSIGNED-PAYLOAD" when the client chose
//   not to sign it).
// - Pure computation; callable from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "http/s3/s3_protocol.hpp"

namespace stockwatch {

// The parts of an HTTP request a signature covers.
struct SigV4Request {
  std::string method;
  std::string target;   // the request-target as received: path?query, percent-encoded
  // Every header as received, names in lower case; repeated names repeat.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct SigV4Options {
  std::chrono::seconds max_skew{15 * 60};   // S3 refuses requests 15 minutes off
  std::string region;                       // empty: accept any region in the scope
};

struct SigV4Result {
  std::optional<S3Error> error;   // set when the request is refused
  std::string access_key;
  std::string payload_hash;       // hex SHA-256, "UNSIGNED-PAYLOAD", or "STREAMING-..."
  bool presigned = false;
};

// Returns the secret key for an access key, or nullopt for an unknown one.
using SecretLookup = std::function<std::optional<std::string>(std::string_view access_key)>;

[[nodiscard]] SigV4Result verify_sigv4(const SigV4Request& request, const SecretLookup& secret_of,
                                       TimePoint now, const SigV4Options& options = {});

// Whether the request carries any AWS signature (header or query).
[[nodiscard]] bool has_sigv4(const SigV4Request& request);

// --- The steps, public for tests and for signing test requests ------------

// The canonical request: method, canonical URI, canonical query (without
// X-Amz-Signature), the signed headers with their values, their names, and
// the payload hash.
[[nodiscard]] std::string sigv4_canonical_request(const SigV4Request& request,
                                                  const std::vector<std::string>& signed_headers,
                                                  std::string_view payload_hash);
// "AWS4-HMAC-SHA256\n<amz date>\n<scope>\n<hex sha256 of canonical request>"
[[nodiscard]] std::string sigv4_string_to_sign(std::string_view amz_date, std::string_view scope,
                                               std::string_view canonical_request);
// The hex signature of `string_to_sign` for a scope date/region/service.
[[nodiscard]] std::string sigv4_signature(std::string_view secret, std::string_view date,
                                          std::string_view region, std::string_view service,
                                          std::string_view string_to_sign);

// Signs `request` in place (adds x-amz-date, x-amz-content-sha256 and
// Authorization), as a client would. For tests.
void sigv4_sign(SigV4Request& request, std::string_view access_key, std::string_view secret,
                std::string_view region, TimePoint at, std::string_view payload_hash);

}  // namespace stockwatch

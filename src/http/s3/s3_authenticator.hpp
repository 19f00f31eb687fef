// Who signed an S3 request: AWS Signature Version 4 as an Authenticator.
//
// The S3 endpoint's credentials are the [[http.credential]] entries (an
// access key, its secret, and optionally the stores it may upload for).
// This authenticator answers, from a request's head:
// - an Identity (role uploader, the access key as its name, the key's
//   stores, and the body hash the client signed) for a good signature;
// - a Refusal carrying S3's error code (AccessDenied, InvalidAccessKeyId,
//   SignatureDoesNotMatch, RequestTimeTooSkewed, ...) for a bad one, and
//   for an unsigned request when uploads need a signature
//   (http.allow_anonymous_upload = false), or when the server has no
//   credentials and takes no anonymous uploads;
// - neither for an unsigned request that may upload anonymously.
//
// Contract: like every Authenticator, it decides from the head alone,
// never blocks and never throws; it runs on the HTTP thread only. The body
// is covered by the signature only through the hash the client declared:
// the gateway hashes the body it reads and compares.
#pragma once

#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "http/auth.hpp"

namespace stockwatch {

class S3SignatureAuthenticator final : public http::Authenticator {
 public:
  S3SignatureAuthenticator(const HttpConfig& http, const Clock& clock) : clock_(clock) {
    set_config(http);
  }
  // New credentials, region or anonymous-upload rule (a configuration
  // reload).
  void set_config(const HttpConfig& http);

  [[nodiscard]] http::AuthResult authenticate(const http::RequestHead& head,
                                              const std::string& remote) override;

 private:
  std::vector<HttpCredential> credentials_;
  std::string region_;
  bool allow_anonymous_ = false;
  const Clock& clock_;
};

}  // namespace stockwatch

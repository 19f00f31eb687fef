// Who is asking: authentication for the HTTP routes.
//
// An Authenticator looks at a request's head and answers one of three
// things: the request carries credentials of its kind and they are good
// (an Identity), they are bad (a Refusal), or it carries none of its kind
// (neither: another authenticator may know them). The bearer token of
// http.token is one authenticator; console sessions and S3 signatures fit
// the same place.
//
// Contract:
// - authenticate() decides from the head alone, never reads a body and
//   never blocks; it runs on the HTTP thread only.
// - A Refusal carries the status and text for the client (never the
//   credential itself), and how long to wait before answering, so a client
//   that guesses is slowed down without holding up anyone else.
// - Failed attempts are logged with the client's address and the path,
//   never with what the client sent as its credential.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "http/failure_throttle.hpp"
#include "http/http_server.hpp"

namespace stockwatch::http {

enum class Role {
  kUploader,   // may send reports (S3)
  kReader,     // may read the JSON API and the metrics
  kOwner,      // may do everything a reader may, and more to come (the console)
};

struct Identity {
  std::string name;                  // for logs: "the bearer token", an access key, a user
  Role role = Role::kReader;
  std::vector<std::string> stores;   // empty: every store
  // S3 signatures: the body hash the client signed (hex SHA-256 or
  // "UNSIGNED-PAYLOAD"), for the gateway to compare with what it reads.
  std::string payload_hash;
};

struct Refusal {
  unsigned status = 401;
  std::string message;               // for the client
  std::string challenge;             // WWW-Authenticate, if any
  Duration delay{0};                 // wait this long before answering
  std::string code;                  // a reason for programs, where the protocol has one
                                     // (S3's error code: "SignatureDoesNotMatch", ...)
};

struct AuthResult {
  std::optional<Identity> identity;  // good credentials
  std::optional<Refusal> refusal;    // bad credentials
  // Neither: no credentials of this kind.
  [[nodiscard]] bool decided() const { return identity || refusal; }
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // `remote` is the client's "ip:port".
  [[nodiscard]] virtual AuthResult authenticate(const RequestHead& head,
                                                const std::string& remote) = 0;
};

// "Authorization: Bearer <token>", compared in constant time. A wrong
// token is logged and slowed down through the throttle, per client
// address; a right one clears the address's failures. An empty token
// accepts every request as a reader (the API is open when http.token is
// not set).
class BearerTokenAuthenticator final : public Authenticator {
 public:
  BearerTokenAuthenticator(std::string token, FailureThrottle& throttle)
      : token_(std::move(token)), throttle_(throttle) {}
  [[nodiscard]] AuthResult authenticate(const RequestHead& head, const std::string& remote) override;
  void set_token(std::string token) { token_ = std::move(token); }

 private:
  std::string token_;
  FailureThrottle& throttle_;
};

// Tries authenticators in order; the first that decides wins. When none
// does, the request is refused with `missing` (a 401 asking for
// credentials, without delay: a client that sent none is not guessing).
class AuthChain {
 public:
  explicit AuthChain(Refusal missing) : missing_(std::move(missing)) {}
  void add(Authenticator& a) { chain_.push_back(&a); }
  [[nodiscard]] AuthResult authenticate(const RequestHead& head, const std::string& remote) const;

 private:
  Refusal missing_;
  std::vector<Authenticator*> chain_;
};

}  // namespace stockwatch::http

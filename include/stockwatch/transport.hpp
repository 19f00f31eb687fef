// Mail transports: how a rendered message leaves stockwatch.
//
// Contract: send() blocks (it does network or disk I/O), so it must run off
// the event loop; the mailer calls it from its worker thread. One transport
// object is used by one thread at a time. send() never throws; the outcome
// says whether the message was accepted, should be retried (4xx replies,
// connection failures, timeouts) or was refused for good (5xx replies).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "stockwatch/config.hpp"

namespace stockwatch {

struct SendOutcome {
  enum class Kind { kSent, kTransient, kPermanent };
  SendOutcome() = default;
  SendOutcome(Kind k, int code, std::string what, std::string todo = {})
      : kind(k), smtp_code(code), detail(std::move(what)), advice(std::move(todo)) {}
  Kind kind = Kind::kSent;
  int smtp_code = 0;        // last SMTP reply code, 0 when none
  std::string detail;       // human-readable: what happened and the server's reply
  std::string advice;       // what a person can do about a failure; empty when sent
  [[nodiscard]] bool sent() const { return kind == Kind::kSent; }
};

class MailTransport {
 public:
  virtual ~MailTransport() = default;
  // `data` is a complete RFC 5322 message with CRLF line ends.
  virtual SendOutcome send(const std::string& from, const std::string& to,
                           const std::string& data) = 0;
  // A short name for logs: "smtp://host:25" or "maildir /path".
  [[nodiscard]] virtual std::string describe() const = 0;
};

// SMTP through libcurl (smtp:// or smtps://). Credentials from the config.
std::unique_ptr<MailTransport> make_smtp_transport(const SmtpConfig& config);

// Writes each message as a file in a Maildir (tmp/ then rename to new/).
std::unique_ptr<MailTransport> make_maildir_transport(const std::string& maildir);

// SMTP when smtp.url is set, the Maildir otherwise.
std::unique_ptr<MailTransport> make_transport(const SmtpConfig& config);

}  // namespace stockwatch

// Mail transports: how a rendered message leaves stockwatch.
//
// Contract: send() blocks (it does network or disk I/O), so it must run off
// the event loop; the mailer calls it from its worker thread. One transport
// object is used by one thread at a time. send() never throws; the outcome
// says whether the message was accepted, should be retried (4xx replies,
// connection failures, timeouts) or was refused for good (5xx replies).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "config/config.hpp"

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
  // A temporary failure whose receiver said when to try again (HTTP
  // Retry-After on 429 and 503): the next attempt waits this long instead
  // of the backoff.
  std::optional<std::chrono::milliseconds> retry_after;
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

// The time after which no delivery may go on: the end of the flush at
// shutdown. One thread sets it (the event loop, at SIGTERM) while another
// sends; before it is set, deliveries are limited by smtp.connect_timeout_s
// and smtp.timeout_s alone.
class SendDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  void set(Clock::time_point at) { ticks_.store(at.time_since_epoch().count()); }
  [[nodiscard]] std::optional<Clock::time_point> get() const {
    const Clock::rep t = ticks_.load();
    if (t == kUnset) return std::nullopt;
    return Clock::time_point(Clock::duration(t));
  }

 private:
  static constexpr Clock::rep kUnset = 0;
  std::atomic<Clock::rep> ticks_{kUnset};
};

// SMTP through libcurl (smtp:// or smtps://). Credentials from the config.
// With `deadline`, each delivery's time-outs are cut to the time left
// before it, a delivery in progress when it passes is stopped (within about
// a second), and none starts after it; all three are temporary failures.
std::unique_ptr<MailTransport> make_smtp_transport(const SmtpConfig& config,
                                                   const SendDeadline* deadline = nullptr);

// Writes each message as a file in a Maildir (tmp/ then rename to new/).
std::unique_ptr<MailTransport> make_maildir_transport(const std::string& maildir);

// SMTP when smtp.url is set, the Maildir otherwise (a local write, which
// the deadline does not limit).
std::unique_ptr<MailTransport> make_transport(const SmtpConfig& config,
                                              const SendDeadline* deadline = nullptr);

}  // namespace stockwatch

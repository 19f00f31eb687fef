// The mailer (SNS + email subscription): delivers queued outbox messages,
// through every channel: email by the transport, the others (webhook,
// Telegram) by their Channel (notify/channel.hpp).
//
// Contract:
// - The same rules for every channel: a claim per message, backoff with
//   jitter, a receiver's Retry-After (HTTP 429 and 503) instead of the
//   backoff, permanent refusals (5xx SMTP replies, 4xx HTTP answers other
//   than 429) kept as dead, visible and retryable.
// - process_due() sends every message whose next attempt is due, through the
//   transport, and records each outcome in the outbox before moving on:
//   sent; queued again with exponential backoff and jitter (4xx replies,
//   connection failures); or dead (5xx replies, too many attempts, too old).
//   A message that was accepted just before a crash may be sent again after
//   the restart; it keeps its Message-ID. When the outcome cannot be
//   recorded (the database is busy with a long load), it is kept in memory
//   and recorded first on the next step; nothing else is sent until then, so
//   a busy database never makes the mailer send a message twice.
// - Each message is claimed before it is sent (Storage::claim_due) with a
//   lease (kClaimLease unless set_claim_lease), so two mailers (the daemon's and `stockwatch
//   ingest`'s) never send one message both; the lease must outlast one
//   send (the transport's timeouts), and ends early when the outcome is
//   recorded. A mailer that dies leaves its claims to end with their lease.
// - `stop` (optional) is checked between messages: a step in progress
//   finishes the message it is sending and returns.
// - Blocking (network, database): run it off the event loop, on its
//   Storage's thread. The transport may block up to its own timeouts.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>
#include <optional>
#include <random>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/storage.hpp"
#include "notify/transport.hpp"
#include "notify/channel.hpp"

namespace stockwatch {

struct RetryPolicy {
  Duration initial = std::chrono::seconds(5);
  Duration max = std::chrono::minutes(10);
  int max_attempts = 60;
  Duration max_age = std::chrono::hours(48);
  double jitter = 0.2;   // each delay is scaled by a random factor in [1-j, 1+j]

  static RetryPolicy from(const SmtpConfig& smtp);
  // Delay before attempt number `attempts + 1`, given `attempts` failures.
  [[nodiscard]] Duration delay(int attempts, double unit_random) const;
};

struct MailerStep {
  int sent = 0;
  int retried = 0;
  int dead = 0;
  std::string last_result;                 // outcome of the last attempt, for status pages
  bool last_sent = false;                  // whether that attempt was accepted
  std::optional<TimePoint> next_due;       // when the next queued message is due
};

class Mailer {
 public:
  Mailer(Storage& storage, MailTransport& transport, const Clock& clock, RetryPolicy policy,
         std::uint64_t seed = std::random_device{}());

  [[nodiscard]] Result<MailerStep> process_due(int limit = 100,
                                               const std::atomic<bool>* stop = nullptr);

  void set_transport(MailTransport& transport) { transport_ = &transport; }
  // The non-email channels (none: such messages wait as dead, saying so).
  // They must outlive their use.
  void set_channels(Channels* channels) { channels_ = channels; }
  void set_policy(RetryPolicy policy) { policy_ = policy; }

  static constexpr Duration kClaimLease = std::chrono::minutes(10);
  // How long a claim holds when its outcome is never recorded (this
  // process died mid-send): another mailer sends the message after it.
  // Must outlast one send (the transport's and channels' timeouts).
  void set_claim_lease(Duration lease) { lease_ = lease; }
  // The name this mailer claims under (by default its process id and a
  // random number). The daemon's mailer claims as "serve": only one daemon
  // runs on a database (Storage::lock_instance), so a daemon restarted
  // after a crash takes its predecessor's claims back at once instead of
  // waiting for their leases to end.
  void set_claimant(std::string claimant) { claimant_ = std::move(claimant); }

 private:
  Storage& storage_;
  MailTransport* transport_;
  Channels* channels_ = nullptr;
  const Clock& clock_;
  RetryPolicy policy_;
  std::mt19937_64 rng_;
  std::string claimant_;
  Duration lease_ = kClaimLease;
  // Outcomes sent but not yet recorded (the database was busy).
  struct Unrecorded {
    std::int64_t id;
    enum class What { kSent, kRetry, kDead } what;
    TimePoint at;
    std::string error;
  };
  std::vector<Unrecorded> unrecorded_;
  Status record(const Unrecorded& u);
};

}  // namespace stockwatch

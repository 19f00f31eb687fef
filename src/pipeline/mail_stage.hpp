// The mail stage: the mailer's due step, and when to take the next one.
//
// Contract:
// - step(limit, stop) sends what is due in the outbox (at most `limit`
//   messages) through the mailer and says when to step again: at once when
//   more is due, at the next message's due time, and at least every
//   kRecheck (messages queued by other processes: `ingest`, `outbox retry`);
//   kAfterError after a failed step. A step that throws is a failed step;
//   nothing escapes.
// - counts() reads the outbox's queued and dead counts (nullopt on error).
// - set_transport() and set_policy() apply a reloaded configuration; the
//   transport must outlive its use.
// - Blocking (network, database), no Asio, no sleeping: one thread at a
//   time, the Storage's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "base/clock.hpp"
#include "notify/mailer.hpp"
#include "notify/transport.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct MailStep {
  bool ok = false;
  MailerStep sent;            // when ok: what was sent, retried, given up
  std::string error;          // when not ok
  TimePoint next_at{};        // when to step again (at or before now: at once)
};

class MailStage {
 public:
  MailStage(Storage& storage, MailTransport& transport, const Clock& clock, RetryPolicy policy,
            std::uint64_t seed = std::random_device{}());
  MailStage(const MailStage&) = delete;
  MailStage& operator=(const MailStage&) = delete;

  [[nodiscard]] MailStep step(int limit = 100, const std::atomic<bool>* stop = nullptr);
  [[nodiscard]] std::optional<OutboxCounts> counts();

  void set_transport(MailTransport& transport) { mailer_.set_transport(transport); }
  void set_channels(Channels* channels) { mailer_.set_channels(channels); }
  void set_policy(RetryPolicy policy) { mailer_.set_policy(policy); }
  // The name the mailer claims messages under (Mailer::set_claimant).
  void set_claimant(std::string claimant) { mailer_.set_claimant(std::move(claimant)); }
  // How long a claim outlives a mailer that died (Mailer::set_claim_lease).
  void set_claim_lease(Duration lease) { mailer_.set_claim_lease(lease); }

  static constexpr std::chrono::seconds kRecheck{30};
  static constexpr std::chrono::seconds kAfterError{5};

 private:
  Storage& storage_;
  const Clock& clock_;
  Mailer mailer_;
};

}  // namespace stockwatch

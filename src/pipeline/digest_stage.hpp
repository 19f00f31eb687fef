// The digest stage: each subscription with `digest` set gets a summary at
// each time its schedule names, in [alerts] timezone: out of stock now,
// below minimum now, reports received and missing since the last digest,
// the largest changes, and a suggested transfer for each item listed out of
// stock or below minimum that another store can spare
// (docs/alerts.md#digests).
//
// Contract:
// - process_due() handles, for each such subscription, the latest
//   scheduled time at or before now, once: the time is marked handled in
//   the same transaction as the messages (Storage::commit_schedule), so a
//   restart, a second process or a repeated step never sends it twice. A
//   clock that jumps forward over several times sends one digest, covering
//   everything since the last one; a clock that jumps back sends nothing
//   until it passes the next time after the last one handled.
// - The first step under a schedule (a new or changed `digest`, address
//   list or store list) marks the latest past time without sending: the
//   first digest goes out at the next time.
// - A period with nothing to say sends a short "all in stock" digest, or
//   nothing when the subscription has digest_quiet = false (the time is
//   marked handled either way).
// - One message per recipient of the subscription (pipeline/recipients.hpp:
//   each email address, its webhook, its Telegram chat), outbox event
//   "digest" with the digest as payload, rendered by each channel in the
//   subscription's language when it is sent.
// - Storage failures are returned as values and mark nothing.
// - Runs on the thread of its Storage (the daemon's db strand); reads the
//   time from the clock; no sleeping.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "notify/digest_mail.hpp"
#include "pipeline/expect_stage.hpp"
#include "pipeline/minimum_levels.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct DigestStageOptions {
  std::vector<Subscription> subscriptions;   // those with a digest_schedule take part
  ExpectStageOptions expect;                 // for "missing"; its zone is the digests' zone
  std::string sender;
  std::string language = "en";               // [alerts] language; a subscription's own wins
  std::int64_t default_minimum = 0;          // [alerts] default_minimum
  int transfer_keep_days = 30;               // [alerts] transfer_keep_days

  static DigestStageOptions from(const Config& config);
};

struct DigestStep {
  std::size_t queued = 0;       // messages queued
  std::size_t digests = 0;      // subscriptions whose time was handled with a digest
  std::size_t quiet = 0;        // of them, with nothing to say
  std::size_t sent = 0;         // of them, with at least one message queued
};

// The items below their minimum level now, of `stores` (empty: every
// store): above 0 and below the minimum `levels` gives it (the levels file
// in force with the default minimum, read once by the caller, which also
// suggests transfers by them); at most `limit` listed, and how many there
// are in all. Reads the whole inventory of those stores, a page at a time,
// unless no item can have a minimum above 0.
[[nodiscard]] Result<std::pair<std::vector<DigestMail::Item>, std::int64_t>> below_minimum_now(
    Storage& storage, const MinimumLevels& levels, const std::vector<std::string>& stores,
    std::size_t limit);

class DigestStage {
 public:
  DigestStage(Storage& storage, const Clock& clock, DigestStageOptions options);

  [[nodiscard]] Result<DigestStep> process_due();
  // The next scheduled time of any subscription after now; nullopt when
  // no subscription has a digest.
  [[nodiscard]] std::optional<TimePoint> next_due() const;
  [[nodiscard]] TimePoint retry_at() const { return clock_.now() + std::chrono::minutes(1); }
  void reload(DigestStageOptions options) { options_ = std::move(options); }

  // The digest of `sub` for the period after `from` up to `to` (for tests
  // and the stage).
  [[nodiscard]] Result<DigestMail> digest_for(const Subscription& sub, TimePoint from, TimePoint to);

 private:
  Storage& storage_;
  const Clock& clock_;
  DigestStageOptions options_;
};

}  // namespace stockwatch

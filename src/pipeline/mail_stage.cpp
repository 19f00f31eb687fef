#include "pipeline/mail_stage.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace stockwatch {

MailStage::MailStage(Storage& storage, MailTransport& transport, const Clock& clock,
                     RetryPolicy policy, std::uint64_t seed)
    : storage_(storage), clock_(clock), mailer_(storage, transport, clock, policy, seed) {}

MailStep MailStage::step(int limit, const std::atomic<bool>* stop) {
  MailStep out;
  Result<MailerStep> r = Error(ErrorCode::kInternal, "not run");
  try {
    r = mailer_.process_due(limit, stop);
  } catch (const std::exception& e) {
    r = Error(ErrorCode::kInternal, e.what());
  }
  const TimePoint now = clock_.now();
  if (!r) {
    out.error = r.error().message();
    spdlog::error("mailer: {}", out.error);
    out.next_at = now + kAfterError;
    return out;
  }
  out.ok = true;
  out.sent = *r;
  const TimePoint recheck = now + kRecheck;
  out.next_at = out.sent.next_due ? std::min(*out.sent.next_due, recheck) : recheck;
  return out;
}

std::optional<OutboxCounts> MailStage::counts() {
  auto c = storage_.open_outbox_counts();
  if (!c) return std::nullopt;
  return *c;
}

}  // namespace stockwatch

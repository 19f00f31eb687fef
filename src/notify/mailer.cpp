#include "notify/mailer.hpp"

#include "notify/alert.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <string>

namespace stockwatch {

namespace {
// "mail 7", "webhook 8", "telegram 9" in the log.
std::string_view kind_of(const OutboxMessage& m) {
  return m.channel.empty() || m.channel == "email" ? std::string_view("mail") : m.channel;
}
}  // namespace

RetryPolicy RetryPolicy::from(const SmtpConfig& smtp) {
  RetryPolicy p;
  p.initial = std::chrono::seconds(smtp.retry_initial_s);
  p.max = std::chrono::seconds(smtp.retry_max_s);
  p.max_attempts = smtp.max_attempts;
  p.max_age = std::chrono::seconds(smtp.max_age_s);
  return p;
}

Duration RetryPolicy::delay(int attempts, double unit_random) const {
  const double base = static_cast<double>(initial.count()) * std::pow(2.0, std::min(attempts, 30));
  const double capped = std::min(base, static_cast<double>(max.count()));
  const double factor = 1.0 - jitter + 2.0 * jitter * unit_random;
  return Duration(static_cast<long long>(std::max(1.0, capped * factor)));
}

Mailer::Mailer(Storage& storage, MailTransport& transport, const Clock& clock, RetryPolicy policy,
               std::uint64_t seed)
    : storage_(storage), transport_(&transport), clock_(clock), policy_(policy), rng_(seed) {
  // Who holds a claim: this process and this mailer in it.
  claimant_ = "pid " + std::to_string(::getpid()) + " mailer " + std::to_string(rng_() % 1000000);
}

Status Mailer::record(const Unrecorded& u) {
  switch (u.what) {
    case Unrecorded::What::kSent: return storage_.mark_sent(u.id, u.at);
    case Unrecorded::What::kRetry: return storage_.mark_retry(u.id, u.at, u.error);
    case Unrecorded::What::kDead: return storage_.mark_dead(u.id, u.error);
  }
  return {};
}

Result<MailerStep> Mailer::process_due(int limit, const std::atomic<bool>* stop) {
  MailerStep step;
  // First what could not be recorded last time; nothing is sent before.
  while (!unrecorded_.empty()) {
    if (auto st = record(unrecorded_.front()); !st.ok()) return st.error();
    unrecorded_.erase(unrecorded_.begin());
  }
  // Each message is claimed just before it is sent, not read beforehand: a
  // message another process (`stockwatch ingest` beside the daemon) holds
  // is left to it, and one this mailer holds is left alone by the others
  // until its outcome is recorded or its lease ends (this process died).
  // Due means due when the step began, so a message retried during the step
  // waits for the next one; past half a lease, the rest waits for the next
  // step too, so that every claim outlasts its send.
  const TimePoint began = clock_.now();
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int n = 0; n < limit; ++n) {
    if (stop && stop->load()) break;
    if (clock_.now() - began >= lease_ / 2) break;
    auto due = storage_.claim_due(began, 1, claimant_, lease_);
    if (!due) return due.error();
    if (due->empty()) break;
    const OutboxMessage& m = due->front();
    // Rendered at each attempt from what was queued: the same bytes and
    // Message-ID every time. A message that cannot be rendered never will be.
    SendOutcome out;
    if (m.channel.empty() || m.channel == "email") {
      auto email = render_email(m);
      out = email ? transport_->send(m.sender, m.recipient, *email)
                  : SendOutcome{SendOutcome::Kind::kPermanent, 0, email.error().message()};
    } else if (Channel* channel = channels_ ? channels_->find(m.channel) : nullptr) {
      out = channel->deliver(m);
    } else {
      out = {SendOutcome::Kind::kPermanent, 0,
             "channel \"" + m.channel + "\" is not configured (for telegram: [telegram] "
             "token_file); configure it, reload, then send the message again"};
    }
    const std::string to = shown_recipient(m);
    const TimePoint now = clock_.now();
    step.last_result = out.detail;
    step.last_sent = out.sent();
    Unrecorded u{m.id, Unrecorded::What::kSent, now, {}};
    if (out.sent()) {
      ++step.sent;
      spdlog::info("{} {} ({}) to {}: sent", kind_of(m), m.id, m.event, to);
    } else {
      const int attempts = m.attempts + 1;
      const bool too_many = attempts >= policy_.max_attempts;
      const bool too_old = now - m.created_at >= policy_.max_age;
      if (out.kind == SendOutcome::Kind::kPermanent || too_many || too_old) {
        std::string why = out.detail;
        if (out.kind != SendOutcome::Kind::kPermanent) {
          why += too_many ? " (gave up after " + std::to_string(attempts) + " attempts)"
                          : " (gave up: older than smtp.max_age_s)";
        }
        u = {m.id, Unrecorded::What::kDead, now, why};
        ++step.dead;
        spdlog::error("{} {} ({}) to {}: not delivered, kept as dead: {}", kind_of(m), m.id,
                      m.event, to, why);
      } else {
        // The receiver's Retry-After, when it gave one (at least a second,
        // so that "Retry-After: 0" cannot make a busy loop); else the backoff.
        const Duration wait =
            out.retry_after
                ? std::max<Duration>(std::chrono::duration_cast<Duration>(*out.retry_after),
                                     std::chrono::seconds(1))
                : policy_.delay(m.attempts, unit(rng_));
        u = {m.id, Unrecorded::What::kRetry, now + wait, out.detail};
        ++step.retried;
        spdlog::warn("{} {} ({}) to {}: attempt {} failed, retrying in {:.1f} s: {}", kind_of(m),
                     m.id, m.event, to, attempts, static_cast<double>(wait.count()) / 1000.0,
                     out.detail);
      }
    }
    if (auto st = record(u); !st.ok()) {
      unrecorded_.push_back(std::move(u));
      return st.error();
    }
  }
  auto next = storage_.next_due_time();
  if (!next) return next.error();
  step.next_due = *next;
  return step;
}

}  // namespace stockwatch

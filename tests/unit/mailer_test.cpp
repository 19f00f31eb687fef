// The mailer: delivering queued outbox messages, retries with exponential
// backoff and jitter, and giving up. The transport here is a scripted fake;
// the real SMTP client against a real SMTP server is covered by
// transport_test and by the end-to-end tests.
#include "notify/mailer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <string>
#include <vector>

#include "scripted_transport.hpp"
#include "notify/alert.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

using test::ScriptedTransport;

constexpr auto kTransient = SendOutcome::Kind::kTransient;
constexpr auto kPermanent = SendOutcome::Kind::kPermanent;

class MailerTest : public ::testing::Test {
 protected:
  void SetUp() override { storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_); }

  // Queues one message due at `due` (now by default); returns its outbox id.
  std::int64_t queue(const std::string& recipient, std::optional<TimePoint> due = {}) {
    OutboxMessage m;
    m.message_id = "out_of_stock-report.1." + recipient;
    m.report_id = 1;
    m.event = "out_of_stock";
    m.sender = "stockwatch@example.com";
    m.recipient = recipient;
    m.subject = "Inventory Alert!";
    m.data = "To: " + recipient + "\r\n\r\nMedan is out of stock of Robusta Dairi\r\n";
    m.created_at = clock_.now();
    m.next_attempt_at = due.value_or(clock_.now());
    EXPECT_TRUE(storage_->commit_check(0, 0, {m}).ok());
    auto all = storage_->list_outbox(true, 1);
    return all.ok() && !all->empty() ? (*all)[0].id : 0;
  }

  // Queues one message of event data (as the checker does), due now.
  OutboxMessage queue_payload(const std::string& payload) {
    OutboxMessage m;
    m.message_id = "out_of_stock-report.1.0123456789abcdef@example.com";
    m.report_id = 1;
    m.event = "out_of_stock";
    m.sender = "stockwatch@example.com";
    m.recipient = "owner@example.com";
    m.payload = payload;
    m.created_at = m.next_attempt_at = clock_.now();
    EXPECT_TRUE(storage_->commit_check(0, 0, {m}).ok());
    return m;
  }

  OutboxMessage get(std::int64_t id) {
    auto all = storage_->list_outbox(true, 1000);
    EXPECT_TRUE(all.ok());
    for (const auto& m : *all) {
      if (m.id == id) return m;
    }
    ADD_FAILURE() << "no outbox message " << id;
    return {};
  }

  MailerStep step(Mailer& mailer, int limit = 100) {
    auto r = mailer.process_due(limit);
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r.ok() ? *r : MailerStep{};
  }

  TempDir dir_{"mailer"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  ScriptedTransport transport_;
  RetryPolicy policy_;  // 5 s initial, 10 min max, 60 attempts, 48 h, 20 % jitter
};

// --- RetryPolicy -------------------------------------------------------------------

TEST(RetryPolicy, DelayDoublesFromInitialUpToMax) {
  RetryPolicy p;
  p.initial = 5s;
  p.max = 10min;
  p.jitter = 0.2;
  // unit_random 0.5 = no jitter.
  EXPECT_EQ(p.delay(0, 0.5), Duration(5s));
  EXPECT_EQ(p.delay(1, 0.5), Duration(10s));
  EXPECT_EQ(p.delay(2, 0.5), Duration(20s));
  EXPECT_EQ(p.delay(6, 0.5), Duration(320s));
  EXPECT_EQ(p.delay(7, 0.5), Duration(10min));  // 640 s, capped
  EXPECT_EQ(p.delay(40, 0.5), Duration(10min));
  EXPECT_EQ(p.delay(1000000, 0.5), Duration(10min));  // no overflow
  // Jitter scales by [1 - j, 1 + j].
  EXPECT_EQ(p.delay(0, 0.0), Duration(4s));
  EXPECT_EQ(p.delay(0, 1.0), Duration(6s));
  EXPECT_EQ(p.delay(3, 0.0), Duration(32s));
  EXPECT_EQ(p.delay(3, 1.0), Duration(48s));
  EXPECT_EQ(p.delay(20, 0.0), Duration(480s));
  EXPECT_EQ(p.delay(20, 1.0), Duration(720s));
  for (double u : {0.0, 0.1, 0.37, 0.5, 0.9, 0.999}) {
    const auto d = p.delay(2, u);
    EXPECT_GE(d, Duration(16s));
    EXPECT_LE(d, Duration(24s));
  }
  // Never zero.
  RetryPolicy zero;
  zero.initial = Duration(0);
  EXPECT_EQ(zero.delay(0, 0.5), Duration(1));
}

TEST(RetryPolicy, FromTheSmtpConfig) {
  SmtpConfig smtp;
  smtp.retry_initial_s = 7;
  smtp.retry_max_s = 300;
  smtp.max_attempts = 4;
  smtp.max_age_s = 3600;
  const RetryPolicy p = RetryPolicy::from(smtp);
  EXPECT_EQ(p.initial, Duration(7s));
  EXPECT_EQ(p.max, Duration(300s));
  EXPECT_EQ(p.max_attempts, 4);
  EXPECT_EQ(p.max_age, Duration(1h));
  EXPECT_DOUBLE_EQ(p.jitter, 0.2);

  const RetryPolicy defaults = RetryPolicy::from(SmtpConfig{});
  EXPECT_EQ(defaults.initial, Duration(5s));
  EXPECT_EQ(defaults.max, Duration(10min));
  EXPECT_EQ(defaults.max_attempts, 200);
  EXPECT_EQ(defaults.max_age, Duration(24h));
}

// --- Mailer ------------------------------------------------------------------------

TEST_F(MailerTest, AMessageOfEventDataIsRenderedTheSameOnEveryAttempt) {
  Alert alert;
  alert.event = EventKind::kOutOfStock;
  alert.subject_prefix = "Inventory Alert!";
  alert.report_id = 1;
  alert.report_path = "medan.csv";
  alert.items = {{"Medan", "Robusta Dairi", 3, 0}};
  alert.total = 1;
  alert.stores = 1;
  const OutboxMessage m = queue_payload(encode_alert(alert));

  transport_.script(kTransient, 421, "421 try later");
  transport_.script(kTransient, 451, "451 busy");
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  for (int i = 0; i < 3; ++i) {
    (void)step(mailer);
    clock_.advance(1h);
  }
  ASSERT_EQ(transport_.calls.size(), 3u);
  const std::string& first = transport_.calls[0].data;
  EXPECT_NE(first.find("Message-ID: <" + m.message_id + ">\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("Subject: Inventory Alert! Medan: Robusta Dairi is out of stock\r\n"),
            std::string::npos)
      << first;
  for (const auto& call : transport_.calls) {
    EXPECT_EQ(call.data, first);
    EXPECT_EQ(call.from, "stockwatch@example.com");
    EXPECT_EQ(call.to, "owner@example.com");
  }
}

TEST_F(MailerTest, AMessageThatCannotBeRenderedIsDeadAtOnce) {
  (void)queue_payload("{\"v\":99}");
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.dead, 1);
  EXPECT_TRUE(transport_.calls.empty());
  auto all = storage_->list_outbox(true, 10);
  ASSERT_TRUE(all.ok() && all->size() == 1u);
  EXPECT_EQ((*all)[0].state, OutboxState::kDead);
  EXPECT_NE((*all)[0].last_error.find("unknown version"), std::string::npos) << (*all)[0].last_error;
}

TEST_F(MailerTest, ASentMessageIsMarkedSent) {
  const auto id = queue("owner@example.com");
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.sent, 1);
  EXPECT_EQ(s.retried, 0);
  EXPECT_EQ(s.dead, 0);
  EXPECT_EQ(s.last_result, "250 OK queued");
  EXPECT_FALSE(s.next_due.has_value());

  ASSERT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(transport_.calls[0].from, "stockwatch@example.com");
  EXPECT_EQ(transport_.calls[0].to, "owner@example.com");
  EXPECT_NE(transport_.calls[0].data.find("Medan is out of stock of Robusta Dairi"),
            std::string::npos);

  const OutboxMessage m = get(id);
  EXPECT_EQ(m.state, OutboxState::kSent);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.sent_at, clock_.now());
  EXPECT_EQ(m.last_error, "");

  // Nothing more to do.
  const MailerStep again = step(mailer);
  EXPECT_EQ(again.sent, 0);
  EXPECT_EQ(transport_.calls.size(), 1u);
}

TEST_F(MailerTest, AClaimOfAMailerThatDiedEndsWithTheConfiguredLease) {
  const auto id = queue("owner@example.com");
  // Another mailer claimed the message, then died before it recorded an
  // outcome (a node killed mid-send): its claim holds for its lease.
  auto held = storage_->claim_due(clock_.now(), 1, "node-a pid 7", 30s);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->size(), 1u);

  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  mailer.set_claim_lease(30s);
  MailerStep s = step(mailer);
  EXPECT_EQ(s.sent, 0);
  EXPECT_TRUE(transport_.calls.empty());
  ASSERT_TRUE(s.next_due.has_value());
  EXPECT_EQ(*s.next_due, clock_.now() + 30s);  // the dead mailer's lease ends then

  clock_.advance(29s);
  EXPECT_EQ(step(mailer).sent, 0);
  clock_.advance(1s);
  s = step(mailer);
  EXPECT_EQ(s.sent, 1);
  EXPECT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(get(id).state, OutboxState::kSent);
  // This mailer's own claims use its lease too: claimed and sent once.
  EXPECT_EQ(step(mailer).sent, 0);
  EXPECT_EQ(transport_.calls.size(), 1u);
}

TEST_F(MailerTest, MessagesNotYetDueWait) {
  const TimePoint later = clock_.now() + 30s;
  const auto id = queue("owner@example.com", later);
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  MailerStep s = step(mailer);
  EXPECT_EQ(s.sent, 0);
  EXPECT_TRUE(transport_.calls.empty());
  ASSERT_TRUE(s.next_due.has_value());
  EXPECT_EQ(*s.next_due, later);

  clock_.advance(30s);
  s = step(mailer);
  EXPECT_EQ(s.sent, 1);
  EXPECT_EQ(get(id).state, OutboxState::kSent);
}

TEST_F(MailerTest, ATransientFailureIsRetriedWithBackoff) {
  const auto id = queue("owner@example.com");
  const TimePoint created = clock_.now();
  for (int i = 0; i < 9; ++i) transport_.script(kTransient, 421, "421 4.7.0 try again later");
  Mailer mailer(*storage_, transport_, clock_, policy_, 42);

  for (int n = 0; n < 9; ++n) {
    const TimePoint now = clock_.now();
    const MailerStep s = step(mailer);
    ASSERT_EQ(s.retried, 1) << "attempt " << n + 1;
    EXPECT_EQ(s.sent, 0);
    EXPECT_EQ(s.dead, 0);
    EXPECT_EQ(s.last_result, "421 4.7.0 try again later");
    const OutboxMessage m = get(id);
    EXPECT_EQ(m.state, OutboxState::kQueued);
    EXPECT_EQ(m.attempts, n + 1);
    EXPECT_EQ(m.last_error, "421 4.7.0 try again later");
    EXPECT_EQ(m.created_at, created);
    // initial * 2^n, capped at max, then +-20 %.
    const auto base = std::min<Duration>(Duration(5s) * (1LL << n), Duration(10min));
    const auto wait = m.next_attempt_at - now;
    EXPECT_GE(wait, base * 8 / 10) << "attempt " << n + 1;
    EXPECT_LE(wait, base * 12 / 10) << "attempt " << n + 1;
    ASSERT_TRUE(s.next_due.has_value());
    EXPECT_EQ(*s.next_due, m.next_attempt_at);

    // Not retried before its time.
    clock_.set(m.next_attempt_at - 1ms);
    const MailerStep early = step(mailer);
    EXPECT_EQ(early.retried + early.sent + early.dead, 0);
    clock_.set(m.next_attempt_at);
  }
  EXPECT_EQ(transport_.calls.size(), 9u);

  // The script is done: the next attempt goes through.
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.sent, 1);
  EXPECT_EQ(get(id).state, OutboxState::kSent);
  EXPECT_EQ(get(id).attempts, 10);
}

TEST_F(MailerTest, APermanentFailureIsDead) {
  const auto id = queue("nobody@example.com");
  transport_.script(kPermanent, 550, "550 5.1.1 no such user");
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.dead, 1);
  EXPECT_EQ(s.retried, 0);
  EXPECT_FALSE(s.next_due.has_value());
  const OutboxMessage m = get(id);
  EXPECT_EQ(m.state, OutboxState::kDead);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.last_error, "550 5.1.1 no such user");

  // Dead messages are not tried again...
  clock_.advance(1h);
  EXPECT_EQ(step(mailer).sent, 0);
  EXPECT_EQ(transport_.calls.size(), 1u);
  // ...until requeued.
  ASSERT_TRUE(storage_->requeue(id, clock_.now()).ok());
  EXPECT_EQ(step(mailer).sent, 1);
  EXPECT_EQ(get(id).state, OutboxState::kSent);
}

TEST_F(MailerTest, TooManyAttemptsIsDead) {
  policy_.max_attempts = 3;
  const auto id = queue("owner@example.com");
  for (int i = 0; i < 5; ++i) transport_.script(kTransient, 0, "connection refused");
  Mailer mailer(*storage_, transport_, clock_, policy_, 7);

  EXPECT_EQ(step(mailer).retried, 1);
  clock_.advance(1h);
  EXPECT_EQ(step(mailer).retried, 1);
  clock_.advance(1h);
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.dead, 1);
  EXPECT_EQ(s.retried, 0);
  const OutboxMessage m = get(id);
  EXPECT_EQ(m.state, OutboxState::kDead);
  EXPECT_EQ(m.attempts, 3);
  EXPECT_NE(m.last_error.find("connection refused"), std::string::npos) << m.last_error;
  EXPECT_NE(m.last_error.find("gave up after 3 attempts"), std::string::npos) << m.last_error;
  EXPECT_EQ(transport_.calls.size(), 3u);
}

TEST_F(MailerTest, TooOldIsDead) {
  policy_.max_age = 1h;
  const auto id = queue("owner@example.com");
  transport_.script(kTransient, 421, "421 busy");
  transport_.script(kTransient, 421, "421 still busy");
  Mailer mailer(*storage_, transport_, clock_, policy_, 7);

  EXPECT_EQ(step(mailer).retried, 1);
  clock_.advance(1h);  // now exactly max_age after it was queued
  const MailerStep s = step(mailer);
  EXPECT_EQ(s.dead, 1);
  const OutboxMessage m = get(id);
  EXPECT_EQ(m.state, OutboxState::kDead);
  EXPECT_EQ(m.attempts, 2);
  EXPECT_NE(m.last_error.find("421 still busy"), std::string::npos) << m.last_error;
  EXPECT_NE(m.last_error.find("older than smtp.max_age_s"), std::string::npos) << m.last_error;

  // A requeued message starts a new age.
  ASSERT_TRUE(storage_->requeue(id, clock_.now()).ok());
  transport_.script(kTransient, 421, "421 busy again");
  EXPECT_EQ(step(mailer).retried, 1);
  EXPECT_EQ(get(id).state, OutboxState::kQueued);
}

TEST_F(MailerTest, EachMessageGetsItsOwnOutcomeAndNextDueIsTheEarliest) {
  const auto a = queue("a@example.com");
  const auto b = queue("b@example.com");
  const auto c = queue("c@example.com");
  const auto d = queue("d@example.com", clock_.now() + 2s);
  transport_.script(SendOutcome::Kind::kSent, 250, "250 a");
  transport_.script(kTransient, 451, "451 b later");
  transport_.script(kPermanent, 554, "554 c refused");
  Mailer mailer(*storage_, transport_, clock_, policy_, 3);

  const MailerStep s = step(mailer);
  EXPECT_EQ(s.sent, 1);
  EXPECT_EQ(s.retried, 1);
  EXPECT_EQ(s.dead, 1);
  EXPECT_EQ(s.last_result, "554 c refused");
  EXPECT_EQ(get(a).state, OutboxState::kSent);
  EXPECT_EQ(get(b).state, OutboxState::kQueued);
  EXPECT_EQ(get(c).state, OutboxState::kDead);
  EXPECT_EQ(get(d).state, OutboxState::kQueued);
  // b waits at least 4 s; d is due in 2 s.
  ASSERT_TRUE(s.next_due.has_value());
  EXPECT_EQ(*s.next_due, clock_.now() + 2s);

  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->sent, 1);
  EXPECT_EQ(counts->queued, 2);
  EXPECT_EQ(counts->dead, 1);
}

TEST_F(MailerTest, TheLimitCapsOneStep) {
  for (const char* r : {"a@example.com", "b@example.com", "c@example.com"}) queue(r);
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  const MailerStep s = step(mailer, 2);
  EXPECT_EQ(s.sent, 2);
  ASSERT_TRUE(s.next_due.has_value());
  EXPECT_EQ(*s.next_due, clock_.now());  // one still due now
  EXPECT_EQ(step(mailer, 2).sent, 1);
}

TEST_F(MailerTest, ANewTransportAndPolicyTakeEffect) {
  const auto id = queue("owner@example.com");
  transport_.script(kTransient, 421, "421 busy");
  Mailer mailer(*storage_, transport_, clock_, policy_, 1);
  EXPECT_EQ(step(mailer).retried, 1);

  ScriptedTransport other;
  other.script(kTransient, 421, "421 other busy");
  RetryPolicy strict = policy_;
  strict.max_attempts = 2;
  mailer.set_transport(other);
  mailer.set_policy(strict);
  clock_.advance(1h);
  EXPECT_EQ(step(mailer).dead, 1);
  EXPECT_EQ(other.calls.size(), 1u);
  EXPECT_EQ(transport_.calls.size(), 1u);
  EXPECT_EQ(get(id).state, OutboxState::kDead);
}

}  // namespace
}  // namespace stockwatch

// Missing reports and digests: the deadlines of within_days and
// day_of_month, the expect stage (once per missed deadline, across
// restarts, escalation to every-store subscriptions), the digest stage
// (daily, weekly, monthly in Asia/Jakarta and across daylight-saving time
// in Europe/Berlin; a clock that jumps forward sends one digest, one that
// jumps back sends none; quiet periods), and their emails in English and
// Indonesian. Real SQLite files; time from a ManualClock, never slept.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "notify/alert.hpp"
#include "notify/digest_mail.hpp"
#include "notify/report_missing.hpp"
#include "pipeline/digest_stage.hpp"
#include "pipeline/expect_stage.hpp"
#include "pipeline/pipeline.hpp"
#include "notify/telegram.hpp"
#include "notify/webhook.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

TimePoint utc(int y, unsigned m, unsigned d, int h = 0, int min = 0) {
  using namespace std::chrono;
  return TimePoint(sys_days(year(y) / month(m) / day(d))) + hours(h) + minutes(min);
}

TimeZone zone(std::string_view name) {
  auto z = TimeZone::load(name);
  EXPECT_TRUE(z.ok());
  return z.ok() ? *z : TimeZone();
}

ExpectRule within(int days, int escalate = 0) {
  ExpectRule r;
  r.within_days = days;
  r.escalate_after_days = escalate;
  return r;
}

ExpectRule by_day(int day, std::vector<std::string> stores = {}) {
  ExpectRule r;
  r.day_of_month = day;
  r.stores = std::move(stores);
  return r;
}

Subscription sub(std::vector<std::string> emails, std::vector<std::string> stores = {},
                 std::string digest = {}, const TimeZone& z = TimeZone()) {
  Subscription s;
  s.emails = std::move(emails);
  s.stores = std::move(stores);
  s.digest = digest;
  if (!digest.empty()) {
    auto d = parse_recurrence(digest, z);
    EXPECT_TRUE(d.ok());
    if (d.ok()) s.digest_schedule = *d;
  }
  return s;
}

// --- Deadlines ------------------------------------------------------------------------

TEST(Deadline, WithinDaysCountsFromTheLastReportAndRepeats) {
  const ExpectRule r = within(35);
  const TimeZone z = zone("Asia/Jakarta");
  const TimePoint last = utc(2026, 11, 1, 3);
  EXPECT_FALSE(missed_deadline(r, z, last, last, utc(2026, 12, 6, 2, 59)));
  EXPECT_EQ(missed_deadline(r, z, last, last, utc(2026, 12, 6, 3)), utc(2026, 12, 6, 3));
  EXPECT_EQ(missed_deadline(r, z, last, last, utc(2027, 1, 9)), utc(2026, 12, 6, 3));
  EXPECT_EQ(missed_deadline(r, z, last, last, utc(2027, 1, 10, 3)), utc(2027, 1, 10, 3));
  EXPECT_EQ(next_deadline(r, z, last, last, utc(2026, 11, 20)), utc(2026, 12, 6, 3));
  EXPECT_EQ(next_deadline(r, z, last, last, utc(2026, 12, 6, 3)), utc(2027, 1, 10, 3));
  // A store never seen counts from when the rule was first applied.
  EXPECT_EQ(missed_deadline(r, z, std::nullopt, utc(2026, 11, 10), utc(2026, 12, 20)),
            utc(2026, 12, 15));
}

TEST(Deadline, DayOfMonthIsTheEndOfThatDayInTheZone) {
  const ExpectRule r = by_day(5);
  const TimeZone z = zone("Asia/Jakarta");
  // The end of 5 December in Jakarta is 17:00 UTC on the 5th.
  const TimePoint dec = utc(2026, 12, 5, 17);
  const TimePoint nov = utc(2026, 11, 5, 17);
  // November's report arrived (after the October deadline): not missing.
  EXPECT_FALSE(missed_deadline(r, z, utc(2026, 11, 20), utc(2026, 1, 1), dec));
  EXPECT_FALSE(missed_deadline(r, z, utc(2026, 12, 5, 16, 59), utc(2026, 1, 1), dec));
  // The last one is October's (received on 30 October): November's is missing.
  EXPECT_EQ(missed_deadline(r, z, utc(2026, 10, 30), utc(2026, 1, 1), dec), dec);
  EXPECT_FALSE(missed_deadline(r, z, utc(2026, 10, 30), utc(2026, 1, 1), dec - 1s));
  // A report received on 4 November, before October's deadline, counts for October.
  EXPECT_EQ(missed_deadline(r, z, utc(2026, 11, 4), utc(2026, 1, 1), dec), dec);
  EXPECT_FALSE(missed_deadline(r, z, utc(2026, 11, 5, 17, 1), utc(2026, 1, 1), dec));
  EXPECT_EQ(next_deadline(r, z, utc(2026, 11, 20), utc(2026, 1, 1), nov), dec);
  // A store never seen, named after the December deadline: January's is the first.
  EXPECT_FALSE(missed_deadline(r, z, std::nullopt, utc(2026, 12, 10), utc(2026, 12, 20)));
  EXPECT_EQ(missed_deadline(r, z, std::nullopt, utc(2026, 12, 10), utc(2027, 1, 6)),
            utc(2027, 1, 5, 17));
}

// --- The stages --------------------------------------------------------------------------

class StagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set(utc(2026, 11, 1, 3));
    storage_ = open();
    test::load_rows(*storage_, clock_,
                    {{"Medan", "Arabika Gayo", 24}, {"Medan", "Robusta Dairi", 0},
                     {"Padang", "Solok", 3}},
                    "a.csv", "sha-a");
  }

  std::unique_ptr<Storage> open() { return Storage::open(dir_ / "t.db", StorageOptions{}, clock_); }

  ExpectStageOptions expect_options(std::vector<ExpectRule> rules) const {
    ExpectStageOptions o;
    o.rules = std::move(rules);
    o.zone = zone("Asia/Jakarta");
    o.sender = "stockwatch@example.com";
    o.subscriptions = {sub({"owner@example.com"}), sub({"medan@example.com"}, {"Medan"})};
    return o;
  }

  std::vector<OutboxMessage> queued() {
    auto m = storage_->list_outbox(true, 1000);
    EXPECT_TRUE(m.ok());
    return m.ok() ? *m : std::vector<OutboxMessage>{};
  }

  std::vector<std::string> to_of(const std::vector<OutboxMessage>& ms, std::string_view event) {
    std::vector<std::string> out;
    for (const auto& m : ms) {
      if (m.event != event) continue;
      auto mail = decode_report_missing(m.payload);
      out.push_back(m.recipient + " " + (mail.ok() ? mail->store : "?") +
                    (mail.ok() && mail->escalated ? " escalated" : ""));
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir dir_{"schedules"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(StagesTest, AMissedDeadlineAlertsOnceAcrossRestartsThenEscalates) {
  {
    ExpectStage stage(*storage_, clock_, expect_options({within(35, 7)}));
    auto step = stage.process_due();
    ASSERT_TRUE(step.ok()) << step.error().message();
    EXPECT_EQ(step->queued, 0u);
    EXPECT_EQ(stage.next_due(), clock_.now() + 1h);  // the cap
    clock_.set(utc(2026, 12, 6, 2, 59));
    ASSERT_TRUE(stage.process_due().ok());
    EXPECT_TRUE(queued().empty());
    clock_.set(utc(2026, 12, 6, 3));
    step = stage.process_due();
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->queued, 3u);
    EXPECT_EQ(to_of(queued(), "report_missing"),
              (std::vector<std::string>{"medan@example.com Medan", "owner@example.com Medan",
                                        "owner@example.com Padang"}));
    step = stage.process_due();
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(step->queued, 0u);
  }
  // A restart: a new connection and stage; nothing again.
  storage_ = open();
  ExpectStage stage(*storage_, clock_, expect_options({within(35, 7)}));
  clock_.set(utc(2026, 12, 7));
  test::load_rows(*storage_, clock_, {{"Padang", "Solok", 3}}, "b.csv", "sha-b");  // same count
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 0u);
  EXPECT_EQ(queued().size(), 3u);
  // Seven days after the deadline: Medan (still silent) goes to the owner,
  // whose subscription covers every store; Padang reported.
  clock_.set(utc(2026, 12, 13, 2, 59));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(queued().size(), 3u);
  clock_.set(utc(2026, 12, 13, 3));
  step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->escalated, std::vector<std::string>{"Medan"});
  EXPECT_EQ(to_of(queued(), "report_missing"),
            (std::vector<std::string>{"medan@example.com Medan", "owner@example.com Medan",
                                      "owner@example.com Medan escalated",
                                      "owner@example.com Padang"}));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(queued().size(), 4u);
  // The next deadline of Medan, 35 days on: alerted once more.
  clock_.set(utc(2027, 1, 10, 3));
  step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->missing, std::vector<std::string>{"Medan"});
}

TEST_F(StagesTest, DayOfMonthNamedStoreAndEmails) {
  ExpectStage stage(*storage_, clock_, expect_options({by_day(5, {"Medan", "Bandung"})}));
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2026, 12, 5, 17));  // end of 5 December in Jakarta
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok());
  // Medan's last report, received on 1 November (before October's
  // deadline), counts for October: November's is missing. Bandung was
  // named on 1 November and has never reported: missing too.
  EXPECT_EQ(step->missing, (std::vector<std::string>{"Medan", "Bandung"}));
  EXPECT_EQ(to_of(queued(), "report_missing"),
            (std::vector<std::string>{"medan@example.com Medan", "owner@example.com Bandung",
                                      "owner@example.com Medan"}));
  std::vector<OutboxMessage> all;
  for (const auto& m : queued()) {
    if (m.payload.find("Bandung") != std::string::npos) all.push_back(m);
  }
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].recipient, "owner@example.com");
  auto mail = decode_report_missing(all[0].payload);
  ASSERT_TRUE(mail.ok());
  const auto en = render_report_missing(*mail, catalog_for("en"));
  EXPECT_EQ(en.subject, "Report missing: Bandung");
  EXPECT_NE(en.body.find("No stock report from Bandung arrived by its deadline, 5 December 2026 "
                         "(Asia/Jakarta; each month's report is due by day 5 of the next month)."),
            std::string::npos)
      << en.body;
  EXPECT_NE(en.body.find("No report from Bandung has arrived yet."), std::string::npos);
  const auto id = render_report_missing(*mail, catalog_for("id"));
  EXPECT_EQ(id.subject, "Laporan belum masuk: Bandung");
  EXPECT_NE(id.body.find("belum masuk sampai batas waktunya, 5 Desember 2026 (Asia/Jakarta; "
                         "laporan tiap bulan paling lambat tanggal 5 bulan berikutnya)."),
            std::string::npos)
      << id.body;
  // The whole email, as the mailer sends it.
  auto email = render_email(all[0]);
  ASSERT_TRUE(email.ok()) << email.error().message();
  EXPECT_NE(email->find("Subject: Report missing: Bandung"), std::string::npos);
  EXPECT_EQ(outbox_subject(all[0]), "Report missing: Bandung");
}

TEST_F(StagesTest, EscalationAndLastReportRendered) {
  ReportMissingMail m;
  m.store = "Medan";
  m.due = utc(2026, 12, 6, 3);
  m.due_offset = 7h;
  m.last_report = utc(2026, 11, 1, 3);
  m.last_offset = 7h;
  m.zone = "Asia/Jakarta";
  m.within_days = 35;
  m.escalated = true;
  m.days_late = 7;
  auto back = decode_report_missing(encode_report_missing(m));
  ASSERT_TRUE(back.ok());
  const auto en = render_report_missing(*back, catalog_for("en"));
  EXPECT_EQ(en.subject, "Still no report: Medan, due 6 December 2026, 10:00");
  EXPECT_NE(en.body.find("7 days after the deadline"), std::string::npos) << en.body;
  EXPECT_NE(en.body.find("The last report from Medan arrived on 1 November 2026, 10:00."),
            std::string::npos) << en.body;
  const auto id = render_report_missing(*back, catalog_for("id"));
  EXPECT_EQ(id.subject, "Masih belum ada laporan: Medan, batas waktu 6 Desember 2026 pukul 10:00");
  EXPECT_NE(id.body.find("Laporan terakhir dari Medan masuk pada 1 November 2026 pukul 10:00."),
            std::string::npos) << id.body;
  EXPECT_FALSE(decode_report_missing("{\"v\":2}").ok());
  EXPECT_FALSE(decode_report_missing("nonsense").ok());
}

class DigestTest : public StagesTest {
 protected:
  DigestStageOptions options(std::string digest, std::string_view zone_name = "Asia/Jakarta",
                             bool quiet = true, std::vector<std::string> stores = {}) {
    DigestStageOptions o;
    o.expect = expect_options({});
    o.expect.zone = zone(zone_name);
    o.sender = "stockwatch@example.com";
    Subscription s = sub({"owner@example.com"}, std::move(stores), std::move(digest), o.expect.zone);
    s.digest_quiet = quiet;
    o.subscriptions = {s, sub({"nodigest@example.com"})};
    return o;
  }

  std::vector<DigestMail> digests() {
    std::vector<DigestMail> out;
    for (const auto& m : queued()) {
      if (m.event != "digest") continue;
      EXPECT_EQ(m.recipient, "owner@example.com");
      auto d = decode_digest(m.payload);
      EXPECT_TRUE(d.ok());
      if (d.ok()) out.push_back(*d);
    }
    return out;
  }
};

TEST_F(DigestTest, DailyInJakartaOncePerDayAndOneDigestAfterAJumpForwardNoneBack) {
  clock_.set(utc(2026, 12, 1, 1));  // 08:00 WIB
  DigestStage stage(*storage_, clock_, options("daily 07:00"));
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 0u);  // the first step only marks
  EXPECT_EQ(stage.next_due(), utc(2026, 12, 2, 0));
  clock_.set(utc(2026, 12, 1, 23, 59));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_TRUE(digests().empty());
  clock_.set(utc(2026, 12, 2, 0));
  step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 1u);
  ASSERT_TRUE(stage.process_due().ok());
  auto all = digests();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].every, "daily");
  EXPECT_EQ(all[0].out_of_stock_total, 1);
  EXPECT_EQ(all[0].from.at, utc(2026, 12, 1, 0));
  EXPECT_EQ(all[0].to.at, utc(2026, 12, 2, 0));
  // The clock jumps eight days forward: one digest, covering all of them.
  clock_.set(utc(2026, 12, 10, 3));
  step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 1u);
  all = digests();
  ASSERT_EQ(all.size(), 2u);
  // list_outbox is newest first.
  EXPECT_EQ(all[0].from.at, utc(2026, 12, 2, 0));
  EXPECT_EQ(all[0].to.at, utc(2026, 12, 10, 0));
  // Back five days, and forward again to just before the next time: nothing.
  clock_.set(utc(2026, 12, 5, 3));
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2026, 12, 10, 23, 59));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(digests().size(), 2u);
  // A restart at the next time: sent once.
  storage_ = open();
  DigestStage again(*storage_, clock_, options("daily 07:00"));
  clock_.set(utc(2026, 12, 11, 0));
  ASSERT_TRUE(again.process_due().ok());
  ASSERT_TRUE(again.process_due().ok());
  EXPECT_EQ(digests().size(), 3u);
}

TEST_F(DigestTest, WeeklyAcrossDaylightSavingTimeInBerlin) {
  clock_.set(utc(2025, 3, 20));
  DigestStage stage(*storage_, clock_, options("weekly mon 07:00", "Europe/Berlin"));
  ASSERT_TRUE(stage.process_due().ok());
  // Monday 24 March, 07:00 CET = 06:00 UTC.
  EXPECT_EQ(stage.next_due(), utc(2025, 3, 24, 6));
  clock_.set(utc(2025, 3, 24, 6));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(digests().size(), 1u);
  // Clocks go forward on 30 March: Monday 31 March, 07:00 CEST = 05:00 UTC.
  EXPECT_EQ(stage.next_due(), utc(2025, 3, 31, 5));
  clock_.set(utc(2025, 3, 31, 4, 59));
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(digests().size(), 1u);
  clock_.set(utc(2025, 3, 31, 5));
  ASSERT_TRUE(stage.process_due().ok());
  ASSERT_EQ(digests().size(), 2u);
  EXPECT_EQ(digests()[0].every, "weekly");
  EXPECT_EQ(digests()[0].from.at, utc(2025, 3, 24, 6));
  EXPECT_EQ(digests()[0].to.offset, 2h);
}

TEST_F(DigestTest, MonthlyWithReceivedMissingAndLargestChanges) {
  clock_.set(utc(2026, 12, 15));
  DigestStageOptions o = options("monthly 1 07:00");
  o.expect = expect_options({by_day(5, {"Bandung"})});
  o.expect.subscriptions = o.subscriptions;
  DigestStage stage(*storage_, clock_, o);
  ASSERT_TRUE(stage.process_due().ok());
  // In the period (December): a Medan report that changes three counts.
  clock_.set(utc(2026, 12, 20, 2));
  test::load_rows(*storage_, clock_,
                  {{"Medan", "Arabika Gayo", 3}, {"Medan", "Robusta Dairi", 40}, {"Medan", "Toraja", 5}},
                  "c.csv", "sha-c");
  clock_.set(utc(2027, 1, 1, 0));
  ASSERT_TRUE(stage.process_due().ok());
  auto all = digests();
  ASSERT_EQ(all.size(), 1u);
  const DigestMail& d = all[0];
  EXPECT_EQ(d.every, "monthly");
  EXPECT_EQ(d.out_of_stock_total, 0);
  ASSERT_EQ(d.received.size(), 1u);
  EXPECT_EQ(d.received[0].store, "Medan");
  ASSERT_EQ(d.changes.size(), 3u);
  EXPECT_EQ(d.changes[0].item, "Robusta Dairi");  // 0 -> 40
  EXPECT_EQ(d.changes[1].item, "Arabika Gayo");   // 24 -> 3
  EXPECT_EQ(d.changes[2].item, "Toraja");         // new, 5
  // Bandung, first looked for by this digest, has no deadline behind it yet.
  EXPECT_TRUE(d.missing.empty());
  const auto en = render_digest(d, catalog_for("en"));
  EXPECT_EQ(en.subject, "Stock digest, 1 January 2027: all in stock");
  EXPECT_NE(en.body.find("Your monthly stock digest, from 1 December 2026, 07:00 to 1 January "
                         "2027, 07:00 (Asia/Jakarta)."),
            std::string::npos) << en.body;
  EXPECT_NE(en.body.find("All in stock: no item is out of stock or below its minimum."),
            std::string::npos) << en.body;
  EXPECT_NE(en.body.find("Reports received (1):\n  Medan: 20 December 2026, 09:00\n"),
            std::string::npos) << en.body;
  EXPECT_NE(en.body.find("Largest changes:\n  Medan: Robusta Dairi, 0 to 40\n  Medan: Arabika "
                         "Gayo, 24 to 3\n  Medan: Toraja, new, 5"),
            std::string::npos) << en.body;
  const auto id = render_digest(d, catalog_for("id"));
  EXPECT_EQ(id.subject, "Ringkasan stok 1 Januari 2027: semua stok tersedia");
  EXPECT_NE(id.body.find("Perubahan terbesar:\n  Medan: Robusta Dairi, dari 0 menjadi 40"),
            std::string::npos) << id.body;
  // February: Bandung missed 5 January, and nothing arrived.
  clock_.set(utc(2027, 2, 1, 0));
  ASSERT_TRUE(stage.process_due().ok());
  all = digests();
  ASSERT_EQ(all.size(), 2u);
  ASSERT_EQ(all[0].missing.size(), 1u);
  EXPECT_EQ(all[0].missing[0].store, "Bandung");
  const auto feb = render_digest(all[0], catalog_for("en"));
  EXPECT_EQ(feb.subject, "Stock digest, 1 February 2027: 1 report missing");
  EXPECT_NE(feb.body.find("Reports missing (1):\n  Bandung: due 5 January 2027\n"),
            std::string::npos) << feb.body;
  EXPECT_NE(feb.body.find("No report arrived in this period."), std::string::npos) << feb.body;
  EXPECT_EQ(render_digest(all[0], catalog_for("id")).subject,
            "Ringkasan stok 1 Februari 2027: 1 laporan belum masuk");
}

TEST_F(DigestTest, AQuietPeriodSaysAllInStockOrNothing) {
  // Medan's item at 0 is refilled, so nothing is out of stock.
  test::load_rows(*storage_, clock_, {{"Medan", "Robusta Dairi", 9}}, "d.csv", "sha-d");
  clock_.set(utc(2026, 12, 1, 1));
  DigestStage talk(*storage_, clock_, options("daily 07:00"));
  ASSERT_TRUE(talk.process_due().ok());
  clock_.set(utc(2026, 12, 2, 0));
  auto step = talk.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->quiet, 1u);
  auto all = digests();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0].quiet());
  const auto en = render_digest(all[0], catalog_for("en"));
  EXPECT_EQ(en.subject, "Stock digest, 2 December 2026: all in stock");
  EXPECT_NE(en.body.find("All in stock. No report arrived, none is missing and no count changed."),
            std::string::npos) << en.body;
  const auto id = render_digest(all[0], catalog_for("id"));
  EXPECT_EQ(id.subject, "Ringkasan stok 2 Desember 2026: semua stok tersedia");

  // digest_quiet = false: the next quiet day sends nothing, and is marked.
  DigestStage hush(*storage_, clock_, options("daily 07:00", "Asia/Jakarta", false));
  ASSERT_TRUE(hush.process_due().ok());  // a new subscription mark: first step
  clock_.set(utc(2026, 12, 3, 0));
  step = hush.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->digests, 1u);
  EXPECT_EQ(step->queued, 0u);
  EXPECT_EQ(digests().size(), 1u);
  ASSERT_TRUE(hush.process_due().ok());
  // With something to say, it does send.
  test::load_rows(*storage_, clock_, {{"Medan", "Robusta Dairi", 0}}, "e.csv", "sha-e");
  clock_.set(utc(2026, 12, 4, 0));
  step = hush.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 1u);
  EXPECT_EQ(render_digest(digests()[0], catalog_for("en")).subject,
            "Stock digest, 4 December 2026: 1 item out of stock");
}

// --- Every channel --------------------------------------------------------------------------

// A webhook and a Telegram chat of their own, in Indonesian, for Medan; a
// webhook for every store in English.
std::vector<Subscription> chat_subscriptions() {
  Subscription medan = sub({}, {"Medan"});
  medan.webhook = "https://hooks.example.com/medan";
  medan.telegram = "-100200300";
  medan.language = "id";
  Subscription all = sub({"owner@example.com"});
  all.webhook = "https://hooks.example.com/all";
  return {medan, all};
}

boost::json::object json_of(const std::string& text) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return v.is_object() ? v.as_object() : boost::json::object();
}

TEST_F(StagesTest, AMissingReportReachesWebhooksAndChatsInTheirLanguage) {
  ExpectStageOptions o = expect_options({within(35, 7)});
  o.subscriptions = chat_subscriptions();
  ExpectStage stage(*storage_, clock_, o);
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2026, 12, 6, 3));
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok()) << step.error().message();
  // Medan: its webhook and chat, the all-store webhook and email; Padang:
  // the all-store ones only.
  std::vector<std::string> got;
  for (const auto& m : queued()) got.push_back(m.channel + " " + m.recipient + " " + m.language);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{
                     "email owner@example.com en", "email owner@example.com en",
                     "telegram -100200300 id", "webhook https://hooks.example.com/all en",
                     "webhook https://hooks.example.com/all en",
                     "webhook https://hooks.example.com/medan id"}));
  for (const auto& m : queued()) {
    if (m.channel == "telegram") {
      auto body = telegram_body(m);
      ASSERT_TRUE(body.ok()) << body.error().message();
      const auto o2 = json_of(*body);
      const std::string text(o2.at("text").as_string());
      EXPECT_EQ(text.substr(0, text.find('\n')), "Laporan belum masuk: Medan") << text;
      EXPECT_NE(text.find("Asia/Jakarta"), std::string::npos) << text;
    }
    if (m.channel == "webhook" && m.recipient.ends_with("/medan")) {
      auto body = webhook_body(m);
      ASSERT_TRUE(body.ok()) << body.error().message();
      const auto w = json_of(*body);
      EXPECT_EQ(w.at("schema").as_string(), "stockwatch.alert");
      EXPECT_EQ(w.at("version").as_int64(), 1);
      EXPECT_EQ(w.at("event").as_string(), "report_missing");
      EXPECT_EQ(w.at("language").as_string(), "id");
      EXPECT_EQ(w.at("store").as_string(), "Medan");
      EXPECT_TRUE(w.at("items").as_array().empty());
      EXPECT_TRUE(w.at("report").is_null());
      const auto& missing = w.at("missing").as_object();
      EXPECT_EQ(missing.at("due").as_string(), "2026-12-06T03:00:00Z");
      EXPECT_EQ(missing.at("last_report").as_string(), "2026-11-01T03:00:00Z");
      EXPECT_EQ(missing.at("within_days").as_int64(), 35);
      EXPECT_EQ(missing.at("escalated").as_bool(), false);
      EXPECT_EQ(w.at("subject").as_string(), "Laporan belum masuk: Medan");
    }
  }
  // The escalation goes only to the subscription of every store.
  clock_.set(utc(2026, 12, 13, 3));
  step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 4u);  // Medan and Padang, each to the email and the webhook
  for (const auto& m : queued()) {
    auto mail = decode_report_missing(m.payload);
    ASSERT_TRUE(mail.ok());
    if (mail->escalated) EXPECT_TRUE(m.recipient == "owner@example.com" || m.recipient.ends_with("/all"));
  }
}

TEST_F(DigestTest, ADigestReachesTheSubscriptionsWebhookAndChat) {
  clock_.set(utc(2026, 12, 1, 1));
  DigestStageOptions o = options("daily 07:00");
  o.subscriptions[0].webhook = "https://hooks.example.com/owner";
  o.subscriptions[0].telegram = "4242";
  o.subscriptions[0].language = "id";
  DigestStage stage(*storage_, clock_, o);
  ASSERT_TRUE(stage.process_due().ok());
  clock_.set(utc(2026, 12, 2, 0));
  auto step = stage.process_due();
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->queued, 3u);
  std::vector<std::string> ids;
  for (const auto& m : queued()) {
    EXPECT_EQ(m.event, "digest");
    EXPECT_EQ(m.language, "id");
    ids.push_back(m.message_id);
    if (m.channel == "telegram") {
      auto text = chat_text(m, false);
      ASSERT_TRUE(text.ok()) << text.error().message();
      EXPECT_EQ(text->substr(0, text->find('\n')), "Ringkasan stok 2 Desember 2026: 1 barang habis")
          << *text;
      EXPECT_NE(text->find("Medan: Robusta Dairi"), std::string::npos) << *text;
    } else if (m.channel == "webhook") {
      auto body = webhook_body(m);
      ASSERT_TRUE(body.ok()) << body.error().message();
      const auto w = json_of(*body);
      EXPECT_EQ(w.at("event").as_string(), "digest");
      EXPECT_EQ(w.at("store").as_string(), "Medan");
      ASSERT_EQ(w.at("items").as_array().size(), 1u);
      const auto& item = w.at("items").as_array()[0].as_object();
      EXPECT_EQ(item.at("item").as_string(), "Robusta Dairi");
      EXPECT_EQ(item.at("count").as_int64(), 0);
      EXPECT_EQ(w.at("items_total").as_int64(), 1);
      const auto& d = w.at("digest").as_object();
      EXPECT_EQ(d.at("every").as_string(), "daily");
      EXPECT_EQ(d.at("from").as_string(), "2026-12-01T07:00:00+07:00");
      EXPECT_EQ(d.at("to").as_string(), "2026-12-02T07:00:00+07:00");
      EXPECT_EQ(d.at("timezone").as_string(), "Asia/Jakarta");
    } else {
      EXPECT_EQ(m.recipient, "owner@example.com");
    }
  }
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());  // one id per recipient
  // Again: nothing more.
  ASSERT_TRUE(stage.process_due().ok());
  EXPECT_EQ(queued().size(), 3u);
}

// What run_schedules tells: the events the metrics count.
class Counting final : public PipelineEvents {
 public:
  void report_done(const std::string&, Disposition) override {}
  void wake_mail() override { ++woken; }
  void mail_at(TimePoint) override {}
  void scheduled(EventKind event, std::int64_t found, std::int64_t messages) override {
    told.push_back(std::string(event_name(event)) + " " + std::to_string(found) + " " +
                   std::to_string(messages));
  }
  std::vector<std::string> told;
  int woken = 0;
};

TEST_F(DigestTest, MissingReportsAndDigestsAreCountedAsAlerts) {
  clock_.set(utc(2026, 12, 1, 1));
  ExpectStage expect(*storage_, clock_, expect_options({within(35)}));
  DigestStage digests(*storage_, clock_, options("daily 07:00"));
  Counting events;
  run_schedules(expect, digests, events);
  EXPECT_TRUE(events.told.empty());
  // 6 December, 07:00 in Jakarta: Medan and Padang are past 35 days, and
  // the daily digest is due.
  clock_.set(utc(2026, 12, 6, 3));
  run_schedules(expect, digests, events);
  EXPECT_EQ(events.told, (std::vector<std::string>{"report_missing 2 3", "digest 1 1"}));
  EXPECT_EQ(events.woken, 2);
  events.told.clear();
  run_schedules(expect, digests, events);
  EXPECT_TRUE(events.told.empty());
}

// --- Configuration -------------------------------------------------------------------------

TEST(SchedulesConfig, KeysAndTheirProblems) {
  const std::string base = "[alerts]\ntimezone = \"Asia/Jakarta\"\n"
                           "[[alerts.subscription]]\nemail = \"owner@example.com\"\n"
                           "digest = \"weekly mon 07:00\"\ndigest_quiet = false\n"
                           "[[alerts.expect]]\nwithin_days = 35\nescalate_after_days = 7\n"
                           "[[alerts.expect]]\nstores = [\"Medan\"]\nday_of_month = 5\n";
  auto c = parse_config(base, "t.toml", "/srv");
  ASSERT_TRUE(c.ok()) << c.problems[0].to_string();
  EXPECT_EQ(c.config.alerts.zone.name(), "Asia/Jakarta");
  ASSERT_TRUE(c.config.alerts.subscriptions[0].digest_schedule);
  EXPECT_EQ(c.config.alerts.subscriptions[0].digest_schedule->to_string(),
            "weekly mon 07:00 Asia/Jakarta");
  EXPECT_FALSE(c.config.alerts.subscriptions[0].digest_quiet);
  ASSERT_EQ(c.config.alerts.expect.size(), 2u);
  EXPECT_EQ(c.config.alerts.expect[0].within_days, 35);
  EXPECT_EQ(c.config.alerts.expect[0].escalate_after_days, 7);
  EXPECT_EQ(c.config.alerts.expect[1].day_of_month, 5);
  EXPECT_EQ(c.config.alerts.expect[1].stores, std::vector<std::string>{"Medan"});

  auto bad = parse_config("[alerts]\ntimezone = \"Asia/Atlantis\"\n"
                          "[[alerts.subscription]]\nemail = \"owner@example.com\"\n"
                          "digest = \"hourly\"\n"
                          "[[alerts.expect]]\nwithin_days = 35\nday_of_month = 5\n"
                          "[[alerts.expect]]\nday_of_month = 31\n",
                          "t.toml", "/srv");
  std::string all;
  for (const auto& p : bad.problems) all += p.to_string() + "\n";
  EXPECT_NE(all.find("alerts.timezone (line 2): \"Asia/Atlantis\" is not a time zone of this system"),
            std::string::npos) << all;
  EXPECT_NE(all.find("alerts.subscription[0].digest (line 5): \"hourly\" is not a schedule"),
            std::string::npos) << all;
  EXPECT_NE(all.find("alerts.expect[0] (line 6): give either within_days"), std::string::npos) << all;
  EXPECT_NE(all.find("alerts.expect[1].day_of_month (line 10): must be between 1 and 28, got 31"),
            std::string::npos) << all;
  auto ev = parse_config("[[alerts.subscription]]\nemail = \"o@example.com\"\n"
                         "events = [\"report_missing\", \"digest\"]\n",
                         "t.toml", "/srv");
  EXPECT_TRUE(ev.ok());
}

}  // namespace
}  // namespace stockwatch

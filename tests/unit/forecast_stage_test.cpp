// The forecast stage (pipeline/forecast_stage.hpp) on a real SQLite
// database, through the checker: running_out once per item and report, the
// message's text in English and Bahasa Indonesia, no alert about the past,
// and transfer suggestions in out-of-stock messages and in the digest.
#include "pipeline/forecast_stage.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "notify/alert.hpp"
#include "notify/digest_mail.hpp"
#include "pipeline/digest_stage.hpp"
#include "pipeline/checker.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::Row;
using test::TempDir;

constexpr std::int64_t kJan31 = 20484;  // 2026-01-31

class ForecastStage : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "forecast.db", StorageOptions{}, clock_);
    cfg_.from = "stockwatch@example.com";
    Subscription sub;
    sub.emails = {"owner@example.com"};
    cfg_.subscriptions = {sub};
  }

  std::int64_t load(const std::vector<Row>& rows, std::int64_t day) {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
    ReportRecord rec =
        test::sample_record(clock_, "stok-" + iso_day(day) + ".csv", "sha-" + std::to_string(day));
    rec.report_day = day;
    rec.date_source = "name";
    auto id = txn.commit(rec);
    EXPECT_TRUE(id.ok());
    return id.ok() ? *id : 0;
  }

  // Surabaya uses 20 in 28 days and reaches 0; Medan holds 1,900.
  void surabaya_runs_out_medan_has_plenty() {
    load({{"Medan", "Robusta", 2000}, {"Surabaya", "Robusta", 100}}, kJan31);
    check();
    load({{"Medan", "Robusta", 1950}, {"Surabaya", "Robusta", 80}}, kJan31 + 28);
    check();
    load({{"Medan", "Robusta", 1900}, {"Surabaya", "Robusta", 0}}, kJan31 + 59);
    check();
  }

  // As above, but the last two reports are checked in one step, the second
  // (with `more` rows of its own) raising an alert of its own (Medan runs
  // out of Gayo). Returns the out_of_stock alert of the third (Surabaya's
  // Robusta); the two out_of_stock alerts are the only ones.
  Alert surabaya_runs_out_checked_with(const std::vector<Row>& more) {
    load({{"Medan", "Robusta", 2000}, {"Medan", "Gayo", 5}, {"Surabaya", "Robusta", 100}},
         kJan31);
    check();
    std::vector<Row> second = {
        {"Medan", "Robusta", 1950}, {"Medan", "Gayo", 0}, {"Surabaya", "Robusta", 80}};
    second.insert(second.end(), more.begin(), more.end());
    load(second, kJan31 + 28);
    load({{"Medan", "Robusta", 1900}, {"Surabaya", "Robusta", 0}}, kJan31 + 59);
    check();
    const auto out = alerts(EventKind::kOutOfStock);
    EXPECT_EQ(out.size(), 2u);
    for (const Alert& a : out) {
      if (!a.items.empty() && a.items[0].item == "Robusta") return a;
    }
    ADD_FAILURE() << "no out_of_stock alert for Robusta";
    return Alert();
  }

  int check() {
    Checker checker(*storage_, clock_, cfg_);
    auto n = checker.process_due();
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? *n : -1;
  }

  std::vector<Alert> alerts(EventKind kind) {
    std::vector<Alert> out;
    auto msgs = storage_->list_outbox(true, 100);
    EXPECT_TRUE(msgs.ok());
    for (const auto& m : *msgs) {
      auto a = decode_alert(m.payload);
      if (a.ok() && a->event == kind) out.push_back(*a);
    }
    return out;
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  AlertsConfig cfg_;
};

TEST_F(ForecastStage, FallingCountsRaiseOneRunningOutWithTheDateAndRate) {
  // 1000, 800, 600, 150 at month ends: only the last runs out soon.
  const std::int64_t days[] = {kJan31, kJan31 + 28, kJan31 + 59, kJan31 + 89};
  const std::int64_t counts[] = {1000, 800, 600, 150};
  for (int m = 0; m < 4; ++m) {
    load({{"Medan", "Arabika", counts[m]}, {"Medan", "Gayo", 40}}, days[m]);
    check();
  }
  const auto running = alerts(EventKind::kRunningOut);
  ASSERT_EQ(running.size(), 1u);
  ASSERT_EQ(running[0].items.size(), 1u);
  EXPECT_EQ(running[0].items[0].item, "Arabika");
  EXPECT_EQ(iso_day(*running[0].items[0].runs_out_on), "2026-05-15");
  const auto en = render_alert(running[0], catalog_for("en"));
  EXPECT_NE(en.body.find("Medan will run out of Arabika around 2026-05-15: 150 left, using about "
                         "9.6 a day"),
            std::string::npos)
      << en.body;
  EXPECT_NE(en.subject.find("Medan: Arabika is running out soon"), std::string::npos) << en.subject;
  const auto id = render_alert(running[0], catalog_for("id"));
  EXPECT_NE(id.body.find("Arabika di Medan diperkirakan habis sekitar 2026-05-15: sisa 150"),
            std::string::npos)
      << id.body;
  EXPECT_EQ(check(), 0);  // nothing more: once per report
}

TEST_F(ForecastStage, ASubscriptionWithoutTheEventGetsNothing) {
  cfg_.subscriptions[0].events = {"out_of_stock"};
  load({{"Medan", "Arabika", 100}}, kJan31);
  load({{"Medan", "Arabika", 10}}, kJan31 + 30);
  check();
  EXPECT_TRUE(alerts(EventKind::kRunningOut).empty());
}

TEST_F(ForecastStage, AStoreAtZeroGetsATransferFromOneWithPlenty) {
  surabaya_runs_out_medan_has_plenty();
  const auto out = alerts(EventKind::kOutOfStock);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].items.size(), 1u);
  EXPECT_EQ(out[0].items[0].transfer_from, "Medan");
  // Surabaya used 20 in 28 days: 30 days need 22; Medan can spare far more.
  EXPECT_EQ(out[0].items[0].transfer_quantity, 22);
  const auto en = render_alert(out[0], catalog_for("en"));
  EXPECT_NE(en.body.find("Suggestion: move 22 Robusta from Medan (it has 1,900) to Surabaya"),
            std::string::npos)
      << en.body;
  const auto id = render_alert(out[0], catalog_for("id"));
  EXPECT_NE(id.body.find("Saran: kirim 22 Robusta dari Medan (stoknya 1.900) ke Surabaya"),
            std::string::npos)
      << id.body;
}

// Two reports checked in one step (as reports ready at once are, or after
// a restart): the first raised an alert of its own and is small, so it is
// taken in with its check, and the second's transfer is judged on the use
// figures it brought, as if the two had come one at a time.
TEST_F(ForecastStage, ASmallAlertingReportIsTakenInBeforeTheNextReportsTransfersAreJudged) {
  const Alert robusta = surabaya_runs_out_checked_with({});
  ASSERT_EQ(robusta.items.size(), 1u);
  EXPECT_EQ(robusta.items[0].store, "Surabaya");
  EXPECT_EQ(robusta.items[0].transfer_from, "Medan");
  EXPECT_EQ(robusta.items[0].transfer_quantity, 22);
}

// The same with a first report of more than Checker::kPageSize change
// records: its alerts are committed first and its take-in waits for the
// forecasts, after the second report's check, so the second's transfer is
// judged without its figures (no suggestion here). Both are taken in.
TEST_F(ForecastStage, ALargeAlertingReportIsTakenInAfterTheNextReportIsChecked) {
  std::vector<Row> filler;
  for (int k = 0; k < static_cast<int>(Checker::kPageSize); ++k) {
    filler.push_back({"Medan", "Filler-" + std::to_string(1000 + k), 10});
  }
  const Alert robusta = surabaya_runs_out_checked_with(filler);
  ASSERT_EQ(robusta.items.size(), 1u);
  EXPECT_EQ(robusta.items[0].store, "Surabaya");
  EXPECT_EQ(robusta.items[0].transfer_from, "");
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
  auto figures = storage_->usage_of("Surabaya", "Robusta");
  ASSERT_TRUE(figures.ok() && *figures);
  EXPECT_EQ((*figures)->figures.last_day, kJan31 + 59);
}

TEST_F(ForecastStage, TheDigestShowsTheTransfer) {
  surabaya_runs_out_medan_has_plenty();
  DigestStageOptions o;
  o.sender = cfg_.from;
  DigestStage stage(*storage_, clock_, o);
  auto d = stage.digest_for(cfg_.subscriptions[0], clock_.now() - std::chrono::hours(24), clock_.now());
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_EQ(d->transfers.size(), 1u);
  EXPECT_EQ(d->transfers[0].to, "Surabaya");
  EXPECT_EQ(d->transfers[0].from, "Medan");
  EXPECT_EQ(d->transfers[0].quantity, 22);
  EXPECT_EQ(d->transfers[0].from_count, 1900);
  // Kept in the payload, and rendered in both languages.
  auto back = decode_digest(encode_digest(*d));
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->transfers.size(), 1u);
  const auto en = render_digest(*back, catalog_for("en"));
  EXPECT_NE(en.body.find("Suggested transfers (1):\n  Surabaya: Robusta, move 22 from Medan (it has "
                         "1,900)\n"),
            std::string::npos)
      << en.body;
  const auto id = render_digest(*back, catalog_for("id"));
  EXPECT_NE(id.body.find("Saran pemindahan stok (1):\n  Surabaya: Robusta, kirim 22 dari Medan "
                         "(stoknya 1.900)\n"),
            std::string::npos)
      << id.body;
}

TEST_F(ForecastStage, GroupedByItemEachItemGetsItsOwnMessageOnce) {
  cfg_.group = "item";
  load({{"Medan", "Arabika", 100}, {"Medan", "Robusta Dairi", 90}}, kJan31);
  load({{"Medan", "Arabika", 10}, {"Medan", "Robusta Dairi", 9}}, kJan31 + 30);
  EXPECT_EQ(check(), 2);
  auto msgs = storage_->list_outbox(true, 10);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_NE((*msgs)[0].message_id, (*msgs)[1].message_id);
  EXPECT_EQ((*msgs)[0].message_id.rfind("running_out-item.", 0), 0u) << (*msgs)[0].message_id;
  EXPECT_EQ(check(), 0);
}

TEST_F(ForecastStage, NoStoreCanSpareWhenEveryOneIsShort) {
  load({{"Medan", "Robusta", 40}, {"Surabaya", "Robusta", 100}}, kJan31);
  load({{"Medan", "Robusta", 20}, {"Surabaya", "Robusta", 0}}, kJan31 + 30);
  check();
  auto t = suggest_transfer(*storage_, "Surabaya", "Robusta", 0, 30);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(*t);
}

}  // namespace
}  // namespace stockwatch

// Minimum levels end to end inside the library: a levels file through the
// loader, the low_stock alerts its re-evaluation and later reports raise
// through the checker, the still_out reminders and the mutes, all on a real
// SQLite file, driven by the test clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "daemon/mute_command.hpp"
#include "notify/alert.hpp"
#include "pipeline/checker.hpp"
#include "pipeline/loader.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::TempDir;

class LevelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = Storage::open(dir_ / "stockwatch.db", {}, clock_);
    config_.from = "stockwatch@example.com";
    config_.subscriptions = {Subscription{{"owner@example.com"}, {}, {}},
                             Subscription{{"medan@example.com"}, {"Medan"}, {}}};
  }

  LoadOutcome load(const std::string& name, const std::string& text) {
    test::write_file(dir_ / name, text);
    Loader loader(*storage_, clock_, options_);
    auto out = loader.load(dir_ / name, name);
    EXPECT_TRUE(out.ok()) << out.error().message();
    return out.ok() ? *out : LoadOutcome{};
  }

  int check() {
    Checker checker(*storage_, clock_, config_);
    auto n = checker.process_due();
    EXPECT_TRUE(n.ok()) << n.error().message();
    return n.ok() ? *n : -1;
  }

  // The messages queued since the last call, oldest first, with their
  // rendered subjects (and bodies in `data`).
  std::vector<OutboxMessage> fresh() {
    auto all = storage_->list_outbox(true, 100000);
    EXPECT_TRUE(all.ok());
    std::vector<OutboxMessage> out;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      if (it->id <= seen_) continue;
      OutboxMessage m = *it;
      seen_ = std::max(seen_, m.id);
      auto a = decode_alert(m.payload);
      EXPECT_TRUE(a.ok());
      const auto text = render_alert(*a, catalog_for(m.language));
      m.subject = text.subject;
      m.data = text.body;
      out.push_back(std::move(m));
    }
    return out;
  }

  TempDir dir_{"levels"};
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  AlertsConfig config_;
  LoaderOptions options_;
  std::int64_t seen_ = 0;
};

TEST_F(LevelsTest, ALevelsFileEvaluatesTheCountsOnceInOneMessagePerRecipient) {
  load("medan.csv", "store,item,count\nMedan,Robusta,3\nMedan,Arabica,5\nMedan,Gayo,0\n"
                    "Makassar,Toraja,2\n");
  check();
  fresh();
  const auto out = load("levels.csv",
                        "gudang,barang,minimum\nMedan,Robusta,4\nMedan,*,5\n*,Toraja,10\n");
  EXPECT_EQ(out.status, ReportStatus::kLoaded);
  EXPECT_TRUE(out.levels);
  EXPECT_EQ(out.rows, 3);
  EXPECT_EQ(out.changes, 2);  // Robusta (3 < 4) and Toraja (2 < 10); Arabica is equal, Gayo at 0
  EXPECT_EQ(out.summary(), "levels loaded: 3 lines, 2 items changed state");
  EXPECT_EQ(check(), 2);
  const auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].recipient, "owner@example.com");
  EXPECT_EQ(msgs[0].event, "low_stock");
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! 2 stores, 2 items below minimum");
  EXPECT_NE(msgs[0].data.find("Medan is low on Robusta: 3 left, minimum 4"), std::string::npos)
      << msgs[0].data;
  EXPECT_NE(msgs[0].data.find("Makassar is low on Toraja: 2 left, minimum 10"), std::string::npos);
  EXPECT_NE(msgs[0].data.find("Levels file: levels.csv"), std::string::npos) << msgs[0].data;
  EXPECT_EQ(msgs[1].recipient, "medan@example.com");
  EXPECT_EQ(msgs[1].subject, "Inventory Alert! Medan: Robusta is below minimum");
  // In Bahasa Indonesia.
  const auto id = render_alert(*decode_alert(msgs[1].payload), catalog_for("id"));
  EXPECT_NE(id.body.find("Stok Robusta di Medan menipis: sisa 3, minimum 4"), std::string::npos)
      << id.body;

  // The same file again is a duplicate: nothing changes, nothing is sent.
  EXPECT_EQ(load("levels-again.csv",
                 "gudang,barang,minimum\nMedan,Robusta,4\nMedan,*,5\n*,Toraja,10\n")
                .status,
            ReportStatus::kDuplicate);
  EXPECT_EQ(check(), 0);
}

TEST_F(LevelsTest, ALevelsFileIsOneMessagePerRecipientAlsoWhenGroupedByItem) {
  config_.group = "item";
  load("a.csv", "store,item,count\nMedan,Robusta,3\nMedan,Arabica,2\nMedan,Gayo,1\n");
  check();
  fresh();
  load("levels.csv", "store,item,minimum\nMedan,*,5\n");
  EXPECT_EQ(check(), 2);
  const auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: 3 items below minimum");
  // A report still gives one message per item.
  load("b.csv", "store,item,count\nMedan,Robusta,0\nMedan,Arabica,0\nMedan,Gayo,1\n");
  EXPECT_EQ(check(), 4);
}

TEST_F(LevelsTest, ReportsAreJudgedByTheLevelsInForce) {
  load("levels.csv", "store,item,minimum\nMedan,*,5\n");
  load("a.csv", "store,item,count\nMedan,Robusta,10\nMedan,Arabica,10\nMedan,Gayo,10\n");
  check();
  fresh();
  load("b.csv", "store,item,count\nMedan,Robusta,5\nMedan,Arabica,4\nMedan,Gayo,0\n");
  check();
  auto msgs = fresh();
  std::vector<std::string> owner;
  for (const auto& m : msgs) {
    if (m.recipient == "owner@example.com") owner.push_back(m.event + ": " + m.subject);
  }
  EXPECT_EQ(owner, (std::vector<std::string>{
                       "out_of_stock: Inventory Alert! Medan: Gayo is out of stock",
                       "low_stock: Inventory Alert! Medan: Arabica is below minimum"}));
  // Back at the minimum from below it: back_in_stock, when enabled.
  config_.back_in_stock = true;
  load("c.csv", "store,item,count\nMedan,Robusta,5\nMedan,Arabica,5\nMedan,Gayo,0\n");
  check();
  msgs = fresh();
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs[0].event, "back_in_stock");
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: Arabica is back in stock");
}

TEST_F(LevelsTest, TheDefaultMinimumAppliesWhereNoLineMatches) {
  options_.default_minimum = 3;
  load("a.csv", "store,item,count\nMedan,Robusta,10\n");
  check();
  fresh();
  load("b.csv", "store,item,count\nMedan,Robusta,2\n");
  check();
  const auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].event, "low_stock");
}

TEST_F(LevelsTest, ABadLevelsFileIsRejectedWholeAndTheLevelsBeforeStay) {
  load("levels.csv", "store,item,minimum\nMedan,*,5\n");
  check();
  fresh();
  const auto out = load("levels-new.csv",
                        "store,item,minimum\nMedan,*,7\nMedan,Robusta,lots\nMedan,Robusta,2\n"
                        "Medan,Gayo,\n");
  EXPECT_EQ(out.status, ReportStatus::kRejected);
  EXPECT_EQ(out.error,
            "line 3, column minimum: 'lots' is not a minimum; write a whole number, 0 or more\n"
            "line 5, column minimum: the minimum is empty; write a whole number, 0 or more");
  EXPECT_EQ(*storage_->minimum_of("Medan", "Robusta"), 5);
  EXPECT_EQ(check(), 2);  // report_rejected, to every subscriber (it names no store)
  const auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].event, "report_rejected");
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Levels file rejected: levels-new.csv");
  EXPECT_NE(msgs[0].data.find("line 3, column minimum"), std::string::npos);
  EXPECT_NE(msgs[0].data.find("the minimum levels before it stay in force"), std::string::npos);
  // In Bahasa Indonesia.
  const auto id = render_alert(*decode_alert(msgs[0].payload), catalog_for("id"));
  EXPECT_EQ(id.subject, "Inventory Alert! Berkas batas minimum ditolak: levels-new.csv");
  EXPECT_NE(id.body.find("'lots' bukan nilai minimum; tulis bilangan bulat, 0 atau lebih"),
            std::string::npos)
      << id.body;
  EXPECT_NE(id.body.find("batas minimum sebelumnya tetap berlaku"), std::string::npos);
}

TEST_F(LevelsTest, StillOutRemindersComeEveryNDaysWhileAnItemStaysAtZero) {
  config_.still_out_every_days = 3;
  load("a.csv", "store,item,count\nMedan,Robusta,0\nMedan,Arabica,4\n");
  check();
  fresh();
  clock_.advance(2 * 24h);
  EXPECT_EQ(check(), 0);
  clock_.advance(24h);  // day 3
  EXPECT_EQ(check(), 2);
  auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].event, "still_out");
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: Robusta is still out of stock");
  EXPECT_NE(msgs[0].data.find("every 3 days"), std::string::npos) << msgs[0].data;
  EXPECT_EQ(check(), 0);  // once a day
  clock_.advance(24h);
  EXPECT_EQ(check(), 0);  // day 4
  clock_.advance(2 * 24h);
  EXPECT_EQ(check(), 2);  // day 6
  fresh();
  // Back in stock: no more reminders.
  load("b.csv", "store,item,count\nMedan,Robusta,9\nMedan,Arabica,4\n");
  clock_.advance(3 * 24h);
  check();
  for (const auto& m : fresh()) EXPECT_NE(m.event, "still_out");
}

TEST_F(LevelsTest, AMuteUntilADateSilencesTheItemUntilThen) {
  load("a.csv", "store,item,count\nMedan,Robusta,5\nMedan,Arabica,5\n");
  check();
  fresh();
  ASSERT_TRUE(storage_->add_mute({"Medan", "Robusta", clock_.now() + 48h, false, clock_.now()}).ok());
  clock_.advance(24h);
  load("b.csv", "store,item,count\nMedan,Robusta,0\nMedan,Arabica,0\n");
  check();
  auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: Arabica is out of stock");  // not Robusta
  clock_.advance(24h);  // the mute ends exactly now
  load("c.csv", "store,item,count\nMedan,Robusta,3\nMedan,Arabica,3\n");
  load("d.csv", "store,item,count\nMedan,Robusta,0\nMedan,Arabica,3\n");
  check();
  msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].subject, "Inventory Alert! Medan: Robusta is out of stock");
}

TEST_F(LevelsTest, AMuteUntilChangeSilencesRemindersUntilTheCountChanges) {
  config_.still_out_every_days = 1;
  config_.back_in_stock = true;
  load("a.csv", "store,item,count\nMedan,Robusta,0\nMedan,Arabica,0\n");
  check();
  fresh();
  clock_.advance(1h);
  ASSERT_TRUE(storage_->add_mute({"Medan", "", std::nullopt, true, clock_.now()}).ok());
  clock_.advance(24h);
  EXPECT_EQ(check(), 0);  // both muted: the whole store
  clock_.advance(1h);
  load("b.csv", "store,item,count\nMedan,Robusta,4\nMedan,Arabica,0\n");
  check();
  auto msgs = fresh();
  ASSERT_EQ(msgs.size(), 2u);  // the change ends Robusta's mute
  EXPECT_EQ(msgs[0].event, "back_in_stock");
  clock_.advance(24h);
  EXPECT_EQ(check(), 0);  // Arabica is unchanged: still muted
}

TEST(MuteCommand, UntilIsADateOrADateAndTimeInUtc) {
  EXPECT_EQ(to_unix_ms(*parse_until("2026-12-31")), 1798675200000);
  EXPECT_EQ(to_unix_ms(*parse_until("2026-12-31T08:30")), 1798675200000 + 8.5 * 3600000);
  EXPECT_FALSE(parse_until("31-12-2026").ok());
  EXPECT_FALSE(parse_until("2026-02-30").ok());
  EXPECT_FALSE(parse_until("2026-12-31T25:00").ok());
  EXPECT_FALSE(parse_until("2026-12-31 junk").ok());
  EXPECT_FALSE(parse_until("2026-12-31T08").ok());
  EXPECT_FALSE(parse_until("").ok());
}

}  // namespace
}  // namespace stockwatch

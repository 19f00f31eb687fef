// The storage contract for use rates (store/storage.hpp, "Use rates and
// forecasts"): what both backends must do with report days, item history,
// the running figures of observe() (pipeline/usage.hpp) and the usage cursor.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage_backends.hpp"
#include "pipeline/minimum_levels.hpp"
#include "pipeline/usage.hpp"
#include "store/storage.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::Row;
using test::TempDir;

using test::StorageBackend;

constexpr std::int64_t kDay0 = 20454;  // 2026-01-01

class UsageContract : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    storage_ = Storage::open(GetParam().fresh(dir_), StorageOptions{}, clock_);
  }

  // Loads `rows` as a report of `day`; returns its id.
  std::int64_t load(const std::vector<Row>& rows, std::int64_t day, const std::string& sha) {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok()) << begun.error().message();
    ReportLoad txn = std::move(begun).value();
    for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
    ReportRecord rec = test::sample_record(clock_, "medan/" + iso_day(day) + ".csv", sha);
    rec.report_day = day;
    rec.date_source = "name";
    auto id = txn.commit(rec);
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : 0;
  }

  // Takes in every pending report; returns them.
  std::vector<UsageReport> take_in() {
    std::vector<UsageReport> out;
    while (true) {
      auto next = storage_->next_usage_report();
      EXPECT_TRUE(next.ok()) << next.error().message();
      if (!next.ok() || !*next) break;
      EXPECT_TRUE(storage_->apply_usage(**next).ok());
      EXPECT_TRUE(storage_->apply_usage(**next).ok());  // a repeat changes nothing
      EXPECT_TRUE(storage_->commit_usage(**next, {}).ok());
      out.push_back(**next);
    }
    return out;
  }

  // Takes in every pending report of `st`, each in its own transaction.
  static void take_in_all(Storage& st) {
    while (true) {
      auto next = st.next_usage_report();
      ASSERT_TRUE(next.ok()) << next.error().message();
      if (!*next) break;
      { auto st_ = st.apply_usage(**next); ASSERT_TRUE(st_.ok()) << st_.message(); }
      ASSERT_TRUE(st.commit_usage(**next, {}).ok());
    }
  }

  // Every seventh item of "item-1000".."item-1699" in Medan and Bali has
  // the same figures, history and place in the cover list in `got` as in
  // `want`.
  static void expect_same_figures(Storage& got_storage, Storage& want_storage) {
    for (const std::string store : {"Medan", "Bali"}) {
      for (int k = 0; k < 700; k += 7) {
        const std::string item = "item-" + std::to_string(1000 + k);
        auto got = got_storage.usage_of(store, item);
        auto want = want_storage.usage_of(store, item);
        ASSERT_TRUE(got.ok() && want.ok());
        ASSERT_TRUE(*got && *want) << store << "/" << item;
        EXPECT_EQ((*got)->count, (*want)->count);
        EXPECT_EQ((*got)->figures.first_day, (*want)->figures.first_day);
        EXPECT_EQ((*got)->figures.last_day, (*want)->figures.last_day);
        EXPECT_EQ((*got)->figures.last_count, (*want)->figures.last_count);
        EXPECT_EQ((*got)->figures.used, (*want)->figures.used) << store << "/" << item;
        EXPECT_EQ((*got)->figures.used_days, (*want)->figures.used_days);
        EXPECT_EQ((*got)->as_of_day, (*want)->as_of_day) << store << "/" << item;
        EXPECT_EQ((*got)->gap_days, (*want)->gap_days) << store << "/" << item;
        auto h1 = got_storage.item_history(store, item, 100);
        auto h2 = want_storage.item_history(store, item, 100);
        ASSERT_TRUE(h1.ok() && h2.ok());
        ASSERT_EQ(h1->size(), h2->size());
        for (std::size_t i = 0; i < h1->size(); ++i) {
          EXPECT_EQ((*h1)[i].day, (*h2)[i].day);
          EXPECT_EQ((*h1)[i].count, (*h2)[i].count);
          EXPECT_EQ((*h1)[i].report_id, (*h2)[i].report_id);
        }
      }
    }
    auto c1 = got_storage.usage_by_cover(std::nullopt, 2000);
    auto c2 = want_storage.usage_by_cover(std::nullopt, 2000);
    ASSERT_TRUE(c1.ok() && c2.ok());
    ASSERT_EQ(c1->size(), c2->size());
    for (std::size_t i = 0; i < c1->size(); ++i) {
      EXPECT_EQ((*c1)[i].store + "/" + (*c1)[i].item, (*c2)[i].store + "/" + (*c2)[i].item);
    }
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::vector<std::vector<std::string>> judged_[2];  // per take-in: the rows judged
};

TEST_P(UsageContract, TheLedgerKeepsTheReportDayAndItsSource) {
  const auto id = load({{"Medan", "Arabika", 5}}, kDay0 + 3, "a1");
  auto rec = storage_->report(id);
  ASSERT_TRUE(rec.ok() && *rec);
  EXPECT_EQ((*rec)->report_day, kDay0 + 3);
  EXPECT_EQ((*rec)->date_source, "name");
}

TEST_P(UsageContract, RunningFiguresFollowObserveAndHistoryKeepsEveryChange) {
  // Arabika falls 10 a day; Robusta has a delivery; Gayo never moves.
  const std::vector<std::vector<Row>> months = {
      {{"Medan", "Arabika", 1000}, {"Medan", "Robusta", 300}, {"Medan", "Gayo", 50}},
      {{"Medan", "Arabika", 700}, {"Medan", "Robusta", 150}, {"Medan", "Gayo", 50}},
      {{"Medan", "Arabika", 400}, {"Medan", "Robusta", 500}, {"Medan", "Gayo", 50}},
      {{"Medan", "Arabika", 100}, {"Medan", "Robusta", 350}, {"Medan", "Gayo", 50}},
  };
  std::vector<std::int64_t> ids;
  for (std::size_t m = 0; m < months.size(); ++m) {
    ids.push_back(load(months[m], kDay0 + 30 * static_cast<std::int64_t>(m),
                       "m" + std::to_string(m)));
  }
  const auto taken = take_in();
  ASSERT_EQ(taken.size(), 4u);
  EXPECT_EQ(taken.back().day, kDay0 + 90);
  EXPECT_TRUE(taken.back().alerts);
  ASSERT_TRUE(storage_->next_usage_report().ok());
  EXPECT_FALSE(*storage_->next_usage_report());

  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->count, 100);
  EXPECT_EQ((*a)->figures.used, 900);
  EXPECT_EQ((*a)->figures.used_days, 90);
  EXPECT_EQ((*a)->as_of_day, kDay0 + 90);
  EXPECT_EQ((*a)->gap_days, 30);
  EXPECT_EQ(*forecast((*a)->figures, (*a)->count, (*a)->as_of_day).runs_out_on, kDay0 + 100);

  auto r = storage_->usage_of("Medan", "Robusta");
  ASSERT_TRUE(r.ok() && *r);
  EXPECT_EQ((*r)->figures.used, 300);
  EXPECT_EQ((*r)->figures.used_days, 60);

  auto g = storage_->usage_of("Medan", "Gayo");
  ASSERT_TRUE(g.ok() && *g);
  EXPECT_EQ((*g)->figures.used_days, 0);
  EXPECT_EQ((*g)->as_of_day, kDay0 + 90);  // idle since: no use
  EXPECT_DOUBLE_EQ(*forecast((*g)->figures, 50, (*g)->as_of_day).daily_use, 0.0);

  auto h = storage_->item_history("Medan", "Arabika", 100);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 4u);
  EXPECT_EQ((*h)[0].day, kDay0);
  EXPECT_EQ((*h)[0].count, 1000);
  EXPECT_EQ((*h)[3].report_id, ids[3]);
  auto g_history = storage_->item_history("Medan", "Gayo", 100);
  ASSERT_TRUE(g_history.ok());
  EXPECT_EQ(g_history->size(), 1u);  // only reports that changed it

  // Fewest days of cover first; Gayo (no use) is not listed.
  auto by_cover = storage_->usage_by_cover(std::nullopt, 10);
  ASSERT_TRUE(by_cover.ok());
  ASSERT_EQ(by_cover->size(), 2u);
  EXPECT_EQ((*by_cover)[0].item, "Arabika");
  EXPECT_EQ((*by_cover)[1].item, "Robusta");
  auto other_store = storage_->usage_by_cover(std::string("Surabaya"), 10);
  ASSERT_TRUE(other_store.ok());
  EXPECT_TRUE(other_store->empty());

  // The last report's items running out within 44 days: Arabika (10 days).
  auto soon = storage_->running_out_of_report(taken.back(), 44, 100);
  ASSERT_TRUE(soon.ok()) << soon.error().message();
  ASSERT_EQ(soon->size(), 1u);
  EXPECT_EQ((*soon)[0].item, "Arabika");
  auto none = storage_->running_out_of_report(taken.back(), 5, 100);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(UsageContract, AnOlderReportAddsHistoryButLeavesTheFigures) {
  load({{"Medan", "Arabika", 1000}}, kDay0, "o1");
  load({{"Medan", "Arabika", 700}}, kDay0 + 30, "o2");
  take_in();
  load({{"Medan", "Arabika", 900}}, kDay0 + 10, "o3");  // a report from before
  const auto taken = take_in();
  ASSERT_EQ(taken.size(), 1u);
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.last_day, kDay0 + 30);
  EXPECT_EQ((*a)->figures.last_count, 700);
  EXPECT_EQ((*a)->figures.used, 300);
  auto h = storage_->item_history("Medan", "Arabika", 100);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 3u);
  EXPECT_EQ((*h)[1].day, kDay0 + 10);
  EXPECT_EQ((*h)[1].count, 900);
  auto soon = storage_->running_out_of_report(taken.back(), 1000, 100);
  ASSERT_TRUE(soon.ok());
  EXPECT_TRUE(soon->empty());  // no alert about the past
}

TEST_P(UsageContract, EveryStoreHoldingAnItemIsListedForTransfers) {
  load({{"Medan", "Arabika", 900}, {"Surabaya", "Arabika", 40}}, kDay0, "t1");
  load({{"Medan", "Arabika", 800}, {"Surabaya", "Arabika", 0}}, kDay0 + 20, "t2");
  take_in();
  auto rows = storage_->usage_of_item("Arabika");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].store, "Medan");
  EXPECT_EQ((*rows)[0].count, 800);
  EXPECT_EQ((*rows)[1].store, "Surabaya");
  EXPECT_EQ((*rows)[1].count, 0);
}

TEST_P(UsageContract, CommitUsageQueuesEachMessageOnce) {
  load({{"Medan", "Arabika", 5}}, kDay0, "q1");
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok() && *next);
  ASSERT_TRUE(storage_->apply_usage(**next).ok());
  const auto m = test::sample_message(clock_, "running-out-1@x", (*next)->report_id, clock_.now());
  ASSERT_TRUE(storage_->commit_usage(**next, {m}).ok());
  ASSERT_TRUE(storage_->commit_usage(**next, {m}).ok());
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 1);
  auto after = storage_->next_usage_report();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*after);
}

// A report older than its store's latest (ReportLoad::set_report_day):
// its rows are history points only; the current count stays, no change
// record or event is written; a store whose latest report is older (or
// that has none) loads as usual.
TEST_P(UsageContract, AnOlderReportOfAStoreIsHistoryOnlyAndNeverMovesTheCountBack) {
  load({{"Medan", "Arabika", 400}, {"Medan", "Gayo", 0}}, kDay0 + 30, "o1");
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok()) << begun.error().message();
  ReportLoad txn = std::move(begun).value();
  txn.set_report_day(kDay0);
  for (const Row& r : std::vector<Row>{{"Medan", "Arabika", 700},
                                       {"Medan", "Gayo", 20},
                                       {"Medan", "Robusta", 5},
                                       {"Surabaya", "Arabika", 9}}) {
    ASSERT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
  }
  ReportRecord rec = test::sample_record(clock_, "medan/" + iso_day(kDay0) + ".csv", "o2");
  rec.report_day = kDay0;
  rec.date_source = "name";
  auto id = txn.commit(rec);
  ASSERT_TRUE(id.ok()) << id.error().message();
  auto ledger = storage_->report(*id);
  ASSERT_TRUE(ledger.ok() && *ledger);
  EXPECT_EQ((*ledger)->rows, 4);
  EXPECT_EQ((*ledger)->changes, 1);  // Surabaya's new item only

  EXPECT_EQ(*storage_->count_of("Medan", "Arabika"), std::optional<std::int64_t>(400));
  EXPECT_EQ(*storage_->count_of("Medan", "Gayo"), std::optional<std::int64_t>(0));
  EXPECT_EQ(*storage_->count_of("Medan", "Robusta"), std::nullopt);
  EXPECT_EQ(*storage_->count_of("Surabaya", "Arabika"), std::optional<std::int64_t>(9));
  take_in();
  auto history = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].day, kDay0);
  EXPECT_EQ((*history)[0].count, 700);
  EXPECT_EQ((*history)[0].report_id, *id);
  EXPECT_EQ((*history)[1].day, kDay0 + 30);
  EXPECT_EQ((*history)[1].count, 400);
  // The figures are the latest report's: one report, no use known.
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.last_day, kDay0 + 30);
  EXPECT_EQ((*a)->figures.used, 0);
}

// An item's first report: its figures and its one history point appear
// once that report is taken in; a second report of the same day replaces
// the point and the last count (no use between two reports of one day);
// a change on a later day then measures use from that count.
TEST_P(UsageContract, AFirstSightingIsTakenInAndASecondReportOfTheSameDayReplacesIt) {
  const auto first = load({{"Medan", "Arabika", 1000}}, kDay0, "f1");
  auto before = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(before.ok()) << before.error().message();
  EXPECT_FALSE(*before);  // not taken in yet
  auto no_history = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(no_history.ok());
  EXPECT_TRUE(no_history->empty());
  take_in();
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->count, 1000);
  EXPECT_EQ((*a)->figures.first_day, kDay0);
  EXPECT_EQ((*a)->figures.last_day, kDay0);
  EXPECT_EQ((*a)->figures.last_count, 1000);
  EXPECT_EQ((*a)->figures.used, 0);
  auto h = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].count, 1000);
  EXPECT_EQ((*h)[0].report_id, first);
  auto listed = storage_->usage_of_item("Arabika");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].figures.last_count, 1000);

  const auto again = load({{"Medan", "Arabika", 800}}, kDay0, "f2");
  take_in();
  a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.first_day, kDay0);
  EXPECT_EQ((*a)->figures.last_count, 800);
  EXPECT_EQ((*a)->figures.used, 0);
  h = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].count, 800);
  EXPECT_EQ((*h)[0].report_id, again);

  load({{"Medan", "Arabika", 500}}, kDay0 + 30, "f3");
  take_in();
  a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 300);
  EXPECT_EQ((*a)->figures.used_days, 30);
  listed = storage_->usage_of_item("Arabika");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].figures.used, 300);
}

// A history-only row of the same day as an item's first report replaces
// its point, and the next change measures use from the first report's
// count (the figures never took the older report in).
TEST_P(UsageContract, AnOlderReportOfTheFirstSightingsDayReplacesItsPointOnly) {
  load({{"Medan", "Arabika", 1000}}, kDay0 + 10, "p1");
  load({{"Medan", "Gayo", 5}}, kDay0 + 30, "p2");  // the store's latest day is now later
  take_in();
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok()) << begun.error().message();
    ReportLoad txn = std::move(begun).value();
    txn.set_report_day(kDay0 + 10);
    ASSERT_TRUE(txn.upsert("Medan", "Arabika", 900).ok());
    ReportRecord rec = test::sample_record(clock_, "medan/older.csv", "p3");
    rec.report_day = kDay0 + 10;
    rec.date_source = "name";
    ASSERT_TRUE(txn.commit(rec).ok());
  }
  take_in();
  auto h = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].day, kDay0 + 10);
  EXPECT_EQ((*h)[0].count, 900);
  EXPECT_EQ(*storage_->count_of("Medan", "Arabika"), std::optional<std::int64_t>(1000));

  load({{"Medan", "Arabika", 700}}, kDay0 + 40, "p4");
  take_in();
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.first_day, kDay0 + 10);
  EXPECT_EQ((*a)->figures.used, 300);
  EXPECT_EQ((*a)->figures.used_days, 30);
  h = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].count, 900);
  EXPECT_EQ((*h)[1].count, 700);
}

// take_in_usage: the figures, the running_out rows handed to the judge,
// its messages and the cursor, in one transaction.
TEST_P(UsageContract, TakeInUsageHandsTheReportsRunningOutRowsAndQueuesTheJudgesMessages) {
  // Arabika falls 10 a day: 100 left on the third report lasts 10 days.
  load({{"Medan", "Arabika", 700}, {"Medan", "Gayo", 50}}, kDay0, "j1");
  load({{"Medan", "Arabika", 400}, {"Medan", "Gayo", 50}}, kDay0 + 30, "j2");
  load({{"Medan", "Arabika", 100}, {"Medan", "Gayo", 40}}, kDay0 + 60, "j3");
  std::vector<std::vector<std::string>> seen;
  int n = 0;
  while (true) {
    auto next = storage_->next_usage_report();
    ASSERT_TRUE(next.ok()) << next.error().message();
    if (!*next) break;
    const UsageReport r = **next;
    auto st = storage_->take_in_usage(r, 14, 100, [&](const std::vector<UsageRow>& rows) {
      std::vector<std::string> items;
      for (const auto& row : rows) items.push_back(row.store + "/" + row.item);
      seen.push_back(items);
      if (rows.empty()) return std::vector<OutboxMessage>();
      return std::vector<OutboxMessage>{
          test::sample_message(clock_, "judged-" + std::to_string(r.report_id) + "@x",
                               r.report_id, clock_.now())};
    });
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_LT(++n, 10);
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[0].empty());  // one report: no use known
  EXPECT_TRUE(seen[1].empty());  // 400 at 10 a day lasts 40 days
  EXPECT_EQ(seen[2], (std::vector<std::string>{"Medan/Arabika"}));
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 1);
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 600);
  EXPECT_EQ((*a)->figures.used_days, 60);
}

TEST_P(UsageContract, TakeInUsageWithoutAJudgeQueuesNothingAndMovesTheCursor) {
  load({{"Medan", "Arabika", 700}}, kDay0, "w1");
  load({{"Medan", "Arabika", 100}}, kDay0 + 30, "w2");
  for (int k = 0; k < 2; ++k) {
    auto next = storage_->next_usage_report();
    ASSERT_TRUE(next.ok() && *next);
    ASSERT_TRUE(storage_->take_in_usage(**next, 14, 100, {}).ok());
  }
  auto after = storage_->next_usage_report();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(*after);
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0);
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 600);
}

// A report whose check queued nothing: the checker's cursor and the
// take-in in one transaction (Storage::commit_check_with_take_in). Afterwards
// neither the checker nor the take-in has the report pending, the figures
// are take_in_usage()'s, and the judge's messages are queued once.
TEST_P(UsageContract, CommitCheckWithTakeInMovesTheCheckersCursorAndTakesTheReportIn) {
  // Arabika falls 10 a day: 100 left on the third report lasts 10 days.
  load({{"Medan", "Arabika", 700}, {"Medan", "Gayo", 50}}, kDay0, "qc1");
  load({{"Medan", "Arabika", 400}, {"Medan", "Gayo", 50}}, kDay0 + 30, "qc2");
  load({{"Medan", "Arabika", 100}, {"Medan", "Gayo", 40}}, kDay0 + 60, "qc3");
  std::vector<std::vector<std::string>> seen;
  for (int k = 0; k < 3; ++k) {
    auto p = storage_->next_pending_changes();
    ASSERT_TRUE(p.ok()) << p.error().message();
    ASSERT_TRUE(*p);
    auto next = storage_->next_usage_report();
    ASSERT_TRUE(next.ok()) << next.error().message();
    ASSERT_TRUE(*next);
    ASSERT_EQ((*next)->report_id, (*p)->report_id);
    ASSERT_EQ((*next)->last_seq, (*p)->last_seq);
    const UsageReport r = **next;
    auto judge = [&](const std::vector<UsageRow>& rows) {
      std::vector<std::string> items;
      for (const auto& row : rows) items.push_back(row.store + "/" + row.item);
      seen.push_back(items);
      if (rows.empty()) return std::vector<OutboxMessage>();
      return std::vector<OutboxMessage>{
          test::sample_message(clock_, "quiet-" + std::to_string(r.report_id) + "@x",
                               r.report_id, clock_.now())};
    };
    auto st = storage_->commit_check_with_take_in((*p)->last_seq, {}, r, 14, 100, judge);
    ASSERT_TRUE(st.ok()) << st.message();
    // Both cursors are past the report.
    auto after = storage_->next_pending_changes();
    ASSERT_TRUE(after.ok());
    if (*after) {
      EXPECT_GT((*after)->report_id, r.report_id);
    }
    auto usage_after = storage_->next_usage_report();
    ASSERT_TRUE(usage_after.ok());
    if (*usage_after) {
      EXPECT_GT((*usage_after)->report_id, r.report_id);
    }
  }
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(seen[0].empty());
  EXPECT_TRUE(seen[1].empty());
  EXPECT_EQ(seen[2], (std::vector<std::string>{"Medan/Arabika"}));
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 1);
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 600);
  EXPECT_EQ((*a)->figures.used_days, 60);
  auto g = storage_->usage_of("Medan", "Gayo");
  ASSERT_TRUE(g.ok() && *g);
  EXPECT_EQ((*g)->figures.used, 10);
}

// The checker's cursor never moves back: a quiet check repeated by a
// process that lagged behind (its seq before the cursor) leaves it, and a
// quiet check without a judge queues nothing.
TEST_P(UsageContract, CommitCheckWithTakeInNeverMovesTheCheckersCursorBack) {
  load({{"Medan", "Arabika", 700}}, kDay0, "qb1");
  load({{"Medan", "Arabika", 600}}, kDay0 + 1, "qb2");
  auto first = storage_->next_pending_changes();
  ASSERT_TRUE(first.ok() && *first);
  const std::int64_t first_end = (*first)->last_seq;
  // The checker is past both reports already.
  ASSERT_TRUE(storage_->commit_check(first_end, 0, {}).ok());
  auto second_check = storage_->next_pending_changes();
  ASSERT_TRUE(second_check.ok() && *second_check);
  ASSERT_TRUE(storage_->commit_check((*second_check)->last_seq, 0, {}).ok());
  auto none = storage_->next_pending_changes();
  ASSERT_TRUE(none.ok());
  ASSERT_FALSE(*none);
  // The take-in of the first report, with a lagging quiet check.
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok() && *next);
  ASSERT_EQ((*next)->last_seq, first_end);
  ASSERT_TRUE(storage_->commit_check_with_take_in(first_end, {}, **next, 14, 100, {}).ok());
  auto still_none = storage_->next_pending_changes();
  ASSERT_TRUE(still_none.ok());
  EXPECT_FALSE(*still_none);
  auto second = storage_->next_usage_report();
  ASSERT_TRUE(second.ok() && *second);
  EXPECT_GT((*second)->last_seq, first_end);
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0);
}

// A report that raised alerts, small enough for its take-in to come along:
// the check's messages and the take-in in one transaction. The check's
// messages are queued first, each once, and neither cursor has the report
// pending afterwards.
TEST_P(UsageContract, CommitCheckWithTakeInQueuesTheChecksMessagesFirst) {
  load({{"Medan", "Arabika", 700}, {"Medan", "Gayo", 50}}, kDay0, "qm1");
  load({{"Medan", "Arabika", 100}, {"Medan", "Gayo", 40}}, kDay0 + 30, "qm2");
  for (int k = 0; k < 2; ++k) {
    auto p = storage_->next_pending_changes();
    ASSERT_TRUE(p.ok() && *p);
    auto next = storage_->next_usage_report();
    ASSERT_TRUE(next.ok() && *next);
    ASSERT_EQ((*next)->report_id, (*p)->report_id);
    EXPECT_EQ((*next)->changes, 2);
    const UsageReport r = **next;
    std::vector<OutboxMessage> stock;
    struct { int n = 0; } calls;
    if (k == 1) {
      stock.push_back(test::sample_message(clock_, "stock@x", r.report_id, clock_.now()));
    }
    auto judge = [&](const std::vector<UsageRow>&) {
      ++calls.n;
      return std::vector<OutboxMessage>{test::sample_message(
          clock_, "running-" + std::to_string(k) + "@x", r.report_id, clock_.now())};
    };
    auto st = storage_->commit_check_with_take_in((*p)->last_seq, stock, r, 14, 100, judge);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(calls.n, 1);
  }
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(*p);
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(*next);
  auto msgs = storage_->list_outbox(false, 10);   // newest first
  ASSERT_TRUE(msgs.ok());
  std::vector<std::string> order;
  for (auto it = msgs->rbegin(); it != msgs->rend(); ++it) order.push_back(it->message_id);
  EXPECT_EQ(order, (std::vector<std::string>{"running-0@x", "stock@x", "running-1@x"}));
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 600);
  auto g = storage_->usage_of("Medan", "Gayo");
  ASSERT_TRUE(g.ok() && *g);
  EXPECT_EQ((*g)->figures.used, 10);
}

// A report's size for the take-in counts its change records, a levels
// file's too (it writes no rows, only records: the checker must not take a
// large one for a small report).
TEST_P(UsageContract, AReportsChangesCountItsRecordsALevelsFilesToo) {
  load({{"Medan", "Arabika", 450}, {"Medan", "Gayo", 450}, {"Medan", "Kopi", 7}}, kDay0, "lc1");
  take_in();
  const std::vector<LevelLine> lines = {{"Medan", "*", 1000}};
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.replace_levels(lines).ok());
  txn.set_minimums(std::make_shared<const MinimumLevels>(lines, 0),
                   std::make_shared<const MinimumLevels>());
  for (const char* item : {"Arabika", "Gayo", "Kopi"}) {
    ASSERT_TRUE(txn.log_change("Medan", item, item[0] == 'K' ? 7 : 450,
                               item[0] == 'K' ? 7 : 450).ok());
  }
  ReportRecord rec = test::sample_record(clock_, "levels.csv", "lc-levels");
  rec.report_day = kDay0 + 1;
  rec.date_source = "name";
  ASSERT_TRUE(txn.commit(rec).ok());
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok() && *next) << (next.ok() ? "none pending" : next.error().message());
  EXPECT_EQ((*next)->changes, 3);
}

// A load told its report's day before its rows (as the loader does) may
// write the use figures itself (SQLite does, for a store the forecast has
// never seen): whatever a backend does, every figure, history point and
// running_out row is the same as for loads that only learn the day at
// commit. Each month is taken in right after its load (as the daemon
// does), except months 2 and 3, loaded one after the other before their
// take-in; the rows of each month come out of key order and span several
// batches; month 1 brings a new store beside a known one.
TEST_P(UsageContract, TheFiguresAreTheSameWhenTheLoadKnowsItsDayBeforeItsRows) {
  TempDir ref_dir;
  auto ref = Storage::open(GetParam().fresh(ref_dir), StorageOptions{}, clock_);
  const auto month = [](int m) {
    std::vector<Row> rows;
    for (int i = 0; i < 700; ++i) {
      const int k = (i * 389) % 700;  // out of key order
      const std::string item = "item-" + std::to_string(1000 + k);
      rows.push_back({"Medan", item, std::max(0, 2000 - 300 * m - k)});
      if (m >= 1) rows.push_back({"Bali", item, std::max(0, 1500 - 200 * (m - 1) - k % 50)});
    }
    return rows;
  };
  const auto load_into = [&](Storage& st, const std::vector<Row>& rows, std::int64_t day,
                             const std::string& sha, bool day_first) {
    auto begun = st.begin_report();
    ASSERT_TRUE(begun.ok()) << begun.error().message();
    ReportLoad txn = std::move(begun).value();
    if (day_first) txn.set_report_day(day);
    for (const auto& r : rows) ASSERT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
    ReportRecord rec = test::sample_record(clock_, "medan/" + iso_day(day) + ".csv", sha);
    rec.report_day = day;
    rec.date_source = "name";
    auto id = txn.commit(rec);
    ASSERT_TRUE(id.ok()) << id.error().message();
  };
  const auto take_in_all = [&](Storage& st) {
    std::vector<std::string> judged;
    while (true) {
      auto next = st.next_usage_report();
      ASSERT_TRUE(next.ok()) << next.error().message();
      if (!*next) break;
      auto done = st.take_in_usage(**next, 30, 1000, [&](const std::vector<UsageRow>& rows) {
        for (const auto& r : rows) {
          judged.push_back(std::to_string((*next)->report_id) + " " + r.store + "/" + r.item +
                           " " + std::to_string(r.figures.last_count));
        }
        return std::vector<OutboxMessage>();
      });
      ASSERT_TRUE(done.ok()) << done.message();
    }
    judged_[&st == storage_.get() ? 0 : 1].push_back(judged);
  };
  for (int m = 0; m < 5; ++m) {
    const std::int64_t day = kDay0 + 30 * m;
    for (Storage* st : {storage_.get(), ref.get()}) {
      load_into(*st, month(m), day, "d" + std::to_string(m), st == storage_.get());
      if (m != 2) take_in_all(*st);
    }
  }
  EXPECT_EQ(judged_[0], judged_[1]);
  bool any_judged = false;
  for (const auto& j : judged_[0]) any_judged = any_judged || !j.empty();
  EXPECT_TRUE(any_judged);
  expect_same_figures(*storage_, *ref);
}

// A large report each of whose rows changed a count names its stores
// through its rows (the ledger's row count equals its change records); any
// other through its change records. Both give the same figures: the second
// database's reports also hold one row of a store whose count never moves
// after the first month, so they have fewer change records than rows and
// name their stores through the change records. Month 2 leaves Bali's
// counts as they were; month 4 is Bali alone.
TEST_P(UsageContract, AReportsStoresAreTheSameFromItsRowsAsFromItsChangeRecords) {
  TempDir ref_dir;
  auto ref = Storage::open(GetParam().fresh(ref_dir), StorageOptions{}, clock_);
  const auto month = [](int m) {
    std::vector<Row> rows;
    // 5,100 items in two stores: over the 10,000 change records from which
    // the stores come from report_stores.
    for (int k = 0; k < 5100; ++k) {
      const std::string item = "item-" + std::to_string(1000 + k);
      if (m != 4) rows.push_back({"Medan", item, std::max(0, 9000 - 400 * m - k)});
      if (m >= 1) {
        const int bali_month = m == 2 ? 1 : m;  // month 2: Bali as in month 1
        rows.push_back({"Bali", item, std::max(0, 2500 - 300 * bali_month - k % 50)});
      }
    }
    return rows;
  };
  for (int m = 0; m < 6; ++m) {
    const std::int64_t day = kDay0 + 30 * m;
    for (Storage* st : {storage_.get(), ref.get()}) {
      auto rows = month(m);
      if (st == ref.get()) rows.push_back({"Ternate", "item-1000", 40});
      auto begun = st->begin_report();
      ASSERT_TRUE(begun.ok()) << begun.error().message();
      ReportLoad txn = std::move(begun).value();
      for (const auto& r : rows) ASSERT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
      ReportRecord rec =
          test::sample_record(clock_, "medan/" + iso_day(day) + ".csv", "r" + std::to_string(m));
      rec.report_day = day;
      rec.date_source = "name";
      ASSERT_TRUE(txn.commit(rec).ok());
      take_in_all(*st);
    }
  }
  expect_same_figures(*storage_, *ref);
}

// A levels file writes change records (its items that cross their
// minimum) but has no rows of stores, whatever its line count: its stores'
// report days come from its change records, also when it has exactly as
// many lines as change records. Compared with the same file and one line
// more that matches no item.
TEST_P(UsageContract, ALevelsFileWithAsManyLinesAsChangeRecordsMovesItsStoresDays) {
  constexpr int kItems = 10050;
  const auto run = [&](Storage& st, int extra_lines) -> std::optional<UsageRow> {
    const auto report = [&](int m, const std::string& sha) {
      auto begun = st.begin_report();
      EXPECT_TRUE(begun.ok());
      ReportLoad txn = std::move(begun).value();
      for (int k = 0; k < kItems; ++k) {
        EXPECT_TRUE(txn.upsert("Medan", "item-" + std::to_string(10000 + k), 500 - 50 * m).ok());
      }
      ReportRecord rec = test::sample_record(clock_, "medan/r.csv", sha);
      rec.report_day = kDay0 + 10 * m;
      rec.date_source = "name";
      EXPECT_TRUE(txn.commit(rec).ok());
    };
    report(0, "a");
    take_in_all(st);
    report(1, "b");
    take_in_all(st);
    // Each line raises one item's minimum above its count (450).
    std::vector<LevelLine> lines;
    for (int k = 0; k < kItems; ++k) lines.push_back({"Medan", "item-" + std::to_string(10000 + k), 1000});
    for (int k = 0; k < extra_lines; ++k) lines.push_back({"Nowhere", "x" + std::to_string(k), 5});
    auto begun = st.begin_report();
    EXPECT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    EXPECT_TRUE(txn.replace_levels(lines).ok());
    txn.set_minimums(std::make_shared<const MinimumLevels>(lines, 0),
                     std::make_shared<const MinimumLevels>());
    for (int k = 0; k < kItems; ++k) {
      EXPECT_TRUE(txn.log_change("Medan", "item-" + std::to_string(10000 + k), 450, 450).ok());
    }
    ReportRecord rec = test::sample_record(clock_, "levels.csv", "lv");
    rec.report_day = kDay0 + 15;
    rec.date_source = "name";
    EXPECT_TRUE(txn.commit(rec).ok());
    take_in_all(st);
    report(2, "c");
    take_in_all(st);
    auto u = st.usage_of("Medan", "item-10000");
    EXPECT_TRUE(u.ok());
    return u.ok() ? *u : std::nullopt;
  };
  TempDir other_dir;
  auto other = Storage::open(GetParam().fresh(other_dir), StorageOptions{}, clock_);
  const auto got = run(*storage_, 0);
  const auto want = run(*other, 1);
  ASSERT_TRUE(got && want);
  EXPECT_EQ(got->as_of_day, want->as_of_day);
  EXPECT_EQ(got->gap_days, want->gap_days);
  EXPECT_EQ(got->figures.last_day, want->figures.last_day);
  EXPECT_EQ(got->figures.used, want->figures.used);
  EXPECT_EQ(got->figures.used_days, want->figures.used_days);
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageContract,
                         ::testing::ValuesIn(test::storage_backends("usage.db")),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace stockwatch

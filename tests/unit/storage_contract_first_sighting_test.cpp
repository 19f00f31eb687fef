// The storage contract for first sightings (schema step 14 in SQLite, 10
// in PostgreSQL): an item's first figures and history point stay in its
// inventory row until its next change. Every case here states the figures
// and history the take-in of each change record by observe()'s rule
// (pipeline/usage.hpp) gives, so that readers show the same whether a
// first sighting's figures sit in `usage` or in the inventory row.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pg_test_server.hpp"
#include "storage_backends.hpp"
#include "pipeline/usage.hpp"
#include "store/migrate.hpp"
#include "store/sqlite/sqlite_storage.hpp"
#include "store/storage.hpp"
#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::Row;
using test::TempDir;

using test::StorageBackend;

constexpr std::int64_t kDay0 = 20454;  // 2026-01-01

// "first_day last_day last_count used used_days" with days from kDay0, or
// "none".
std::string figures_of(Storage& s, const std::string& store, const std::string& item) {
  auto u = s.usage_of(store, item);
  EXPECT_TRUE(u.ok()) << u.error().message();
  if (!u.ok() || !*u) return "none";
  const auto& f = (*u)->figures;
  return std::to_string(f.first_day - kDay0) + " " + std::to_string(f.last_day - kDay0) + " " +
         std::to_string(f.last_count) + " " + std::to_string(f.used) + " " +
         std::to_string(f.used_days);
}

// "day:count:report;..." with days from kDay0.
std::string history_of(Storage& s, const std::string& store, const std::string& item) {
  auto h = s.item_history(store, item, 50);
  EXPECT_TRUE(h.ok()) << h.error().message();
  std::string out;
  if (!h.ok()) return out;
  for (const auto& p : *h) {
    if (!out.empty()) out += ';';
    out += std::to_string(p.day - kDay0) + ":" + std::to_string(p.count) + ":" +
           std::to_string(p.report_id);
  }
  return out;
}

// "store last_count; ..." of usage_of_item.
std::string listed_of(Storage& s, const std::string& item) {
  auto rows = s.usage_of_item(item);
  EXPECT_TRUE(rows.ok()) << rows.error().message();
  std::string out;
  if (!rows.ok()) return out;
  for (const auto& r : *rows) {
    if (!out.empty()) out += "; ";
    out += r.store + " " + std::to_string(r.figures.last_count);
  }
  return out;
}

std::int64_t load_into(Storage& st, const Clock& clock, const std::vector<Row>& rows,
                       std::int64_t day, const std::string& sha, bool day_first = true) {
  auto begun = st.begin_report();
  EXPECT_TRUE(begun.ok()) << begun.error().message();
  if (!begun.ok()) return 0;
  ReportLoad txn = std::move(begun).value();
  if (day_first) txn.set_report_day(day);
  for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
  ReportRecord rec = test::sample_record(clock, "r/" + sha + ".csv", sha);
  rec.report_day = day;
  rec.date_source = "name";
  auto id = txn.commit(rec);
  EXPECT_TRUE(id.ok()) << id.error().message();
  return id.ok() ? *id : 0;
}

// Takes in at most `n` pending reports; returns their ids.
std::vector<std::int64_t> take_in_n(Storage& st, int n) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < n; ++i) {
    auto next = st.next_usage_report();
    EXPECT_TRUE(next.ok()) << next.error().message();
    if (!next.ok() || !*next) break;
    EXPECT_TRUE(st.take_in_usage(**next, 3650, 1000, {}).ok());
    out.push_back((*next)->report_id);
  }
  return out;
}

class FirstSightingContract : public ::testing::TestWithParam<StorageBackend> {
 protected:
  void SetUp() override {
    storage_ = Storage::open(GetParam().fresh(dir_), StorageOptions{}, clock_);
  }
  std::int64_t load(const std::vector<Row>& rows, std::int64_t day, const std::string& sha,
                    bool day_first = true) {
    return load_into(*storage_, clock_, rows, kDay0 + day, sha, day_first);
  }
  std::vector<std::int64_t> take_in(int n = 1000) { return take_in_n(*storage_, n); }
  std::string figures(const std::string& store, const std::string& item) {
    return figures_of(*storage_, store, item);
  }
  std::string history(const std::string& store, const std::string& item) {
    return history_of(*storage_, store, item);
  }
  std::string R(std::int64_t id) { return std::to_string(id); }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
};

// An older report of a store loaded after a newer one: its rows of that
// store are history only; a store it brings for the first time gets first
// sightings of the older day, whose next change measures use from there.
TEST_P(FirstSightingContract, AnOlderReportLoadedAfterANewerOneKeepsLoadOrderOutOfTheFigures) {
  const auto r1 = load({{"Medan", "Arabika", 100}}, 30, "o1");
  const auto r2 = load({{"Medan", "Arabika", 150}, {"Surabaya", "Gayo", 50}}, 10, "o2");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "30 30 100 0 0");
  EXPECT_EQ(history("Medan", "Arabika"), "10:150:" + R(r2) + ";30:100:" + R(r1));
  EXPECT_EQ(figures("Surabaya", "Gayo"), "10 10 50 0 0");
  EXPECT_EQ(history("Surabaya", "Gayo"), "10:50:" + R(r2));
  const auto r3 = load({{"Medan", "Arabika", 80}, {"Surabaya", "Gayo", 40}}, 40, "o3");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "30 40 80 20 10");
  EXPECT_EQ(history("Medan", "Arabika"),
            "10:150:" + R(r2) + ";30:100:" + R(r1) + ";40:80:" + R(r3));
  EXPECT_EQ(figures("Surabaya", "Gayo"), "10 40 40 10 30");
  EXPECT_EQ(history("Surabaya", "Gayo"), "10:50:" + R(r2) + ";40:40:" + R(r3));
}

// An item that goes to 0 and back, and one first seen at 0.
TEST_P(FirstSightingContract, AnItemThatGoesToZeroAndBack) {
  const auto r1 = load({{"Medan", "Arabika", 10}, {"Medan", "Gayo", 0}}, 0, "z1");
  take_in();
  EXPECT_EQ(figures("Medan", "Gayo"), "0 0 0 0 0");
  EXPECT_EQ(history("Medan", "Gayo"), "0:0:" + R(r1));
  const auto r2 = load({{"Medan", "Arabika", 0}, {"Medan", "Gayo", 5}}, 30, "z2");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "0 30 0 0 0");
  EXPECT_EQ(figures("Medan", "Gayo"), "0 30 5 0 0");
  const auto r3 = load({{"Medan", "Arabika", 10}, {"Medan", "Gayo", 2}}, 60, "z3");
  take_in();
  const auto r4 = load({{"Medan", "Arabika", 4}}, 90, "z4");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "0 90 4 6 30");
  EXPECT_EQ(history("Medan", "Arabika"), "0:10:" + R(r1) + ";30:0:" + R(r2) + ";60:10:" + R(r3) +
                                             ";90:4:" + R(r4));
  EXPECT_EQ(figures("Medan", "Gayo"), "0 60 2 3 30");
  EXPECT_EQ(history("Medan", "Gayo"), "0:0:" + R(r1) + ";30:5:" + R(r2) + ";60:2:" + R(r3));
}

// Readers between loads and take-ins: a first sighting shows once its
// report is taken in, even while a later report that changes the item
// waits; that report's take-in hands the item to the running-out judge
// with the use measured from the first count.
TEST_P(FirstSightingContract, ReadersWhileALaterChangeWaitsAndTheJudgeSeesTheUse) {
  const auto r1 = load({{"Medan", "Arabika", 100}, {"Bali", "Arabika", 40}}, 0, "w1");
  const auto r2 = load({{"Medan", "Arabika", 10}}, 30, "w2");
  EXPECT_EQ(figures("Medan", "Arabika"), "none");
  EXPECT_EQ(history("Medan", "Arabika"), "");
  EXPECT_EQ(listed_of(*storage_, "Arabika"), "");
  EXPECT_EQ(take_in(1), std::vector<std::int64_t>{r1});
  EXPECT_EQ(figures("Medan", "Arabika"), "0 0 100 0 0");
  EXPECT_EQ(history("Medan", "Arabika"), "0:100:" + R(r1));
  EXPECT_EQ(listed_of(*storage_, "Arabika"), "Bali 40; Medan 100");
  auto cur = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(cur.ok() && *cur);
  EXPECT_EQ((*cur)->count, 10);  // the inventory's count, not yet taken in
  auto next = storage_->next_usage_report();
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ((*next)->report_id, r2);
  std::vector<std::string> judged;
  ASSERT_TRUE(storage_
                  ->take_in_usage(**next, 30, 100,
                                  [&](const std::vector<UsageRow>& rows) {
                                    for (const auto& r : rows) {
                                      judged.push_back(r.store + "/" + r.item + " " +
                                                       std::to_string(r.figures.used));
                                    }
                                    return std::vector<OutboxMessage>();
                                  })
                  .ok());
  EXPECT_EQ(judged, std::vector<std::string>{"Medan/Arabika 90"});
  EXPECT_EQ(figures("Medan", "Arabika"), "0 30 10 90 30");
  EXPECT_EQ(history("Medan", "Arabika"), "0:100:" + R(r1) + ";30:10:" + R(r2));
  EXPECT_EQ(listed_of(*storage_, "Arabika"), "Bali 40; Medan 10");
  auto cover = storage_->usage_by_cover(std::nullopt, 10);
  ASSERT_TRUE(cover.ok());
  ASSERT_EQ(cover->size(), 1u);
  EXPECT_EQ((*cover)[0].store, "Medan");
}

// Two reports of the same day, both loaded before either is taken in: the
// second corrects the first sighting's count and its point.
TEST_P(FirstSightingContract, TwoReportsOfOneDayLoadedBeforeTheirTakeIn) {
  const auto r1 = load({{"Medan", "Arabika", 100}, {"Medan", "Gayo", 7}}, 0, "s1");
  const auto r2 = load({{"Medan", "Arabika", 90}, {"Medan", "Toraja", 3}}, 0, "s2");
  EXPECT_EQ(take_in(1), std::vector<std::int64_t>{r1});
  EXPECT_EQ(figures("Medan", "Arabika"), "0 0 100 0 0");
  EXPECT_EQ(history("Medan", "Arabika"), "0:100:" + R(r1));
  EXPECT_EQ(figures("Medan", "Toraja"), "none");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "0 0 90 0 0");
  EXPECT_EQ(history("Medan", "Arabika"), "0:90:" + R(r2));
  EXPECT_EQ(figures("Medan", "Toraja"), "0 0 3 0 0");
  EXPECT_EQ(history("Medan", "Toraja"), "0:3:" + R(r2));
  EXPECT_EQ(figures("Medan", "Gayo"), "0 0 7 0 0");
  const auto r3 = load({{"Medan", "Arabika", 60}, {"Medan", "Gayo", 1}}, 30, "s3");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "0 30 60 30 30");
  EXPECT_EQ(history("Medan", "Arabika"), "0:90:" + R(r2) + ";30:60:" + R(r3));
  EXPECT_EQ(figures("Medan", "Gayo"), "0 30 1 6 30");
  EXPECT_EQ(history("Medan", "Gayo"), "0:7:" + R(r1) + ";30:1:" + R(r3));
}

// A report that both first-sights items and changes others (not "all
// first"), and an item first seen in one store while it has figures in
// another.
TEST_P(FirstSightingContract, AMixedReportAndAnItemNewInOneStoreOnly) {
  const auto r1 = load({{"Medan", "Arabika", 100}}, 0, "m1");
  take_in();
  const auto r2 = load({{"Medan", "Arabika", 80}, {"Bali", "Arabika", 50}}, 30, "m2");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "0 30 80 20 30");
  EXPECT_EQ(figures("Bali", "Arabika"), "30 30 50 0 0");
  EXPECT_EQ(history("Bali", "Arabika"), "30:50:" + R(r2));
  EXPECT_EQ(listed_of(*storage_, "Arabika"), "Bali 50; Medan 80");
  const auto r3 = load({{"Medan", "Arabika", 70}, {"Bali", "Arabika", 20}}, 60, "m3");
  take_in();
  EXPECT_EQ(figures("Bali", "Arabika"), "30 60 20 30 30");
  EXPECT_EQ(history("Bali", "Arabika"), "30:50:" + R(r2) + ";60:20:" + R(r3));
  EXPECT_EQ(history("Medan", "Arabika"),
            "0:100:" + R(r1) + ";30:80:" + R(r2) + ";60:70:" + R(r3));
}

// An older report whose day is known only after its rows (a date column):
// its rows change the inventory, but observe() takes none of an older day
// into the figures; the first sighting of the newer report stays the
// figures' start.
TEST_P(FirstSightingContract, AnOlderReportWhoseDayComesAfterItsRows) {
  const auto r1 = load({{"Medan", "Arabika", 100}}, 30, "l1");
  const auto r2 = load({{"Medan", "Arabika", 150}, {"Medan", "Gayo", 9}}, 10, "l2", false);
  EXPECT_EQ(take_in(1), std::vector<std::int64_t>{r1});
  EXPECT_EQ(figures("Medan", "Arabika"), "30 30 100 0 0");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "30 30 100 0 0");
  EXPECT_EQ(history("Medan", "Arabika"), "10:150:" + R(r2) + ";30:100:" + R(r1));
  EXPECT_EQ(figures("Medan", "Gayo"), "10 10 9 0 0");
  const auto r3 = load({{"Medan", "Arabika", 80}, {"Medan", "Gayo", 4}}, 40, "l3");
  take_in();
  EXPECT_EQ(figures("Medan", "Arabika"), "30 40 80 20 10");
  EXPECT_EQ(history("Medan", "Arabika"),
            "10:150:" + R(r2) + ";30:100:" + R(r1) + ";40:80:" + R(r3));
  EXPECT_EQ(figures("Medan", "Gayo"), "10 40 4 5 30");
}

INSTANTIATE_TEST_SUITE_P(Backends, FirstSightingContract,
                         ::testing::ValuesIn(test::storage_backends("first.db")),
                         [](const auto& info) { return info.param.name; });

// stockwatch migrate of a SQLite database with first sightings, one taken
// in and one report loaded but not taken in: PostgreSQL shows and goes on
// with the same figures as SQLite does.
TEST(FirstSightingMigrate, PostgreSqlGoesOnWithTheSameFigures) {
  TempDir dir;
  ManualClock clock;
  const auto file = dir / "before.db";
  auto lite = Storage::open(file, StorageOptions{}, clock);
  const auto r1 = load_into(*lite, clock, {{"Medan", "Arabika", 100}, {"Medan", "Gayo", 5}},
                            kDay0, "g1");
  take_in_n(*lite, 10);
  const auto r2 = load_into(*lite, clock, {{"Medan", "Arabika", 70}, {"Medan", "Toraja", 3}},
                            kDay0 + 30, "g2");
  lite.reset();
  auto& server = test::PgTestServer::instance();
  const std::string url = server.url(server.fresh_database());
  auto migrated = migrate_to_postgresql(file, url, StorageOptions{}, clock);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message();
  auto pg = Storage::open(url, StorageOptions{}, clock);
  lite = Storage::open(file, StorageOptions{}, clock);
  for (Storage* s : {lite.get(), pg.get()}) {
    SCOPED_TRACE(s == pg.get() ? "postgresql" : "sqlite");
    EXPECT_EQ(figures_of(*s, "Medan", "Arabika"), "0 0 100 0 0");
    EXPECT_EQ(history_of(*s, "Medan", "Arabika"), "0:100:" + std::to_string(r1));
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "none");
    EXPECT_EQ(take_in_n(*s, 10), std::vector<std::int64_t>{r2});
    EXPECT_EQ(figures_of(*s, "Medan", "Arabika"), "0 30 70 30 30");
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "30 30 3 0 0");
    EXPECT_EQ(figures_of(*s, "Medan", "Gayo"), "0 0 5 0 0");
    const auto r3 = load_into(*s, clock, {{"Medan", "Gayo", 2}, {"Medan", "Toraja", 1}},
                              kDay0 + 60, "g3");
    take_in_n(*s, 10);
    EXPECT_EQ(figures_of(*s, "Medan", "Gayo"), "0 60 2 3 60");
    EXPECT_EQ(history_of(*s, "Medan", "Gayo"),
              "0:5:" + std::to_string(r1) + ";60:2:" + std::to_string(r3));
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "30 60 1 2 30");
    EXPECT_EQ(history_of(*s, "Medan", "Toraja"),
              "30:3:" + std::to_string(r2) + ";60:1:" + std::to_string(r3));
  }
}


// A step-13 database with a report loaded but not taken in (a new item,
// Toraja, whose inventory row has no first report), upgraded, then a load
// that changes Toraja again before that take-in; then migrated to
// PostgreSQL before the take-ins. Both take-ins give observe()'s figures.
TEST(FirstSightingUpgrade, AStep13ReportWaitingWhenTheItemChangesAgain) {
  TempDir dir;
  ManualClock clock;
  const auto file = dir / "v13.db";
  (void)SqliteStorage::open_with_schema(file, {}, clock, SqliteStorage::schema_steps().first(13));
  const std::string d = std::to_string(kDay0), d10 = std::to_string(kDay0 + 10);
  {
    test::RawDb raw(file);
    raw.exec(
        "INSERT INTO reports(id, path, size, sha256, status, rows, changes, received_at, "
        "finished_at, first_seq, last_seq, report_day, date_source) VALUES "
        "(1, 'a.csv', 10, 'sha-a', 'loaded', 1, 1, 0, 0, 1, 1, " + d + ", 'name'), "
        "(2, 'b.csv', 10, 'sha-b', 'loaded', 2, 2, 0, 0, 2, 3, " + d10 + ", 'name');"
        "INSERT INTO inventory(store, item, count, updated_at, report_id) VALUES "
        "('Medan', 'Arabika', 4, 0, 2), ('Medan', 'Toraja', 6, 0, 2);"
        "INSERT INTO changes(seq, store, item, old_count, new_count, report_id) VALUES "
        "(1, 'Medan', 'Arabika', NULL, 7, 1), "
        "(2, 'Medan', 'Arabika', 7, 4, 2), (3, 'Medan', 'Toraja', NULL, 6, 2);"
        "INSERT INTO report_stores(store, report_id) VALUES ('Medan', 1), ('Medan', 2);"
        "INSERT INTO usage(store, item, first_day, last_day, last_count, used, used_days) VALUES "
        "('Medan', 'Arabika', " + d + ", " + d + ", 7, 0, 0);"
        "INSERT INTO usage_points(store, item, day, count, report_id) VALUES "
        "('Medan', 'Arabika', " + d + ", 7, 1);"
        "INSERT INTO usage_stores(store, last_day, prev_day) VALUES ('Medan', " + d + ", NULL);"
        "UPDATE cursors SET position = 1 WHERE name = 'usage';");
  }
  std::int64_t r3 = 0;
  {
    auto s = Storage::open(file, StorageOptions{}, clock);
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "none");
    r3 = load_into(*s, clock, {{"Medan", "Toraja", 2}, {"Medan", "Arabika", 1}}, kDay0 + 20,
                   "sha-c");
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "none");
    EXPECT_EQ(figures_of(*s, "Medan", "Arabika"), "0 0 7 0 0");
  }
  auto& server = test::PgTestServer::instance();
  const std::string url = server.url(server.fresh_database());
  auto migrated = migrate_to_postgresql(file, url, StorageOptions{}, clock);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message();
  auto lite = Storage::open(file, StorageOptions{}, clock);
  auto pg = Storage::open(url, StorageOptions{}, clock);
  for (Storage* s : {lite.get(), pg.get()}) {
    SCOPED_TRACE(s == pg.get() ? "postgresql" : "sqlite");
    EXPECT_EQ(take_in_n(*s, 1), std::vector<std::int64_t>{2});
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "10 10 6 0 0");
    EXPECT_EQ(history_of(*s, "Medan", "Toraja"), "10:6:2");
    EXPECT_EQ(take_in_n(*s, 10), std::vector<std::int64_t>{r3});
    EXPECT_EQ(figures_of(*s, "Medan", "Toraja"), "10 20 2 4 10");
    EXPECT_EQ(history_of(*s, "Medan", "Toraja"), "10:6:2;20:2:" + std::to_string(r3));
    EXPECT_EQ(figures_of(*s, "Medan", "Arabika"), "0 20 1 6 20");
    EXPECT_EQ(history_of(*s, "Medan", "Arabika"),
              "0:7:1;10:4:2;20:1:" + std::to_string(r3));
  }
}

}  // namespace
}  // namespace stockwatch

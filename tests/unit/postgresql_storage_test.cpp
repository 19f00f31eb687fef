// The PostgreSQL backend's own tests (what the contract suite does not
// cover), against a real PostgreSQL 15 started by the test harness
// (pg_test_server.hpp).
#include "store/postgresql/postgresql_storage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "base/clock.hpp"
#include "pg_test_server.hpp"
#include "storage_test_util.hpp"
#include "store/postgresql/pg.hpp"
#include "text/masked_password.hpp"

namespace stockwatch {
namespace {

using test::PgTestServer;

TEST(PgTestServer, StartsUnprivilegedOnASocketAndGivesFreshDatabases) {
  auto& server = PgTestServer::instance();
  const std::string a = server.fresh_database();
  const std::string b = server.fresh_database();
  EXPECT_NE(a, b);
  EXPECT_TRUE(std::filesystem::exists(server.dir() / ".s.PGSQL.5432"));
  // Both databases answer through the socket.
  for (const auto& db : {a, b}) {
    EXPECT_NO_THROW(server.run_as_self({std::string(PgTestServer::kBin) + "/psql", "-X", "-q",
                                        "-d", server.conninfo(db), "-c", "SELECT 1"}));
  }
}

class PgStorage : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& server = PgTestServer::instance();
    db_ = server.fresh_database();
    url_ = server.url(db_);
  }
  std::unique_ptr<Storage> open() { return Storage::open(url_, StorageOptions{}, clock_); }
  // A plain connection, for what the interface does not show.
  pg::Connection raw() {
    auto c = pg::Connection::open({{"dbname", url_}});
    EXPECT_TRUE(c.ok()) << c.error();
    return c;
  }
  std::int64_t load(Storage& s, const std::vector<test::Row>& rows, const std::string& sha) {
    return test::load_rows(s, clock_, rows, sha + ".csv", sha);
  }

  ManualClock clock_;
  std::string db_, url_;
};

// The change-log ordering problem: with numbers assigned when a change is
// written, report A (begun first: the lower id, the lower numbers) that
// commits after report B would be behind a cursor that already passed B,
// and its changes would never be checked. Numbers assigned at commit put
// A after B.
TEST_F(PgStorage, AChangeCommittedLateIsNotSkippedByTheCursor) {
  auto node_a = open();
  auto node_b = open();
  auto checker = open();

  auto begun = node_a->begin_report();
  ASSERT_TRUE(begun.ok()) << begun.error().message();
  ReportLoad late = std::move(begun).value();
  ASSERT_TRUE(late.upsert("Medan", "Late", 0).ok());
  ASSERT_TRUE(late.flush().ok());  // written, not committed

  const auto early = load(*node_b, {{"Padang", "Early", 0}}, "sha-early");
  auto p = checker->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, early);
  ASSERT_TRUE(checker->commit_check((*p)->last_seq, 0, {}).ok());
  const auto early_seq = (*p)->last_seq;
  EXPECT_FALSE(checker->next_pending_changes()->has_value());

  auto late_id = late.commit(test::sample_record(clock_, "late.csv", "sha-late"));
  ASSERT_TRUE(late_id.ok()) << late_id.error().message();
  EXPECT_LT(*late_id, early);  // the lower id, committed later

  p = checker->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value()) << "the late report was skipped";
  EXPECT_EQ((*p)->report_id, *late_id);
  ASSERT_EQ((*p)->events.size(), 1u);
  EXPECT_EQ((*p)->events[0].item, "Late");
  EXPECT_GT((*p)->events[0].seq, early_seq);
}

// Two nodes loading the same content at once: the ledger keeps one loaded
// copy; the other load rolls back with kBusy (tried again, the loader finds
// the content loaded and records a duplicate).
TEST_F(PgStorage, TwoLoadsOfTheSameContentAtOnceCommitOne) {
  auto node_a = open();
  auto node_b = open();
  auto begun = node_a->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad a = std::move(begun).value();
  ASSERT_TRUE(a.upsert("Medan", "Robusta", 3).ok());
  ASSERT_TRUE(a.flush().ok());
  // (Another row: the same row would wait for A's lock.)
  const auto b = load(*node_b, {{"Medan", "Gayo", 3}}, "sha-same");
  auto committed = a.commit(test::sample_record(clock_, "a.csv", "sha-same"));
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().code(), ErrorCode::kBusy) << committed.error().message();
  auto found = node_a->find_loaded("sha-same");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, b);
  EXPECT_EQ(node_a->recent_reports(10)->size(), 1u);
}

// New items are inserted with a plain INSERT (kMergeSource): a load that
// reaches an item another load is inserting waits for it, and gives up as
// busy (here at its lock timeout; had the other committed meanwhile, at its
// unique key), with nothing of it kept. Loaded again once the other load
// committed, it finds the row and records the change from that count.
TEST_F(PgStorage, ANewItemAnotherLoadIsInsertingMakesTheSecondLoadBusyThenItLoads) {
  auto node_a = open();
  StorageOptions quick;
  quick.busy_timeout_ms = 200;
  auto node_b = Storage::open(url_, quick, clock_);
  auto begun = node_a->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad a = std::move(begun).value();
  ASSERT_TRUE(a.upsert("Medan", "Robusta", 3).ok());
  ASSERT_TRUE(a.flush().ok());
  {
    auto other = node_b->begin_report();
    ASSERT_TRUE(other.ok());
    ReportLoad b = std::move(other).value();
    ASSERT_TRUE(b.upsert("Medan", "Robusta", 5).ok());
    ASSERT_TRUE(b.upsert("Medan", "Gayo", 1).ok());
    auto flushed = b.flush();
    ASSERT_FALSE(flushed.ok());
    EXPECT_EQ(flushed.error().code(), ErrorCode::kBusy) << flushed.error().message();
  }
  ASSERT_TRUE(a.commit(test::sample_record(clock_, "a.csv", "sha-a")).ok());
  load(*node_b, {{"Medan", "Robusta", 5}, {"Medan", "Gayo", 1}}, "sha-b");
  EXPECT_EQ(*node_a->count_of("Medan", "Robusta"), std::optional<std::int64_t>(5));
  EXPECT_EQ(*node_a->count_of("Medan", "Gayo"), std::optional<std::int64_t>(1));
  // The change log: a's insert, then b's rows in the order given.
  auto conn = raw();
  auto changes = conn.query(
      "SELECT item, COALESCE(old_count, -1), new_count FROM change_log ORDER BY seq");
  ASSERT_TRUE(changes.ok()) << changes.error().message();
  ASSERT_EQ(changes->rows(), 3);
  EXPECT_EQ(changes->text(0, 0) + " " + changes->text(0, 1) + " " + changes->text(0, 2),
            "Robusta -1 3");
  EXPECT_EQ(changes->text(1, 0) + " " + changes->text(1, 1) + " " + changes->text(1, 2),
            "Robusta 3 5");
  EXPECT_EQ(changes->text(2, 0) + " " + changes->text(2, 1) + " " + changes->text(2, 2),
            "Gayo -1 1");
}

// A large first load writes its rows straight into the inventory (COPY)
// once it has found its store new. Another node's first load of the same
// store, checking before the first commits, finds it new too: its COPY
// waits for the first load's rows and gives up as busy, with nothing of it
// kept. Loaded again after the first committed, its rows are merged as
// changes of the first load's counts.
TEST_F(PgStorage, TwoFirstLoadsOfOneStoreWritingStraightLoadOneAfterTheOther) {
  auto node_a = open();
  StorageOptions quick;
  quick.busy_timeout_ms = 200;
  auto node_b = Storage::open(url_, quick, clock_);
  const int n = PostgresStorage::kBatchRows;
  const auto item = [](int k) {
    char b[16];
    std::snprintf(b, sizeof b, "item-%06d", k);
    return std::string(b);
  };
  const auto give = [&](ReportLoad& txn, std::int64_t count) {
    for (int k = 0; k < n; ++k) {
      auto st = txn.upsert("Medan", item(k), count, static_cast<std::uint64_t>(k) + 2);
      if (!st.ok()) return st;
    }
    return Status{};
  };
  auto begun = node_a->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad a = std::move(begun).value();
  ASSERT_TRUE(give(a, 3).ok());  // the batch went in straight
  {
    auto other = node_b->begin_report();
    ASSERT_TRUE(other.ok());
    ReportLoad b = std::move(other).value();
    auto given = give(b, 5);
    ASSERT_FALSE(given.ok());
    EXPECT_EQ(given.error().code(), ErrorCode::kBusy) << given.error().message();
  }
  ASSERT_TRUE(a.commit(test::sample_record(clock_, "a.csv", "sha-a")).ok());
  begun = node_b->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad b = std::move(begun).value();
  ASSERT_TRUE(give(b, 5).ok());
  ASSERT_TRUE(b.commit(test::sample_record(clock_, "b.csv", "sha-b")).ok());
  EXPECT_EQ(*node_a->count_of("Medan", item(n - 1)), std::optional<std::int64_t>(5));
  auto conn = raw();
  auto changes = conn.query(
      "SELECT count(*), count(old_count), min(seq), max(seq), "
      "count(*) FILTER (WHERE old_count = 3 AND new_count = 5) FROM change_log");
  ASSERT_TRUE(changes.ok()) << changes.error().message();
  EXPECT_EQ(changes->text(0, 0) + " " + changes->text(0, 1) + " " + changes->text(0, 2) + " " +
                changes->text(0, 3) + " " + changes->text(0, 4),
            std::to_string(2 * n) + " " + std::to_string(n) + " 1 " + std::to_string(2 * n) +
                " " + std::to_string(n));
}

// The first row after a batch written straight repeats the batch's last
// key (the loader hands on a sorted report's repeated rows before it
// rejects the report): it goes through the merge, as an update, instead of
// failing the COPY as a unique violation (which would be taken for another
// load's and retried without end).
TEST_F(PgStorage, ARepeatedKeyJustAfterABatchWrittenStraightIsMerged) {
  auto s = open();
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  const int n = PostgresStorage::kBatchRows;
  for (int k = 0; k < n; ++k) {
    char item[16];
    std::snprintf(item, sizeof item, "item-%06d", k);
    ASSERT_TRUE(txn.upsert("Medan", item, 1, static_cast<std::uint64_t>(k) + 2).ok());
  }
  char last[16];
  std::snprintf(last, sizeof last, "item-%06d", n - 1);
  ASSERT_TRUE(txn.upsert("Medan", last, 2, static_cast<std::uint64_t>(n) + 2).ok());
  auto id = txn.commit(test::sample_record(clock_, "r.csv", "sha-r"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*s->count_of("Medan", last), std::optional<std::int64_t>(2));
}

TEST_F(PgStorage, ALargeReportGoesThroughSeveralCopiesAndKeepsItsOrder) {
  auto s = open();
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  const int n = PostgresStorage::kBatchRows + 10;
  for (int i = 0; i < n; ++i) {
    // Names COPY's text format must escape.
    const std::string item = "item\t" + std::to_string(i) + "\\\n";
    ASSERT_TRUE(txn.upsert("Medan", item, i % 1000 == 0 ? 0 : 1).ok());
  }
  auto id = txn.commit(test::sample_record(clock_, "big.csv", "sha-big"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*s->count_of("Medan", "item\t1000\\\n"), 0);
  auto p = s->next_pending_changes(100000);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->last_seq, n);
  ASSERT_EQ((*p)->events.size(), static_cast<std::size_t>((n + 999) / 1000));
  for (std::size_t k = 0; k < (*p)->events.size(); ++k) {
    EXPECT_EQ((*p)->events[k].seq, static_cast<std::int64_t>(k) * 1000 + 1);
  }
}

// The change records are numbered in the report's order (by line) in the
// merge: without a sort when the rows came in line order and every one of
// them changed (kMergeSource), by the sort otherwise. Both ways give the
// same order: rows in line order that all change; rows in key order whose
// lines are not (as the loader writes a sorted report); rows in line order
// of which one keeps its count.
TEST_F(PgStorage, ChangeRecordsFollowTheLinesWithOrWithoutTheSort) {
  auto s = open();
  const auto logged = [&](const std::vector<std::tuple<std::string, std::int64_t, std::uint64_t>>&
                              rows,
                          const std::string& sha) {
    auto begun = s->begin_report();
    EXPECT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    for (const auto& [item, count, line] : rows) {
      EXPECT_TRUE(txn.upsert("Medan", item, count, line).ok());
    }
    auto id = txn.commit(test::sample_record(clock_, sha + ".csv", sha));
    EXPECT_TRUE(id.ok()) << id.error().message();
    auto conn = raw();
    auto r = conn.query("SELECT string_agg(seq || item || ':' || new_count, ' ' ORDER BY seq) "
                        "FROM change_log WHERE report_id = $1::bigint",
                        {*id});
    EXPECT_TRUE(r.ok()) << r.error().message();
    return r->text(0, 0);
  };
  // Each record's number in the feed (seq), then its item and count.
  // In line order, every row new.
  EXPECT_EQ(logged({{"c", 1, 2}, {"d", 2, 3}, {"e", 3, 3}, {"f", 0, 7}}, "sha-1"),
            "1c:1 2d:2 3e:3 4f:0");
  // In key order, the lines not: numbered by line.
  EXPECT_EQ(logged({{"a", 4, 9}, {"b", 5, 2}, {"g", 6, 5}, {"h", 7, 3}}, "sha-2"),
            "5b:5 6h:7 7g:6 8a:4");
  // In line order, one row unchanged (d): the others numbered one after the other.
  EXPECT_EQ(logged({{"c", 8, 2}, {"d", 2, 3}, {"e", 9, 4}, {"f", 1, 5}}, "sha-3"),
            "9c:8 10e:9 11f:1");
}

// The stores of a load are the ones its writer saw (report_stores_add),
// sent as a text[]: names with quotes, backslashes, commas and braces come
// through as they are, each once, however the rows interleave them.
TEST_F(PgStorage, EachStoreOfALoadIsRecordedOnceWhateverItsName) {
  auto s = open();
  const std::vector<std::string> stores = {"Toko \"Kopi\"", "C:\\Gudang\\", "a,b", "{x}", "NULL",
                                           " spaced "};
  std::vector<test::Row> rows;
  for (int i = 0; i < 3; ++i) {
    for (const auto& store : stores) rows.push_back({store, "item " + std::to_string(i), i});
  }
  const auto id = load(*s, rows, "sha-names");
  auto listed = s->stores_of_report(id);
  ASSERT_TRUE(listed.ok()) << listed.error().message();
  std::vector<std::string> want = stores;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*listed, want);
}

// The load's scratch tables are emptied by DELETE while few rows were
// written to them, by TRUNCATE past that: small loads before and after a
// large one, and a load rolled back between them, each see only their own
// rows (a scratch row left behind would show as an extra change).
TEST_F(PgStorage, SmallLoadsAroundALargeOneSeeOnlyTheirOwnRows) {
  auto s = open();
  std::int64_t seq = 0;
  auto small = [&](int round) {
    const std::vector<test::Row> rows = {{"Medan", "Robusta", round % 2},
                                         {"Medan", "Arabika", round + 1}};
    load(*s, rows, "sha-small-" + std::to_string(round));
    auto p = s->next_pending_changes(100000);
    ASSERT_TRUE(p.ok() && p->has_value());
    EXPECT_EQ((*p)->last_seq, seq + 2) << round;  // both rows changed, nothing else
    seq = (*p)->last_seq;
    ASSERT_TRUE(s->commit_check(seq, 0, {}).ok());
  };
  for (int round = 0; round < 3; ++round) small(round);
  {
    auto begun = s->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    for (int i = 0; i < 30000; ++i) {
      ASSERT_TRUE(txn.upsert("Big", "item " + std::to_string(i), 1).ok());
    }
    auto id = txn.commit(test::sample_record(clock_, "big.csv", "sha-big"));
    ASSERT_TRUE(id.ok()) << id.error().message();
    seq += 30000;
    ASSERT_TRUE(s->commit_check(seq, 0, {}).ok());
  }
  {
    auto begun = s->begin_report();  // rolled back: leaves nothing
    ASSERT_TRUE(begun.ok());
    ASSERT_TRUE(begun->upsert("Medan", "Toraja", 5).ok());
  }
  for (int round = 3; round < 6; ++round) small(round);
  EXPECT_EQ(*s->count_of("Medan", "Toraja"), std::nullopt);
}

TEST_F(PgStorage, AReadOnlyDatabaseIsRefusedWithAClearError) {
  open();  // the schema
  ASSERT_TRUE(raw().exec("ALTER DATABASE " + db_ + " SET default_transaction_read_only = on").ok());
  try {
    open();
    FAIL() << "opened a read-only database";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("read-only"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("primary"), std::string::npos) << e.what();
  }
}

TEST_F(PgStorage, AnUnreachableServerIsAClearErrorWithoutThePassword) {
  const std::string url = "postgresql://stockwatch:s3cret@/nowhere?host=/nonexistent&port=5432";
  try {
    Storage::open(url, StorageOptions{}, clock_);
    FAIL() << "connected to nothing";
  } catch (const StorageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cannot connect to PostgreSQL at postgresql://stockwatch:***@/nowhere"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("s3cret"), std::string::npos) << what;
  }
}

TEST_F(PgStorage, ANewerSchemaIsRefusedAndLeftAlone) {
  open();
  ASSERT_TRUE(raw().exec("UPDATE stockwatch_schema SET version = 99").ok());
  EXPECT_THROW(open(), StorageError);
  auto v = raw().query("SELECT version FROM stockwatch_schema");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->i64(0, 0), 99);
}

TEST_F(PgStorage, TwoNodesOpeningANewDatabaseAtOnceCreateTheSchemaOnce) {
  std::unique_ptr<Storage> a, b;
  std::thread ta([&] { a = open(); });
  std::thread tb([&] { b = open(); });
  ta.join();
  tb.join();
  ASSERT_TRUE(a && b);
  EXPECT_EQ(raw().query("SELECT count(*) FROM stockwatch_schema")->i64(0, 0), 1);
}

// Ends every stockwatch connection to the test's database but `raw`'s.
void terminate_others(const pg::Connection& raw, const std::string& db) {
  auto killed = raw.query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name = 'stockwatch'",
      {db});
  ASSERT_TRUE(killed.ok()) << killed.error().message();
  ASSERT_GE(killed->i64(0, 0), 1);
}

// pg_terminate_backend: the next statement fails and says why; the one
// after connects again (the first attempt comes at once) and works, with
// its temporary tables and prepared statements made again.
TEST_F(PgStorage, ATerminatedConnectionIsMadeAgain) {
  auto s = open();
  load(*s, {{"Medan", "Gayo", 3}}, "sha-before");
  auto admin = raw();
  terminate_others(admin, db_);
  auto failed = s->open_outbox_counts();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), ErrorCode::kTransient);
  EXPECT_NE(failed.error().message().find("connection lost"), std::string::npos)
      << failed.error().message();
  ASSERT_TRUE(s->connection_problem().has_value());
  EXPECT_NE(s->connection_problem()->find("no connection"), std::string::npos);

  auto counts = s->open_outbox_counts();
  ASSERT_TRUE(counts.ok()) << counts.error().message();
  EXPECT_EQ(s->connection_problem(), std::nullopt);
  // A load works on the new connection (it needs the scratch tables).
  load(*s, {{"Medan", "Gayo", 0}}, "sha-after");
  EXPECT_EQ(*s->count_of("Medan", "Gayo"), std::optional<std::int64_t>(0));
}

// A load cut off by the loss is not continued on a new connection: it
// fails, nothing of it stays, and the same report loads afterwards.
TEST_F(PgStorage, ALoadCutOffByALostConnectionLeavesNothing) {
  auto s = open();
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad cut = std::move(begun).value();
  ASSERT_TRUE(cut.upsert("Medan", "Gayo", 0).ok());
  ASSERT_TRUE(cut.flush().ok());
  auto admin = raw();
  terminate_others(admin, db_);
  EXPECT_FALSE(cut.upsert("Medan", "Sidikalang", 4).ok() && cut.flush().ok());
  auto committed = cut.commit(test::sample_record(clock_, "cut.csv", "sha-cut"));
  ASSERT_FALSE(committed.ok());
  EXPECT_EQ(committed.error().code(), ErrorCode::kTransient);
  // The next statement outside the load connects again; nothing stayed.
  EXPECT_EQ(*s->count_of("Medan", "Gayo"), std::nullopt);
  EXPECT_FALSE(s->find_loaded("sha-cut")->has_value());
  load(*s, {{"Medan", "Gayo", 0}}, "sha-cut");
  EXPECT_TRUE(s->find_loaded("sha-cut")->has_value());
}

TEST(MaskPassword, HidesEveryPasswordAConnectionStringCanHold) {
  EXPECT_EQ(mask_password("postgresql://u:pw@db.example.com:5432/sw?sslmode=require"),
            "postgresql://u:***@db.example.com:5432/sw?sslmode=require");
  EXPECT_EQ(mask_password("postgresql://u:p@ss@db/sw"), "postgresql://u:***@db/sw");
  EXPECT_EQ(mask_password("postgres://db/sw?user=u&password=pw&sslmode=require"),
            "postgres://db/sw?user=u&password=***&sslmode=require");
  EXPECT_EQ(mask_password("postgresql://u@db/sw"), "postgresql://u@db/sw");
  EXPECT_EQ(mask_password("host=db password=pw user=u"), "host=db password=*** user=u");
  EXPECT_EQ(mask_password("host=db password='p w\\'x' user=u"), "host=db password=*** user=u");
}

}  // namespace
}  // namespace stockwatch

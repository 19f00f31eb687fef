// SqliteStorage: the schema, report loads as transactions, the change log, the
// ledger, the checker's cursors and the outbox, on a real SQLite file.
#include "store/sqlite/sqlite_storage.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "storage_test_util.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using namespace std::chrono_literals;
using test::RawDb;
using test::TempDir;

using test::Row;

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(StorageOptions options = {}) {
    storage_.reset();
    storage_ = SqliteStorage::open(db_path(), options, clock_);
    ASSERT_NE(storage_, nullptr);
  }

  [[nodiscard]] std::filesystem::path db_path() const { return dir_ / "stockwatch.db"; }

  ReportRecord record(const std::string& path, const std::string& sha) const {
    return test::sample_record(clock_, path, sha);
  }

  // Loads `rows` (lines 2, 3, ...) as one committed report; returns its id.
  std::int64_t load(const std::vector<Row>& rows, const std::string& path,
                    const std::string& sha) {
    return test::load_rows(*storage_, clock_, rows, path, sha);
  }

  OutboxMessage message(const std::string& message_id, std::int64_t report_id,
                        TimePoint next_attempt) const {
    return test::sample_message(clock_, message_id, report_id, next_attempt);
  }

  std::int64_t count_rows(const std::string& table) {
    RawDb raw(db_path());
    return raw.integer("SELECT COUNT(*) FROM " + table);
  }

  TempDir dir_{"storage"};
  ManualClock clock_;
  std::unique_ptr<SqliteStorage> storage_;
};

// --- Schema --------------------------------------------------------------------

TEST_F(StorageTest, OpenCreatesTheSchemaAndItsVersion) {
  RawDb raw(db_path());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), SqliteStorage::schema_version());
  const auto tables = raw.rows(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
      "ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{"accounts", "changes", "cursors", "events",
                                             "inbox_claims", "inventory", "levels",
                                             "levels_state", "mail_attachments", "mail_receipts",
                                             "mutes", "outbox", "report_stores", "reports",
                                             "sessions", "setup_tokens", "sign_in_failures",
                                             "usage", "usage_points", "usage_stores"}));
  EXPECT_EQ(raw.rows("SELECT name, position FROM cursors ORDER BY name"),
            (std::vector<std::string>{"changes|0", "rejected|0", "usage|0",
                                      "usage_alerts_from|0"}));
  EXPECT_EQ(raw.rows("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
}

TEST_F(StorageTest, NewDatabaseHasNothingPending) {
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  EXPECT_FALSE(pending->has_value());
  auto rejection = storage_->next_pending_rejection();
  ASSERT_TRUE(rejection.ok());
  EXPECT_FALSE(rejection->has_value());
  auto next = storage_->next_due_time();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued + counts->sent + counts->dead, 0);
}

// --- Upserts and the change log -----------------------------------------------------

TEST_F(StorageTest, UpsertCountsChangedRowsAfterAFlush) {
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok()) << begun.error().message();
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 5).ok());
    ASSERT_TRUE(txn.upsert("Medan", "Arabica Gayo", 3).ok());
    // Another store with the same item is a different row.
    ASSERT_TRUE(txn.upsert("Makassar", "Robusta Dairi", 1).ok());
    EXPECT_EQ(txn.rows(), 3);
    EXPECT_EQ(txn.changes(), 0) << "buffered until a flush";
    ASSERT_TRUE(txn.flush().ok());
    EXPECT_EQ(txn.changes(), 3);
    ASSERT_TRUE(txn.commit(record("first.csv", "sha-1")).ok());
  }
  auto count = storage_->count_of("Medan", "Robusta Dairi");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, std::optional<std::int64_t>(5));

  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 5).ok());    // same count
  ASSERT_TRUE(txn.upsert("Medan", "Arabica Gayo", 0).ok());     // changed
  ASSERT_TRUE(txn.upsert("Makassar", "Robusta Dairi", 1).ok()); // same count
  ASSERT_TRUE(txn.flush().ok());
  EXPECT_EQ(txn.rows(), 3);
  EXPECT_EQ(txn.changes(), 1);
  ASSERT_TRUE(txn.commit(record("second.csv", "sha-2")).ok());

  auto gayo = storage_->count_of("Medan", "Arabica Gayo");
  ASSERT_TRUE(gayo.ok());
  EXPECT_EQ(*gayo, std::optional<std::int64_t>(0));
  auto missing = storage_->count_of("Medan", "Liberika");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

TEST_F(StorageTest, BatchesLargerThanOneStatementAreAllWritten) {
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  const int n = SqliteStorage::kBatchRows * 3 + 7;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(txn.upsert("Medan", "Item " + std::to_string(i), i % 5).ok());
  }
  auto id = txn.commit(record("many.csv", "sha-many"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(count_rows("inventory"), n);
  EXPECT_EQ(count_rows("changes"), n);
  RawDb raw(db_path());
  EXPECT_EQ(raw.rows("SELECT rows, changes, first_seq, last_seq FROM reports"),
            (std::vector<std::string>{std::to_string(n) + "|" + std::to_string(n) + "|1|" +
                                      std::to_string(n)}));
}

TEST_F(StorageTest, ChangeRecordsOnlyWhenTheCountChanges) {
  const auto first = load({{"Medan", "Robusta Dairi", 5}, {"Medan", "Arabica Gayo", 0}},
                          "first.csv", "sha-1");
  const auto second = load({{"Medan", "Robusta Dairi", 5}, {"Medan", "Arabica Gayo", 12}},
                           "second.csv", "sha-2");
  const auto third = load({{"Medan", "Robusta Dairi", 5}, {"Medan", "Arabica Gayo", 12}},
                          "third.csv", "sha-3");
  RawDb raw(db_path());
  EXPECT_EQ(raw.rows("SELECT kind, store, item, old_count, new_count, report_id FROM changes "
                     "ORDER BY seq"),
            (std::vector<std::string>{
                "INSERT|Medan|Robusta Dairi|NULL|5|" + std::to_string(first),
                "INSERT|Medan|Arabica Gayo|NULL|0|" + std::to_string(first),
                "MODIFY|Medan|Arabica Gayo|0|12|" + std::to_string(second),
            }));
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM changes WHERE report_id = " +
                        std::to_string(third)),
            0);
  EXPECT_EQ(raw.rows("SELECT store, item, count, report_id FROM inventory ORDER BY item"),
            (std::vector<std::string>{"Medan|Arabica Gayo|12|" + std::to_string(second),
                                      "Medan|Robusta Dairi|5|" + std::to_string(first)}));
}

// Reports in key order, reversed, shuffled, sparse and with new keys
// between existing ones: the inventory and the change records always match
// a plain model of what each row should do.
TEST_F(StorageTest, ChangeRecordsMatchAModelWhateverTheOrderOfTheRows) {
  std::mt19937 rng(7);
  std::vector<std::pair<std::string, std::string>> keys;
  for (const char* store : {"Makassar", "Medan", "Medan 2", "Padang"}) {
    for (int i = 0; i < 700; ++i) {
      // Item names whose byte order differs from their number order, a
      // prefix of another name, and non-ASCII bytes.
      keys.emplace_back(store, "Item " + std::to_string(i) + (i % 7 == 0 ? "" : " x") +
                                   (i % 11 == 0 ? "\xC3\xA9" : ""));
    }
  }
  std::map<std::pair<std::string, std::string>, std::int64_t> model;
  for (int report = 0; report < 8; ++report) {
    std::vector<std::pair<std::string, std::string>> chosen;
    for (const auto& k : keys) {
      // Early reports hold a part of the keys; later ones a sparse few or all.
      const int keep = report < 2 ? 2 : report < 5 ? 20 : 1;
      if (std::uniform_int_distribution<int>(0, keep - 1)(rng) == 0) chosen.push_back(k);
    }
    if (report % 4 == 1) std::reverse(chosen.begin(), chosen.end());
    if (report % 4 == 2) std::shuffle(chosen.begin(), chosen.end(), rng);
    std::vector<Row> rows;
    std::vector<std::string> expected;  // kind|store|item|old|new, in row order
    for (const auto& [store, item] : chosen) {
      const std::int64_t count = std::uniform_int_distribution<int>(0, 3)(rng);
      rows.push_back({store, item, count});
      const auto it = model.find({store, item});
      if (it == model.end()) {
        expected.push_back("INSERT|" + store + "|" + item + "|NULL|" + std::to_string(count));
      } else if (it->second != count) {
        expected.push_back("MODIFY|" + store + "|" + item + "|" + std::to_string(it->second) +
                           "|" + std::to_string(count));
      }
      model[{store, item}] = count;
    }
    const auto id = load(rows, "r" + std::to_string(report) + ".csv",
                         "sha-" + std::to_string(report));
    RawDb raw(db_path());
    EXPECT_EQ(raw.rows("SELECT kind, store, item, old_count, new_count FROM changes "
                       "WHERE report_id = " + std::to_string(id) + " ORDER BY seq"),
              expected)
        << "report " << report;
    EXPECT_EQ(raw.integer("SELECT changes FROM reports WHERE id = " + std::to_string(id)),
              static_cast<std::int64_t>(expected.size()));
    std::vector<std::string> inventory;
    for (const auto& [k, count] : model) {
      inventory.push_back(k.first + "|" + k.second + "|" + std::to_string(count));
    }
    EXPECT_EQ(raw.rows("SELECT store, item, count FROM inventory ORDER BY store, item"),
              inventory)
        << "report " << report;
  }
}

// The loader rejects a report that repeats a row, but until it knows, the
// rows are written like any others, without an error.
TEST_F(StorageTest, ARowRepeatedWithinABatchIsWrittenInRowOrder) {
  load({{"Medan", "Robusta Dairi", 5}}, "first.csv", "sha-1");
  const auto id = load({{"Medan", "Arabica Gayo", 1},
                        {"Medan", "Robusta Dairi", 6},
                        {"Medan", "Arabica Gayo", 2},
                        {"Medan", "Robusta Dairi", 6},
                        {"Medan", "Arabica Gayo", 3}},
                       "second.csv", "sha-2");
  RawDb raw(db_path());
  EXPECT_EQ(raw.rows("SELECT kind, item, old_count, new_count FROM changes WHERE report_id = " +
                     std::to_string(id) + " ORDER BY seq"),
            (std::vector<std::string>{"INSERT|Arabica Gayo|NULL|1", "MODIFY|Robusta Dairi|5|6",
                                      "MODIFY|Arabica Gayo|1|2", "MODIFY|Arabica Gayo|2|3"}));
  EXPECT_EQ(raw.rows("SELECT item, count FROM inventory ORDER BY item"),
            (std::vector<std::string>{"Arabica Gayo|3", "Robusta Dairi|6"}));
}

TEST_F(StorageTest, AReportLoadDestroyedWithoutCommitLeavesNothing) {
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
    ASSERT_TRUE(txn.upsert("Medan", "Arabica Gayo", 4).ok());
    ASSERT_TRUE(txn.flush().ok());
    EXPECT_EQ(txn.changes(), 2);
  }  // no commit
  EXPECT_EQ(count_rows("inventory"), 0);
  EXPECT_EQ(count_rows("changes"), 0);
  EXPECT_EQ(count_rows("reports"), 0);

  // Explicit rollback does the same, and the connection is usable afterwards.
  {
    auto begun = storage_->begin_report();
    ASSERT_TRUE(begun.ok()) << begun.error().message();
    ReportLoad txn = std::move(begun).value();
    ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
    txn.rollback();
    auto after = txn.upsert("Medan", "Arabica Gayo", 1);
    EXPECT_FALSE(after.ok());
    auto commit = txn.commit(record("x.csv", "sha-x"));
    EXPECT_FALSE(commit.ok());
  }
  EXPECT_EQ(count_rows("inventory"), 0);
  EXPECT_EQ(count_rows("changes"), 0);
  EXPECT_EQ(count_rows("reports"), 0);

  const auto id = load({{"Medan", "Robusta Dairi", 0}}, "later.csv", "sha-later");
  EXPECT_GT(id, 0);
  EXPECT_EQ(count_rows("inventory"), 1);
  EXPECT_EQ(count_rows("changes"), 1);
  EXPECT_EQ(count_rows("reports"), 1);
  // The pending changes belong to the committed report, not the rolled-back one.
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(pending->has_value());
  EXPECT_EQ((*pending)->report_id, id);
  EXPECT_EQ((*pending)->report_path, "later.csv");
}

TEST_F(StorageTest, AMovedReportLoadCommitsOnceAndTheOldOneDoesNothing) {
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad a = std::move(begun).value();
  ASSERT_TRUE(a.upsert("Medan", "Robusta Dairi", 3).ok());
  ReportLoad b = std::move(a);
  a.rollback();  // the moved-from load owns nothing
  EXPECT_EQ(b.rows(), 1);
  auto id = b.commit(record("moved.csv", "sha-moved"));
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(count_rows("inventory"), 1);
  EXPECT_EQ(count_rows("reports"), 1);
}

// --- The ledger --------------------------------------------------------------------

TEST_F(StorageTest, CommitWritesTheLedgerRowWithRowsAndChanges) {
  auto begun = storage_->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
  ASSERT_TRUE(txn.upsert("Medan", "Arabica Gayo", 7).ok());
  ReportRecord rec = record("2026/11/medan.csv", "abc123");
  rec.status = ReportStatus::kRejected;  // commit always records "loaded"
  rec.rows = 99;                          // ... with the load's own counts
  const TimePoint received = clock_.now();
  clock_.advance(1500ms);
  rec.finished_at = clock_.now();
  auto id = txn.commit(rec);
  ASSERT_TRUE(id.ok()) << id.error().message();

  auto got = storage_->report(*id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const ReportRecord& r = **got;
  EXPECT_EQ(r.id, *id);
  EXPECT_EQ(r.path, "2026/11/medan.csv");
  EXPECT_EQ(r.size, 42);
  EXPECT_EQ(r.sha256, "abc123");
  EXPECT_EQ(r.status, ReportStatus::kLoaded);
  EXPECT_EQ(r.rows, 2);
  EXPECT_EQ(r.changes, 2);
  EXPECT_EQ(r.error, "");
  EXPECT_FALSE(r.duplicate_of.has_value());
  EXPECT_EQ(r.received_at, received);
  EXPECT_EQ(r.finished_at, received + 1500ms);
  EXPECT_EQ(r.archived_path, "");

  auto none = storage_->report(*id + 100);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(StorageTest, FindLoadedMatchesOnlyLoadedReportsByContent) {
  const auto id = load({{"Medan", "Robusta Dairi", 1}}, "a.csv", "sha-a");
  ReportRecord rejected = record("b.csv", "sha-b");
  rejected.status = ReportStatus::kRejected;
  rejected.error = "line 2, column count: 'x' is not a whole number";
  ASSERT_TRUE(storage_->record_report(rejected).ok());

  auto hit = storage_->find_loaded("sha-a");
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->id, id);
  EXPECT_EQ((*hit)->path, "a.csv");
  EXPECT_EQ((*hit)->rows, 1);

  auto miss = storage_->find_loaded("sha-b");  // rejected, not loaded
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
  auto unknown = storage_->find_loaded("sha-zzz");
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->has_value());
}

TEST_F(StorageTest, RecordReportStoresRejectedAndDuplicateReports) {
  const auto original = load({{"Medan", "Robusta Dairi", 1}}, "a.csv", "sha-a");

  ReportRecord rejected = record("bad.csv", "sha-bad");
  rejected.status = ReportStatus::kRejected;
  rejected.error = "line 3, column count: '-1' is negative; a count is 0 or more\nline 4: ...";
  auto rid = storage_->record_report(rejected);
  ASSERT_TRUE(rid.ok()) << rid.error().message();

  ReportRecord dup = record("copy.csv", "sha-a");
  dup.status = ReportStatus::kDuplicate;
  dup.duplicate_of = original;
  auto did = storage_->record_report(dup);
  ASSERT_TRUE(did.ok()) << did.error().message();

  EXPECT_LT(original, *rid);
  EXPECT_LT(*rid, *did);

  auto r = storage_->report(*rid);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->status, ReportStatus::kRejected);
  EXPECT_EQ((*r)->error, rejected.error);
  EXPECT_EQ((*r)->rows, 0);

  auto d = storage_->report(*did);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->status, ReportStatus::kDuplicate);
  EXPECT_EQ((*d)->duplicate_of, std::optional<std::int64_t>(original));

  // The original is still the loaded one for its content.
  auto found = storage_->find_loaded("sha-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, original);

  auto recent = storage_->recent_reports(2);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].id, *did);
  EXPECT_EQ((*recent)[1].id, *rid);

  ASSERT_TRUE(storage_->mark_archived(*rid, "/srv/failed/bad.csv").ok());
  auto archived = storage_->report(*rid);
  ASSERT_TRUE(archived.ok() && archived->has_value());
  EXPECT_EQ((*archived)->archived_path, "/srv/failed/bad.csv");

  // Record ids keep growing after a record_report: the next load does not
  // reuse one.
  const auto next = load({{"Medan", "Arabica Gayo", 1}}, "next.csv", "sha-next");
  EXPECT_GT(next, *did);
}

TEST_F(StorageTest, TheLedgerKeepsEveryRowSoNoIdIsGivenTwice) {
  const auto a = load({{"Medan", "Robusta Dairi", 3}}, "a.csv", "sha-a");
  const auto b = load({{"Medan", "Robusta Dairi", 4}}, "b.csv", "sha-b");
  RawDb raw(db_path());
  // The newest row cannot go, so the next id (the highest + 1) is new.
  EXPECT_THROW(raw.exec("DELETE FROM reports WHERE id = " + std::to_string(b)),
               std::runtime_error);
  EXPECT_THROW(raw.exec("DELETE FROM reports"), std::runtime_error);
  EXPECT_EQ(count_rows("reports"), 2);
  const auto c = load({{"Medan", "Robusta Dairi", 5}}, "c.csv", "sha-c");
  EXPECT_GT(b, a);
  EXPECT_GT(c, b);
  // No AUTOINCREMENT bookkeeping is written per report.
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_sequence WHERE name = 'reports'"), 0);
}

// What a small report costs is mostly the pages its transaction changes:
// each is written whole to the log, and later copied into the file. On a
// ledger of many reports (so the ledger's indexes span several pages), a
// six-row report of a new store changes one page of each: inventory,
// changes, reports, its four indexes of loaded reports, and report_stores.
TEST_F(StorageTest, ASmallReportOnALongLedgerChangesFewPages) {
  auto rows_of = [](int n) {
    std::vector<Row> rows;
    char store[32];
    std::snprintf(store, sizeof store, "Warehouse-%05d", n);
    for (int i = 0; i < 6; ++i) rows.push_back({store, "Product-" + std::to_string(i), 10 + i});
    return rows;
  };
  auto name = [](int n) {
    char path[32];
    std::snprintf(path, sizeof path, "batch-%05d.csv", n);
    return std::string(path);
  };
  constexpr int kLedger = 1200;
  for (int n = 0; n < kLedger; ++n) {
    clock_.advance(1s);
    load(rows_of(n), name(n), "sha-" + std::to_string(n * 7919 % 100003));
  }
  RawDb raw(db_path());
  ASSERT_GE(raw.integer("SELECT COUNT(*) FROM dbstat WHERE name = 'reports_path'"), 3)
      << "the ledger's indexes should span several pages";
  raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  clock_.advance(1s);
  load(rows_of(kLedger), name(kLedger), "sha-last");
  // The log holds the frames of that one transaction: one per page.
  const auto log = raw.rows("PRAGMA wal_checkpoint(PASSIVE)");
  ASSERT_EQ(log.size(), 1u);
  const std::string frames = log[0].substr(2, log[0].find('|', 2) - 2);
  EXPECT_LE(std::stoi(frames), 8) << log[0];
}

TEST_F(StorageTest, BeginReportIsBusyWhileAnotherConnectionWrites) {
  StorageOptions options;
  options.busy_timeout_ms = 0;
  open(options);
  RawDb other(db_path());
  other.exec("BEGIN IMMEDIATE");
  auto begun = storage_->begin_report();
  ASSERT_FALSE(begun.ok());
  EXPECT_EQ(begun.error().code(), ErrorCode::kBusy);
  other.exec("ROLLBACK");
  auto again = storage_->begin_report();
  EXPECT_TRUE(again.ok()) << again.error().message();
}

// --- The checker's view ------------------------------------------------------------

TEST_F(StorageTest, NextPendingChangesGroupsByReport) {
  const auto a = load({{"Medan", "Robusta Dairi", 0},
                       {"Medan", "Arabica Gayo", 5},
                       {"Makassar", "Toraja", 0}},
                      "a.csv", "sha-a");
  clock_.advance(1min);
  const auto b = load({{"Medan", "Robusta Dairi", 8},  // 0 -> 8: back in stock
                       {"Medan", "Arabica Gayo", 0},   // 5 -> 0: out of stock
                       {"Makassar", "Toraja", 0},      // unchanged
                       {"Makassar", "Kalosi", 3}},     // new, not alerting
                      "b.csv", "sha-b");

  auto first = storage_->next_pending_changes();
  ASSERT_TRUE(first.ok()) << first.error().message();
  ASSERT_TRUE(first->has_value());
  const PendingChanges& pa = **first;
  EXPECT_EQ(pa.report_id, a);
  EXPECT_EQ(pa.report_path, "a.csv");
  ASSERT_EQ(pa.of(EventKind::kOutOfStock).size(), 2u);
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[0].store, "Medan");
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[0].item, "Robusta Dairi");
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[0].kind, ChangeKind::kInsert);
  EXPECT_FALSE(pa.of(EventKind::kOutOfStock)[0].old_count.has_value());
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[0].new_count, 0);
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[0].report_id, a);
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[1].store, "Makassar");
  EXPECT_EQ(pa.of(EventKind::kOutOfStock)[1].item, "Toraja");
  EXPECT_LT(pa.of(EventKind::kOutOfStock)[0].seq, pa.of(EventKind::kOutOfStock)[1].seq);
  EXPECT_TRUE(pa.of(EventKind::kBackInStock).empty());
  EXPECT_EQ(pa.last_seq, 3);  // three changes in report a

  // Asking again without moving the cursor gives the same report.
  auto again = storage_->next_pending_changes();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->report_id, a);

  ASSERT_TRUE(storage_->commit_check(pa.last_seq, 0, {}).ok());
  auto second = storage_->next_pending_changes();
  ASSERT_TRUE(second.ok() && second->has_value());
  const PendingChanges& pb = **second;
  EXPECT_EQ(pb.report_id, b);
  EXPECT_EQ(pb.report_path, "b.csv");
  EXPECT_EQ(pb.report_time, clock_.now());
  ASSERT_EQ(pb.of(EventKind::kOutOfStock).size(), 1u);
  EXPECT_EQ(pb.of(EventKind::kOutOfStock)[0].item, "Arabica Gayo");
  EXPECT_EQ(pb.of(EventKind::kOutOfStock)[0].kind, ChangeKind::kModify);
  EXPECT_EQ(pb.of(EventKind::kOutOfStock)[0].old_count, std::optional<std::int64_t>(5));
  ASSERT_EQ(pb.of(EventKind::kBackInStock).size(), 1u);
  EXPECT_EQ(pb.of(EventKind::kBackInStock)[0].item, "Robusta Dairi");
  EXPECT_EQ(pb.of(EventKind::kBackInStock)[0].old_count, std::optional<std::int64_t>(0));
  EXPECT_EQ(pb.of(EventKind::kBackInStock)[0].new_count, 8);
  EXPECT_EQ(pb.last_seq, 6);  // three more changes; Toraja was unchanged

  ASSERT_TRUE(storage_->commit_check(pb.last_seq, 0, {}).ok());
  auto done = storage_->next_pending_changes();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
}

TEST_F(StorageTest, PendingChangesComePageByPageAndTheCursorMayStopInsideAReport) {
  load({{"Medan", "A", 3}, {"Medan", "B", 0}}, "base.csv", "sha-base");  // seq 1, 2
  ASSERT_TRUE(storage_->commit_check(2, 0, {}).ok());
  const auto a = load({{"Medan", "A", 0},      // 3: out of stock
                       {"Medan", "B", 4},      // 4: back in stock
                       {"Medan", "C", 9},      // 5: quiet
                       {"Medan", "D", 0},      // 6: out of stock
                       {"Medan", "E", 0},      // 7: out of stock
                       {"Medan", "F", 8}},     // 8: quiet
                      "a.csv", "sha-a");
  const auto b = load({{"Bali", "K", 0}}, "b.csv", "sha-b");  // 9

  auto p = storage_->next_pending_changes(2);
  ASSERT_TRUE(p.ok() && p->has_value());
  PendingChanges page = **p;
  EXPECT_EQ(page.report_id, a);
  EXPECT_EQ(page.last_seq, 8);
  ASSERT_EQ(page.of(EventKind::kOutOfStock).size(), 1u);
  EXPECT_EQ(page.of(EventKind::kOutOfStock)[0].item, "A");
  ASSERT_EQ(page.of(EventKind::kBackInStock).size(), 1u);
  EXPECT_EQ(page.of(EventKind::kBackInStock)[0].item, "B");
  EXPECT_EQ(page.more_after, 4);  // a full page: there may be more

  ASSERT_TRUE(storage_->next_change_page(page, 2).ok());
  ASSERT_EQ(page.of(EventKind::kOutOfStock).size(), 2u);
  EXPECT_EQ(page.of(EventKind::kOutOfStock)[0].item, "D");
  EXPECT_EQ(page.of(EventKind::kOutOfStock)[1].item, "E");
  EXPECT_TRUE(page.of(EventKind::kBackInStock).empty());
  EXPECT_EQ(page.more_after, 7);
  ASSERT_TRUE(storage_->next_change_page(page, 2).ok());
  EXPECT_TRUE(page.of(EventKind::kOutOfStock).empty());  // the last page may be empty
  EXPECT_EQ(page.more_after, 0);
  EXPECT_FALSE(storage_->next_change_page(page, 2).ok());

  // A cursor inside the report: the report is pending from there on.
  ASSERT_TRUE(storage_->commit_check(4, 0, {}).ok());
  p = storage_->next_pending_changes(10);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, a);
  ASSERT_EQ((*p)->of(EventKind::kOutOfStock).size(), 2u);
  EXPECT_EQ((*p)->of(EventKind::kOutOfStock)[0].item, "D");
  EXPECT_EQ((*p)->more_after, 0);  // not a full page: that is all

  // The cursor never moves back.
  ASSERT_TRUE(storage_->commit_check(8, 0, {}).ok());
  ASSERT_TRUE(storage_->commit_check(3, 0, {}).ok());
  p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, b);
}

TEST_F(StorageTest, AReportWithOnlyQuietChangesIsStillPendingOnce) {
  const auto id = load({{"Medan", "Robusta Dairi", 4}}, "a.csv", "sha-a");
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->report_id, id);
  EXPECT_TRUE((*p)->of(EventKind::kOutOfStock).empty());
  EXPECT_TRUE((*p)->of(EventKind::kBackInStock).empty());
  EXPECT_EQ((*p)->last_seq, 1);
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {}).ok());
  auto done = storage_->next_pending_changes();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
}

TEST_F(StorageTest, NextPendingRejectionFollowsItsOwnCursor) {
  ReportRecord bad = record("bad.csv", "sha-bad");
  bad.status = ReportStatus::kRejected;
  bad.error = "the report is empty";
  auto first = storage_->record_report(bad);
  ASSERT_TRUE(first.ok());
  ReportRecord dup = record("dup.csv", "sha-x");
  dup.status = ReportStatus::kDuplicate;
  ASSERT_TRUE(storage_->record_report(dup).ok());
  bad.path = "worse.csv";
  auto second = storage_->record_report(bad);
  ASSERT_TRUE(second.ok());

  auto p = storage_->next_pending_rejection();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->id, *first);
  EXPECT_EQ((*p)->error, "the report is empty");
  ASSERT_TRUE(storage_->commit_check(0, *first, {}).ok());
  p = storage_->next_pending_rejection();
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->id, *second);  // the duplicate in between is not a rejection
  ASSERT_TRUE(storage_->commit_check(0, *second, {}).ok());
  p = storage_->next_pending_rejection();
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
  RawDb raw(db_path());
  EXPECT_EQ(raw.rows("SELECT name, position FROM cursors WHERE name NOT LIKE 'usage%' ORDER BY name"),
            (std::vector<std::string>{"changes|0", "rejected|" + std::to_string(*second)}));
}

TEST_F(StorageTest, CommitCheckQueuesMessagesAndMovesTheCursor) {
  const auto id = load({{"Medan", "Robusta Dairi", 0}}, "a.csv", "sha-a");
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  OutboxMessage m1 = message("out_of_stock-report.1.aaaa@example.com", id, clock_.now());
  OutboxMessage m2 = message("out_of_stock-report.1.bbbb@example.com", id, clock_.now());
  m2.recipient = "buyer@example.com";
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {m1, m2}).ok());

  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 2);
  auto done = storage_->next_pending_changes();
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());

  auto listed = storage_->list_outbox(true, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  const OutboxMessage& got = (*listed)[1];  // newest first
  EXPECT_EQ(got.message_id, m1.message_id);
  EXPECT_EQ(got.report_id, id);
  EXPECT_EQ(got.event, "out_of_stock");
  EXPECT_EQ(got.sender, m1.sender);
  EXPECT_EQ(got.recipient, "owner@example.com");
  EXPECT_EQ(got.subject, "Inventory Alert!");
  EXPECT_EQ(got.data, m1.data);
  EXPECT_EQ(got.state, OutboxState::kQueued);
  EXPECT_EQ(got.attempts, 0);
  EXPECT_EQ(got.created_at, clock_.now());
  EXPECT_EQ(got.next_attempt_at, clock_.now());
  EXPECT_EQ(got.last_error, "");
  EXPECT_EQ((*listed)[0].recipient, "buyer@example.com");
}

TEST_F(StorageTest, CommitCheckIgnoresAMessageIdAlreadyQueued) {
  const auto id = load({{"Medan", "Robusta Dairi", 0}}, "a.csv", "sha-a");
  OutboxMessage m = message("out_of_stock-report.1.aaaa@example.com", id, clock_.now());
  ASSERT_TRUE(storage_->commit_check(0, 0, {m}).ok());
  ASSERT_TRUE(storage_->mark_sent(1, clock_.now()).ok());

  OutboxMessage again = m;
  again.subject = "a different subject";
  OutboxMessage fresh = message("out_of_stock-report.1.cccc@example.com", id, clock_.now());
  ASSERT_TRUE(storage_->commit_check(0, 0, {again, fresh}).ok());

  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->sent, 1);    // the first copy, untouched
  EXPECT_EQ(counts->queued, 1);  // only the new one
  RawDb raw(db_path());
  EXPECT_EQ(raw.rows("SELECT message_id, subject, state FROM outbox ORDER BY id"),
            (std::vector<std::string>{
                "out_of_stock-report.1.aaaa@example.com|Inventory Alert!|sent",
                "out_of_stock-report.1.cccc@example.com|Inventory Alert!|queued"}));
}

TEST_F(StorageTest, CommitCheckIsAllOrNothing) {
  const auto id = load({{"Medan", "Robusta Dairi", 0}}, "a.csv", "sha-a");
  {
    // The database refuses the second message of the batch.
    RawDb raw(db_path());
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON outbox WHEN NEW.recipient = 'refused@example.com' "
             "BEGIN SELECT RAISE(ABORT, 'refused'); END");
  }
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  OutboxMessage good = message("good@example.com", id, clock_.now());
  OutboxMessage bad = message("bad@example.com", id, clock_.now());
  bad.recipient = "refused@example.com";
  auto st = storage_->commit_check((*p)->last_seq, 0, {good, bad});
  EXPECT_FALSE(st.ok());

  EXPECT_EQ(count_rows("outbox"), 0);
  auto still = storage_->next_pending_changes();
  ASSERT_TRUE(still.ok());
  ASSERT_TRUE(still->has_value());  // the cursor did not move
  EXPECT_EQ((*still)->report_id, id);

  {
    RawDb raw(db_path());
    raw.exec("DROP TRIGGER refuse");
  }
  bad.recipient = "owner2@example.com";
  ASSERT_TRUE(storage_->commit_check((*still)->last_seq, 0, {good, bad}).ok());
  EXPECT_EQ(count_rows("outbox"), 2);
}

// --- The outbox ---------------------------------------------------------------------

TEST_F(StorageTest, OutboxLifecycle) {
  const TimePoint t0 = clock_.now();
  ASSERT_TRUE(storage_
                  ->commit_check(0, 0,
                                 {message("m1@x", 1, t0), message("m2@x", 1, t0 + 10s),
                                  message("m3@x", 1, t0 + 20s), message("m4@x", 1, t0 + 5s)})
                  .ok());
  // ids follow insertion: m1=1, m2=2, m3=3, m4=4.

  auto due = storage_->due_messages(t0, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].message_id, "m1@x");

  due = storage_->due_messages(t0 + 10s, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 3u);  // ordered by due time
  EXPECT_EQ((*due)[0].message_id, "m1@x");
  EXPECT_EQ((*due)[1].message_id, "m4@x");
  EXPECT_EQ((*due)[2].message_id, "m2@x");
  due = storage_->due_messages(t0 + 10s, 2);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 2u);

  auto next = storage_->next_due_time();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, t0);

  // Sent.
  ASSERT_TRUE(storage_->mark_sent(1, t0 + 1s).ok());
  next = storage_->next_due_time();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, t0 + 5s);

  // Retried later.
  ASSERT_TRUE(storage_->mark_retry(4, t0 + 30s, "421 try again later").ok());
  next = storage_->next_due_time();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, t0 + 10s);

  // Dead.
  ASSERT_TRUE(storage_->mark_dead(2, "550 no such user").ok());
  next = storage_->next_due_time();
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, t0 + 20s);

  due = storage_->due_messages(t0 + 1h, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].message_id, "m3@x");
  EXPECT_EQ((*due)[1].message_id, "m4@x");
  EXPECT_EQ((*due)[1].attempts, 1);
  EXPECT_EQ((*due)[1].last_error, "421 try again later");
  EXPECT_EQ((*due)[1].next_attempt_at, t0 + 30s);

  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 2);
  EXPECT_EQ(counts->sent, 1);
  EXPECT_EQ(counts->dead, 1);

  auto all = storage_->list_outbox(true, 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, 4);  // newest first
  EXPECT_EQ((*all)[3].id, 1);
  EXPECT_EQ((*all)[3].state, OutboxState::kSent);
  EXPECT_EQ((*all)[3].attempts, 1);
  EXPECT_EQ((*all)[3].sent_at, t0 + 1s);
  EXPECT_EQ((*all)[2].state, OutboxState::kDead);
  EXPECT_EQ((*all)[2].attempts, 1);
  EXPECT_EQ((*all)[2].last_error, "550 no such user");

  auto open = storage_->list_outbox(false, 10);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->size(), 3u);  // everything but the sent one
  for (const auto& m : *open) EXPECT_NE(m.state, OutboxState::kSent);
  auto limited = storage_->list_outbox(true, 1);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 1u);
  EXPECT_EQ((*limited)[0].id, 4);

  // Requeue: only dead messages come back, with a fresh start.
  clock_.advance(2h);
  ASSERT_TRUE(storage_->requeue(2, clock_.now()).ok());
  ASSERT_TRUE(storage_->requeue(1, clock_.now()).ok());  // sent: left alone
  all = storage_->list_outbox(true, 10);
  ASSERT_TRUE(all.ok());
  const OutboxMessage& m2 = (*all)[2];
  EXPECT_EQ(m2.id, 2);
  EXPECT_EQ(m2.state, OutboxState::kQueued);
  EXPECT_EQ(m2.attempts, 0);
  EXPECT_EQ(m2.next_attempt_at, clock_.now());
  EXPECT_EQ(m2.created_at, clock_.now());
  EXPECT_EQ((*all)[3].state, OutboxState::kSent);
  counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 3);
  EXPECT_EQ(counts->sent, 1);
  EXPECT_EQ(counts->dead, 0);

  // Nothing queued: no next due time.
  for (std::int64_t id : {2, 3, 4}) ASSERT_TRUE(storage_->mark_sent(id, clock_.now()).ok());
  next = storage_->next_due_time();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
}

// --- Reopening -----------------------------------------------------------------------

TEST_F(StorageTest, ReopeningTheSameFileKeepsEverything) {
  const auto a = load({{"Medan", "Robusta Dairi", 0}}, "a.csv", "sha-a");
  auto p = storage_->next_pending_changes();
  ASSERT_TRUE(p.ok() && p->has_value());
  ASSERT_TRUE(storage_->commit_check((*p)->last_seq, 0, {message("m1@x", a, clock_.now())}).ok());
  const auto b = load({{"Medan", "Robusta Dairi", 3}}, "b.csv", "sha-b");
  ASSERT_TRUE(storage_->mark_archived(a, "/srv/processed/a.csv").ok());

  StorageOptions full;
  full.synchronous = "full";
  open(full);

  auto count = storage_->count_of("Medan", "Robusta Dairi");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, std::optional<std::int64_t>(3));
  auto found = storage_->find_loaded("sha-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->archived_path, "/srv/processed/a.csv");
  auto counts = storage_->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 1);
  // The cursor survived: only report b is pending.
  auto pending = storage_->next_pending_changes();
  ASSERT_TRUE(pending.ok() && pending->has_value());
  EXPECT_EQ((*pending)->report_id, b);
  EXPECT_EQ((*pending)->of(EventKind::kBackInStock).size(), 1u);
  RawDb raw(db_path());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), SqliteStorage::schema_version());
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM changes"), 2);
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM cursors WHERE name NOT LIKE 'usage%'"), 2);
}

// The daemon's loading connection does not checkpoint at commit; it calls
// checkpoint(bytes) after each report. Once the whole log is copied, the
// next report writes the log from its beginning again, so a stream of
// reports keeps the file at the size of a few reports; below the given
// size nothing is copied and the log grows.
TEST_F(StorageTest, CheckpointsBetweenReportsKeepTheLogFromGrowing) {
  StorageOptions loading;
  loading.defer_maintenance = true;
  open(loading);
  const auto wal = std::filesystem::path(db_path().string() + "-wal");
  auto load_report = [&](int n) {
    std::vector<Row> rows;
    for (int i = 0; i < 500; ++i) {
      rows.push_back({"Medan", "item-" + std::to_string(n) + "-" + std::to_string(i), i + 1});
    }
    (void)load(rows, "r" + std::to_string(n) + ".csv", "sha-" + std::to_string(n));
  };

  load_report(0);
  const auto one_report = std::filesystem::file_size(wal);
  // A threshold above the log's size: nothing is copied, the log grows.
  for (int n = 1; n <= 4; ++n) {
    load_report(n);
    ASSERT_TRUE(storage_->checkpoint(std::int64_t{1} << 40).ok());
  }
  const auto grown = std::filesystem::file_size(wal);
  EXPECT_GT(grown, 4 * one_report);
  // Past the threshold: copied, and the log starts over.
  ASSERT_TRUE(storage_->checkpoint(1).ok());
  for (int n = 5; n <= 20; ++n) {
    load_report(n);
    ASSERT_TRUE(storage_->checkpoint(1).ok());
  }
  EXPECT_EQ(std::filesystem::file_size(wal), grown);  // reused from the start, not extended
  RawDb raw(db_path());
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM inventory"), 21 * 500);
}

// A reader in the log (the mail connection, the console) keeps it from
// starting over, so it still holds frames that are copied already. Those
// do not count again: each report did copy and sync the log then.
TEST_F(StorageTest, FramesCopiedAlreadyDoNotCountTowardsTheNextCheckpoint) {
  StorageOptions loading;
  loading.defer_maintenance = true;
  open(loading);
  auto load_report = [&](int n) {
    std::vector<Row> rows;
    for (int i = 0; i < 500; ++i) {
      rows.push_back({"Medan", "item-" + std::to_string(n) + "-" + std::to_string(i), i + 1});
    }
    (void)load(rows, "r" + std::to_string(n) + ".csv", "sha-" + std::to_string(n));
  };
  const auto wal = std::filesystem::path(db_path().string() + "-wal");
  load_report(0);
  const auto before = std::filesystem::file_size(wal);
  RawDb reader(db_path());
  reader.exec("BEGIN");
  EXPECT_EQ(reader.integer("SELECT COUNT(*) FROM inventory"), 500);
  ASSERT_TRUE(storage_->checkpoint(1).ok());   // all copied; the reader stays in the log
  const auto copied = std::filesystem::file_size(db_path());

  load_report(1);   // appended: the reader is still in the log
  const auto after = std::filesystem::file_size(wal);
  ASSERT_GT(after, before) << "the log did not start over";
  reader.exec("COMMIT");
  reader.exec("BEGIN");   // a reader again, now of report 1 too
  EXPECT_EQ(reader.integer("SELECT COUNT(*) FROM inventory"), 1000);
  // The log as a whole is past this threshold; what report 1 added is not.
  const auto threshold = static_cast<std::int64_t>(after - before + before / 2);
  ASSERT_TRUE(storage_->checkpoint(threshold).ok());
  EXPECT_EQ(std::filesystem::file_size(db_path()), copied) << "nothing copied";
  ASSERT_TRUE(storage_->checkpoint(1).ok());
  EXPECT_GT(std::filesystem::file_size(db_path()), copied) << "report 1 copied";
  reader.exec("COMMIT");
}

// Version 1 wrote the change records with triggers on inventory; version 2
// writes them itself. An old database loses the triggers when it is opened,
// keeps its data, and each change is recorded once.
TEST(StorageOpen, AVersion1DatabaseIsMigratedAndRecordsEachChangeOnce) {
  TempDir dir("storage");
  const auto file = dir / "v1.db";
  ManualClock clock;
  (void)SqliteStorage::open_with_schema(file, {}, clock, SqliteStorage::schema_steps().first(1));
  {
    RawDb raw(file);
    // What version 1 left: a loaded report, its row and its change record,
    // and the triggers under their names (here refusing any write, so a
    // trigger that survived the migration fails the load below).
    raw.exec(R"SQL(
      DROP TRIGGER inventory_insert;
      DROP TRIGGER inventory_update;
      INSERT INTO reports(id, path, size, sha256, status, rows, changes, received_at,
                          finished_at, first_seq, last_seq)
        VALUES (1, 'old.csv', 10, 'sha-old', 'loaded', 1, 1, 0, 0, 1, 1);
      INSERT INTO inventory(store, item, count, updated_at, report_id)
        VALUES ('Medan', 'Robusta Dairi', 4, 0, 1);
      INSERT INTO changes(kind, store, item, old_count, new_count, report_id, at)
        VALUES ('INSERT', 'Medan', 'Robusta Dairi', NULL, 4, 1, 0);
      CREATE TRIGGER inventory_insert AFTER INSERT ON inventory
        BEGIN SELECT RAISE(ABORT, 'version 1 trigger'); END;
      CREATE TRIGGER inventory_update AFTER UPDATE OF count ON inventory
        BEGIN SELECT RAISE(ABORT, 'version 1 trigger'); END;
      PRAGMA user_version = 1;
    )SQL");
  }
  auto s = SqliteStorage::open(file, {}, clock);
  {
    RawDb raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), SqliteStorage::schema_version());
    // Version 1's triggers on inventory are gone (version 7's reports_kept,
    // which only refuses deletes from the ledger, is not one of them).
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' "
                          "AND tbl_name = 'inventory'"),
              0);
  }
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
  ASSERT_TRUE(txn.upsert("Medan", "Arabica Gayo", 2).ok());
  ReportRecord r;
  r.path = "new.csv";
  r.sha256 = "sha-new";
  auto id = txn.commit(r);
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, 2);
  RawDb raw(file);
  EXPECT_EQ(raw.rows("SELECT kind, store, item, old_count, new_count, report_id FROM changes "
                     "ORDER BY seq"),
            (std::vector<std::string>{"INSERT|Medan|Robusta Dairi|NULL|4|1",
                                      "MODIFY|Medan|Robusta Dairi|4|0|2",
                                      "INSERT|Medan|Arabica Gayo|NULL|2|2"}));
  EXPECT_EQ(raw.rows("SELECT changes, first_seq, last_seq FROM reports WHERE id = 2"),
            (std::vector<std::string>{"2|2|3"}));
}

TEST(StorageOpen, ANewerSchemaVersionIsRefused) {
  TempDir dir("storage");
  const auto file = dir / "future.db";
  {
    RawDb raw(file);
    raw.exec("CREATE TABLE something(x); PRAGMA user_version = 99");
  }
  ManualClock clock;
  try {
    auto s = SqliteStorage::open(file, {}, clock);
    FAIL() << "a database from a newer stockwatch was opened";
  } catch (const StorageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("newer"), std::string::npos) << what;
    EXPECT_NE(what.find("99"), std::string::npos) << what;
  }
  RawDb raw(file);
  EXPECT_EQ(raw.integer("PRAGMA user_version"), 99);  // left as it was
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'outbox'"), 0);
}

TEST(StorageOpen, AnUnopenableFileThrows) {
  TempDir dir("storage");
  ManualClock clock;
  EXPECT_THROW((void)SqliteStorage::open(dir / "no" / "such" / "dir" / "x.db", {}, clock), StorageError);
}

TEST(StorageOpen, InMemoryDatabaseWorks) {
  ManualClock clock;
  auto s = SqliteStorage::open(":memory:", {}, clock);
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 0).ok());
  ReportRecord r;
  r.path = "m.csv";
  r.sha256 = "sha";
  ASSERT_TRUE(txn.commit(r).ok());
  auto c = s->count_of("Medan", "Robusta Dairi");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, std::optional<std::int64_t>(0));
}

TEST(StorageNames, ToStringValues) {
  EXPECT_STREQ(to_string(ReportStatus::kLoaded), "loaded");
  EXPECT_STREQ(to_string(ReportStatus::kRejected), "rejected");
  EXPECT_STREQ(to_string(ReportStatus::kDuplicate), "duplicate");
  EXPECT_STREQ(to_string(ChangeKind::kInsert), "INSERT");
  EXPECT_STREQ(to_string(ChangeKind::kModify), "MODIFY");
  EXPECT_STREQ(to_string(OutboxState::kQueued), "queued");
  EXPECT_STREQ(to_string(OutboxState::kSent), "sent");
  EXPECT_STREQ(to_string(OutboxState::kDead), "dead");
}

// --- Listings (the HTTP API) ------------------------------------------------------

TEST_F(StorageTest, InventoryPagesByKeyWithFilters) {
  load({{"Medan", "A", 0}, {"Medan", "B", 5}, {"Aceh", "C", 0}, {"Aceh", "D", 1}}, "r.csv", "s1");
  InventoryQuery q;
  q.limit = 3;
  auto page = storage_->list_inventory(q);
  ASSERT_TRUE(page.ok()) << page.error().message();
  ASSERT_EQ(page->size(), 3u);
  EXPECT_EQ((*page)[0].store, "Aceh");
  EXPECT_EQ((*page)[2].item, "A");
  q.after = std::make_pair((*page)[2].store, (*page)[2].item);
  page = storage_->list_inventory(q);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].item, "B");

  InventoryQuery zeros;
  zeros.out_of_stock_only = true;
  page = storage_->list_inventory(zeros);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].item, "C");
  EXPECT_EQ((*page)[1].item, "A");

  InventoryQuery medan;
  medan.store = "Medan";
  page = storage_->list_inventory(medan);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 2u);
}

TEST_F(StorageTest, ReportsAndOutboxPagesAreNewestFirst) {
  const auto first = load({{"Medan", "A", 1}}, "a.csv", "s1");
  auto rej = record("bad.csv", "s2");
  rej.status = ReportStatus::kRejected;
  rej.error = "line 2: bad";
  ASSERT_TRUE(storage_->record_report(rej).ok());
  const auto third = load({{"Medan", "A", 0}}, "c.csv", "s3");

  auto page = storage_->reports_page(0, std::nullopt, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].id, third);
  page = storage_->reports_page((*page)[1].id, std::nullopt, 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, first);
  page = storage_->reports_page(0, ReportStatus::kRejected, 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].path, "bad.csv");

  ASSERT_TRUE(storage_->commit_check(0, 0, {message("m1", first, clock_.now()),
                                            message("m2", third, clock_.now())}).ok());
  auto msgs = storage_->outbox_page(0, std::nullopt, 10);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].message_id, "m2");
  ASSERT_TRUE(storage_->mark_dead((*msgs)[1].id, "550 no").ok());
  msgs = storage_->outbox_page(0, OutboxState::kDead, 10);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].message_id, "m1");
  msgs = storage_->outbox_page((*msgs)[0].id, std::nullopt, 10);
  ASSERT_TRUE(msgs.ok());
  EXPECT_TRUE(msgs->empty());
}


// A first sighting's use figures stay in its inventory row (schema step
// 14): its load and its take-in write no row of usage and no history
// point, and the figures are read from the row once the take-in passed its
// report. The take-in of the item's next change writes them out first, so
// the running figures are observe()'s of both reports.
TEST_F(StorageTest, AFirstSightingsFiguresStayInItsInventoryRowUntilItsNextChange) {
  const std::int64_t day = 20454;
  const auto load_dated = [&](const std::vector<Row>& rows, std::int64_t d, const std::string& sha) {
    auto begun = storage_->begin_report();
    EXPECT_TRUE(begun.ok());
    ReportLoad txn = std::move(begun).value();
    txn.set_report_day(d);
    for (const auto& r : rows) EXPECT_TRUE(txn.upsert(r.store, r.item, r.count).ok());
    ReportRecord rec = record("medan/" + iso_day(d) + ".csv", sha);
    rec.report_day = d;
    auto id = txn.commit(rec);
    EXPECT_TRUE(id.ok()) << id.error().message();
    return id.ok() ? *id : std::int64_t{0};
  };
  const auto take_in = [&] {
    auto next = storage_->next_usage_report();
    ASSERT_TRUE(next.ok() && *next);
    ASSERT_TRUE(storage_->take_in_usage(**next, 14, 100, {}).ok());
  };
  const std::int64_t u1 = load_dated({{"Medan", "Gayo", 5}, {"Medan", "Arabika", 7}}, day, "u1");
  {
    RawDb raw(db_path());
    EXPECT_EQ(raw.rows("SELECT item, first_report, first_count FROM inventory ORDER BY item"),
              (std::vector<std::string>{"Arabika|" + std::to_string(u1) + "|7",
                                        "Gayo|" + std::to_string(u1) + "|5"}));
    EXPECT_EQ(raw.integer("SELECT first_sightings FROM reports WHERE id = " +
                          std::to_string(u1)),
              2);
  }
  // Not taken in yet: no figures.
  auto a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(*a);
  take_in();
  EXPECT_EQ(count_rows("usage"), 0);
  EXPECT_EQ(count_rows("usage_points"), 0);
  EXPECT_EQ(count_rows("usage_stores"), 1);
  a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a) << (a.ok() ? "" : a.error().message());
  EXPECT_EQ((*a)->count, 7);
  EXPECT_EQ((*a)->figures.first_day, day);
  EXPECT_EQ((*a)->figures.last_day, day);
  EXPECT_EQ((*a)->figures.last_count, 7);
  EXPECT_EQ((*a)->figures.used, 0);
  auto history = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].day, day);
  EXPECT_EQ((*history)[0].count, 7);
  EXPECT_EQ((*history)[0].report_id, u1);
  auto of_item = storage_->usage_of_item("Gayo");
  ASSERT_TRUE(of_item.ok());
  ASSERT_EQ(of_item->size(), 1u);
  EXPECT_EQ((*of_item)[0].figures.last_count, 5);

  // The next change of Arabika: its first figures and point are written
  // out, then its use counted. Gayo stays in its row; Bali's new item too.
  const std::int64_t u2 =
      load_dated({{"Medan", "Arabika", 4}, {"Bali", "Gayo", 9}}, day + 10, "u2");
  take_in();
  EXPECT_EQ(count_rows("usage"), 1);
  EXPECT_EQ(count_rows("usage_points"), 2);
  a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.first_day, day);
  EXPECT_EQ((*a)->figures.last_day, day + 10);
  EXPECT_EQ((*a)->figures.last_count, 4);
  EXPECT_EQ((*a)->figures.used, 3);
  EXPECT_EQ((*a)->figures.used_days, 10);
  history = storage_->item_history("Medan", "Arabika", 10);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].report_id, u1);
  EXPECT_EQ((*history)[1].report_id, u2);
  of_item = storage_->usage_of_item("Gayo");
  ASSERT_TRUE(of_item.ok());
  ASSERT_EQ(of_item->size(), 2u);
  EXPECT_EQ((*of_item)[0].store, "Bali");
  EXPECT_EQ((*of_item)[1].store, "Medan");
  EXPECT_EQ((*of_item)[1].figures.last_count, 5);
  // Taking report u2 in again changes nothing.
  auto again = storage_->next_usage_report();
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  UsageReport r2{u2, day + 10, "", clock_.now(), 0, true};
  {
    RawDb raw(db_path());
    r2.last_seq = raw.integer("SELECT last_seq FROM reports WHERE id = " + std::to_string(u2));
  }
  ASSERT_TRUE(storage_->apply_usage(r2).ok());
  EXPECT_EQ(count_rows("usage"), 1);
  EXPECT_EQ(count_rows("usage_points"), 2);
  a = storage_->usage_of("Medan", "Arabika");
  ASSERT_TRUE(a.ok() && *a);
  EXPECT_EQ((*a)->figures.used, 3);
}

// A database at schema step 13 keeps working: the figures it has in usage
// (first sightings included, written by its take-ins) are read as before,
// a report loaded before the upgrade and not taken in yet is taken in as
// then (every change record writes its figures), and later changes count
// use from them.
TEST(StorageOpen, AStep13DatabaseKeepsItsUseFiguresAndGoesOn) {
  TempDir dir("storage");
  const auto file = dir / "v13.db";
  ManualClock clock;
  (void)SqliteStorage::open_with_schema(file, {}, clock, SqliteStorage::schema_steps().first(13));
  const std::int64_t day = 20454;
  {
    RawDb raw(file);
    // Report 1 (day), taken in: Medan's Arabika 7 and Gayo 5, their
    // figures and points in usage. Report 2 (day + 10), loaded but not
    // taken in: Arabika 4, and a new item Toraja 6.
    const std::string d = std::to_string(day), d10 = std::to_string(day + 10);
    raw.exec(
        "INSERT INTO reports(id, path, size, sha256, status, rows, changes, received_at, "
        "finished_at, first_seq, last_seq, report_day, date_source) VALUES "
        "(1, 'a.csv', 10, 'sha-a', 'loaded', 2, 2, 0, 0, 1, 2, " + d + ", 'name'), "
        "(2, 'b.csv', 10, 'sha-b', 'loaded', 2, 2, 0, 0, 3, 4, " + d10 + ", 'name');"
        "INSERT INTO inventory(store, item, count, updated_at, report_id) VALUES "
        "('Medan', 'Arabika', 4, 0, 2), ('Medan', 'Gayo', 5, 0, 1), ('Medan', 'Toraja', 6, 0, 2);"
        "INSERT INTO changes(seq, store, item, old_count, new_count, report_id) VALUES "
        "(1, 'Medan', 'Arabika', NULL, 7, 1), (2, 'Medan', 'Gayo', NULL, 5, 1), "
        "(3, 'Medan', 'Arabika', 7, 4, 2), (4, 'Medan', 'Toraja', NULL, 6, 2);"
        "INSERT INTO report_stores(store, report_id) VALUES ('Medan', 1), ('Medan', 2);"
        "INSERT INTO usage(store, item, first_day, last_day, last_count, used, used_days) VALUES "
        "('Medan', 'Arabika', " + d + ", " + d + ", 7, 0, 0), "
        "('Medan', 'Gayo', " + d + ", " + d + ", 5, 0, 0);"
        "INSERT INTO usage_points(store, item, day, count, report_id) VALUES "
        "('Medan', 'Arabika', " + d + ", 7, 1), ('Medan', 'Gayo', " + d + ", 5, 1);"
        "INSERT INTO usage_stores(store, last_day, prev_day) VALUES ('Medan', " + d + ", NULL);"
        "UPDATE cursors SET position = 2 WHERE name = 'usage';");
  }
  auto s = SqliteStorage::open(file, {}, clock);
  {
    RawDb raw(file);
    EXPECT_EQ(raw.integer("PRAGMA user_version"), SqliteStorage::schema_version());
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM inventory WHERE first_report IS NOT NULL"), 0);
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM reports WHERE first_sightings <> 0"), 0);
  }
  auto gayo = s->usage_of("Medan", "Gayo");
  ASSERT_TRUE(gayo.ok() && *gayo);
  EXPECT_EQ((*gayo)->figures.last_count, 5);
  EXPECT_EQ((*gayo)->figures.first_day, day);
  auto history = s->item_history("Medan", "Gayo", 10);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), 1u);

  // Report 2's take-in, after the upgrade.
  auto next = s->next_usage_report();
  ASSERT_TRUE(next.ok() && *next);
  EXPECT_EQ((*next)->report_id, 2);
  ASSERT_TRUE(s->take_in_usage(**next, 14, 100, {}).ok());
  auto arabika = s->usage_of("Medan", "Arabika");
  ASSERT_TRUE(arabika.ok() && *arabika);
  EXPECT_EQ((*arabika)->figures.used, 3);
  EXPECT_EQ((*arabika)->figures.used_days, 10);
  auto toraja = s->usage_of("Medan", "Toraja");
  ASSERT_TRUE(toraja.ok() && *toraja);
  EXPECT_EQ((*toraja)->figures.first_day, day + 10);
  EXPECT_EQ((*toraja)->figures.last_count, 6);
  auto toraja_history = s->item_history("Medan", "Toraja", 10);
  ASSERT_TRUE(toraja_history.ok());
  EXPECT_EQ(toraja_history->size(), 1u);
  {
    RawDb raw(file);
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM usage"), 3);
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM usage_points"), 4);
  }

  // A load after the upgrade: Gayo falls, a new item stays in its row.
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok());
  ReportLoad txn = std::move(begun).value();
  txn.set_report_day(day + 20);
  ASSERT_TRUE(txn.upsert("Medan", "Gayo", 1).ok());
  ASSERT_TRUE(txn.upsert("Medan", "Kerinci", 8).ok());
  ReportRecord rec = test::sample_record(clock, "c.csv", "sha-c");
  rec.report_day = day + 20;
  auto id = txn.commit(rec);
  ASSERT_TRUE(id.ok()) << id.error().message();
  next = s->next_usage_report();
  ASSERT_TRUE(next.ok() && *next);
  ASSERT_TRUE(s->take_in_usage(**next, 14, 100, {}).ok());
  gayo = s->usage_of("Medan", "Gayo");
  ASSERT_TRUE(gayo.ok() && *gayo);
  EXPECT_EQ((*gayo)->figures.used, 4);
  EXPECT_EQ((*gayo)->figures.used_days, 20);
  auto kerinci = s->usage_of("Medan", "Kerinci");
  ASSERT_TRUE(kerinci.ok() && *kerinci);
  EXPECT_EQ((*kerinci)->figures.first_day, day + 20);
  EXPECT_EQ((*kerinci)->figures.last_count, 8);
  RawDb raw(file);
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM usage"), 3);  // Kerinci's stays in its row
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM usage_points"), 5);
}

}  // namespace
}  // namespace stockwatch

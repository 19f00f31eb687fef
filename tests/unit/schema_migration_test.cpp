// Schema versions: a version-1 database, built from the frozen text of
// version 1 (tests/unit/data/schema_v1.sql), opened by the current code;
// forward migration through a list of steps, one transaction each; refusal
// of a newer database.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "notify/mailer.hpp"
#include "store/account_store.hpp"
#include "store/sqlite/sqlite_storage.hpp"
#include "store/storage.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

using test::LogCapture;
using test::RawDb;
using test::TempDir;

std::string schema_v1_text() {
  return test::read_file(std::filesystem::path(STOCKWATCH_TESTS_DIR) / "unit" / "data" /
                         "schema_v1.sql");
}

// What a stockwatch writing schema version 1 leaves behind after loading
// one report (its triggers fill the change log), checking its first change
// and queueing one alert.
void make_version_1_database(const std::filesystem::path& file) {
  RawDb raw(file);
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("BEGIN");
  raw.exec(schema_v1_text());
  raw.exec("PRAGMA user_version = 1");
  raw.exec(R"SQL(
    INSERT INTO reports(id, path, size, sha256, status, rows, changes, received_at, finished_at,
                        archived_path)
    VALUES (1, 'medan.csv', 120, 'sha-medan', 'loaded', 2, 2, 1700000000000, 1700000000500,
            '/var/lib/stockwatch/processed/medan.csv');
    INSERT INTO inventory(store, item, count, updated_at, report_id)
    VALUES ('Medan', 'Robusta Dairi', 0, 1700000000000, 1),
           ('Medan', 'Arabika Gayo', 7, 1700000000000, 1);
    UPDATE cursors SET position = 2 WHERE name = 'changes';
    INSERT INTO outbox(id, message_id, report_id, event, sender, recipient, subject, data, state,
                       attempts, created_at, next_attempt_at)
    VALUES (1, '<1.of(EventKind::kOutOfStock)@stockwatch>', 1, 'out_of_stock', 'stockwatch@example.com',
            'owner@example.com', 'Inventory Alert!', 'Subject: x', 'queued', 0, 1700000000600,
            1700000000600);
  )SQL");
  raw.exec("COMMIT");
}

// The schema as sqlite_master records it, one line per object.
std::vector<std::string> schema_of(const std::filesystem::path& file) {
  RawDb raw(file);
  return raw.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name");
}

// The steps of this build followed by `extra`, numbered on from the last.
std::vector<SchemaStep> steps_plus(std::vector<SchemaStep> extra) {
  std::vector<SchemaStep> steps(SqliteStorage::schema_steps().begin(), SqliteStorage::schema_steps().end());
  int next = SqliteStorage::schema_version();
  for (auto& s : extra) {
    s.version = ++next;
    steps.push_back(s);
  }
  return steps;
}

class SchemaMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override { make_version_1_database(old_db()); }

  [[nodiscard]] std::filesystem::path old_db() const { return dir_ / "v1.db"; }

  // What the version-1 database held, read through the current code.
  void expect_version_1_data(Storage& s) {
    auto robusta = s.count_of("Medan", "Robusta Dairi");
    ASSERT_TRUE(robusta.ok());
    EXPECT_EQ(*robusta, std::optional<std::int64_t>(0));
    auto arabika = s.count_of("Medan", "Arabika Gayo");
    ASSERT_TRUE(arabika.ok());
    EXPECT_EQ(*arabika, std::optional<std::int64_t>(7));
    auto found = s.find_loaded("sha-medan");
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ((*found)->archived_path, "/var/lib/stockwatch/processed/medan.csv");
    EXPECT_EQ((*found)->rows, 2);
    auto counts = s.outbox_counts();
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->queued, 1);
    // The checker's cursor survived: nothing of report 1 is pending again.
    auto pending = s.next_pending_changes();
    ASSERT_TRUE(pending.ok());
    EXPECT_FALSE(pending->has_value());
  }

  TempDir dir_{"schema"};
  ManualClock clock_;
};

// Every row of a 0.1 database, in the columns 0.1 wrote (kind and at of the
// change log excepted: version 3 computes the one and drops the other).
std::vector<std::string> rows_of_version_1(const std::filesystem::path& file) {
  RawDb raw(file);
  std::vector<std::string> all;
  for (const char* sql :
       {"SELECT 'inventory', store, item, count, updated_at, report_id FROM inventory "
        "ORDER BY store, item",
        "SELECT 'reports', id, path, size, sha256, status, rows, changes, error, duplicate_of, "
        "first_seq, last_seq, received_at, finished_at, archived_path FROM reports ORDER BY id",
        "SELECT 'changes', seq, store, item, old_count, new_count, report_id FROM changes "
        "ORDER BY seq",
        "SELECT 'cursors', * FROM cursors WHERE name NOT LIKE 'usage%' ORDER BY name",
        "SELECT 'outbox', id, message_id, report_id, event, sender, recipient, subject, data, "
        "state, attempts, created_at, next_attempt_at, sent_at, last_error FROM outbox "
        "ORDER BY id"}) {
    for (auto& r : raw.rows(sql)) all.push_back(std::move(r));
  }
  return all;
}

// Counts what it is given; every message is accepted.
class CountingTransport final : public MailTransport {
 public:
  SendOutcome send(const std::string&, const std::string& to, const std::string& data) override {
    sent.push_back(to + " " + data);
    return SendOutcome{SendOutcome::Kind::kSent, 250, "250 OK"};
  }
  [[nodiscard]] std::string describe() const override { return "counting"; }
  std::vector<std::string> sent;
};

// 0.1 stopped with messages still queued (and others sent, dead, or due
// later). The upgrade keeps every row as it was, and the queued messages
// are then delivered once each, even by two mailers on two connections
// (the daemon and `stockwatch ingest`).
TEST_F(SchemaMigrationTest, QueuedMessagesOfVersionOneAreKeptAndDeliveredOnce) {
  {
    RawDb raw(old_db());
    raw.exec(R"SQL(
      INSERT INTO reports(id, path, size, sha256, status, error, received_at, finished_at)
      VALUES (2, 'bad.csv', 9, 'sha-bad', 'rejected', 'line 2: no count', 1700000001000,
              1700000001000);
      INSERT INTO outbox(id, message_id, report_id, event, sender, recipient, subject, data,
                         state, attempts, created_at, next_attempt_at, sent_at, last_error)
      VALUES (2, '<2@stockwatch>', 1, 'out_of_stock', 's@example.com', 'b@example.com', 'A', 'b',
              'queued', 3, 1700000000600, 1700000000700, NULL, '421 busy'),
             (3, '<3@stockwatch>', 2, 'report_rejected', 's@example.com', 'c@example.com', 'R',
              'c', 'queued', 0, 1700000001000, 1700000001000, NULL, ''),
             (4, '<4@stockwatch>', 1, 'out_of_stock', 's@example.com', 'd@example.com', 'A', 'd',
              'sent', 1, 1700000000600, 1700000000600, 1700000000800, ''),
             (5, '<5@stockwatch>', 1, 'out_of_stock', 's@example.com', 'e@example.com', 'A', 'e',
              'dead', 60, 1700000000600, 1700000000600, NULL, '550 no such user');
    )SQL");
  }
  const auto before = rows_of_version_1(old_db());
  ASSERT_EQ(before.size(), 2u + 2u + 2u + 2u + 5u);

  auto daemon = Storage::open(old_db(), {}, clock_);
  auto ingest = Storage::open(old_db(), {}, clock_);
  EXPECT_EQ(rows_of_version_1(old_db()), before);
  EXPECT_EQ(RawDb(old_db()).integer("PRAGMA user_version"), SqliteStorage::schema_version());

  CountingTransport a, b;
  Mailer first(*daemon, a, clock_, RetryPolicy{}, 1);
  Mailer second(*ingest, b, clock_, RetryPolicy{}, 2);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(first.process_due(1).ok());
    ASSERT_TRUE(second.process_due(1).ok());
  }
  std::vector<std::string> sent = a.sent;
  sent.insert(sent.end(), b.sent.begin(), b.sent.end());
  std::sort(sent.begin(), sent.end());
  EXPECT_EQ(sent, (std::vector<std::string>{"b@example.com b", "c@example.com c",
                                            "owner@example.com Subject: x"}));
  const auto counts = daemon->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->queued, 0);
  EXPECT_EQ(counts->sent, 4);
  EXPECT_EQ(counts->dead, 1);
  // A new ledger entry takes the next id, never one of 0.1's.
  auto id = ingest->record_report(ReportRecord{});
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 3);
}

TEST_F(SchemaMigrationTest, StepOneCreatesExactlyTheFrozenVersionOneSchema) {
  const auto fresh = dir_ / "fresh.db";
  (void)SqliteStorage::open_with_schema(fresh, {}, clock_, SqliteStorage::schema_steps().first(1));
  EXPECT_EQ(schema_of(fresh), schema_of(old_db()));
  EXPECT_EQ(RawDb(fresh).integer("PRAGMA user_version"), 1);
}

TEST_F(SchemaMigrationTest, AVersionOneDatabaseOpensWithTheCurrentCodeAndKeepsItsData) {
  LogCapture log;
  auto s = Storage::open(old_db(), {}, clock_);
  EXPECT_EQ(RawDb(old_db()).integer("PRAGMA user_version"), SqliteStorage::schema_version());
  expect_version_1_data(*s);
  {
    // The change records the triggers wrote keep their content; `kind` is
    // computed now (version 3) and `at` is gone.
    RawDb raw(old_db());
    EXPECT_EQ(raw.rows("SELECT seq, kind, store, item, old_count, new_count, report_id "
                       "FROM changes ORDER BY seq"),
              (std::vector<std::string>{"1|INSERT|Medan|Robusta Dairi|NULL|0|1",
                                        "2|INSERT|Medan|Arabika Gayo|NULL|7|1"}));
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM pragma_table_xinfo('changes') WHERE name = 'at'"),
              0);
    EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM changes WHERE new_count = 0 OR old_count = 0"),
              1);
  }
  if (SqliteStorage::schema_version() > 1) {
    EXPECT_NE(log.text().find("upgraded from schema version 1 to " +
                              std::to_string(SqliteStorage::schema_version())),
              std::string::npos)
        << log.text();
  }

  // It goes on working: a new report changes a count and is seen as
  // back in stock after the old cursor.
  auto begun = s->begin_report();
  ASSERT_TRUE(begun.ok()) << begun.error().message();
  ReportLoad txn = std::move(begun).value();
  ASSERT_TRUE(txn.upsert("Medan", "Robusta Dairi", 5).ok());
  ReportRecord r;
  r.path = "medan-2.csv";
  r.sha256 = "sha-medan-2";
  r.received_at = r.finished_at = clock_.now();
  auto id = txn.commit(r);
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(*id, 2);
  auto pending = s->next_pending_changes();
  ASSERT_TRUE(pending.ok() && pending->has_value());
  EXPECT_EQ((*pending)->report_id, 2);
  EXPECT_EQ((*pending)->of(EventKind::kBackInStock).size(), 1u);
}

TEST_F(SchemaMigrationTest, LaterStepsRunInOrderEachLoggedAndTheDataSurvives) {
  const int base = SqliteStorage::schema_version();
  const auto steps = steps_plus({
      {0, "a note on every report", "ALTER TABLE reports ADD COLUMN note TEXT NOT NULL DEFAULT ''"},
      {0, "index the notes", "CREATE INDEX reports_note ON reports(note)"},
  });
  LogCapture log;
  auto s = SqliteStorage::open_with_schema(old_db(), {}, clock_, steps);
  RawDb raw(old_db());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), base + 2);
  EXPECT_EQ(raw.rows("SELECT id, note FROM reports"), std::vector<std::string>{"1|"});
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'reports_note'"), 1);
  expect_version_1_data(*s);

  const std::string text = log.text();
  const auto first = text.find("schema version " + std::to_string(base) + " -> " +
                               std::to_string(base + 1) + ": a note on every report");
  const auto second = text.find("schema version " + std::to_string(base + 1) + " -> " +
                                std::to_string(base + 2) + ": index the notes");
  ASSERT_NE(first, std::string::npos) << text;
  ASSERT_NE(second, std::string::npos) << text;
  EXPECT_LT(first, second);
  EXPECT_NE(text.find("upgraded from schema version 1 to " + std::to_string(base + 2)),
            std::string::npos)
      << text;

  // Opened again: nothing left to do, nothing logged about the schema.
  s.reset();
  LogCapture again;
  s = SqliteStorage::open_with_schema(old_db(), {}, clock_, steps);
  EXPECT_EQ(again.text().find("schema"), std::string::npos) << again.text();
}

TEST_F(SchemaMigrationTest, AFailingStepIsRolledBackAndTheStepsBeforeItStay) {
  const int base = SqliteStorage::schema_version();
  const auto steps = steps_plus({
      {0, "a notes table", "CREATE TABLE notes(x)"},
      {0, "a broken step", "CREATE TABLE half(x); INSERT INTO no_such_table VALUES (1)"},
  });
  try {
    (void)SqliteStorage::open_with_schema(old_db(), {}, clock_, steps);
    FAIL() << "a failing schema step was not reported";
  } catch (const StorageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("schema step " + std::to_string(base + 1) + " -> " +
                        std::to_string(base + 2) + " (a broken step) failed"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("no_such_table"), std::string::npos) << what;
    EXPECT_NE(what.find("stays at schema version " + std::to_string(base + 1)), std::string::npos)
        << what;
  }
  RawDb raw(old_db());
  EXPECT_EQ(raw.integer("PRAGMA user_version"), base + 1);
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'notes'"), 1);
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half'"), 0);
  EXPECT_EQ(raw.integer("SELECT COUNT(*) FROM inventory"), 2);
}

TEST_F(SchemaMigrationTest, ANewFileGoesThroughEveryStepAndLogsOneLine) {
  const auto steps = steps_plus({{0, "a notes table", "CREATE TABLE notes(x)"}});
  const auto fresh = dir_ / "fresh.db";
  LogCapture log;
  (void)SqliteStorage::open_with_schema(fresh, {}, clock_, steps);
  EXPECT_EQ(RawDb(fresh).integer("PRAGMA user_version"), SqliteStorage::schema_version() + 1);
  EXPECT_NE(log.text().find("created schema version " +
                            std::to_string(SqliteStorage::schema_version() + 1)),
            std::string::npos)
      << log.text();
  EXPECT_EQ(log.text().find(" -> "), std::string::npos) << log.text();
}

TEST_F(SchemaMigrationTest, ADatabaseNewerThanTheStepsIsRefusedAndLeftAsItIs) {
  const auto steps = steps_plus({{0, "a notes table", "CREATE TABLE notes(x)"}});
  (void)SqliteStorage::open_with_schema(old_db(), {}, clock_, steps);
  const auto before = schema_of(old_db());
  try {
    (void)Storage::open(old_db(), {}, clock_);
    FAIL() << "a newer database was opened";
  } catch (const StorageError& e) {
    const std::string want = "has schema version " +
                             std::to_string(SqliteStorage::schema_version() + 1) +
                             ", newer than this stockwatch understands (" +
                             std::to_string(SqliteStorage::schema_version()) +
                             "); run the newer stockwatch or restore a backup";
    EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
  }
  EXPECT_EQ(schema_of(old_db()), before);
  EXPECT_EQ(RawDb(old_db()).integer("PRAGMA user_version"), SqliteStorage::schema_version() + 1);
}

// Remembers what it was asked to send; accepts everything.
class RecordingTransport final : public MailTransport {
 public:
  SendOutcome send(const std::string& from, const std::string& to,
                   const std::string& data) override {
    sent.push_back(from + "|" + to + "|" + data);
    return SendOutcome{SendOutcome::Kind::kSent, 250, "250 OK"};
  }
  [[nodiscard]] std::string describe() const override { return "recording"; }
  std::vector<std::string> sent;
};

TEST_F(SchemaMigrationTest, AMessageQueuedInTheOldFormatIsDeliveredOnceAsItWasRendered) {
  auto s = Storage::open(old_db(), {}, clock_);
  {
    // Version 5 keeps the rendered message and marks it as an email in English.
    RawDb raw(old_db());
    EXPECT_EQ(raw.rows("SELECT id, channel, language, payload, data, state FROM outbox"),
              std::vector<std::string>{"1|email|en||Subject: x|queued"});
  }
  RecordingTransport transport;
  Mailer mailer(*s, transport, clock_, RetryPolicy{}, 1);
  auto first = mailer.process_due();
  ASSERT_TRUE(first.ok()) << first.error().message();
  EXPECT_EQ(first->sent, 1);
  EXPECT_EQ(transport.sent,
            std::vector<std::string>{"stockwatch@example.com|owner@example.com|Subject: x"});
  auto again = mailer.process_due();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sent, 0);
  EXPECT_EQ(transport.sent.size(), 1u);
  auto counts = s->outbox_counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->sent, 1);
  EXPECT_EQ(counts->queued, 0);
}

TEST_F(SchemaMigrationTest, ChangesNotYetCheckedBeforeVersion5AlertOnceAsBefore) {
  // Report 1's changes not yet checked (as a version-1 loader records them).
  RawDb(old_db()).exec("UPDATE cursors SET position = 0 WHERE name = 'changes'; "
                       "UPDATE reports SET first_seq = 1, last_seq = 2 WHERE id = 1");
  auto s = Storage::open(old_db(), {}, clock_);
  {
    RawDb raw(old_db());
    EXPECT_EQ(raw.rows("SELECT seq, event, store, item, old_count, new_count, minimum, report_id "
                       "FROM events ORDER BY seq"),
              std::vector<std::string>{"1|out_of_stock|Medan|Robusta Dairi|NULL|0|NULL|1"});
  }
  auto pending = s->next_pending_changes();
  ASSERT_TRUE(pending.ok() && pending->has_value());
  ASSERT_EQ((*pending)->events.size(), 1u);
  EXPECT_EQ((*pending)->events[0].item, "Robusta Dairi");
  EXPECT_EQ((*pending)->events[0].event, EventKind::kOutOfStock);
}

TEST_F(SchemaMigrationTest, VersionSixKnowsEachStoreOfTheReportsLoadedBeforeAndHasNoAccounts) {
  auto s = Storage::open(old_db(), {}, clock_);
  auto stores = s->stores_of_report(1);
  ASSERT_TRUE(stores.ok()) << stores.error().message();
  EXPECT_EQ(*stores, std::vector<std::string>{"Medan"});
  auto summaries = s->store_summaries();
  ASSERT_TRUE(summaries.ok()) << summaries.error().message();
  ASSERT_EQ(summaries->size(), 1u);
  EXPECT_EQ((*summaries)[0].store, "Medan");
  EXPECT_EQ((*summaries)[0].last_report_id, 1);
  EXPECT_EQ((*summaries)[0].out_of_stock, 1);
  auto accounts = AccountStore::open(old_db(), {}, clock_);
  auto owners = accounts->owner_count();
  ASSERT_TRUE(owners.ok());
  EXPECT_EQ(*owners, 0);
  // The out-of-stock list reads the partial index, not the inventory.
  RawDb raw(old_db());
  const auto plan = raw.rows("EXPLAIN QUERY PLAN SELECT store, item FROM inventory "
                             "WHERE count = 0 ORDER BY store, item");
  ASSERT_FALSE(plan.empty());
  EXPECT_NE(plan[0].find("inventory_out_of_stock"), std::string::npos) << plan[0];
}

// The search by item name finds the items an older database holds (the
// names come from its inventory, not from anything a newer load writes).
TEST_F(SchemaMigrationTest, TheSearchByItemNameFindsTheItemsOfAnOlderDatabase) {
  auto s = Storage::open(old_db(), {}, clock_);
  InventoryQuery q;
  q.item_contains = "gayo";
  auto rows = s->list_inventory(q);
  ASSERT_TRUE(rows.ok()) << rows.error().message();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].item, "Arabika Gayo");
  EXPECT_EQ((*rows)[0].count, 7);
}

TEST_F(SchemaMigrationTest, AnAccountStoreRefusesADatabaseBeforeVersionSix) {
  EXPECT_THROW((void)AccountStore::open(old_db(), {}, clock_), StorageError);
}

TEST(SchemaSteps, MustBeNumberedFromOneWithoutGaps) {
  TempDir dir("schema");
  ManualClock clock;
  const std::vector<SchemaStep> gap = {{1, "one", "CREATE TABLE a(x)"},
                                       {3, "three", "CREATE TABLE c(x)"}};
  EXPECT_THROW((void)SqliteStorage::open_with_schema(dir / "gap.db", {}, clock, gap),
               std::invalid_argument);
  EXPECT_THROW((void)SqliteStorage::open_with_schema(dir / "none.db", {}, clock, {}),
               std::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir / "gap.db"));
}

TEST(SchemaSteps, ThisBuildsStepsAreNumberedAndDescribed) {
  const auto steps = SqliteStorage::schema_steps();
  ASSERT_FALSE(steps.empty());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
    EXPECT_FALSE(steps[i].description.empty());
    EXPECT_FALSE(steps[i].sql.empty());
  }
  EXPECT_EQ(SqliteStorage::schema_version(), steps.back().version);
}

}  // namespace
}  // namespace stockwatch

// The PostgreSQL backend of Storage: one database that several stockwatch
// nodes share, all of its SQL, and its schema history.
//
// Contract:
// - Everything Storage promises (src/store/storage.hpp). One
//   PostgresStorage owns one connection (libpq, pg.hpp); not thread-safe.
//   Every fixed statement is prepared when the connection opens (a bad
//   statement throws StorageError there).
// - open() throws StorageError when the server cannot be reached (the
//   message names the server with the URL's password masked, and libpq's
//   reason), when it is a read-only standby (pg_is_in_recovery() or
//   transaction_read_only), and for a schema from a newer version.
// - Several connections, in several processes on several machines, work on
//   one database at once; unlike SQLite, loads of different reports run at
//   the same time. Lock waits end after busy_timeout_ms (lock_timeout) with
//   kBusy.
// - Ids: reports.id and outbox.id are identity columns, assigned at insert.
// - The change feed: a change's number (seq) is not assigned when the
//   change is written but when its report commits. Each change record is
//   stored under its report and its place in the report (report_id, ord);
//   the report's commit takes the next block of numbers from the row
//   feeds('changes') (an UPDATE, whose row lock is held until the commit
//   ends) and records it as the report's first_seq..last_seq, so
//   seq = first_seq + ord - 1. Numbers are therefore handed out in commit
//   order: whoever sees a report committed sees every report with lower
//   numbers committed too, and the checker's cursor never passes a change
//   committed late. Rejected reports get their place in the rejection feed
//   (reports.rejected_pos) the same way. docs/architecture.md explains it.
// - Claims: claim_due is one UPDATE over rows chosen with FOR UPDATE SKIP
//   LOCKED, so two connections never claim one message and never wait for
//   each other.
// - A lost connection (server restarted, backend terminated) is made
//   again by the next statement outside a transaction, at most once per
//   backoff period (0.5 s doubling to 30 s); meanwhile statements fail at
//   once with kTransient and connection_problem() says why. A transaction
//   cut off by the loss is never continued: it fails until rolled back.
// - Commits that queue messages NOTIFY the channel stockwatch_outbox
//   (store/outbox_signal.hpp), delivered when they commit.
// - lock_instance: nothing to hold. Several nodes may serve one PostgreSQL
//   database; everything they share is coordinated in the database itself.
//   The lock file stays SQLite's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "store/item_names.hpp"
#include "store/sorted_inventory.hpp"
#include "store/storage.hpp"

namespace stockwatch {

// One step of the PostgreSQL schema's history (its own, not SQLite's):
// takes a database at `version` - 1 to `version`, in one transaction that
// also records the version in stockwatch_schema.
struct PgSchemaStep {
  int version = 0;
  std::string_view description;
  std::string_view sql;
};

class PostgresStorage final : public Storage {
 public:
  // Connects to the database `url` names (a postgresql:// URL or a libpq
  // connection string) and migrates its schema forward. `options.password`,
  // when not empty, is the password (otherwise libpq's own: PGPASSWORD,
  // ~/.pgpass). Throws StorageError (see above).
  static std::unique_ptr<PostgresStorage> open(const std::string& url,
                                               const StorageOptions& options, const Clock& clock);
  [[nodiscard]] static std::span<const PgSchemaStep> schema_steps();
  [[nodiscard]] static int schema_version();
  // Rows of a report sent per COPY and merged per statement.
  static constexpr int kBatchRows = 50000;

  ~PostgresStorage() override;

  Result<std::optional<ReportRecord>> find_loaded(const std::string& sha256) override;
  Result<std::optional<ReportRecord>> find_latest(const std::string& path,
                                                  const std::string& sha256) override;
  Result<bool> loaded_with_size(std::int64_t size) override;
  Result<ReportLoad> begin_report() override;
  Result<std::int64_t> record_report(const ReportRecord& record) override;
  Status mark_archived(std::int64_t report_id, const std::string& archived_path) override;
  Result<std::optional<ReportRecord>> report(std::int64_t id) override;
  Result<std::vector<ReportRecord>> recent_reports(int limit) override;
  Result<std::int64_t> count_reports_since(TimePoint since) override;
  Result<std::optional<std::int64_t>> count_of(std::string_view store,
                                               std::string_view item) override;
  Result<std::optional<PendingChanges>> next_pending_changes(std::size_t page_size = 1000) override;
  Status next_change_page(PendingChanges& p, std::size_t page_size = 1000) override;
  Result<std::optional<ReportRecord>> next_pending_rejection() override;
  Status commit_check(std::int64_t last_change_seq, std::int64_t last_rejected_id,
                      const std::vector<OutboxMessage>& messages) override;
  Result<std::vector<OutboxMessage>> claim_due(TimePoint now, int limit,
                                               std::string_view claimant,
                                               Duration lease) override;
  Result<std::vector<OutboxMessage>> due_messages(TimePoint now, int limit) override;
  Result<std::optional<TimePoint>> next_due_time() override;
  Status mark_sent(std::int64_t id, TimePoint at) override;
  Status mark_retry(std::int64_t id, TimePoint next_attempt, const std::string& error) override;
  Status mark_dead(std::int64_t id, const std::string& error) override;
  Result<bool> requeue(std::int64_t id, TimePoint at) override;
  Result<std::vector<std::int64_t>> outbox_ids(OutboxState state, int limit) override;
  Result<std::vector<OutboxMessage>> list_outbox(bool include_sent, int limit) override;
  Result<OutboxCounts> outbox_counts() override;
  Result<OutboxCounts> open_outbox_counts() override;
  Result<std::vector<InventoryRow>> list_inventory(const InventoryQuery& query) override;
  Status keep_sorted_inventory() override;
  Result<std::vector<StoreSummary>> list_stores(int limit) override;
  Result<std::vector<StoreReport>> store_reports(int limit) override;
  Result<std::vector<CountChange>> largest_changes(TimePoint after, TimePoint until,
                                                   const std::vector<std::string>& stores,
                                                   int limit) override;
  Result<std::optional<TimePoint>> schedule_mark(std::string_view name) override;
  Result<bool> commit_schedule(std::string_view name, TimePoint at,
                               const std::vector<OutboxMessage>& messages) override;
  Result<std::vector<ReportRecord>> reports_page(std::int64_t before_id,
                                                 std::optional<ReportStatus> status,
                                                 int limit) override;
  Result<std::vector<OutboxMessage>> outbox_page(std::int64_t before_id,
                                                 std::optional<OutboxState> state,
                                                 int limit) override;
  Result<MailReceipt> record_mail(const MailReceipt& receipt) override;
  Result<std::optional<MailReceipt>> mail_receipt(std::string_view mail_key) override;
  Result<bool> finish_mail(std::string_view mail_key, const std::vector<MailAttachment>& attachments,
                           const std::vector<OutboxMessage>& reply, TimePoint at) override;
  Result<std::optional<MailSource>> report_mail(std::int64_t report_id) override;
  Result<std::vector<MailSource>> report_mails(const std::vector<std::int64_t>& report_ids) override;
  Result<std::vector<ChangeRecord>> report_events(std::int64_t report_id, int limit) override;
  // PostgreSQL's autovacuum does the housekeeping: nothing to do here.
  Result<std::int64_t> levels_version() override;
  Result<std::vector<LevelLine>> levels() override;
  Status add_mute(const Mute& mute) override;
  Result<std::int64_t> remove_mutes(std::string_view store,
                                    std::optional<std::string_view> item) override;
  Result<std::vector<Mute>> mutes() override;
  Result<std::optional<UsageReport>> next_usage_report() override;
  Result<std::vector<StoreOverview>> store_summaries() override;
  Result<std::vector<std::string>> stores_of_report(std::int64_t report_id) override;
  Status apply_usage(const UsageReport& r) override;
  Result<std::vector<UsageRow>> running_out_of_report(const UsageReport& r,
                                                      std::int64_t horizon_days,
                                                      int limit) override;
  Status commit_usage(const UsageReport& r, const std::vector<OutboxMessage>& messages) override;
  Status take_in_usage(const UsageReport& r, std::int64_t horizon_days, int limit,
                       const UsageJudge& judge) override;
  Status commit_check_with_take_in(std::int64_t last_change_seq,
                                   const std::vector<OutboxMessage>& messages,
                                   const UsageReport& r, std::int64_t horizon_days, int limit,
                                   const UsageJudge& judge) override;
  Result<std::optional<UsageRow>> usage_of(std::string_view store, std::string_view item) override;
  Result<std::vector<UsageRow>> usage_by_cover(std::optional<std::string> store,
                                               int limit) override;
  Result<std::vector<UsageRow>> usage_of_item(std::string_view item) override;
  Result<std::vector<HistoryPoint>> item_history(std::string_view store, std::string_view item,
                                                 int limit) override;
  Result<bool> claim_inbox_file(std::string_view name, std::string_view claimant,
                                TimePoint now, Duration lease) override;
  Status release_inbox_file(std::string_view name, std::string_view claimant) override;
  Status maintain() override { return {}; }
  // While the connection is lost: why, until a statement connects again
  // (each statement outside a transaction tries, with backoff from 0.5 s
  // doubling to 30 s; until then it fails at once with kTransient).
  [[nodiscard]] std::optional<std::string> connection_problem() const override;

  struct Impl;  // opaque; defined in postgresql_storage.cpp

 private:
  explicit PostgresStorage(std::unique_ptr<Impl> impl);
  // list_inventory()'s search when few item names match; nullopt when many do.
  Result<std::optional<std::vector<InventoryRow>>> search_by_name(const InventoryQuery& query);
  [[nodiscard]] Status refresh_item_names();
  // Brings StorageOptions::sorted_inventory up to the newest loaded report;
  // false when it keeps nothing.
  [[nodiscard]] Result<bool> refresh_sorted_inventory(SortedInventory::Reader reader);
  // take_in_usage()'s work inside the caller's transaction.
  [[nodiscard]] Status take_in_steps(const UsageReport& rep, std::int64_t horizon_days, int limit,
                                     const UsageJudge& judge);
  std::unique_ptr<Impl> impl_;
  // The distinct item names, read on first use: StorageOptions::item_names,
  // shared with the connections given the same.
  std::shared_ptr<ItemNames> item_names_;
};

// One report's load on PostgreSQL: BEGIN ... COMMIT on the storage's
// connection. Rows are buffered in COPY's text format and, every kBatchRows
// rows and at flush(), sent with COPY into a temporary table and merged
// into the inventory by one statement that also writes the batch's change
// records and alert events (or, while a change sink is set, hands the
// change records back instead).
class PgReportWriter final : public ReportWriter {
 public:
  PgReportWriter(PostgresStorage::Impl& impl, std::int64_t report_id);
  ~PgReportWriter() override { rollback(); }
  PgReportWriter(const PgReportWriter&) = delete;
  PgReportWriter& operator=(const PgReportWriter&) = delete;

  Result<bool> remember_key(std::int64_t key) override;
  Status upsert(std::string_view store, std::string_view item, std::int64_t count,
                std::uint64_t line) override;
  Status flush() override;
  // The change records are numbered by the rows' lines in the merge, so
  // without minimum levels none is handed to the sink: they are written
  // in the report's order already (Storage's contract allows it).
  void defer_changes(ReportChangeSink sink) override { change_sink_ = std::move(sink); }
  Status log_change(std::string_view store, std::string_view item,
                    std::optional<std::int64_t> old_count, std::int64_t count) override;
  Result<std::int64_t> commit(ReportRecord record) override;
  void rollback() noexcept override;
  [[nodiscard]] std::int64_t rows() const override { return rows_; }
  [[nodiscard]] std::int64_t changes() const override { return changes_; }
  void set_minimums(std::shared_ptr<const MinimumLevels> now,
                    std::shared_ptr<const MinimumLevels> before) override {
    minimums_ = std::move(now);
    minimums_before_ = std::move(before);
  }
  Status replace_levels(std::span<const LevelLine> lines) override;
  Result<std::optional<std::int64_t>> latest_day_of(std::string_view store) override;
  Status log_history(std::string_view store, std::string_view item, std::int64_t count,
                     std::int64_t day) override;

 private:
  // Minimum levels the events are judged by. Null: the merge statement
  // decides the events in SQL (minimum 0); set: the merge hands the change
  // records back and log_change() decides each with stock_event().
  std::shared_ptr<const MinimumLevels> minimums_, minimums_before_;
  PostgresStorage::Impl* impl_ = nullptr;  // null once finished
  std::int64_t report_id_ = 0;
  std::int64_t rows_ = 0;      // rows given (the ledger's), history-only ones included
  std::int64_t upserted_ = 0;  // rows given to upsert(): the stage's ords, without gaps
  std::int64_t changes_ = 0;   // change records written or handed to the sink
  std::int64_t logged_ = 0;    // change records written (the next one's place - 1)
  std::int64_t first_sightings_ = 0;  // of them, first sightings (reports.first_sighting_count)
  std::string rows_copy_;      // buffered rows, COPY text: ord, line, store, item, count
  std::string names_copy_;     // the row being given: "store\titem\t", COPY text
  std::int64_t buffered_rows_ = 0;
  std::int64_t staged_rows_ = 0;  // in the stage table, not merged yet
  bool stage_merged_ = false;     // the stage holds merged rows (emptied before the next COPY)
  bool staged_sorted_ = true;     // the rows to merge have strictly increasing keys
  std::string last_store_, last_item_;  // the key of the last row given
  bool staged_by_line_ = true;    // the rows to merge were given in line order
  std::uint64_t last_line_ = 0;   // the line of the last row given
  // The stores of the rows to merge (for report_stores), and the last one.
  std::unordered_set<std::string> staged_stores_;
  std::string last_staged_store_;
  std::string changes_copy_;   // buffered log_change() records, COPY text
  std::int64_t buffered_changes_ = 0;
  ReportChangeSink change_sink_;
  // New rows written straight into their tables (write_direct()): while
  // every row given so far came in key order and in line order, with no
  // change sink, and none went to the stage. The buffered rows are then
  // also kept as COPY text of the inventory, the change log and the events
  // (the stage's text, rows_copy_, too, for when they go there after all).
  bool direct_ = true;
  bool direct_used_ = false;   // a batch went in straight
  std::string direct_inventory_, direct_changes_, direct_events_;
  // What every buffered inventory row has after its count ("\t" updated_at,
  // report, first report "\t"), and what every record starts with (the
  // report, "\t"): the batch's time is taken at its first row.
  std::string direct_inventory_tail_, direct_report_;
  // The stores written straight (so known to be new to the inventory when
  // their first rows went in).
  std::unordered_set<std::string> direct_stores_;
  [[nodiscard]] std::pair<std::optional<EventKind>, std::optional<std::int64_t>> judge(
      std::string_view store, std::string_view item, std::optional<std::int64_t> old_count,
      std::int64_t count) const;
  void stop_direct();
  [[nodiscard]] Status write_direct();
  [[nodiscard]] Status write_rows(bool merge);
  [[nodiscard]] Status write_logged();
};

}  // namespace stockwatch

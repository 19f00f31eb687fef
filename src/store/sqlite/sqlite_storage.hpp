// The SQLite backend of Storage: one database file in WAL mode, all of its
// SQL, its schema history, its checkpoints and its backup.
//
// Contract:
// - Everything Storage promises (src/store/storage.hpp). One SqliteStorage
//   owns one connection; not thread-safe. Every statement is prepared when
//   the connection opens (a bad statement throws StorageError there), so no
//   operation throws afterwards; only the load's batch statements are
//   prepared when a load first needs them, and a failure there is the
//   load's error.
// - Ids: reports.id is INTEGER PRIMARY KEY AUTOINCREMENT, assigned when
//   begin_report() inserts the ledger row inside its write transaction
//   (never MAX(id) + 1, never reused after a rollback's gap); changes.seq
//   and outbox.id are the row ids SQLite assigns at insert, inside the
//   writing transaction. SQLite has one writer at a time, so change numbers
//   grow in commit order.
// - Claims: claim_due is one UPDATE ... RETURNING, atomic under the write
//   lock, so two connections never claim one message.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/storage.hpp"

namespace stockwatch {

// One step of the schema's history: the SQL that takes a database at schema
// version `version` - 1 to `version`. SqliteStorage::open runs each step a
// database lacks, in order, each in its own transaction together with
// setting PRAGMA user_version, and logs it. Step 1 creates the tables in an
// empty file.
struct SchemaStep {
  int version = 0;
  std::string_view description;  // logged: "schema version 1 -> 2: <description>"
  std::string_view sql;
};

class SqliteStorage final : public Storage {
 public:
  // Opens (creating if needed) the database file and migrates the schema
  // forward (schema_steps()). Throws StorageError on failure, and for a
  // database from a newer version, which is left untouched.
  static std::unique_ptr<SqliteStorage> open(const std::filesystem::path& file,
                                             const StorageOptions& options, const Clock& clock);
  // open() with another list of steps (numbered 1, 2, 3, ...; otherwise
  // std::invalid_argument): lets the tests exercise migrations that this
  // build does not have yet. With fewer steps than this build's (to make an
  // old file), the connection is good only for closing.
  static std::unique_ptr<SqliteStorage> open_with_schema(const std::filesystem::path& file,
                                                         const StorageOptions& options,
                                                         const Clock& clock,
                                                         std::span<const SchemaStep> steps);
  // The schema steps this build knows, oldest first, and the version it
  // writes: the last step's.
  [[nodiscard]] static std::span<const SchemaStep> schema_steps();
  [[nodiscard]] static int schema_version();

  // The lock file beside the database: "<file>.lock".
  [[nodiscard]] static Result<std::unique_ptr<InstanceLock>> lock_instance(
      const std::filesystem::path& file);

  // Storage::backup for a database file, with SQLite's online backup API in
  // a single step. The source is opened read-only and is never changed or
  // migrated. The copy is written beside `dest` under a temporary name,
  // switched to journal_mode DELETE (one self-contained file), checked with
  // PRAGMA quick_check, synced, and then linked to `dest` only if nothing
  // has that name. On any failure no file is left at `dest` or at the
  // temporary name.
  [[nodiscard]] static Result<BackupInfo> backup(const std::filesystem::path& source,
                                                 const std::filesystem::path& dest,
                                                 int busy_timeout_ms = 5000);

  // Copies what it can of the write-ahead log into the database file without
  // waiting for readers or writers (a passive checkpoint), if the log holds
  // at least `min_log_bytes` as this connection last saw it (0: always; the
  // size is tracked only with defer_maintenance, otherwise it always
  // runs). Another connection checkpointing at the same moment is not an
  // error. Once the whole log is copied, the next write starts the log over
  // from its beginning, so the file stops growing: a writer that checkpoints
  // from another thread while it goes on writing never gets there.
  [[nodiscard]] Status checkpoint(std::int64_t min_log_bytes = 0);
  // The log size after which maintain() checkpoints.
  static constexpr std::int64_t kCheckpointLogBytes = 4 << 20;
  // Rows of a report written per batch (ReportLoad::upsert buffers them).
  static constexpr int kBatchRows = 256;

  ~SqliteStorage() override;

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
  Result<std::vector<StoreOverview>> store_summaries() override;
  Result<std::vector<std::string>> stores_of_report(std::int64_t report_id) override;
  Result<std::optional<UsageReport>> next_usage_report() override;
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
  Result<std::vector<ReportRecord>> reports_page(std::int64_t before_id,
                                                 std::optional<ReportStatus> status,
                                                 int limit) override;
  Result<std::vector<OutboxMessage>> outbox_page(std::int64_t before_id,
                                                 std::optional<OutboxState> state,
                                                 int limit) override;
  Result<std::int64_t> levels_version() override;
  Result<std::vector<LevelLine>> levels() override;
  Status add_mute(const Mute& mute) override;
  Result<std::int64_t> remove_mutes(std::string_view store,
                                    std::optional<std::string_view> item) override;
  Result<std::vector<Mute>> mutes() override;
  Result<MailReceipt> record_mail(const MailReceipt& receipt) override;
  Result<std::optional<MailReceipt>> mail_receipt(std::string_view mail_key) override;
  Result<bool> finish_mail(std::string_view mail_key, const std::vector<MailAttachment>& attachments,
                           const std::vector<OutboxMessage>& reply, TimePoint at) override;
  Result<std::optional<MailSource>> report_mail(std::int64_t report_id) override;
  Result<std::vector<MailSource>> report_mails(const std::vector<std::int64_t>& report_ids) override;
  Result<std::vector<ChangeRecord>> report_events(std::int64_t report_id, int limit) override;
  Result<bool> claim_inbox_file(std::string_view name, std::string_view claimant,
                                TimePoint now, Duration lease) override;
  Status release_inbox_file(std::string_view name, std::string_view claimant) override;
  Status maintain() override;
  bool groups_writes() const override { return true; }
  Status begin_group() override;
  Status end_group() override;
  void abandon_group() noexcept override;
  // A file: nothing to lose.
  [[nodiscard]] std::optional<std::string> connection_problem() const override {
    return std::nullopt;
  }

  struct Impl;  // opaque; defined in sqlite_storage.cpp

 private:
  explicit SqliteStorage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One report's load on SQLite: BEGIN IMMEDIATE ... COMMIT. Rows are
// buffered and written in batches of kBatchRows: one ordered scan reads the
// batch's current counts, then only the changed rows and their change
// records are written.
namespace sqlite {
class Statement;
}  // namespace sqlite

class SqliteReportWriter final : public ReportWriter {
 public:
  SqliteReportWriter(SqliteStorage::Impl& impl, std::int64_t report_id);
  ~SqliteReportWriter() override { rollback(); }
  SqliteReportWriter(const SqliteReportWriter&) = delete;
  SqliteReportWriter& operator=(const SqliteReportWriter&) = delete;

  Result<bool> remember_key(std::int64_t key) override;
  Status upsert(std::string_view store, std::string_view item, std::int64_t count,
                std::uint64_t line) override;
  Status flush() override;
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

  static constexpr int kBatchRows = SqliteStorage::kBatchRows;

 private:
  SqliteStorage::Impl* impl_ = nullptr;  // null once finished
  std::int64_t report_id_ = 0;
  std::int64_t rows_ = 0;
  std::int64_t changes_ = 0;
  bool keys_cleared_ = false;  // remember_key() cleared the earlier load's keys
  std::int64_t first_sightings_ = 0;  // change records that inserted their row
  std::int64_t first_seq_ = 0;  // the report's first and last change numbers,
  std::int64_t last_seq_ = 0;   // as SQLite assigned them at insert
  // The batch: names packed in `names_`, offsets and counts per row.
  std::string names_;
  struct Pending {
    std::size_t store_off, store_len, item_off, item_len;
    std::int64_t count;
    std::uint64_t line;
  };
  std::vector<Pending> pending_;
  ReportChangeSink change_sink_;
  // Minimum levels the events are judged by (null: 0, the fast path).
  std::shared_ptr<const MinimumLevels> minimums_, minimums_before_;
  // Change records given to log_change(), not yet written: names packed in
  // `log_names_`, and each record's old count (kAbsent: none).
  std::string log_names_;
  struct Logged {
    std::size_t store_off, store_len, item_off, item_len;
    std::int64_t old_count, count;
  };
  std::vector<Logged> logged_;
  // The stores the report has rows for (report_stores, at commit).
  std::set<std::string, std::less<>> stores_;
  std::string last_store_;
  [[nodiscard]] Status write_logged();
  // Takes the change numbers SQLite gave the `n` change records just
  // inserted, one after the other.
  void note_seqs(std::size_t n);
  [[nodiscard]] std::string_view store_of(std::size_t k) const {
    return std::string_view(names_.data() + pending_[k].store_off, pending_[k].store_len);
  }
  [[nodiscard]] std::string_view item_of(std::size_t k) const {
    return std::string_view(names_.data() + pending_[k].item_off, pending_[k].item_len);
  }
  // Scratch space of flush(): the batch in key order, each row's current
  // count (kAbsent for a new row), the rows that change something, and of
  // those the new ones and the ones that exist.
  static constexpr std::int64_t kAbsent = -1;
  std::vector<std::uint32_t> order_;
  std::vector<std::int64_t> old_;
  std::vector<std::uint32_t> changed_, inserted_, updated_;
  // Binds row `k` of the batch as row `j` of a chunk: store, item, count.
  void bind_batch_row(sqlite::Statement& s, int j, std::uint32_t k) const;
  [[nodiscard]] Status read_current_counts();
  [[nodiscard]] Status write_batch();
};

}  // namespace stockwatch

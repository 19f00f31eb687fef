// Durable state: inventory, the change log, the report ledger, the check
// cursor and the alert outbox, in one SQLite database.
//
// Contract:
// - All SQL lives behind this interface (src/storage.cpp). A later
//   PostgreSQL backend implements the same operations.
// - One Storage object owns one database connection. It is not thread-safe:
//   use one Storage per thread (WAL mode lets several connections work on
//   the same file; writers wait up to busy_timeout_ms, then get kBusy).
// - `open` throws StorageError for start-up failures (cannot open, schema
//   from a newer version); every other operation returns a Status/Result.
// - A ReportLoad is one transaction. It rolls back in its destructor unless
//   commit() succeeded, so a crash or an early return loads nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "base/result.hpp"

namespace stockwatch {

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StorageOptions {
  std::string synchronous = "normal";  // "normal" or "full" (WAL mode always)
  int busy_timeout_ms = 5000;
  // Copy the write-ahead log into the database file at commit when it is
  // large (SQLite's automatic checkpoint). The daemon turns this off for the
  // loading connection, so a large report's commit does not wait for the
  // copy, and calls checkpoint(kCheckpointLogBytes) after each report.
  bool auto_checkpoint = true;

  // The options [storage] sets (auto_checkpoint stays on).
  static StorageOptions from(const StorageConfig& config) {
    return {config.synchronous, config.busy_timeout_ms};
  }
};

enum class ReportStatus { kLoaded, kRejected, kDuplicate };
const char* to_string(ReportStatus s);

// A ledger entry: one report that reached the inbox.
struct ReportRecord {
  std::int64_t id = 0;
  std::string path;             // relative to the inbox (or as given to `ingest`)
  std::int64_t size = 0;
  std::string sha256;           // hex
  ReportStatus status = ReportStatus::kLoaded;
  std::int64_t rows = 0;
  std::int64_t changes = 0;
  std::string error;            // the problems, one per line (rejected only)
  std::optional<std::int64_t> duplicate_of;  // ledger id of the loaded original
  TimePoint received_at{};
  TimePoint finished_at{};
  std::string archived_path;    // empty until archived
};

enum class ChangeKind { kInsert, kModify };
const char* to_string(ChangeKind k);

// One record of the change log (the DynamoDB Streams record).
struct ChangeRecord {
  std::int64_t seq = 0;
  ChangeKind kind = ChangeKind::kInsert;
  std::string store;
  std::string item;
  std::optional<std::int64_t> old_count;   // absent for kInsert
  std::int64_t new_count = 0;
  std::int64_t report_id = 0;
};

enum class OutboxState { kQueued, kSent, kDead };
const char* to_string(OutboxState s);

// A message waiting for (or done with) delivery to one recipient.
struct OutboxMessage {
  std::int64_t id = 0;
  std::string message_id;       // RFC 5322 Message-ID, without <>
  std::int64_t report_id = 0;
  std::string event;            // "out_of_stock", "back_in_stock", "report_rejected"
  std::string sender;
  std::string recipient;
  std::string subject;          // for listings; the header is inside `data`
  std::string data;             // the whole RFC 5322 message, CRLF line ends
  OutboxState state = OutboxState::kQueued;
  int attempts = 0;
  TimePoint created_at{};
  TimePoint next_attempt_at{};
  TimePoint sent_at{};
  std::string last_error;
};

struct OutboxCounts {
  std::int64_t queued = 0;
  std::int64_t sent = 0;
  std::int64_t dead = 0;
};

// The changes of one report that the checker has not handled yet, read one
// page at a time so that memory stays bounded however large the report.
struct PendingChanges {
  std::int64_t report_id = 0;
  std::string report_path;
  TimePoint report_time{};
  std::int64_t last_seq = 0;              // the report's last change: the cursor ends here
  // One page of the report's alerting records after the cursor, in seq order.
  std::vector<ChangeRecord> out_of_stock; // new_count == 0
  std::vector<ChangeRecord> back_in_stock;// old_count == 0, new_count > 0
  // 0 when the page holds every alerting record up to last_seq; otherwise
  // the seq of the page's last record: next_change_page() reads on from it.
  std::int64_t more_after = 0;
};

// One row of the inventory, for listings.
struct InventoryRow {
  std::string store;
  std::string item;
  std::int64_t count = 0;
  TimePoint updated_at{};
  std::int64_t report_id = 0;
};

// A page of the inventory in (store, item) order.
struct InventoryQuery {
  std::optional<std::string> store;           // only this store
  bool out_of_stock_only = false;             // only count = 0
  std::optional<std::pair<std::string, std::string>> after;  // the last row of the previous page
  int limit = 100;
};

// What Storage::backup wrote.
struct BackupInfo {
  std::filesystem::path file;   // the copy, as given
  std::int64_t pages = 0;
  std::int64_t page_size = 0;
  int schema_version = 0;
  std::int64_t reports = 0;     // ledger entries in the copy
  std::int64_t inventory_rows = 0;
};

class Storage;

// One report's load, as one transaction. Move-only.
class ReportLoad {
 public:
  ReportLoad(ReportLoad&&) noexcept;
  ReportLoad& operator=(ReportLoad&&) noexcept;
  ReportLoad(const ReportLoad&) = delete;
  ReportLoad& operator=(const ReportLoad&) = delete;
  ~ReportLoad();  // rolls back unless committed; never throws

  // Remembers a row key (a fingerprint of store and item) for this
  // report's duplicate check, on disk; true when it was already there.
  [[nodiscard]] Result<bool> remember_key(std::int64_t key);
  // Upserts one row: a new item or a different count is written and
  // appends a change record (INSERT or MODIFY); the same count writes
  // nothing. Rows are buffered and written in batches: one ordered scan
  // reads the batch's current counts, then only the changed rows and their
  // change records are written; flush() and commit() write what is
  // buffered. Duplicate rows within a report are the loader's to find.
  // `line` is the row's place in the report, handed back to a change sink.
  [[nodiscard]] Status upsert(std::string_view store, std::string_view item, std::int64_t count,
                              std::uint64_t line = 0);
  [[nodiscard]] Status flush();
  // A loader that writes rows in another order than the report's can keep
  // the change records in the report's order: while a sink is set, the
  // batches write the inventory rows (and count the changes) but hand each
  // change record to the sink, in row order, instead of writing it; the
  // loader orders them and appends them with log_change() (buffered like
  // rows; flush() and commit() write them, after the rows). An empty sink
  // writes the records again.
  using ChangeSink = std::function<Status(std::string_view store, std::string_view item,
                                          std::optional<std::int64_t> old_count,
                                          std::int64_t count, std::uint64_t line)>;
  void defer_changes(ChangeSink sink) { change_sink_ = std::move(sink); }
  [[nodiscard]] Status log_change(std::string_view store, std::string_view item,
                                  std::optional<std::int64_t> old_count, std::int64_t count);
  // Records the report in the ledger as loaded and commits everything.
  // Returns the ledger id.
  [[nodiscard]] Result<std::int64_t> commit(ReportRecord record);
  // Rolls back now (also done by the destructor).
  void rollback();

  // Rows given to upsert(), and rows actually changed (as of the last flush).
  [[nodiscard]] std::int64_t rows() const { return rows_; }
  [[nodiscard]] std::int64_t changes() const { return changes_; }

  static constexpr int kBatchRows = 256;

 private:
  friend class Storage;
  explicit ReportLoad(Storage* storage, std::int64_t report_id);
  Storage* storage_ = nullptr;
  std::int64_t report_id_ = 0;
  std::int64_t rows_ = 0;
  std::int64_t changes_ = 0;
  std::int64_t base_seq_ = 0;   // last change seq before this report
  // The batch: names packed in `names_`, offsets and counts per row.
  std::string names_;
  struct Pending {
    std::size_t store_off, store_len, item_off, item_len;
    std::int64_t count;
    std::uint64_t line;
  };
  std::vector<Pending> pending_;
  ChangeSink change_sink_;
  // Change records given to log_change(), not yet written: names packed in
  // `log_names_`, and each record's old count (kAbsent: none).
  std::string log_names_;
  struct Logged {
    std::size_t store_off, store_len, item_off, item_len;
    std::int64_t old_count, count;
  };
  std::vector<Logged> logged_;
  [[nodiscard]] Status write_logged();
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
  [[nodiscard]] Status read_current_counts();
  [[nodiscard]] Status write_batch();
};

// One step of the schema's history: the SQL that takes a database at schema
// version `version` - 1 to `version`. Storage::open runs each step a database
// lacks, in order, each in its own transaction together with setting
// PRAGMA user_version, and logs it. Step 1 creates the tables in an empty
// file.
struct SchemaStep {
  int version = 0;
  std::string_view description;  // logged: "schema version 1 -> 2: <description>"
  std::string_view sql;
};

class Storage {
 public:
  // Opens (creating if needed) the database and migrates the schema forward
  // (schema_steps()). Throws StorageError on failure, and for a database
  // from a newer version, which is left untouched.
  static std::unique_ptr<Storage> open(const std::filesystem::path& file,
                                       const StorageOptions& options, const Clock& clock);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // --- Ledger -----------------------------------------------------------
  // The loaded report with this content, if any.
  [[nodiscard]] Result<std::optional<ReportRecord>> find_loaded(const std::string& sha256);
  // The newest ledger entry for this path and content, whatever its status.
  // Used after a restart to recognise a report that was handled but not yet
  // archived when the process stopped.
  [[nodiscard]] Result<std::optional<ReportRecord>> find_latest(const std::string& path,
                                                                const std::string& sha256);
  // Whether a loaded report has exactly this size (a cheap hint that a
  // file may be a byte-identical copy).
  [[nodiscard]] Result<bool> loaded_with_size(std::int64_t size);
  // Starts loading a report (BEGIN IMMEDIATE). Returns kBusy if another
  // connection holds the write lock past the busy timeout.
  [[nodiscard]] Result<ReportLoad> begin_report();
  // Records a rejected or duplicate report in its own transaction.
  [[nodiscard]] Result<std::int64_t> record_report(const ReportRecord& record);
  [[nodiscard]] Status mark_archived(std::int64_t report_id, const std::string& archived_path);
  [[nodiscard]] Result<std::optional<ReportRecord>> report(std::int64_t id);
  [[nodiscard]] Result<std::vector<ReportRecord>> recent_reports(int limit);

  // --- Inventory --------------------------------------------------------
  [[nodiscard]] Result<std::optional<std::int64_t>> count_of(std::string_view store,
                                                             std::string_view item);

  // --- Checker ----------------------------------------------------------
  // The next report with unhandled changes after the durable cursor, with
  // the first page (at most `page_size` records, both kinds together) of its
  // alerting records after the cursor; nullopt when the checker is up to
  // date. The cursor may point inside a report (a huge one handled page by
  // page): the report is then pending from there on.
  [[nodiscard]] Result<std::optional<PendingChanges>> next_pending_changes(
      std::size_t page_size = 1000);
  // Replaces `p`'s page with the next one after p.more_after (which must not
  // be 0), up to p.last_seq. Cheap: the change log is read by seq through
  // the alerting index, never from the report's start.
  [[nodiscard]] Status next_change_page(PendingChanges& p, std::size_t page_size = 1000);
  // The next rejected report not yet alerted on, or nullopt.
  [[nodiscard]] Result<std::optional<ReportRecord>> next_pending_rejection();
  // In one transaction: queue `messages` (a Message-ID already in the outbox
  // is skipped) and move the cursors past the given change seq / rejected
  // report id (0 = leave that cursor). A cursor never moves back, so a
  // second process repeating a step it lagged behind on cannot undo progress.
  [[nodiscard]] Status commit_check(std::int64_t last_change_seq, std::int64_t last_rejected_id,
                                    const std::vector<OutboxMessage>& messages);

  // --- Outbox -----------------------------------------------------------
  [[nodiscard]] Result<std::vector<OutboxMessage>> due_messages(TimePoint now, int limit);
  [[nodiscard]] Result<std::optional<TimePoint>> next_due_time();
  [[nodiscard]] Status mark_sent(std::int64_t id, TimePoint at);
  [[nodiscard]] Status mark_retry(std::int64_t id, TimePoint next_attempt, const std::string& error);
  [[nodiscard]] Status mark_dead(std::int64_t id, const std::string& error);
  // Queues a dead message again; false when `id` is not a dead message.
  [[nodiscard]] Result<bool> requeue(std::int64_t id, TimePoint at);
  [[nodiscard]] Result<std::vector<OutboxMessage>> list_outbox(bool include_sent, int limit);
  [[nodiscard]] Result<OutboxCounts> outbox_counts();
  // Queued and dead only (sent is left 0): cheap however large the outbox.
  [[nodiscard]] Result<OutboxCounts> open_outbox_counts();
  // Ledger entries received at or after `since`.
  [[nodiscard]] Result<std::int64_t> count_reports_since(TimePoint since);

  // --- Listings (the HTTP API), newest first, keyset-paginated ----------
  [[nodiscard]] Result<std::vector<InventoryRow>> list_inventory(const InventoryQuery& query);
  // Ledger entries with id < before_id (0 = from the newest), optionally of
  // one status.
  [[nodiscard]] Result<std::vector<ReportRecord>> reports_page(
      std::int64_t before_id, std::optional<ReportStatus> status, int limit);
  // Outbox messages with id < before_id (0 = from the newest), optionally
  // in one state.
  [[nodiscard]] Result<std::vector<OutboxMessage>> outbox_page(
      std::int64_t before_id, std::optional<OutboxState> state, int limit);

  // --- Backup -----------------------------------------------------------
  // Copies the database `source` to the new file `dest` while other
  // connections (a running daemon) go on working, with SQLite's online
  // backup API in a single step: the copy is one consistent state, and a
  // report that is being loaded is either wholly in it or not at all. The
  // source is opened read-only and is never changed or migrated.
  // The copy is written beside `dest` under a temporary name, switched to
  // journal_mode DELETE (one self-contained file), checked with
  // PRAGMA quick_check, synced, and then linked to `dest` only if nothing
  // has that name: an existing file is never replaced (kInvalidInput).
  // On any failure no file is left at `dest` or at the temporary name.
  [[nodiscard]] static Result<BackupInfo> backup(const std::filesystem::path& source,
                                                 const std::filesystem::path& dest,
                                                 int busy_timeout_ms = 5000);

  // Copies what it can of the write-ahead log into the database file without
  // waiting for readers or writers (a passive checkpoint), if the log holds
  // at least `min_log_bytes` as this connection last saw it (0: always; the
  // size is tracked only with auto_checkpoint off, otherwise it always
  // runs). Another connection checkpointing at the same moment is not an
  // error. Once the whole log is copied, the next write starts the log over
  // from its beginning, so the file stops growing: a writer that checkpoints
  // from another thread while it goes on writing never gets there.
  [[nodiscard]] Status checkpoint(std::int64_t min_log_bytes = 0);

  // The log size after which the daemon's loading connection checkpoints.
  static constexpr std::int64_t kCheckpointLogBytes = 4 << 20;

  // The schema steps this build knows, oldest first (src/storage.cpp), and
  // the version it writes: the last step's.
  [[nodiscard]] static std::span<const SchemaStep> schema_steps();
  [[nodiscard]] static int schema_version();

  // open() with another list of steps (numbered 1, 2, 3, ...; otherwise
  // std::invalid_argument): lets the tests exercise migrations that this
  // build does not have yet.
  static std::unique_ptr<Storage> open_with_schema(const std::filesystem::path& file,
                                                   const StorageOptions& options,
                                                   const Clock& clock,
                                                   std::span<const SchemaStep> steps);

 struct Impl;  // opaque; defined in src/storage.cpp

 private:
  friend class ReportLoad;
  explicit Storage(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stockwatch

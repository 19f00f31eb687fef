// Durable state: inventory, the change log, the report ledger, the check
// cursors and the alert outbox, behind one interface, so that the loader,
// the checker, the mailer and the HTTP API never name a database.
//
// Contract:
// - Storage is an abstract interface. Each backend (src/store/sqlite/ today,
//   PostgreSQL later) implements it and owns all of its SQL; nothing here is
//   particular to one database. Storage::open picks the backend the
//   configured location names. tests/unit/storage_contract_test.cpp is the
//   behaviour every backend must show.
// - One Storage object owns one database connection. It is not thread-safe:
//   use one Storage per thread. Several connections, in one process or in
//   several, may work on one database at once; a writer waits up to
//   busy_timeout_ms for another, then gets kBusy.
// - `open` throws StorageError for start-up failures (cannot open, schema
//   from a newer version); every other operation returns a Status/Result
//   and throws nothing.
// - Ids and order never assume one writer: a ledger id, a change number and
//   an outbox id are assigned by the database when the row is inserted,
//   inside the writing transaction. Change numbers grow in commit order
//   (a backend serialises report commits), so the checker's cursor never
//   skips a change committed later with a smaller number.
// - A ReportLoad is one transaction. It rolls back in its destructor unless
//   commit() succeeded, so a crash or an early return loads nothing.
// - An outbox message is delivered under a claim (claim_due): a lease that
//   only one claimant holds until it records the outcome or the lease ends.
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
#include "pipeline/event.hpp"
#include "pipeline/minimum_levels.hpp"
#include "pipeline/usage.hpp"

namespace stockwatch {

class ItemNames;   // store/item_names.hpp
class SortedInventory;   // store/sorted_inventory.hpp

class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct StorageOptions {
  std::string synchronous = "normal";  // durability: "normal" or "full"
  int busy_timeout_ms = 5000;
  // Housekeeping a backend may do at commit (SQLite copies a large log into
  // the database file) is left to maintain() instead, so that a large
  // report's commit never waits for it. The daemon sets this on its loading
  // connection and calls maintain() between reports.
  bool defer_maintenance = false;
  // A server's password (PostgreSQL), from [storage] password_file or a
  // systemd credential; empty: the backend's own defaults (PGPASSWORD,
  // ~/.pgpass). Never logged.
  std::string password;
  // The distinct item names (store/item_names.hpp) to share with the other
  // connections given the same list; empty: the connection keeps its own.
  std::shared_ptr<ItemNames> item_names;
  // The inventory sorted by count and by last change in memory
  // (store/sorted_inventory.hpp), for list_inventory's kCount and kChanged
  // orders, shared with the connections given the same; empty: those
  // orders sort in the database.
  std::shared_ptr<SortedInventory> sorted_inventory;

  // The options [storage] sets (defer_maintenance stays off).
  static StorageOptions from(const StorageConfig& config) {
    return {config.synchronous, config.busy_timeout_ms, false, config.password, nullptr, nullptr};
  }
};

enum class ReportStatus { kLoaded, kRejected, kDuplicate };
const char* to_string(ReportStatus s);
// The status a stored name stands for (to_string's inverse; kLoaded for
// any other name).
ReportStatus report_status_from(std::string_view name);

// A ledger entry: one report that reached the inbox.
struct ReportRecord {
  std::int64_t id = 0;
  std::string path;             // relative to the inbox (or as given to `ingest`)
  std::int64_t size = 0;
  std::string sha256;           // hex
  ReportStatus status = ReportStatus::kLoaded;
  std::int64_t rows = 0;
  std::int64_t changes = 0;
  std::string error;            // the problems in English, one per line (rejected only)
  std::string problems;         // the same as codes with arguments, when the parser found
                                // them (JSON, report/report_problem.hpp); shown from these
  std::optional<std::int64_t> duplicate_of;  // ledger id of the loaded original
  TimePoint received_at{};
  TimePoint finished_at{};
  std::string archived_path;    // empty until archived
  // The day its counts were true (days since 1970-01-01) and where that
  // came from: "column", "name" or "received" (report/report_date.hpp).
  // Unset for rejected and duplicate reports.
  std::optional<std::int64_t> report_day;
  std::string date_source;
  // How it arrived: "folder" (put in the inbox), "s3" (an S3 upload),
  // "browser" (the web console's upload) or "email" (a mail's attachment);
  // empty for `stockwatch ingest` and for reports older than the column.
  std::string arrived_by;
};

enum class ChangeKind { kInsert, kModify };
const char* to_string(ChangeKind k);

// One record of the change log (the DynamoDB Streams record); as the
// checker reads it, with the alert event it raises, decided by
// stock_event() when it was written.
struct ChangeRecord {
  std::int64_t seq = 0;
  ChangeKind kind = ChangeKind::kInsert;
  std::string store;
  std::string item;
  std::optional<std::int64_t> old_count;   // absent for kInsert
  std::int64_t new_count = 0;
  std::int64_t report_id = 0;
  std::optional<EventKind> event;          // absent: the change raises nothing
  std::optional<std::int64_t> minimum;     // the minimum level the event was judged by (none yet)
};

enum class OutboxState { kQueued, kSent, kDead };
const char* to_string(OutboxState s);
// The state a stored name stands for (kQueued for any other name).
OutboxState outbox_state_from(std::string_view name);

// A message waiting for (or done with) delivery to one recipient: what to
// say (the event data) and to whom, rendered into the channel's format
// (an RFC 5322 email) each time it is sent (notify/message.hpp).
struct OutboxMessage {
  std::int64_t id = 0;
  std::string message_id;       // fixed when queued: every attempt sends it (email: without <>)
  std::int64_t report_id = 0;
  std::string event;            // event_name() of its EventKind
  std::string channel = "email";
  std::string sender;           // email: the envelope sender, fixed when queued
  std::string recipient;        // the channel's address (email: the mailbox)
  std::string language = "en";  // the catalog it is rendered with
  std::string payload;          // the event data, JSON (notify/message.hpp)
  std::string subject;          // rows queued by schema 3 and older only
  std::string data;             // rows queued by schema 3 and older only: the whole
                                // RFC 5322 message, CRLF line ends, sent as it is
  OutboxState state = OutboxState::kQueued;
  int attempts = 0;
  TimePoint created_at{};
  TimePoint next_attempt_at{};
  TimePoint sent_at{};
  std::string last_error;
  // Set while a claimant holds the message (claim_due); empty otherwise or
  // once its lease has ended.
  std::string claimed_by;
  TimePoint claim_expires_at{};
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
  // One page of the report's records that raise an event (`event` set),
  // after the cursor, in seq order.
  std::vector<ChangeRecord> events;
  // The page's records that raise `kind`, in seq order.
  [[nodiscard]] std::vector<ChangeRecord> of(EventKind kind) const {
    std::vector<ChangeRecord> out;
    for (const auto& c : events) {
      if (c.event == kind) out.push_back(c);
    }
    return out;
  }
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

// The order of an inventory listing (InventoryQuery::order). Every order
// ends in (store, item), so each row has one place and pages never skip or
// repeat a row.
enum class InventoryOrder {
  kStoreItem,   // by store, then item (the inventory's key)
  kItem,        // by item, then store
  kCount,       // lowest count first, then store and item
  kChanged,     // the newest change first (updated_at), then store and item
};

// A page of the inventory, in (store, item) order or another `order`.
struct InventoryQuery {
  std::optional<std::string> store;           // only this store
  bool out_of_stock_only = false;             // only count = 0
  // Only items whose name holds this text, ASCII letters compared without
  // case ("gayo" finds "Arabika Gayo"); other characters must match exactly.
  std::optional<std::string> item_contains;
  std::optional<std::pair<std::string, std::string>> after;  // the last row of the previous page
  InventoryOrder order = InventoryOrder::kStoreItem;
  // With `after` and kCount or kChanged: that row's count, or its updated_at
  // in Unix milliseconds.
  std::int64_t after_value = 0;
  int limit = 100;
};

// One store of the inventory, for listings (Storage::list_stores).
struct StoreSummary {
  std::string store;
  std::int64_t items = 0;           // inventory rows of the store
  std::int64_t out_of_stock = 0;    // of them, with count 0
};

// One store as the console's overview shows it.
struct StoreOverview {
  std::string store;
  std::int64_t last_report_id = 0;   // the newest loaded report with rows for it
  TimePoint last_report_at{};        // when that report was loaded
  std::int64_t out_of_stock = 0;     // its items at 0
  std::string last_report_by;        // how that report arrived (ReportRecord::arrived_by)
};

// One store's newest loaded report (Storage::store_reports).
struct StoreReport {
  std::string store;
  std::int64_t report_id = 0;        // the newest loaded report with rows for it
  TimePoint received_at{};           // when the newest of them was received
};

// One change of a count, for summaries (Storage::largest_changes).
struct CountChange {
  std::string store;
  std::string item;
  std::optional<std::int64_t> old_count;   // absent: a new item
  std::int64_t new_count = 0;
  std::int64_t report_id = 0;
};

// What Storage::backup wrote (pages: the backend's units of storage).
struct BackupInfo {
  std::filesystem::path file;   // the copy, as given
  std::int64_t pages = 0;
  std::int64_t page_size = 0;
  int schema_version = 0;
  std::int64_t reports = 0;     // ledger entries in the copy
  std::int64_t inventory_rows = 0;
};

// A mute (`stockwatch mute`): the events of an item, or of every item of a
// store, are not alerted until `until` or, with until_change, until the
// item's count changes after the mute was set.
struct Mute {
  std::string store;
  std::string item;             // empty: every item of the store
  std::optional<TimePoint> until;  // set: muted before this time
  bool until_change = false;    // muted while the count stays as it was at created_at
  TimePoint created_at{};
};

// A loaded report the use rates have not taken in yet (Storage::next_usage_report).
struct UsageReport {
  std::int64_t report_id = 0;
  std::int64_t day = 0;          // the report's day
  std::string path;
  TimePoint time{};              // loaded
  std::int64_t last_seq = 0;     // its place in the change feed
  bool alerts = true;            // false: loaded before use rates existed (no alerts for the past)
  std::int64_t changes = 0;      // its change records, a levels file's too (what its take-in reads)
};

// One store and item with its use figures and the store's report days.
struct UsageRow {
  std::string store;
  std::string item;
  std::int64_t count = 0;                  // the current count (inventory)
  UsageFigures figures;
  std::int64_t as_of_day = 0;              // the store's latest report day
  std::optional<std::int64_t> gap_days;    // days between the store's last two reports
};

// One point of an item's history: a report that changed its count.
struct HistoryPoint {
  std::int64_t day = 0;
  std::int64_t count = 0;
  std::int64_t report_id = 0;
};

// --- Reports by email (src/mailbox/) -------------------------------------
// One attachment of a mail the mailbox read.
struct MailAttachment {
  int position = 0;                       // its place among the mail's attachments, from 0
  std::string name;                       // the file name as sent (UTF-8, sanitised)
  std::string path;                       // where it was placed in the inbox; empty: not placed
  std::string sha256;                     // of its content (hex); empty when not placed
  std::optional<std::int64_t> report_id;  // its ledger entry, once there
};

enum class MailState { kLoading, kAnswered };

// A mail the mailbox took: recorded before its attachments are placed in
// the inbox, answered once they are in the ledger (its reply queued in the
// same transaction). The server copy is marked handled only after that.
struct MailReceipt {
  std::string mail_key;                   // the Message-ID, or "sha256:<hex>" of the mail
  std::string message_id;                 // as sent, without <>; may be empty
  std::string sender;                     // the From address, lower case
  MailState state = MailState::kLoading;
  TimePoint received_at{};
  TimePoint answered_at{};
  std::string reply_id;                   // the reply's Message-ID; empty: no reply
  std::vector<MailAttachment> attachments;
};

// Where a ledger entry came from when it came by email.
struct MailSource {
  std::string message_id;
  std::string sender;
  std::string attachment;                 // the file name as sent
  std::int64_t report_id = 0;             // the ledger entry (Storage::report_mails)
};

class Storage;

// Where a backend hands the change records it defers (ReportLoad::defer_changes).
using ReportChangeSink = std::function<Status(std::string_view store, std::string_view item,
                                              std::optional<std::int64_t> old_count,
                                              std::int64_t count, std::uint64_t line)>;

// The backend's side of one report's load: one write transaction. Backends
// implement it; callers use the ReportLoad handle below.
class ReportWriter {
 public:
  virtual ~ReportWriter() = default;  // rolls back unless committed; never throws
  [[nodiscard]] virtual Result<bool> remember_key(std::int64_t key) = 0;
  [[nodiscard]] virtual Status upsert(std::string_view store, std::string_view item,
                                      std::int64_t count, std::uint64_t line) = 0;
  [[nodiscard]] virtual Status flush() = 0;
  virtual void defer_changes(ReportChangeSink sink) = 0;
  [[nodiscard]] virtual Status log_change(std::string_view store, std::string_view item,
                                          std::optional<std::int64_t> old_count,
                                          std::int64_t count) = 0;
  [[nodiscard]] virtual Result<std::int64_t> commit(ReportRecord record) = 0;
  virtual void rollback() noexcept = 0;
  [[nodiscard]] virtual std::int64_t rows() const = 0;
  [[nodiscard]] virtual std::int64_t changes() const = 0;
  // Minimum levels (pipeline/minimum_levels.hpp): the events of the change
  // records written from now on are judged by `now` (null: minimum 0), the
  // old count by `before` (null: by `now` too; a levels file sets both).
  virtual void set_minimums(std::shared_ptr<const MinimumLevels> now,
                            std::shared_ptr<const MinimumLevels> before) = 0;
  // Replaces every level line by `lines` and notes this load's report as
  // the levels' version (Storage::levels_version), committed with it; the
  // lines count as the load's rows (the ledger's `rows`).
  [[nodiscard]] virtual Status replace_levels(std::span<const LevelLine> lines) = 0;
  // The latest report day of the loaded reports with rows of `store`
  // (nullopt: none), as this load's transaction sees it.
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> latest_day_of(std::string_view store) = 0;
  // A row of a report older than its store's latest: its count becomes a
  // history point of `day` (table usage_points) and nothing else (no
  // inventory row, change record or event). Counted in rows().
  [[nodiscard]] virtual Status log_history(std::string_view store, std::string_view item,
                                           std::int64_t count, std::int64_t day) = 0;
};

// One report's load, as one transaction. Move-only; a moved-from load does
// nothing.
class ReportLoad {
 public:
  explicit ReportLoad(std::unique_ptr<ReportWriter> writer) : w_(std::move(writer)) {}
  ReportLoad(ReportLoad&&) noexcept = default;
  ReportLoad& operator=(ReportLoad&& o) noexcept {
    if (this != &o) {
      rollback();
      w_ = std::move(o.w_);
    }
    return *this;
  }
  ReportLoad(const ReportLoad&) = delete;
  ReportLoad& operator=(const ReportLoad&) = delete;
  ~ReportLoad() { rollback(); }  // rolls back unless committed; never throws

  // Remembers a row key (a fingerprint of store and item) for this
  // report's duplicate check, on disk; true when it was already there.
  [[nodiscard]] Result<bool> remember_key(std::int64_t key);
  // Whether no loaded report has rows of `store` (latest_day_of() has
  // none), as this load's transaction sees it: then every row of that store
  // in this load is a first sighting. On SQLite nothing can change that
  // before this load commits (one writer); on PostgreSQL another node's load
  // can commit rows of the store meanwhile, which the caller must expect.
  [[nodiscard]] Result<bool> store_is_new(std::string_view store);
  // Upserts one row: a new item or a different count is written and
  // appends a change record (INSERT or MODIFY), with its alert event when
  // stock_event() says it raises one; the same count writes nothing. A backend may buffer rows and write them in batches; flush()
  // and commit() write what is buffered. Duplicate rows within a report are
  // the loader's to find. `line` is the row's place in the report, handed
  // back to a change sink.
  [[nodiscard]] Status upsert(std::string_view store, std::string_view item, std::int64_t count,
                              std::uint64_t line = 0);
  [[nodiscard]] Status flush();
  // A loader that writes rows in another order than the report's can keep
  // the change records in the report's order: while a sink is set, the
  // batches write the inventory rows (and count the changes) but hand each
  // change record to the sink, in row order, instead of writing it; the
  // loader orders them and appends them with log_change() (buffered like
  // rows; flush() and commit() write them, after the rows). An empty sink
  // writes the records again. A backend that writes the records in the
  // order of `line` itself may hand none to the sink.
  using ChangeSink = ReportChangeSink;
  void defer_changes(ChangeSink sink);
  [[nodiscard]] Status log_change(std::string_view store, std::string_view item,
                                  std::optional<std::int64_t> old_count, std::int64_t count);
  // See ReportWriter::set_minimums and replace_levels. A levels file's load
  // logs, for each item whose state its levels change, a change record of
  // the same count (log_change(store, item, count, count)).
  void set_minimums(std::shared_ptr<const MinimumLevels> now,
                    std::shared_ptr<const MinimumLevels> before = nullptr) {
    if (w_) w_->set_minimums(std::move(now), std::move(before));
  }
  [[nodiscard]] Status replace_levels(std::span<const LevelLine> lines);
  // The day the report's counts were true (ReportRecord::report_day), given
  // before the first upsert(). From then on the rows of a store whose
  // latest loaded report has a later day are history only (log_history):
  // an older report never moves the current count back and raises no
  // alert about the past. Without it every row is upserted.
  void set_report_day(std::int64_t day) { report_day_ = day; }
  // Records the report in the ledger as loaded and commits everything.
  // Returns the ledger id. On failure everything is rolled back.
  [[nodiscard]] Result<std::int64_t> commit(ReportRecord record);
  // Rolls back now (also done by the destructor).
  void rollback() noexcept;

  // Rows given to upsert(), and rows actually changed (as of the last flush).
  [[nodiscard]] std::int64_t rows() const { return w_ ? w_->rows() : rows_; }
  [[nodiscard]] std::int64_t changes() const { return w_ ? w_->changes() : changes_; }

 private:
  std::unique_ptr<ReportWriter> w_;  // null once committed or rolled back
  std::int64_t rows_ = 0, changes_ = 0;  // kept from the writer when it ends
  std::optional<std::int64_t> report_day_;  // set_report_day()
  // Whether the store of the last row is older than its latest report
  // (one lookup per store, kept for the load).
  std::string last_store_;
  bool last_store_history_ = false;
  std::vector<std::pair<std::string, bool>> store_history_;
  void finish() noexcept;
};

// Held while one daemon works on a database (Storage::lock_instance).
class InstanceLock {
 public:
  virtual ~InstanceLock() = default;  // releases the lock
};

class Storage {
 public:
  // Opens (creating if needed) the database that `location` names and
  // migrates its schema forward. A file path opens SQLite; a URL of a
  // backend this build lacks (postgresql://...) is refused. Throws
  // StorageError on failure, and for a database from a newer version, which
  // is left untouched.
  static std::unique_ptr<Storage> open(const std::filesystem::path& location,
                                       const StorageOptions& options, const Clock& clock);
  // Takes the single-instance lock of the database `location` names, for
  // as long as the returned object lives: only one `serve` works on one
  // database. kBusy when another process holds it (its message names that
  // process's pid when known). The lock does not keep other connections
  // out: `ingest` and the daemon's own connections go on working.
  [[nodiscard]] static Result<std::unique_ptr<InstanceLock>> lock_instance(
      const std::filesystem::path& location);
  // Copies the database `source` names to the new file `dest` while other
  // connections (a running daemon) go on working: one consistent state, a
  // report being loaded wholly in it or not at all. An existing file is
  // never replaced (kInvalidInput); on any failure no file is left at
  // `dest`.
  [[nodiscard]] static Result<BackupInfo> backup(const std::filesystem::path& source,
                                                 const std::filesystem::path& dest,
                                                 int busy_timeout_ms = 5000);

  virtual ~Storage() = default;
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // --- Ledger -----------------------------------------------------------
  // The loaded report with this content, if any.
  [[nodiscard]] virtual Result<std::optional<ReportRecord>> find_loaded(const std::string& sha256) = 0;
  // The newest ledger entry for this path and content, whatever its status.
  // Used after a restart to recognise a report that was handled but not yet
  // archived when the process stopped.
  [[nodiscard]] virtual Result<std::optional<ReportRecord>> find_latest(
      const std::string& path, const std::string& sha256) = 0;
  // Whether a loaded report has exactly this size (a cheap hint that a
  // file may be a byte-identical copy).
  [[nodiscard]] virtual Result<bool> loaded_with_size(std::int64_t size) = 0;
  // Starts loading a report (takes the write lock). Returns kBusy if
  // another connection holds it past the busy timeout.
  [[nodiscard]] virtual Result<ReportLoad> begin_report() = 0;
  // Records a rejected or duplicate report in its own transaction.
  [[nodiscard]] virtual Result<std::int64_t> record_report(const ReportRecord& record) = 0;
  [[nodiscard]] virtual Status mark_archived(std::int64_t report_id,
                                             const std::string& archived_path) = 0;
  [[nodiscard]] virtual Result<std::optional<ReportRecord>> report(std::int64_t id) = 0;
  [[nodiscard]] virtual Result<std::vector<ReportRecord>> recent_reports(int limit) = 0;
  // Ledger entries received at or after `since`.
  [[nodiscard]] virtual Result<std::int64_t> count_reports_since(TimePoint since) = 0;

  // --- Inventory --------------------------------------------------------
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> count_of(std::string_view store,
                                                                     std::string_view item) = 0;

  // --- Change feed (the checker) ----------------------------------------
  // The next report with unhandled changes after the durable cursor, with
  // the first page (at most `page_size` records, both kinds together) of its
  // alerting records after the cursor; nullopt when the checker is up to
  // date. The cursor may point inside a report (a huge one handled page by
  // page): the report is then pending from there on.
  [[nodiscard]] virtual Result<std::optional<PendingChanges>> next_pending_changes(
      std::size_t page_size = 1000) = 0;
  // Replaces `p`'s page with the next one after p.more_after (which must not
  // be 0), up to p.last_seq. Cheap: never reads from the report's start.
  [[nodiscard]] virtual Status next_change_page(PendingChanges& p, std::size_t page_size = 1000) = 0;
  // The next rejected report not yet alerted on, or nullopt.
  [[nodiscard]] virtual Result<std::optional<ReportRecord>> next_pending_rejection() = 0;
  // In one transaction: queue `messages` (a Message-ID already in the outbox
  // is skipped) and move the cursors past the given change seq / rejected
  // report id (0 = leave that cursor). A cursor never moves back, so a
  // second process repeating a step it lagged behind on cannot undo progress.
  [[nodiscard]] virtual Status commit_check(std::int64_t last_change_seq,
                                            std::int64_t last_rejected_id,
                                            const std::vector<OutboxMessage>& messages) = 0;

  // --- Schedules (the template stage) ------------------------------------
  // The last occurrence of the schedule `name` that was handled, or nullopt
  // when none was yet.
  [[nodiscard]] virtual Result<std::optional<TimePoint>> schedule_mark(std::string_view name) = 0;
  // In one transaction: notes `at` as the schedule's last handled
  // occurrence and queues `messages` (a Message-ID already in the outbox is
  // skipped). When an occurrence at or after `at` was handled already (by
  // this or another connection) nothing changes and the answer is false:
  // each occurrence queues its messages once.
  [[nodiscard]] virtual Result<bool> commit_schedule(
      std::string_view name, TimePoint at, const std::vector<OutboxMessage>& messages) = 0;

  // --- Outbox -----------------------------------------------------------
  // Claims up to `limit` queued messages that are due at `now` and not held
  // by another claimant's unexpired lease, for `claimant` until now + lease,
  // atomically: two connections (or processes) claiming at once never get
  // the same message. Oldest due first. A lease that ends without an outcome
  // (the claimant died) makes the message claimable again; a claimant that
  // claims under the same name again (a daemon restarted after a crash)
  // takes its own claims back at once.
  [[nodiscard]] virtual Result<std::vector<OutboxMessage>> claim_due(
      TimePoint now, int limit, std::string_view claimant, Duration lease) = 0;
  // The messages due at `now`, oldest due first, claimed or not: a view,
  // for listings and tests. To deliver, claim_due.
  [[nodiscard]] virtual Result<std::vector<OutboxMessage>> due_messages(TimePoint now,
                                                                        int limit) = 0;
  // When the next queued message can be claimed (its next attempt, or the
  // end of the lease that holds it); nullopt when nothing is queued.
  [[nodiscard]] virtual Result<std::optional<TimePoint>> next_due_time() = 0;
  // Outcomes: each also ends the message's claim.
  [[nodiscard]] virtual Status mark_sent(std::int64_t id, TimePoint at) = 0;
  [[nodiscard]] virtual Status mark_retry(std::int64_t id, TimePoint next_attempt,
                                          const std::string& error) = 0;
  [[nodiscard]] virtual Status mark_dead(std::int64_t id, const std::string& error) = 0;
  // Queues a dead message again; false when `id` is not a dead message.
  [[nodiscard]] virtual Result<bool> requeue(std::int64_t id, TimePoint at) = 0;
  // The ids of messages in `state`, oldest first, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<std::int64_t>> outbox_ids(OutboxState state,
                                                                     int limit) = 0;
  // Newest first, at most `limit`, every state or only queued and dead,
  // with their bodies (listings that need no body: outbox_page).
  [[nodiscard]] virtual Result<std::vector<OutboxMessage>> list_outbox(bool include_sent,
                                                                       int limit) = 0;
  [[nodiscard]] virtual Result<OutboxCounts> outbox_counts() = 0;
  // Queued and dead only (sent is left 0): cheap however large the outbox.
  [[nodiscard]] virtual Result<OutboxCounts> open_outbox_counts() = 0;

  // --- Listings (the HTTP API), newest first, keyset-paginated ----------
  // kCount and kChanged come from StorageOptions::sorted_inventory when it
  // is set and can serve (store/sorted_inventory.hpp), else from the
  // database.
  [[nodiscard]] virtual Result<std::vector<InventoryRow>> list_inventory(
      const InventoryQuery& query) = 0;
  // Brings StorageOptions::sorted_inventory up to the newest loaded report,
  // reading it whole if it must (what list_inventory leaves to a keeper);
  // nothing without one.
  [[nodiscard]] virtual Status keep_sorted_inventory() = 0;
  // Every store that has inventory rows, in store order (the store names as
  // reports wrote them, compared byte for byte), at most `limit`.
  [[nodiscard]] virtual Result<std::vector<StoreSummary>> list_stores(int limit) = 0;
  // Ledger entries with id < before_id (0 = from the newest), optionally of
  // one status.
  [[nodiscard]] virtual Result<std::vector<ReportRecord>> reports_page(
      std::int64_t before_id, std::optional<ReportStatus> status, int limit) = 0;
  // Outbox messages with id < before_id (0 = from the newest), optionally
  // in one state, without their bodies (`data` is left empty).
  [[nodiscard]] virtual Result<std::vector<OutboxMessage>> outbox_page(
      std::int64_t before_id, std::optional<OutboxState> state, int limit) = 0;

  // --- The web console -------------------------------------------------
  // Every store that a loaded report had rows for, by name, without
  // reading the whole inventory. A backend without it answers kInternal
  // ("not supported"), and the console says so.
  [[nodiscard]] virtual Result<std::vector<StoreOverview>> store_summaries() {
    return Error(ErrorCode::kInternal, "this storage backend has no store summaries yet");
  }
  // The stores a loaded report had rows for, by name (empty for a rejected
  // or duplicate report). Same default as store_summaries().
  [[nodiscard]] virtual Result<std::vector<std::string>> stores_of_report(std::int64_t report_id) {
    (void)report_id;
    return Error(ErrorCode::kInternal, "this storage backend has no report stores yet");
  }

  // --- Minimum levels and mutes (pipeline/minimum_levels.hpp) ------------
  // The ledger id of the levels file whose lines are in force (0: none yet).
  // One small read: the loader asks before each report.
  [[nodiscard]] virtual Result<std::int64_t> levels_version() = 0;
  // The level lines in force, in (store, item) order.
  [[nodiscard]] virtual Result<std::vector<LevelLine>> levels() = 0;
  // The minimum level of one item by the lines in force, with
  // `default_minimum` ([alerts] default_minimum) where no line matches.
  [[nodiscard]] Result<std::int64_t> minimum_of(std::string_view store, std::string_view item,
                                                std::int64_t default_minimum = 0);
  // Sets a mute; one for the same store and item replaces it.
  [[nodiscard]] virtual Status add_mute(const Mute& mute) = 0;
  // Removes the mute of `store` and `item` ("" the store's own mute; nullopt
  // every mute of the store); returns how many were removed.
  [[nodiscard]] virtual Result<std::int64_t> remove_mutes(std::string_view store,
                                                          std::optional<std::string_view> item) = 0;
  // Every mute, in (store, item) order, expired ones included.
  [[nodiscard]] virtual Result<std::vector<Mute>> mutes() = 0;
  // --- Missing reports and digests (pipeline/expect_stage, digest_stage) --
  // Every store a loaded report had rows for (a report that repeats a
  // store's counts unchanged counts too), with its newest such report, in
  // store order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<StoreReport>> store_reports(int limit) = 0;
  // The change records of the loaded reports received after `after` and at
  // or before `until`, of the `stores` given (empty: every store), the
  // largest first (by how far the count moved; a new item from 0), then in
  // change order, at most `limit`.
  [[nodiscard]] virtual Result<std::vector<CountChange>> largest_changes(
      TimePoint after, TimePoint until, const std::vector<std::string>& stores, int limit) = 0;
  // --- Use rates and forecasts (pipeline/usage.hpp) ---------------------
  // Each loaded report is taken in once, in commit order, after it loaded
  // (the forecast stage, off the loader): its counts become history points
  // (table `usage_points`), the running figures of each item it changed
  // are updated by observe()'s rule (table `usage`), and the store's report
  // days noted (table `usage_stores`).
  // The next loaded report after the cursor "usage", or nullopt (always,
  // for a backend without use rates: it has nothing to take in).
  [[nodiscard]] virtual Result<std::optional<UsageReport>> next_usage_report() {
    return std::optional<UsageReport>();
  }
  // Takes report `r` in, in one transaction. Repeating it changes nothing.
  [[nodiscard]] virtual Status apply_usage(const UsageReport& r) {
    (void)r;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // The items report `r` changed whose count (> 0) lasts at most
  // `horizon_days` at their use rate, judged as of the report's day;
  // at most `limit`, soonest first.
  [[nodiscard]] virtual Result<std::vector<UsageRow>> running_out_of_report(
      const UsageReport& r, std::int64_t horizon_days, int limit) {
    (void)r, (void)horizon_days, (void)limit;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // In one transaction: queue `messages` (a Message-ID already in the
  // outbox is skipped) and move the cursor "usage" past `r` (never back).
  [[nodiscard]] virtual Status commit_usage(const UsageReport& r,
                                            const std::vector<OutboxMessage>& messages) {
    (void)r, (void)messages;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // The whole take-in of report `r` as ONE write transaction: what
  // apply_usage(r) does; then, when `judge` is set, the report's
  // running_out_of_report(r, horizon_days, limit) rows are handed to it
  // (a backend may skip that read, and hand no rows, when none of the
  // report's stores has two report days yet: no item there has a use);
  // then the messages `judge` returns are queued and the cursor moved, as
  // commit_usage(r, messages) does. On failure nothing of it is kept.
  // `judge` runs inside the transaction: it must not call this Storage.
  using UsageJudge = std::function<std::vector<OutboxMessage>(const std::vector<UsageRow>&)>;
  [[nodiscard]] virtual Status take_in_usage(const UsageReport& r, std::int64_t horizon_days,
                                             int limit, const UsageJudge& judge) {
    if (auto st = apply_usage(r); !st.ok()) return st;
    std::vector<OutboxMessage> messages;
    if (judge) {
      auto rows = running_out_of_report(r, horizon_days, limit);
      if (!rows) return rows.error();
      messages = judge(*rows);
    }
    return commit_usage(r, messages);
  }
  // A report's check and the take-in of that same report, as ONE write
  // transaction: `messages` (the check's, a Message-ID already in the
  // outbox skipped) are queued first, as commit_check(last_change_seq, 0,
  // messages) would queue them, the cursor "changes" moves to
  // `last_change_seq` (never back), and then everything take_in_usage(r,
  // horizon_days, limit, judge) does. The checker's step and the take-in
  // then cost one commit instead of two. `r` must be the report
  // next_usage_report() returns, and `last_change_seq` its end
  // (r.last_seq) or a change inside it. On failure nothing of either is
  // kept: no message is queued, the cursor "changes" stays where it was
  // and the report is checked and taken in again later. `judge` runs
  // inside the transaction, as for take_in_usage. (This default, for a
  // backend without its own, runs commit_check and then take_in_usage, two
  // transactions: a failure of the second leaves the first done, which is
  // also safe.)
  [[nodiscard]] virtual Status commit_check_with_take_in(
      std::int64_t last_change_seq, const std::vector<OutboxMessage>& messages,
      const UsageReport& r, std::int64_t horizon_days, int limit, const UsageJudge& judge) {
    if (auto st = commit_check(last_change_seq, 0, messages); !st.ok()) return st;
    return take_in_usage(r, horizon_days, limit, judge);
  }
  // The figures of one store and item (nullopt: no report had it).
  [[nodiscard]] virtual Result<std::optional<UsageRow>> usage_of(std::string_view store,
                                                                 std::string_view item) {
    (void)store, (void)item;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // Items in stock with a known, non-zero use, fewest days of cover first
  // (one store, or every store), at most `limit`.
  [[nodiscard]] virtual Result<std::vector<UsageRow>> usage_by_cover(
      std::optional<std::string> store, int limit) {
    (void)store, (void)limit;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // Every store's figures for one item (transfers), in store order.
  [[nodiscard]] virtual Result<std::vector<UsageRow>> usage_of_item(std::string_view item) {
    (void)item;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // The history of one store and item, oldest first, at most `limit` points.
  [[nodiscard]] virtual Result<std::vector<HistoryPoint>> item_history(std::string_view store,
                                                                       std::string_view item,
                                                                       int limit) {
    (void)store, (void)item, (void)limit;
    return Error(ErrorCode::kInternal, "this storage backend has no use rates yet");
  }
  // --- Reports by email --------------------------------------------------
  // Records a mail in state kLoading with its attachments, unless a mail
  // with its key is recorded already; returns the stored receipt either way
  // (so a mail seen again after a crash resumes where it was).
  [[nodiscard]] virtual Result<MailReceipt> record_mail(const MailReceipt& receipt) = 0;
  // The receipt of a mail, or nullopt.
  [[nodiscard]] virtual Result<std::optional<MailReceipt>> mail_receipt(std::string_view mail_key) = 0;
  // In one transaction: notes each attachment's ledger entry (by position),
  // marks the mail answered at `at` and queues `reply` (a Message-ID already
  // in the outbox is skipped; empty: no reply). A mail answered already is
  // left as it is: the answer is false.
  [[nodiscard]] virtual Result<bool> finish_mail(std::string_view mail_key,
                                                 const std::vector<MailAttachment>& attachments,
                                                 const std::vector<OutboxMessage>& reply,
                                                 TimePoint at) = 0;
  // The mail a ledger entry came in, or nullopt when it did not come by email.
  [[nodiscard]] virtual Result<std::optional<MailSource>> report_mail(std::int64_t report_id) = 0;
  // report_mail() for a page of ledger entries at once: the mail of each of
  // `report_ids` that came by email (report_id set), in no set order; the
  // others are left out.
  [[nodiscard]] virtual Result<std::vector<MailSource>> report_mails(
      const std::vector<std::int64_t>& report_ids) = 0;
  // The alerting change records a loaded report wrote, in seq order, at
  // most `limit`.
  [[nodiscard]] virtual Result<std::vector<ChangeRecord>> report_events(std::int64_t report_id,
                                                                        int limit) = 0;

  // --- Several short transactions as one commit --------------------------
  // From begin_group() to end_group(), every write of this connection joins
  // one transaction: each transaction it begins and commits, and each
  // single statement. Nothing of the group is durable or seen by other
  // connections before end_group() returns ok; then all of it is. A
  // transaction begun inside the group that rolls back undoes its own writes
  // alone. When end_group() fails, or a failure ended the whole transaction
  // meanwhile (the disk full, say), nothing of the group is kept and
  // end_group() says so; abandon_group() drops the group unkept. Groups do
  // not nest, hold the write lock throughout, and maintain() does nothing
  // inside one. A backend may instead commit each transaction as it comes
  // (this default, and PostgreSQL's, where other nodes should see each
  // report at once): a caller relies on "nothing durable after a failed
  // end_group() that was not durable before begin_group()" only where the
  // backend says groups_writes() is true.
  [[nodiscard]] virtual bool groups_writes() const { return false; }
  [[nodiscard]] virtual Status begin_group() { return {}; }
  [[nodiscard]] virtual Status end_group() { return {}; }
  virtual void abandon_group() noexcept {}

  // --- Housekeeping -----------------------------------------------------
  // What a backend defers with StorageOptions::defer_maintenance, done now
  // if it is worth doing (cheap otherwise). Another connection doing the
  // same at the same moment is not an error. Call it between reports.
  [[nodiscard]] virtual Status maintain() = 0;

  // --- A shared inbox -----------------------------------------------------
  // Nodes polling one inbox folder (NFS, SMB) claim each file before they
  // read it, so that one node loads it. `name` identifies the file as it
  // is now (its path in the inbox with its size and modification time: a
  // new file under the same name is a new claim). True when `claimant`
  // holds the claim until now + lease (it was free, its own, or another's
  // lease had ended), false while another claimant's lease runs. The
  // ledger still refuses a second load of the same content, so a claim
  // that outlives its lease only costs a second read.
  [[nodiscard]] virtual Result<bool> claim_inbox_file(std::string_view name,
                                                      std::string_view claimant, TimePoint now,
                                                      Duration lease) = 0;
  // Gives a claim up (the file left the inbox, or was not handled); a
  // claim held by another claimant is left alone.
  [[nodiscard]] virtual Status release_inbox_file(std::string_view name,
                                                  std::string_view claimant) = 0;

  // --- The connection ----------------------------------------------------
  // Why this storage cannot reach its database right now (a server's
  // connection lost and not yet made again), or nullopt when it can, as
  // far as it knows: a connection lost since its last statement is
  // noticed by the next one. Reads no database. A file database always
  // answers nullopt.
  [[nodiscard]] virtual std::optional<std::string> connection_problem() const = 0;
};

}  // namespace stockwatch

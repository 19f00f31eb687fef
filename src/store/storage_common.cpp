// The backend-independent part of Storage (storage.hpp): names of states, the ReportLoad
// handle, and the factory that opens the configured backend.
#include "store/storage.hpp"

#include <algorithm>

#include <string>

#include "store/postgresql/postgresql_storage.hpp"
#include "store/sqlite/sqlite_storage.hpp"

namespace stockwatch {

const char* to_string(ReportStatus s) {
  switch (s) {
    case ReportStatus::kLoaded: return "loaded";
    case ReportStatus::kRejected: return "rejected";
    case ReportStatus::kDuplicate: return "duplicate";
  }
  return "?";
}

const char* to_string(ChangeKind k) { return k == ChangeKind::kInsert ? "INSERT" : "MODIFY"; }

const char* to_string(OutboxState s) {
  switch (s) {
    case OutboxState::kQueued: return "queued";
    case OutboxState::kSent: return "sent";
    case OutboxState::kDead: return "dead";
  }
  return "?";
}

ReportStatus report_status_from(std::string_view name) {
  if (name == "rejected") return ReportStatus::kRejected;
  if (name == "duplicate") return ReportStatus::kDuplicate;
  return ReportStatus::kLoaded;
}

OutboxState outbox_state_from(std::string_view name) {
  if (name == "sent") return OutboxState::kSent;
  if (name == "dead") return OutboxState::kDead;
  return OutboxState::kQueued;
}

// --- ReportLoad ----------------------------------------------------------------

namespace {
Error finished() { return Error(ErrorCode::kInternal, "report load already finished"); }
}  // namespace

void ReportLoad::finish() noexcept {
  if (!w_) return;
  rows_ = w_->rows();
  changes_ = w_->changes();
  w_.reset();
}

void ReportLoad::rollback() noexcept {
  if (!w_) return;
  w_->rollback();
  finish();
}

Result<bool> ReportLoad::remember_key(std::int64_t key) {
  if (!w_) return finished();
  return w_->remember_key(key);
}

Result<bool> ReportLoad::store_is_new(std::string_view store) {
  if (!w_) return finished();
  auto latest = w_->latest_day_of(store);
  if (!latest) return latest.error();
  return !latest->has_value();
}

Status ReportLoad::upsert(std::string_view store, std::string_view item, std::int64_t count,
                          std::uint64_t line) {
  if (!w_) return finished();
  if (!report_day_) return w_->upsert(store, item, count, line);
  // Reports hold few stores, usually in runs: one comparison per row.
  if (store != last_store_ || store_history_.empty()) {
    last_store_.assign(store);
    const auto known = std::find_if(store_history_.begin(), store_history_.end(),
                                    [&](const auto& e) { return e.first == store; });
    if (known != store_history_.end()) {
      last_store_history_ = known->second;
    } else {
      auto latest = w_->latest_day_of(store);
      if (!latest) return latest.error();
      last_store_history_ = *latest && **latest > *report_day_;
      store_history_.emplace_back(last_store_, last_store_history_);
    }
  }
  if (last_store_history_) return w_->log_history(store, item, count, *report_day_);
  return w_->upsert(store, item, count, line);
}

Status ReportLoad::flush() {
  if (!w_) return finished();
  return w_->flush();
}

void ReportLoad::defer_changes(ChangeSink sink) {
  if (w_) w_->defer_changes(std::move(sink));
}

Status ReportLoad::log_change(std::string_view store, std::string_view item,
                              std::optional<std::int64_t> old_count, std::int64_t count) {
  if (!w_) return finished();
  return w_->log_change(store, item, old_count, count);
}

Status ReportLoad::replace_levels(std::span<const LevelLine> lines) {
  if (!w_) return finished();
  return w_->replace_levels(lines);
}

Result<std::int64_t> Storage::minimum_of(std::string_view store, std::string_view item,
                                         std::int64_t default_minimum) {
  auto lines = levels();
  if (!lines) return lines.error();
  return MinimumLevels(*lines, default_minimum).minimum_of(store, item);
}

Result<std::int64_t> ReportLoad::commit(ReportRecord record) {
  if (!w_) return finished();
  auto id = w_->commit(std::move(record));
  if (!id) w_->rollback();
  finish();
  return id;
}

// --- The factory -------------------------------------------------------------------

namespace {

// A location that names a server instead of a file.
bool is_url(const std::filesystem::path& location) {
  return location.string().find("://") != std::string::npos;
}

bool is_postgresql(const std::filesystem::path& location) {
  const std::string s = location.string();
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

[[noreturn]] void no_backend(const std::filesystem::path& location) {
  const std::string s = location.string();
  throw StorageError("storage location \"" + s.substr(0, s.find("://") + 3) +
                     "...\": stockwatch stores its data in SQLite (the path of a database "
                     "file) or PostgreSQL (a postgresql:// URL)");
}

// On PostgreSQL several nodes may serve one database: there is nothing to
// hold. Everything they share is coordinated inside the database (claims,
// feeds, the ledger's unique content).
class SharedDatabase final : public InstanceLock {};

}  // namespace

std::unique_ptr<Storage> Storage::open(const std::filesystem::path& location,
                                       const StorageOptions& options, const Clock& clock) {
  if (is_postgresql(location)) return PostgresStorage::open(location.string(), options, clock);
  if (is_url(location)) no_backend(location);
  return SqliteStorage::open(location, options, clock);
}

Result<std::unique_ptr<InstanceLock>> Storage::lock_instance(const std::filesystem::path& location) {
  if (is_postgresql(location)) {
    return std::unique_ptr<InstanceLock>(std::make_unique<SharedDatabase>());
  }
  if (is_url(location)) {
    return Error(ErrorCode::kInvalidInput, "no backend for " + location.string());
  }
  return SqliteStorage::lock_instance(location);
}

Result<BackupInfo> Storage::backup(const std::filesystem::path& source,
                                   const std::filesystem::path& dest, int busy_timeout_ms) {
  if (is_postgresql(source)) {
    return Error(ErrorCode::kInvalidInput,
                 "stockwatch backup copies an SQLite database; back up PostgreSQL with its own "
                 "tools (pg_dump, or base backups with WAL archiving: docs/scaling.md)");
  }
  if (is_url(source)) {
    return Error(ErrorCode::kInvalidInput, "no backend for " + source.string());
  }
  return SqliteStorage::backup(source, dest, busy_timeout_ms);
}

}  // namespace stockwatch

#include "stockwatch/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "stockwatch/sha256.hpp"
#include "stockwatch/unique_fd.hpp"

namespace stockwatch {

std::string LoadOutcome::summary() const {
  switch (status) {
    case ReportStatus::kLoaded:
      if (resumed) return "already loaded as report " + std::to_string(report_id) + " before a restart; archived now";
      return "loaded " + std::to_string(rows) + (rows == 1 ? " row" : " rows") + ", " +
             std::to_string(changes) + (changes == 1 ? " change" : " changes");
    case ReportStatus::kDuplicate:
      return "duplicate of report " + std::to_string(duplicate_of) + ", nothing loaded";
    case ReportStatus::kRejected: {
      std::string first = error.substr(0, error.find('\n'));
      const auto n = static_cast<long>(std::count(error.begin(), error.end(), '\n')) + 1;
      if (n > 1) first += " (and " + std::to_string(n - 1) + " more)";
      return "rejected: " + first;
    }
  }
  return "?";
}

Loader::Loader(Storage& storage, const Clock& clock, LoaderOptions options)
    : storage_(storage), clock_(clock), options_(std::move(options)) {}

namespace {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileId&) const = default;
};

FileId file_id(const struct stat& st) {
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// Whether `archived` is the very file we have open (a hard link made by the
// archiving step before a crash).
bool same_file(const std::string& archived, const struct stat& open_st) {
  struct stat st {};
  if (archived.empty() || ::stat(archived.c_str(), &st) != 0) return false;
  return st.st_dev == open_st.st_dev && st.st_ino == open_st.st_ino;
}

LoadOutcome resumed_outcome(const ReportRecord& r) {
  LoadOutcome out;
  out.status = r.status;
  out.report_id = r.id;
  out.rows = r.rows;
  out.changes = r.changes;
  out.error = r.error;
  out.duplicate_of = r.duplicate_of.value_or(0);
  out.resumed = true;
  out.archived_path = r.archived_path;
  return out;
}

}  // namespace

Result<LoadOutcome> Loader::load(const std::filesystem::path& file, const std::string& name,
                                 const std::atomic<bool>* cancel) {
  const TimePoint received = clock_.now();

  ReportRecord record;
  record.path = name;
  record.received_at = received;

  // Looks for an earlier, unfinished handling of this very report.
  auto find_resumable = [&](const struct stat& st, const std::string& sha)
      -> Result<std::optional<LoadOutcome>> {
    auto prior = storage_.find_latest(name, sha);
    if (!prior) return prior.error();
    if (*prior && ((*prior)->archived_path.empty() || same_file((*prior)->archived_path, st))) {
      return std::optional<LoadOutcome>(resumed_outcome(**prior));
    }
    return std::optional<LoadOutcome>();
  };

  auto reject = [&](const struct stat& st, std::string error, std::string sha) -> Result<LoadOutcome> {
    auto resumable = find_resumable(st, sha);
    if (!resumable) return resumable.error();
    if (*resumable && (*resumable)->status == ReportStatus::kRejected) return **resumable;
    record.status = ReportStatus::kRejected;
    record.error = std::move(error);
    record.sha256 = std::move(sha);
    record.finished_at = clock_.now();
    auto id = storage_.record_report(record);
    if (!id) return id.error();
    LoadOutcome out;
    out.status = ReportStatus::kRejected;
    out.report_id = *id;
    out.error = record.error;
    return out;
  };

  // Symbolic links are followed only inside the inbox.
  struct stat lst {};
  if (::lstat(file.c_str(), &lst) != 0) return errno_error("cannot stat " + file.string());
  if (S_ISLNK(lst.st_mode) && !options_.confine_to.empty()) {
    std::error_code ec;
    const auto target = std::filesystem::canonical(file, ec);
    const auto root = std::filesystem::canonical(options_.confine_to, ec);
    const auto rel = target.lexically_relative(root);
    if (target.empty() || rel.empty() || *rel.begin() == "..") {
      record.size = 0;
      return reject(lst,
                    "the report is a symbolic link to " +
                        (target.empty() ? std::string("a missing file") : target.string()) +
                        ", outside the inbox; copy the file into the inbox instead",
                    "");
    }
  }

  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return errno_error("cannot open " + file.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + file.string());
  record.size = st.st_size;

  if (!S_ISREG(st.st_mode)) {
    return reject(st, "the report is not a regular file; only plain files are read", "");
  }
  if (static_cast<std::uint64_t>(st.st_size) > options_.max_report_bytes) {
    return reject(st,
                  "the report is " + std::to_string(st.st_size) +
                      " bytes; the limit (inbox.max_report_bytes) is " +
                      std::to_string(options_.max_report_bytes) +
                      " bytes; split it into smaller reports",
                  "");
  }
  const FileId before = file_id(st);

  auto begun = storage_.begin_report();
  if (!begun) return begun.error();
  ReportLoad txn = std::move(begun).value();

  ReportParser parser(options_.limits, options_.aliases);
  Sha256 sha;
  Status failure;
  const auto sink = [&](const ReportRow& row) {
    if (!failure.ok()) return;
    auto r = txn.upsert(row.store, row.item, row.count, row.line);
    if (!r) {
      failure = r.error();
      return;
    }
    if (r->outcome == UpsertOutcome::kDuplicateInReport) {
      parser.add_problem({row.line, "",
                          "store '" + std::string(row.store) + "' and item '" +
                              std::string(row.item) + "' are already on line " +
                              std::to_string(r->first_line) + "; list each item once"});
    }
  };

  std::vector<char> buf(options_.chunk_bytes);
  std::uint64_t total = 0;
  while (true) {
    if (cancel && cancel->load(std::memory_order_relaxed)) {
      return Error(ErrorCode::kCancelled, "stopped while loading " + name);
    }
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("cannot read " + file.string());
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    if (total > options_.max_report_bytes) {
      return Error(ErrorCode::kBusy, name + " grew while being read; it will be read again");
    }
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    sha.update(chunk);
    parser.feed(chunk, sink);
    if (!failure.ok()) return failure.error();
  }
  parser.finish(sink);
  if (!failure.ok()) return failure.error();

  // A writer still at work: what we read may be a partial report.
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0) return errno_error("cannot stat " + file.string());
  if (!(file_id(after) == before) || total != static_cast<std::uint64_t>(before.size)) {
    return Error(ErrorCode::kBusy, name + " changed while being read; it will be read again");
  }
  record.size = static_cast<std::int64_t>(total);
  record.sha256 = sha.hex();

  if (!parser.ok()) {
    txn.rollback();
    return reject(st, parser.problems_text(), record.sha256);
  }

  // Handled before a restart, but not archived yet?
  auto resumable = find_resumable(st, record.sha256);
  if (!resumable) return resumable.error();
  if (*resumable) {
    txn.rollback();
    return **resumable;
  }

  // Same content loaded before? Checked inside the write transaction, so two
  // processes cannot both load it.
  auto prior = storage_.find_loaded(record.sha256);
  if (!prior) return prior.error();
  if (*prior) {
    txn.rollback();
    record.status = ReportStatus::kDuplicate;
    record.duplicate_of = (*prior)->id;
    record.finished_at = clock_.now();
    auto id = storage_.record_report(record);
    if (!id) return id.error();
    LoadOutcome out;
    out.status = ReportStatus::kDuplicate;
    out.report_id = *id;
    out.duplicate_of = (*prior)->id;
    return out;
  }

  const std::int64_t rows = txn.rows();
  const std::int64_t changes = txn.changes();
  record.finished_at = clock_.now();
  auto id = txn.commit(record);
  if (!id) return id.error();
  LoadOutcome out;
  out.status = ReportStatus::kLoaded;
  out.report_id = *id;
  out.rows = rows;
  out.changes = changes;
  return out;
}

}  // namespace stockwatch

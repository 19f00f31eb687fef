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
      if (resumed) return "loaded (before a restart) as report " + std::to_string(report_id);
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

Result<LoadOutcome> Loader::load(const std::filesystem::path& file, const std::string& name,
                                 const std::atomic<bool>* cancel) {
  const TimePoint received = clock_.now();
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd) return errno_error("cannot open " + file.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("cannot stat " + file.string());

  ReportRecord record;
  record.path = name;
  record.size = st.st_size;
  record.received_at = received;

  auto reject = [&](std::string error, std::string sha) -> Result<LoadOutcome> {
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

  if (!S_ISREG(st.st_mode)) {
    return reject("the report is not a regular file; only plain files are read", "");
  }
  if (static_cast<std::uint64_t>(st.st_size) > options_.max_report_bytes) {
    return reject("the report is " + std::to_string(st.st_size) +
                      " bytes; the limit (inbox.max_report_bytes) is " +
                      std::to_string(options_.max_report_bytes) + " bytes; split it into smaller reports",
                  "");
  }

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
      txn.rollback();
      return reject("the report grew past the limit (inbox.max_report_bytes = " +
                        std::to_string(options_.max_report_bytes) + " bytes) while being read",
                    "");
    }
    const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
    sha.update(chunk);
    parser.feed(chunk, sink);
    if (!failure.ok()) return failure.error();
  }
  parser.finish(sink);
  if (!failure.ok()) return failure.error();
  record.size = static_cast<std::int64_t>(total);
  record.sha256 = sha.hex();

  if (!parser.ok()) {
    txn.rollback();
    return reject(parser.problems_text(), record.sha256);
  }

  // Same content loaded before? Checked inside the write transaction, so two
  // processes cannot both load it.
  auto prior = storage_.find_loaded(record.sha256);
  if (!prior) return prior.error();
  if (*prior) {
    txn.rollback();
    const ReportRecord& orig = **prior;
    LoadOutcome out;
    if (orig.path == name && orig.archived_path.empty()) {
      // Loaded and committed, then stopped before archiving: finish the job.
      out.status = ReportStatus::kLoaded;
      out.report_id = orig.id;
      out.rows = orig.rows;
      out.changes = orig.changes;
      out.resumed = true;
      return out;
    }
    record.status = ReportStatus::kDuplicate;
    record.duplicate_of = orig.id;
    record.finished_at = clock_.now();
    auto id = storage_.record_report(record);
    if (!id) return id.error();
    out.status = ReportStatus::kDuplicate;
    out.report_id = *id;
    out.duplicate_of = orig.id;
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

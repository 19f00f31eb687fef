// The loader (Load-Inventory): one report file into the inventory, as one
// transaction, with its ledger entry.
//
// Contract:
// - load() reads the file once, streaming: it parses, hashes (SHA-256) and
//   upserts in the same pass, inside one transaction. Nothing is committed
//   unless every row is valid and the content was not loaded before.
// - The name says the format (report/report_format.hpp): a CSV file, or a
//   workbook (.xlsx, .ods), which is hashed whole first and then has its
//   sheet read as a stream from the same descriptor
//   (report/workbook/workbook_report.hpp); its rows then take the same path.
//   A workbook's problems name the sheet and the cell; they are kept as
//   English text (LoadOutcome::error), not in the stored form. A .csv file
//   that starts like a workbook is rejected unread, saying so.
// - Rows reach the table in key order (store, then item), which keeps the
//   table's B-tree writes sequential whatever the file's order: while the
//   file's rows only grow in key order they are written as they come (most
//   reports are written so); from the first row out of order on, the rest
//   go through an external sort (pipeline/loader_sort.hpp: runs of
//   LoaderOptions::sort_run_bytes, spilled to an unnamed file in
//   LoaderOptions::sort_dir) and are written after the file has been read,
//   in key order; the change records then follow key order too. The rows
//   before that first row are read from the file again, so that the sort
//   also sees their keys. A repeated row (same store and item) meets its
//   twin in the sorted order and is reported with both lines.
// - Outcomes that concern the report (loaded, rejected with reasons,
//   duplicate) are values in LoadOutcome and are recorded in the ledger.
//   Failures that concern the system (file vanished, disk error, database
//   busy, cancelled by shutdown, the file changing while it was read) are
//   returned as Error and recorded nowhere: the file stays where it is and
//   can be tried again.
// - A report that was handled before a crash but not yet archived (same
//   path, same content, ledger entry not archived or archived as this very
//   file) comes back as `resumed` with its original outcome: nothing is
//   loaded or alerted twice.
// - `cancel`, when set by another thread, makes load() roll back and return
//   kCancelled at the next chunk boundary.
// - A large report (LoaderOptions::read_ahead_bytes) is read and parsed on
//   a short-lived second thread; rows reach the sort and the database on
//   the calling thread, and that thread is joined before load() returns.
// - Blocking (disk I/O): call it off the event loop. Uses the Storage it was
//   given, so it runs on that Storage's thread.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "report/report_format.hpp"
#include "text/printable.hpp"
#include "report/report_parser.hpp"
#include "report/workbook/workbook_reader.hpp"
#include "base/result.hpp"
#include "os/unique_fd.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct LoaderOptions {
  ParserLimits limits;
  HeaderAliases aliases;
  std::uint64_t max_report_bytes = 2ULL * 1024 * 1024 * 1024;
  std::size_t chunk_bytes = 256 * 1024;
  // Reports at least this large are read, hashed and parsed on a second
  // thread, a few thousand rows ahead of the database writes on the calling
  // thread (both take about as long on a large report). Smaller reports are
  // not worth a thread.
  std::uint64_t read_ahead_bytes = 4 * 1024 * 1024;
  // When set (the inbox), reports are opened beneath this folder only: a
  // symbolic link is followed only while it stays inside, checked by the
  // kernel as it opens (os/beneath.hpp), so a link swapped at any moment
  // never makes the loader read a file outside. A report that leads
  // outside is rejected.
  std::filesystem::path confine_to;
  // Rows out of key order are sorted in runs of this many bytes of memory
  // (names and 32 bytes a row); more rows are spilled to a temporary file
  // in `sort_dir` ($TMPDIR or /tmp when empty) and merged. The memory a
  // load needs for sorting stays about this size whatever the report's.
  std::size_t sort_run_bytes = 8 * 1024 * 1024;
  std::filesystem::path sort_dir;
  // Caps for reading workbooks (.xlsx, .ods): the shared-string table, the
  // inflated size and the compression ratio (report/workbook/).
  workbook::WorkbookLimits workbook;
  // The minimum of an item no levels file line names ([alerts]
  // default_minimum; 0: only a count of 0 alerts).
  std::int64_t default_minimum = 0;
  // Recognise a report handled before a restart but not archived. The
  // `ingest` command, which never archives, turns this off.
  bool resume = true;
};

struct LoadOutcome {
  ReportStatus status = ReportStatus::kLoaded;
  std::int64_t report_id = 0;      // ledger id of this report
  std::int64_t rows = 0;
  std::int64_t changes = 0;
  std::string error;               // rejected: the problems, one per line (English)
  std::string problems;            // rejected: the problems in their stored form, if any
  std::int64_t duplicate_of = 0;   // duplicate: the ledger id of the original
  bool resumed = false;            // loaded before a restart; only the archiving was left
  std::string archived_path;       // already archived (ledger), when resumed
  bool levels = false;             // a levels file (pipeline/levels_file.hpp): rows are its lines,
                                   // changes the items whose state its levels changed
  // One line for people: "loaded 6 rows, 3 changes", "rejected: ...".
  [[nodiscard]] std::string summary() const;
};


// A report opened for reading. Everything load() learns about the report
// (size, content, hash) comes from `fd`, and the archive takes what was read
// from the same descriptor, so a name changed meanwhile changes nothing.
struct ReportFile {
  UniqueFd fd;             // invalid when `refusal` is set
  struct stat st {};       // fstat of fd (lstat of the name when refused)
  std::string refusal;     // why it is rejected unread (a link out of the inbox)
  std::string arrived_by;  // how it arrived (ReportRecord::arrived_by); empty: not known
};

class Loader {
 public:
  Loader(Storage& storage, const Clock& clock, LoaderOptions options = {});

  // `name` is how the report is known in the ledger and in messages (its
  // path relative to the inbox, or the path given on the command line).
  [[nodiscard]] Result<LoadOutcome> load(const std::filesystem::path& file, const std::string& name,
                                         const std::atomic<bool>* cancel = nullptr);
  // Opens `file` as load() does (beneath confine_to when set). A report that
  // must be rejected unread comes back with `refusal` set; a file that is
  // gone is kNotFound.
  [[nodiscard]] Result<ReportFile> open(const std::filesystem::path& file) const;
  // Loads an opened report; `file.fd` is read from the start.
  [[nodiscard]] Result<LoadOutcome> load(ReportFile& file, const std::string& name,
                                         const std::atomic<bool>* cancel = nullptr);

 private:
  // Reads the report again and hands `remember` each row that starts
  // before `line`.
  Status remember_rows_before(int fd, const ReportKind& kind, std::size_t line,
                              const std::function<Status(const ReportRow&)>& remember) const;

  // A levels file (pipeline/levels_file.hpp), opened and checked as a
  // report: read, and in one transaction its lines replace the levels in
  // force, it is recorded in the ledger, and each item whose state its
  // levels change gets a change record of the same count with its event.
  using Reject = std::function<Result<LoadOutcome>(std::string error, std::string sha,
                                                   std::string problems)>;
  using Resume = std::function<Result<std::optional<LoadOutcome>>(const std::string& sha)>;
  [[nodiscard]] Result<LoadOutcome> load_levels(int fd, const ReportKind& kind, ReportRecord record,
                                                const Reject& reject, const Resume& resume);
  // The minimum levels a report's events are judged by (null: all 0), read
  // again only when another levels file is in force.
  [[nodiscard]] Result<std::shared_ptr<const MinimumLevels>> current_minimums();

  Storage& storage_;
  const Clock& clock_;
  LoaderOptions options_;
  std::shared_ptr<const MinimumLevels> minimums_;
  std::int64_t minimums_version_ = -1;  // levels_version() they were read at; -1 none
};

}  // namespace stockwatch

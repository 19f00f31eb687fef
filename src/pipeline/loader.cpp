#include "pipeline/loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <cerrno>
#include <queue>
#include <span>
#include <vector>

#include "os/beneath.hpp"
#include "os/file_ops.hpp"
#include "report/report_date.hpp"
#include "report/report_format.hpp"
#include "report/report_problem.hpp"
#include "report/workbook/workbook_report.hpp"
#include "crypto/sha256.hpp"
#include "os/unique_fd.hpp"
#include "pipeline/loader_sort.hpp"
#include "pipeline/levels_file.hpp"

namespace stockwatch {

std::string LoadOutcome::summary() const {
  switch (status) {
    case ReportStatus::kLoaded:
      if (levels && !resumed) {
        return "levels loaded: " + std::to_string(rows) + (rows == 1 ? " line" : " lines") + ", " +
               std::to_string(changes) + (changes == 1 ? " item" : " items") +
               " changed state";
      }
      if (resumed) return "loaded earlier as report " + std::to_string(report_id) + "; archived now";
      return "loaded " + std::to_string(rows) + (rows == 1 ? " row" : " rows") + ", " +
             std::to_string(changes) + (changes == 1 ? " change" : " changes");
    case ReportStatus::kDuplicate:
      return "duplicate of report " + std::to_string(duplicate_of) + ", nothing loaded";
    case ReportStatus::kRejected: {
      // The text holds one problem a line, and past the cap a closing
      // "... and N more problems" line.
      std::string first = error.substr(0, error.find('\n'));
      long n = static_cast<long>(std::count(error.begin(), error.end(), '\n')) + 1;
      const auto last = error.rfind('\n');
      const std::string tail = last == std::string::npos ? std::string() : error.substr(last + 1);
      if (tail.rfind("... and ", 0) == 0) n += std::atol(tail.c_str() + 8) - 1;
      if (n > 1) {
        first += " (and " + std::to_string(n - 1) + (n == 2 ? " more problem)" : " more problems)");
      }
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
  if (archived.empty() || ::stat(name_from_printable(archived).c_str(), &st) != 0) return false;
  return st.st_dev == open_st.st_dev && st.st_ino == open_st.st_ino;
}

LoadOutcome resumed_outcome(const ReportRecord& r) {
  LoadOutcome out;
  out.status = r.status;
  out.report_id = r.id;
  out.rows = r.rows;
  out.changes = r.changes;
  out.error = rendered_problems(r.problems, r.error, english());
  out.problems = r.problems;
  out.duplicate_of = r.duplicate_of.value_or(0);
  out.resumed = true;
  out.archived_path = r.archived_path;
  return out;
}

// Rows parsed ahead of the database: names packed in one string.
struct ParsedBatch {
  struct Row {
    std::uint32_t store_off, store_len, item_off, item_len;
    std::int64_t count;
    std::size_t line;
  };
  std::string names;
  std::vector<Row> rows;
  std::optional<std::int64_t> day;  // the report's `date` column, as its rows carry it
  void clear() {
    names.clear();
    rows.clear();
    day.reset();
  }
};

constexpr std::size_t kBatchRowsAhead = 2048;   // rows per handed-over batch
constexpr std::size_t kBatchesAhead = 4;        // batches parsed ahead, at most

// What reading a report gave, besides the rows.
struct ReadResult {
  std::uint64_t total = 0;      // bytes read
  bool grew = false;            // more than max_bytes: a writer is still at it
};

// Reads a report and parses it; each row goes to `take` in file order, on
// the calling thread. `take` returns false to stop early (its own
// failure). Stops with kCancelled when `cancel` is set. With `ahead`, the
// reading and parsing run on a second thread, at most kBatchesAhead
// batches in front. What reads and parses the report is `produce`: it hands
// every row to `sink`, asks `more` as it goes and stops when it says no,
// and notes the bytes it read in `out`.
class RowReader {
 public:
  using Take = std::function<bool(const ReportRow&)>;
  using Produce = std::function<Status(const ReportParser::RowSink& sink,
                                       const std::function<bool()>& more, ReadResult& out)>;

  RowReader(Produce produce, const std::atomic<bool>* cancel)
      : produce_(std::move(produce)), cancel_(cancel) {}

  Result<ReadResult> run(bool ahead, const Take& take) {
    return ahead ? run_ahead(take) : run_inline(take);
  }

 private:
  bool cancelled() const { return cancel_ && cancel_->load(std::memory_order_relaxed); }

  Result<ReadResult> run_inline(const Take& take) {
    ReadResult out;
    bool stopped = false;
    bool cancelled_now = false;
    const auto sink = [&](const ReportRow& row) {
      if (!stopped && !take(row)) stopped = true;
    };
    const auto more = [&] { return !stopped && !(cancelled_now = cancelled()); };
    if (cancelled()) return Error(ErrorCode::kCancelled, "stopped while loading");
    auto st = produce_(sink, more, out);
    if (cancelled_now) return Error(ErrorCode::kCancelled, "stopped while loading");
    if (!st.ok()) return st.error();
    return out;
  }

  Result<ReadResult> run_ahead(const Take& take) {
    ReadResult out;
    Status status;
    std::mutex mu;
    std::condition_variable changed;
    std::deque<ParsedBatch> full;       // parsed, in file order
    std::vector<ParsedBatch> spare;     // emptied, to be filled again
    bool done = false;                  // the reader has finished
    bool stop = false;                  // the taker wants no more

    std::thread reader_thread([&] {
      ParsedBatch batch;
      const auto hand_over = [&] {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return stop || full.size() < kBatchesAhead; });
        if (stop) return false;
        full.push_back(std::move(batch));
        if (!spare.empty()) {
          batch = std::move(spare.back());
          spare.pop_back();
        } else {
          batch = ParsedBatch{};
        }
        lock.unlock();
        changed.notify_all();
        return true;
      };
      bool more = true;
      const auto keep_going = [&] { return more; };
      const auto sink = [&](const ReportRow& row) {
        if (!more) return;
        const auto off = static_cast<std::uint32_t>(batch.names.size());
        batch.names.append(row.store);
        batch.names.append(row.item);
        if (row.day) batch.day = row.day;
        batch.rows.push_back({off, static_cast<std::uint32_t>(row.store.size()),
                              off + static_cast<std::uint32_t>(row.store.size()),
                              static_cast<std::uint32_t>(row.item.size()), row.count, row.line});
        if (batch.rows.size() >= kBatchRowsAhead) more = hand_over();
      };
      Status local = produce_(sink, keep_going, out);
      if (more && !batch.rows.empty()) hand_over();
      std::lock_guard lock(mu);
      status = local;
      done = true;
      changed.notify_all();
    });

    // However this function is left, the reader is told to stop and joined.
    struct Joiner {
      std::thread& thread;
      std::mutex& mu;
      std::condition_variable& changed;
      bool& stop;
      void join() {
        if (!thread.joinable()) return;
        {
          std::lock_guard lock(mu);
          stop = true;
        }
        changed.notify_all();
        thread.join();
      }
      ~Joiner() { join(); }
    } joiner{reader_thread, mu, changed, stop};

    bool cancelled_now = false;
    while (true) {
      ParsedBatch batch;
      {
        std::unique_lock lock(mu);
        changed.wait(lock, [&] { return done || !full.empty(); });
        if (full.empty()) break;  // done, and everything taken
        batch = std::move(full.front());
        full.pop_front();
      }
      changed.notify_all();
      bool keep_going = !(cancelled_now = cancelled());
      for (std::size_t i = 0; keep_going && i < batch.rows.size(); ++i) {
        const auto& r = batch.rows[i];
        ReportRow row;
        row.store = std::string_view(batch.names).substr(r.store_off, r.store_len);
        row.item = std::string_view(batch.names).substr(r.item_off, r.item_len);
        row.count = r.count;
        row.line = r.line;
        row.day = batch.day;
        keep_going = take(row);
      }
      batch.clear();
      {
        std::lock_guard lock(mu);
        if (!keep_going) stop = true;
        spare.push_back(std::move(batch));
      }
      changed.notify_all();
      if (!keep_going) break;
    }
    joiner.join();  // `out` and `status` are the reader's until then
    if (cancelled_now) return Error(ErrorCode::kCancelled, "stopped while loading");
    if (!status.ok()) return status.error();
    return out;
  }

  Produce produce_;
  const std::atomic<bool>* cancel_;
};

// A CSV report: `fd` read to its end in chunks from its file position
// (still 0: every other read of the report uses pread), which it moves on,
// so a large load's progress shows in /proc/PID/fdinfo. Each chunk is
// counted, hashed and parsed; past `max_bytes` (a writer still at it) the
// read stops with `grew` set.
RowReader::Produce csv_rows(int fd, const std::string& path, ReportParser& parser, Sha256& sha,
                            std::size_t chunk_bytes, std::uint64_t max_bytes) {
  return [=, &parser, &sha](const ReportParser::RowSink& sink, const std::function<bool()>& more,
                            ReadResult& out) -> Status {
    bool halted = false;
    auto st = read_chunks(fd, chunk_bytes, path, [&](std::string_view chunk) {
      if (!more()) {
        halted = true;
        return false;
      }
      out.total += chunk.size();
      if (out.total > max_bytes) {
        out.grew = true;
        return false;
      }
      sha.update(chunk);
      parser.feed(chunk, sink);
      return true;
    }, ReadFrom::kPosition);
    if (st.ok() && !halted && !out.grew && more()) parser.finish(sink);
    return st;
  };
}

// A workbook: hashed whole first (libzip reads the archive out of order),
// then its sheet read through `report` from the same descriptor.
RowReader::Produce workbook_rows(int fd, const std::string& path, workbook::WorkbookReport& report,
                                 std::string store, Sha256& sha, std::size_t chunk_bytes,
                                 std::uint64_t max_bytes) {
  return [=, &report, &sha](const ReportParser::RowSink& sink, const std::function<bool()>& more,
                            ReadResult& out) -> Status {
    auto st = read_chunks(fd, chunk_bytes, path, [&](std::string_view chunk) {
      out.total += chunk.size();
      if (out.total > max_bytes) {
        out.grew = true;
        return false;
      }
      sha.update(chunk);
      return true;
    });
    if (!st.ok() || out.grew) return st;
    report.set_stop([&more] { return !more(); });
    report.read_fd(fd, store, sink);
    report.set_stop({});
    return st;
  };
}

// Whether the last of `size` bytes of `fd` is not a line end.
bool ends_mid_line(int fd, std::uint64_t size) {
  if (size == 0) return false;
  char last = 0;
  if (::pread(fd, &last, 1, static_cast<off_t>(size - 1)) != 1) return false;
  return last != '\n' && last != '\r';
}

// Whether the filesystem holding `fd` has no room left for an ordinary
// user's writes (less than kFullBelowBytes free).
constexpr std::uint64_t kFullBelowBytes = 64 * 1024;
bool filesystem_full(int fd) {
  struct statvfs sv {};
  if (::fstatvfs(fd, &sv) != 0) return false;
  return static_cast<std::uint64_t>(sv.f_bavail) * sv.f_frsize < kFullBelowBytes;
}

}  // namespace

namespace {

// Whether rows can go to the inventory in the order they come: each
// store's items must only grow (then no key repeats), and the stores must
// take turns seldom. A report in key order is one such stream; one grouped
// by store, stores in any order, is one stream at a time, each written at
// its own place in the table. Rows that change store every few rows (item
// by item for every store) are cheaper sorted: written as they come, every
// row is a seek from the root of the table at another place, and that was
// measured slower than sorting them.
class StoreStreams {
 public:
  // Stores remembered at most (their last items), and changes of store in
  // any window of kWindowRows rows (groups of 256 rows on average): past
  // either, rows are sorted instead.
  static constexpr std::size_t kMaxStores = 4096;
  static constexpr std::size_t kWindowRows = 8192;
  static constexpr std::size_t kMaxSwitches = kWindowRows / 256;

  // Whether (store, item) continues its store's stream; remembers it.
  bool follows(std::string_view store, std::string_view item) {
    if (++rows_in_window_ > kWindowRows) {
      rows_in_window_ = 1;
      switches_ = 0;
    }
    Stream* s = last_;
    if (s == nullptr || s->store != store) {
      if (++switches_ > kMaxSwitches) return false;
      auto it = streams_.find(store);
      if (it == streams_.end()) {
        if (streams_.size() == kMaxStores) return false;
        it = streams_.emplace(std::string(store), Stream{}).first;
        it->second.store = it->first;
      } else if (item.compare(it->second.last_item) <= 0) {
        return false;
      }
      s = &it->second;
      last_ = s;
    } else if (item.compare(s->last_item) <= 0) {
      return false;
    }
    s->last_item.assign(item);
    return true;
  }

 private:
  struct Stream {
    std::string_view store;  // the map's key
    std::string last_item;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Stream, Hash, std::equal_to<>> streams_;
  Stream* last_ = nullptr;
  std::size_t rows_in_window_ = 0;
  std::size_t switches_ = 0;
};

// Repeated rows found in the sorted order, for the report's problems: the
// `room` lowest lines are kept (the parser keeps the first problems it is
// given, and they are given in line order), the others only counted.
class Duplicates {
 public:
  explicit Duplicates(std::size_t room) : room_(room) {}

  void add(std::size_t line, std::size_t first_line, std::string_view store,
           std::string_view item) {
    ++total_;
    if (room_ == 0) return;
    if (kept_.size() == room_) {
      if (line >= kept_.top().line) return;
      kept_.pop();
    }
    kept_.push({line, first_line, std::string(store), std::string(item)});
  }

  // Hands every duplicate to `report`, in line order.
  void report_to(ReportParser& report) {
    std::vector<Dup> lines;
    lines.reserve(kept_.size());
    for (; !kept_.empty(); kept_.pop()) lines.push_back(kept_.top());
    std::reverse(lines.begin(), lines.end());
    for (const Dup& d : lines) {
      report.add_problem({d.line,
                          "",
                          ProblemCode::kDuplicateRow,
                          {{"store", d.store},
                           {"item", d.item},
                           {"first_line", std::to_string(d.first_line)}}});
    }
    // Past the parser's cap: counted only.
    for (std::size_t k = lines.size(); k < total_; ++k) report.add_problem({});
  }

 private:
  struct Dup {
    std::size_t line, first_line;
    std::string store, item;
    bool operator<(const Dup& o) const { return line < o.line; }
  };
  std::size_t room_;
  std::size_t total_ = 0;
  std::priority_queue<Dup> kept_;  // the highest kept line on top
};

// Records a report whose content was loaded before (as report `original`)
// in the ledger, in its own transaction.
Result<LoadOutcome> record_duplicate(Storage& storage, const Clock& clock, ReportRecord record,
                                     std::int64_t original) {
  record.status = ReportStatus::kDuplicate;
  record.duplicate_of = original;
  record.finished_at = clock.now();
  auto id = storage.record_report(record);
  if (!id) return id.error();
  LoadOutcome out;
  out.status = ReportStatus::kDuplicate;
  out.report_id = *id;
  out.duplicate_of = original;
  return out;
}

// Drains the sort: writes each row not written yet (when the report has no
// problems so far) and reports each row that repeats the key before it.
// The rows reach the inventory in key order, but their change records are
// sorted back into the report's order (a second sort, by line) and
// appended after the rows, so the change log (and each alert's lines) keeps
// the order of the report whatever order the rows were written in.
Status write_sorted(RowSorter& sorter, const RowSortOptions& sort_options, ReportParser& parser,
                    ReportLoad& txn, std::size_t max_problems, const std::atomic<bool>* cancel,
                    RowSorter* first_sightings) {
  const bool write = parser.ok();
  const std::size_t have = parser.problems().size();
  Duplicates dups(max_problems > have ? max_problems - have : 0);
  RowSortOptions by_line = sort_options;
  by_line.by_line = true;
  RowSorter changes(by_line);
  constexpr std::int64_t kNew = -1;  // no count before (counts are never negative)
  // With `first_sightings` (the sorted rows in line order, every one of a
  // store no loaded report has rows of), the change records are those rows:
  // the ones handed back are only counted, not sorted back by line.
  std::size_t handed = 0;
  bool all_new = true;
  if (write && first_sightings) {
    // Rows written as they came before the sort and still in the writer's
    // batch log their records now, before every sorted one (their lines
    // come first).
    if (auto st = txn.flush(); !st.ok()) return st;
    txn.defer_changes([&](std::string_view, std::string_view, std::optional<std::int64_t> old_count,
                          std::int64_t, std::uint64_t) {
      ++handed;
      if (old_count) all_new = false;
      return Status{};
    });
  } else if (write) {
    txn.defer_changes([&](std::string_view store, std::string_view item,
                          std::optional<std::int64_t> old_count, std::int64_t count,
                          std::uint64_t line) {
      return changes.add(store, item, count, line, false, old_count.value_or(kNew));
    });
  }
  struct Undefer {
    ReportLoad& txn;
    ~Undefer() { txn.defer_changes({}); }
  } undefer{txn};
  std::string prev_store, prev_item;
  std::size_t first_line = 0;
  bool any = false;
  std::size_t n = 0;
  const auto cancelled = [&] {
    return (++n & 0xFFFF) == 0 && cancel && cancel->load(std::memory_order_relaxed);
  };
  auto st = sorter.drain([&](const SortedRow& r) -> Status {
    if (cancelled()) return Error(ErrorCode::kCancelled, "stopped while loading");
    if (any && r.store == prev_store && r.item == prev_item) {
      dups.add(r.line, first_line, r.store, r.item);
    } else {
      prev_store.assign(r.store);
      prev_item.assign(r.item);
      first_line = r.line;
      any = true;
    }
    if (write && !r.written) return txn.upsert(r.store, r.item, r.count, r.line);
    return {};
  });
  if (!st.ok()) return st;
  dups.report_to(parser);
  if (!write) return {};
  if (auto flushed = txn.flush(); !flushed.ok()) return flushed;
  txn.defer_changes({});
  if (first_sightings) {
    // A repeated row is rejected with the report (its second row was not
    // new); a backend that numbers the records by line itself hands none.
    if (!parser.ok() || handed == 0) return {};
    // On PostgreSQL another node can load rows of the same store meanwhile
    // (its other items, or the same ones unchanged): the records no longer
    // match the rows, and the report is loaded again, from the start.
    if (handed != first_sightings->rows() || !all_new) {
      return Error(ErrorCode::kBusy,
                   "another report gave rows to a store of this one while it was loading (" +
                       std::to_string(handed) + " changes for " +
                       std::to_string(first_sightings->rows()) +
                       " new rows); nothing of it was kept, and it is loaded again");
    }
    return first_sightings->drain([&](const SortedRow& r) -> Status {
      if (cancelled()) return Error(ErrorCode::kCancelled, "stopped while loading");
      return txn.log_change(r.store, r.item, std::nullopt, r.count);
    });
  }
  return changes.drain([&](const SortedRow& r) -> Status {
    if (cancelled()) return Error(ErrorCode::kCancelled, "stopped while loading");
    return txn.log_change(r.store, r.item,
                          r.extra == kNew ? std::nullopt : std::optional<std::int64_t>(r.extra),
                          r.count);
  });
}

}  // namespace

Status Loader::remember_rows_before(int fd, const ReportKind& kind, std::size_t line,
                                    const std::function<Status(const ReportRow&)>& remember) const {
  ReportParser again(options_.limits, options_.aliases);
  Status failure;
  bool reached = false;
  const auto sink = [&](const ReportRow& row) {
    if (row.line >= line) reached = true;
    if (reached || !failure.ok()) return;
    failure = remember(row);
  };
  if (kind.format == ReportFormat::kWorkbook) {
    workbook::WorkbookReport report(again, options_.aliases, options_.workbook);
    report.set_stop([&] { return reached || !failure.ok(); });
    report.read_fd(fd, kind.store, sink);
    return failure;
  }
  auto st = read_chunks(fd, options_.chunk_bytes, "the report again", [&](std::string_view chunk) {
    again.feed(chunk, sink);
    return !reached && failure.ok();
  });
  if (!st.ok()) return st;
  return failure;
}

Result<LoadOutcome> Loader::load(const std::filesystem::path& file, const std::string& name,
                                 const std::atomic<bool>* cancel) {
  auto opened = open(file);
  if (!opened) return opened.error();
  return load(*opened, name, cancel);
}

Result<ReportFile> Loader::open(const std::filesystem::path& file) const {
  ReportFile out;
  const int flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;
  if (options_.confine_to.empty()) {
    out.fd.reset(::open(file.c_str(), flags | O_CLOEXEC));
    if (!out.fd) return errno_error("cannot open " + file.string());
  } else {
    // Opened beneath the inbox by the kernel, in one step: no name checked
    // here can be swapped for another before the open.
    auto root = open_root(options_.confine_to);
    if (!root) return root.error();
    const std::string relative = file.lexically_relative(options_.confine_to).generic_string();
    auto fd = open_beneath(root->get(), options_.confine_to, relative, flags);
    if (!fd) {
      // Only the wording of the refusal looks at the name again.
      struct stat lst {};
      const bool link = ::lstat(file.c_str(), &lst) == 0 && S_ISLNK(lst.st_mode);
      const ErrorCode code = fd.error().code();
      if (code != ErrorCode::kInvalidInput && !(code == ErrorCode::kNotFound && link)) {
        return fd.error();
      }
      std::error_code ec;
      const auto target = std::filesystem::read_symlink(file, ec);
      out.st = lst;
      out.st.st_size = 0;
      if (code == ErrorCode::kNotFound) {
        out.refusal = "the report is a symbolic link to a missing file; copy the file into the "
                      "inbox instead";
      } else if (link) {
        out.refusal = "the report is a symbolic link to " + printable_name(target.string()) +
                      ", outside the inbox; copy the file into the inbox instead";
      } else {
        out.refusal = "the report's path leads outside the inbox through a symbolic link to a "
                      "folder; copy the file into the inbox instead";
      }
      return out;
    }
    out.fd = std::move(*fd);
  }
  if (::fstat(out.fd.get(), &out.st) != 0) return errno_error("cannot stat " + file.string());
  return out;
}

Result<LoadOutcome> Loader::load(ReportFile& file, const std::string& raw_name,
                                 const std::atomic<bool>* cancel) {
  const TimePoint received = clock_.now();
  const std::string name = printable_name(raw_name);

  ReportRecord record;
  record.path = name;
  record.received_at = received;
  record.arrived_by = file.arrived_by;
  // The day its counts were true: from its `date` column (set once it is
  // read), else its name, else the day it arrived.
  if (const auto day = report_day_from_name(name)) {
    record.report_day = *day;
    record.date_source = to_string(ReportDateSource::kName);
  } else {
    record.report_day = day_of_unix_ms(to_unix_ms(received));
    record.date_source = to_string(ReportDateSource::kReceived);
  }

  // Looks for an earlier, unfinished handling of this very report.
  auto find_resumable = [&](const struct stat& st, const std::string& sha)
      -> Result<std::optional<LoadOutcome>> {
    if (!options_.resume) return std::optional<LoadOutcome>();
    auto prior = storage_.find_latest(name, sha);
    if (!prior) return prior.error();
    if (*prior && ((*prior)->archived_path.empty() || same_file((*prior)->archived_path, st))) {
      return std::optional<LoadOutcome>(resumed_outcome(**prior));
    }
    return std::optional<LoadOutcome>();
  };

  // `problems`: the parser's problems in their stored form, when it found
  // them; the ledger keeps those, rendered where they are shown, and their
  // English text in `error` for readers of the database.
  auto reject = [&](const struct stat& st, std::string error, std::string sha,
                    std::string problems = {}) -> Result<LoadOutcome> {
    auto resumable = find_resumable(st, sha);
    if (!resumable) return resumable.error();
    if (*resumable && (*resumable)->status == ReportStatus::kRejected) return **resumable;
    record.status = ReportStatus::kRejected;
    record.error = error;
    record.problems = problems;
    record.sha256 = std::move(sha);
    record.finished_at = clock_.now();
    auto id = storage_.record_report(record);
    if (!id) return id.error();
    LoadOutcome out;
    out.status = ReportStatus::kRejected;
    out.report_id = *id;
    out.error = std::move(error);
    out.problems = std::move(problems);
    return out;
  };

  if (!file.refusal.empty()) {
    record.size = 0;
    return reject(file.st, file.refusal, "");
  }
  const UniqueFd& fd = file.fd;
  const struct stat st = file.st;
  record.size = st.st_size;
  if (::lseek(fd.get(), 0, SEEK_SET) < 0 && S_ISREG(st.st_mode)) {
    return errno_error("cannot read " + name);
  }

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
  const ReportKind kind = report_kind(name);
  if (kind.format == ReportFormat::kCsv) {
    // A workbook named .csv would be read as lines of binary noise.
    char head[8] = {};
    const ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
    if (n < 0) return errno_error("cannot read " + name);
    if (auto problem = csv_content_problem(std::string_view(head, static_cast<std::size_t>(n)))) {
      // Stored as its code, so it is shown in the reader's language.
      return reject(st, problem->to_string(), "", problems_to_json(std::span(&*problem, 1), 1));
    }
  }
  const FileId before = file_id(st);

  if (is_levels_name(name)) {
    auto out = load_levels(
        fd.get(), kind, record,
        [&](std::string error, std::string sha, std::string problems) {
          return reject(st, std::move(error), std::move(sha), std::move(problems));
        },
        [&](const std::string& sha) { return find_resumable(st, sha); });
    return out;
  }

  // A byte-identical copy of a loaded report is recognised before any
  // parsing, and without taking the write lock (unless the report stage
  // holds it for a group of small reports), when a loaded report has the
  // same size: hash the file first, then look it up.
  auto same_size = storage_.loaded_with_size(st.st_size);
  if (!same_size) return same_size.error();
  if (*same_size) {
    Sha256 pre;
    auto read = read_chunks(fd.get(), options_.chunk_bytes, name, [&](std::string_view c) {
      pre.update(c);
      return true;
    });
    if (!read.ok()) return read.error();
    const std::string sha = pre.hex();
    auto resumable = find_resumable(st, sha);
    if (!resumable) return resumable.error();
    if (*resumable) return **resumable;
    auto prior = storage_.find_loaded(sha);
    if (!prior) return prior.error();
    if (*prior) {
      record.sha256 = sha;
      return record_duplicate(storage_, clock_, std::move(record), (*prior)->id);
    }
  }

  auto begun = storage_.begin_report();
  if (!begun) return begun.error();
  ReportLoad txn = std::move(begun).value();
  // A store's rows in a report older than its latest are history only.
  if (record.report_day) txn.set_report_day(*record.report_day);
  // The minimum levels, read under the write lock so that a levels file
  // committing meanwhile is either wholly before this report or after it
  // (one small read; the lines only when they changed).
  auto minimums = current_minimums();
  if (!minimums) return minimums.error();
  if (*minimums) txn.set_minimums(*minimums);

  ReportParser parser(options_.limits, options_.aliases);
  workbook::WorkbookReport workbook(parser, options_.aliases, options_.workbook);
  Sha256 sha;
  Status failure;
  const RowSortOptions sort_options{options_.sort_run_bytes, options_.sort_dir, false};
  RowSorter sorter(sort_options);
  // Rows whose items only grow within each store cannot repeat a key, and
  // most reports are written so: in key order, or grouped by store in any
  // order of stores. They are written as they come (StoreStreams says when
  // that stays cheap), after the first kHeldRows, which are held back.
  // At the first row that breaks this:
  // - within the held rows, they go to the sort unwritten. Most reports
  //   not in order show it there (a shuffled file at its second change of
  //   store), and then the sorted rows are appended where they belong in
  //   the inventory; rows written before the sort would sit among them,
  //   and every later row would be looked up from the table's root (five
  //   times the cost of its insert, for a million rows);
  // - later, the rows before it are read again from the file into the sort
  //   (as written already, for the duplicate check).
  // From then on every row goes to the sort.
  bool ordered = true;
  StoreStreams streams;
  struct HeldRow {
    std::string store, item;
    std::int64_t count;
    std::size_t line;
  };
  constexpr std::size_t kHeldRows = 1024;
  std::vector<HeldRow> held;
  // The rows that go to the sort unwritten, also in line order, while every
  // one of them is of a store no loaded report has rows of (a first load):
  // their change records are then these rows as they are, and need no
  // second sort back into line order (write_sorted()). The first row of a
  // store the inventory knows ends it; so do more stores than kMaxNewStores.
  constexpr std::size_t kMaxNewStores = 256;
  constexpr std::size_t kFirstSightingRunBytes = 1024 * 1024;  // read in order: no sort
  RowSorter first_sightings({kFirstSightingRunBytes, options_.sort_dir, true});
  bool only_new_stores = true;
  std::vector<std::string> new_stores;
  const auto to_sort = [&](std::string_view store, std::string_view item, std::int64_t count,
                           std::size_t line) -> Status {
    if (auto st = sorter.add(store, item, count, line); !st.ok()) return st;
    if (!only_new_stores) return {};
    if (new_stores.empty() || new_stores.back() != store) {
      auto known = std::find(new_stores.begin(), new_stores.end(), store);
      if (known == new_stores.end()) {
        auto is_new = txn.store_is_new(store);
        if (!is_new) return is_new.error();
        if (!*is_new || new_stores.size() == kMaxNewStores) {
          only_new_stores = false;
          return {};
        }
        new_stores.emplace_back(store);
      } else {
        std::iter_swap(known, new_stores.end() - 1);  // the store of the next rows, likely
      }
    }
    return first_sightings.add(store, item, count, line);
  };
  bool writing = false;  // rows went to the inventory as they came
  // Hands the held rows, in line order, to the inventory or the sort.
  const auto release_held = [&](bool to_inventory) -> Status {
    writing = writing || to_inventory;
    for (const HeldRow& h : held) {
      if (auto st = to_inventory ? txn.upsert(h.store, h.item, h.count, h.line)
                                 : to_sort(h.store, h.item, h.count, h.line);
          !st.ok()) {
        return st;
      }
    }
    std::vector<HeldRow>().swap(held);
    return {};
  };
  // A `date` column dates the report from its first row on, before any row
  // is written: an older report's rows become history only.
  bool dated_by_column = false;
  const auto sink = [&](const ReportRow& row) {
    if (!failure.ok()) return;
    if (row.day && !dated_by_column) {
      txn.set_report_day(*row.day);
      dated_by_column = true;
    }
    if (ordered) {
      if (streams.follows(row.store, row.item)) {
        if (!writing && held.size() < kHeldRows) {
          held.push_back({std::string(row.store), std::string(row.item), row.count, row.line});
          return;
        }
        if (!writing) {
          if (auto st = release_held(/*to_inventory=*/true); !st.ok()) {
            failure = st;
            return;
          }
        }
        if (auto st = txn.upsert(row.store, row.item, row.count, row.line); !st.ok()) failure = st;
        return;
      }
      ordered = false;
      streams = StoreStreams();
      if (!writing) {
        if (auto st = release_held(/*to_inventory=*/false); !st.ok()) {
          failure = st;
          return;
        }
      } else if (auto st = remember_rows_before(fd.get(), kind, row.line, [&](const ReportRow& r) {
                   return sorter.add(r.store, r.item, r.count, r.line, /*written=*/true);
                 });
                 !st.ok()) {
        failure = st;
        return;
      }
    }
    if (auto st = to_sort(row.store, row.item, row.count, row.line); !st.ok()) failure = st;
  };

  RowReader reader(kind.format == ReportFormat::kWorkbook
                       ? workbook_rows(fd.get(), name, workbook, kind.store, sha,
                                       options_.chunk_bytes, options_.max_report_bytes)
                       : csv_rows(fd.get(), name, parser, sha, options_.chunk_bytes,
                                  options_.max_report_bytes),
                   cancel);
  // A workbook is compressed: its rows take about ten times its size.
  const std::uint64_t weight = kind.format == ReportFormat::kWorkbook ? 10 : 1;
  const bool ahead = static_cast<std::uint64_t>(st.st_size) * weight >= options_.read_ahead_bytes;
  auto read = reader.run(ahead, [&](const ReportRow& row) {
    sink(row);
    return failure.ok();
  });
  if (!read) {
    if (read.error().code() == ErrorCode::kCancelled) {
      return Error(ErrorCode::kCancelled, "stopped while loading " + name);
    }
    return read.error();
  }
  if (!failure.ok()) return failure.error();
  // A report in order with no more rows than are held: written now.
  if (ordered && !held.empty()) {
    if (auto st = release_held(/*to_inventory=*/true); !st.ok()) return st.error();
  }
  if (read->grew) {
    return Error(ErrorCode::kBusy, name + " grew while being read; it will be read again");
  }
  const std::uint64_t total = read->total;

  // A writer still at work: what we read may be a partial report.
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0) return errno_error("cannot stat " + name);
  if (!(file_id(after) == before) || total != static_cast<std::uint64_t>(before.size)) {
    return Error(ErrorCode::kBusy, name + " changed while being read; it will be read again");
  }
  record.size = static_cast<std::int64_t>(total);
  record.sha256 = sha.hex();

  // A copy that ran out of disk space ends where the space ran out, most
  // often in the middle of a line, and its writer's error may never reach
  // anyone: a cut last line would load as a wrong count and the rows after
  // it as missing. So a report whose last line has no line end, read while
  // its filesystem is full, is rejected as cut short (docs/inbox.md).
  if (kind.format == ReportFormat::kCsv && ends_mid_line(fd.get(), total) &&
      filesystem_full(fd.get())) {
    txn.rollback();
    return reject(st,
                  "the report's last line has no line end and the disk it is on is full: the copy "
                  "was most likely cut short; free some space in the inbox, then send the report "
                  "again",
                  record.sha256);
  }

  // The sorted rows: written in key order (unless the report is rejected
  // already), and a row with the key of the row before it is a duplicate.
  if (sorter.rows() > 0) {
    if (auto st = write_sorted(sorter, sort_options, parser, txn, options_.limits.max_problems,
                               cancel, only_new_stores ? &first_sightings : nullptr);
        !st.ok()) {
      if (st.error().code() == ErrorCode::kCancelled) {
        return Error(ErrorCode::kCancelled, "stopped while loading " + name);
      }
      if (st.error().code() == ErrorCode::kBusy) {
        return Error(ErrorCode::kBusy, name + ": " + st.error().message());
      }
      return st.error();
    }
  }

  if (!parser.ok()) {
    txn.rollback();
    // A workbook's problems name the sheet and the cell.
    if (kind.format == ReportFormat::kWorkbook) {
      return reject(st, workbook.problems_text(), record.sha256, workbook.problems_json());
    }
    return reject(st, parser.problems_text(), record.sha256, parser.problems_json());
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
    return record_duplicate(storage_, clock_, std::move(record), (*prior)->id);
  }

  // A `date` column names the day its counts were true, before the name.
  if (const auto day = parser.report_day()) {
    record.report_day = *day;
    record.date_source = to_string(ReportDateSource::kColumn);
  }
  if (auto st = txn.flush(); !st.ok()) return st.error();
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

// --- Levels files ------------------------------------------------------------------

Result<std::shared_ptr<const MinimumLevels>> Loader::current_minimums() {
  auto version = storage_.levels_version();
  if (!version) return version.error();
  if (*version == minimums_version_) return minimums_;
  std::shared_ptr<const MinimumLevels> levels;
  if (*version != 0 || options_.default_minimum > 0) {
    std::vector<LevelLine> lines;
    if (*version != 0) {
      auto read = storage_.levels();
      if (!read) return read.error();
      lines = std::move(*read);
    }
    auto built = std::make_shared<const MinimumLevels>(lines, options_.default_minimum);
    if (!built->trivial()) levels = std::move(built);
  }
  minimums_ = std::move(levels);
  minimums_version_ = *version;
  return minimums_;
}

Result<LoadOutcome> Loader::load_levels(int fd, const ReportKind& kind, ReportRecord record,
                                        const Reject& reject, const Resume& resume) {
  const std::string& name = record.path;
  LevelsReader levels(options_.limits, options_.aliases);
  Sha256 sha;
  std::uint64_t total = 0;
  std::string workbook_problems, workbook_json;
  if (kind.format == ReportFormat::kWorkbook) {
    auto read = read_chunks(fd, options_.chunk_bytes, name, [&](std::string_view c) {
      total += c.size();
      sha.update(c);
      return true;
    });
    if (!read.ok()) return read.error();
    workbook::WorkbookReport book(levels.parser(), levels_aliases(options_.aliases),
                                  options_.workbook);
    book.read_fd(fd, kind.store, levels.sink());
    if (!levels.ok()) {
      workbook_problems = book.problems_text();
      workbook_json = book.problems_json();
    }
  } else {
    auto read = read_chunks(fd, options_.chunk_bytes, name, [&](std::string_view c) {
      total += c.size();
      sha.update(c);
      levels.parser().feed(c, levels.sink());
      return true;
    });
    if (!read.ok()) return read.error();
    levels.parser().finish(levels.sink());
  }
  if (total != static_cast<std::uint64_t>(record.size)) {
    return Error(ErrorCode::kBusy, name + " changed while being read; it will be read again");
  }
  record.sha256 = sha.hex();
  if (!levels.ok()) {
    if (!workbook_problems.empty()) return reject(workbook_problems, record.sha256, workbook_json);
    return reject(levels.problems_text(), record.sha256, levels.problems_json());
  }
  auto resumable = resume(record.sha256);
  if (!resumable) return resumable.error();
  if (*resumable) {
    (*resumable)->levels = true;
    return **resumable;
  }
  auto prior = storage_.find_loaded(record.sha256);
  if (!prior) return prior.error();
  if (*prior) return record_duplicate(storage_, clock_, std::move(record), (*prior)->id);

  auto begun = storage_.begin_report();
  if (!begun) return begun.error();
  ReportLoad txn = std::move(begun).value();
  // The levels in force until now, read under the write lock.
  auto old_version = storage_.levels_version();
  if (!old_version) return old_version.error();
  std::vector<LevelLine> old_lines;
  if (*old_version != 0) {
    auto read = storage_.levels();
    if (!read) return read.error();
    old_lines = std::move(*read);
  }
  auto before = std::make_shared<const MinimumLevels>(old_lines, options_.default_minimum);
  auto now = std::make_shared<const MinimumLevels>(levels.lines(), options_.default_minimum);
  if (auto st = txn.replace_levels(levels.lines()); !st.ok()) return st.error();
  txn.set_minimums(now, before);
  // Every item above 0 whose state the new levels change (an item at 0
  // stays out whatever its minimum), in key order, a page at a time.
  InventoryQuery q;
  q.limit = 1000;
  std::int64_t changed = 0;
  while (true) {
    auto page = storage_.list_inventory(q);
    if (!page) return page.error();
    for (const auto& row : *page) {
      if (row.count == 0) continue;
      const std::int64_t min_now = now->minimum_of(row.store, row.item);
      const std::int64_t min_before = before->minimum_of(row.store, row.item);
      if (!stock_event(row.count, row.count, min_now, min_before)) continue;
      if (auto st = txn.log_change(row.store, row.item, row.count, row.count); !st.ok()) {
        return st.error();
      }
      ++changed;
    }
    if (page->size() < static_cast<std::size_t>(q.limit)) break;
    q.after = std::make_pair(page->back().store, page->back().item);
  }
  if (auto st = txn.flush(); !st.ok()) return st.error();
  record.finished_at = clock_.now();
  auto id = txn.commit(record);
  if (!id) return id.error();
  minimums_version_ = -1;  // read again before the next report
  LoadOutcome out;
  out.status = ReportStatus::kLoaded;
  out.report_id = *id;
  out.rows = static_cast<std::int64_t>(levels.lines().size());
  out.changes = changed;
  out.levels = true;
  return out;
}

}  // namespace stockwatch

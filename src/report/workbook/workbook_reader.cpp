#include "report/workbook/workbook_reader.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "os/unique_fd.hpp"
#include "report/workbook/xml_stream.hpp"
#include "report/workbook/zip_archive.hpp"

namespace stockwatch::workbook {

namespace {

constexpr std::uint32_t kMaxRows = 1'048'576;   // Excel's and LibreOffice's limits
constexpr std::uint32_t kMaxColumns = 16'384;
constexpr std::size_t kMaxStyles = 65'536;
constexpr std::size_t kMaxSheets = 4'096;
constexpr std::size_t kOleScanBytes = 64ULL * 1024 * 1024;

using Code = ProblemCode;

WorkbookProblem too_large(const WorkbookLimits& limits) {
  return WorkbookProblem(Code::kCellTooLarge, {{"limit", std::to_string(limits.max_cell_bytes)}});
}

WorkbookProblem damaged_number(const std::string& found) {
  return WorkbookProblem(Code::kWorkbookDamagedNumber, {{"found", found}});
}

std::string lower_trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The sheet to read: one named like the store, otherwise the first.
std::size_t choose_sheet(const std::vector<std::string>& names, std::string_view store) {
  const std::string want = lower_trim(store);
  if (!want.empty()) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (lower_trim(names[i]) == want) return i;
    }
  }
  return 0;
}

bool parse_uint(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  out = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

// "C7" -> column 2, row 7; row is 0 when the reference has no digits.
bool parse_ref(std::string_view ref, std::uint32_t& column, std::uint32_t& row) {
  std::size_t i = 0;
  std::uint64_t col = 0;
  while (i < ref.size() && ((ref[i] >= 'A' && ref[i] <= 'Z') || (ref[i] >= 'a' && ref[i] <= 'z'))) {
    col = col * 26 + static_cast<std::uint64_t>((ref[i] & ~0x20) - 'A' + 1);
    if (col > kMaxColumns) return false;
    ++i;
  }
  if (col == 0) return false;
  std::uint64_t r = 0;
  if (i < ref.size() && (!parse_uint(ref.substr(i), r) || r == 0 || r > kMaxRows)) return false;
  column = static_cast<std::uint32_t>(col - 1);
  row = static_cast<std::uint32_t>(r);
  return true;
}

// A number as the sheet stores it: whole values become integers.
bool set_number(std::string_view raw, Cell& cell) {
  // Most counts are plain integers ("12"): kept as they are, without a
  // round trip through a double.
  if (!raw.empty() && raw.size() <= 15 && (raw[0] != '0' || raw.size() == 1)) {
    std::size_t digits = raw[0] == '-' ? 1 : 0;
    if (digits < raw.size() && raw[digits] != '0') {
      while (digits < raw.size() && raw[digits] >= '0' && raw[digits] <= '9') ++digits;
      if (digits == raw.size()) {
        cell.kind = CellKind::kNumber;
        cell.whole = true;
        cell.text.assign(raw);
        return true;
      }
    }
  }
  const std::string s(raw);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return false;
  cell.kind = CellKind::kNumber;
  if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
    cell.whole = true;
    cell.text = std::to_string(static_cast<long long>(v));
  } else {
    cell.whole = false;
    cell.text = s;
  }
  return true;
}

// Whether an Excel number format shows a date or a time.
bool is_date_format(std::uint64_t id, std::string_view code) {
  if ((id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 45 && id <= 47) ||
      (id >= 50 && id <= 58)) {
    return true;
  }
  bool quoted = false;
  bool bracket = false;
  for (std::size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (quoted) {
      quoted = c != '"';
    } else if (bracket) {
      bracket = c != ']';
    } else if (c == '"') {
      quoted = true;
    } else if (c == '[') {
      bracket = true;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;
    } else {
      switch (std::tolower(static_cast<unsigned char>(c))) {
        case 'd': case 'm': case 'y': case 'h': case 's': return true;
        default: break;
      }
    }
  }
  return false;
}

// Base for the part handlers: the stream, the sheet's name, the first problem.
class PartHandler : public XmlHandler {
 public:
  void attach(XmlStream& xml) { xml_ = &xml; }
  std::optional<WorkbookProblem> problem;
  std::string sheet;

 protected:
  // Stops the read with `p` at `cell` of this part's sheet.
  void fail(std::string cell, const WorkbookProblem& p) {
    if (problem) return;
    problem = p.at(sheet, std::move(cell));
    xml_->stop(*problem);
  }
  void fail(Code code, WorkbookProblem::Args args = {}) {
    fail("", WorkbookProblem(code, std::move(args)));
  }
  XmlStream* xml_ = nullptr;
};

// Inflates an archive entry a few chunks ahead of its reader, on a thread
// of its own, so that inflating and parsing the XML overlap. At most
// kDepth chunks wait; the thread ends before the object is gone.
class InflateAhead {
 public:
  InflateAhead(ZipEntry& entry, std::size_t chunk_bytes)
      : thread_([this, &entry, chunk_bytes] { run(entry, chunk_bytes); }) {}
  InflateAhead(const InflateAhead&) = delete;
  InflateAhead& operator=(const InflateAhead&) = delete;
  ~InflateAhead() {
    {
      const std::lock_guard lock(mutex_);
      cancelled_ = true;
    }
    room_.notify_all();
    thread_.join();
  }

  // The next chunk into `buf` (empty at the end of the entry), or the
  // entry's problem.
  std::optional<WorkbookProblem> next(std::string& buf) {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !chunks_.empty() || problem_.has_value(); });
    if (chunks_.empty()) return problem_;
    buf.swap(chunks_.front());
    chunks_.pop_front();
    room_.notify_one();
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kDepth = 4;

  void run(ZipEntry& entry, std::size_t chunk_bytes) {
    std::string buf;
    for (;;) {
      std::optional<WorkbookProblem> read = entry.read(buf, chunk_bytes);
      std::unique_lock lock(mutex_);
      if (read) {
        problem_ = std::move(read);
        ready_.notify_one();
        return;
      }
      room_.wait(lock, [&] { return chunks_.size() < kDepth || cancelled_; });
      if (cancelled_) return;
      const bool end = buf.empty();
      chunks_.push_back(std::move(buf));
      buf = std::string();
      ready_.notify_one();
      if (end) return;
    }
  }

  std::mutex mutex_;
  std::condition_variable ready_, room_;
  std::deque<std::string> chunks_;
  std::optional<WorkbookProblem> problem_;
  bool cancelled_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

// Streams one archive entry through `handler`.
std::optional<WorkbookProblem> stream_entry(const ZipArchive& zip, const std::string& name,
                                            PartHandler& handler, const WorkbookLimits& limits) {
  WorkbookResult<ZipEntry> entry = zip.open(name);
  if (!entry.ok()) return entry.error().at(handler.sheet);
  XmlStream xml(handler, limits.max_depth);
  handler.attach(xml);
  InflateAhead ahead(entry.value(), limits.chunk_bytes);
  std::string buf;
  for (;;) {
    if (auto read = ahead.next(buf)) return read->at(handler.sheet);
    std::optional<WorkbookProblem> fed = xml.feed(buf, buf.empty());
    if (handler.problem) return handler.problem;
    if (fed) return fed->at(handler.sheet);
    if (buf.empty()) return std::nullopt;
  }
}

// ---- .xlsx -----------------------------------------------------------------

struct SheetRef {
  std::string name;
  std::string rel_id;
};

class WorkbookPart : public PartHandler {
 public:
  std::vector<SheetRef> sheets;
  void start(std::string_view name, const char** attrs) override {
    if (name != "sheet") return;
    const char* n = xml_attr(attrs, "name");
    const char* id = xml_attr(attrs, "id");
    if (n == nullptr || id == nullptr) return;
    if (sheets.size() >= kMaxSheets) return fail(Code::kWorkbookTooManySheets);
    sheets.push_back({n, id});
  }
  void end(std::string_view) override {}
  void text(std::string_view) override {}
};

class RelsPart : public PartHandler {
 public:
  std::vector<std::pair<std::string, std::string>> targets;  // id -> target
  std::string shared_strings;
  std::string styles;
  void start(std::string_view name, const char** attrs) override {
    if (name != "Relationship") return;
    const char* id = xml_attr(attrs, "Id");
    const char* target = xml_attr(attrs, "Target");
    const char* type = xml_attr(attrs, "Type");
    if (id == nullptr || target == nullptr) return;
    if (targets.size() >= kMaxSheets * 2) return fail(Code::kWorkbookTooManyParts);
    targets.emplace_back(id, target);
    const std::string_view t = type ? type : "";
    if (t.ends_with("/sharedStrings")) shared_strings = target;
    if (t.ends_with("/styles")) styles = target;
  }
  void end(std::string_view) override {}
  void text(std::string_view) override {}
};

std::string xl_path(std::string_view target) {
  if (target.starts_with("/")) return std::string(target.substr(1));
  return "xl/" + std::string(target);
}

class SharedStringsPart : public PartHandler {
 public:
  explicit SharedStringsPart(const WorkbookLimits& limits) : limits_(limits) {}
  std::vector<std::string> strings;
  void start(std::string_view name, const char**) override {
    if (name == "si") {
      in_si_ = true;
      current_.clear();
    } else if (name == "rPh") {
      ++in_phonetic_;
    } else if (name == "t" && in_si_ && in_phonetic_ == 0) {
      in_t_ = true;
    }
  }
  void end(std::string_view name) override {
    if (name == "t") {
      in_t_ = false;
    } else if (name == "rPh") {
      --in_phonetic_;
    } else if (name == "si" && in_si_) {
      in_si_ = false;
      if (strings.size() >= limits_.max_shared_strings) {
        return fail(Code::kWorkbookTooManyTexts,
                    {{"limit", std::to_string(limits_.max_shared_strings)}});
      }
      bytes_ += current_.size();
      if (bytes_ > limits_.max_shared_string_bytes) {
        return fail(Code::kWorkbookTextsTooLarge,
                    {{"limit", std::to_string(limits_.max_shared_string_bytes)}});
      }
      strings.push_back(std::move(current_));
      current_.clear();
    }
  }
  void text(std::string_view data) override {
    if (!in_t_) return;
    if (current_.size() + data.size() > limits_.max_cell_bytes) {
      return fail(Code::kWorkbookTextTooLong, {{"limit", std::to_string(limits_.max_cell_bytes)}});
    }
    current_.append(data);
  }

 private:
  const WorkbookLimits& limits_;
  std::string current_;
  std::uint64_t bytes_ = 0;
  bool in_si_ = false;
  bool in_t_ = false;
  int in_phonetic_ = 0;
};

class StylesPart : public PartHandler {
 public:
  std::vector<bool> date_style;  // cellXfs index -> shows a date
  void start(std::string_view name, const char** attrs) override {
    if (name == "numFmt") {
      const char* id = xml_attr(attrs, "numFmtId");
      const char* code = xml_attr(attrs, "formatCode");
      std::uint64_t n = 0;
      if (id && code && parse_uint(id, n) && custom_.size() < kMaxStyles) custom_.emplace_back(n, code);
    } else if (name == "cellXfs") {
      in_xfs_ = true;
    } else if (name == "xf" && in_xfs_) {
      if (date_style.size() >= kMaxStyles) return fail(Code::kWorkbookTooManyStyles);
      std::uint64_t id = 0;
      const char* v = xml_attr(attrs, "numFmtId");
      if (v) (void)parse_uint(v, id);
      std::string_view code;
      for (const auto& [cid, c] : custom_) {
        if (cid == id) code = c;
      }
      date_style.push_back(is_date_format(id, code));
    }
  }
  void end(std::string_view name) override {
    if (name == "cellXfs") in_xfs_ = false;
  }
  void text(std::string_view) override {}

 private:
  std::vector<std::pair<std::uint64_t, std::string>> custom_;
  bool in_xfs_ = false;
};

// A cell's t attribute. An unknown type is read as a number, as before.
enum class CellType : std::uint8_t { kNumber, kShared, kInline, kFormulaText, kBool, kError, kDate };

CellType cell_type(const char* t) {
  // Byte by byte: it is read for every cell.
  switch (t[0]) {
    case 's':
      if (t[1] == '\0') return CellType::kShared;
      if (t[1] == 't' && t[2] == 'r' && t[3] == '\0') return CellType::kFormulaText;
      break;
    case 'i':
      if (std::string_view(t) == "inlineStr") return CellType::kInline;
      break;
    case 'b':
      if (t[1] == '\0') return CellType::kBool;
      break;
    case 'e':
      if (t[1] == '\0') return CellType::kError;
      break;
    case 'd':
      if (t[1] == '\0') return CellType::kDate;
      break;
    default: break;
  }
  return CellType::kNumber;
}

// Whether `name` is `literal`: compared inline, byte by byte (a call to
// memcmp per element costs more than the comparison on a large sheet).
template <std::size_t N>
inline bool is(std::string_view name, const char (&literal)[N]) {
  if (name.size() != N - 1) return false;
  for (std::size_t i = 0; i + 1 < N; ++i) {
    if (name[i] != literal[i]) return false;
  }
  return true;
}

class XlsxSheetPart : public PartHandler {
 public:
  XlsxSheetPart(const WorkbookLimits& limits, const std::vector<std::string>& strings,
                const std::vector<bool>& dates, SheetSink& sink)
      : limits_(limits), strings_(strings), dates_(dates), sink_(sink) {}

  void start(std::string_view name, const char** attrs) override {
    // The names inside a cell (f, v, t) come first, in one switch: they
    // are most of a sheet's elements.
    if (name.size() == 1 && name[0] != 'c') {
      if (!in_cell_) return;
      switch (name[0]) {
        case 'f': has_formula_ = true; break;
        case 'v':
          in_v_ = true;
          has_value_ = true;
          break;
        case 't':
          if (in_phonetic_ == 0 && type_ == CellType::kInline) {
            in_t_ = true;
            has_value_ = true;
          }
          break;
        default: break;
      }
      return;
    }
    if (is(name, "sheetData")) {
      in_data_ = true;
    } else if (is(name, "row") && in_data_) {
      std::uint64_t r = 0;
      const char* ra = xml_attr(attrs, "r");
      if (ra != nullptr) {
        if (!parse_uint(ra, r) || r <= row_.number || r > kMaxRows) {
          return fail(Code::kWorkbookDamagedRowOrder);
        }
      } else {
        r = row_.number + 1;
        if (r > kMaxRows) return fail(Code::kWorkbookTooManyRows);
      }
      row_.number = static_cast<std::uint32_t>(r);
      cells_ = 0;
      next_column_ = 0;
    } else if (is(name, "c") && in_data_) {
      in_cell_ = true;
      has_formula_ = has_value_ = false;
      value_.clear();
      type_ = CellType::kNumber;
      style_ = 0;
      const char* ref = nullptr;
      // One pass over the attributes (r, t, s), the hot path of a sheet.
      for (std::size_t i = 0; attrs[i] != nullptr; i += 2) {
        const std::string_view a = local_name(attrs[i]);
        if (a.size() != 1) continue;
        if (a[0] == 'r') {
          ref = attrs[i + 1];
        } else if (a[0] == 't') {
          type_ = cell_type(attrs[i + 1]);
        } else if (a[0] == 's') {
          (void)parse_uint(attrs[i + 1], style_);
        }
      }
      column_ = next_column_;
      std::uint32_t rr = 0;
      if (ref && (!parse_ref(ref, column_, rr) || (rr != 0 && rr != row_.number))) {
        return fail(Code::kWorkbookDamagedCellRef, {{"ref", ref}});
      }
      if (column_ < next_column_ || column_ >= kMaxColumns) {
        return fail(cell_ref(column_, row_.number),
                    WorkbookProblem(Code::kWorkbookDamagedCellOrder));
      }
      next_column_ = column_ + 1;
    } else if (in_cell_ && is(name, "f")) {
      has_formula_ = true;
    } else if (in_cell_ && is(name, "v")) {
      in_v_ = true;
      has_value_ = true;
    } else if (in_cell_ && is(name, "rPh")) {
      ++in_phonetic_;
    } else if (in_cell_ && is(name, "t") && in_phonetic_ == 0 && type_ == CellType::kInline) {
      in_t_ = true;
      has_value_ = true;
    } else if (is(name, "mergeCell")) {
      const char* ref = xml_attr(attrs, "ref");
      if (ref == nullptr) return;
      const std::string_view r(ref);
      const std::size_t colon = r.find(':');
      MergeRange m;
      if (colon == std::string_view::npos ||
          !parse_ref(r.substr(0, colon), m.first_column, m.first_row) ||
          !parse_ref(r.substr(colon + 1), m.last_column, m.last_row)) {
        return;
      }
      if (auto p = sink_.on_merge(m)) return fail(p->cell, *p);
    }
  }

  void end(std::string_view name) override {
    if (name.size() == 1) {
      switch (name[0]) {
        case 'v': in_v_ = false; break;
        case 't': in_t_ = false; break;
        case 'c':
          if (in_cell_) {
            in_cell_ = false;
            finish_cell();
          }
          break;
        default: break;
      }
      return;
    }
    if (is(name, "v")) {
      in_v_ = false;
    } else if (is(name, "t")) {
      in_t_ = false;
    } else if (is(name, "rPh")) {
      --in_phonetic_;
    } else if (is(name, "c") && in_cell_) {
      in_cell_ = false;
      finish_cell();
    } else if (is(name, "row") && in_data_) {
      // The cells of the row before stay as slots whose strings keep their
      // room: a sheet's rows cost no allocation once the first is read.
      row_.cells.resize(cells_);
      if (cells_ != 0 && !problem) {
        if (auto p = sink_.on_row(row_)) return fail(p->cell, *p);
      }
      cells_ = 0;
    } else if (is(name, "sheetData")) {
      in_data_ = false;
    }
  }

  void text(std::string_view data) override {
    if (!in_v_ && !in_t_) return;
    if (value_.size() + data.size() > limits_.max_cell_bytes) {
      return fail(cell_ref(column_, row_.number), too_large(limits_));
    }
    value_.append(data);
  }

 private:
  void finish_cell() {
    const auto ref = [this] { return cell_ref(column_, row_.number); };
    if (has_formula_ && (!has_value_ || (value_.empty() && type_ != CellType::kFormulaText))) {
      return fail(ref(), WorkbookProblem(Code::kFormulaNoValue));
    }
    if (cells_ == row_.cells.size()) row_.cells.emplace_back();
    Cell& cell = row_.cells[cells_];  // taken only if it ends with a text
    cell.column = column_;
    cell.kind = CellKind::kText;
    cell.whole = true;
    cell.text.clear();
    if (type_ == CellType::kShared) {
      if (!has_value_) return;
      std::uint64_t index = 0;
      if (!parse_uint(value_, index) || index >= strings_.size()) {
        return fail(ref(), WorkbookProblem(Code::kWorkbookDamagedText));
      }
      cell.text = strings_[index];
    } else if (type_ == CellType::kInline || type_ == CellType::kFormulaText) {
      cell.text = value_;
    } else if (type_ == CellType::kBool) {
      if (value_.empty()) return;
      cell.kind = CellKind::kBool;
      cell.text = value_ == "1" ? "TRUE" : "FALSE";
    } else if (type_ == CellType::kError) {
      return fail(ref(), WorkbookProblem(Code::kCellError, {{"error", value_}}));
    } else if (type_ == CellType::kDate) {
      if (value_.empty()) return;
      cell.kind = CellKind::kDate;
      cell.text = value_;
    } else {
      if (value_.empty()) return;
      if (!set_number(value_, cell)) {
        return fail(ref(), damaged_number(value_));
      }
      if (style_ < dates_.size() && dates_[style_]) cell.kind = CellKind::kDate;
    }
    if (cell.text.empty()) return;
    ++cells_;
  }

  const WorkbookLimits& limits_;
  const std::vector<std::string>& strings_;
  const std::vector<bool>& dates_;
  SheetSink& sink_;
  SheetRow row_;
  std::size_t cells_ = 0;  // cells of row_ filled so far
  std::uint32_t next_column_ = 0;
  std::uint32_t column_ = 0;
  CellType type_ = CellType::kNumber;
  std::uint64_t style_ = 0;
  std::string value_;
  bool in_data_ = false;
  bool in_cell_ = false;
  bool in_v_ = false;
  bool in_t_ = false;
  int in_phonetic_ = 0;
  bool has_formula_ = false;
  bool has_value_ = false;
};

std::optional<WorkbookProblem> read_xlsx(const ZipArchive& zip, std::string_view store,
                                         const WorkbookLimits& limits, SheetSink& sink) {
  WorkbookPart book;
  if (auto p = stream_entry(zip, "xl/workbook.xml", book, limits)) return p;
  if (book.sheets.empty()) return WorkbookProblem(Code::kWorkbookNoSheet);
  RelsPart rels;
  if (auto p = stream_entry(zip, "xl/_rels/workbook.xml.rels", rels, limits)) return p;

  std::vector<std::string> names;
  for (const SheetRef& s : book.sheets) names.push_back(s.name);
  const SheetRef& chosen = book.sheets[choose_sheet(names, store)];
  std::string target;
  for (const auto& [id, t] : rels.targets) {
    if (id == chosen.rel_id) target = xl_path(t);
  }
  if (target.empty()) {
    return WorkbookProblem(Code::kWorkbookDamagedNoPart).at(chosen.name);
  }

  SharedStringsPart strings(limits);
  const std::string strings_path =
      rels.shared_strings.empty() ? "xl/sharedStrings.xml" : xl_path(rels.shared_strings);
  if (zip.has(strings_path)) {
    if (auto p = stream_entry(zip, strings_path, strings, limits)) return p;
  }
  StylesPart styles;
  const std::string styles_path = rels.styles.empty() ? "xl/styles.xml" : xl_path(rels.styles);
  if (zip.has(styles_path)) {
    if (auto p = stream_entry(zip, styles_path, styles, limits)) return p;
  }

  sink.on_sheet(chosen.name);
  XlsxSheetPart sheet(limits, strings.strings, styles.date_style, sink);
  sheet.sheet = chosen.name;
  return stream_entry(zip, target, sheet, limits);
}

// ---- .ods ------------------------------------------------------------------

class OdsManifestPart : public PartHandler {
 public:
  bool encrypted = false;
  void start(std::string_view name, const char**) override {
    if (name == "encryption-data") encrypted = true;
  }
  void end(std::string_view) override {}
  void text(std::string_view) override {}
};

// Reads content.xml: with `want` unset, only collects the tables' names;
// otherwise delivers the rows of table number `want`.
class OdsContentPart : public PartHandler {
 public:
  OdsContentPart(const WorkbookLimits& limits, SheetSink* sink, std::optional<std::size_t> want)
      : limits_(limits), sink_(sink), want_(want) {}
  std::vector<std::string> names;
  void set_sink(SheetSink* sink) { sink_ = sink; }

  void start(std::string_view name, const char** attrs) override {
    if (name == "table" && !in_table_) {
      in_table_ = true;
      const char* n = xml_attr(attrs, "name");
      if (names.size() >= kMaxSheets) return fail(Code::kWorkbookTooManySheets);
      names.emplace_back(n ? n : "");
      active_ = want_ && *want_ == names.size() - 1;
      if (active_) sheet = names.back();
      row_number_ = 0;
      return;
    }
    if (!active_) return;
    if (name == "table") {
      ++nested_;  // a table inside a cell: its rows are not the sheet's
    } else if (nested_ > 0) {
      return;
    } else if (name == "table-row") {
      rows_repeated_ = repeat(attrs, "number-rows-repeated");
      row_.cells.clear();
      column_ = 0;
    } else if (name == "table-cell" || name == "covered-table-cell") {
      start_cell(name == "covered-table-cell", attrs);
    } else if (in_cell_ && name == "annotation") {
      ++in_annotation_;
    } else if (in_cell_ && in_annotation_ == 0) {
      if (name == "p") {
        if (paragraphs_++ > 0) append("\n");
      } else if (name == "s") {
        const char* c = xml_attr(attrs, "c");
        std::uint64_t n = 1;
        if (c) (void)parse_uint(c, n);
        append(std::string(std::min<std::uint64_t>(n, limits_.max_cell_bytes + 1), ' '));
      } else if (name == "tab") {
        append("\t");
      } else if (name == "line-break") {
        append("\n");
      }
    }
  }

  void end(std::string_view name) override {
    if (name == "table" && in_table_ && nested_ == 0) {
      in_table_ = active_ = false;
      return;
    }
    if (!active_) return;
    if (name == "table") {
      --nested_;
    } else if (nested_ > 0) {
      return;
    } else if (name == "annotation") {
      --in_annotation_;
    } else if ((name == "table-cell" || name == "covered-table-cell") && in_cell_) {
      in_cell_ = false;
      finish_cell();
    } else if (name == "table-row") {
      finish_row();
    }
  }

  void text(std::string_view data) override {
    if (!active_ || !in_cell_ || in_annotation_ > 0 || nested_ > 0 || paragraphs_ == 0) return;
    append(data);
  }

 private:
  std::uint64_t repeat(const char** attrs, std::string_view attr) {
    const char* v = xml_attr(attrs, attr);
    std::uint64_t n = 1;
    if (v && (!parse_uint(v, n) || n == 0)) n = 1;
    return std::min<std::uint64_t>(n, kMaxRows);
  }

  std::uint32_t current_row() const { return static_cast<std::uint32_t>(row_number_ + 1); }

  void append(std::string_view data) {
    if (text_.size() + data.size() > limits_.max_cell_bytes) {
      return fail(cell_ref(std::min<std::uint64_t>(column_, kMaxColumns - 1), current_row()),
                  too_large(limits_));
    }
    text_.append(data);
  }

  void start_cell(bool covered, const char** attrs) {
    in_cell_ = true;
    covered_ = covered;
    text_.clear();
    paragraphs_ = 0;
    columns_repeated_ = repeat(attrs, "number-columns-repeated");
    const char* vt = xml_attr(attrs, "value-type");
    value_type_ = vt ? vt : "";
    const char* v = nullptr;
    if (value_type_ == "date") {
      v = xml_attr(attrs, "date-value");
    } else if (value_type_ == "time") {
      v = xml_attr(attrs, "time-value");
    } else if (value_type_ == "boolean") {
      v = xml_attr(attrs, "boolean-value");
    } else {
      v = xml_attr(attrs, "value");
    }
    value_ = v ? v : "";
    has_value_ = v != nullptr;
    formula_ = xml_attr(attrs, "formula") != nullptr;
    if (!covered && column_ < kMaxColumns && current_row() <= kMaxRows) {
      const std::uint64_t cs = repeat(attrs, "number-columns-spanned");
      const std::uint64_t rs = repeat(attrs, "number-rows-spanned");
      if (cs > 1 || rs > 1) {
        MergeRange m;
        m.first_column = static_cast<std::uint32_t>(column_);
        m.first_row = current_row();
        m.last_column = static_cast<std::uint32_t>(std::min<std::uint64_t>(column_ + cs - 1, kMaxColumns - 1));
        m.last_row = static_cast<std::uint32_t>(std::min<std::uint64_t>(row_number_ + rs, kMaxRows));
        if (auto p = sink_->on_merge(m)) return fail(p->cell, *p);
      }
    }
  }

  void finish_cell() {
    const std::uint64_t first = column_;
    column_ += columns_repeated_;
    if (covered_ || first >= kMaxColumns || row_number_ >= kMaxRows) return;
    const std::string ref = cell_ref(static_cast<std::uint32_t>(first), current_row());
    Cell cell;
    cell.column = static_cast<std::uint32_t>(first);
    if (value_type_ == "float" || value_type_ == "percentage" || value_type_ == "currency") {
      if (!set_number(value_, cell)) {
        return fail(ref, damaged_number(value_));
      }
    } else if (value_type_ == "date" || value_type_ == "time") {
      cell.kind = CellKind::kDate;
      cell.text = has_value_ ? value_ : text_;
    } else if (value_type_ == "boolean") {
      cell.kind = CellKind::kBool;
      cell.text = value_ == "true" ? "TRUE" : "FALSE";
    } else if (value_type_.empty() && formula_) {
      return fail(ref, WorkbookProblem(Code::kFormulaNoValue));
    } else {
      cell.text = text_;
    }
    if (cell.text.empty()) return;
    if (columns_repeated_ > limits_.max_repeat) {
      return fail(ref, WorkbookProblem(Code::kCellRepeated,
                                       {{"times", std::to_string(columns_repeated_)}}));
    }
    const std::uint64_t last = std::min<std::uint64_t>(first + columns_repeated_, kMaxColumns);
    for (std::uint64_t c = first; c < last; ++c) {
      cell.column = static_cast<std::uint32_t>(c);
      row_.cells.push_back(cell);
    }
  }

  void finish_row() {
    const std::uint64_t repeated = rows_repeated_;
    if (!row_.cells.empty() && !problem && row_number_ < kMaxRows) {
      if (repeated > limits_.max_repeat) {
        return fail(cell_ref(row_.cells.front().column, current_row()),
                    WorkbookProblem(Code::kRowRepeated, {{"times", std::to_string(repeated)}}));
      }
      for (std::uint64_t i = 0; i < repeated && row_number_ + i < kMaxRows; ++i) {
        row_.number = static_cast<std::uint32_t>(row_number_ + i + 1);
        if (auto p = sink_->on_row(row_)) return fail(p->cell, *p);
      }
    }
    row_number_ = std::min<std::uint64_t>(row_number_ + repeated, kMaxRows);
    row_.cells.clear();
  }

  const WorkbookLimits& limits_;
  SheetSink* sink_;
  std::optional<std::size_t> want_;
  bool in_table_ = false;
  bool active_ = false;
  int nested_ = 0;
  std::uint64_t row_number_ = 0;  // rows before the current one
  std::uint64_t rows_repeated_ = 1;
  SheetRow row_;
  std::uint64_t column_ = 0;
  bool in_cell_ = false;
  bool covered_ = false;
  int in_annotation_ = 0;
  std::size_t paragraphs_ = 0;
  std::uint64_t columns_repeated_ = 1;
  std::string value_type_;
  std::string value_;
  bool has_value_ = false;
  bool formula_ = false;
  std::string text_;
};

std::optional<WorkbookProblem> read_ods(const ZipArchive& zip, std::string_view store,
                                        const WorkbookLimits& limits, SheetSink& sink) {
  if (zip.has("META-INF/manifest.xml")) {
    OdsManifestPart manifest;
    if (auto p = stream_entry(zip, "META-INF/manifest.xml", manifest, limits)) return p;
    if (manifest.encrypted) return WorkbookProblem(Code::kWorkbookPassword);
  }
  std::size_t want = 0;
  if (!lower_trim(store).empty()) {
    OdsContentPart names(limits, nullptr, std::nullopt);
    if (auto p = stream_entry(zip, "content.xml", names, limits)) return p;
    if (names.names.empty()) return WorkbookProblem(Code::kWorkbookNoSheet);
    want = choose_sheet(names.names, store);
  }
  // The sheet's name is known once its table starts; on_sheet is called
  // with it before the first row.
  class NamingSink : public SheetSink {
   public:
    NamingSink(SheetSink& inner, OdsContentPart& part) : inner_(inner), part_(part) {}
    std::optional<WorkbookProblem> on_row(const SheetRow& row) override {
      announce();
      return inner_.on_row(row);
    }
    std::optional<WorkbookProblem> on_merge(const MergeRange& m) override {
      announce();
      return inner_.on_merge(m);
    }
    void announce() {
      if (done_) return;
      done_ = true;
      part_.sheet = part_.names.back();
      inner_.on_sheet(part_.sheet);
    }
    bool done_ = false;

   private:
    SheetSink& inner_;
    OdsContentPart& part_;
  };
  OdsContentPart content(limits, nullptr, want);
  NamingSink named(sink, content);
  content.set_sink(&named);
  auto p = stream_entry(zip, "content.xml", content, limits);
  if (p) return p;
  if (content.names.size() <= want) return WorkbookProblem(Code::kWorkbookNoSheet);
  if (!named.done_) {
    content.sheet = content.names[want];
    sink.on_sheet(content.sheet);
  }
  return std::nullopt;
}

// ---- the whole file --------------------------------------------------------

std::optional<WorkbookProblem> sniff_problem(FileKind kind) {
  switch (kind) {
    case FileKind::kZip: return std::nullopt;
    case FileKind::kOleEncrypted: return WorkbookProblem(Code::kWorkbookPassword);
    case FileKind::kOleLegacy: return WorkbookProblem(Code::kFileXls);
    case FileKind::kText: return WorkbookProblem(Code::kFileText);
    case FileKind::kOther: break;
  }
  return WorkbookProblem(Code::kFileNotWorkbook);
}

std::optional<WorkbookProblem> read_archive(const ZipArchive& zip, std::string_view store,
                                            const WorkbookLimits& limits, SheetSink& sink) {
  if (auto p = zip.check_entries()) return p;
  if (zip.has("xl/workbook.xml")) return read_xlsx(zip, store, limits, sink);
  if (zip.has("mimetype")) {
    WorkbookResult<std::string> mime = zip.read_small("mimetype", 256);
    if (!mime.ok()) return mime.error();
    if (mime.value().starts_with("application/vnd.oasis.opendocument.spreadsheet")) {
      return read_ods(zip, store, limits, sink);
    }
  }
  return WorkbookProblem(Code::kZipNotWorkbook);
}

ZipCaps caps_of(const WorkbookLimits& limits) {
  return ZipCaps{limits.max_inflated_bytes, limits.max_ratio};
}

}  // namespace

std::string cell_ref(std::uint32_t column, std::uint32_t row) {
  std::string letters;
  std::uint64_t c = static_cast<std::uint64_t>(column) + 1;
  while (c > 0) {
    letters.insert(letters.begin(), static_cast<char>('A' + (c - 1) % 26));
    c = (c - 1) / 26;
  }
  return row == 0 ? letters : letters + std::to_string(row);
}

std::optional<WorkbookProblem> read_workbook(std::string_view bytes, std::string_view store,
                                             const WorkbookLimits& limits, SheetSink& sink) {
  const FileKind kind = sniff(bytes.substr(0, 512), bytes.substr(0, kOleScanBytes));
  if (auto p = sniff_problem(kind)) return p;
  WorkbookResult<ZipArchive> zip = ZipArchive::open_memory(bytes, caps_of(limits));
  if (!zip.ok()) return zip.error();
  return read_archive(zip.value(), store, limits, sink);
}

std::optional<WorkbookProblem> read_workbook_fd(int fd, std::string_view store,
                                                const WorkbookLimits& limits, SheetSink& sink) {
  // The first bytes say what the file is; an OLE file is searched further
  // for an encrypted package. pread: the file position is libzip's.
  const auto read_at = [fd](std::string& out, std::size_t want, off_t at) {
    out.resize(want);
    std::size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd, out.data() + got, want - got, at + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    out.resize(got);
  };
  std::string head;
  read_at(head, 512, 0);
  std::string scan = head;
  if (head.size() >= 8 && static_cast<unsigned char>(head[0]) == 0xD0) {
    std::string rest;
    read_at(rest, kOleScanBytes - head.size(), static_cast<off_t>(head.size()));
    scan += rest;
  }
  if (auto p = sniff_problem(sniff(head, scan))) return p;
  WorkbookResult<ZipArchive> zip = ZipArchive::open_fd(fd, caps_of(limits));
  if (!zip.ok()) return zip.error();
  return read_archive(zip.value(), store, limits, sink);
}

std::optional<WorkbookProblem> read_workbook_file(const std::string& path, std::string_view store,
                                                  const WorkbookLimits& limits, SheetSink& sink) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return WorkbookProblem(Code::kWorkbookCannotOpen);
  return read_workbook_fd(fd.get(), store, limits, sink);
}

}  // namespace stockwatch::workbook

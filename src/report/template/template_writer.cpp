#include "report/template/template_writer.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <utility>

#include "os/file_ops.hpp"
#include "os/unique_fd.hpp"
#include "text/utf8.hpp"

namespace stockwatch {

namespace {

constexpr int kStoreColumn = 0;
constexpr int kItemColumn = 1;
constexpr int kLastCountColumn = 2;
constexpr int kCountColumn = 3;

// Column widths, in characters.
constexpr std::size_t kMaxStoreWidth = 40;
constexpr std::size_t kMaxItemWidth = 60;
constexpr std::size_t kMinNumberWidth = 12;

// Excel's limit on a sheet name, in characters.
constexpr std::size_t kSheetNameMax = LXW_SHEETNAME_MAX;

constexpr lxw_color_t kHeaderFill = 0xD9E1F2;
constexpr lxw_color_t kReferenceFill = 0xF2F2F2;
constexpr lxw_color_t kReferenceFont = 0x808080;
constexpr lxw_color_t kCountFill = 0xFFF2CC;

// Characters in `text` (code points; a byte that starts none counts as one).
std::size_t characters(std::string_view text) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++n) {
    i += std::max<std::size_t>(1, utf8_sequence_length(text, i));
  }
  return n;
}

// The first `max` characters of `text`.
std::string first_characters(std::string_view text, std::size_t max) {
  std::size_t i = 0;
  for (std::size_t n = 0; i < text.size() && n < max; ++n) {
    i += std::max<std::size_t>(1, utf8_sequence_length(text, i));
  }
  return std::string(text.substr(0, i));
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The one owner of an lxw_workbook. close() writes the file and frees the
// handle; a workbook never closed (an error on the way) is freed without
// writing anything.
class Workbook {
 public:
  explicit Workbook(const std::string& file) : wb_(workbook_new(file.c_str())) {}
  ~Workbook() {
    if (wb_) lxw_workbook_free(wb_);
  }
  Workbook(const Workbook&) = delete;
  Workbook& operator=(const Workbook&) = delete;

  [[nodiscard]] lxw_workbook* get() const { return wb_; }
  [[nodiscard]] lxw_error close() { return workbook_close(std::exchange(wb_, nullptr)); }

 private:
  lxw_workbook* wb_;
};

Error lxw_failure(const std::string& what, lxw_error err) {
  return Error(ErrorCode::kInternal, what + ": " + lxw_strerror(err));
}

// Builds the workbook into `file` (which may exist; it is overwritten).
Status build(const TemplateSheet& sheet, const Catalog& catalog, const HeaderAliases& aliases,
             const std::string& file, const std::string& shown) {
  Workbook wb(file);
  if (!wb.get()) return Error(ErrorCode::kInternal, "cannot write " + shown + ": out of memory");
  const std::string sheet_name = template_sheet_name(sheet.store, catalog);
  lxw_worksheet* ws = workbook_add_worksheet(wb.get(), sheet_name.c_str());
  if (!ws) return Error(ErrorCode::kInternal, "cannot write " + shown + ": cannot add the sheet");

  lxw_format* header = workbook_add_format(wb.get());
  format_set_bold(header);
  format_set_pattern(header, LXW_PATTERN_SOLID);
  format_set_bg_color(header, kHeaderFill);
  format_set_bottom(header, LXW_BORDER_THIN);
  lxw_format* reference = workbook_add_format(wb.get());
  format_set_italic(reference);
  format_set_font_color(reference, kReferenceFont);
  format_set_pattern(reference, LXW_PATTERN_SOLID);
  format_set_bg_color(reference, kReferenceFill);
  format_set_num_format(reference, "0");
  lxw_format* count_column = workbook_add_format(wb.get());
  format_set_num_format(count_column, "0");
  lxw_format* count_cell = workbook_add_format(wb.get());
  format_set_num_format(count_cell, "0");
  format_set_pattern(count_cell, LXW_PATTERN_SOLID);
  format_set_bg_color(count_cell, kCountFill);
  format_set_border(count_cell, LXW_BORDER_HAIR);

  const TemplateHeaders h = template_headers(catalog, aliases);
  std::size_t store_width = std::max(characters(h.store), characters(sheet.store));
  std::size_t item_width = characters(h.item);
  for (const TemplateItem& it : sheet.items) item_width = std::max(item_width, characters(it.item));
  const auto width = [](std::size_t chars, std::size_t max) {
    return static_cast<double>(std::min(chars, max) + 3);
  };

  lxw_error err = LXW_NO_ERROR;
  const auto check = [&err](lxw_error e) {
    if (err == LXW_NO_ERROR) err = e;
  };
  check(worksheet_set_column(ws, kStoreColumn, kStoreColumn, width(store_width, kMaxStoreWidth),
                             nullptr));
  check(worksheet_set_column(ws, kItemColumn, kItemColumn, width(item_width, kMaxItemWidth),
                             nullptr));
  check(worksheet_set_column(
      ws, kLastCountColumn, kLastCountColumn,
      width(std::max(characters(h.last_count), kMinNumberWidth), kMaxStoreWidth), reference));
  check(worksheet_set_column(ws, kCountColumn, kCountColumn,
                             width(std::max(characters(h.count), kMinNumberWidth), kMaxStoreWidth),
                             count_column));

  check(worksheet_write_string(ws, 0, kStoreColumn, h.store.c_str(), header));
  check(worksheet_write_string(ws, 0, kItemColumn, h.item.c_str(), header));
  check(worksheet_write_string(ws, 0, kLastCountColumn, h.last_count.c_str(), header));
  check(worksheet_write_string(ws, 0, kCountColumn, h.count.c_str(), header));
  worksheet_freeze_panes(ws, 1, 0);

  worksheet_set_comments_author(ws, "stockwatch");
  lxw_comment_options note{};
  note.x_scale = 2.5;
  note.y_scale = 1.6;
  const std::string last_note = catalog.format("template.note.last_count", {{"count", h.count}});
  const std::string count_note = catalog.format("template.note.count", {});
  check(worksheet_write_comment_opt(ws, 0, kLastCountColumn, last_note.c_str(), &note));
  check(worksheet_write_comment_opt(ws, 0, kCountColumn, count_note.c_str(), &note));

  lxw_row_t row = 1;
  for (const TemplateItem& it : sheet.items) {
    if (row >= LXW_ROW_MAX) {
      return Error(ErrorCode::kInvalidInput,
                   "cannot write " + shown + ": the store has more items than a sheet has rows");
    }
    check(worksheet_write_string(ws, row, kStoreColumn, sheet.store.c_str(), nullptr));
    check(worksheet_write_string(ws, row, kItemColumn, it.item.c_str(), nullptr));
    if (it.last_count) {
      check(worksheet_write_number(ws, row, kLastCountColumn,
                                   static_cast<double>(*it.last_count), reference));
    } else {
      check(worksheet_write_blank(ws, row, kLastCountColumn, reference));
    }
    check(worksheet_write_blank(ws, row, kCountColumn, count_cell));
    ++row;
  }

  // Counts of items added below the listed ones are checked too.
  const std::string title = catalog.format("template.validation.title", {});
  const std::string message = catalog.format("template.validation.message", {});
  lxw_data_validation rule{};
  rule.validate = LXW_VALIDATION_TYPE_INTEGER;
  rule.criteria = LXW_VALIDATION_CRITERIA_GREATER_THAN_OR_EQUAL_TO;
  rule.value_number = 0;
  rule.error_type = LXW_VALIDATION_ERROR_TYPE_STOP;
  rule.error_title = const_cast<char*>(title.c_str());
  rule.error_message = const_cast<char*>(message.c_str());
  check(worksheet_data_validation_range(ws, 1, kCountColumn, LXW_ROW_MAX - 1, kCountColumn, &rule));
  if (err != LXW_NO_ERROR) return lxw_failure("cannot write " + shown, err);

  const lxw_error closed = wb.close();
  if (closed != LXW_NO_ERROR) return lxw_failure("cannot write " + shown, closed);
  return {};
}

// A new, empty file named after `pattern` (which ends in XXXXXX).
Result<std::string> temporary_file(std::string pattern, const std::string& shown) {
  UniqueFd fd(::mkstemp(pattern.data()));
  if (!fd) return errno_error("cannot write " + shown);
  return pattern;
}

}  // namespace

TemplateHeaders template_headers(const Catalog& catalog, const HeaderAliases& aliases) {
  const auto pick = [&](std::string_view key, int role,
                        const std::vector<std::string>& names) -> std::string {
    std::string name(catalog.text(key));
    if (header_role(name, aliases) == role || names.empty()) return name;
    return names.front();
  };
  TemplateHeaders h;
  h.store = pick("template.header.store", 0, aliases.store);
  h.item = pick("template.header.item", 1, aliases.item);
  h.count = pick("template.header.count", 2, aliases.count);
  h.last_count = std::string(catalog.text("template.header.last_count"));
  while (header_role(h.last_count, aliases) >= 0) h.last_count += " (ref)";
  return h;
}

std::string template_sheet_name(const std::string& store, const Catalog& catalog) {
  std::string name;
  for (const char c : store) {
    const bool forbidden = std::string_view("[]:*?/\\").find(c) != std::string_view::npos ||
                           static_cast<unsigned char>(c) < 0x20;
    name += forbidden ? ' ' : c;
  }
  if (!valid_utf8(name)) name.clear();
  name = first_characters(name, kSheetNameMax);
  // Excel refuses a name that starts or ends with an apostrophe, and keeps
  // "History" for itself.
  const auto edge = [](char c) { return c == ' ' || c == '\''; };
  while (!name.empty() && edge(name.back())) name.pop_back();
  std::size_t start = 0;
  while (start < name.size() && edge(name[start])) ++start;
  name.erase(0, start);
  if (name.empty() || lower_ascii(name) == "history") {
    name = std::string(catalog.text("template.sheet"));
  }
  return name;
}

Status write_template(const TemplateSheet& sheet, const Catalog& catalog,
                      const HeaderAliases& aliases, const std::filesystem::path& file) {
  const std::string shown = file.string();
  std::error_code ec;
  if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
    return Error(ErrorCode::kInvalidInput,
                 shown + " exists already; remove it or choose another file (it is never "
                         "replaced)");
  }
  const std::filesystem::path dir = file.has_parent_path() ? file.parent_path() : ".";
  auto tmp = temporary_file((dir / ("." + file.filename().string() + ".XXXXXX")).string(), shown);
  if (!tmp) return tmp.error();
  Status built = build(sheet, catalog, aliases, *tmp, shown);
  if (built.ok()) {
    // mkstemp made it 0600; a template is an ordinary document.
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::chmod(tmp->c_str(), 0666 & ~mask);
    auto placed = place_without_replacing(*tmp, file);
    if (!placed) {
      built = placed.error();
    } else if (!*placed) {
      built = Error(ErrorCode::kInvalidInput,
                    shown + " exists already; remove it or choose another file (it is never "
                            "replaced)");
    }
  }
  if (!built.ok()) ::unlink(tmp->c_str());
  return built;
}

Result<std::string> template_bytes(const TemplateSheet& sheet, const Catalog& catalog,
                                   const HeaderAliases& aliases,
                                   const std::filesystem::path& tmpdir) {
  const std::string shown = "the template of " + sheet.store;
  auto tmp = temporary_file((tmpdir / ".template.XXXXXX").string(), shown);
  if (!tmp) return tmp.error();
  struct Remove {
    std::string path;
    ~Remove() { ::unlink(path.c_str()); }
  } remove{*tmp};
  if (Status built = build(sheet, catalog, aliases, *tmp, shown); !built.ok()) {
    return built.error();
  }
  UniqueFd fd(::open(tmp->c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("cannot read " + shown);
  std::string bytes;
  Status read = read_chunks(fd.get(), 64 * 1024, shown, [&bytes](std::string_view chunk) {
    bytes.append(chunk);
    return true;
  });
  if (!read.ok()) return read.error();
  return bytes;
}

}  // namespace stockwatch

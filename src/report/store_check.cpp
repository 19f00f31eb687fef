#include "report/store_check.hpp"

#include <sys/mman.h>

#include "os/file_ops.hpp"
#include "pipeline/levels_file.hpp"
#include "os/unique_fd.hpp"
#include "report/report_format.hpp"
#include "report/report_parser.hpp"
#include "report/workbook/workbook_report.hpp"

namespace stockwatch {

Result<std::optional<ForeignRow>> first_foreign_row(int fd, std::string_view name,
                                                    const ReportConfig& report,
                                                    const StoreAllowed& allowed) {
  // A levels file is read with its own header; its `*` store (every
  // store) is foreign to a sender limited to some stores.
  const HeaderAliases aliases = is_levels_name(name) ? levels_aliases(report.aliases)
                                                     : report.aliases;
  ReportParser parser(report.limits, aliases);
  std::optional<ForeignRow> foreign;
  const ReportKind kind = report_kind(name);
  const bool workbook = kind.format == ReportFormat::kWorkbook;
  const auto sink = [&](const ReportRow& row) {
    if (!foreign && !allowed(row.store)) {
      foreign = ForeignRow{std::string(row.store), row.line, workbook};
    }
  };
  if (workbook) {
    workbook::WorkbookReport book(parser, aliases, report.workbook);
    book.set_stop([&] { return foreign.has_value(); });
    book.read_fd(fd, kind.store, sink);
  } else {
    const auto st = read_chunks(fd, 256 * 1024, "the report", [&](std::string_view c) {
      parser.feed(c, sink);
      return !foreign;
    });
    if (!st.ok()) return st.error();
    if (!foreign) parser.finish(sink);
  }
  return foreign;
}

Result<std::optional<ForeignRow>> first_foreign_row(std::string_view data, std::string_view name,
                                                    const ReportConfig& report,
                                                    const StoreAllowed& allowed) {
  UniqueFd fd(::memfd_create("stockwatch-upload", MFD_CLOEXEC));
  if (!fd) return errno_error("cannot hold the upload for reading");
  if (auto st = write_all(fd.get(), data, "the upload"); !st.ok()) return st.error();
  return first_foreign_row(fd.get(), name, report, allowed);
}

}  // namespace stockwatch

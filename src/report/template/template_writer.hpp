// The stock-count template: a workbook with one store's items that its
// manager fills in and sends back as the month's report
// (docs/templates.md).
//
// Contract:
// - One sheet, named like the store (characters a sheet name cannot hold
//   become spaces, a name longer than 31 characters is cut; a name that is
//   left empty becomes the catalog's "template.sheet"), so the workbook
//   reader picks it for the store's report.
// - Row 1, frozen, holds the headers in `catalog`'s language: store, item,
//   last count, count. Those of store, item and count are names `aliases`
//   accepts (template_headers()), the last count's a name it accepts for no
//   column, so the filled sheet loads as a report with no edits and its
//   counts come from the count column only: the parser ignores a column
//   whose header it does not know.
// - One row per item, in the order given: the store, the item, the last
//   count (for reference: grey on grey, with a note; never read back) and
//   an empty count cell. The whole count column below the header has a
//   data validation (a whole number, 0 or more) with its error message in
//   the catalog's language, and a note on its header says how to fill it.
// - write_template() writes a new file at `file` through a temporary file
//   beside it, so a failure leaves nothing at `file`; an existing file is
//   never replaced (kInvalidInput). A folder that cannot be written is kIo
//   or kPermission, a libxlsxwriter failure kInternal; the message names
//   the file.
// - template_bytes() returns the workbook itself (for an attachment); it
//   writes it to a temporary file in `tmpdir` and removes that file.
// - The workbook is built in memory (libxlsxwriter's default mode): about
//   a kilobyte per item. Blocking file I/O; any thread; no shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "report/report_parser.hpp"
#include "text/catalog.hpp"

namespace stockwatch {

struct TemplateItem {
  std::string item;
  std::optional<std::int64_t> last_count;  // absent: an empty reference cell
};

struct TemplateSheet {
  std::string store;
  std::vector<TemplateItem> items;
};

// The four header texts of a template.
struct TemplateHeaders {
  std::string store, item, last_count, count;
};

// The headers in `catalog`'s language. For store, item and count: the
// catalog's name when `aliases` accepts it for that column, otherwise the
// first name `aliases` lists for it. The last count's is the catalog's,
// with " (ref)" added until `aliases` accepts it for no column.
[[nodiscard]] TemplateHeaders template_headers(const Catalog& catalog,
                                               const HeaderAliases& aliases);

// The sheet's name for `store` (see the contract).
[[nodiscard]] std::string template_sheet_name(const std::string& store, const Catalog& catalog);

[[nodiscard]] Status write_template(const TemplateSheet& sheet, const Catalog& catalog,
                                    const HeaderAliases& aliases,
                                    const std::filesystem::path& file);

[[nodiscard]] Result<std::string> template_bytes(const TemplateSheet& sheet,
                                                 const Catalog& catalog,
                                                 const HeaderAliases& aliases,
                                                 const std::filesystem::path& tmpdir);

}  // namespace stockwatch

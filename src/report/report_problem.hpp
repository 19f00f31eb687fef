// A problem of a report, kept as a code with arguments and rendered to text
// for people at the edge (a rejected report's .error.txt, the rejection
// message, the log, the API), in the language of a catalog (text/catalog.hpp).
//
// Contract:
// - ProblemCode is the list of problems the parser and the loader find; its
//   names are stored (reports.problems) and never change once shipped. The
//   text of a code is the catalog's "problem.<name>", filled from `args`.
// - kText carries a ready text in `message` (problems found outside the
//   parser, and the problems of reports rejected by schema 3 and older).
// - The English rendering is byte for byte the text stockwatch 0.1 wrote.
// - Pure functions: safe from any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/catalog.hpp"

namespace stockwatch {

enum class ProblemCode : unsigned char {
  kText,                 // `message` as it is
  kUnclosedQuote,
  kEmptyReport,
  kHeaderWithoutRows,
  kLineTooLong,          // limit
  kBinaryData,
  kNotUtf8,
  kMissingColumn,        // role, found, names
  kMissingColumnNoNames, // role, names
  kDuplicateColumn,      // role, first, first_column, second, second_column
  kEmptyName,            // role
  kControlCharacter,     // role, character ("U+000A")
  kNameTooLong,          // role, length, limit
  kTooFewColumns,        // n, needed
  kExtraValues,          // columns, header_columns, delimiter
  kExtraValuesTab,       // columns, header_columns
  kCountEmpty,
  kCountTooLarge,        // found, max
  kCountNegative,        // found
  kCountNotWhole,        // found
  kCountNotWholeWrite,   // found, write
  kCountFraction,        // found
  kDuplicateRow,         // store, item, first_line
  kMinimumEmpty,         // a levels file's minimum is empty
  kMinimumInvalid,       // found: not a whole number of 0 or more
  kDuplicateLevel,       // store, item, first_line: a levels file names them twice
  kDateEmpty,            // the date column's cell is empty
  kDateInvalid,          // found: not a date
  kDateDiffers,          // found, first, first_line: another date than the first row's
  // A workbook's problems (report/workbook/workbook_problem.hpp); the
  // arguments that hold a library's own words (libzip, libxml2, the C
  // library) are passed on as they are.
  kCountIsDate,             // found: a date cell in the count column
  kMergedCells,             // first, last
  kWorkbookCannotOpen,
  kWorkbookCannotRead,      // reason
  kWorkbookNotZip,          // reason
  kWorkbookDamagedEntry,
  kWorkbookDamagedRowOrder,
  kWorkbookDamagedCellOrder,
  kWorkbookDamagedNoPart,
  kWorkbookDamagedText,
  kWorkbookDamagedCellRef,  // ref
  kWorkbookDamagedNumber,   // found
  kWorkbookDamaged,         // detail
  kWorkbookZipBomb,         // part
  kWorkbookOutsideEntry,
  kWorkbookPassword,
  kWorkbookNoSheet,
  kWorkbookMissingPart,     // part
  kWorkbookPartTooLarge,    // part
  kWorkbookXmlTooDeep,
  kWorkbookXmlDoctype,
  kWorkbookXmlEntities,
  kWorkbookXmlDamaged,      // detail, line
  kWorkbookTooManySheets,
  kWorkbookTooManyParts,
  kWorkbookTooManyTexts,    // limit
  kWorkbookTextsTooLarge,   // limit
  kWorkbookTextTooLong,     // limit
  kWorkbookTooManyStyles,
  kWorkbookTooManyRows,
  kCellTooLarge,            // limit
  kFormulaNoValue,
  kCellError,               // error
  kCellRepeated,            // times
  kRowRepeated,             // times
  kFileXls,
  kFileText,
  kFileNotWorkbook,
  kZipNotWorkbook,
  kCsvIsWorkbook,           // a file named .csv is a zip archive
  kCsvIsXls,                // a file named .csv is an old Excel workbook
};

[[nodiscard]] std::string_view problem_code_name(ProblemCode code);
[[nodiscard]] std::optional<ProblemCode> problem_code_from_name(std::string_view name);

struct ReportProblem {
  ReportProblem() = default;
  // A ready text (kText).
  ReportProblem(std::size_t at_line, std::string in_column, std::string text)
      : line(at_line), column(std::move(in_column)), message(std::move(text)) {}
  // A code with its arguments.
  ReportProblem(std::size_t at_line, std::string in_column, ProblemCode problem,
                std::vector<std::pair<std::string, std::string>> arguments)
      : line(at_line), column(std::move(in_column)), code(problem), args(std::move(arguments)) {}

  std::size_t line = 0;   // 0 = the report as a whole
  std::string column;     // "store", "item", "count" or empty
  std::string message;    // the English text; for kText the only form
  ProblemCode code = ProblemCode::kText;
  std::vector<std::pair<std::string, std::string>> args;  // placeholder name -> value
  // In a workbook: the sheet, and the cell ("C7") when the column is known;
  // `line` is then the sheet's row. Rendered as `sheet "Stok", cell C7: ...`.
  std::string sheet;
  std::string cell;

  // The problem in `catalog`'s language:
  // "line 7, column count: '1.000' is not a whole number; write 1000",
  // "line 3: ..." when there is no column, just the text for line 0
  // (`sheet "Stok", cell C7: ...` or `sheet "Stok": ...` for a workbook's
  // problem of line 0 that names its sheet).
  [[nodiscard]] std::string render(const Catalog& catalog) const;
  // render(english()).
  [[nodiscard]] std::string to_string() const;
  // The text of the problem alone, without its line and column.
  [[nodiscard]] std::string text(const Catalog& catalog) const;
};

// The problems as text, one per line, in line order, with a closing
// "... and N more problems" line when `total` exceeds the list.
[[nodiscard]] std::string render_problems(std::span<const ReportProblem> problems,
                                          std::size_t total, const Catalog& catalog);

// The stored form (JSON): {"total":N,"problems":[{"line":7,"column":"count",
// "code":"count_not_whole_write","args":{"found":"1.000","write":"1000"}},...]};
// a workbook's problems also carry "sheet" and "cell".
[[nodiscard]] std::string problems_to_json(std::span<const ReportProblem> problems,
                                           std::size_t total);
struct StoredProblems {
  std::vector<ReportProblem> problems;
  std::size_t total = 0;
};
// nullopt when `json` is not the stored form.
[[nodiscard]] std::optional<StoredProblems> problems_from_json(std::string_view json);

// A rejected report's problems as text: rendered from their stored form
// when there is one, otherwise `text` (reports rejected by schema 3 and
// older, and rejections outside the parser).
[[nodiscard]] std::string rendered_problems(std::string_view stored, std::string_view text,
                                            const Catalog& catalog);
// The same, one problem per element (empty lines left out).
[[nodiscard]] std::vector<std::string> rendered_problem_lines(std::string_view stored,
                                                              std::string_view text,
                                                              const Catalog& catalog);

}  // namespace stockwatch

#include "report/workbook/workbook_problem.hpp"

#include <string>
#include <utility>
#include <vector>

#include "text/catalog.hpp"

namespace stockwatch::workbook {

namespace {

using Args = std::vector<std::pair<std::string, std::string>>;

// The codes a workbook's reading gives, the more specific before the more
// general ("the workbook has no sheet" before "the workbook has no {part}").
constexpr ProblemCode kCodes[] = {
    ProblemCode::kCountIsDate,
    ProblemCode::kMergedCells,
    ProblemCode::kWorkbookCannotOpen,
    ProblemCode::kWorkbookCannotRead,
    ProblemCode::kWorkbookNotZip,
    ProblemCode::kWorkbookDamagedEntry,
    ProblemCode::kWorkbookDamagedRowOrder,
    ProblemCode::kWorkbookDamagedCellOrder,
    ProblemCode::kWorkbookDamagedNoPart,
    ProblemCode::kWorkbookDamagedText,
    ProblemCode::kWorkbookDamagedCellRef,
    ProblemCode::kWorkbookDamagedNumber,
    ProblemCode::kWorkbookDamaged,
    ProblemCode::kWorkbookZipBomb,
    ProblemCode::kWorkbookOutsideEntry,
    ProblemCode::kWorkbookPassword,
    ProblemCode::kWorkbookNoSheet,
    ProblemCode::kWorkbookMissingPart,
    ProblemCode::kWorkbookPartTooLarge,
    ProblemCode::kWorkbookXmlTooDeep,
    ProblemCode::kWorkbookXmlDoctype,
    ProblemCode::kWorkbookXmlEntities,
    ProblemCode::kWorkbookXmlDamaged,
    ProblemCode::kWorkbookTooManySheets,
    ProblemCode::kWorkbookTooManyParts,
    ProblemCode::kWorkbookTooManyTexts,
    ProblemCode::kWorkbookTextsTooLarge,
    ProblemCode::kWorkbookTextTooLong,
    ProblemCode::kWorkbookTooManyStyles,
    ProblemCode::kWorkbookTooManyRows,
    ProblemCode::kCellTooLarge,
    ProblemCode::kFormulaNoValue,
    ProblemCode::kCellError,
    ProblemCode::kCellRepeated,
    ProblemCode::kRowRepeated,
    ProblemCode::kFileXls,
    ProblemCode::kFileText,
    ProblemCode::kFileNotWorkbook,
    ProblemCode::kZipNotWorkbook,
    ProblemCode::kCsvIsWorkbook,
    ProblemCode::kCsvIsXls,
};

// Whether `text` is `tmpl` with its {placeholders} filled; the values go
// to `args`. A placeholder takes at least one character; the matching
// backtracks, so a value may hold the text that follows it.
bool match(std::string_view tmpl, std::string_view text, Args& args) {
  const std::size_t open = tmpl.find('{');
  if (open == std::string_view::npos) return tmpl == text;
  if (text.substr(0, open) != tmpl.substr(0, open)) return false;
  const std::size_t close = tmpl.find('}', open + 1);
  if (close == std::string_view::npos) return false;
  const std::string name(tmpl.substr(open + 1, close - open - 1));
  const std::string_view rest_tmpl = tmpl.substr(close + 1);
  const std::string_view rest = text.substr(open);
  for (std::size_t n = 1; n <= rest.size(); ++n) {
    Args more;
    if (match(rest_tmpl, rest.substr(n), more)) {
      args.emplace_back(name, std::string(rest.substr(0, n)));
      for (auto& a : more) args.push_back(std::move(a));
      return true;
    }
  }
  return false;
}

}  // namespace

ReportProblem coded_message(std::string_view message) {
  for (const ProblemCode code : kCodes) {
    const std::string key = "problem." + std::string(problem_code_name(code));
    Args args;
    if (match(english().text(key), message, args)) {
      ReportProblem p{0, "", code, std::move(args)};
      p.message = std::string(message);
      return p;
    }
  }
  return ReportProblem{0, "", std::string(message)};
}

ReportProblem coded_problem(const WorkbookProblem& problem) {
  ReportProblem p = coded_message(problem.message);
  p.sheet = problem.sheet;
  p.cell = problem.cell;
  return p;
}

}  // namespace stockwatch::workbook

#include "report/report_problem.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "base/name_table.hpp"

namespace stockwatch {

namespace json = boost::json;

namespace {

// Stored names: never change one that has shipped.
constexpr Named<ProblemCode> kCodeNames[] = {
    {ProblemCode::kText, "text"},
    {ProblemCode::kUnclosedQuote, "unclosed_quote"},
    {ProblemCode::kEmptyReport, "empty_report"},
    {ProblemCode::kHeaderWithoutRows, "header_without_rows"},
    {ProblemCode::kLineTooLong, "line_too_long"},
    {ProblemCode::kBinaryData, "binary_data"},
    {ProblemCode::kNotUtf8, "not_utf8"},
    {ProblemCode::kMissingColumn, "missing_column"},
    {ProblemCode::kMissingColumnNoNames, "missing_column_no_names"},
    {ProblemCode::kDuplicateColumn, "duplicate_column"},
    {ProblemCode::kEmptyName, "empty_name"},
    {ProblemCode::kControlCharacter, "control_character"},
    {ProblemCode::kNameTooLong, "name_too_long"},
    {ProblemCode::kTooFewColumns, "too_few_columns"},
    {ProblemCode::kExtraValues, "extra_values"},
    {ProblemCode::kExtraValuesTab, "extra_values_tab"},
    {ProblemCode::kCountEmpty, "count_empty"},
    {ProblemCode::kCountTooLarge, "count_too_large"},
    {ProblemCode::kCountNegative, "count_negative"},
    {ProblemCode::kCountNotWhole, "count_not_whole"},
    {ProblemCode::kCountNotWholeWrite, "count_not_whole_write"},
    {ProblemCode::kCountFraction, "count_fraction"},
    {ProblemCode::kDuplicateRow, "duplicate_row"},
    {ProblemCode::kMinimumEmpty, "minimum_empty"},
    {ProblemCode::kMinimumInvalid, "minimum_invalid"},
    {ProblemCode::kDuplicateLevel, "duplicate_level"},
    {ProblemCode::kDateEmpty, "date_empty"},
    {ProblemCode::kDateInvalid, "date_invalid"},
    {ProblemCode::kDateDiffers, "date_differs"},
    {ProblemCode::kCountIsDate, "count_is_date"},
    {ProblemCode::kMergedCells, "merged_cells"},
    {ProblemCode::kWorkbookCannotOpen, "workbook_cannot_open"},
    {ProblemCode::kWorkbookCannotRead, "workbook_cannot_read"},
    {ProblemCode::kWorkbookNotZip, "workbook_not_zip"},
    {ProblemCode::kWorkbookDamagedEntry, "workbook_damaged_entry"},
    {ProblemCode::kWorkbookDamagedRowOrder, "workbook_damaged_row_order"},
    {ProblemCode::kWorkbookDamagedCellOrder, "workbook_damaged_cell_order"},
    {ProblemCode::kWorkbookDamagedNoPart, "workbook_damaged_no_part"},
    {ProblemCode::kWorkbookDamagedText, "workbook_damaged_text"},
    {ProblemCode::kWorkbookDamagedCellRef, "workbook_damaged_cell_ref"},
    {ProblemCode::kWorkbookDamagedNumber, "workbook_damaged_number"},
    {ProblemCode::kWorkbookDamaged, "workbook_damaged"},
    {ProblemCode::kWorkbookZipBomb, "workbook_zip_bomb"},
    {ProblemCode::kWorkbookOutsideEntry, "workbook_outside_entry"},
    {ProblemCode::kWorkbookPassword, "workbook_password"},
    {ProblemCode::kWorkbookNoSheet, "workbook_no_sheet"},
    {ProblemCode::kWorkbookMissingPart, "workbook_missing_part"},
    {ProblemCode::kWorkbookPartTooLarge, "workbook_part_too_large"},
    {ProblemCode::kWorkbookXmlTooDeep, "workbook_xml_too_deep"},
    {ProblemCode::kWorkbookXmlDoctype, "workbook_xml_doctype"},
    {ProblemCode::kWorkbookXmlEntities, "workbook_xml_entities"},
    {ProblemCode::kWorkbookXmlDamaged, "workbook_xml_damaged"},
    {ProblemCode::kWorkbookTooManySheets, "workbook_too_many_sheets"},
    {ProblemCode::kWorkbookTooManyParts, "workbook_too_many_parts"},
    {ProblemCode::kWorkbookTooManyTexts, "workbook_too_many_texts"},
    {ProblemCode::kWorkbookTextsTooLarge, "workbook_texts_too_large"},
    {ProblemCode::kWorkbookTextTooLong, "workbook_text_too_long"},
    {ProblemCode::kWorkbookTooManyStyles, "workbook_too_many_styles"},
    {ProblemCode::kWorkbookTooManyRows, "workbook_too_many_rows"},
    {ProblemCode::kCellTooLarge, "cell_too_large"},
    {ProblemCode::kFormulaNoValue, "formula_no_value"},
    {ProblemCode::kCellError, "cell_error"},
    {ProblemCode::kCellRepeated, "cell_repeated"},
    {ProblemCode::kRowRepeated, "row_repeated"},
    {ProblemCode::kFileXls, "file_xls"},
    {ProblemCode::kFileText, "file_text"},
    {ProblemCode::kFileNotWorkbook, "file_not_workbook"},
    {ProblemCode::kZipNotWorkbook, "zip_not_workbook"},
    {ProblemCode::kCsvIsWorkbook, "csv_is_workbook"},
    {ProblemCode::kCsvIsXls, "csv_is_xls"},
};

std::string_view arg(const ReportProblem& p, std::string_view name) {
  for (const auto& [n, v] : p.args) {
    if (n == name) return v;
  }
  return {};
}

// The text of the problem itself, without its place.
std::string problem_text(const ReportProblem& p, const Catalog& catalog) {
  if (p.code == ProblemCode::kText) return p.message;
  std::string key = "problem.";
  key += problem_code_name(p.code);
  // The name of a control character comes from the catalog too.
  std::string character;
  if (p.code == ProblemCode::kControlCharacter) {
    const std::string code(arg(p, "character"));
    const std::string char_key = "character." + code;
    const std::string_view name = catalog.text(char_key);
    character = name == char_key ? code : std::string(name);
  }
  // So does the name of a column's role ("store" is "gudang" in Indonesian).
  std::string role(arg(p, "role"));
  if (!role.empty()) {
    const std::string role_key = "role." + role;
    if (const std::string_view name = catalog.text(role_key); name != role_key) role = name;
  }
  std::vector<TextArg> args;
  args.reserve(p.args.size());
  for (const auto& [n, v] : p.args) {
    args.emplace_back(n, n == "character" ? std::string_view(character)
                         : n == "role"    ? std::string_view(role)
                                          : std::string_view(v));
  }
  std::string_view tmpl;
  if (const auto n = arg(p, "n"); !n.empty()) {
    tmpl = catalog.text(key, std::stoll(std::string(n)));
  } else {
    tmpl = catalog.text(key);
  }
  return fill_template(tmpl, args);
}

}  // namespace

std::string_view problem_code_name(ProblemCode code) {
  return name_in<ProblemCode>(kCodeNames, code, "text");
}

std::optional<ProblemCode> problem_code_from_name(std::string_view name) {
  return value_in<ProblemCode>(kCodeNames, name);
}

std::string ReportProblem::render(const Catalog& catalog) const {
  std::string text = problem_text(*this, catalog);
  if (line == 0) {
    if (sheet.empty()) return text;
    if (!cell.empty()) {
      return catalog.format("problem.at_cell", {{"sheet", sheet}, {"cell", cell}, {"message", text}});
    }
    return catalog.format("problem.at_sheet", {{"sheet", sheet}, {"message", text}});
  }
  const std::string n = std::to_string(line);
  if (!sheet.empty()) {
    if (!cell.empty()) {
      return catalog.format("problem.at_cell", {{"sheet", sheet}, {"cell", cell}, {"message", text}});
    }
    return catalog.format("problem.at_sheet_row", {{"sheet", sheet}, {"row", n}, {"message", text}});
  }
  if (column.empty()) {
    return catalog.format("problem.at_line", {{"line", n}, {"message", text}});
  }
  return catalog.format("problem.at_line_column",
                        {{"line", n}, {"column", column}, {"message", text}});
}

std::string ReportProblem::to_string() const { return render(english()); }

std::string ReportProblem::text(const Catalog& catalog) const { return problem_text(*this, catalog); }

std::string render_problems(std::span<const ReportProblem> problems, std::size_t total,
                            const Catalog& catalog) {
  std::vector<const ReportProblem*> sorted;
  sorted.reserve(problems.size());
  for (const ReportProblem& p : problems) sorted.push_back(&p);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const ReportProblem* a, const ReportProblem* b) { return a->line < b->line; });
  std::string out;
  for (const ReportProblem* p : sorted) {
    if (!out.empty()) out += '\n';
    out += p->render(catalog);
  }
  if (total > problems.size()) {
    const std::size_t more = total - problems.size();
    if (!out.empty()) out += '\n';
    out += fill_template(catalog.text("problem.more", static_cast<std::int64_t>(more)),
                         std::initializer_list<TextArg>{{"n", std::to_string(more)}});
  }
  return out;
}

std::string problems_to_json(std::span<const ReportProblem> problems, std::size_t total) {
  json::array list;
  list.reserve(problems.size());
  for (const ReportProblem& p : problems) {
    json::object o;
    o["line"] = p.line;
    if (!p.column.empty()) o["column"] = p.column;
    if (!p.sheet.empty()) o["sheet"] = p.sheet;
    if (!p.cell.empty()) o["cell"] = p.cell;
    o["code"] = problem_code_name(p.code);
    if (p.code == ProblemCode::kText) o["message"] = p.message;
    if (!p.args.empty()) {
      json::object a;
      for (const auto& [n, v] : p.args) a[n] = v;
      o["args"] = std::move(a);
    }
    list.push_back(std::move(o));
  }
  json::object root;
  root["total"] = total;
  root["problems"] = std::move(list);
  return json::serialize(root);
}

std::optional<StoredProblems> problems_from_json(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& root = v.as_object();
  const auto* total = root.if_contains("total");
  const auto* list = root.if_contains("problems");
  if (!total || !total->is_int64() || !list || !list->is_array()) return std::nullopt;
  StoredProblems out;
  out.total = static_cast<std::size_t>(total->as_int64());
  for (const auto& item : list->as_array()) {
    if (!item.is_object()) return std::nullopt;
    const auto& o = item.as_object();
    ReportProblem p;
    if (const auto* line = o.if_contains("line"); line && line->is_int64()) {
      p.line = static_cast<std::size_t>(line->as_int64());
    }
    if (const auto* c = o.if_contains("column"); c && c->is_string()) p.column = c->as_string();
    if (const auto* c = o.if_contains("sheet"); c && c->is_string()) p.sheet = c->as_string();
    if (const auto* c = o.if_contains("cell"); c && c->is_string()) p.cell = c->as_string();
    const auto* code = o.if_contains("code");
    if (!code || !code->is_string()) return std::nullopt;
    const auto known = problem_code_from_name(code->as_string());
    if (!known) return std::nullopt;
    p.code = *known;
    if (const auto* m = o.if_contains("message"); m && m->is_string()) p.message = m->as_string();
    if (const auto* a = o.if_contains("args"); a && a->is_object()) {
      for (const auto& kv : a->as_object()) {
        if (kv.value().is_string()) {
          p.args.emplace_back(std::string(kv.key()), std::string(kv.value().as_string()));
        }
      }
    }
    out.problems.push_back(std::move(p));
  }
  return out;
}

std::string rendered_problems(std::string_view stored, std::string_view text,
                              const Catalog& catalog) {
  if (!stored.empty()) {
    if (auto parsed = problems_from_json(stored)) {
      return render_problems(parsed->problems, parsed->total, catalog);
    }
  }
  return std::string(text);
}

std::vector<std::string> rendered_problem_lines(std::string_view stored, std::string_view text,
                                                const Catalog& catalog) {
  const std::string all = rendered_problems(stored, text, catalog);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < all.size()) {
    auto nl = all.find('\n', start);
    if (nl == std::string::npos) nl = all.size();
    if (nl > start) out.push_back(all.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

}  // namespace stockwatch

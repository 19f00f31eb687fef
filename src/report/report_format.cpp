#include "report/report_format.hpp"

#include <array>
#include <cctype>

namespace stockwatch {

namespace {

bool ends_with_ci(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  s = s.substr(s.size() - suffix.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != suffix[i]) return false;
  }
  return true;
}

}  // namespace

std::optional<ReportFormat> report_format(std::string_view name) {
  if (ends_with_ci(name, ".csv")) return ReportFormat::kCsv;
  if (ends_with_ci(name, ".xlsx") || ends_with_ci(name, ".ods")) return ReportFormat::kWorkbook;
  return std::nullopt;
}

ReportKind report_kind(std::string_view name) {
  ReportKind kind;
  kind.format = report_format(name).value_or(ReportFormat::kCsv);
  const auto slash = name.find('/');
  if (kind.format == ReportFormat::kWorkbook && slash != std::string_view::npos && slash != 0) {
    kind.store = std::string(name.substr(0, slash));
  }
  return kind;
}

std::string_view report_extensions() { return ".csv, .xlsx or .ods"; }

std::optional<ReportProblem> csv_content_problem(std::string_view head) {
  if (head.starts_with(std::string_view("PK\x03\x04", 4))) {
    return ReportProblem(0, "", ProblemCode::kCsvIsWorkbook, {});
  }
  if (head.starts_with(std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8))) {
    return ReportProblem(0, "", ProblemCode::kCsvIsXls, {});
  }
  return std::nullopt;
}

}  // namespace stockwatch

#include "pipeline/levels_file.hpp"

#include <algorithm>
#include <cctype>

namespace stockwatch {

namespace {

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// The parser reports the third column as the count: a levels file says minimum.
ReportProblem as_level_problem(ReportProblem p) {
  if (p.column == "count") p.column = "minimum";
  for (auto& [n, v] : p.args) {
    if (n == "role" && v == "count") v = "minimum";
  }
  switch (p.code) {
    case ProblemCode::kCountEmpty:
      p.code = ProblemCode::kMinimumEmpty;
      p.args.clear();
      break;
    case ProblemCode::kCountTooLarge:
    case ProblemCode::kCountNegative:
    case ProblemCode::kCountNotWhole:
    case ProblemCode::kCountNotWholeWrite:
    case ProblemCode::kCountFraction: {
      std::string found;
      for (const auto& [n, v] : p.args) {
        if (n == "found") found = v;
      }
      p.code = ProblemCode::kMinimumInvalid;
      p.args = {{"found", found}};
      break;
    }
    default:
      break;
  }
  return p;
}

}  // namespace

bool is_levels_name(std::string_view name) {
  const auto slash = name.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  return starts_with_nocase(base, "levels") || starts_with_nocase(base, "minimum");
}

HeaderAliases levels_aliases(const HeaderAliases& report) {
  HeaderAliases a = report;
  a.count = {"minimum", "min", "minimal", "stok minimum", "batas minimum"};
  a.date = {};  // levels have no date
  return a;
}

LevelsReader::LevelsReader(ParserLimits limits, const HeaderAliases& report_aliases)
    : parser_(limits, levels_aliases(report_aliases)) {
  sink_ = [this](const ReportRow& row) {
    auto key = std::make_pair(std::string(row.store), std::string(row.item));
    auto [it, fresh] = first_line_.emplace(key, row.line);
    if (!fresh) {
      parser_.add_problem(ReportProblem(row.line, "", ProblemCode::kDuplicateLevel,
                                        {{"store", key.first},
                                         {"item", key.second},
                                         {"first_line", std::to_string(it->second)}}));
      return;
    }
    lines_.push_back({std::move(key.first), std::move(key.second), row.count});
  };
}

std::vector<ReportProblem> LevelsReader::problems() const {
  std::vector<ReportProblem> out;
  out.reserve(parser_.problems().size());
  for (const auto& p : parser_.problems()) out.push_back(as_level_problem(p));
  return out;
}

std::string LevelsReader::problems_json() const {
  const auto ps = problems();
  return problems_to_json(ps, parser_.problem_count());
}

std::string LevelsReader::problems_text() const {
  const auto ps = problems();
  return render_problems(ps, parser_.problem_count(), english());
}

}  // namespace stockwatch

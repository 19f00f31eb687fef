// libFuzzer target for the stock report parser.
//
// The input is a report. It is parsed in one piece and again in chunks of
// pseudo-random sizes derived from the input (including 1-byte chunks), with
// the default limits or with tiny ones that make every cap reachable. The
// chunked parses must match the one-piece parse exactly, and every delivered
// row and every problem must satisfy the parser's contract.
//
// Build: clang++ -std=c++20 -fsanitize=fuzzer,address,undefined -Iinclude \
//          src/report_parser.cpp tests/fuzz/report_parser_fuzz.cpp -o rp_fuzz
// Run:   ./rp_fuzz -max_len=4096 NEW_INPUTS_DIR tests/fuzz/corpus

#include "report/report_parser.hpp"

#include "fuzz_check.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

using stockwatch::ParserLimits;
using stockwatch::ReportParser;
using stockwatch::ReportProblem;
using stockwatch::ReportRow;


struct Row {
  std::string store;
  std::string item;
  std::int64_t count;
  std::size_t line;
  bool operator==(const Row&) const = default;
};

struct Outcome {
  std::vector<Row> rows;
  std::vector<std::string> problems;
  std::string text;
  std::size_t problem_count = 0;
  std::size_t delivered = 0;
  char delimiter = '\0';
  bool operator==(const Outcome&) const = default;
};

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const unsigned char b = p[i];
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b & 0xE0) == 0xC0) {
      len = 2;
      cp = b & 0x1F;
    } else if ((b & 0xF0) == 0xE0) {
      len = 3;
      cp = b & 0x0F;
    } else if ((b & 0xF8) == 0xF0) {
      len = 4;
      cp = b & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

// Physical lines in the input (LF, CRLF and CR each end one).
std::size_t physical_lines(std::string_view s) {
  std::size_t lines = 1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n'))) ++lines;
  }
  return lines;
}

std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

std::uint64_t next(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

enum class Chunking { kWhole, kBytes, kRandom };

Outcome run(std::string_view data, const ParserLimits& limits, Chunking chunking,
            std::uint64_t seed) {
  ReportParser parser(limits);
  Outcome out;
  std::size_t calls = 0;
  std::size_t last_line = 0;
  const std::size_t max_line = physical_lines(data);
  auto sink = [&](const ReportRow& r) {
    ++calls;
    FUZZ_CHECK(r.count >= 0 && r.count <= limits.max_count);
    FUZZ_CHECK(!r.store.empty() && !r.item.empty());
    FUZZ_CHECK(r.store.size() <= limits.max_name_bytes);
    FUZZ_CHECK(r.item.size() <= limits.max_name_bytes);
    for (const std::string_view v : {r.store, r.item}) {
      FUZZ_CHECK(valid_utf8(v));
      for (const char c : v) {
        const auto u = static_cast<unsigned char>(c);
        FUZZ_CHECK(u >= 0x20 && u != 0x7F);
      }
    }
    FUZZ_CHECK(r.line > last_line && r.line <= max_line);
    last_line = r.line;
    out.rows.push_back(Row{std::string(r.store), std::string(r.item), r.count, r.line});
  };

  std::uint64_t state = seed | 1;
  std::size_t i = 0;
  while (i < data.size()) {
    std::size_t size = data.size();
    if (chunking == Chunking::kBytes) {
      size = 1;
    } else if (chunking == Chunking::kRandom) {
      const std::uint64_t r = next(state);
      size = (r & 3) == 0 ? 1 + (r >> 8) % 4 : 1 + (r >> 8) % 97;
    }
    size = std::min(size, data.size() - i);
    parser.feed(data.substr(i, size), sink);
    i += size;
  }
  parser.finish(sink);

  FUZZ_CHECK(parser.ok() == (parser.problem_count() == 0));
  FUZZ_CHECK(parser.rows() == calls);
  FUZZ_CHECK(parser.problems().size() == std::min(parser.problem_count(), limits.max_problems));
  FUZZ_CHECK(parser.ok() ? parser.rows() > 0 : true);
  const char d = parser.delimiter();
  FUZZ_CHECK(d == '\0' || d == ',' || d == ';' || d == '\t' || d == '|');
  for (const ReportProblem& p : parser.problems()) {
    FUZZ_CHECK(p.line <= max_line);
    FUZZ_CHECK(p.column.empty() || p.column == "store" || p.column == "item" ||
               p.column == "count");
    const std::string text = p.to_string();
    FUZZ_CHECK(!p.message.empty());
    FUZZ_CHECK(text.find('\n') == std::string::npos);
    FUZZ_CHECK(text.find('\r') == std::string::npos);
    out.problems.push_back(text);
  }
  out.text = parser.problems_text();
  FUZZ_CHECK(out.text.empty() == parser.ok());
  out.problem_count = parser.problem_count();
  out.delivered = parser.rows();
  out.delimiter = d;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view data(reinterpret_cast<const char*>(bytes), size);
  const std::uint64_t seed = fnv1a(data);

  ParserLimits limits;
  if (seed & 1) {
    limits.max_count = 1000;
    limits.max_name_bytes = 8;
    limits.max_line_bytes = 48 + (seed >> 8) % 64;
    limits.max_problems = 3;
  }

  const Outcome whole = run(data, limits, Chunking::kWhole, seed);
  const Outcome random = run(data, limits, Chunking::kRandom, seed >> 1);
  FUZZ_CHECK(random == whole);
  if (size <= 1024) {
    const Outcome single = run(data, limits, Chunking::kBytes, 0);
    FUZZ_CHECK(single == whole);
  }
  return 0;
}

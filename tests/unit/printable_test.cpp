// Names from outside made safe to store and show: the reversible escape of
// file names, and what the log does with control characters.
#include "text/printable.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stockwatch {
namespace {

TEST(PrintableName, PlainUtf8NamesAreUnchanged) {
  for (const std::string name : {"medan/2026-11.csv", "gudang \xC3\xA9t\xC3\xA9.csv", "a b (1).csv"}) {
    EXPECT_EQ(printable_name(name), name);
  }
}

TEST(PrintableName, BytesThatAreNotUtf8BecomeHexEscapesAndBackslashesDouble) {
  EXPECT_EQ(printable_name("bad\xff\xfename.csv"), "bad\\xff\\xfename.csv");
  EXPECT_EQ(printable_name("c:\\x41.csv"), "c:\\\\x41.csv");
  // Control characters are valid UTF-8: kept, for each place that shows
  // the name to neutralise its own way.
  EXPECT_EQ(printable_name(std::string("a\nb.csv")), "a\nb.csv");
}

// The escape still names the file: every name comes back byte for byte,
// including names that look like escapes themselves.
TEST(PrintableName, TheEscapeIsReversible) {
  const std::vector<std::string> names = {
      "bad\xff\xfename.csv", "failed/bad\xff\xfename.csv", "c:\\x41.csv", "back\\\\slash\\",
      std::string("nul\0byte", 8), "\xc3\x28.csv", "\xed\xa0\x80.csv", "tab\t.csv", "\\xzz"};
  for (const auto& name : names) {
    const std::string shown = printable_name(name);
    EXPECT_EQ(name_from_printable(shown), name) << shown;
  }
  EXPECT_NE(printable_name("c:\\x41.csv"), printable_name("c:A.csv"));
}

TEST(AppendForLog, NothingFromOutsideStartsANewLine) {
  std::string out;
  append_for_log("a\n2026-12-06 09:00:00.000 info  stockwatch stopped\r\nb.csv", out);
  EXPECT_EQ(out, "a\\n2026-12-06 09:00:00.000 info  stockwatch stopped\\r\\nb.csv");
  out.clear();
  append_for_log(std::string("x\x1b[2J\x00y\xc2\x85z\xff\tend", 15), out);
  EXPECT_EQ(out, "x\\x1b[2J\\x00y\\u0085z\\xff\tend");
  out.clear();
  append_for_log("caf\xC3\xA9 \xE2\x9C\x93", out);
  EXPECT_EQ(out, "caf\xC3\xA9 \xE2\x9C\x93");
}

}  // namespace
}  // namespace stockwatch

// The console's HTML: every value escaped in text and attributes alike,
// names isolated, the page skeleton free of inline script and style.
#include <gtest/gtest.h>

#include "http/console/html.hpp"
#include "http/console/pages.hpp"

namespace stockwatch::console {
namespace {

TEST(ConsoleHtml, EscapesMarkupQuotesAmpersandsAndLineBreaks) {
  EXPECT_EQ(escape("<script>alert(1)</script>"), "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(escape("\"quoted\" & 'single'"), "&quot;quoted&quot; &amp; &#39;single&#39;");
  EXPECT_EQ(escape("two\nlines\r\n"), "two&#10;lines&#13;&#10;");
  EXPECT_EQ(escape("&amp;"), "&amp;amp;");   // never decoded, never double-trusted
  EXPECT_EQ(escape("Kopi Toraja"), "Kopi Toraja");
}

TEST(ConsoleHtml, KeepsRightToLeftMarksAndIsolatesNames) {
  const std::string rlo = "\u202E";   // RIGHT-TO-LEFT OVERRIDE
  const std::string tricky = "Robusta" + rlo + "vsc.exe";
  EXPECT_EQ(escape(tricky), tricky);
  EXPECT_EQ(name(tricky).html, "<bdi>" + tricky + "</bdi>");
  EXPECT_EQ(name("<b>").html, "<bdi>&lt;b&gt;</bdi>");
}

TEST(ConsoleHtml, ATemplateEscapesEveryValueButMarkup) {
  const Markup inner = html("<em>{}</em>", {"a<b"});
  EXPECT_EQ(inner.html, "<em>a&lt;b</em>");
  const auto page = html("<a href=\"/x?s={}\" title=\"{}\">{}</a> {} {{}", {"\" onclick=\"x", "'", inner, std::int64_t{42}});
  EXPECT_EQ(page.html,
            "<a href=\"/x?s=&quot; onclick=&quot;x\" title=\"&#39;\"><em>a&lt;b</em></a> 42 {}");
  EXPECT_THROW((void)html("{} {}", {"one"}), std::logic_error);
}

TEST(ConsolePages, NumbersAsEachLanguageWritesThem) {
  EXPECT_EQ(format_count(1234, "en"), "1,234");
  EXPECT_EQ(format_count(1234, "id"), "1.234");
  EXPECT_EQ(format_count(1234567, "id"), "1.234.567");
  EXPECT_EQ(format_count(999, "en"), "999");
  EXPECT_EQ(format_count(0, "en"), "0");
  EXPECT_EQ(format_count(-1000, "en"), "-1,000");
}

TEST(ConsolePages, ReportNamesShowLiterallyAndThePageHasNoInlineScriptOrStyle) {
  View v;
  v.text = &catalog_for("id");
  Account a;
  a.name = "owner";
  a.role = AccountRole::kOwner;
  v.account = a;
  v.csrf = "t0k3n";
  v.path = "/_console/";
  OverviewData d;
  d.stores.push_back({"<script>alert('x')</script>", 3, TimePoint(std::chrono::seconds(1'700'000'000)), 1});
  d.out_of_stock.push_back({"<script>alert('x')</script>", "Robusta \"Dairi\"\n&", 0,
                            TimePoint(std::chrono::seconds(1'700'000'000)), 3});
  d.now = TimePoint(std::chrono::seconds(1'700'000'100));
  const auto page = overview_page(v, d).html;
  // The one script is the site's own file; none inline, none from a report.
  const auto script = page.find("<script");
  ASSERT_NE(script, std::string::npos);
  const std::string own = "<script src=\"/_console/console.js\" defer></script></head>";
  EXPECT_EQ(page.compare(script, own.size(), own), 0);
  EXPECT_EQ(page.find("<script", script + 1), std::string::npos);
  EXPECT_EQ(page.find("style="), std::string::npos);
  EXPECT_NE(page.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("Robusta &quot;Dairi&quot;&#10;&amp;"), std::string::npos);
  EXPECT_NE(page.find("Ringkasan"), std::string::npos);   // in Bahasa Indonesia
  EXPECT_NE(page.find("lang=\"id\""), std::string::npos);
  EXPECT_NE(page.find("name=\"csrf\" value=\"t0k3n\""), std::string::npos);
  const auto res = page_response(200, overview_page(v, d));
  const auto csp = res["Content-Security-Policy"];
  EXPECT_NE(std::string(csp).find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(std::string(csp).find("unsafe-inline"), std::string::npos);
}

}  // namespace
}  // namespace stockwatch::console

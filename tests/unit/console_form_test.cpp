// What the console reads from a browser: cookies, forms, multipart
// uploads, the language asked for, and where a POST comes from.
#include <gtest/gtest.h>

#include "http/console/form.hpp"

namespace stockwatch::console {
namespace {

TEST(ConsoleForm, FindsACookieAmongOthers) {
  EXPECT_EQ(cookie_value("a=1; stockwatch_session=abc; b=2", "stockwatch_session"), "abc");
  EXPECT_EQ(cookie_value("stockwatch_session=x", "stockwatch_session"), "x");
  EXPECT_FALSE(cookie_value("xstockwatch_session=abc", "stockwatch_session"));
  EXPECT_FALSE(cookie_value("", "stockwatch_session"));
}

TEST(ConsoleForm, DecodesUrlencodedFields) {
  auto f = parse_urlencoded("name=Kopi+Toraja&password=a%26b%3Dc&empty=");
  EXPECT_EQ(f["name"], "Kopi Toraja");
  EXPECT_EQ(f["password"], "a&b=c");
  EXPECT_EQ(f["empty"], "");
}

TEST(ConsoleForm, SplitsAMultipartBodyIntoFieldsAndFiles) {
  const std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"medan.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\nstore,item,count\r\nMedan,Robusta Dairi,0\r\n\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"\"\r\n\r\n\r\n"
      "--XyZ--\r\n";
  auto parts = parse_multipart("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts);
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "csrf");
  EXPECT_FALSE((*parts)[0].is_file);
  EXPECT_EQ((*parts)[0].data, "tok");
  EXPECT_TRUE((*parts)[1].is_file);
  EXPECT_EQ((*parts)[1].filename, "medan.csv");
  EXPECT_EQ((*parts)[1].data, "store,item,count\r\nMedan,Robusta Dairi,0\r\n");
  EXPECT_TRUE((*parts)[2].is_file);
  EXPECT_EQ((*parts)[2].filename, "");
  EXPECT_FALSE(parse_multipart("application/x-www-form-urlencoded", body));
  EXPECT_FALSE(parse_multipart("multipart/form-data; boundary=XyZ", "--XyZ\r\nbroken"));
}

TEST(ConsoleForm, APostMustComeFromThisSite) {
  EXPECT_TRUE(same_origin("http://127.0.0.1:8080", "same-origin", "127.0.0.1:8080"));
  EXPECT_TRUE(same_origin("https://stock.example", "", "stock.example"));
  EXPECT_TRUE(same_origin("", "", "127.0.0.1:8080"));   // an old browser, or curl: the CSRF token decides
  EXPECT_FALSE(same_origin("http://evil.example", "", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("", "cross-site", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("http://127.0.0.1:8080", "same-site", "127.0.0.1:8080"));
  EXPECT_FALSE(same_origin("null", "", "127.0.0.1:8080"));
}

TEST(ConsoleForm, PicksTheLanguageTheBrowserPrefers) {
  EXPECT_EQ(pick_language("id-ID,id;q=0.9,en;q=0.8"), "id");
  EXPECT_EQ(pick_language("en-US,en;q=0.9,id;q=0.8"), "en");
  EXPECT_EQ(pick_language("fr, id;q=0.5"), "id");
  EXPECT_EQ(pick_language("en;q=0.2, id;q=0.7"), "id");
  EXPECT_EQ(pick_language("fr"), "en");
  EXPECT_EQ(pick_language(""), "en");
}

}  // namespace
}  // namespace stockwatch::console

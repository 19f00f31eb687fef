// The S3 wire format: escapes, query strings, object-key rules and the
// multipart XML.
#include "http/s3/s3_protocol.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.hpp"

#include <string>
#include <utility>
#include <vector>

namespace stockwatch {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

TEST(PercentDecode, DecodesEscapesAndKeepsPlus) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("plain/path.csv"), "plain/path.csv");
  EXPECT_EQ(percent_decode("a%20b"), "a b");
  EXPECT_EQ(percent_decode("%2Fx%2fy"), "/x/y");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("%41"), "A");
  EXPECT_EQ(percent_decode("toko%C3%A9.csv"), "toko\xC3\xA9.csv");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(percent_decode("%25"), "%");
}

TEST(PercentDecode, RefusesMalformedEscapes) {
  for (const char* bad : {"%", "%4", "a%", "a%4", "%G1", "%1G", "%%", "%-1", "x%zz"}) {
    EXPECT_FALSE(percent_decode(bad).has_value()) << bad;
  }
}

TEST(AwsUriEncode, UnreservedStayEverythingElseUpperHex) {
  EXPECT_EQ(aws_uri_encode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(aws_uri_encode("a b+c", false), "a%20b%2Bc");
  EXPECT_EQ(aws_uri_encode("a/b", false), "a%2Fb");
  EXPECT_EQ(aws_uri_encode("a/b", true), "a/b");
  EXPECT_EQ(aws_uri_encode("$=&?*", true), "%24%3D%26%3F%2A");
  EXPECT_EQ(aws_uri_encode("\xC3\xA9", false), "%C3%A9");
  EXPECT_EQ(aws_uri_encode(std::string(1, '\0'), false), "%00");
}

TEST(DecodeQuery, ParametersInOrderDecoded) {
  EXPECT_EQ(decode_query(""), Params{});
  EXPECT_EQ(decode_query("uploads"), (Params{{"uploads", ""}}));
  EXPECT_EQ(decode_query("uploads="), (Params{{"uploads", ""}}));
  EXPECT_EQ(decode_query("partNumber=1&uploadId=x"),
            (Params{{"partNumber", "1"}, {"uploadId", "x"}}));
  EXPECT_EQ(decode_query("a=1&&b&c=x%20y&d=e=f"),
            (Params{{"a", "1"}, {"b", ""}, {"c", "x y"}, {"d", "e=f"}}));
  EXPECT_EQ(decode_query("k%2Fey=v+w"), (Params{{"k/ey", "v+w"}}));
}

TEST(DecodeQuery, MalformedEscapeKeptAsSent) {
  EXPECT_EQ(decode_query("a=%G1&b%=2"), (Params{{"a", "%G1"}, {"b%", "2"}}));
}

// --- Object keys -------------------------------------------------------------

void expect_refused(std::string_view key, std::string_view code = "InvalidArgument",
                    const KeyLimits& limits = {}) {
  const auto err = check_object_key(key, limits);
  ASSERT_TRUE(err.has_value()) << "accepted: " << key;
  EXPECT_EQ(err->status, 400) << key;
  EXPECT_EQ(err->code, code) << key;
  EXPECT_FALSE(err->message.empty());
}

TEST(CheckObjectKey, AcceptsReportKeys) {
  for (const char* key : {"a.csv", "medan/2026-11.csv", "x/y/z/report.CSV", "r.Csv",
                          "toko-\xC3\xA9/\xE2\x82\xAC.csv", "with space/and+plus.csv",
                          "emoji\xF0\x9F\x93\xA6.csv", "a..b.csv", "dir.d/x.csv",
                          "medan/2026-11.xlsx", "stok.ODS"}) {
    EXPECT_FALSE(check_object_key(key).has_value()) << key;
  }
}

TEST(CheckObjectKey, RefusesDotSegmentsAndAbsolutePaths) {
  expect_refused("../x.csv");
  expect_refused("a/../x.csv");
  expect_refused("a/./x.csv");
  expect_refused("..");
  expect_refused("/x.csv");
  expect_refused("/etc/passwd.csv");
}

TEST(CheckObjectKey, RefusesForbiddenBytes) {
  expect_refused(std::string("a\0.csv", 6));
  expect_refused("a\\b.csv");
  expect_refused("..\\..\\x.csv");
  expect_refused("a\nb.csv");
  expect_refused("a\tb.csv");
  expect_refused("a\x1f.csv");
  expect_refused("a\x7f.csv");
  expect_refused("a\xC2\x85.csv");   // NEL, a C1 control
  expect_refused("a\xC2\x9F.csv");
  EXPECT_FALSE(check_object_key("a\xC2\xA0.csv").has_value());   // no-break space is fine
}

TEST(CheckObjectKey, RefusesInvalidUtf8) {
  expect_refused("a\xff.csv");                 // never valid
  expect_refused("a\xC3.csv");                 // truncated sequence
  expect_refused("a\xC0\xAF.csv");             // over-long '/'
  expect_refused("a\xED\xA0\x80.csv");         // surrogate
  expect_refused("a\xF4\x90\x80\x80.csv");     // above U+10FFFF
  expect_refused("a\x80.csv");                 // lone continuation byte
  expect_refused("a.csv\xE2\x82");             // truncated at the end
}

TEST(CheckObjectKey, RefusesEmptyHiddenAndNonCsv) {
  expect_refused("");
  expect_refused("a//b.csv");
  expect_refused("a/");
  expect_refused("a/b.csv/");
  expect_refused(".hidden.csv");
  expect_refused("a/.uploads/x.csv");
  expect_refused(".csv");
  expect_refused("report.txt");
  expect_refused("report.xls");
  expect_refused("report.csv.gz");
  expect_refused("report");
  expect_refused("csv");
  expect_refused("a.csv/");
}

// A file or folder name over 255 bytes is the client's mistake (400), not
// a failure of the server.
TEST(CheckObjectKey, ANameOver255BytesIsKeyTooLong) {
  EXPECT_FALSE(check_object_key(std::string(251, 'y') + ".csv").has_value());
  auto e = check_object_key(std::string(252, 'y') + ".csv");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, 400);
  EXPECT_EQ(e->code, "KeyTooLongError");
  e = check_object_key(std::string(256, 'd') + "/a.csv");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->status, 400);
}

TEST(CheckObjectKey, LengthAndDepthLimits) {
  const KeyLimits limits{20, 2};
  EXPECT_FALSE(check_object_key(std::string(16, 'a') + ".csv", limits).has_value());
  expect_refused(std::string(17, 'a') + ".csv", "KeyTooLongError", limits);
  expect_refused(std::string(600, 'a') + ".csv", "KeyTooLongError");
  EXPECT_FALSE(check_object_key("a/b/c.csv", limits).has_value());
  expect_refused("a/b/c/d.csv", "InvalidArgument", limits);
  // The default depth: 8 folders are fine, 9 are not.
  std::string eight, nine;
  for (int i = 0; i < 8; ++i) eight += "d/";
  nine = eight + "d/";
  EXPECT_FALSE(check_object_key(eight + "x.csv").has_value());
  expect_refused(nine + "x.csv");
}

// --- XML ----------------------------------------------------------------------

TEST(XmlEscape, EscapesTheFiveCharacters) {
  EXPECT_EQ(xml_escape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(xml_escape("plain"), "plain");
}

TEST(S3ErrorXml, CarriesEscapedFields) {
  const std::string xml =
      s3_error_xml({403, "AccessDenied", "key <a> & \"b\""}, "/inv/x&y.csv", "req<1>");
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
  EXPECT_NE(xml.find("<Error><Code>AccessDenied</Code>"), std::string::npos);
  EXPECT_NE(xml.find("<Message>key &lt;a&gt; &amp; &quot;b&quot;</Message>"), std::string::npos);
  EXPECT_NE(xml.find("<Resource>/inv/x&amp;y.csv</Resource>"), std::string::npos);
  EXPECT_NE(xml.find("<RequestId>req&lt;1&gt;</RequestId></Error>"), std::string::npos);
}

// Error bodies for keys a client can send (%00, %ff, %0d%0a, C1 controls,
// U+FFFF) are well-formed XML, as a real XML parser (Python's expat) sees
// them, and the resource reads back as close to the key as XML allows.
TEST(S3ErrorXml, IsWellFormedWhateverTheKeyHolds) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {std::string("/inventory/a\0b.csv", 18), "/inventory/a\xEF\xBF\xBD" "b.csv"},
      {"/inventory/a\xff" "b.csv", "/inventory/a\xEF\xBF\xBD" "b.csv"},
      {"/inventory/a\r\nb.csv", "/inventory/a\r\nb.csv"},
      {"/inventory/a\x01\x1f\x7f\xc2\x85\xef\xbf\xbf.csv",
       "/inventory/a\xEF\xBF\xBD\xEF\xBF\xBD\x7f\xc2\x85\xEF\xBF\xBD.csv"},
  };
  test::TempDir dir("s3xml");
  int n = 0;
  for (const auto& [resource, expected] : cases) {
    const std::string xml = s3_error_xml({400, "InvalidArgument", "bad " + resource}, resource, "R1");
    const auto body = dir / ("body" + std::to_string(n));
    const auto want = dir / ("want" + std::to_string(n++));
    test::write_file(body, xml);
    test::write_file(want, expected);
    const std::string cmd = std::string(STOCKWATCH_PYTHON) +
                            " -c 'import sys, xml.etree.ElementTree as E; "
                            "r = E.parse(sys.argv[1]).getroot().find(\"Resource\").text; "
                            "sys.exit(0 if r == open(sys.argv[2], encoding=\"utf-8\", newline=\"\").read() else 3)' " +
                            body.string() + " " + want.string();
    EXPECT_EQ(std::system(cmd.c_str()), 0) << xml;
  }
}

TEST(MultipartXml, InitiateAndCompleteResults) {
  const std::string init = initiate_multipart_xml("inventory", "a&b.csv", "abc123");
  EXPECT_NE(init.find("<Bucket>inventory</Bucket><Key>a&amp;b.csv</Key><UploadId>abc123</UploadId>"),
            std::string::npos);
  const std::string done = complete_multipart_xml("/inventory/a.csv", "inventory", "a.csv", "ff-2");
  EXPECT_NE(done.find("<Location>/inventory/a.csv</Location>"), std::string::npos);
  EXPECT_NE(done.find("<ETag>&quot;ff-2&quot;</ETag>"), std::string::npos);
}

TEST(ParseCompleteMultipart, ReadsPartsWithEitherQuoting) {
  const auto parts = parse_complete_multipart(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Part><ETag>\"aaa\"</ETag><PartNumber>1</PartNumber></Part>\n"
      "<Part><PartNumber>2</PartNumber><ETag>&quot;bbb&quot;</ETag></Part>"
      "<Part><PartNumber>10</PartNumber><ETag>ccc</ETag></Part>"
      "</CompleteMultipartUpload>");
  ASSERT_TRUE(parts.has_value());
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].number, 1);
  EXPECT_EQ((*parts)[0].etag, "aaa");
  EXPECT_EQ((*parts)[1].number, 2);
  EXPECT_EQ((*parts)[1].etag, "bbb");
  EXPECT_EQ((*parts)[2].number, 10);
  EXPECT_EQ((*parts)[2].etag, "ccc");
}

TEST(ParseCompleteMultipart, RefusesMalformedBodies) {
  for (const char* bad : {
           "",
           "not xml",
           "<CompleteMultipartUpload></CompleteMultipartUpload>",
           "<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>",
           "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><ETag>a</ETag></Part></CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>"
           "</CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</ETag></Part>"
           "</CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber></PartNumber><ETag>a</ETag></Part>"
           "</CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber>99999999999</PartNumber><ETag>a</ETag>"
           "</Part></CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2</PartNumber>"
           "<ETag>a</ETag></Part></CompleteMultipartUpload>",
           "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</ETag>",
       }) {
    EXPECT_FALSE(parse_complete_multipart(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace stockwatch

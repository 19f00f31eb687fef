// Digests, checksums, HMAC and the encodings S3 uses for them, against
// published test vectors.
#include "crypto/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace stockwatch {
namespace {

std::string hex_of(Digest::Kind kind, std::string_view data) {
  return to_hex(Digest::of(kind, data));
}

std::string crc_of(Crc32::Kind kind, std::string_view data) {
  Crc32 crc(kind);
  crc.update(data);
  return crc.finish();
}

TEST(Digest, Md5KnownVectors) {
  EXPECT_EQ(hex_of(Digest::Kind::kMd5, ""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex_of(Digest::Kind::kMd5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex_of(Digest::Kind::kMd5, "The quick brown fox jumps over the lazy dog"),
            "9e107d9d372bb6826bd81d3542a419d6");
}

TEST(Digest, Sha1KnownVectors) {
  EXPECT_EQ(hex_of(Digest::Kind::kSha1, ""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex_of(Digest::Kind::kSha1, "abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(Digest, Sha256KnownVectors) {
  EXPECT_EQ(hex_of(Digest::Kind::kSha256, ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(Digest::Kind::kSha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of(Digest::Kind::kSha256,
                   "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Digest, PiecewiseUpdatesEqualOneShot) {
  const std::string data(100'000, 'x');
  for (auto kind : {Digest::Kind::kMd5, Digest::Kind::kSha1, Digest::Kind::kSha256}) {
    Digest d(kind);
    for (std::size_t i = 0; i < data.size(); i += 777) d.update(std::string_view(data).substr(i, 777));
    EXPECT_EQ(d.finish(), Digest::of(kind, data));
  }
}

TEST(Digest, MovedDigestKeepsItsState) {
  Digest a(Digest::Kind::kSha256);
  a.update("ab");
  Digest b(std::move(a));
  b.update("c");
  Digest c(Digest::Kind::kMd5);
  c = std::move(b);
  EXPECT_EQ(to_hex(c.finish()), hex_of(Digest::Kind::kSha256, "abc"));
}

TEST(Crc32, IsoCheckValueBigEndian) {
  EXPECT_EQ(crc_of(Crc32::Kind::kIso, "123456789"), std::string("\xCB\xF4\x39\x26", 4));
  EXPECT_EQ(to_base64(crc_of(Crc32::Kind::kIso, "123456789")), "y/Q5Jg==");
}

TEST(Crc32, CastagnoliCheckValueBigEndian) {
  EXPECT_EQ(crc_of(Crc32::Kind::kCastagnoli, "123456789"), std::string("\xE3\x06\x92\x83", 4));
  EXPECT_EQ(to_base64(crc_of(Crc32::Kind::kCastagnoli, "123456789")), "4waSgw==");
}

TEST(Crc32, EmptyInputAndPieces) {
  EXPECT_EQ(crc_of(Crc32::Kind::kIso, ""), std::string(4, '\0'));
  EXPECT_EQ(crc_of(Crc32::Kind::kCastagnoli, ""), std::string(4, '\0'));
  Crc32 crc(Crc32::Kind::kCastagnoli);
  crc.update("1234");
  crc.update("");
  crc.update("56789");
  EXPECT_EQ(crc.finish(), crc_of(Crc32::Kind::kCastagnoli, "123456789"));
  // finish() does not spend the value.
  EXPECT_EQ(crc.finish(), crc_of(Crc32::Kind::kCastagnoli, "123456789"));
}

TEST(Hmac, Rfc4231Vectors) {
  // Test case 1.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the output.
  EXPECT_EQ(to_hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size.
  EXPECT_EQ(to_hex(hmac_sha256(std::string(131, '\xaa'),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Hex, LowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(to_hex(""), "");
  EXPECT_EQ(to_hex(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(to_base64(plain), encoded);
    EXPECT_EQ(from_base64(encoded), plain) << encoded;
  }
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t len = 0; len <= all.size(); len += 37) {
    const std::string s = all.substr(0, len);
    EXPECT_EQ(from_base64(to_base64(s)), s) << len;
  }
  const std::string md5 = Digest::of(Digest::Kind::kMd5, "report");
  EXPECT_EQ(from_base64(to_base64(md5)), md5);
}

TEST(Base64, MalformedInputDecodesToEmpty) {
  for (const char* bad : {"Zg", "Zm9", "Zm9vY", "Zm9v!A==", "Zm9v\n", "Z=9v", "Zg=a", "A===",
                          "====", "Zg==Zg==", "  Zm9v  ", "Zm-v", "Zm_v", "Zm9v====", "=Zm9"}) {
    EXPECT_EQ(from_base64(bad), "") << '"' << bad << '"';
  }
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

}  // namespace
}  // namespace stockwatch

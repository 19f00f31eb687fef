// AWS Signature Version 4: the examples of the S3 documentation, then
// sign-and-verify round trips and every way a request is refused.
#include "http/s3/sigv4.hpp"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

namespace stockwatch {
namespace {

using namespace std::chrono_literals;

constexpr const char* kAccessKey = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kHost = "examplebucket.s3.amazonaws.com";

TimePoint utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

const TimePoint kExampleTime = utc(2013, 5, 24);

std::optional<std::string> example_secrets(std::string_view key) {
  if (key == kAccessKey) return std::string(kSecret);
  if (key == "AKIDPLUS") return std::string("se cret+/=");
  return std::nullopt;
}

// The header-signed examples of the S3 documentation ("Signature
// Calculations for the Authorization Header"), verified as received.
SigV4Request documented(std::string method, std::string target,
                        std::vector<std::pair<std::string, std::string>> extra,
                        std::string payload, std::string signed_headers, std::string signature) {
  SigV4Request r{std::move(method), std::move(target), {{"host", kHost}}};
  for (auto& h : extra) r.headers.push_back(std::move(h));
  r.headers.emplace_back("x-amz-content-sha256", payload);
  r.headers.emplace_back("x-amz-date", "20130524T000000Z");
  r.headers.emplace_back(
      "authorization",
      std::string("AWS4-HMAC-SHA256 Credential=") + kAccessKey +
          "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" + signed_headers +
          ",Signature=" + signature);
  return r;
}

void expect_verifies(const SigV4Request& r, TimePoint now = kExampleTime) {
  const auto result = verify_sigv4(r, example_secrets, now);
  EXPECT_FALSE(result.error.has_value())
      << r.method << " " << r.target << ": " << result.error->code << ": "
      << result.error->message;
}

TEST(SigV4Documented, GetObjectWithRange) {
  const auto r = documented("GET", "/test.txt", {{"range", "bytes=0-9"}}, kEmptySha256,
                            "host;range;x-amz-content-sha256;x-amz-date",
                            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  const std::vector<std::string> names{"host", "range", "x-amz-content-sha256", "x-amz-date"};
  const std::string canonical = sigv4_canonical_request(r, names, kEmptySha256);
  EXPECT_EQ(canonical,
            "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
            "x-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string to_sign =
      sigv4_string_to_sign("20130524T000000Z", "20130524/us-east-1/s3/aws4_request", canonical);
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  EXPECT_EQ(sigv4_signature(kSecret, "20130524", "us-east-1", "s3", to_sign),
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  const auto result = verify_sigv4(r, example_secrets, kExampleTime);
  EXPECT_FALSE(result.error.has_value()) << result.error->code << ": " << result.error->message;
  EXPECT_EQ(result.access_key, kAccessKey);
  EXPECT_EQ(result.payload_hash, kEmptySha256);
  EXPECT_FALSE(result.presigned);
}

TEST(SigV4Documented, PutObjectWithEscapedPath) {
  const auto r = documented(
      "PUT", "/test%24file.text",
      {{"date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
      "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
      "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  expect_verifies(r);
}

TEST(SigV4Documented, GetBucketLifecycleSubresource) {
  const auto r = documented("GET", "/?lifecycle", {}, kEmptySha256,
                            "host;x-amz-content-sha256;x-amz-date",
                            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  expect_verifies(r);
}

TEST(SigV4Documented, ListObjectsQuerySorted) {
  const auto r = documented("GET", "/?max-keys=2&prefix=J", {}, kEmptySha256,
                            "host;x-amz-content-sha256;x-amz-date",
                            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  expect_verifies(r);
  // The same parameters in another order sign the same.
  auto swapped = r;
  swapped.target = "/?prefix=J&max-keys=2";
  expect_verifies(swapped);
}

// The presigned example of the S3 documentation ("Authenticating Requests:
// Using Query Parameters"), valid for 86400 s.
SigV4Request presigned_example() {
  return SigV4Request{
      "GET",
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2F"
      "us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&"
      "X-Amz-SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
      {{"host", kHost}}};
}

TEST(SigV4Presigned, DocumentedUrlValidUntilItExpires) {
  const auto r = presigned_example();
  EXPECT_TRUE(has_sigv4(r));
  auto result = verify_sigv4(r, example_secrets, kExampleTime + 23h);
  ASSERT_FALSE(result.error.has_value()) << result.error->code << ": " << result.error->message;
  EXPECT_TRUE(result.presigned);
  EXPECT_EQ(result.payload_hash, "UNSIGNED-PAYLOAD");
  EXPECT_EQ(result.access_key, kAccessKey);

  result = verify_sigv4(r, example_secrets, kExampleTime + 24h + 1s);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->status, 403);
  EXPECT_EQ(result.error->code, "AccessDenied");

  // Dated far in the future of the server's clock.
  result = verify_sigv4(r, example_secrets, kExampleTime - 1h);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, "RequestTimeTooSkewed");
}

TEST(SigV4Presigned, TamperedOrIncompleteQueryRefused) {
  auto r = presigned_example();
  r.target.replace(r.target.find("/test.txt"), 9, "/other.txt");
  auto result = verify_sigv4(r, example_secrets, kExampleTime);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, "SignatureDoesNotMatch");

  r = presigned_example();
  r.target.replace(r.target.find("X-Amz-Expires=86400"), 19, "X-Amz-Expires=86401");
  result = verify_sigv4(r, example_secrets, kExampleTime);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, "SignatureDoesNotMatch");

  for (const char* bad : {"X-Amz-Expires=86400", "X-Amz-Algorithm=AWS4-HMAC-SHA256"}) {
    r = presigned_example();
    const auto at = r.target.find(bad);
    r.target.replace(at, std::string(bad).size(), std::string(bad).substr(0, 14) + "x=1");
    result = verify_sigv4(r, example_secrets, kExampleTime);
    ASSERT_TRUE(result.error.has_value()) << bad;
    EXPECT_EQ(result.error->status, 400) << bad;
    EXPECT_EQ(result.error->code, "AuthorizationQueryParametersError") << bad;
  }

  r = presigned_example();
  r.target.replace(r.target.find("86400"), 5, "604801");
  result = verify_sigv4(r, example_secrets, kExampleTime);
  ASSERT_TRUE(result.error.has_value());
  EXPECT_EQ(result.error->code, "AuthorizationQueryParametersError");
}

// --- Round trips through sigv4_sign() ------------------------------------------

class SigV4RoundTrip : public ::testing::Test {
 protected:
  const TimePoint now_ = utc(2026, 12, 2, 5, 5, 41);

  static SigV4Request request(std::string method, std::string target) {
    return SigV4Request{std::move(method), std::move(target), {{"host", "127.0.0.1:9000"}}};
  }
  SigV4Request signed_request(std::string method, std::string target,
                              std::string_view region = "us-east-1",
                              std::string_view payload = "UNSIGNED-PAYLOAD") const {
    auto r = request(std::move(method), std::move(target));
    sigv4_sign(r, kAccessKey, kSecret, region, now_, payload);
    return r;
  }
  SigV4Result verify(const SigV4Request& r, const SigV4Options& options = {}) const {
    return verify_sigv4(r, example_secrets, now_, options);
  }
  static void expect_error(const SigV4Result& result, int status, std::string_view code) {
    ASSERT_TRUE(result.error.has_value()) << "expected " << code;
    EXPECT_EQ(result.error->status, status) << result.error->message;
    EXPECT_EQ(result.error->code, code) << result.error->message;
    EXPECT_FALSE(result.error->message.empty());
  }
  static void set_header(SigV4Request& r, std::string_view name, std::string value) {
    for (auto& [n, v] : r.headers) {
      if (n == name) v = value;
    }
  }
};

TEST_F(SigV4RoundTrip, KeysNeedingEscapes) {
  for (const char* target : {"/inventory/medan/2026-11.csv", "/inventory/my%20report.csv",
                             "/inventory/a%2Bb.csv", "/inventory/toko%C3%A9/%E2%82%AC.csv",
                             "/inventory/a~b_c-d.e.csv", "/inventory/%28x%29%21.csv", "/"}) {
    const auto r = signed_request("PUT", target);
    const auto result = verify(r);
    EXPECT_FALSE(result.error.has_value()) << target << ": " << result.error->message;
    EXPECT_EQ(result.access_key, kAccessKey);
    EXPECT_EQ(result.payload_hash, "UNSIGNED-PAYLOAD");
  }
}

TEST_F(SigV4RoundTrip, SubresourceQueries) {
  for (const char* target : {"/inventory/a.csv?uploads", "/inventory/a.csv?uploads=",
                             "/inventory/a.csv?partNumber=1&uploadId=x",
                             "/inventory/a.csv?uploadId=x&partNumber=1",
                             "/inventory/a.csv?uploadId=a%2Fb%20c"}) {
    const auto r = signed_request("POST", target);
    EXPECT_FALSE(verify(r).error.has_value()) << target;
  }
  // The query is signed: changing a parameter breaks the signature.
  auto r = signed_request("PUT", "/inventory/a.csv?partNumber=1&uploadId=x");
  r.target = "/inventory/a.csv?partNumber=2&uploadId=x";
  expect_error(verify(r), 403, "SignatureDoesNotMatch");
}

TEST_F(SigV4RoundTrip, SecretWithSpecialCharacters) {
  auto r = request("PUT", "/inventory/a.csv");
  sigv4_sign(r, "AKIDPLUS", "se cret+/=", "us-east-1", now_, "UNSIGNED-PAYLOAD");
  EXPECT_FALSE(verify(r).error.has_value());
}

TEST_F(SigV4RoundTrip, PayloadHashIsReported) {
  const std::string hash = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
  const auto r = signed_request("PUT", "/inventory/a.csv", "us-east-1", hash);
  const auto result = verify(r);
  ASSERT_FALSE(result.error.has_value());
  EXPECT_EQ(result.payload_hash, hash);
}

TEST_F(SigV4RoundTrip, HeaderValuesAreFoldedAndTrimmed) {
  auto r = request("PUT", "/inventory/a.csv");
  r.headers.emplace_back("x-amz-meta-note", "  two   spaces\tand tab ");
  sigv4_sign(r, kAccessKey, kSecret, "us-east-1", now_, "UNSIGNED-PAYLOAD");
  set_header(r, "x-amz-meta-note", "two spaces and tab");
  EXPECT_FALSE(verify(r).error.has_value());
}

TEST_F(SigV4RoundTrip, WrongSecretDoesNotMatch) {
  auto r = request("PUT", "/inventory/a.csv");
  sigv4_sign(r, kAccessKey, "not-the-secret", "us-east-1", now_, "UNSIGNED-PAYLOAD");
  expect_error(verify(r), 403, "SignatureDoesNotMatch");
}

TEST_F(SigV4RoundTrip, UnknownAccessKey) {
  auto r = request("PUT", "/inventory/a.csv");
  sigv4_sign(r, "AKIDUNKNOWN", kSecret, "us-east-1", now_, "UNSIGNED-PAYLOAD");
  expect_error(verify(r), 403, "InvalidAccessKeyId");
}

TEST_F(SigV4RoundTrip, ClockSkewLimit) {
  auto r = request("PUT", "/inventory/a.csv");
  sigv4_sign(r, kAccessKey, kSecret, "us-east-1", now_ - 14min, "UNSIGNED-PAYLOAD");
  EXPECT_FALSE(verify(r).error.has_value());
  for (auto offset : {16min, -16min}) {
    r = request("PUT", "/inventory/a.csv");
    sigv4_sign(r, kAccessKey, kSecret, "us-east-1", now_ + offset, "UNSIGNED-PAYLOAD");
    expect_error(verify(r), 403, "RequestTimeTooSkewed");
  }
  SigV4Options lenient;
  lenient.max_skew = 1h;
  EXPECT_FALSE(verify(r, lenient).error.has_value());
}

TEST_F(SigV4RoundTrip, UnsignedRequestDenied) {
  const auto r = request("PUT", "/inventory/a.csv");
  EXPECT_FALSE(has_sigv4(r));
  expect_error(verify(r), 403, "AccessDenied");
}

TEST_F(SigV4RoundTrip, MalformedAuthorizationHeader) {
  const auto base = signed_request("PUT", "/inventory/a.csv");
  const std::string scope = "/20261202/us-east-1/s3/aws4_request";
  const std::string sig = "Signature=" + std::string(64, '0');
  for (const std::string& auth : {
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) + ", " + sig,
           "AWS4-HMAC-SHA256 SignedHeaders=host, " + sig,
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) + scope + ", SignedHeaders=host",
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) +
               "/20261202/us-east-1/s3, SignedHeaders=host, " + sig,
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) +
               "/20261202/us-east-1/sqs/aws4_request, SignedHeaders=host, " + sig,
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) +
               "/20261201/us-east-1/s3/aws4_request, SignedHeaders=host, " + sig,
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) + scope +
               ", SignedHeaders=x-amz-date, " + sig,
           "AWS4-HMAC-SHA256 Credential=" + std::string(kAccessKey) + scope +
               ", SignedHeaders=x-amz-date;host, " + sig,
           std::string("AWS4-HMAC-SHA256 garbage"),
       }) {
    auto r = base;
    set_header(r, "authorization", auth);
    expect_error(verify(r), 400, "AuthorizationHeaderMalformed");
  }
  auto r = base;
  set_header(r, "authorization", "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=");
  expect_error(verify(r), 400, "InvalidArgument");
}

TEST_F(SigV4RoundTrip, MissingOrBadDateAndPayloadHeaders) {
  auto r = signed_request("PUT", "/inventory/a.csv");
  std::erase_if(r.headers, [](const auto& h) { return h.first == "x-amz-content-sha256"; });
  expect_error(verify(r), 400, "InvalidRequest");

  r = signed_request("PUT", "/inventory/a.csv");
  std::erase_if(r.headers, [](const auto& h) { return h.first == "x-amz-date"; });
  expect_error(verify(r), 403, "AccessDenied");

  r = signed_request("PUT", "/inventory/a.csv");
  set_header(r, "x-amz-date", "2026-12-02T05:05:41Z");
  expect_error(verify(r), 403, "AccessDenied");
}

TEST_F(SigV4RoundTrip, TamperingAfterSigning) {
  auto r = request("PUT", "/inventory/a.csv");
  r.headers.emplace_back("x-amz-meta-store", "medan");
  sigv4_sign(r, kAccessKey, kSecret, "us-east-1", now_, "UNSIGNED-PAYLOAD");

  // A header added after signing is not covered.
  auto unsigned_added = r;
  unsigned_added.headers.emplace_back("user-agent", "curl/8");
  EXPECT_FALSE(verify(unsigned_added).error.has_value());

  auto header_changed = r;
  set_header(header_changed, "x-amz-meta-store", "jakarta");
  expect_error(verify(header_changed), 403, "SignatureDoesNotMatch");

  auto host_changed = r;
  set_header(host_changed, "host", "evil.example");
  expect_error(verify(host_changed), 403, "SignatureDoesNotMatch");

  auto path_changed = r;
  path_changed.target = "/inventory/b.csv";
  expect_error(verify(path_changed), 403, "SignatureDoesNotMatch");

  auto method_changed = r;
  method_changed.method = "DELETE";
  expect_error(verify(method_changed), 403, "SignatureDoesNotMatch");

  auto payload_changed = r;
  set_header(payload_changed, "x-amz-content-sha256", kEmptySha256);
  expect_error(verify(payload_changed), 403, "SignatureDoesNotMatch");
}

TEST_F(SigV4RoundTrip, RegionOption) {
  SigV4Options options;
  options.region = "us-east-1";
  EXPECT_FALSE(verify(signed_request("PUT", "/inventory/a.csv"), options).error.has_value());
  const auto elsewhere = signed_request("PUT", "/inventory/a.csv", "eu-west-1");
  expect_error(verify(elsewhere, options), 400, "AuthorizationHeaderMalformed");
  // Without the option any region is accepted.
  EXPECT_FALSE(verify(elsewhere).error.has_value());
}

TEST_F(SigV4RoundTrip, HasSigV4) {
  EXPECT_TRUE(has_sigv4(signed_request("GET", "/")));
  EXPECT_TRUE(has_sigv4(request("GET", "/?X-Amz-Signature=00")));
  EXPECT_FALSE(has_sigv4(request("GET", "/?x=1")));
}

}  // namespace
}  // namespace stockwatch

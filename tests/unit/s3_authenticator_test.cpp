// The S3 endpoint's signatures as an Authenticator: who signed, which
// stores the key may upload for, and each way a request is refused, on a
// manual clock.
#include "http/s3/s3_authenticator.hpp"

#include <gtest/gtest.h>

#include "http/s3/sigv4.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace bhttp = boost::beast::http;

class S3SignatureAuthenticatorTest : public ::testing::Test {
 protected:
  S3SignatureAuthenticatorTest() {
    http_.credentials = {{"AKIDMEDAN", "medan-secret", {"Medan"}}, {"AKIDALL", "all-secret", {}}};
  }

  // A PUT of a report, signed by `key` with `secret` (unsigned if empty).
  http::RequestHead put(const std::string& key = "", const std::string& secret = "",
                        const std::string& payload = "UNSIGNED-PAYLOAD") const {
    SigV4Request r{"PUT", "/inventory/medan/2026-12.csv", {{"host", "127.0.0.1:8080"}}};
    if (!key.empty()) sigv4_sign(r, key, secret, "us-east-1", clock_.now(), payload);
    http::RequestHead h;
    h.method(bhttp::verb::put);
    h.target(r.target);
    h.version(11);
    for (const auto& [name, value] : r.headers) h.insert(name, value);
    return h;
  }

  ManualClock clock_;
  HttpConfig http_;
};

TEST_F(S3SignatureAuthenticatorTest, AGoodSignatureNamesTheKeyItsStoresAndTheSignedBodyHash) {
  S3SignatureAuthenticator auth(http_, clock_);
  const std::string hash(64, 'a');
  const auto result = auth.authenticate(put("AKIDMEDAN", "medan-secret", hash), "10.0.0.1:5000");
  ASSERT_TRUE(result.identity.has_value());
  EXPECT_FALSE(result.refusal.has_value());
  EXPECT_EQ(result.identity->name, "AKIDMEDAN");
  EXPECT_EQ(result.identity->role, http::Role::kUploader);
  EXPECT_EQ(result.identity->stores, std::vector<std::string>{"Medan"});
  EXPECT_EQ(result.identity->payload_hash, hash);

  const auto all = auth.authenticate(put("AKIDALL", "all-secret"), "10.0.0.1:5000");
  ASSERT_TRUE(all.identity.has_value());
  EXPECT_TRUE(all.identity->stores.empty());
  EXPECT_EQ(all.identity->payload_hash, "UNSIGNED-PAYLOAD");
}

TEST_F(S3SignatureAuthenticatorTest, AWrongSecretOrAnUnknownKeyIsRefusedWithS3sCode) {
  S3SignatureAuthenticator auth(http_, clock_);
  const auto wrong = auth.authenticate(put("AKIDMEDAN", "guess"), "10.0.0.1:5000");
  ASSERT_TRUE(wrong.refusal.has_value());
  EXPECT_EQ(wrong.refusal->status, 403u);
  EXPECT_EQ(wrong.refusal->code, "SignatureDoesNotMatch");
  EXPECT_EQ(wrong.refusal->message.find("guess"), std::string::npos);

  const auto unknown = auth.authenticate(put("AKIDNOBODY", "x"), "10.0.0.1:5000");
  ASSERT_TRUE(unknown.refusal.has_value());
  EXPECT_EQ(unknown.refusal->code, "InvalidAccessKeyId");
}

TEST_F(S3SignatureAuthenticatorTest, ASignatureFromAnotherTimeIsRefused) {
  S3SignatureAuthenticator auth(http_, clock_);
  const auto head = put("AKIDMEDAN", "medan-secret");
  clock_.advance(std::chrono::hours(1));
  const auto late = auth.authenticate(head, "10.0.0.1:5000");
  ASSERT_TRUE(late.refusal.has_value());
  EXPECT_EQ(late.refusal->code, "RequestTimeTooSkewed");
}

TEST_F(S3SignatureAuthenticatorTest, AnUnsignedRequestIsLeftToTheGatewayOnlyWhenAnonymousUploadsAreOn) {
  S3SignatureAuthenticator auth(http_, clock_);
  const auto refused = auth.authenticate(put(), "10.0.0.1:5000");
  ASSERT_TRUE(refused.refusal.has_value());
  EXPECT_EQ(refused.refusal->code, "AccessDenied");
  EXPECT_NE(refused.refusal->message.find("not signed"), std::string::npos);

  http_.allow_anonymous_upload = true;
  auth.set_config(http_);
  const auto anonymous = auth.authenticate(put(), "10.0.0.1:5000");
  EXPECT_FALSE(anonymous.decided());
  // A signature is still checked when one is sent.
  EXPECT_TRUE(auth.authenticate(put("AKIDMEDAN", "guess"), "10.0.0.1:5000").refusal.has_value());
}

TEST_F(S3SignatureAuthenticatorTest, WithoutCredentialsUploadsAreOffUnlessAnonymousOnesAreAllowed) {
  http_.credentials.clear();
  S3SignatureAuthenticator auth(http_, clock_);
  const auto off = auth.authenticate(put(), "10.0.0.1:5000");
  ASSERT_TRUE(off.refusal.has_value());
  EXPECT_EQ(off.refusal->code, "AccessDenied");
  EXPECT_NE(off.refusal->message.find("uploads are turned off"), std::string::npos);

  http_.allow_anonymous_upload = true;
  auth.set_config(http_);
  EXPECT_FALSE(auth.authenticate(put(), "10.0.0.1:5000").decided());
}

TEST_F(S3SignatureAuthenticatorTest, AReloadReplacesTheKeys) {
  S3SignatureAuthenticator auth(http_, clock_);
  http_.credentials = {{"AKIDNEW", "new-secret", {}}};
  auth.set_config(http_);
  EXPECT_TRUE(auth.authenticate(put("AKIDNEW", "new-secret"), "r").identity.has_value());
  EXPECT_EQ(auth.authenticate(put("AKIDMEDAN", "medan-secret"), "r").refusal->code,
            "InvalidAccessKeyId");
}

}  // namespace
}  // namespace stockwatch

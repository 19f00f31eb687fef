// The daemon's site: which part answers each path, and who may ask, with
// the real routes, S3 gateway and a database in memory (no sockets).
#include "http/site.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "daemon/metrics.hpp"
#include "store/storage.hpp"
#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace bhttp = boost::beast::http;

class SiteTest : public ::testing::Test {
 protected:
  http::Route ask(std::string_view target, bhttp::verb method = bhttp::verb::get,
                  std::vector<std::pair<std::string, std::string>> fields = {}) {
    http::RequestHead h;
    h.method(method);
    h.target(target);
    h.version(11);
    for (const auto& [name, value] : fields) h.set(name, value);
    return site_.route(h, "192.0.2.1:40000");
  }
  static unsigned status(const http::Route& r) { return r.response ? r.response->result_int() : 0; }
  static std::string type(const http::Route& r) {
    return r.response ? std::string(r.response->at(bhttp::field::content_type)) : "";
  }
  static std::string body(const http::Route& r) { return r.response ? r.response->body() : ""; }

  test::TempDir dir_{"site"};
  ManualClock clock_;
  Metrics metrics_;
  std::unique_ptr<Storage> storage_ = Storage::open(":memory:", {}, clock_);
  UploadStore uploads_{dir_.path(), clock_};
  S3Gateway gateway_{S3GatewayOptions{}, uploads_, clock_, &metrics_};
  HttpRoutes routes_{*storage_, metrics_, [] {
                       DaemonHealth h;
                       h.loop_tick = std::chrono::steady_clock::now();
                       h.inbox_watched = true;
                       return h;
                     }};
  Site site_{"tok", "inventory", routes_, gateway_, metrics_, clock_};
};

const std::vector<std::pair<std::string, std::string>> kToken = {{"Authorization", "Bearer tok"}};

TEST_F(SiteTest, HealthIsOpenToAnyoneAndGetOnly) {
  EXPECT_EQ(status(ask("/healthz")), 200u);
  EXPECT_EQ(status(ask("/readyz")), 200u);
  EXPECT_EQ(status(ask("/healthz", bhttp::verb::head)), 200u);
  EXPECT_NE(body(ask("/healthz", bhttp::verb::head)), "");   // the server drops it, not the route
  const auto r = ask("/healthz", bhttp::verb::post);
  EXPECT_EQ(status(r), 405u);
  EXPECT_EQ(r.response->at(bhttp::field::allow), "GET, HEAD");
}

TEST_F(SiteTest, OnlyHealthChecksMayUseTheReserveSlots) {
  const auto reserved = [&](std::string_view target, bhttp::verb method = bhttp::verb::get) {
    http::RequestHead h;
    h.method(method);
    h.target(target);
    h.version(11);
    return site_.reserved(h);
  };
  EXPECT_TRUE(reserved("/healthz"));
  EXPECT_TRUE(reserved("/readyz"));
  EXPECT_TRUE(reserved("/healthz?probe=1"));
  EXPECT_TRUE(reserved("/readyz", bhttp::verb::head));
  EXPECT_FALSE(reserved("/healthz", bhttp::verb::post));
  EXPECT_FALSE(reserved("/healthzz"));
  EXPECT_FALSE(reserved("/metrics"));
  EXPECT_FALSE(reserved("/api/reports"));
  EXPECT_FALSE(reserved("/inventory/healthz"));
}

TEST_F(SiteTest, TheApiChecksTheTokenBeforeAnythingElse) {
  for (const char* path : {"/api/inventory", "/api/nothing", "/api", "/api/", "/metrics"}) {
    SCOPED_TRACE(path);
    const auto r = ask(path);
    EXPECT_EQ(status(r), 401u);
    EXPECT_EQ(r.response->at(bhttp::field::www_authenticate), "Bearer realm=\"stockwatch\"");
    EXPECT_EQ(r.delay, Duration(0));   // no token at all: not a guess
  }
  EXPECT_EQ(status(ask("/api/nothing", bhttp::verb::post)), 401u);
  EXPECT_EQ(status(ask("/api/nothing", bhttp::verb::get, kToken)), 404u);
  EXPECT_EQ(status(ask("/api/inventory", bhttp::verb::get, kToken)), 200u);
  EXPECT_EQ(type(ask("/api/inventory", bhttp::verb::get, kToken)), "application/json");
  EXPECT_EQ(status(ask("/api/inventory", bhttp::verb::delete_, kToken)), 405u);
  EXPECT_EQ(status(ask("/metrics", bhttp::verb::get, kToken)), 200u);
}

TEST_F(SiteTest, WrongTokensWaitLongerEachTime) {
  const std::vector<std::pair<std::string, std::string>> wrong = {{"Authorization", "Bearer x"}};
  EXPECT_EQ(ask("/api/nothing", bhttp::verb::get, wrong).delay, Duration(100));
  EXPECT_EQ(ask("/metrics", bhttp::verb::get, wrong).delay, Duration(200));
  EXPECT_EQ(ask("/api/reports", bhttp::verb::get, wrong).delay, Duration(400));
  // The right token is answered at once, and does not reset the count
  // (behind a proxy it may be someone else's); a quiet spell does.
  EXPECT_EQ(status(ask("/api/reports", bhttp::verb::get, kToken)), 200u);
  EXPECT_EQ(ask("/api/reports", bhttp::verb::get, wrong).delay, Duration(800));
  clock_.advance(std::chrono::minutes(15));
  EXPECT_EQ(ask("/api/reports", bhttp::verb::get, wrong).delay, Duration(100));
}

TEST_F(SiteTest, ABrowserNeverGetsAnS3Error) {
  auto r = ask("/");
  EXPECT_EQ(status(r), 200u);
  EXPECT_EQ(type(r), "text/plain; charset=utf-8");
  EXPECT_NE(body(r).find("s3://inventory/"), std::string::npos);
  r = ask("/favicon.ico");
  EXPECT_EQ(status(r), 404u);
  EXPECT_EQ(type(r), "text/plain; charset=utf-8");
  EXPECT_NE(body(r).find("nothing at /favicon.ico"), std::string::npos);
  // x-amz- in a value is not a presigned URL.
  EXPECT_EQ(type(ask("/search?q=x-amz-date")), "text/plain; charset=utf-8");
  // Without a console, its paths are reserved and say where it would be.
  r = ask("/_console/");
  EXPECT_EQ(status(r), 404u);
  EXPECT_NE(body(r).find("reserved for stockwatch's own pages"), std::string::npos);
  EXPECT_NE(body(r).find("[console] enabled = true"), std::string::npos);
}

TEST_F(SiteTest, TheBucketAndS3ClientsGetS3Answers) {
  // The bucket's mount, even from a plain client.
  auto r = ask("/inventory/a.csv", bhttp::verb::put, {{"Content-Length", "3"}});
  EXPECT_EQ(type(r), "application/xml");
  EXPECT_NE(body(r).find("<Code>AccessDenied</Code>"), std::string::npos);
  EXPECT_EQ(type(ask("/inventory", bhttp::verb::head)), "application/xml");
  // Another bucket, from an S3 client: an error it can read.
  for (const auto& fields : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {{"Authorization", "AWS4-HMAC-SHA256 Credential=x"}},
           {{"x-amz-date", "20261206T000000Z"}}}) {
    r = ask("/other/a.csv", bhttp::verb::get, fields);
    EXPECT_EQ(status(r), 404u);
    EXPECT_NE(body(r).find("<Code>NoSuchBucket</Code>"), std::string::npos);
  }
  EXPECT_NE(body(ask("/other/a.csv", bhttp::verb::put)).find("NoSuchBucket"), std::string::npos);
  EXPECT_NE(body(ask("/other/a.csv?X-Amz-Signature=00")).find("NoSuchBucket"), std::string::npos);
  // ListBuckets.
  r = ask("/", bhttp::verb::get, {{"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}});
  EXPECT_EQ(status(r), 501u);
  EXPECT_EQ(type(r), "application/xml");
}

TEST_F(SiteTest, AReloadMovesTheBucketButNeverOntoOwnPaths) {
  site_.reload("tok", "reports");
  EXPECT_EQ(type(ask("/reports/a.csv", bhttp::verb::put)), "application/xml");
  EXPECT_EQ(type(ask("/inventory/a.csv")), "text/plain; charset=utf-8");
  site_.reload("tok", "api");   // refused with a warning: the bucket stays
  EXPECT_EQ(type(ask("/reports/a.csv", bhttp::verb::put)), "application/xml");
  EXPECT_EQ(status(ask("/api/inventory", bhttp::verb::get, kToken)), 200u);
  site_.reload("", "reports");  // no token: the API is open
  EXPECT_EQ(status(ask("/api/inventory")), 200u);
}

TEST(BucketName, S3RulesAndOwnPaths) {
  for (const char* ok : {"inventory", "reports-2026", "a.b.c", "abc"}) {
    EXPECT_FALSE(bucket_name_problem(ok)) << ok;
  }
  for (const char* bad : {"", "ab", "Inventory", "_console", "in_box", "-abc", "abc.", "a/b",
                          "api", "healthz", "readyz", "metrics"}) {
    EXPECT_TRUE(bucket_name_problem(bad)) << bad;
  }
  EXPECT_NE(bucket_name_problem("metrics")->find("taken by stockwatch's own /metrics"),
            std::string::npos);
}

TEST(SiteStart, RefusesABucketItCannotMount) {
  test::TempDir dir("site");
  ManualClock clock;
  Metrics metrics;
  auto storage = Storage::open(":memory:", {}, clock);
  UploadStore uploads(dir.path(), clock);
  S3Gateway gateway(S3GatewayOptions{}, uploads, clock, &metrics);
  HttpRoutes routes(*storage, metrics, [] { return DaemonHealth{}; });
  EXPECT_THROW(Site("", "api", routes, gateway, metrics, clock), std::invalid_argument);
}

}  // namespace
}  // namespace stockwatch

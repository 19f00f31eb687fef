// The Router: exact routes, prefix mounts, the fallback, and their
// precedence, on request heads built in memory.
#include "http/router.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace stockwatch::http {
namespace {

namespace bhttp = boost::beast::http;

RequestHead head(std::string_view target, bhttp::verb method = bhttp::verb::get) {
  RequestHead h;
  h.method(method);
  h.target(target);
  h.version(11);
  return h;
}

// Each target answers its own name, what it saw as the rest, and the query.
Target named(std::string name) {
  return [name](const Request& req) {
    Route r;
    r.label = name;
    r.response = make_response(200, name + "|" + std::string(req.rest) + "|" +
                                        std::string(req.query));
    return r;
  };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.exact("/healthz", named("healthz"));
    router_.exact("/api", named("api"));
    router_.mount("/api/", named("api"));
    router_.mount("/api/v2/", named("api_v2"));
    router_.mount("/_", named("reserved"));
    router_.exact("/inventory", named("s3"));
    router_.mount("/inventory/", named("s3"));
    router_.fallback(named("fallback"));
  }
  std::string body(std::string_view target, bhttp::verb method = bhttp::verb::get) {
    const auto r = router_.route(head(target, method), "127.0.0.1:1");
    EXPECT_TRUE(r.response);
    return r.response ? r.response->body() : "";
  }
  Router router_;
};

TEST_F(RouterTest, ExactRoutes) {
  EXPECT_EQ(body("/healthz"), "healthz|/healthz|");
  EXPECT_EQ(body("/healthz?verbose=1"), "healthz|/healthz|verbose=1");
  // Exact means exact: neither a longer path nor a trailing slash.
  EXPECT_EQ(body("/healthz/"), "fallback|/healthz/|");
  EXPECT_EQ(body("/healthzz"), "fallback|/healthzz|");
}

TEST_F(RouterTest, MountsSeeTheRestOfThePath) {
  EXPECT_EQ(body("/api/inventory?limit=5"), "api|inventory|limit=5");
  EXPECT_EQ(body("/api/"), "api||");
  EXPECT_EQ(body("/api"), "api|/api|");
  EXPECT_EQ(body("/inventory/medan/2026-11.csv?uploads"), "s3|medan/2026-11.csv|uploads");
  EXPECT_EQ(body("/inventory"), "s3|/inventory|");
}

TEST_F(RouterTest, TheLongestMountWins) {
  EXPECT_EQ(body("/api/v2/things"), "api_v2|things|");
  EXPECT_EQ(body("/api/v2"), "api|v2|");
}

TEST_F(RouterTest, AnExactRouteBeatsAMount) {
  router_.exact("/api/special", named("special"));
  EXPECT_EQ(body("/api/special"), "special|/api/special|");
  EXPECT_EQ(body("/api/special/x"), "api|special/x|");
}

TEST_F(RouterTest, ReservedPathsNeverReachTheBucketOrTheFallback) {
  EXPECT_EQ(body("/_console/"), "reserved|console/|");
  EXPECT_EQ(body("/_"), "reserved||");
  // A bucket whose name merely begins like the mount is another path.
  EXPECT_EQ(body("/inventory2/a.csv"), "fallback|/inventory2/a.csv|");
  EXPECT_EQ(body("/"), "fallback|/|");
}

TEST_F(RouterTest, PathsAreMatchedAsSentNotDecoded) {
  EXPECT_EQ(body("/%61pi/inventory"), "fallback|/%61pi/inventory|");
}

TEST_F(RouterTest, EveryMethodReachesTheSameTarget) {
  // Methods are the target's business (405 or not); HEAD is answered like
  // GET and the server drops the body.
  for (auto m : {bhttp::verb::head, bhttp::verb::put, bhttp::verb::post, bhttp::verb::delete_}) {
    EXPECT_EQ(body("/inventory/a.csv", m), "s3|a.csv|");
  }
}

TEST(Router, WithoutAFallbackAnUnknownPathIs404InWords) {
  Router router;
  router.exact("/healthz", named("healthz"));
  const auto r = router.route(head("/nothing/here"), "127.0.0.1:1");
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.label, "not_found");
  EXPECT_EQ(r.response->result_int(), 404u);
  EXPECT_NE(r.response->body().find("nothing at /nothing/here"), std::string::npos);
  EXPECT_EQ(r.response->at(bhttp::field::content_type), "text/plain; charset=utf-8");
}

TEST(Router, ADuplicateOrARelativePathIsAProgrammingError) {
  Router router;
  router.exact("/a", named("a"));
  router.mount("/b/", named("b"));
  EXPECT_THROW(router.exact("/a", named("a")), std::invalid_argument);
  EXPECT_THROW(router.mount("/b/", named("b")), std::invalid_argument);
  EXPECT_THROW(router.exact("a", named("a")), std::invalid_argument);
  EXPECT_THROW(router.mount("", named("b")), std::invalid_argument);
  // The same text as an exact route and as a mount is fine.
  EXPECT_NO_THROW(router.mount("/a", named("a")));
}

}  // namespace
}  // namespace stockwatch::http

namespace stockwatch::http {
namespace {

TEST(RouterConsole, TheConsoleMountWinsOverTheReservedPrefixAndNeverMeetsABucket) {
  Router r;
  r.mount("/_", named("reserved"));
  r.mount("/_console/", named("console"));
  r.exact("/_console", named("console_redirect"));
  r.mount("/inventory/", named("s3"));
  r.fallback(named("fallback"));
  const auto body = [&](std::string_view target) {
    const auto route = r.route(head(target), "127.0.0.1:1");
    return route.response ? route.response->body() : std::string();
  };
  EXPECT_EQ(body("/_console/"), "console||");
  EXPECT_EQ(body("/_console/reports/7?x=1"), "console|reports/7|x=1");
  EXPECT_EQ(body("/_console"), "console_redirect|/_console|");
  EXPECT_EQ(body("/_consolex"), "reserved|consolex|");
  EXPECT_EQ(body("/%5Fconsole/"), "fallback|/%5Fconsole/|");   // not decoded: not the console
  EXPECT_EQ(body("/inventory/_console/a.csv"), "s3|_console/a.csv|");
}

}  // namespace
}  // namespace stockwatch::http

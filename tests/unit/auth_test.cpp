// Authentication: the bearer token, the chain of authenticators, and the
// throttle that slows down a client guessing tokens, on a manual clock
// (nothing here sleeps).
#include "http/auth.hpp"

#include <gtest/gtest.h>

#include "http/failure_throttle.hpp"
#include "test_util.hpp"

namespace stockwatch::http {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

RequestHead with_authorization(std::string_view value) {
  RequestHead h;
  h.method(bhttp::verb::get);
  h.target("/api/inventory");
  h.version(11);
  if (!value.empty()) h.set(bhttp::field::authorization, value);
  return h;
}

TEST(FailureThrottle, DelaysDoubleFromTheFirstUpToTheCap) {
  ManualClock clock;
  FailureThrottle t(clock, {Duration(100), Duration(1000), Duration(60'000), 100});
  std::vector<long> delays;
  for (int i = 0; i < 6; ++i) delays.push_back(static_cast<long>(t.failed("10.0.0.1").delay.count()));
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1000, 1000}));
  EXPECT_EQ(t.failed("10.0.0.1").failures, 7u);
  // Another address starts from the beginning.
  EXPECT_EQ(t.failed("10.0.0.2").delay, Duration(100));
}

TEST(FailureThrottle, AQuietSpellForgets) {
  ManualClock clock;
  FailureThrottle t(clock, {Duration(100), Duration(5000), Duration(60'000), 100, Duration(0)});
  (void)t.failed("a");
  (void)t.failed("a");
  clock.advance(59s);
  EXPECT_EQ(t.failed("a").failures, 3u);   // still within forget_after of the last one
  clock.advance(60s);
  EXPECT_EQ(t.failed("a").failures, 1u);
  EXPECT_EQ(t.failed("a").delay, Duration(200));
}

TEST(FailureThrottle, FailuresStepDownOnePerQuietSpell) {
  ManualClock clock;
  FailureThrottle t(clock, {Duration(100), Duration(5000), Duration(15 * 60'000), 100, Duration(60'000)});
  for (int i = 0; i < 5; ++i) (void)t.failed("a");   // 100 .. 1600 ms
  clock.advance(59s);
  EXPECT_EQ(t.failed("a").failures, 6u);   // not yet a whole spell
  clock.advance(2min + 30s);               // two whole spells: 6 -> 4, then this one
  const auto v = t.failed("a");
  EXPECT_EQ(v.failures, 5u);
  EXPECT_EQ(v.delay, Duration(1600));
  clock.advance(10min);                    // ten spells: down to zero, not below
  EXPECT_EQ(t.failed("a").failures, 1u);
}

TEST(FailureThrottle, ASuccessDoesNotForgetTheFailures) {
  // Behind a reverse proxy every client has the proxy's address: a scrape
  // with the right token must not reset a guesser's delay.
  ManualClock clock;
  FailureThrottle throttle(clock);
  BearerTokenAuthenticator bearer("s3cret-token", throttle);
  for (int i = 0; i < 5; ++i) {
    (void)bearer.authenticate(with_authorization("Bearer guess"), "127.0.0.1:4000");
  }
  ASSERT_TRUE(bearer.authenticate(with_authorization("Bearer s3cret-token"), "127.0.0.1:4001").identity);
  const auto r = bearer.authenticate(with_authorization("Bearer guess"), "127.0.0.1:4000");
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->delay, Duration(3200));   // the sixth failure, not the first
}

TEST(FailureThrottle, AnIpv6Slash64IsOneClient) {
  ManualClock clock;
  FailureThrottle throttle(clock);
  BearerTokenAuthenticator bearer("s3cret-token", throttle);
  Duration last{0};
  for (const char* remote : {"[2001:db8:1:2::1]:5000", "[2001:db8:1:2::2]:5000",
                             "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:5001"}) {
    const auto r = bearer.authenticate(with_authorization("Bearer guess"), remote);
    ASSERT_TRUE(r.refusal);
    last = r.refusal->delay;
  }
  EXPECT_EQ(last, Duration(400));   // the third failure of one /64
  // The next /64 is someone else.
  const auto other = bearer.authenticate(with_authorization("Bearer guess"), "[2001:db8:1:3::1]:5000");
  ASSERT_TRUE(other.refusal);
  EXPECT_EQ(other.refusal->delay, Duration(100));
}

TEST(FailureThrottle, RemembersAtMostMaxClients) {
  ManualClock clock;
  FailureThrottle t(clock, {Duration(100), Duration(5000), Duration(60'000), 3});
  for (const char* a : {"a", "b", "c"}) {
    (void)t.failed(a);
    clock.advance(1s);
  }
  (void)t.failed("a");   // "a" is now the most recent
  clock.advance(1s);
  (void)t.failed("d");   // evicts "b", the one that failed longest ago
  EXPECT_EQ(t.clients(), 3u);
  EXPECT_EQ(t.failed("a").failures, 3u);
  EXPECT_EQ(t.failed("b").failures, 1u);
}

TEST(ThrottleGroup, Ipv4AsItIsIpv6ByItsSlash64) {
  EXPECT_EQ(throttle_group("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(throttle_group("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(throttle_group("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  EXPECT_EQ(throttle_group("::1"), "::/64");
  EXPECT_EQ(throttle_group("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(throttle_group("not-an-address"), "not-an-address");
}

TEST(ClientAddress, DropsThePort) {
  EXPECT_EQ(client_address("192.0.2.7:51234"), "192.0.2.7");
  EXPECT_EQ(client_address("[2001:db8::1]:443"), "2001:db8::1");
}

class BearerTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  FailureThrottle throttle_{clock_};
  BearerTokenAuthenticator bearer_{"s3cret-token", throttle_};
};

TEST_F(BearerTest, TheRightTokenIsTheOwner) {
  const auto r = bearer_.authenticate(with_authorization("Bearer s3cret-token"), "10.0.0.1:5");
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->role, Role::kOwner);
  EXPECT_TRUE(r.identity->stores.empty());
  EXPECT_FALSE(r.refusal);
  // The scheme is case-insensitive (RFC 9110), the token is not.
  EXPECT_TRUE(bearer_.authenticate(with_authorization("bearer s3cret-token"), "10.0.0.1:5").identity);
  EXPECT_TRUE(bearer_.authenticate(with_authorization("Bearer S3CRET-TOKEN"), "10.0.0.1:5").refusal);
}

TEST_F(BearerTest, OtherSchemesAndNoHeaderAreNotItsBusiness) {
  EXPECT_FALSE(bearer_.authenticate(with_authorization(""), "10.0.0.1:5").decided());
  EXPECT_FALSE(
      bearer_.authenticate(with_authorization("AWS4-HMAC-SHA256 Credential=x"), "10.0.0.1:5").decided());
  EXPECT_EQ(throttle_.clients(), 0u);   // not a guess: not counted
}

TEST_F(BearerTest, WrongTokensAreSlowedDownLoggedAndNeverEchoed) {
  test::LogCapture log;
  std::vector<Duration> delays;
  for (int i = 0; i < 4; ++i) {
    const auto r = bearer_.authenticate(with_authorization("Bearer guess-number-" + std::to_string(i)),
                                        "10.0.0.9:" + std::to_string(4000 + i));
    ASSERT_TRUE(r.refusal);
    EXPECT_EQ(r.refusal->status, 401u);
    EXPECT_EQ(r.refusal->challenge, "Bearer realm=\"stockwatch\"");
    EXPECT_EQ(r.refusal->message.find("guess"), std::string::npos);
    delays.push_back(r.refusal->delay);
  }
  // Per address, whatever the port.
  EXPECT_EQ(delays, (std::vector<Duration>{Duration(100), Duration(200), Duration(400), Duration(800)}));
  const std::string text = log.text();
  EXPECT_NE(text.find("warning http 10.0.0.9:4000: GET /api/inventory refused: wrong bearer "
                      "token (1 recent from 10.0.0.9;"),
            std::string::npos)
      << text;
  // A flood is logged at 1, 2, 4, 8, ... failures; the rest at debug level.
  EXPECT_NE(text.find("debug http 10.0.0.9:4002: GET"), std::string::npos) << text;
  EXPECT_NE(text.find("(4 recent from 10.0.0.9; answered after 800 ms)"), std::string::npos);
  EXPECT_EQ(text.find("guess-number"), std::string::npos);
  // The right token from that address is let in at once, and keeps the
  // record (ASuccessDoesNotForgetTheFailures).
  EXPECT_TRUE(bearer_.authenticate(with_authorization("Bearer s3cret-token"), "10.0.0.9:1").identity);
  EXPECT_EQ(throttle_.clients(), 1u);
}

TEST_F(BearerTest, WithoutATokenEveryoneMayRead) {
  BearerTokenAuthenticator open("", throttle_);
  const auto r = open.authenticate(with_authorization(""), "10.0.0.1:5");
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->role, Role::kReader);
}

// An authenticator that knows one header value.
class KnowsOne final : public Authenticator {
 public:
  explicit KnowsOne(std::string value) : value_(std::move(value)) {}
  AuthResult authenticate(const RequestHead& head, const std::string&) override {
    if (head[bhttp::field::authorization] != value_) return {};
    return {Identity{value_, Role::kUploader, {"Medan"}, {}}, {}};
  }

 private:
  std::string value_;
};

TEST_F(BearerTest, TheChainTakesTheFirstThatDecides) {
  KnowsOne session("Session abc");
  AuthChain chain(Refusal{401, "say who you are", "Bearer", Duration(0), {}});
  chain.add(bearer_);
  chain.add(session);
  auto r = chain.authenticate(with_authorization("Session abc"), "10.0.0.1:5");
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->stores, std::vector<std::string>{"Medan"});
  r = chain.authenticate(with_authorization("Bearer s3cret-token"), "10.0.0.1:5");
  ASSERT_TRUE(r.identity);
  EXPECT_EQ(r.identity->role, Role::kOwner);
  r = chain.authenticate(with_authorization("Bearer nope"), "10.0.0.1:5");
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->message, "the bearer token is wrong");
  r = chain.authenticate(with_authorization(""), "10.0.0.1:5");
  ASSERT_TRUE(r.refusal);
  EXPECT_EQ(r.refusal->message, "say who you are");
  EXPECT_EQ(r.refusal->delay, Duration(0));
}

}  // namespace
}  // namespace stockwatch::http

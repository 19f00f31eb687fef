// Console accounts and sessions on both backends, a real SQLite file and a
// real PostgreSQL 15 (pg_test_server.hpp): Argon2id hashes,
// session ids stored hashed, idle and absolute expiry, CSRF tokens, the
// one-time setup link, and sign-outs when a password changes.
#include <gtest/gtest.h>

#include "crypto/password.hpp"
#include "http/console/sessions.hpp"
#include "store/account_store.hpp"
#include "store/storage.hpp"
#include "pg_test_server.hpp"
#include "test_util.hpp"

namespace stockwatch::console {
namespace {

using namespace std::chrono_literals;

// The parameter names the backend: "sqlite" or "postgresql".
class ConsoleSessionsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      auto& server = test::PgTestServer::instance();
      location_ = server.url(server.fresh_database());
    } else {
      location_ = dir_ / "db.sqlite";
    }
    storage_ = Storage::open(location_, {}, clock_);
    accounts_ = AccountStore::open(location_, {}, clock_);
  }
  Account add(const std::string& name, AccountRole role, std::vector<std::string> stores = {}) {
    Account a;
    a.name = name;
    a.role = role;
    a.stores = std::move(stores);
    a.password_hash = *hash_password("correct horse battery");
    auto id = accounts_->add_account(a);
    EXPECT_TRUE(id.ok());
    a.id = *id;
    return a;
  }

  test::TempDir dir_{"console"};
  std::filesystem::path location_;
  ManualClock clock_;
  std::unique_ptr<Storage> storage_;
  std::unique_ptr<AccountStore> accounts_;
};

TEST(ConsolePassword, Argon2idHashesAreSaltedAndVerify) {
  auto a = hash_password("correct horse battery");
  auto b = hash_password("correct horse battery");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$argon2id$", 0), 0u) << *a;
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(verify_password("correct horse battery", *a));
  EXPECT_FALSE(verify_password("correct horse batterY", *a));
  EXPECT_FALSE(verify_password("anything", "not a hash"));
  EXPECT_FALSE(verify_password("anything", ""));
  EXPECT_EQ(random_token(32).size(), 64u);
  EXPECT_NE(random_token(32), random_token(32));
}

TEST_P(ConsoleSessionsTest, AccountsAreAddedOnceListedAndRemoved) {
  add("owner", AccountRole::kOwner);
  add("medan", AccountRole::kManager, {"Medan", "Makassar"});
  Account again;
  again.name = "owner";
  again.password_hash = "x";
  EXPECT_EQ(accounts_->add_account(again).error().code(), ErrorCode::kInvalidInput);
  auto all = accounts_->accounts();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "medan");
  EXPECT_EQ((*all)[0].stores, (std::vector<std::string>{"Medan", "Makassar"}));
  EXPECT_TRUE((*all)[0].sees("Medan"));
  EXPECT_FALSE((*all)[0].sees("Jakarta"));
  EXPECT_TRUE((*all)[1].sees("Jakarta"));
  EXPECT_EQ(*accounts_->owner_count(), 1);
  EXPECT_TRUE(*accounts_->remove_account("medan"));
  EXPECT_FALSE(*accounts_->remove_account("medan"));
}

TEST_P(ConsoleSessionsTest, ASessionIsStoredHashedAndEndsWhenIdleOrOld) {
  const auto owner = add("owner", AccountRole::kOwner);
  Sessions sessions(*accounts_, clock_, {30min, 8h});
  auto started = sessions.start(owner);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->cookie_value.size(), 64u);
  EXPECT_EQ(started->record.id_digest, token_digest(started->cookie_value));
  EXPECT_NE(started->record.id_digest, started->cookie_value);
  // The database knows only the digest.
  EXPECT_FALSE(accounts_->session(started->cookie_value)->has_value());
  auto seen = sessions.check(started->cookie_value);
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->account.name, "owner");
  // Used every 20 minutes, it lives on until the absolute limit.
  for (int i = 0; i < 23; ++i) {
    clock_.advance(20min);
    ASSERT_TRUE(sessions.check(started->cookie_value)->has_value()) << i;
  }
  clock_.advance(20min);   // 8 h after sign-in
  EXPECT_FALSE(sessions.check(started->cookie_value)->has_value());
  // Idle for 30 minutes: gone.
  auto next = sessions.start(owner);
  clock_.advance(30min);
  EXPECT_FALSE(sessions.check(next->cookie_value)->has_value());
  EXPECT_FALSE(sessions.check("not a session")->has_value());
}

TEST_P(ConsoleSessionsTest, EachSignInHasItsOwnIdAndCsrfTokenAndSignOutEndsIt) {
  const auto owner = add("owner", AccountRole::kOwner);
  Sessions sessions(*accounts_, clock_, {});
  auto a = sessions.start(owner);
  auto b = sessions.start(owner);
  EXPECT_NE(a->cookie_value, b->cookie_value);
  EXPECT_NE(a->record.csrf, b->record.csrf);
  EXPECT_TRUE(Sessions::csrf_ok(a->record, a->record.csrf));
  EXPECT_FALSE(Sessions::csrf_ok(a->record, b->record.csrf));
  EXPECT_FALSE(Sessions::csrf_ok(a->record, ""));
  ASSERT_TRUE(sessions.end(a->cookie_value).ok());
  EXPECT_FALSE(sessions.check(a->cookie_value)->has_value());
  EXPECT_TRUE(sessions.check(b->cookie_value)->has_value());
}

TEST_P(ConsoleSessionsTest, ANewPasswordOrARemovedAccountEndsItsSessions) {
  const auto owner = add("owner", AccountRole::kOwner);
  const auto medan = add("medan", AccountRole::kManager, {"Medan"});
  Sessions sessions(*accounts_, clock_, {});
  auto o = sessions.start(owner);
  auto m = sessions.start(medan);
  ASSERT_TRUE(*accounts_->set_password("owner", *hash_password("another long password")));
  EXPECT_FALSE(sessions.check(o->cookie_value)->has_value());
  EXPECT_TRUE(sessions.check(m->cookie_value)->has_value());
  ASSERT_TRUE(*accounts_->remove_account("medan"));
  EXPECT_FALSE(sessions.check(m->cookie_value)->has_value());
}

TEST_P(ConsoleSessionsTest, TheCookieIsHttpOnlyStrictAndSecureBehindTls) {
  EXPECT_EQ(Sessions::cookie("abc", false), "stockwatch_session=abc; Path=/; HttpOnly; SameSite=Strict");
  EXPECT_EQ(Sessions::cookie("abc", true),
            "stockwatch_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure");
  EXPECT_NE(Sessions::clear_cookie(false).find("Max-Age=0"), std::string::npos);
}

TEST_P(ConsoleSessionsTest, TheSetupLinkCreatesOneOwnerOnceBeforeItExpires) {
  Account owner;
  owner.name = "owner";
  owner.role = AccountRole::kOwner;
  owner.password_hash = *hash_password("correct horse battery");
  const std::string token = random_token(32);
  ASSERT_TRUE(accounts_->set_setup_token(token_digest(token), clock_.now() + 1h).ok());
  EXPECT_FALSE(accounts_->redeem_setup_token(token_digest("wrong"), clock_.now(), owner)->has_value());
  auto id = accounts_->redeem_setup_token(token_digest(token), clock_.now(), owner);
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ(*accounts_->owner_count(), 1);
  // Spent: a second use creates nothing.
  owner.name = "second";
  EXPECT_FALSE(accounts_->redeem_setup_token(token_digest(token), clock_.now(), owner)->has_value());
  EXPECT_EQ(*accounts_->owner_count(), 1);
}

TEST_P(ConsoleSessionsTest, AnExpiredSetupLinkCreatesNothing) {
  Account owner;
  owner.name = "owner";
  owner.role = AccountRole::kOwner;
  owner.password_hash = "x";
  const std::string token = random_token(32);
  ASSERT_TRUE(accounts_->set_setup_token(token_digest(token), clock_.now() + 1h).ok());
  clock_.advance(61min);
  EXPECT_FALSE(accounts_->redeem_setup_token(token_digest(token), clock_.now(), owner)->has_value());
  EXPECT_EQ(*accounts_->owner_count(), 0);
}

TEST_P(ConsoleSessionsTest, FailedSignInsAreKeptForTheOwnerNewestFirst) {
  ASSERT_TRUE(accounts_->record_sign_in_failure({"owner", "192.0.2.7", clock_.now()}).ok());
  clock_.advance(1s);
  ASSERT_TRUE(accounts_->record_sign_in_failure({"medan", "192.0.2.8", clock_.now()}).ok());
  auto recent = accounts_->recent_sign_in_failures(10);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ((*recent)[0].name, "medan");
  EXPECT_EQ((*recent)[1].address, "192.0.2.7");
}

// Two nodes on one database (two connections): a session begun on one is
// good on the other, and the setup link makes one owner only.
TEST_P(ConsoleSessionsTest, TwoConnectionsShareAccountsSessionsAndTheSetupLink) {
  auto other = AccountStore::open(location_, {}, clock_);
  const auto owner = add("owner", AccountRole::kOwner);
  Sessions here(*accounts_, clock_, {});
  Sessions there(*other, clock_, {});
  auto started = here.start(owner);
  ASSERT_TRUE(started.ok());
  auto seen = there.check(started->cookie_value);
  ASSERT_TRUE(seen.ok() && seen->has_value());
  EXPECT_EQ((*seen)->account.name, "owner");
  ASSERT_TRUE(there.end(started->cookie_value).ok());
  EXPECT_FALSE(here.check(started->cookie_value)->has_value());

  ASSERT_TRUE(*accounts_->remove_account("owner"));
  Account first;
  first.name = "first";
  first.role = AccountRole::kOwner;
  first.password_hash = "x";
  const std::string token = random_token(32);
  ASSERT_TRUE(accounts_->set_setup_token(token_digest(token), clock_.now() + 1h).ok());
  auto a = other->redeem_setup_token(token_digest(token), clock_.now(), first);
  first.name = "second";
  auto b = accounts_->redeem_setup_token(token_digest(token), clock_.now(), first);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->has_value());
  EXPECT_FALSE(b->has_value());
  EXPECT_EQ(*accounts_->owner_count(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, ConsoleSessionsTest,
                         ::testing::Values(std::string("sqlite"), std::string("postgresql")),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace stockwatch::console

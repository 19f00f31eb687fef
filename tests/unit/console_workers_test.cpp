// The console's several workers ([console] workers), on a real SQLite file:
// every page handed to them is answered, whichever worker takes it, and the
// failed sign-ins' delays hold however many workers there are (signing in
// always goes to the first worker, which alone keeps them), and the
// inventory sorted by count or by last change, whose first rows the workers
// keep together, pages the same as the database's own order and shows a
// newly loaded report at once.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <future>
#include <list>
#include <regex>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "daemon/metrics.hpp"
#include "http/console/console.hpp"
#include "http/console/sessions.hpp"
#include "storage_test_util.hpp"
#include "store/account_store.hpp"
#include "store/storage.hpp"
#include "test_util.hpp"

namespace stockwatch::console {
namespace {

namespace bhttp = boost::beast::http;

class ConsoleWorkers : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.storage.database = dir_ / "db.sqlite";
    config_.inbox.path = dir_ / "inbox";
    config_.console.workers = 3;
    console_.emplace(
        config_, clock_, metrics_, [] { return DaemonHealth{}; }, http_loop_.get_executor(),
        [](const std::string&, std::string_view, const std::string&, const std::string&) {
          return std::optional<std::string>();
        });
    console_->start("http://127.0.0.1:1");
  }
  void TearDown() override { console_->stop(); }

  // Hands one request to the console as the HTTP server does: the route,
  // then its deferred part with the body; the answer arrives in the future.
  std::future<http::Response> send(bhttp::verb method, const std::string& path,
                                   std::string body = "", const std::string& cookie = "") {
    http::RequestHead head;
    head.method(method);
    head.target(path);
    if (!cookie.empty()) head.set(bhttp::field::cookie, std::string(kSessionCookie) + "=" + cookie);
    head.set(bhttp::field::host, "127.0.0.1:1");
    head.set(bhttp::field::origin, "http://127.0.0.1:1");
    if (method == bhttp::verb::post) {
      head.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    }
    heads_.push_back(head);
    const auto q = path.find('?');
    const std::string target = path.substr(0, q);
    const std::string query = q == std::string::npos ? "" : path.substr(q + 1);
    const http::Request request{heads_.back(), remote_, target, query, target};
    http::Route r = console_->route(request);
    auto promise = std::make_shared<std::promise<http::Response>>();
    auto answer = promise->get_future();
    EXPECT_TRUE(r.deferred) << path;
    r.deferred(std::move(body), [promise](http::Response res) { promise->set_value(std::move(res)); });
    return answer;
  }

  test::TempDir dir_{"console-workers"};
  Config config_;
  ManualClock clock_;
  Metrics metrics_;
  boost::asio::io_context http_loop_;   // the HTTP thread's loop: nothing runs on it here
  std::optional<Console> console_;
  std::list<http::RequestHead> heads_;
  const std::string remote_ = "127.0.0.1:40000";
};

TEST_F(ConsoleWorkers, EveryPageHandedToTheWorkersIsAnswered) {
  std::vector<std::future<http::Response>> answers;
  for (int i = 0; i < 30; ++i) {
    answers.push_back(send(bhttp::verb::get, i % 2 ? "/_console/sign-in" : "/_console/inventory"));
  }
  for (int i = 0; i < 30; ++i) {
    const http::Response res = answers[static_cast<std::size_t>(i)].get();
    if (i % 2) {
      EXPECT_EQ(res.result_int(), 200u);
    } else {
      EXPECT_EQ(res.result_int(), 303u);   // not signed in: to the sign-in page
    }
  }
}

TEST_F(ConsoleWorkers, AFailedSignInDelaysTheNextOneWhileTheFirstWorkerIsStillBusy) {
  // The first attempt keeps its worker busy checking the password; the
  // second, sent meanwhile, would go to an idle worker if sign-ins were
  // spread, and would not know of the first failure.
  auto first = send(bhttp::verb::post, "/_console/sign-in", "name=nobody&password=wrong-password-1");
  auto second = send(bhttp::verb::post, "/_console/sign-in", "name=nobody&password=wrong-password-2");
  EXPECT_EQ(first.get().result_int(), 401u);
  EXPECT_EQ(second.get().result_int(), 429u);
}

// An owner's session cookie, made directly in the accounts' database.
std::string owner_cookie(const Config& config, const Clock& clock) {
  auto accounts = AccountStore::open(config.storage.location(), {}, clock);
  Account owner;
  owner.name = "owner";
  owner.role = AccountRole::kOwner;
  owner.password_hash = "not used";
  auto id = accounts->add_account(owner);
  EXPECT_TRUE(id.ok());
  owner.id = id.ok() ? *id : 0;
  Sessions sessions(*accounts, clock, SessionPolicy{});
  auto started = sessions.start(owner);
  EXPECT_TRUE(started.ok());
  return started.ok() ? started->cookie_value : "";
}

// The (store, item) of every row a page lists, in order.
std::vector<std::pair<std::string, std::string>> listed(const std::string& page) {
  static const std::regex link(R"re(href="/_console/item\?store=([A-Za-z0-9-]+)&amp;item=([A-Za-z0-9-]+)")re");
  std::vector<std::pair<std::string, std::string>> out;
  for (std::sregex_iterator it(page.begin(), page.end(), link), end; it != end; ++it) {
    std::pair<std::string, std::string> row{(*it)[1], (*it)[2]};
    if (out.empty() || out.back() != row) out.push_back(std::move(row));
  }
  return out;
}

std::optional<std::string> next_page(const std::string& page) {
  static const std::regex link(R"re(href="(/_console/inventory\?[^"]*after_store=[^"]*)")re");
  std::smatch m;
  if (!std::regex_search(page, m, link)) return std::nullopt;
  return std::regex_replace(m[1].str(), std::regex("&amp;"), "&");
}

TEST_F(ConsoleWorkers, SortedPagesFollowTheDatabasesOrderPastTheKeptRowsAndAfterALoad) {
  // 1,500 rows (more than the 1,000 kept): counts with many ties.
  auto storage = Storage::open(config_.storage.location(), {}, clock_);
  std::vector<test::Row> rows;
  for (int s = 0; s < 5; ++s) {
    for (int i = 0; i < 300; ++i) {
      rows.push_back({"Gudang-" + std::to_string(s), "Kopi-" + std::to_string(1000 + i),
                      (i * 7 + s) % 23});
    }
  }
  test::load_rows(*storage, clock_, rows, "a.csv", "sha-a");
  const std::string cookie = owner_cookie(config_, clock_);
  // Every store (1,500 rows: more than kept), and one store (300: all kept).
  for (const std::string view : {"count", "changed", "count&store=Gudang-2"}) {
    const std::string sort = view.substr(0, view.find('&'));
    const bool one_store = view != sort;
    // What the database lists, a page of 100 at a time.
    std::vector<std::pair<std::string, std::string>> expected;
    InventoryQuery q;
    q.order = sort == "count" ? InventoryOrder::kCount : InventoryOrder::kChanged;
    if (one_store) q.store = "Gudang-2";
    q.limit = 100;
    while (true) {
      auto page = storage->list_inventory(q);
      ASSERT_TRUE(page.ok());
      for (const auto& r : *page) expected.emplace_back(r.store, r.item);
      if (page->size() < 100) break;
      q.after = std::make_pair(page->back().store, page->back().item);
      q.after_value = q.order == InventoryOrder::kCount ? page->back().count
                                                        : to_unix_ms(page->back().updated_at);
    }
    ASSERT_EQ(expected.size(), one_store ? 300u : 1500u);
    // What the console lists, following its "next" links (pages 11 to 15
    // are past the kept rows), twice: the second time from memory.
    for (int round = 0; round < 2; ++round) {
      std::vector<std::pair<std::string, std::string>> seen;
      std::optional<std::string> path = "/_console/inventory?sort=" + view;
      int pages = 0;
      while (path && pages < 30) {
        const http::Response res = send(bhttp::verb::get, *path, "", cookie).get();
        ASSERT_EQ(res.result_int(), 200u) << *path;
        const auto found = listed(res.body());
        seen.insert(seen.end(), found.begin(), found.end());
        path = next_page(res.body());
        ++pages;
      }
      EXPECT_EQ(pages, one_store ? 3 : 15) << view;
      EXPECT_EQ(seen, expected) << view << " round " << round;
    }
  }
  // A newly loaded report shows at once: its item at 0 comes first by count.
  clock_.advance(std::chrono::seconds(5));
  test::load_rows(*storage, clock_, {{"Gudang-4", "Kopi-1299", 0}}, "b.csv", "sha-b");
  const auto by_count = listed(send(bhttp::verb::get, "/_console/inventory?sort=count", "", cookie).get().body());
  const auto by_change = listed(send(bhttp::verb::get, "/_console/inventory?sort=changed", "", cookie).get().body());
  ASSERT_FALSE(by_count.empty());
  ASSERT_FALSE(by_change.empty());
  EXPECT_EQ(by_change.front(), std::make_pair(std::string("Gudang-4"), std::string("Kopi-1299")));
  EXPECT_NE(std::find(by_count.begin(), by_count.end(),
                      std::make_pair(std::string("Gudang-4"), std::string("Kopi-1299"))),
            by_count.end());
}

}  // namespace
}  // namespace stockwatch::console

// The console's several workers ([console] workers), on a real SQLite file:
// every page handed to them is answered, whichever worker takes it, and the
// failed sign-ins' delays hold however many workers there are (signing in
// always goes to the first worker, which alone keeps them).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <future>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "daemon/metrics.hpp"
#include "http/console/console.hpp"
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
                                   std::string body = "") {
    http::RequestHead head;
    head.method(method);
    head.target(path);
    head.set(bhttp::field::host, "127.0.0.1:1");
    head.set(bhttp::field::origin, "http://127.0.0.1:1");
    if (method == bhttp::verb::post) {
      head.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    }
    heads_.push_back(head);
    const http::Request request{heads_.back(), remote_, path, "", path};
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

}  // namespace
}  // namespace stockwatch::console

// The console's settings across a reload (SIGHUP), on a real SQLite file:
// route() runs on the HTTP thread, reload() is called from the event loop's
// thread, and the console's worker is a third. The size limit of an upload
// form is read by route() itself, so a reload must hand it over in a way
// the HTTP thread may read (under ThreadSanitizer, `make test-tsan`, a
// write on the worker that route() reads is reported as a data race).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>
#include <thread>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "daemon/metrics.hpp"
#include "http/console/console.hpp"
#include "test_util.hpp"

namespace stockwatch::console {
namespace {

namespace bhttp = boost::beast::http;

TEST(ConsoleReload, NewUploadLimitAppliesToTheNextRequestOnTheHttpThread) {
  test::TempDir dir{"console-reload"};
  Config config;
  config.storage.database = dir / "db.sqlite";
  config.inbox.path = dir / "inbox";
  config.console.max_upload_bytes = 1000;
  ManualClock clock;
  Metrics metrics;
  boost::asio::io_context http_loop;   // the HTTP thread's loop: nothing runs on it here
  Console console(
      config, clock, metrics, [] { return DaemonHealth{}; }, http_loop.get_executor(),
      [](const std::string&, std::string_view, const std::string&, const std::string&) {
        return std::optional<std::string>();
      });
  console.start("http://127.0.0.1:1");

  http::RequestHead head;
  head.method(bhttp::verb::post);
  head.target("/_console/upload");
  const std::string remote = "127.0.0.1:40000";
  const http::Request request{head, remote, "/_console/upload", "", "/_console/upload"};
  EXPECT_EQ(console.route(request).body_limit, 1000u);

  ConsoleConfig next = config.console;
  next.max_upload_bytes = 2000;
  // SIGHUP is handled on the event loop's thread, not the HTTP thread.
  std::thread loop([&] { console.reload(next); });
  loop.join();
  EXPECT_EQ(console.route(request).body_limit, 2000u);
  console.stop();
}

}  // namespace
}  // namespace stockwatch::console

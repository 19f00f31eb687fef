// guarded(): an exception in a handler given to Asio is logged, and the
// event loop and the worker strands go on running what comes next.
#include "base/guard.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <stdexcept>

#include "test_util.hpp"

namespace stockwatch {
namespace {

namespace asio = boost::asio;

TEST(Guard, AThrowingHandlerOnTheLoopIsLoggedAndTheLoopGoesOn) {
  test::LogCapture log;
  asio::io_context ioc;
  bool after = false;
  asio::post(ioc, guarded("report done", [] { throw std::runtime_error("no such statement"); }));
  asio::post(ioc, guarded("next", [&] { after = true; }));
  EXPECT_NO_THROW(ioc.run());
  EXPECT_TRUE(after);
  EXPECT_NE(log.text().find("error report done: unexpected error, carrying on: no such statement"),
            std::string::npos)
      << log.text();
}

TEST(Guard, AThrowingTimerHandlerGetsItsArguments) {
  test::LogCapture log;
  asio::io_context ioc;
  asio::steady_timer timer(ioc);
  timer.expires_after(std::chrono::seconds(0));
  bool called = false;
  timer.async_wait(guarded("inbox timer", [&](const boost::system::error_code& ec) {
    called = !ec;
    throw 42;   // not even a std::exception
  }));
  EXPECT_NO_THROW(ioc.run());
  EXPECT_TRUE(called);
  EXPECT_NE(log.text().find("inbox timer: unexpected error of unknown type"), std::string::npos)
      << log.text();
}

TEST(Guard, AThrowingHandlerOnAWorkerStrandLeavesTheStrandRunning) {
  test::LogCapture log;
  asio::thread_pool workers(2);
  auto strand = asio::make_strand(workers);
  std::atomic<int> ran{0};
  for (int i = 0; i < 3; ++i) {
    asio::post(strand, guarded("checker", [&] {
      ++ran;
      throw std::runtime_error("database is locked");
    }));
  }
  asio::post(strand, guarded("mailer", [&] { ++ran; }));
  workers.join();
  EXPECT_EQ(ran, 4);
  EXPECT_NE(log.text().find("checker: unexpected error, carrying on: database is locked"),
            std::string::npos);
}

}  // namespace
}  // namespace stockwatch

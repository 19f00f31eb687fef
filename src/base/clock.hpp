// The clock every stage reads time from.
//
// Contract: stages never call std::chrono::system_clock directly; they take a
// `Clock&` so tests can step time without sleeping. `now()` must be safe to
// call from any thread. The Clock must outlive every object that uses it.
#pragma once

#include <atomic>
#include <chrono>
#include <ctime>
#include <string>

namespace stockwatch {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual TimePoint now() const = 0;
};

// Wall-clock time.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint(std::chrono::seconds(1'780'000'000)))
      : ms_(std::chrono::duration_cast<std::chrono::milliseconds>(start.time_since_epoch()).count()) {}
  [[nodiscard]] TimePoint now() const override {
    return TimePoint(std::chrono::milliseconds(ms_.load()));
  }
  void advance(Duration d) { ms_ += d.count(); }
  void set(TimePoint t) {
    ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }

 private:
  std::atomic<long long> ms_;
};

// Milliseconds since the Unix epoch, the unit stored in the database.
inline long long to_unix_ms(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint from_unix_ms(long long ms) { return TimePoint(std::chrono::milliseconds(ms)); }

// `t` in UTC, written with strftime's `format` ("%Y-%m-%dT%H:%M:%SZ").
inline std::string format_utc(TimePoint t, const char* format) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace stockwatch

// Console sessions: what a sign-in creates, what each request checks, and
// the cookie that carries it.
//
// Contract:
// - A session id is 256 random bits (64 hex digits), sent only in the
//   cookie, stored only as its SHA-256 (AccountStore). Each sign-in starts
//   a new session with a new id, never reusing one the browser brought.
// - check() accepts a session only while it is younger than max_age and
//   was used within `idle`; an expired session is removed. It refreshes
//   the last use at most once a minute (one write, not one per request).
// - Each session has its own CSRF token (128 random bits), which every
//   form of the session carries and csrf_ok() compares in constant time.
// - The cookie is HttpOnly, SameSite=Strict, Path=/, and Secure when the
//   console is behind TLS; it has no Max-Age (it ends with the browser or
//   the session, whichever is first).
// - Not thread-safe: use from the thread that owns the AccountStore.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/account_store.hpp"

namespace stockwatch::console {

inline constexpr std::string_view kSessionCookie = "stockwatch_session";

struct SessionPolicy {
  Duration idle = std::chrono::hours(2);
  Duration max_age = std::chrono::hours(24 * 7);
};

struct SignedIn {
  Account account;
  SessionRecord session;
};

class Sessions {
 public:
  Sessions(AccountStore& store, const Clock& clock, SessionPolicy policy)
      : store_(store), clock_(clock), policy_(policy) {}
  void set_policy(SessionPolicy policy) { policy_ = policy; }

  struct Started {
    std::string cookie_value;   // the session id, for the cookie only
    SessionRecord record;
  };
  [[nodiscard]] Result<Started> start(const Account& account);
  // The account and session behind a cookie's value, or nullopt when there
  // is none, it expired, or its account is gone.
  [[nodiscard]] Result<std::optional<SignedIn>> check(std::string_view cookie_value);
  [[nodiscard]] Status end(std::string_view cookie_value);
  // Removes every expired session (housekeeping); returns how many.
  [[nodiscard]] Result<std::int64_t> sweep();

  [[nodiscard]] static bool csrf_ok(const SessionRecord& session, std::string_view presented);
  // Set-Cookie values: the session, and one that clears it.
  [[nodiscard]] static std::string cookie(std::string_view value, bool secure);
  [[nodiscard]] static std::string clear_cookie(bool secure);

 private:
  AccountStore& store_;
  const Clock& clock_;
  SessionPolicy policy_;
};

}  // namespace stockwatch::console

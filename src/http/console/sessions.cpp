#include "http/console/sessions.hpp"

#include "crypto/digest.hpp"
#include "crypto/password.hpp"

namespace stockwatch::console {

namespace {
bool plausible_id(std::string_view v) {
  if (v.size() != 64) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

Result<Sessions::Started> Sessions::start(const Account& account) {
  Started s;
  s.cookie_value = random_token(32);
  s.record.id_digest = token_digest(s.cookie_value);
  s.record.account_id = account.id;
  s.record.csrf = random_token(16);
  s.record.created_at = clock_.now();
  s.record.last_seen_at = s.record.created_at;
  if (auto st = store_.add_session(s.record); !st.ok()) return st.error();
  return s;
}

Result<std::optional<SignedIn>> Sessions::check(std::string_view cookie_value) {
  if (!plausible_id(cookie_value)) return std::optional<SignedIn>();
  const auto digest = token_digest(cookie_value);
  auto found = store_.session(digest);
  if (!found) return found.error();
  if (!*found) return std::optional<SignedIn>();
  auto session = std::move(**found);
  const auto now = clock_.now();
  if (now - session.created_at >= policy_.max_age || now - session.last_seen_at >= policy_.idle) {
    (void)store_.remove_session(digest);
    return std::optional<SignedIn>();
  }
  auto account = store_.account_by_id(session.account_id);
  if (!account) return account.error();
  if (!*account) {
    (void)store_.remove_session(digest);
    return std::optional<SignedIn>();
  }
  if (now - session.last_seen_at >= std::chrono::minutes(1)) {
    if (auto st = store_.touch_session(digest, now); !st.ok()) return st.error();
    session.last_seen_at = now;
  }
  return std::optional<SignedIn>(SignedIn{std::move(**account), std::move(session)});
}

Status Sessions::end(std::string_view cookie_value) {
  if (!plausible_id(cookie_value)) return {};
  return store_.remove_session(token_digest(cookie_value));
}

Result<std::int64_t> Sessions::sweep() {
  const auto now = clock_.now();
  return store_.remove_expired_sessions(now - policy_.max_age, now - policy_.idle);
}

bool Sessions::csrf_ok(const SessionRecord& session, std::string_view presented) {
  return !session.csrf.empty() && constant_time_equal(session.csrf, presented);
}

std::string Sessions::cookie(std::string_view value, bool secure) {
  return std::string(kSessionCookie) + "=" + std::string(value) +
         "; Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
}

std::string Sessions::clear_cookie(bool secure) {
  return std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
         (secure ? "; Secure" : "");
}

}  // namespace stockwatch::console

// The web console's accounts, sessions, first-owner setup links and
// failed sign-ins, behind a small interface of their own, apart from
// Storage: a backend implements it beside its Storage (src/store/sqlite/
// today), and nothing else in Storage changes for it.
//
// Contract:
// - AccountStore::open opens its own connection to the database
//   `location` names; the tables are made by the backend's schema steps,
//   which Storage::open runs, so open the Storage first (a database whose
//   schema is too old is refused with StorageError). Throws StorageError
//   for start-up failures, nothing afterwards: every operation returns a
//   Status/Result.
// - One AccountStore owns one connection and is not thread-safe: one per
//   thread. It works beside a running daemon (the `stockwatch user`
//   commands): a writer waits up to the busy timeout, then gets kBusy.
// - Secrets are stored only as digests: a session id and a setup token by
//   their SHA-256 (crypto/password.hpp), a password as its Argon2id string.
//   Changing an account's password or removing it ends its sessions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/storage.hpp"

namespace stockwatch {

enum class AccountRole { kOwner, kManager };
[[nodiscard]] const char* to_string(AccountRole role);
[[nodiscard]] std::optional<AccountRole> account_role_from(std::string_view name);

struct Account {
  std::int64_t id = 0;
  std::string name;
  AccountRole role = AccountRole::kManager;
  std::vector<std::string> stores;   // a manager's stores; empty for an owner
  std::string password_hash;         // Argon2id (crypto/password.hpp)
  std::string language;              // "en", "id"; empty: from the browser
  TimePoint created_at{};

  // Whether this account may see `store`.
  [[nodiscard]] bool sees(std::string_view store) const;
};

struct SessionRecord {
  std::string id_digest;             // SHA-256 (hex) of the cookie's value
  std::int64_t account_id = 0;
  std::string csrf;                  // the token every form of this session carries
  TimePoint created_at{};
  TimePoint last_seen_at{};
};

struct SignInFailure {
  std::string name;                  // the account name tried, as typed (at most 64 bytes kept)
  std::string address;               // the client's address
  TimePoint at{};
};

// A manager's stores as the backends keep them: one per line.
[[nodiscard]] std::string stores_to_text(const std::vector<std::string>& stores);
[[nodiscard]] std::vector<std::string> stores_from_text(std::string_view text);

// An account's name: 1 to 64 ASCII letters, digits, '.', '-' or '_' (it
// appears in logs and in the inbox names of the account's uploads).
[[nodiscard]] bool valid_account_name(std::string_view name);
// The shortest password the console and `stockwatch user` accept.
inline constexpr std::size_t kMinPasswordLength = 10;

class AccountStore {
 public:
  static std::unique_ptr<AccountStore> open(const std::filesystem::path& location,
                                            const StorageOptions& options, const Clock& clock);
  virtual ~AccountStore() = default;

  // --- Accounts ---------------------------------------------------------
  // kInvalidInput when the name is taken.
  [[nodiscard]] virtual Result<std::int64_t> add_account(const Account& account) = 0;
  [[nodiscard]] virtual Result<std::optional<Account>> account_by_name(std::string_view name) = 0;
  [[nodiscard]] virtual Result<std::optional<Account>> account_by_id(std::int64_t id) = 0;
  // Every account, by name.
  [[nodiscard]] virtual Result<std::vector<Account>> accounts() = 0;
  [[nodiscard]] virtual Result<std::int64_t> owner_count() = 0;
  // False when there is no such account. Ends the account's sessions.
  [[nodiscard]] virtual Result<bool> set_password(std::string_view name, const std::string& hash) = 0;
  [[nodiscard]] virtual Result<bool> set_language(std::int64_t id, std::string_view language) = 0;
  // False when there is no such account. Ends its sessions.
  [[nodiscard]] virtual Result<bool> remove_account(std::string_view name) = 0;

  // --- Sessions ---------------------------------------------------------
  [[nodiscard]] virtual Status add_session(const SessionRecord& session) = 0;
  [[nodiscard]] virtual Result<std::optional<SessionRecord>> session(std::string_view id_digest) = 0;
  [[nodiscard]] virtual Status touch_session(std::string_view id_digest, TimePoint at) = 0;
  [[nodiscard]] virtual Status remove_session(std::string_view id_digest) = 0;
  // Removes sessions created before `created_before` or last seen before
  // `seen_before`; returns how many.
  [[nodiscard]] virtual Result<std::int64_t> remove_expired_sessions(TimePoint created_before,
                                                                     TimePoint seen_before) = 0;

  // --- The first owner --------------------------------------------------
  // Replaces any earlier setup link by this one.
  [[nodiscard]] virtual Status set_setup_token(std::string_view digest, TimePoint expires_at) = 0;
  // In one transaction: if `digest` is the setup link's and it has not
  // expired at `now` and no owner exists yet, adds `owner` and spends the
  // link; returns the new account's id, or nullopt (nothing changed).
  [[nodiscard]] virtual Result<std::optional<std::int64_t>> redeem_setup_token(
      std::string_view digest, TimePoint now, const Account& owner) = 0;

  // --- Failed sign-ins --------------------------------------------------
  [[nodiscard]] virtual Status record_sign_in_failure(const SignInFailure& failure) = 0;
  // Newest first.
  [[nodiscard]] virtual Result<std::vector<SignInFailure>> recent_sign_in_failures(int limit) = 0;
};

}  // namespace stockwatch

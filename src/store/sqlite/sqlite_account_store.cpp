#include "store/sqlite/sqlite_account_store.hpp"

#include <optional>

#include "store/sqlite/sqlite.hpp"

namespace stockwatch {

namespace {

using sqlite::ResetGuard;
using sqlite::Statement;

constexpr int kAccountsSchema = 6;   // the schema step that made these tables

#define SW_ACCOUNT_COLUMNS "id, name, role, stores, password_hash, language, created_at"

Account read_account(const Statement& s) {
  Account a;
  a.id = s.i64(0);
  a.name = s.text(1);
  a.role = account_role_from(s.text_view(2)).value_or(AccountRole::kManager);
  a.stores = stores_from_text(s.text_view(3));
  a.password_hash = s.text(4);
  a.language = s.text(5);
  a.created_at = from_unix_ms(s.i64(6));
  return a;
}

class SqliteAccountStore final : public AccountStore {
 public:
  SqliteAccountStore(std::unique_ptr<sqlite3, sqlite::DbCloser> db, const Clock& clock)
      : db_(std::move(db)), clock_(clock) {
    sqlite3* d = db_.get();
    begin_.emplace(d, "BEGIN IMMEDIATE");
    commit_.emplace(d, "COMMIT");
    rollback_.emplace(d, "ROLLBACK");
    add_.emplace(d, "INSERT INTO accounts(name, role, stores, password_hash, language, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING");
    by_name_.emplace(d, "SELECT " SW_ACCOUNT_COLUMNS " FROM accounts WHERE name = ?");
    by_id_.emplace(d, "SELECT " SW_ACCOUNT_COLUMNS " FROM accounts WHERE id = ?");
    all_.emplace(d, "SELECT " SW_ACCOUNT_COLUMNS " FROM accounts ORDER BY name");
    owners_.emplace(d, "SELECT COUNT(*) FROM accounts WHERE role = 'owner'");
    set_password_.emplace(d, "UPDATE accounts SET password_hash = ? WHERE name = ?");
    set_language_.emplace(d, "UPDATE accounts SET language = ? WHERE id = ?");
    remove_.emplace(d, "DELETE FROM accounts WHERE name = ?");
    end_sessions_of_.emplace(
        d, "DELETE FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE name = ?)");
    add_session_.emplace(d, "INSERT INTO sessions(id_digest, account_id, csrf, created_at, "
                            "last_seen_at) VALUES (?, ?, ?, ?, ?)");
    session_.emplace(d, "SELECT id_digest, account_id, csrf, created_at, last_seen_at "
                        "FROM sessions WHERE id_digest = ?");
    touch_.emplace(d, "UPDATE sessions SET last_seen_at = ? WHERE id_digest = ?");
    end_session_.emplace(d, "DELETE FROM sessions WHERE id_digest = ?");
    expire_.emplace(d, "DELETE FROM sessions WHERE created_at < ? OR last_seen_at < ?");
    clear_setup_.emplace(d, "DELETE FROM setup_tokens");
    add_setup_.emplace(d, "INSERT INTO setup_tokens(digest, expires_at) VALUES (?, ?)");
    use_setup_.emplace(d, "DELETE FROM setup_tokens WHERE digest = ? AND expires_at > ?");
    add_failure_.emplace(d, "INSERT INTO sign_in_failures(name, address, at) VALUES (?, ?, ?)");
    trim_failures_.emplace(d, "DELETE FROM sign_in_failures WHERE id <= "
                              "(SELECT MAX(id) FROM sign_in_failures) - 10000");
    failures_.emplace(d, "SELECT name, address, at FROM sign_in_failures ORDER BY id DESC LIMIT ?");
  }

  Result<std::int64_t> add_account(const Account& a) override {
    auto st = insert(a);
    if (!st) return st.error();
    if (!*st) return Error(ErrorCode::kInvalidInput, "an account named '" + a.name + "' exists already");
    return sqlite3_last_insert_rowid(db_.get());
  }

  Result<std::optional<Account>> account_by_name(std::string_view name) override {
    auto& s = *by_name_;
    ResetGuard g(s);
    s.bind(1, name);
    return one(s);
  }
  Result<std::optional<Account>> account_by_id(std::int64_t id) override {
    auto& s = *by_id_;
    ResetGuard g(s);
    s.bind(1, id);
    return one(s);
  }
  Result<std::vector<Account>> accounts() override {
    auto& s = *all_;
    ResetGuard g(s);
    std::vector<Account> out;
    while (true) {
      auto r = s.step();
      if (!r) return r.error();
      if (!*r) return out;
      out.push_back(read_account(s));
    }
  }
  Result<std::int64_t> owner_count() override {
    auto& s = *owners_;
    ResetGuard g(s);
    auto r = s.step();
    if (!r) return r.error();
    return *r ? s.i64(0) : 0;
  }

  Result<bool> set_password(std::string_view name, const std::string& hash) override {
    return in_transaction([&]() -> Result<bool> {
      if (auto st = end_sessions_of_->bind(1, name).run(); !st.ok()) return st.error();
      if (auto st = set_password_->bind(1, hash).bind(2, name).run(); !st.ok()) return st.error();
      return sqlite3_changes(db_.get()) > 0;
    });
  }
  Result<bool> set_language(std::int64_t id, std::string_view language) override {
    if (auto st = set_language_->bind(1, language).bind(2, id).run(); !st.ok()) return st.error();
    return sqlite3_changes(db_.get()) > 0;
  }
  Result<bool> remove_account(std::string_view name) override {
    return in_transaction([&]() -> Result<bool> {
      if (auto st = end_sessions_of_->bind(1, name).run(); !st.ok()) return st.error();
      if (auto st = remove_->bind(1, name).run(); !st.ok()) return st.error();
      return sqlite3_changes(db_.get()) > 0;
    });
  }

  Status add_session(const SessionRecord& r) override {
    return add_session_->bind(1, r.id_digest)
        .bind(2, r.account_id)
        .bind(3, r.csrf)
        .bind(4, to_unix_ms(r.created_at))
        .bind(5, to_unix_ms(r.last_seen_at))
        .run();
  }
  Result<std::optional<SessionRecord>> session(std::string_view digest) override {
    auto& s = *session_;
    ResetGuard g(s);
    s.bind(1, digest);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<SessionRecord>();
    return std::optional<SessionRecord>(SessionRecord{s.text(0), s.i64(1), s.text(2),
                                                      from_unix_ms(s.i64(3)), from_unix_ms(s.i64(4))});
  }
  Status touch_session(std::string_view digest, TimePoint at) override {
    return touch_->bind(1, to_unix_ms(at)).bind(2, digest).run();
  }
  Status remove_session(std::string_view digest) override {
    return end_session_->bind(1, digest).run();
  }
  Result<std::int64_t> remove_expired_sessions(TimePoint created_before, TimePoint seen_before) override {
    if (auto st = expire_->bind(1, to_unix_ms(created_before)).bind(2, to_unix_ms(seen_before)).run();
        !st.ok()) {
      return st.error();
    }
    return static_cast<std::int64_t>(sqlite3_changes(db_.get()));
  }

  Status set_setup_token(std::string_view digest, TimePoint expires_at) override {
    auto r = in_transaction([&]() -> Result<bool> {
      if (auto st = clear_setup_->run(); !st.ok()) return st.error();
      if (auto st = add_setup_->bind(1, digest).bind(2, to_unix_ms(expires_at)).run(); !st.ok()) {
        return st.error();
      }
      return true;
    });
    if (!r) return r.error();
    return {};
  }
  Result<std::optional<std::int64_t>> redeem_setup_token(std::string_view digest, TimePoint now,
                                                         const Account& owner) override {
    std::optional<std::int64_t> id;
    auto r = in_transaction([&]() -> Result<bool> {
      if (auto st = use_setup_->bind(1, digest).bind(2, to_unix_ms(now)).run(); !st.ok()) {
        return st.error();
      }
      if (sqlite3_changes(db_.get()) != 1) return false;
      auto owners = owner_count();
      if (!owners) return owners.error();
      if (*owners > 0) return false;
      auto added = insert(owner);
      if (!added) return added.error();
      if (!*added) return false;
      id = sqlite3_last_insert_rowid(db_.get());
      // The link is spent; any other one goes with it.
      if (auto st = clear_setup_->run(); !st.ok()) return st.error();
      return true;
    }, /*commit_on_false=*/false);
    if (!r) return r.error();
    return *r ? id : std::nullopt;
  }

  Status record_sign_in_failure(const SignInFailure& f) override {
    if (auto st = add_failure_->bind(1, std::string_view(f.name).substr(0, 64))
                      .bind(2, f.address)
                      .bind(3, to_unix_ms(f.at))
                      .run();
        !st.ok()) {
      return st;
    }
    return trim_failures_->run();   // the newest 10,000 are kept
  }
  Result<std::vector<SignInFailure>> recent_sign_in_failures(int limit) override {
    auto& s = *failures_;
    ResetGuard g(s);
    s.bind(1, limit);
    std::vector<SignInFailure> out;
    while (true) {
      auto r = s.step();
      if (!r) return r.error();
      if (!*r) return out;
      out.push_back(SignInFailure{s.text(0), s.text(1), from_unix_ms(s.i64(2))});
    }
  }

 private:
  // true: added; false: the name is taken.
  Result<bool> insert(const Account& a) {
    const auto created = a.created_at.time_since_epoch().count() ? a.created_at : clock_.now();
    const std::string stores = stores_to_text(a.stores);
    if (auto st = add_->bind(1, a.name)
                      .bind(2, to_string(a.role))
                      .bind(3, stores)
                      .bind(4, a.password_hash)
                      .bind(5, a.language)
                      .bind(6, to_unix_ms(created))
                      .run();
        !st.ok()) {
      return st.error();
    }
    return sqlite3_changes(db_.get()) == 1;
  }

  Result<std::optional<Account>> one(Statement& s) {
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return std::optional<Account>();
    return std::optional<Account>(read_account(s));
  }

  // Runs `f` in one write transaction: committed when it returns true (or
  // false with commit_on_false), rolled back otherwise.
  template <typename F>
  Result<bool> in_transaction(F&& f, bool commit_on_false = true) {
    if (auto st = begin_->run(); !st.ok()) return st.error();
    auto r = f();
    if (r && (*r || commit_on_false)) {
      if (auto st = commit_->run(); !st.ok()) {
        (void)rollback_->run();
        return st.error();
      }
      return r;
    }
    (void)rollback_->run();
    return r;
  }

  std::unique_ptr<sqlite3, sqlite::DbCloser> db_;
  const Clock& clock_;
  std::optional<Statement> begin_, commit_, rollback_, add_, by_name_, by_id_, all_, owners_,
      set_password_, set_language_, remove_, end_sessions_of_, add_session_, session_, touch_,
      end_session_, expire_, clear_setup_, add_setup_, use_setup_, add_failure_, trim_failures_,
      failures_;
};

}  // namespace

std::unique_ptr<AccountStore> open_sqlite_account_store(const std::filesystem::path& file,
                                                        const StorageOptions& options,
                                                        const Clock& clock) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  std::unique_ptr<sqlite3, sqlite::DbCloser> db(raw);   // owns the handle even on failure
  if (rc != SQLITE_OK) {
    throw StorageError("cannot open database " + file.string() + ": " +
                       (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_exec(raw, options.synchronous == "full" ? "PRAGMA synchronous = FULL"
                                                  : "PRAGMA synchronous = NORMAL",
               nullptr, nullptr, nullptr);
  {
    Statement v(raw, "PRAGMA user_version");
    auto r = v.step();
    if (!r || !*r || v.i64(0) < kAccountsSchema) {
      throw StorageError("database " + file.string() +
                         " has no console accounts yet (schema older than 6): open it with "
                         "this version of stockwatch first");
    }
  }
  return std::make_unique<SqliteAccountStore>(std::move(db), clock);
}

}  // namespace stockwatch

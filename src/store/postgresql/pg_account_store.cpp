#include "store/postgresql/pg_account_store.hpp"

#include <optional>
#include <utility>
#include <vector>

#include "store/postgresql/pg.hpp"
#include "text/masked_password.hpp"

namespace stockwatch {

namespace {

using pg::Param;
using pg::PgResult;

constexpr int kAccountsSchema = 7;   // the schema step that made these tables

#define SW_PG_ACCOUNT_COLUMNS "id, name, role, stores, password_hash, language, created_at"

Account read_account(const PgResult& r, int row) {
  Account a;
  a.id = r.i64(row, 0);
  a.name = r.text(row, 1);
  a.role = account_role_from(r.text_view(row, 2)).value_or(AccountRole::kManager);
  a.stores = stores_from_text(r.text_view(row, 3));
  a.password_hash = r.text(row, 4);
  a.language = r.text(row, 5);
  a.created_at = from_unix_ms(r.i64(row, 6));
  return a;
}

class PgAccountStore final : public AccountStore {
 public:
  PgAccountStore(std::vector<std::pair<std::string, std::string>> params, std::string where,
                 std::string session_sql, pg::Connection conn, const Clock& clock)
      : params_(std::move(params)),
        where_(std::move(where)),
        session_sql_(std::move(session_sql)),
        conn_(std::move(conn)),
        clock_(clock) {}

  Result<std::int64_t> add_account(const Account& a) override {
    auto id = insert(a);
    if (!id) return id.error();
    if (!*id) return Error(ErrorCode::kInvalidInput, "an account named '" + a.name + "' exists already");
    return **id;
  }

  Result<std::optional<Account>> account_by_name(std::string_view name) override {
    return one("SELECT " SW_PG_ACCOUNT_COLUMNS " FROM accounts WHERE name = $1", {name});
  }
  Result<std::optional<Account>> account_by_id(std::int64_t id) override {
    return one("SELECT " SW_PG_ACCOUNT_COLUMNS " FROM accounts WHERE id = $1", {id});
  }
  Result<std::vector<Account>> accounts() override {
    auto r = query("SELECT " SW_PG_ACCOUNT_COLUMNS " FROM accounts ORDER BY name");
    if (!r) return r.error();
    std::vector<Account> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_account(*r, i));
    return out;
  }
  Result<std::int64_t> owner_count() override {
    auto r = query("SELECT count(*) FROM accounts WHERE role = 'owner'");
    if (!r) return r.error();
    return r->i64(0, 0);
  }

  Result<bool> set_password(std::string_view name, const std::string& hash) override {
    return in_transaction([&]() -> Result<bool> {
      if (auto r = end_sessions_of(name); !r) return r.error();
      auto r = query("UPDATE accounts SET password_hash = $1 WHERE name = $2", {hash, name});
      if (!r) return r.error();
      return r->affected() > 0;
    });
  }
  Result<bool> set_language(std::int64_t id, std::string_view language) override {
    auto r = query("UPDATE accounts SET language = $1 WHERE id = $2", {language, id});
    if (!r) return r.error();
    return r->affected() > 0;
  }
  Result<bool> remove_account(std::string_view name) override {
    return in_transaction([&]() -> Result<bool> {
      if (auto r = end_sessions_of(name); !r) return r.error();
      auto r = query("DELETE FROM accounts WHERE name = $1", {name});
      if (!r) return r.error();
      return r->affected() > 0;
    });
  }

  Status add_session(const SessionRecord& s) override {
    auto r = query("INSERT INTO sessions(id_digest, account_id, csrf, created_at, last_seen_at) "
                   "VALUES ($1, $2, $3, $4, $5)",
                   {s.id_digest, s.account_id, s.csrf, to_unix_ms(s.created_at),
                    to_unix_ms(s.last_seen_at)});
    if (!r) return r.error();
    return {};
  }
  Result<std::optional<SessionRecord>> session(std::string_view digest) override {
    auto r = query("SELECT id_digest, account_id, csrf, created_at, last_seen_at FROM sessions "
                   "WHERE id_digest = $1",
                   {digest});
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<SessionRecord>();
    return std::optional<SessionRecord>(SessionRecord{r->text(0, 0), r->i64(0, 1), r->text(0, 2),
                                                      from_unix_ms(r->i64(0, 3)),
                                                      from_unix_ms(r->i64(0, 4))});
  }
  Status touch_session(std::string_view digest, TimePoint at) override {
    auto r = query("UPDATE sessions SET last_seen_at = $1 WHERE id_digest = $2",
                   {to_unix_ms(at), digest});
    if (!r) return r.error();
    return {};
  }
  Status remove_session(std::string_view digest) override {
    auto r = query("DELETE FROM sessions WHERE id_digest = $1", {digest});
    if (!r) return r.error();
    return {};
  }
  Result<std::int64_t> remove_expired_sessions(TimePoint created_before,
                                               TimePoint seen_before) override {
    auto r = query("DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2",
                   {to_unix_ms(created_before), to_unix_ms(seen_before)});
    if (!r) return r.error();
    return r->affected();
  }

  Status set_setup_token(std::string_view digest, TimePoint expires_at) override {
    auto r = in_transaction([&]() -> Result<bool> {
      if (auto d = query("DELETE FROM setup_tokens"); !d) return d.error();
      auto i = query("INSERT INTO setup_tokens(digest, expires_at) VALUES ($1, $2)",
                     {digest, to_unix_ms(expires_at)});
      if (!i) return i.error();
      return true;
    });
    if (!r) return r.error();
    return {};
  }
  Result<std::optional<std::int64_t>> redeem_setup_token(std::string_view digest, TimePoint now,
                                                         const Account& owner) override {
    std::optional<std::int64_t> id;
    auto r = in_transaction([&]() -> Result<bool> {
      // The row lock the DELETE takes makes a second node redeeming the
      // same link wait, then find it gone.
      auto used = query("DELETE FROM setup_tokens WHERE digest = $1 AND expires_at > $2",
                        {digest, to_unix_ms(now)});
      if (!used) return used.error();
      if (used->affected() != 1) return false;
      auto owners = owner_count();
      if (!owners) return owners.error();
      if (*owners > 0) return false;
      auto added = insert(owner);
      if (!added) return added.error();
      if (!*added) return false;
      id = **added;
      // The link is spent; any other one goes with it.
      if (auto d = query("DELETE FROM setup_tokens"); !d) return d.error();
      return true;
    }, /*commit_on_false=*/false);
    if (!r) return r.error();
    return *r ? id : std::nullopt;
  }

  Status record_sign_in_failure(const SignInFailure& f) override {
    auto r = query("INSERT INTO sign_in_failures(name, address, at) VALUES ($1, $2, $3)",
                   {std::string_view(f.name).substr(0, 64), f.address, to_unix_ms(f.at)});
    if (!r) return r.error();
    // The newest 10,000 are kept.
    auto t = query("DELETE FROM sign_in_failures WHERE id <= "
                   "(SELECT max(id) FROM sign_in_failures) - 10000");
    if (!t) return t.error();
    return {};
  }
  Result<std::vector<SignInFailure>> recent_sign_in_failures(int limit) override {
    auto r = query("SELECT name, address, at FROM sign_in_failures ORDER BY id DESC LIMIT $1",
                   {limit});
    if (!r) return r.error();
    std::vector<SignInFailure> out;
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back(SignInFailure{r->text(i, 0), r->text(i, 1), from_unix_ms(r->i64(i, 2))});
    }
    return out;
  }

 private:
  // The new account's id, or nullopt when the name is taken.
  Result<std::optional<std::int64_t>> insert(const Account& a) {
    const auto created = a.created_at.time_since_epoch().count() ? a.created_at : clock_.now();
    auto r = query("INSERT INTO accounts(name, role, stores, password_hash, language, created_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
                   {a.name, to_string(a.role), stores_to_text(a.stores), a.password_hash,
                    a.language, to_unix_ms(created)});
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(r->i64(0, 0));
  }

  Result<bool> end_sessions_of(std::string_view name) {
    auto r = query("DELETE FROM sessions WHERE account_id = (SELECT id FROM accounts WHERE name = $1)",
                   {name});
    if (!r) return r.error();
    return true;
  }

  Result<std::optional<Account>> one(const char* sql, const std::vector<Param>& params) {
    auto r = query(sql, params);
    if (!r) return r.error();
    if (r->rows() == 0) return std::optional<Account>();
    return std::optional<Account>(read_account(*r, 0));
  }

  // A connection that was lost is made again before the next statement
  // outside a transaction; inside one, the transaction has failed.
  Result<PgResult> query(const char* sql, const std::vector<Param>& params = {}) {
    if (!conn_.ok()) {
      if (in_txn_) {
        return Error(ErrorCode::kTransient, "PostgreSQL " + where_ + ": connection lost");
      }
      conn_ = pg::Connection::open(params_);
      if (!conn_.ok()) {
        return Error(ErrorCode::kTransient,
                     "cannot connect to PostgreSQL at " + where_ + ": " + conn_.error());
      }
      if (auto st = conn_.exec(session_sql_); !st.ok()) return st.error();
    }
    auto r = conn_.query(sql, params);
    if (!r) {
      Error e = r.error();
      return Error(e.code(), "PostgreSQL " + where_ + ": " + e.message());
    }
    return r;
  }

  // Runs `f` in one transaction: committed when it returns true (or false
  // with commit_on_false), rolled back otherwise.
  template <typename F>
  Result<bool> in_transaction(F&& f, bool commit_on_false = true) {
    if (auto b = query("BEGIN"); !b) return b.error();
    in_txn_ = true;
    auto r = f();
    if (r && (*r || commit_on_false)) {
      auto c = query("COMMIT");
      in_txn_ = false;
      if (!c) {
        (void)query("ROLLBACK");
        return c.error();
      }
      return r;
    }
    (void)query("ROLLBACK");
    in_txn_ = false;
    return r;
  }

  std::vector<std::pair<std::string, std::string>> params_;
  std::string where_;
  std::string session_sql_;
  pg::Connection conn_;
  const Clock& clock_;
  bool in_txn_ = false;
};

}  // namespace

std::unique_ptr<AccountStore> open_pg_account_store(const std::string& url,
                                                    const StorageOptions& options,
                                                    const Clock& clock) {
  const std::string where = mask_password(url);
  auto params = pg::connection_params(url, options.password);
  pg::Connection conn = pg::Connection::open(params);
  if (!conn.ok()) {
    throw StorageError("cannot connect to PostgreSQL at " + where + ": " + conn.error());
  }
  const std::string session =
      "SET lock_timeout = " + std::to_string(std::max(options.busy_timeout_ms, 1)) +
      "; SET synchronous_commit = " + (options.synchronous == "full" ? "on" : "local") +
      "; SET client_min_messages = warning";
  if (auto st = conn.exec(session); !st.ok()) {
    throw StorageError("PostgreSQL " + where + ": " + st.message());
  }
  auto v = conn.query("SELECT COALESCE(max(version), 0) FROM stockwatch_schema");
  if (!v || v->i64(0, 0) < kAccountsSchema) {
    throw StorageError("PostgreSQL " + where +
                       " has no console accounts yet (schema older than 7): start this version "
                       "of stockwatch on it first");
  }
  return std::make_unique<PgAccountStore>(std::move(params), where, session, std::move(conn),
                                          clock);
}

}  // namespace stockwatch

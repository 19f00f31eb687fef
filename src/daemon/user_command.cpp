#include "daemon/user_command.hpp"

#include <termios.h>
#include <unistd.h>

#include "crypto/password.hpp"
#include "daemon/folders.hpp"
#include "store/account_store.hpp"
#include "store/storage.hpp"

namespace stockwatch {

namespace {

// Turns the terminal's echo off for as long as it lives.
class NoEcho {
 public:
  NoEcho() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~NoEcho() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::optional<std::string> read_password(std::istream& in, bool terminal, std::ostream& out,
                                         std::ostream& err) {
  std::string first, second;
  if (!terminal) {
    if (!std::getline(in, first)) {
      err << "stockwatch user: give the password on standard input (one line)\n";
      return std::nullopt;
    }
    if (!first.empty() && first.back() == '\r') first.pop_back();
  } else {
    NoEcho quiet;
    out << "Password: " << std::flush;
    std::getline(in, first);
    out << "\nAgain: " << std::flush;
    std::getline(in, second);
    out << "\n";
    if (first != second) {
      err << "stockwatch user: the two passwords differ; nothing changed\n";
      return std::nullopt;
    }
  }
  if (first.size() < kMinPasswordLength) {
    err << "stockwatch user: the password needs at least " << kMinPasswordLength
        << " characters; nothing changed\n";
    return std::nullopt;
  }
  return first;
}

// The password, read as the contract says, as its Argon2id hash; nullopt
// (with the reason on `err`) when there is none.
std::optional<std::string> read_password_hash(std::istream& in, bool terminal, std::ostream& out,
                                              std::ostream& err, const char* command) {
  auto password = read_password(in, terminal, out, err);
  if (!password) return std::nullopt;
  auto hash = hash_password(*password);
  if (!hash) {
    err << "stockwatch user " << command << ": " << hash.error().message() << "\n";
    return std::nullopt;
  }
  return *hash;
}

}  // namespace

int run_user_command(const Config& config, const Clock& clock, const UserCommand& c,
                     std::istream& in, bool terminal, std::ostream& out, std::ostream& err) {
  try {
    // Accounts live beside the data: in the SQLite file, or in the
    // PostgreSQL database every node shares.
    if (config.storage.backend != "postgresql" && config.storage.database.has_parent_path()) {
      ensure_dir(config.storage.database.parent_path(), "storage.database");
    }
    const auto options = StorageOptions::from(config.storage);
    (void)Storage::open(config.storage.location(), options, clock);   // migrates the schema
    auto accounts = AccountStore::open(config.storage.location(), options, clock);

    if (c.action == "list") {
      auto all = accounts->accounts();
      if (!all) {
        err << "stockwatch user list: " << all.error().message() << "\n";
        return 2;
      }
      if (all->empty()) out << "no accounts; add the owner: stockwatch user add NAME --role owner\n";
      for (const auto& a : *all) {
        out << a.name << "  " << to_string(a.role);
        if (a.role == AccountRole::kManager) {
          out << "  stores: ";
          for (std::size_t i = 0; i < a.stores.size(); ++i) out << (i ? "," : "") << a.stores[i];
        }
        out << "  created " << format_utc(a.created_at, "%Y-%m-%d %H:%M UTC") << "\n";
      }
      return 0;
    }
    if (!valid_account_name(c.name)) {
      err << "stockwatch user: a name is 1 to 64 letters, digits, '.', '-' or '_'\n";
      return 1;
    }
    if (c.action == "add") {
      auto role = account_role_from(c.role);
      if (!role) {
        err << "stockwatch user add: --role is owner or manager\n";
        return 1;
      }
      if (*role == AccountRole::kManager && c.stores.empty()) {
        err << "stockwatch user add: a manager needs --stores (the stores they may see and upload for)\n";
        return 1;
      }
      if (*role == AccountRole::kOwner && !c.stores.empty()) {
        err << "stockwatch user add: an owner sees every store; leave out --stores\n";
        return 1;
      }
      auto existing = accounts->account_by_name(c.name);
      if (existing && *existing) {
        err << "stockwatch user add: an account named '" << c.name << "' exists already\n";
        return 1;
      }
      auto hash = read_password_hash(in, terminal, out, err, "add");
      if (!hash) return 1;
      Account a;
      a.name = c.name;
      a.role = *role;
      a.stores = c.stores;
      a.password_hash = *hash;
      auto id = accounts->add_account(a);
      if (!id) {
        err << "stockwatch user add: " << id.error().message() << "\n";
        return id.error().code() == ErrorCode::kInvalidInput ? 1 : 2;
      }
      out << "added " << to_string(a.role) << " " << a.name << "\n";
      return 0;
    }
    if (c.action == "passwd") {
      auto existing = accounts->account_by_name(c.name);
      if (!existing) {
        err << "stockwatch user passwd: " << existing.error().message() << "\n";
        return 2;
      }
      if (!*existing) {
        err << "stockwatch user passwd: no account named '" << c.name << "'\n";
        return 1;
      }
      auto hash = read_password_hash(in, terminal, out, err, "passwd");
      if (!hash) return 1;
      auto changed = accounts->set_password(c.name, *hash);
      if (!changed) {
        err << "stockwatch user passwd: " << changed.error().message() << "\n";
        return 2;
      }
      out << "changed the password of " << c.name << "; its sessions have ended\n";
      return 0;
    }
    if (c.action == "remove") {
      auto removed = accounts->remove_account(c.name);
      if (!removed) {
        err << "stockwatch user remove: " << removed.error().message() << "\n";
        return 2;
      }
      if (!*removed) {
        err << "stockwatch user remove: no account named '" << c.name << "'\n";
        return 1;
      }
      out << "removed " << c.name << "\n";
      return 0;
    }
    err << "stockwatch user: unknown action " << c.action << "\n";
    return 2;
  } catch (const StorageError& e) {
    err << "stockwatch user: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace stockwatch

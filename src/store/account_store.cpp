#include "store/account_store.hpp"

#include <algorithm>
#include <cctype>

#include "store/sqlite/sqlite_account_store.hpp"

namespace stockwatch {

const char* to_string(AccountRole role) {
  return role == AccountRole::kOwner ? "owner" : "manager";
}

std::optional<AccountRole> account_role_from(std::string_view name) {
  if (name == "owner") return AccountRole::kOwner;
  if (name == "manager") return AccountRole::kManager;
  return std::nullopt;
}

bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == '.' || c == '-' || c == '_')) return false;
  }
  return true;
}

bool Account::sees(std::string_view store) const {
  return role == AccountRole::kOwner ||
         std::find(stores.begin(), stores.end(), store) != stores.end();
}

std::unique_ptr<AccountStore> AccountStore::open(const std::filesystem::path& location,
                                                 const StorageOptions& options,
                                                 const Clock& clock) {
  if (location.string().find("://") != std::string::npos) {
    throw StorageError("the web console's accounts are kept in SQLite only in this version");
  }
  return open_sqlite_account_store(location, options, clock);
}

}  // namespace stockwatch

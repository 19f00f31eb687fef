#include "store/account_store.hpp"

#include <algorithm>
#include <cctype>

#include "store/postgresql/pg_account_store.hpp"
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

std::string stores_to_text(const std::vector<std::string>& stores) {
  std::string out;
  for (const auto& s : stores) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::vector<std::string> stores_from_text(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const auto nl = s.find('\n');
    out.emplace_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
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
    return open_pg_account_store(location.string(), options, clock);
  }
  return open_sqlite_account_store(location, options, clock);
}

}  // namespace stockwatch

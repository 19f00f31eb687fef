#include "pipeline/template_source.hpp"

#include <string>
#include <utility>
#include <vector>

namespace stockwatch {

namespace {

constexpr int kMaxStores = 100000;
constexpr std::size_t kStoresShown = 20;
constexpr int kPage = 1000;

bool same_without_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

Error unknown_store(std::string_view store, const std::vector<StoreSummary>& stores) {
  std::string message = "no store \"" + std::string(store) + "\" in the inventory";
  if (stores.empty()) {
    return Error(ErrorCode::kNotFound,
                 message + ": it is empty until a first report has been loaded");
  }
  message += "; the stores are: ";
  for (std::size_t i = 0; i < stores.size() && i < kStoresShown; ++i) {
    if (i != 0) message += ", ";
    message += stores[i].store;
  }
  if (stores.size() > kStoresShown) {
    message += " and " + std::to_string(stores.size() - kStoresShown) + " more";
  }
  return Error(ErrorCode::kNotFound, message);
}

}  // namespace

Result<TemplateSheet> template_sheet_of(Storage& storage, std::string_view store) {
  auto stores = storage.list_stores(kMaxStores);
  if (!stores) return stores.error();
  const StoreSummary* found = nullptr;
  std::size_t caseless = 0;
  const StoreSummary* caseless_match = nullptr;
  for (const StoreSummary& s : *stores) {
    if (s.store == store) found = &s;
    if (same_without_case(s.store, store)) {
      ++caseless;
      caseless_match = &s;
    }
  }
  if (!found && caseless == 1) found = caseless_match;
  if (!found) return unknown_store(store, *stores);

  TemplateSheet sheet;
  sheet.store = found->store;
  sheet.items.reserve(static_cast<std::size_t>(found->items));
  InventoryQuery q;
  q.store = found->store;
  q.limit = kPage;
  while (true) {
    auto page = storage.list_inventory(q);
    if (!page) return page.error();
    for (InventoryRow& row : *page) sheet.items.push_back({std::move(row.item), row.count});
    if (page->size() < static_cast<std::size_t>(kPage)) break;
    q.after = std::pair(sheet.store, sheet.items.back().item);
  }
  return sheet;
}

}  // namespace stockwatch

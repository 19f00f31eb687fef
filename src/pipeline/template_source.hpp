// What a store's stock-count template holds, read from the inventory: the
// store as the inventory names it and its items with their counts
// (report/template/template_writer.hpp writes the workbook).
//
// Contract:
// - `store` is matched exactly, or else without case (ASCII) when exactly
//   one store matches that way, so `--store medan` finds "Medan".
// - An unknown store is kNotFound, with a message that lists the stores
//   there are (or says the inventory is empty). A storage failure is passed
//   on as it is.
// - Reads the inventory page by page through `storage`; memory grows with
//   the store's items only. Same thread rules as the Storage it is given.
#pragma once

#include <string_view>

#include "base/result.hpp"
#include "report/template/template_writer.hpp"
#include "store/storage.hpp"

namespace stockwatch {

[[nodiscard]] Result<TemplateSheet> template_sheet_of(Storage& storage, std::string_view store);

}  // namespace stockwatch

#include "text/catalog.hpp"

namespace stockwatch {

namespace {

// English: the texts stockwatch 0.1 wrote, byte for byte.
constexpr CatalogEntry kEnglish[] = {
    // Alerts (notify/message.cpp).
    {"alert.out_of_stock.sentence", "{store} is out of stock of {item}"},
    {"alert.back_in_stock.sentence", "{store} has {item} back in stock ({count})"},
    {"alert.out_of_stock.state", "out of stock"},
    {"alert.back_in_stock.state", "back in stock"},
    {"alert.summary.item", "{store}: {item} is {state}"},
    {"alert.summary.store", "{store}: {total} items {state}"},
    {"alert.summary.stores", "{stores} stores, {total} items {state}"},
    {"alert.summary.over_stores", "over {stores} stores, {total} items {state}"},
    {"alert.summary.first_listed", " (first {listed} listed)"},
    {"alert.more_items",
     "... and {more} more item(s) {state} in this report for your subscription, not listed "
     "here (this message lists the first {listed} of {total}); the inventory table has them "
     "all"},
    {"alert.footer", "Report: {path} (report {id}), loaded {time}"},
    {"alert.time", "%Y-%m-%d %H:%M:%S UTC"},
    {"rejected.subject", "Report rejected: {path}"},
    {"rejected.body",
     "The report {path} was rejected and nothing of it was loaded.\n"
     "Until a corrected report arrives, nobody is watching this stock.\n\n"
     "Problems found:\n{problems}\n\n"
     "Fix the report and deliver it again.\n"
     "\nReport: {path} (report {id}), received {time}\n"},

    // Report problems (report/report_problem.hpp).
    {"problem.at_line", "line {line}: {message}"},
    {"problem.at_line_column", "line {line}, column {column}: {message}"},
    {"problem.more#one", "... and {n} more problem"},
    {"problem.more#other", "... and {n} more problems"},
    {"problem.unclosed_quote", "a quoted field starting here is never closed; check the quotes"},
    {"problem.empty_report", "the report is empty"},
    {"problem.header_without_rows", "the report has a header but no rows"},
    {"problem.line_too_long", "the line is longer than {limit} bytes"},
    {"problem.binary_data", "the file contains binary data (a NUL byte); it is not a CSV report"},
    {"problem.not_utf8", "the file is not valid UTF-8; save it as \"CSV UTF-8\""},
    {"problem.missing_column",
     "the header has no {role} column (found: {found}); name it one of: {names}"},
    {"problem.missing_column_no_names",
     "the header has no {role} column (found: no column names); name it one of: {names}"},
    {"problem.duplicate_column",
     "the header has two {role} columns: '{first}' (column {first_column}) and '{second}' "
     "(column {second_column}); keep only one"},
    {"problem.empty_name", "the {role} is empty"},
    {"problem.control_character", "the {role} contains a control character ({character}); remove it"},
    {"character.U+000A", "line break"},
    {"character.U+000D", "line break"},
    {"character.U+0009", "tab"},
    {"character.U+007F", "delete, U+007F"},
    {"problem.name_too_long", "the {role} is {length} bytes long; the limit is {limit}"},
    {"problem.too_few_columns#one", "the row has {n} column but the header needs {needed}"},
    {"problem.too_few_columns#other", "the row has {n} columns but the header needs {needed}"},
    {"problem.extra_values",
     "the row has {columns} columns but the header has {header_columns}; write numbers without "
     "separators (1000, not 1{delimiter}000) and put names that contain '{delimiter}' in quotes"},
    {"problem.extra_values_tab",
     "the row has {columns} columns but the header has {header_columns}; write numbers without "
     "separators (1000, not 1,000) and put names that contain a tab in quotes"},
    {"problem.count_empty", "the count is empty; write 0 if the item is out of stock"},
    {"problem.count_too_large", "'{found}' is larger than the maximum count {max}"},
    {"problem.count_negative", "'{found}' is negative; a count is 0 or more"},
    {"problem.count_not_whole", "'{found}' is not a whole number"},
    {"problem.count_not_whole_write", "'{found}' is not a whole number; write {write}"},
    {"problem.count_fraction", "'{found}' is not a whole number; counts are whole units"},
    {"problem.duplicate_row",
     "store '{store}' and item '{item}' are already on line {first_line}; list each item once"},

    // The stock-count template (report/template/template_writer.hpp). The
    // headers must stay names the report parser accepts (HeaderAliases),
    // except the last count's, which it must not accept.
    {"template.header.store", "Store"},
    {"template.header.item", "Item"},
    {"template.header.last_count", "Last count"},
    {"template.header.count", "Count"},
    {"template.sheet", "Stock"},
    {"template.note.last_count",
     "For reference only: the count stockwatch holds now, from the last report. This column is "
     "not read back; write the new count in the column \"{count}\"."},
    {"template.note.count",
     "Write the count of each item: a whole number, 0 if the item is out of stock. For an item "
     "that is not listed, add a row with the store, the item and its count."},
    {"template.validation.title", "Count"},
    {"template.validation.message",
     "The count is a whole number, 0 or more: write 0 if the item is out of stock."},
    {"template.mail.subject", "Stock-count sheet for {store}"},
    {"template.mail.items#one", "{n} item"},
    {"template.mail.items#other", "{n} items"},
    {"template.mail.body",
     "Attached is the stock-count sheet of {store}: {items}, with the counts stockwatch "
     "held on {time}.\n\n"
     "Fill in the column \"{count}\" with the count of each item (0 when an item is out of "
     "stock). The column \"{last_count}\" is there for reference and is not read. For an item "
     "that is not listed, add a row. Keep the header row as it is.\n\n"
     "Save the workbook as .xlsx and deliver it as the store's report, the way a CSV report is "
     "delivered.\n"},
};

bool english_is_one(std::int64_t n) { return n == 1; }

constexpr Catalog kEnglishCatalog{"en", kEnglish, english_is_one};

// Bahasa Indonesia. A key missing here is written in English.
constexpr CatalogEntry kIndonesian[] = {
    // The stock-count template.
    {"template.header.store", "Gudang"},
    {"template.header.item", "Barang"},
    {"template.header.last_count", "Hitungan terakhir"},
    {"template.header.count", "Jumlah"},
    {"template.sheet", "Stok"},
    {"template.note.last_count",
     "Hanya sebagai acuan: jumlah yang tercatat sekarang, dari laporan terakhir. Kolom ini tidak "
     "dibaca; tulis jumlah baru di kolom \"{count}\"."},
    {"template.note.count",
     "Tulis jumlah setiap barang: bilangan bulat, 0 jika barang habis. Untuk barang yang belum "
     "tercantum, tambahkan baris berisi gudang, barang, dan jumlahnya."},
    {"template.validation.title", "Jumlah"},
    {"template.validation.message",
     "Jumlah harus bilangan bulat, 0 atau lebih: tulis 0 jika barang habis."},
    {"template.mail.subject", "Lembar hitung stok untuk {store}"},
    {"template.mail.items", "{n} barang"},
    {"template.mail.body",
     "Terlampir lembar hitung stok {store}: {items}, dengan jumlah yang tercatat di "
     "stockwatch pada {time}.\n\n"
     "Isi kolom \"{count}\" dengan jumlah setiap barang (0 jika barang habis). Kolom "
     "\"{last_count}\" hanya sebagai acuan dan tidak dibaca. Untuk barang yang belum tercantum, "
     "tambahkan baris. Jangan ubah baris judul.\n\n"
     "Simpan sebagai .xlsx dan kirimkan sebagai laporan gudang, seperti laporan CSV.\n"},
};

// Indonesian nouns do not inflect for number.
bool indonesian_is_one(std::int64_t) { return false; }

constexpr Catalog kIndonesianCatalog{"id", kIndonesian, indonesian_is_one};

// Every catalog; a new language adds its table above and a line here.
constexpr const Catalog* kCatalogs[] = {&kEnglishCatalog, &kIndonesianCatalog};

}  // namespace

const Catalog& english() { return kEnglishCatalog; }

const Catalog& catalog_for(std::string_view language) {
  for (const Catalog* c : kCatalogs) {
    if (c->language() == language) return *c;
  }
  return kEnglishCatalog;
}

const std::string_view* Catalog::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e.text;
  }
  return nullptr;
}

bool Catalog::has(std::string_view key) const { return find(key) != nullptr; }

std::string_view Catalog::text(std::string_view key) const {
  if (const auto* t = find(key)) return *t;
  if (this != &kEnglishCatalog) {
    if (const auto* t = kEnglishCatalog.find(key)) return *t;
  }
  return key;
}

std::string_view Catalog::text(std::string_view key, std::int64_t n) const {
  std::string variant(key);
  variant += is_one_(n) ? "#one" : "#other";
  if (const auto* t = find(variant)) return *t;
  if (const auto* t = find(key)) return *t;
  if (this != &kEnglishCatalog) return kEnglishCatalog.text(key, n);
  return key;
}

std::string Catalog::format(std::string_view key, std::initializer_list<TextArg> args) const {
  return fill_template(text(key), std::span<const TextArg>(args.begin(), args.size()));
}

std::string fill_template(std::string_view tmpl, std::span<const TextArg> args) {
  std::string out;
  out.reserve(tmpl.size() + 32);
  std::size_t i = 0;
  while (i < tmpl.size()) {
    const std::size_t open = tmpl.find('{', i);
    if (open == std::string_view::npos) break;
    const std::size_t close = tmpl.find('}', open + 1);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(i, open - i));
    const std::string_view name = tmpl.substr(open + 1, close - open - 1);
    bool filled = false;
    for (const auto& [n, v] : args) {
      if (n == name) {
        out.append(v);
        filled = true;
        break;
      }
    }
    if (!filled) out.append(tmpl.substr(open, close - open + 1));
    i = close + 1;
  }
  out.append(tmpl.substr(i));
  return out;
}

}  // namespace stockwatch

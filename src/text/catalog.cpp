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
    // The web console (http/console/).
    {"console.title", "stockwatch"},
    {"console.skip", "Skip to the content"},
    {"console.nav.overview", "Overview"},
    {"console.nav.upload", "Upload"},
    {"console.nav.reports", "Reports"},
    {"console.nav.inventory", "Inventory"},
    {"console.nav.main", "Main"},
    {"console.signed_in_as", "Signed in as {name} ({role})"},
    {"console.role.owner", "owner"},
    {"console.role.manager", "manager of {stores}"},
    {"console.sign_out", "Sign out"},
    {"console.language", "Language"},
    {"console.language.switch", "Bahasa Indonesia"},
    {"console.sign_in.title", "Sign in"},
    {"console.sign_in.name", "Name"},
    {"console.sign_in.password", "Password"},
    {"console.sign_in.submit", "Sign in"},
    {"console.sign_in.failed", "The name or the password is wrong."},
    {"console.sign_in.slow_down", "Too many failed sign-ins. Wait {seconds} seconds, then try again."},
    {"console.sign_in.no_owner",
     "No owner account exists yet. The daemon's log holds a one-time setup link (\"console: no owner "
     "yet\"); or run: stockwatch user add NAME --role owner"},
    {"console.signed_out", "You are signed out."},
    {"console.expired", "Your session ended. Sign in again."},
    {"console.setup.title", "Create the owner account"},
    {"console.setup.intro", "This link works once. The owner may do everything, and can add the managers later with the stockwatch user command."},
    {"console.setup.password2", "Password again"},
    {"console.setup.submit", "Create the owner"},
    {"console.setup.invalid", "This setup link is used up, expired, or an owner exists already. Restart the daemon for a new link while no owner exists, or run: stockwatch user add NAME --role owner"},
    {"console.setup.mismatch", "The two passwords differ."},
    {"console.setup.short", "The password needs at least {n} characters."},
    {"console.setup.bad_name", "The name needs 1 to 64 letters, digits, '.', '-' or '_'."},
    {"console.overview.title", "Overview"},
    {"console.overview.stores#one", "{n} store"},
    {"console.overview.stores#other", "{n} stores"},
    {"console.overview.out_total#one", "{n} item out of stock"},
    {"console.overview.out_total#other", "{n} items out of stock"},
    {"console.overview.quiet_total#one", "{n} store not reporting"},
    {"console.overview.quiet_total#other", "{n} stores not reporting"},
    {"console.overview.store", "Store"},
    {"console.overview.last_report", "Last report"},
    {"console.overview.out", "Out of stock"},
    {"console.overview.quiet", "no report for over {days} days"},
    {"console.overview.never", "none yet"},
    {"console.overview.empty", "No report has been loaded yet. Upload one to begin."},
    {"console.overview.out_items", "Out of stock now"},
    {"console.overview.item", "Item"},
    {"console.overview.since", "Since"},
    {"console.overview.more", "Only the first {n} are listed."},
    {"console.overview.none_out", "Nothing is out of stock."},
    {"console.overview.sheet", "This month's sheet"},
    {"console.overview.sheet_link", "Download (.xlsx)"},
    {"console.overview.sheet_for", "Download this month's count sheet for {store}"},
    {"console.upload.title", "Upload reports"},
    {"console.upload.files", "Report files (CSV)"},
    {"console.upload.hint", "One or more reports with the columns store, item, count: CSV files (.csv) or workbooks (.xlsx from Excel, .ods from LibreOffice). Each is loaded exactly once; a file sent again is recognised as a duplicate."},
    {"console.upload.submit", "Upload"},
    {"console.upload.results", "Results"},
    {"console.upload.loaded", "Loaded: {rows} rows, {changes} changed (report {id})."},
    {"console.upload.duplicate", "Already loaded: this file is a duplicate of report {id}; nothing changed."},
    {"console.upload.rejected", "Rejected (report {id}); nothing of it was loaded. Fix these problems and upload it again:"},
    {"console.upload.waiting", "Placed in the inbox, but not loaded within {seconds} seconds. Its outcome will appear under Reports."},
    {"console.upload.no_files", "Choose at least one file."},
    {"console.upload.not_csv", "{file}: stockwatch reads reports as CSV files (.csv) or workbooks (.xlsx, .ods). Save the sheet as one of these (\"CSV UTF-8\" or \"Excel Workbook\") and upload that."},
    {"console.upload.foreign_store", "{file}: line {line} is for the store {store}, but your account may upload reports for {stores} only. Nothing of this file was loaded."},
    {"console.upload.too_large", "The files are larger than {limit} together. Upload fewer at a time, or put large reports in the inbox folder."},
    {"console.upload.failed", "{file}: could not be placed in the inbox: {error}"},
    {"console.reports.title", "Reports"},
    {"console.reports.id", "Report"},
    {"console.reports.file", "File"},
    {"console.reports.status", "Status"},
    {"console.reports.rows", "Rows"},
    {"console.reports.changes", "Changes"},
    {"console.reports.received", "Received"},
    {"console.reports.older", "Older reports"},
    {"console.reports.none", "No reports yet."},
    {"console.reports.problems", "Problems"},
    {"console.reports.download", "Download the original"},
    {"console.reports.duplicate_of", "duplicate of report {id}"},
    {"console.reports.gone", "The original file is no longer kept (inbox.archive = \"delete\", or it was removed)."},
    {"console.status.loaded", "loaded"},
    {"console.status.rejected", "rejected"},
    {"console.status.duplicate", "duplicate"},
    {"console.not_found.title", "Not found"},
    {"console.not_found.text", "There is nothing here, or it is not yours to see."},
    {"console.back", "Back to the overview"},
    {"console.refused.title", "Refused"},
    {"console.refused.cross_site", "This form was sent from another site, or it is too old. Go back, reload the page and try again."},
    {"console.error", "Something went wrong on the server: {error}"},
    {"console.nav.alerts", "Alerts"},
    {"console.nav.status", "Status"},
    {"console.alerts.title", "Alerts"},
    {"console.alerts.all", "All"},
    {"console.alerts.id", "Message"},
    {"console.alerts.created", "Queued"},
    {"console.alerts.what", "What"},
    {"console.alerts.to", "To"},
    {"console.alerts.state", "State"},
    {"console.alerts.attempts", "Attempts"},
    {"console.alerts.error", "Last error"},
    {"console.alerts.retry", "Send again"},
    {"console.alerts.retried", "Message {id} is queued again; it is sent within 30 seconds."},
    {"console.alerts.not_dead", "Message {id} is not a message that was given up on."},
    {"console.alerts.none", "No alert messages."},
    {"console.alerts.older", "Older messages"},
    {"console.state.queued", "queued"},
    {"console.state.sent", "sent"},
    {"console.state.dead", "given up"},
    {"console.status.title", "Status"},
    {"console.status.ready", "stockwatch is working."},
    {"console.status.not_ready", "stockwatch is not ready: see below."},
    {"console.status.database", "Database"},
    {"console.status.database_ok", "reachable"},
    {"console.status.inbox", "Inbox"},
    {"console.status.inbox_ok", "watched ({mode}): {path}"},
    {"console.status.inbox_bad", "not watched: {path}"},
    {"console.status.mail", "Mail"},
    {"console.status.mail_via", "leaves via {via}"},
    {"console.status.mail_idle", "nothing sent since the start"},
    {"console.status.mail_ok", "last delivery worked ({time}): {result}"},
    {"console.status.mail_bad", "last delivery failed ({time}): {result}"},
    {"console.status.outbox", "Outbox"},
    {"console.status.outbox_counts", "{queued} waiting, {dead} given up"},
    {"console.status.failures", "Failed sign-ins"},
    {"console.status.no_failures", "No failed sign-ins."},
    {"console.status.name", "Name tried"},
    {"console.status.address", "From"},
    {"console.status.when", "When"},
    {"console.inventory.title", "Inventory"},
    {"console.inventory.store", "Store"},
    {"console.inventory.all_stores", "All stores"},
    {"console.inventory.out_only", "Out of stock only"},
    {"console.inventory.show", "Show"},
    {"console.inventory.count", "Count"},
    {"console.inventory.changed", "Last change"},
    {"console.inventory.next", "Next page"},
    {"console.inventory.csv", "Download this view as CSV"},
    {"console.inventory.none", "Nothing to show."},
    {"console.inventory.search", "Item"},
    {"console.inventory.search_hint", "part of the name"},
    {"console.unsupported", "This part of the console is not available with this storage backend."},
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

    // The web console.
    {"console.title", "stockwatch"},
    {"console.skip", "Langsung ke isi"},
    {"console.nav.overview", "Ringkasan"},
    {"console.nav.upload", "Unggah"},
    {"console.nav.reports", "Laporan"},
    {"console.nav.inventory", "Persediaan"},
    {"console.nav.main", "Utama"},
    {"console.signed_in_as", "Masuk sebagai {name} ({role})"},
    {"console.role.owner", "pemilik"},
    {"console.role.manager", "pengelola {stores}"},
    {"console.sign_out", "Keluar"},
    {"console.language", "Bahasa"},
    {"console.language.switch", "English"},
    {"console.sign_in.title", "Masuk"},
    {"console.sign_in.name", "Nama"},
    {"console.sign_in.password", "Kata sandi"},
    {"console.sign_in.submit", "Masuk"},
    {"console.sign_in.failed", "Nama atau kata sandi salah."},
    {"console.sign_in.slow_down", "Terlalu banyak percobaan masuk yang gagal. Tunggu {seconds} detik, lalu coba lagi."},
    {"console.sign_in.no_owner",
     "Belum ada akun pemilik. Log daemon memuat tautan penyiapan sekali pakai (\"console: no owner "
     "yet\"); atau jalankan: stockwatch user add NAMA --role owner"},
    {"console.signed_out", "Anda sudah keluar."},
    {"console.expired", "Sesi Anda berakhir. Silakan masuk lagi."},
    {"console.setup.title", "Buat akun pemilik"},
    {"console.setup.intro", "Tautan ini hanya berlaku sekali. Pemilik boleh melakukan apa saja, dan dapat menambah pengelola nanti dengan perintah stockwatch user."},
    {"console.setup.password2", "Ulangi kata sandi"},
    {"console.setup.submit", "Buat pemilik"},
    {"console.setup.invalid", "Tautan penyiapan ini sudah terpakai, kedaluwarsa, atau pemilik sudah ada. Jalankan ulang daemon untuk tautan baru selama belum ada pemilik, atau jalankan: stockwatch user add NAMA --role owner"},
    {"console.setup.mismatch", "Kedua kata sandi berbeda."},
    {"console.setup.short", "Kata sandi minimal {n} karakter."},
    {"console.setup.bad_name", "Nama harus 1 sampai 64 huruf, angka, '.', '-' atau '_'."},
    {"console.overview.title", "Ringkasan"},
    {"console.overview.stores", "{n} toko"},
    {"console.overview.out_total", "{n} barang habis"},
    {"console.overview.quiet_total", "{n} toko tidak melapor"},
    {"console.overview.store", "Toko"},
    {"console.overview.last_report", "Laporan terakhir"},
    {"console.overview.out", "Stok habis"},
    {"console.overview.quiet", "tidak ada laporan lebih dari {days} hari"},
    {"console.overview.never", "belum ada"},
    {"console.overview.empty", "Belum ada laporan yang dimuat. Unggah satu untuk memulai."},
    {"console.overview.out_items", "Stok habis sekarang"},
    {"console.overview.item", "Barang"},
    {"console.overview.since", "Sejak"},
    {"console.overview.more", "Hanya {n} yang pertama ditampilkan."},
    {"console.overview.none_out", "Tidak ada stok yang habis."},
    {"console.overview.sheet", "Lembar bulan ini"},
    {"console.overview.sheet_link", "Unduh (.xlsx)"},
    {"console.overview.sheet_for", "Unduh lembar hitung stok bulan ini untuk {store}"},
    {"console.upload.title", "Unggah laporan"},
    {"console.upload.files", "Berkas laporan (CSV)"},
    {"console.upload.hint", "Satu atau beberapa laporan dengan kolom store, item, count: berkas CSV (.csv) atau buku kerja (.xlsx dari Excel, .ods dari LibreOffice). Setiap berkas dimuat tepat sekali; berkas yang dikirim lagi dikenali sebagai duplikat."},
    {"console.upload.submit", "Unggah"},
    {"console.upload.results", "Hasil"},
    {"console.upload.loaded", "Dimuat: {rows} baris, {changes} berubah (laporan {id})."},
    {"console.upload.duplicate", "Sudah pernah dimuat: berkas ini duplikat laporan {id}; tidak ada yang berubah."},
    {"console.upload.rejected", "Ditolak (laporan {id}); tidak ada yang dimuat. Perbaiki masalah berikut lalu unggah lagi:"},
    {"console.upload.waiting", "Sudah ditaruh di kotak masuk, tetapi belum dimuat dalam {seconds} detik. Hasilnya akan muncul di Laporan."},
    {"console.upload.no_files", "Pilih setidaknya satu berkas."},
    {"console.upload.not_csv", "{file}: stockwatch membaca laporan berupa berkas CSV (.csv) atau buku kerja (.xlsx, .ods). Simpan lembar kerja dalam salah satu bentuk itu (\"CSV UTF-8\" atau \"Excel Workbook\") lalu unggah."},
    {"console.upload.foreign_store", "{file}: baris {line} untuk toko {store}, tetapi akun Anda hanya boleh mengunggah laporan untuk {stores}. Tidak ada isi berkas ini yang dimuat."},
    {"console.upload.too_large", "Berkas-berkas ini bersama lebih besar dari {limit}. Unggah lebih sedikit sekaligus, atau taruh laporan besar di folder kotak masuk."},
    {"console.upload.failed", "{file}: tidak dapat ditaruh di kotak masuk: {error}"},
    {"console.reports.title", "Laporan"},
    {"console.reports.id", "Laporan"},
    {"console.reports.file", "Berkas"},
    {"console.reports.status", "Status"},
    {"console.reports.rows", "Baris"},
    {"console.reports.changes", "Perubahan"},
    {"console.reports.received", "Diterima"},
    {"console.reports.older", "Laporan lebih lama"},
    {"console.reports.none", "Belum ada laporan."},
    {"console.reports.problems", "Masalah"},
    {"console.reports.download", "Unduh berkas asli"},
    {"console.reports.duplicate_of", "duplikat laporan {id}"},
    {"console.reports.gone", "Berkas asli tidak disimpan lagi (inbox.archive = \"delete\", atau sudah dihapus)."},
    {"console.status.loaded", "dimuat"},
    {"console.status.rejected", "ditolak"},
    {"console.status.duplicate", "duplikat"},
    {"console.not_found.title", "Tidak ditemukan"},
    {"console.not_found.text", "Tidak ada apa-apa di sini, atau ini bukan untuk Anda."},
    {"console.back", "Kembali ke ringkasan"},
    {"console.refused.title", "Ditolak"},
    {"console.refused.cross_site", "Formulir ini dikirim dari situs lain, atau sudah terlalu lama. Kembali, muat ulang halaman, lalu coba lagi."},
    {"console.error", "Terjadi kesalahan di server: {error}"},
    {"console.nav.alerts", "Peringatan"},
    {"console.nav.status", "Status"},
    {"console.alerts.title", "Peringatan"},
    {"console.alerts.all", "Semua"},
    {"console.alerts.id", "Pesan"},
    {"console.alerts.created", "Diantrekan"},
    {"console.alerts.what", "Isi"},
    {"console.alerts.to", "Kepada"},
    {"console.alerts.state", "Keadaan"},
    {"console.alerts.attempts", "Percobaan"},
    {"console.alerts.error", "Kesalahan terakhir"},
    {"console.alerts.retry", "Kirim lagi"},
    {"console.alerts.retried", "Pesan {id} diantrekan lagi; dikirim dalam 30 detik."},
    {"console.alerts.not_dead", "Pesan {id} bukan pesan yang sudah menyerah dikirim."},
    {"console.alerts.none", "Tidak ada pesan peringatan."},
    {"console.alerts.older", "Pesan lebih lama"},
    {"console.state.queued", "menunggu"},
    {"console.state.sent", "terkirim"},
    {"console.state.dead", "menyerah"},
    {"console.status.title", "Status"},
    {"console.status.ready", "stockwatch berjalan baik."},
    {"console.status.not_ready", "stockwatch belum siap: lihat di bawah."},
    {"console.status.database", "Basis data"},
    {"console.status.database_ok", "dapat dijangkau"},
    {"console.status.inbox", "Kotak masuk"},
    {"console.status.inbox_ok", "diawasi ({mode}): {path}"},
    {"console.status.inbox_bad", "tidak diawasi: {path}"},
    {"console.status.mail", "Surel"},
    {"console.status.mail_via", "keluar lewat {via}"},
    {"console.status.mail_idle", "belum ada yang dikirim sejak mulai"},
    {"console.status.mail_ok", "pengiriman terakhir berhasil ({time}): {result}"},
    {"console.status.mail_bad", "pengiriman terakhir gagal ({time}): {result}"},
    {"console.status.outbox", "Kotak keluar"},
    {"console.status.outbox_counts", "{queued} menunggu, {dead} menyerah"},
    {"console.status.failures", "Gagal masuk"},
    {"console.status.no_failures", "Tidak ada percobaan masuk yang gagal."},
    {"console.status.name", "Nama yang dicoba"},
    {"console.status.address", "Dari"},
    {"console.status.when", "Kapan"},
    {"console.inventory.title", "Persediaan"},
    {"console.inventory.store", "Toko"},
    {"console.inventory.all_stores", "Semua toko"},
    {"console.inventory.out_only", "Hanya yang habis"},
    {"console.inventory.show", "Tampilkan"},
    {"console.inventory.count", "Jumlah"},
    {"console.inventory.changed", "Perubahan terakhir"},
    {"console.inventory.next", "Halaman berikutnya"},
    {"console.inventory.csv", "Unduh tampilan ini sebagai CSV"},
    {"console.inventory.none", "Tidak ada yang ditampilkan."},
    {"console.inventory.search", "Barang"},
    {"console.inventory.search_hint", "sebagian nama"},
    {"console.unsupported", "Bagian konsol ini tidak tersedia dengan penyimpanan ini."},
};

// Indonesian nouns do not change with the number.
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

#include "http/console/console.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>

#include "base/guard.hpp"
#include "crypto/digest.hpp"
#include "crypto/password.hpp"
#include "daemon/metrics.hpp"
#include "http/console/forecast_pages.hpp"
#include "http/console/form.hpp"
#include "http/console/pages.hpp"
#include "http/console/script.hpp"
#include "http/console/sessions.hpp"
#include "http/failure_throttle.hpp"
#include "mailbox/mime_mail.hpp"
#include "notify/alert.hpp"
#include "notify/report_missing.hpp"
#include "notify/webhook.hpp"
#include "os/beneath.hpp"
#include "os/file_ops.hpp"
#include "pipeline/template_source.hpp"
#include "report/template/template_writer.hpp"
#include "report/report_format.hpp"
#include "report/store_check.hpp"
#include "store/account_store.hpp"
#include "store/item_names.hpp"
#include "store/sorted_inventory.hpp"
#include "store/storage.hpp"

namespace stockwatch::console {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kPrefix = "/_console/";
constexpr std::size_t kFormLimit = 64 * 1024;
constexpr int kOutOfStockListed = 50;
constexpr int kReportsPerPage = 50;
// Outbox messages read at most for one page of a manager's alerts.
constexpr std::int64_t kManagerAlertsScan = 2000;
constexpr std::size_t kOutcomeEvents = 20;   // alerts listed per uploaded report
// The store figures are read again when one of the ledger's newest
// kLedgerMark entries is new or changed state, or when they are this old.
constexpr int kLedgerMark = 20;
constexpr auto kSummaryKeep = std::chrono::seconds(30);
constexpr int kInventoryPerPage = 100;
// How often the inventory sorted in memory is brought up to the newest
// loaded report (Console::Impl::keep_sorted_current).
constexpr auto kSortedRefresh = std::chrono::seconds(1);
// The inventory sorted by count or by last change: its first rows kept in
// memory for every worker (Impl::sorted_rows), at most this many rows of
// at most kSortedViews views (filters), the least recently used dropped.
constexpr std::size_t kSortedKept = 1000;
constexpr std::size_t kSortedViews = 32;
constexpr std::size_t kCsvRows = 1'000'000;
constexpr std::uint64_t kDownloadLimit = 64ULL * 1024 * 1024;

// What the worker needs of a request: copied on the HTTP thread.
struct PageRequest {
  bhttp::verb method = bhttp::verb::get;
  std::string path, query, body, remote, cookie, accept_language, origin, fetch_site, host,
      content_type, authorization;
};

std::string field(const http::RequestHead& head, bhttp::field f) {
  const auto v = head[f];
  return std::string(v.data(), v.size());
}
std::string field(const http::RequestHead& head, const char* name) {
  const auto v = head[name];
  return std::string(v.data(), v.size());
}

// A file name a browser sent, made safe for an inbox path: its last
// segment, letters, digits, '.', '-' and '_' only, at most 100 bytes.
std::string safe_file_name(std::string_view name) {
  if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  std::string out;
  for (unsigned char c : name) out += (std::isalnum(c) || c == '.' || c == '-' || c == '_') ? char(c) : '_';
  while (!out.empty() && out.front() == '.') out.erase(out.begin());
  if (out.size() > 100) out = out.substr(out.size() - 100);
  if (!report_format(out)) out += ".csv";
  return out;
}

std::string human_bytes(std::uint64_t n) {
  if (n >= 1024 * 1024) return std::to_string(n / (1024 * 1024)) + " MiB";
  if (n >= 1024) return std::to_string(n / 1024) + " KiB";
  return std::to_string(n) + " B";
}

std::string stores_list(const std::vector<std::string>& stores) {
  std::string out;
  for (const auto& s : stores) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

struct Console::Impl : std::enable_shared_from_this<Console::Impl> {
  Impl(const Config& config, const Clock& clock, Metrics& metrics, HealthSource health,
       asio::any_io_executor http_executor, PlaceReport place_report,
       std::shared_ptr<ItemNames> item_names, std::shared_ptr<SortedInventory> sorted)
      : cfg(config.console),
        max_upload_bytes(config.console.max_upload_bytes),
        warn_days(config.alerts.warn_days_ahead),
        keep_days(config.alerts.transfer_keep_days),
        default_minimum(config.alerts.default_minimum),
        report(config.report),
        scratch(config.storage.scratch_dir()),
        processed(config.inbox.processed),
        failed(config.inbox.failed),
        clock(clock),
        metrics(metrics),
        http(std::move(http_executor)),
        place(std::move(place_report)),
        storage(Storage::open(config.storage.location(), storage_options(config, std::move(item_names), sorted),
                              clock)),
        sorted_inventory(std::move(sorted)),
        accounts(AccountStore::open(config.storage.location(), StorageOptions::from(config.storage), clock)),
        sessions(*accounts, clock, policy(cfg)),
        health(health),
        api_routes(*storage, metrics, std::move(health)),
        by_name(clock),
        by_address(clock) {}

  // [storage]'s options, with the item names and the sorted inventory every
  // worker shares.
  static StorageOptions storage_options(const Config& config, std::shared_ptr<ItemNames> names,
                                        std::shared_ptr<SortedInventory> sorted) {
    auto options = StorageOptions::from(config.storage);
    options.item_names = std::move(names);
    options.sorted_inventory = std::move(sorted);
    return options;
  }

  static SessionPolicy policy(const ConsoleConfig& c) {
    return {std::chrono::minutes(c.session_idle_minutes), std::chrono::hours(c.session_max_hours)};
  }

  ConsoleConfig cfg;   // the worker's
  // [console] max_upload_bytes, which route() reads on the HTTP thread while
  // a reload may set it from another: the one setting both threads read.
  std::atomic<std::uint64_t> max_upload_bytes;
  int warn_days = 14;   // [alerts] warn_days_ahead: "running out soon" on the overview
  int keep_days = 30;   // [alerts] transfer_keep_days: transfer suggestions
  std::int64_t default_minimum = 0;   // [alerts] default_minimum
  ReportConfig report;
  std::filesystem::path scratch;  // where a sheet is written before it is sent
  std::filesystem::path processed, failed;
  const Clock& clock;
  Metrics& metrics;   // the page-time histogram
  asio::any_io_executor http;
  PlaceReport place;

  // The worker: its own loop, thread and connections.
  asio::io_context ioc{1};
  std::unique_ptr<asio::steady_timer> sorted_timer;   // keep_sorted_current()
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::unique_ptr<Storage> storage;
  std::shared_ptr<SortedInventory> sorted_inventory;   // the one every worker's storage shares
  std::unique_ptr<AccountStore> accounts;
  Sessions sessions;
  HealthSource health;
  HttpRoutes api_routes;
  http::FailureThrottle by_name, by_address;
  std::map<std::string, TimePoint> not_before;   // sign-in attempts refused until then
  std::string dummy_hash;                        // verified for unknown names, for even timing
  // Numbers the uploads of every worker (the inbox names), shared by them.
  std::shared_ptr<std::atomic<std::uint64_t>> uploads =
      std::make_shared<std::atomic<std::uint64_t>>(0);
  // Pages given to this worker and not yet rendered: route() gives a page
  // to the worker with the fewest.
  std::atomic<int> pending{0};
  // The figures of every store (Storage::store_summaries), for the overview
  // and the inventory's store list, kept while the ledger's newest entries
  // stay the same (only a report changes them), for at most kSummaryKeep.
  struct SummaryCache {
    std::string ledger;
    TimePoint at{};
    std::vector<StoreOverview> stores;
  };
  // The overview's forecast panel (running out soon, transfers) of one
  // scope (the owner's "*", or a manager's stores), kept by the same rule
  // as the store figures: while the ledger's newest entries stay the same,
  // for at most kSummaryKeep.
  struct ForecastCache {
    std::string ledger;
    TimePoint at{};
    ForecastOverview panel;
  };
  // The first kSortedKept rows of one view of the inventory sorted by count
  // or by last change (Impl::sorted_rows), kept while the ledger's newest
  // entries stay the same: only a loaded report changes the inventory.
  struct SortedCache {
    std::string ledger;
    std::vector<InventoryRow> rows;
    bool whole = false;    // `rows` are every row of the view
    std::uint64_t used = 0;   // when last served (SharedCaches::uses), to drop the least recent
  };
  // Both kept once for every worker: a panel read by one worker serves the
  // others (each reading its own would multiply the panel's cost).
  struct SharedCaches {
    std::mutex mu;                            // the two below
    std::optional<SummaryCache> summary;
    std::map<std::string, ForecastCache> forecast;
    std::mutex reading_forecast;              // one worker reads a missing panel, the others wait
    std::map<std::string, SortedCache> sorted;   // by sorted_key()
    std::uint64_t uses = 0;
    std::mutex reading_sorted;                // one worker sorts a missing view, the others wait
  };
  std::shared_ptr<SharedCaches> caches = std::make_shared<SharedCaches>();
  std::string ledger_mark;   // the ledger's newest entries, as store_summaries() last read them

  // --- Plumbing ------------------------------------------------------------

  // The ledger's newest entries (their ids and states), which change when a
  // report is loaded: what the shared caches are kept by.
  Result<std::string> ledger_now() {
    auto newest = storage->reports_page(0, std::nullopt, kLedgerMark);
    if (!newest) return newest.error();
    std::string ledger;
    for (const auto& r : *newest) ledger += std::to_string(r.id) + to_string(r.status) + ",";
    return ledger;
  }

  Result<std::vector<StoreOverview>> store_summaries() {
    auto mark = ledger_now();
    if (!mark) return mark.error();
    std::string ledger = std::move(*mark);
    ledger_mark = ledger;
    const auto now = clock.now();
    {
      const std::lock_guard lock(caches->mu);
      const auto& cached = caches->summary;
      if (cached && cached->ledger == ledger && now >= cached->at && now - cached->at < kSummaryKeep) {
        return cached->stores;
      }
    }
    auto all = storage->store_summaries();
    if (!all) return all.error();
    const std::lock_guard lock(caches->mu);
    caches->summary = SummaryCache{std::move(ledger), now, *all};
    return all;
  }

  // A page of the inventory sorted by count or by last change. The storage
  // serves these from the inventory kept sorted in memory
  // (store/sorted_inventory.hpp); past [console] sorted_rows rows (or with
  // 0) it sorts in the database, which over every store of a large
  // inventory reads every row: a large part of a second. For that case the
  // first kSortedKept rows of a view are read once, by one worker, and kept
  // for every worker until a report is loaded (the ledger's newest entries
  // change); its first pages, and those that go on from a row among them,
  // are then read from memory. A page beyond them reads the storage again.
  static std::string sorted_key(const InventoryQuery& q) {
    // Each name with its length in front: no two views share a key, whatever
    // the names hold.
    const auto part = [](const std::optional<std::string>& v) {
      return v ? std::to_string(v->size()) + ":" + *v : std::string("-");
    };
    std::string key = q.order == InventoryOrder::kCount ? "count" : "changed";
    key += q.out_of_stock_only ? "|out|" : "|all|";
    key += part(q.store) + "|" + part(q.item_contains);
    return key;
  }

  // `q`'s page from a kept view, or nullopt when the view does not hold it.
  static std::optional<std::vector<InventoryRow>> page_of(const SortedCache& c,
                                                           const InventoryQuery& q) {
    std::size_t start = 0;
    if (q.after) {
      const auto it = std::find_if(c.rows.begin(), c.rows.end(), [&](const InventoryRow& r) {
        return r.store == q.after->first && r.item == q.after->second;
      });
      if (it == c.rows.end()) return std::nullopt;
      start = static_cast<std::size_t>(it - c.rows.begin()) + 1;
    }
    const std::size_t end = start + static_cast<std::size_t>(std::max(q.limit, 0));
    if (end > c.rows.size() && !c.whole) return std::nullopt;
    return std::vector<InventoryRow>(c.rows.begin() + static_cast<std::ptrdiff_t>(start),
                                     c.rows.begin() + static_cast<std::ptrdiff_t>(
                                                          std::min(end, c.rows.size())));
  }

  Result<std::vector<InventoryRow>> sorted_rows(const InventoryQuery& q) {
    auto ledger = ledger_now();
    if (!ledger) return ledger.error();
    const std::string key = sorted_key(q);
    const auto kept = [&]() -> std::optional<std::vector<InventoryRow>> {
      const std::lock_guard lock(caches->mu);
      const auto it = caches->sorted.find(key);
      if (it == caches->sorted.end() || it->second.ledger != *ledger) return std::nullopt;
      it->second.used = ++caches->uses;
      return page_of(it->second, q);
    };
    if (auto page = kept()) return std::move(*page);
    {
      const std::lock_guard reading(caches->reading_sorted);
      if (auto page = kept()) return std::move(*page);
      bool current = false;
      {
        const std::lock_guard lock(caches->mu);
        const auto it = caches->sorted.find(key);
        current = it != caches->sorted.end() && it->second.ledger == *ledger;
      }
      if (!current) {
        InventoryQuery first = q;
        first.after.reset();
        first.limit = static_cast<int>(kSortedKept) + 1;
        auto rows = storage->list_inventory(first);
        if (!rows) return rows.error();
        SortedCache c;
        c.ledger = *ledger;
        c.whole = rows->size() <= kSortedKept;
        if (!c.whole) rows->resize(kSortedKept);
        c.rows = std::move(*rows);
        auto page = page_of(c, q);
        const std::lock_guard lock(caches->mu);
        c.used = ++caches->uses;
        caches->sorted[key] = std::move(c);
        while (caches->sorted.size() > kSortedViews) {
          auto oldest = caches->sorted.begin();
          for (auto it = caches->sorted.begin(); it != caches->sorted.end(); ++it) {
            if (it->second.used < oldest->second.used) oldest = it;
          }
          caches->sorted.erase(oldest);
        }
        if (page) return std::move(*page);
      }
    }
    return storage->list_inventory(q);   // beyond the kept rows
  }

  // Reads the item names every worker shares (store/item_names.hpp) now, as
  // the first search or listing by item would, so that no page waits for it.
  void read_item_names() {
    InventoryQuery q;
    q.item_contains = std::string();   // every name holds the empty text
    q.limit = 1;
    if (auto r = storage->list_inventory(q); !r) {
      spdlog::warn("console: cannot read the item names yet: {}", r.error().message());
    }
  }

  // The keeper of the inventory sorted in memory
  // (store/sorted_inventory.hpp), on this worker's thread: once a page
  // sorted by count or last change has asked for it, it brings the copy up
  // to the newest loaded report, reading it whole the first time and after
  // a report that changed very many rows (a page that needs that wakes it
  // at once, and sorts in the database meanwhile), and every
  // kSortedRefresh, so that the next such page finds nothing to read.
  // Counted as a page waiting, so that route() sends pages elsewhere.
  void keep_sorted_once(const SortedInventory& sorted) {
    if (!sorted.wanted()) return;
    ++pending;
    guarded("console: sorted inventory", [&] {
      if (auto st = storage->keep_sorted_inventory(); !st.ok()) {
        spdlog::warn("console: cannot bring the sorted inventory up to date: {}",
                     st.error().message());
      }
    })();
    --pending;
  }
  void keep_sorted_current(std::shared_ptr<SortedInventory> sorted) {
    if (!sorted_timer) sorted_timer = std::make_unique<asio::steady_timer>(ioc);
    sorted_timer->expires_after(kSortedRefresh);
    sorted_timer->async_wait([this, sorted](const boost::system::error_code& ec) {
      if (ec) return;
      keep_sorted_once(*sorted);
      keep_sorted_current(sorted);
    });
  }

  template <typename F>
  void on_worker(const char* what, F&& f) {
    asio::post(ioc, guarded(what, std::forward<F>(f)));
  }

  View view_for(const PageRequest& req, const std::optional<SignedIn>& who) {
    View v;
    std::string lang = pick_language(req.accept_language);
    if (who) {
      v.account = who->account;
      v.csrf = who->session.csrf;
      if (!who->account.language.empty()) lang = who->account.language;
    }
    v.text = &catalog_for(lang);
    v.path = req.path;
    return v;
  }

  http::Response error_page(const View& v, const std::string& what) {
    spdlog::error("console: {}", what);
    return page_response(500, message_page(v, v.t("console.refused.title"),
                                           v.f("console.error", {{"error", what}})));
  }
  http::Response not_found_page(const View& v) {
    return page_response(404, message_page(v, v.t("console.not_found.title"), v.t("console.not_found.text")));
  }
  http::Response refused_page(const View& v) {
    return page_response(403, message_page(v, v.t("console.refused.title"), v.t("console.refused.cross_site")));
  }

  // --- Dispatch (worker) ---------------------------------------------------

  void handle(PageRequest req, http::Reply reply) {
    std::optional<SignedIn> who;
    if (!req.cookie.empty()) {
      if (auto value = cookie_value(req.cookie, kSessionCookie)) {
        auto checked = sessions.check(*value);
        if (!checked) {
          View v = view_for(req, std::nullopt);
          return reply(error_page(v, checked.error().message()));
        }
        who = std::move(*checked);
      }
    }
    View v = view_for(req, who);
    const std::string_view page = std::string_view(req.path).substr(kPrefix.size());
    const bool post = req.method == bhttp::verb::post;
    const bool get = req.method == bhttp::verb::get || req.method == bhttp::verb::head;
    if (!post && !get) {
      auto res = page_response(405, message_page(v, v.t("console.refused.title"), "GET, HEAD, POST"));
      res.set(bhttp::field::allow, "GET, HEAD, POST");
      return reply(std::move(res));
    }
    if (post && !same_origin(req.origin, req.fetch_site, req.host)) {
      spdlog::warn("console {}: POST {} refused: from another site (Origin '{}', Sec-Fetch-Site '{}')",
                   req.remote, req.path, req.origin.substr(0, 100), req.fetch_site.substr(0, 30));
      return reply(refused_page(v));
    }
    // Pages open to anyone.
    if (page == "sign-in") return reply(post ? sign_in(req, v) : sign_in_form(v, who.has_value()));
    if (page == "setup") return reply(post ? setup(req, v) : setup_form(req, v));
    if (!who) {
      if (get) return reply(redirect("/_console/sign-in"));
      return reply(page_response(401, sign_in_page(v, v.t("console.expired"), "", false)));
    }
    // Signed in. Every POST carries the session's token.
    std::map<std::string, std::string> form;
    std::optional<std::vector<FormPart>> parts;
    if (post) {
      std::string csrf;
      if (page == "upload") {
        parts = parse_multipart(req.content_type, req.body);
        if (parts) {
          for (const auto& p : *parts) {
            if (!p.is_file && p.name == "csrf") csrf = p.data;
          }
        }
      } else {
        form = parse_urlencoded(req.body);
        csrf = form["csrf"];
      }
      if (!Sessions::csrf_ok(who->session, csrf)) {
        spdlog::warn("console {}: POST {} by {} refused: no or wrong form token", req.remote,
                     req.path, who->account.name);
        return reply(refused_page(v));
      }
    }
    if (page == "sign-out" && post) return reply(sign_out(req));
    if (page == "language" && post) return reply(language(form, *who));
    if (page.empty() && get) return reply(overview(v, who->account));
    if (page == "upload" && get) return reply(page_response(200, upload_page(v, {}, "")));
    if (page == "upload" && post) return upload(std::move(req), v, *who, std::move(parts), std::move(reply));
    if (page == "reports" && get) return reply(reports(req, v, who->account));
    if (page == "inventory" && get) return reply(inventory(req, v, who->account, false));
    if (page == "item" && get) return reply(item(req, v, who->account));
    // A manager's alerts: the messages about their stores only.
    if (page == "alerts" && get) return reply(alerts(req, v, who->account, ""));
    if (page.substr(0, 7) == "alerts/" && get) {
      return reply(message(page.substr(7), v, who->account));
    }
    // The owner's pages; to a manager they do not exist.
    if (who->account.role == AccountRole::kOwner) {
      if (page.substr(0, 7) == "alerts/" && post) {
        return reply(retry(page.substr(7), req, v, who->account));
      }
      if (page == "status" && get) return reply(status(v));
    }
    if (page == "inventory.csv" && get) return reply(inventory(req, v, who->account, true));
    if (page == "sheet" && get) return reply(sheet(req, v, who->account));
    if (page.substr(0, 8) == "reports/" && get) return reply(report_detail(page.substr(8), v, who->account));
    return reply(not_found_page(v));
  }

  // --- Sign-in, setup, sign-out, language ----------------------------------

  http::Response sign_in_form(const View& v, bool signed_in) {
    if (signed_in) return redirect("/_console/");
    auto owners = accounts->owner_count();
    return page_response(200, sign_in_page(v, "", "", owners && *owners == 0));
  }

  http::Response sign_in(const PageRequest& req, const View& v) {
    auto form = parse_urlencoded(req.body);
    const std::string name = form["name"].substr(0, 200);
    const std::string& password = form["password"];
    const std::string address = http::throttle_group(http::client_address(req.remote));
    const auto now = clock.now();
    const std::string name_key = "n:" + name, address_key = "a:" + address;
    Duration wait{0};
    for (const auto& key : {name_key, address_key}) {
      if (auto it = not_before.find(key); it != not_before.end() && it->second > now) {
        wait = std::max(wait, std::chrono::duration_cast<Duration>(it->second - now));
      }
    }
    if (wait.count() > 0) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait).count() + 1;
      return page_response(429, sign_in_page(v, v.f("console.sign_in.slow_down",
                                                    {{"seconds", std::to_string(seconds)}}),
                                             name, false));
    }
    auto account = accounts->account_by_name(name);
    if (!account) return error_page(v, account.error().message());
    bool ok = false;
    if (*account) {
      ok = verify_password(password, (*account)->password_hash);
    } else {
      if (dummy_hash.empty()) {
        if (auto h = hash_password(random_token(16))) dummy_hash = *h;
      }
      (void)verify_password(password, dummy_hash);   // the same work as for a real name
    }
    if (!ok) {
      const auto a = by_name.failed(name_key);
      const auto b = by_address.failed(address_key);
      if (not_before.size() > 10'000) {
        std::erase_if(not_before, [&](const auto& kv) { return kv.second <= now; });
      }
      not_before[name_key] = now + a.delay;
      not_before[address_key] = now + b.delay;
      spdlog::warn("console {}: failed sign-in as '{}' ({} recent for this name, {} from {})",
                   req.remote, name.substr(0, 64), a.failures, b.failures, address);
      (void)accounts->record_sign_in_failure({name, address, now});
      return page_response(401, sign_in_page(v, v.t("console.sign_in.failed"), name, false));
    }
    return start_session(**account, req);
  }

  http::Response start_session(const Account& account, const PageRequest& req) {
    auto started = sessions.start(account);
    if (!started) return error_page(View{}, started.error().message());
    spdlog::info("console {}: {} signed in", req.remote, account.name);
    auto res = redirect("/_console/");
    res.set(bhttp::field::set_cookie, Sessions::cookie(started->cookie_value, cfg.behind_tls));
    return res;
  }

  http::Response setup_form(const PageRequest& req, const View& v) {
    std::string token;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "token") token = value;
    }
    auto owners = accounts->owner_count();
    if (!owners) return error_page(v, owners.error().message());
    if (*owners > 0 || token.empty()) {
      return page_response(404, message_page(v, v.t("console.setup.title"), v.t("console.setup.invalid")));
    }
    return page_response(200, setup_page(v, token, ""));
  }

  http::Response setup(const PageRequest& req, const View& v) {
    auto form = parse_urlencoded(req.body);
    const std::string& token = form["token"];
    const std::string& name = form["name"];
    const std::string& password = form["password"];
    if (!valid_account_name(name)) return page_response(400, setup_page(v, token, v.t("console.setup.bad_name")));
    if (password.size() < kMinPasswordLength) {
      return page_response(400, setup_page(v, token, v.f("console.setup.short",
                                                         {{"n", std::to_string(kMinPasswordLength)}})));
    }
    if (password != form["password2"]) return page_response(400, setup_page(v, token, v.t("console.setup.mismatch")));
    auto hash = hash_password(password);
    if (!hash) return error_page(v, hash.error().message());
    Account owner;
    owner.name = name;
    owner.role = AccountRole::kOwner;
    owner.password_hash = *hash;
    owner.language = std::string(v.text->language());
    auto id = accounts->redeem_setup_token(token_digest(token), clock.now(), owner);
    if (!id) return error_page(v, id.error().message());
    if (!*id) {
      spdlog::warn("console {}: a setup link that is used up, expired or unknown was tried", req.remote);
      return page_response(404, message_page(v, v.t("console.setup.title"), v.t("console.setup.invalid")));
    }
    owner.id = **id;
    spdlog::info("console {}: the owner account '{}' was created through the setup link", req.remote, name);
    return start_session(owner, req);
  }

  http::Response sign_out(const PageRequest& req) {
    if (auto value = cookie_value(req.cookie, kSessionCookie)) (void)sessions.end(*value);
    auto res = redirect("/_console/sign-in");
    res.set(bhttp::field::set_cookie, Sessions::clear_cookie(cfg.behind_tls));
    return res;
  }

  http::Response language(std::map<std::string, std::string>& form, const SignedIn& who) {
    const std::string to = form["to"] == "id" ? "id" : "en";
    (void)accounts->set_language(who.account.id, to);
    std::string back = form["back"];
    // Only a page of the console, never another site.
    if (back.rfind(kPrefix, 0) != 0 || back.find("//") != std::string::npos) back = "/_console/";
    return redirect(back);
  }

  // --- Overview -------------------------------------------------------------

  http::Response overview(const View& v, const Account& account) {
    auto all = store_summaries();
    if (!all) return error_page(v, all.error().message());
    OverviewData d;
    d.quiet_days = cfg.quiet_store_days;
    d.now = clock.now();
    for (auto& s : *all) {
      if (account.sees(s.store)) d.stores.push_back(std::move(s));
    }
    std::vector<std::optional<std::string>> scopes;
    if (account.role == AccountRole::kOwner) scopes.push_back(std::nullopt);
    else for (const auto& s : account.stores) scopes.emplace_back(s);
    for (const auto& scope : scopes) {
      InventoryQuery q;
      q.store = scope;
      q.out_of_stock_only = true;
      q.limit = kOutOfStockListed + 1 - static_cast<int>(d.out_of_stock.size());
      if (q.limit <= 0) break;
      auto rows = storage->list_inventory(q);
      if (!rows) return error_page(v, rows.error().message());
      for (auto& r : *rows) d.out_of_stock.push_back(std::move(r));
    }
    if (d.out_of_stock.size() > static_cast<std::size_t>(kOutOfStockListed)) {
      d.out_of_stock.resize(kOutOfStockListed);
      d.more_out_of_stock = true;
    }
    d.forecast = forecast_overview(v, forecast_panel(account, scopes, d.out_of_stock));
    return page_response(200, overview_page(v, d));
  }

  // Running out soon (as the running_out alert judges) and transfers for the items out
  // of stock; a backend without use rates leaves both lists empty. Read once per change
  // of the ledger (ledger_mark, read by store_summaries() just before) and scope.
  ForecastOverview forecast_panel(const Account& account,
                                         const std::vector<std::optional<std::string>>& scopes,
                                         const std::vector<InventoryRow>& out_of_stock) {
    std::string key = account.role == AccountRole::kOwner ? "*" : "";
    if (key.empty()) {
      for (const auto& s : account.stores) key += s + '\n';
    }
    const auto now = clock.now();
    const auto cached = [&]() -> std::optional<ForecastOverview> {
      const std::lock_guard lock(caches->mu);
      if (auto it = caches->forecast.find(key); it != caches->forecast.end() &&
          it->second.ledger == ledger_mark && now >= it->second.at &&
          now - it->second.at < kSummaryKeep) {
        return it->second.panel;
      }
      return std::nullopt;
    };
    if (auto panel = cached()) return std::move(*panel);
    const std::lock_guard reading(caches->reading_forecast);
    if (auto panel = cached()) return std::move(*panel);   // another worker read it meanwhile
    ForecastOverview fo;
    fo.warn_days = warn_days;
    for (const auto& scope : scopes) {
      auto soon = storage->usage_by_cover(scope, kOutOfStockListed);
      if (!soon) break;
      for (auto& r : *soon) {
        // The horizon of the running_out alert (pipeline/usage.hpp).
        const Forecast f = forecast(r.figures, r.count, r.as_of_day);
        if (runs_out_within(f, r.as_of_day, warn_horizon_days(warn_days, r.gap_days))) {
          fo.running_out.push_back(std::move(r));
        }
      }
    }
    const MinimumLevels levels =
        out_of_stock.empty() ? MinimumLevels() : transfer_levels(*storage, default_minimum);
    for (const auto& r : out_of_stock) {
      auto t = suggest_transfer(*storage, levels, r.store, r.item, r.count, keep_days);
      if (t && *t) fo.transfers.push_back(std::move(**t));
    }
    const std::lock_guard lock(caches->mu);
    if (caches->forecast.size() >= 1000) caches->forecast.clear();   // many managers' scopes: start again
    caches->forecast[key] = ForecastCache{ledger_mark, now, fo};
    return fo;
  }

  // --- One item: its history chart and forecast ----------------------------

  http::Response item(const PageRequest& req, const View& v, const Account& account) {
    ItemView d;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "store") d.store = value;
      else if (k == "item") d.item = value;
    }
    if (d.store.empty() || d.item.empty() || !account.sees(d.store)) return not_found_page(v);
    auto count = storage->count_of(d.store, d.item);
    if (!count) return error_page(v, count.error().message());
    d.count = *count;
    if (d.count) {
      if (auto u = storage->usage_of(d.store, d.item); u && *u) {
        d.usage = **u;
        d.forecast = forecast(d.usage->figures, *d.count, d.usage->as_of_day);
      }
      if (auto h = storage->item_history(d.store, d.item, 120); h) d.history = std::move(*h);
      if (auto t = suggest_transfer(*storage, d.store, d.item, *d.count, keep_days, default_minimum); t && *t) {
        d.transfer = std::move(**t);
      }
    }
    return page_response(d.count ? 200 : 404, item_page(v, d));
  }

  // --- Inventory ------------------------------------------------------------------

  http::Response inventory(const PageRequest& req, const View& v, const Account& account, bool csv) {
    InventoryView iv;
    std::optional<std::string> after_store, after_item;
    std::int64_t after_value = 0;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "store" && !value.empty()) iv.store = value;
      else if (k == "out") iv.out_of_stock_only = value == "1";
      else if (k == "sort") {
        iv.by_cover = value == "cover";
        iv.order = inventory_sort_of(value).value_or(InventoryOrder::kStoreItem);
      }
      else if (k == "q" && !value.empty()) iv.item = value.substr(0, 200);
      else if (k == "after_store") after_store = value;
      else if (k == "after_item") after_item = value;
      else if (k == "after_value") after_value = std::strtoll(value.c_str(), nullptr, 10);
    }
    if (account.role == AccountRole::kOwner) {
      auto all = store_summaries();
      if (!all) return error_page(v, all.error().message());
      for (auto& s : *all) iv.stores.push_back(std::move(s.store));
    } else {
      iv.stores = account.stores;
      if (!iv.store && !iv.stores.empty()) iv.store = iv.stores.front();
    }
    if (iv.store && !account.sees(*iv.store)) return not_found_page(v);
    InventoryQuery q;
    q.store = iv.store;
    q.out_of_stock_only = iv.out_of_stock_only;
    q.item_contains = iv.item;
    q.order = iv.order;
    if (after_store && after_item) {
      q.after = std::make_pair(*after_store, *after_item);
      q.after_value = after_value;
    }
    // The value a page of this order goes on from, of its last row.
    const auto value_of = [&](const InventoryRow& r) -> std::int64_t {
      return q.order == InventoryOrder::kCount ? r.count : to_unix_ms(r.updated_at);
    };
    if (!csv && iv.by_cover && !iv.out_of_stock_only && !iv.item) {
      // Fewest days of cover first: the first page only (a search by item
      // lists by name).
      auto rows = storage->usage_by_cover(iv.store, kInventoryPerPage);
      if (!rows) return error_page(v, rows.error().message());
      for (const auto& r : *rows) {
        iv.rows.push_back(InventoryRow{r.store, r.item, r.count, TimePoint{}, 0});
        iv.forecasts.push_back(forecast(r.figures, r.count, r.as_of_day));
      }
      return page_response(200, inventory_page(v, iv));
    }
    if (!csv) {
      q.limit = kInventoryPerPage + 1;
      const bool sorted = q.order == InventoryOrder::kCount || q.order == InventoryOrder::kChanged;
      // Kept sorted in memory, the storage serves every page at once; the
      // console's own first-pages cache is for the database's sort.
      const bool from_memory = sorted && sorted_inventory->filled();
      auto rows = sorted && !from_memory ? sorted_rows(q) : storage->list_inventory(q);
      if (!rows) return error_page(v, rows.error().message());
      if (static_cast<int>(rows->size()) > kInventoryPerPage) {
        rows->resize(kInventoryPerPage);
        iv.next = std::make_pair(rows->back().store, rows->back().item);
        iv.next_value = value_of(rows->back());
      }
      iv.rows = std::move(*rows);
      for (const auto& r : iv.rows) {
        auto u = storage->usage_of(r.store, r.item);
        iv.forecasts.push_back(u && *u ? forecast((*u)->figures, r.count, (*u)->as_of_day)
                                       : Forecast{});
      }
      return page_response(200, inventory_page(v, iv));
    }
    // The whole view, a page at a time, up to kCsvRows rows.
    std::string body = "store,item,count,updated_at,report_id\r\n";
    q.after.reset();
    q.limit = 1000;
    std::size_t total = 0;
    while (total < kCsvRows) {
      auto rows = storage->list_inventory(q);
      if (!rows) return error_page(v, rows.error().message());
      body += inventory_csv_rows(*rows);
      total += rows->size();
      if (static_cast<int>(rows->size()) < q.limit) break;
      q.after = std::make_pair(rows->back().store, rows->back().item);
      q.after_value = value_of(rows->back());
    }
    auto res = http::make_response(200, std::move(body), "text/csv; charset=utf-8");
    res.set(bhttp::field::content_disposition, "attachment; filename=\"inventory.csv\"");
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    return res;
  }

  // --- This month's sheet for a store ---------------------------------------------

  // The store's stock-count workbook (report/template/template_writer.hpp),
  // with its headers in the reader's language: the same file as
  // `stockwatch template --store S`. A store the account may not see, or
  // that the inventory does not know, is a 404.
  http::Response sheet(const PageRequest& req, const View& v, const Account& account) {
    std::string store;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "store") store = value;
    }
    if (store.empty() || !account.sees(store)) return not_found_page(v);
    auto items = template_sheet_of(*storage, store);
    if (!items) {
      if (items.error().code() == ErrorCode::kNotFound) return not_found_page(v);
      return error_page(v, items.error().message());
    }
    // Matched without case by template_sheet_of: the store it found must
    // be one this account sees as well.
    if (!account.sees(items->store)) return not_found_page(v);
    auto bytes = template_bytes(*items, *v.text, report.aliases, scratch);
    if (!bytes) return error_page(v, bytes.error().message());
    spdlog::info("console {}: {} downloaded the sheet of store '{}' ({} items)", req.remote,
                 account.name, items->store, items->items.size());
    const std::string file =
        safe_file_name(items->store + "-" + format_utc(clock.now(), "%Y-%m") + ".xlsx");
    auto res = http::make_response(
        200, std::move(*bytes), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    res.set(bhttp::field::content_disposition, "attachment; filename=\"" + file + "\"");
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    return res;
  }

  // --- Alerts and status (the owner's) ----------------------------------------------

  // Whether a manager may read `m`: a message about their stores only (an
  // alert whose every item, or a missing report whose store, is theirs).
  // Messages about several stores' data, digests, rejections and mail
  // replies are the owner's.
  static bool about_own_stores(const OutboxMessage& m, const Account& account) {
    if (account.role == AccountRole::kOwner) return true;
    if (m.payload.empty()) return false;   // queued before schema 5: no event data
    if (m.event == "report_missing") {
      auto missing = decode_report_missing(m.payload);
      return missing && account.sees(missing->store);
    }
    auto alert = decode_alert(m.payload);
    if (!alert || alert->items.empty() || alert->many_stores) return false;
    std::set<std::string_view> stores;
    for (const auto& item : alert->items) {
      if (!account.sees(item.store)) return false;
      stores.insert(item.store);
    }
    // Items beyond the ones listed may be another store's.
    return static_cast<std::int64_t>(stores.size()) == std::max<std::int64_t>(alert->stores, 1);
  }

  http::Response alerts(const PageRequest& req, const View& v, const Account& account,
                        std::string notice) {
    AlertsView a;
    a.notice = std::move(notice);
    std::int64_t before = 0;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "before") before = std::max<std::int64_t>(0, std::atoll(value.c_str()));
      if (k == "state") {
        for (const OutboxState st : {OutboxState::kQueued, OutboxState::kSent, OutboxState::kDead}) {
          if (value == to_string(st)) a.state = st;
        }
      }
    }
    if (account.role == AccountRole::kOwner) {
      auto rows = storage->outbox_page(before, a.state, kReportsPerPage);
      if (!rows) return error_page(v, rows.error().message());
      if (static_cast<int>(rows->size()) == kReportsPerPage) a.older = rows->back().id;
      a.messages = std::move(*rows);
      return page_response(200, alerts_page(v, a));
    }
    // A manager's page: the outbox newest first, read in pages, keeping
    // their stores' messages, until a page is full or kManagerAlertsScan
    // messages were read; "older" goes on from the last one read.
    std::int64_t read = 0;
    while (static_cast<int>(a.messages.size()) < kReportsPerPage && read < kManagerAlertsScan) {
      auto rows = storage->outbox_page(before, a.state, kReportsPerPage);
      if (!rows) return error_page(v, rows.error().message());
      for (auto& m : *rows) {
        before = m.id;
        ++read;
        if (!about_own_stores(m, account)) continue;
        a.messages.push_back(std::move(m));
        if (static_cast<int>(a.messages.size()) == kReportsPerPage) break;
      }
      if (static_cast<int>(rows->size()) < kReportsPerPage) {
        before = 0;   // the oldest was read
        break;
      }
    }
    if (before > 1) a.older = before;
    return page_response(200, alerts_page(v, a));
  }

  http::Response retry(std::string_view rest, const PageRequest& req, const View& v,
                       const Account& account) {
    if (rest.size() < 7 || rest.substr(rest.size() - 6) != "/retry") return not_found_page(v);
    rest.remove_suffix(6);
    if (rest.empty() || rest.size() > 18 ||
        !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return not_found_page(v);
    }
    const std::string id(rest);
    auto done = storage->requeue(std::atoll(id.c_str()), clock.now());
    if (!done) return error_page(v, done.error().message());
    if (*done) spdlog::info("console {}: message {} queued again by the owner", req.remote, id);
    PageRequest list = req;
    list.query.clear();
    return alerts(list, v, account, v.f(*done ? "console.alerts.retried" : "console.alerts.not_dead", {{"id", id}}));
  }

  // One message as its channel sends it, rendered from its row the way
  // every attempt renders it (notify/alert.hpp), so it reads as it was sent.
  http::Response message(std::string_view rest, const View& v, const Account& account) {
    if (rest.empty() || rest.size() > 18 ||
        !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return not_found_page(v);
    }
    const std::int64_t id = std::atoll(std::string(rest).c_str());
    auto rows = storage->outbox_page(id + 1, std::nullopt, 1);
    if (!rows) return error_page(v, rows.error().message());
    if (rows->empty() || rows->front().id != id) return not_found_page(v);
    if (!about_own_stores(rows->front(), account)) return not_found_page(v);
    SentMessageView s;
    s.message = std::move(rows->front());
    const OutboxMessage& m = s.message;
    if (m.channel == "email") {
      auto email = render_email(m);
      if (!email) {
        s.error = email.error().message();
      } else {
        MailText text = read_mail_text(*email);
        s.subject = std::move(text.subject);
        s.to = std::move(text.to);
        s.text = std::move(text.text);
        s.files = std::move(text.files);
      }
    } else {
      auto text = m.channel == "webhook" ? webhook_body(m) : chat_text(m, false);
      if (text) s.text = std::move(*text);
      else s.error = text.error().message();
    }
    return page_response(200, message_page(v, s));
  }

  http::Response status(const View& v) {
    StatusView s;
    s.health = health();
    auto counts = storage->open_outbox_counts();
    if (counts) s.outbox = *counts;
    else s.database_error = counts.error().message();
    if (auto failures = accounts->recent_sign_in_failures(20)) s.failures = std::move(*failures);
    return page_response(200, status_page(v, s));
  }

  // --- Reports ------------------------------------------------------------------

  // Whether `account` may see report `r`: an owner every one; a manager
  // the loaded reports with rows for one of their stores.
  Result<bool> may_see(const Account& account, const ReportRecord& r) {
    if (account.role == AccountRole::kOwner) return true;
    const std::int64_t id = r.status == ReportStatus::kDuplicate && r.duplicate_of ? *r.duplicate_of : r.id;
    auto stores = storage->stores_of_report(id);
    if (!stores) return stores.error();
    for (const auto& s : *stores) {
      if (account.sees(s)) return true;
    }
    return false;
  }

  http::Response reports(const PageRequest& req, const View& v, const Account& account) {
    std::int64_t before = 0;
    for (auto& [k, value] : parse_urlencoded(req.query)) {
      if (k == "before") before = std::atoll(value.c_str());
    }
    if (before < 0) before = 0;
    auto rows = storage->reports_page(before, std::nullopt, kReportsPerPage);
    if (!rows) return error_page(v, rows.error().message());
    std::vector<ReportRecord> shown;
    for (auto& r : *rows) {
      auto ok = may_see(account, r);
      if (!ok) return error_page(v, ok.error().message());
      if (*ok) shown.push_back(std::move(r));
    }
    std::optional<std::int64_t> older;
    if (static_cast<int>(rows->size()) == kReportsPerPage) older = rows->back().id;
    std::vector<std::int64_t> ids;
    for (const auto& r : shown) ids.push_back(r.id);
    auto mails = storage->report_mails(ids);
    if (!mails) return error_page(v, mails.error().message());
    return page_response(200, reports_page(v, shown, older, *mails));
  }

  // The archived file of a report, if it is still where the ledger says,
  // inside processed/ or failed/.
  std::optional<std::filesystem::path> original_of(const ReportRecord& r) {
    if (r.archived_path.empty()) return std::nullopt;
    const std::filesystem::path p(r.archived_path);
    if (!p.is_absolute()) return std::nullopt;
    const auto inside = [&](const std::filesystem::path& dir) {
      const auto rel = p.lexically_normal().lexically_relative(dir.lexically_normal());
      return !rel.empty() && *rel.begin() != "..";
    };
    if (!inside(processed) && !inside(failed)) return std::nullopt;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
    return p;
  }

  // The archived file `file` (original_of()), opened beneath the archive
  // folder it is in (os/beneath.hpp), so a folder in there swapped for a
  // link to elsewhere is never followed out of it; at most kDownloadLimit.
  Result<std::string> read_original(const std::filesystem::path& file) {
    const std::filesystem::path norm = file.lexically_normal();
    for (const auto& dir : {processed, failed}) {
      const std::filesystem::path rel = norm.lexically_relative(dir.lexically_normal());
      if (rel.empty() || *rel.begin() == "..") continue;
      auto root = open_root(dir);
      if (!root) return root.error();
      auto fd = open_beneath(root->get(), dir, rel.generic_string(), O_RDONLY | O_NONBLOCK);
      if (!fd) return fd.error();
      struct stat st{};
      if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return Error(ErrorCode::kInvalidInput, rel.generic_string() + " is not a regular file");
      }
      if (static_cast<std::uint64_t>(st.st_size) > kDownloadLimit) {
        return Error(ErrorCode::kInvalidInput, rel.generic_string() + " is larger than " +
                                                   human_bytes(kDownloadLimit));
      }
      std::string data;
      data.reserve(static_cast<std::size_t>(st.st_size));
      if (auto read = read_chunks(fd->get(), 1 << 16, rel.generic_string(), [&](std::string_view d) {
            data.append(d);
            return data.size() <= kDownloadLimit;
          });
          !read.ok()) {
        return read.error();
      }
      if (data.size() > kDownloadLimit) {
        return Error(ErrorCode::kInvalidInput, rel.generic_string() + " grew past " +
                                                   human_bytes(kDownloadLimit));
      }
      return data;
    }
    return Error(ErrorCode::kInvalidInput, "not in the archive folders");
  }

  http::Response report_detail(std::string_view rest, const View& v, const Account& account) {
    const bool original = rest.size() > 9 && rest.substr(rest.size() - 9) == "/original";
    if (original) rest.remove_suffix(9);
    if (rest.empty() || rest.size() > 18 ||
        !std::all_of(rest.begin(), rest.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return not_found_page(v);
    }
    auto found = storage->report(std::atoll(std::string(rest).c_str()));
    if (!found) return error_page(v, found.error().message());
    if (!*found) return not_found_page(v);
    const auto& r = **found;
    auto ok = may_see(account, r);
    if (!ok) return error_page(v, ok.error().message());
    if (!*ok) return not_found_page(v);
    const auto file = original_of(r);
    if (!original) {
      auto mail = storage->report_mail(r.id);
      if (!mail) return error_page(v, mail.error().message());
      return page_response(200, report_page(v, r, problem_lines(r, *v.text), file.has_value(), *mail));
    }
    if (!file) return not_found_page(v);
    auto data = read_original(*file);
    if (!data) {
      spdlog::warn("console: the original of report {} is not offered: {}", r.id,
                   data.error().message());
      return not_found_page(v);
    }
    auto res = http::make_response(200, std::move(*data), "text/csv; charset=utf-8");
    res.set(bhttp::field::content_disposition,
            "attachment; filename=\"" + safe_file_name(r.path) + "\"");
    res.set(bhttp::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    return res;
  }

  // --- Upload ----------------------------------------------------------------

  struct UploadJob {
    View view;
    std::vector<UploadOutcome> outcomes;
    struct Waiting {
      std::size_t index;
      std::string key, sha256;
    };
    std::vector<Waiting> waiting;
    TimePoint deadline{};
    http::Reply reply;
    std::unique_ptr<asio::steady_timer> timer;
  };

  void upload(PageRequest req, const View& v, const SignedIn& who,
              std::optional<std::vector<FormPart>> parts, http::Reply reply) {
    auto job = std::make_shared<UploadJob>();
    job->view = v;
    job->reply = std::move(reply);
    struct ToPlace {
      std::size_t index;
      std::string key, data;
    };
    auto to_place = std::make_shared<std::vector<ToPlace>>();
    const auto stamp = format_utc(clock.now(), "%Y%m%d-%H%M%S");
    if (parts) {
      for (auto& p : *parts) {
        if (!p.is_file || p.filename.empty()) continue;
        UploadOutcome o;
        o.file = p.filename;
        // A manager's report is read here, as the loader will read it, for
        // a row of a store the manager may not report for.
        Result<std::optional<ForeignRow>> foreign{std::nullopt};
        if (report_format(p.filename) && who.account.role != AccountRole::kOwner) {
          foreign = first_foreign_row(p.data, p.filename, report, [&](std::string_view store) {
            return who.account.sees(store);
          });
        }
        if (!report_format(p.filename)) {
          o.refusal = v.f("console.upload.not_csv", {{"file", p.filename}});
        } else if (!foreign) {
          o.refusal = v.f("console.upload.failed",
                          {{"file", p.filename}, {"error", foreign.error().message()}});
        } else if (*foreign) {
          const ForeignRow& row = **foreign;
          o.refusal = v.f("console.upload.foreign_store",
                          {{"file", p.filename},
                           {"line", std::to_string(row.line)},
                           {"store", row.store},
                           {"stores", stores_list(who.account.stores)}});
          spdlog::warn("console {}: upload of {} by {} refused: {} {} is for store '{}'", req.remote,
                       p.filename, who.account.name, row.in_workbook ? "row" : "line", row.line,
                       row.store);
        } else {
          const std::string key = "console/" + stamp + "-" + std::to_string(++*uploads) + "-" +
                                  who.account.name + "-" + safe_file_name(p.filename);
          job->waiting.push_back({job->outcomes.size(), key,
                                  to_hex(Digest::of(Digest::Kind::kSha256, p.data))});
          to_place->push_back({job->outcomes.size(), key, std::move(p.data)});
        }
        job->outcomes.push_back(std::move(o));
      }
    }
    if (job->outcomes.empty()) {
      return job->reply(page_response(400, upload_page(v, {}, v.t("console.upload.no_files"))));
    }
    if (to_place->empty()) return job->reply(page_response(200, upload_page(v, job->outcomes, "")));
    // Placed on the HTTP thread, through the same staging as S3 uploads;
    // then back here to wait for the ledger.
    const std::string who_name = "console user " + who.account.name;
    asio::post(http, guarded("console: place upload", [self = shared_from_this(), job, to_place,
                                                       who_name, remote = req.remote] {
      std::vector<std::pair<std::size_t, std::string>> failures;
      for (auto& f : *to_place) {
        if (auto problem = self->place(f.key, f.data, who_name, remote)) {
          failures.emplace_back(f.index, *problem);
        }
        f.data.clear();
        f.data.shrink_to_fit();
      }
      self->on_worker("console: wait for the ledger", [self, job, failures] {
        for (const auto& [index, problem] : failures) {
          job->outcomes[index].refusal = job->view.f(
              "console.upload.failed", {{"file", job->outcomes[index].file}, {"error", problem}});
          std::erase_if(job->waiting, [&](const auto& w) { return w.index == index; });
        }
        job->deadline = self->clock.now() + std::chrono::seconds(self->cfg.upload_wait_s);
        job->timer = std::make_unique<asio::steady_timer>(self->ioc);
        self->poll_ledger(job);
      });
    }));
  }

  void poll_ledger(const std::shared_ptr<UploadJob>& job) {
    for (auto it = job->waiting.begin(); it != job->waiting.end();) {
      auto found = storage->find_latest(it->key, it->sha256);
      if (found && *found) {
        auto& o = job->outcomes[it->index];
        o.report = **found;
        o.problems = problem_lines(**found, *job->view.text);
        if (o.report->status == ReportStatus::kLoaded) {
          auto events = storage->report_events(o.report->id, static_cast<int>(kOutcomeEvents) + 1);
          if (events) {
            o.more_events = events->size() > kOutcomeEvents;
            if (o.more_events) events->resize(kOutcomeEvents);
            o.events = std::move(*events);
          } else {
            spdlog::error("console: the alerts of report {}: {}", o.report->id, events.error().message());
          }
        }
        it = job->waiting.erase(it);
      } else {
        ++it;
      }
    }
    if (!job->waiting.empty() && clock.now() < job->deadline) {
      job->timer->expires_after(std::chrono::milliseconds(100));
      job->timer->async_wait(guarded("console: ledger poll", [self = shared_from_this(), job](
                                                                 const boost::system::error_code& ec) {
        if (ec) return;
        self->poll_ledger(job);
      }));
      return;
    }
    for (const auto& w : job->waiting) job->outcomes[w.index].waited_s = cfg.upload_wait_s;
    job->reply(page_response(200, upload_page(job->view, job->outcomes, "")));
  }

  // --- The JSON API for a session -------------------------------------------

  void api(PageRequest req, std::string name, http::Reply reply) {
    std::optional<SignedIn> who;
    if (auto value = cookie_value(req.cookie, kSessionCookie)) {
      auto checked = sessions.check(*value);
      if (!checked) return reply(json_error(500, checked.error().message()));
      who = std::move(*checked);
    }
    if (!who) return reply(json_error(401, "this route needs Authorization: Bearer <http.token> or a console session"));
    if (who->account.role != AccountRole::kOwner) {
      return reply(json_error(403, "the JSON API is for the owner; a manager uses the console's pages"));
    }
    if (req.method != bhttp::verb::get && req.method != bhttp::verb::head) {
      return reply(json_error(405, "only GET is allowed on " + req.path));
    }
    auto res = api_routes.api(name, req.query);
    if (!res) return reply(json_error(404, "no such route; see /api/inventory, /api/reports, /api/alerts"));
    res->set(bhttp::field::cache_control, "no-store");
    reply(std::move(*res));
  }

  // --- Start ---------------------------------------------------------------------

  void announce(const std::string& base_url) {
    spdlog::info("console: open {}/_console/ in a browser", base_url);
    auto owners = accounts->owner_count();
    if (!owners) {
      spdlog::error("console: cannot read the accounts: {}", owners.error().message());
      return;
    }
    if (*owners > 0) return;
    const std::string token = random_token(32);
    const auto expires = clock.now() + std::chrono::minutes(cfg.setup_link_minutes);
    if (auto st = accounts->set_setup_token(token_digest(token), expires); !st.ok()) {
      spdlog::error("console: cannot store the setup link: {}", st.message());
      return;
    }
    spdlog::info("console: no owner yet; create one within {} minutes at {}/_console/setup?token={} "
                 "(the link works once; or run `stockwatch user add NAME --role owner`)",
                 cfg.setup_link_minutes, base_url, token);
  }
};

Console::Console(const Config& config, const Clock& clock, Metrics& metrics, HealthSource health,
                 asio::any_io_executor http, PlaceReport place)
    : item_names_(std::make_shared<ItemNames>()),
      sorted_(std::make_shared<SortedInventory>(config.console.sorted_rows)),
      impl_(std::make_shared<Impl>(config, clock, metrics, health, http, place, item_names_,
                                   sorted_)) {
  workers_.push_back(impl_);
  for (int i = 1; i < std::max(1, config.console.workers); ++i) {
    workers_.push_back(
        std::make_shared<Impl>(config, clock, metrics, health, http, place, item_names_, sorted_));
    workers_.back()->uploads = impl_->uploads;
    workers_.back()->caches = impl_->caches;
  }
}

Console::~Console() { stop(); }

void Console::start(const std::string& base_url) {
  impl_->on_worker("console: start", [impl = impl_.get(), base_url] {
    impl->announce(base_url);
    if (auto swept = impl->sessions.sweep(); swept && *swept > 0) {
      spdlog::info("console: removed {} expired session(s)", *swept);
    }
  });
  // One list for every worker: the first reads it.
  impl_->on_worker("console: item names", [impl = impl_.get()] { impl->read_item_names(); });
  if (impl_->cfg.sorted_rows > 0) {
    sorted_->keep_in_background([keeper = workers_.back().get(), sorted = sorted_.get()] {
      asio::post(keeper->ioc, [keeper, sorted] { keeper->keep_sorted_once(*sorted); });
    });
    // On the last worker: the first signs people in.
    asio::post(workers_.back()->ioc, [impl = workers_.back().get(), sorted = sorted_] {
      impl->keep_sorted_current(sorted);
    });
  }
  for (auto& w : workers_) {
    w->work.emplace(w->ioc.get_executor());
    w->thread = std::thread([impl = w.get()] {
      try {
        impl->ioc.run();
      } catch (const std::exception& e) {
        spdlog::critical("console: stopped by an unexpected error: {}", e.what());
      }
    });
  }
}

void Console::stop() {
  for (auto& w : workers_) {
    if (!w->thread.joinable()) continue;
    w->work.reset();
    w->ioc.stop();
    w->thread.join();
  }
}

void Console::reload(const ConsoleConfig& config) {
  for (auto& w : workers_) {
    w->max_upload_bytes = config.max_upload_bytes;
    asio::post(w->ioc, guarded("console: reload", [impl = w.get(), config] {
      impl->cfg = config;
      impl->sessions.set_policy(Impl::policy(config));
    }));
  }
}

// Signing in, the first owner's setup and signing out go to the first
// worker, which alone keeps the failed sign-ins' delays; every other page
// to the worker with the fewest pages waiting (the first of them on a tie).
std::shared_ptr<Console::Impl> Console::worker_for(std::string_view page) const {
  if (page == "sign-in" || page == "setup" || page == "sign-out") return impl_;
  std::shared_ptr<Impl> best = impl_;
  for (const auto& w : workers_) {
    if (w->pending.load() < best->pending.load()) best = w;
  }
  return best;
}

bool Console::has_session_cookie(const http::RequestHead& head) {
  const auto c = head[bhttp::field::cookie];
  return cookie_value(std::string_view(c.data(), c.size()), kSessionCookie).has_value();
}

namespace {
// Counts a page as rendered when it leaves scope (an exception included).
struct Pending {
  explicit Pending(std::atomic<int>& n) : n_(n) {}
  ~Pending() { --n_; }
  Pending(const Pending&) = delete;
  Pending& operator=(const Pending&) = delete;
  std::atomic<int>& n_;
};

PageRequest copy_request(const http::Request& req) {
  PageRequest p;
  p.method = req.head.method();
  p.path = std::string(req.path);
  p.query = std::string(req.query);
  p.remote = req.remote;
  p.cookie = field(req.head, bhttp::field::cookie);
  p.accept_language = field(req.head, bhttp::field::accept_language).substr(0, 200);
  p.origin = field(req.head, bhttp::field::origin);
  p.fetch_site = field(req.head, "Sec-Fetch-Site");
  p.host = field(req.head, bhttp::field::host);
  p.content_type = field(req.head, bhttp::field::content_type);
  return p;
}
}  // namespace

http::Route Console::route(const http::Request& req) {
  http::Route r;
  const std::string_view page = req.path.substr(std::min(req.path.size(), kPrefix.size()));
  if (req.path == "/_console/console.js") {
    r.label = "console_asset";
    auto res = http::make_response(200, std::string(console_script()), "text/javascript; charset=utf-8");
    res.set(bhttp::field::cache_control, "max-age=300");
    res.set("X-Content-Type-Options", "nosniff");
    r.response = std::move(res);
    return r;
  }
  if (req.path == "/_console/style.css") {
    r.label = "console_asset";
    auto res = http::make_response(200, std::string(style_sheet()), "text/css; charset=utf-8");
    res.set(bhttp::field::cache_control, "max-age=300");
    res.set("X-Content-Type-Options", "nosniff");
    r.response = std::move(res);
    return r;
  }
  static const std::pair<std::string_view, const char*> kLabels[] = {
      {"", "console_overview"},  {"sign-in", "console_sign_in"}, {"setup", "console_setup"},
      {"sign-out", "console_sign_out"}, {"language", "console_language"},
      {"upload", "console_upload"}, {"reports", "console_reports"},
      {"inventory", "console_inventory"}, {"inventory.csv", "console_inventory_csv"},
      {"alerts", "console_alerts"}, {"status", "console_status"}, {"sheet", "console_sheet"},
      {"item", "console_item"}};
  r.label = "console_other";
  for (const auto& [name, label] : kLabels) {
    if (page == name) r.label = label;
  }
  if (page.substr(0, 8) == "reports/") r.label = "console_report";
  if (page.substr(0, 7) == "alerts/") {
    r.label = req.head.method() == bhttp::verb::post ? "console_alert_retry" : "console_alert_message";
  }
  const bool upload = page == "upload" && req.head.method() == bhttp::verb::post;
  r.body_limit = upload ? impl_->max_upload_bytes.load() : kFormLimit;
  if (upload) {
    // Too large a form is answered at once, in words, before it is sent.
    const auto length = req.head[bhttp::field::content_length];
    if (!length.empty() &&
        std::strtoull(std::string(length.data(), length.size()).c_str(), nullptr, 10) > r.body_limit) {
      View v;
      v.text = &catalog_for(pick_language(field(req.head, bhttp::field::accept_language)));
      r.response = page_response(
          413, message_page(v, v.t("console.upload.title"),
                            v.f("console.upload.too_large", {{"limit", human_bytes(r.body_limit)}})));
      return r;
    }
  }
  r.deferred = [impl = worker_for(page), p = copy_request(req), label = r.label](
                   std::string body, http::Reply sent) mutable {
    p.body = std::move(body);
    ++impl->pending;
    impl->on_worker("console: page", [impl, p = std::move(p), sent = std::move(sent), label]() mutable {
      const Pending done(impl->pending);
      // Server time: from here (the worker starts the page) to its response.
      const auto started = std::chrono::steady_clock::now();
      http::Reply reply = [impl, sent = std::move(sent), label, started](http::Response res) {
        impl->metrics.console_page(
            label, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        sent(std::move(res));
      };
      try {
        impl->handle(std::move(p), reply);
      } catch (...) {
        // The connection waits for an answer: give it one (a Reply sends
        // only its first), then let the guard log the error.
        reply(http::make_response(500, "the console failed on this page; see the daemon's log\n"));
        throw;
      }
    });
  };
  return r;
}

http::Route Console::api(const http::Request& req, const char* label) {
  http::Route r;
  r.label = label;
  r.body_limit = kFormLimit;
  r.deferred = [impl = worker_for("api"), p = copy_request(req), name = std::string(req.rest)](
                   std::string, http::Reply reply) mutable {
    ++impl->pending;
    impl->on_worker("console: api", [impl, p = std::move(p), name = std::move(name),
                                     reply = std::move(reply)]() mutable {
      const Pending done(impl->pending);
      impl->api(std::move(p), std::move(name), std::move(reply));
    });
  };
  return r;
}

}  // namespace stockwatch::console

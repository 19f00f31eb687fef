// The web console: server-rendered pages under /_console/ for the owner
// and the store managers (docs/console.md).
//
// Contract:
// - route() runs on the HTTP thread and never touches the database: it
//   copies what the request says and hands it to one of the console's
//   worker threads ([console] workers; a deferred Route), each with its own
//   Storage and AccountStore connections (sharing one list of item names,
//   store/item_names.hpp), which checks the session, renders
//   the page and replies. A page goes to the worker with the fewest pages
//   waiting; signing in, setup and signing out always to the first, which
//   alone keeps the failed sign-ins' delays. Only the style sheet and the
//   script are answered on the HTTP thread (no database).
// - An upload is placed in the inbox by `place` on the HTTP thread (the
//   same staging, sync and rename as an S3 upload, and the inbox is told at
//   once), then the worker polls the ledger for the report's row (by its
//   inbox path and SHA-256) on a timer, up to [console] upload_wait_s.
//   The loader is never called from here.
// - Every POST must come from this site (Origin / Sec-Fetch-Site) and,
//   except sign-in and the first owner's setup, carry the session's CSRF
//   token. A manager sees only their stores; anything else is a 404.
// - api() answers /api/* for a signed-in owner's session cookie (the JSON
//   API of HttpRoutes, on the worker with its own connection); a manager's
//   session gets 403, no session 401.
// - The constructor opens the connections (StorageError at start-up);
//   start() starts the workers and logs the console's address, and the
//   one-time setup link while no owner exists; stop() drops requests not
//   yet answered and joins the workers. Call stop() after the HTTP thread
//   has ended.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "http/api/http_routes.hpp"
#include "http/router.hpp"

namespace stockwatch {
class ItemNames;   // store/item_names.hpp
class SortedInventory;   // store/sorted_inventory.hpp
}  // namespace stockwatch

namespace stockwatch::console {

// Places a report held in memory at `key` in the inbox; the problem in
// words, or nullopt. Called on the HTTP thread.
using PlaceReport = std::function<std::optional<std::string>(
    const std::string& key, std::string_view data, const std::string& who, const std::string& remote)>;

class Console {
 public:
  Console(const Config& config, const Clock& clock, Metrics& metrics, HealthSource health,
          boost::asio::any_io_executor http, PlaceReport place);
  ~Console();
  Console(const Console&) = delete;
  Console& operator=(const Console&) = delete;

  // `base_url` is how the log names the server ("http://127.0.0.1:8080").
  void start(const std::string& base_url);
  void stop();
  // New [console] settings; from any thread.
  void reload(const ConsoleConfig& config);

  [[nodiscard]] http::Route route(const http::Request& req);
  [[nodiscard]] static bool has_session_cookie(const http::RequestHead& head);
  [[nodiscard]] http::Route api(const http::Request& req, const char* label);

 private:
  struct Impl;
  [[nodiscard]] std::shared_ptr<Impl> worker_for(std::string_view page) const;
  std::shared_ptr<ItemNames> item_names_;       // one list for every worker's connection
  std::shared_ptr<SortedInventory> sorted_;     // one sorted copy of the inventory for them
  std::shared_ptr<Impl> impl_;                  // the first worker
  std::vector<std::shared_ptr<Impl>> workers_;  // every worker, the first included
};

}  // namespace stockwatch::console

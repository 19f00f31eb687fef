// stockwatch: parse the command line, load the config, hand over to App.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>
#include <optional>

#include <unistd.h>

#include "daemon/app.hpp"
#include "daemon/logging.hpp"
#include "daemon/mute_command.hpp"
#include "daemon/user_command.hpp"
#include "config/config.hpp"
#include "store/storage.hpp"
#include "stockwatch/version.hpp"

namespace {

constexpr const char* kDefaultConfig = "/etc/stockwatch/stockwatch.toml";

// Loads the config or prints every problem; nullopt on failure.
std::optional<stockwatch::Config> load_or_report(const std::string& file) {
  auto loaded = stockwatch::load_config(file);
  if (loaded.ok()) return std::move(loaded.config);
  std::cerr << "stockwatch: " << file << ": " << loaded.problems.size()
            << (loaded.problems.size() == 1 ? " problem" : " problems") << "\n";
  for (const auto& p : loaded.problems) std::cerr << "  " << p.to_string() << "\n";
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"stockwatch: loads warehouse stock reports and emails out-of-stock alerts"};
  cli.set_version_flag("--version", std::string("stockwatch ") + stockwatch::kVersion);
  cli.require_subcommand(1);

  std::string config_file = kDefaultConfig;
  // Global, so that it may also follow the subcommand (`serve --log-level
  // debug`): options a subcommand does not know fall through to here.
  std::string log_level;
  cli.add_option("--log-level", log_level,
                 "trace, debug, info, warn, error, critical, off: overrides log.level for "
                 "`serve`, also across reloads (other commands log warnings by default)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cli.fallthrough();
  auto add_config = [&](CLI::App* sub) {
    sub->add_option("-c,--config", config_file, "configuration file (TOML)")
        ->capture_default_str();
  };

  auto* serve = cli.add_subcommand("serve", "run the daemon in the foreground");
  add_config(serve);

  std::vector<std::string> reports;
  auto* ingest = cli.add_subcommand(
      "ingest", "load reports once through the whole pipeline (load, check, queue, deliver)");
  add_config(ingest);
  ingest->add_option("reports", reports, "report files (CSV)")->required()->check(CLI::ExistingFile);

  auto* check = cli.add_subcommand("check-config", "validate the configuration and print every problem");
  add_config(check);

  bool include_sent = false;
  auto* outbox = cli.add_subcommand("outbox", "list queued and dead alert messages");
  add_config(outbox);
  outbox->add_flag("--all", include_sent, "include sent messages");
  std::vector<std::int64_t> retry_ids;
  bool retry_dead = false;
  auto* retry = outbox->add_subcommand("retry", "queue dead messages again");
  add_config(retry);
  retry->add_option("ids", retry_ids, "message ids (see `stockwatch outbox`)");
  retry->add_flag("--dead", retry_dead, "every dead message");

  std::string backup_dest;
  auto* backup = cli.add_subcommand(
      "backup", "write a consistent copy of the database to a new file, while the daemon runs");
  add_config(backup);
  backup->add_option("dest", backup_dest, "the new file (an existing file is never replaced)")
      ->required();

  std::string migrate_to;
  auto* migrate = cli.add_subcommand(
      "migrate",
      "copy the SQLite database into an empty PostgreSQL database (docs/scaling.md); run it "
      "with the daemon stopped");
  add_config(migrate);
  migrate->add_option("--to", migrate_to, "the PostgreSQL database: postgresql://user@host/db")
      ->required();

  std::vector<std::string> test_to;
  auto* send_test = cli.add_subcommand(
      "send-test-email",
      "send one test message now through the configured SMTP server (or Maildir) and print "
      "the outcome; exits with 0 when it was accepted");
  add_config(send_test);
  send_test->add_option("--to", test_to,
                        "address to send to (repeatable; default: every subscribed address)");

  std::string template_store;
  std::string template_output;
  std::string template_language = "en";
  auto* tmpl = cli.add_subcommand(
      "template",
      "write a store's stock-count sheet (.xlsx): its items and last counts, and an empty count "
      "column to fill in and send back as the store's report");
  add_config(tmpl);
  tmpl->add_option("--store", template_store, "the store, as the inventory names it")->required();
  tmpl->add_option("-o,--output", template_output,
                   "the new workbook (.xlsx; an existing file is never replaced)")
      ->required();
  tmpl->add_option("--language", template_language, "headers and notes: en (English) or id "
                                                    "(Bahasa Indonesia)")
      ->check(CLI::IsMember({"en", "id"}))
      ->capture_default_str();

  auto* health = cli.add_subcommand(
      "healthcheck",
      "ask the running daemon's HTTP server (http.listen) for /healthz; exits with 0 when it "
      "answers 200 (for container health checks)");
  add_config(health);

  stockwatch::UserCommand user_command;
  auto* user = cli.add_subcommand("user", "the web console's accounts (docs/console.md)");
  add_config(user);
  user->require_subcommand(1);
  auto* user_add = user->add_subcommand(
      "add", "add an account; the password is read from standard input, or asked without echo");
  add_config(user_add);
  user_add->add_option("name", user_command.name, "the account's name (letters, digits, . - _)")
      ->required();
  user_add->add_option("--role", user_command.role, "owner (everything) or manager (their stores)")
      ->check(CLI::IsMember({"owner", "manager"}))
      ->required();
  user_add->add_option("--stores", user_command.stores, "a manager's stores: Medan,Makassar")
      ->delimiter(',');
  auto* user_list = user->add_subcommand("list", "list the accounts");
  add_config(user_list);
  auto* user_passwd = user->add_subcommand(
      "passwd", "set an account's password (read as for add); signs it out everywhere");
  add_config(user_passwd);
  user_passwd->add_option("name", user_command.name, "the account")->required();
  auto* user_remove = user->add_subcommand("remove", "remove an account and end its sessions");
  add_config(user_remove);
  user_remove->add_option("name", user_command.name, "the account")->required();

  stockwatch::MuteCommand mute_command;
  bool mute_list = false;
  std::string mute_item;
  auto* mute = cli.add_subcommand("mute", "silence an item's or a store's alerts (docs/alerts.md)");
  add_config(mute);
  mute->add_option("--store", mute_command.store, "the store");
  auto* mute_item_option =
      mute->add_option("--item", mute_item, "one item (default: every item of the store)");
  mute->add_option("--until", mute_command.until, "until this date: 2026-12-31 or 2026-12-31T08:00 (UTC)");
  mute->add_flag("--until-change", mute_command.until_change, "until the item's count changes");
  mute->add_flag("--list", mute_list, "list the mutes");
  auto* unmute = cli.add_subcommand("unmute", "end a mute (docs/alerts.md)");
  add_config(unmute);
  unmute->add_option("--store", mute_command.store, "the store")->required();
  auto* unmute_item_option = unmute->add_option("--item", mute_item, "only this item's mute");

  CLI11_PARSE(cli, argc, argv);

  auto config = load_or_report(config_file);
  if (check->parsed()) {
    if (!config) return 1;
    std::cout << config_file << ": ok\n";
    return 0;
  }
  if (!config) return 1;

  // The daemon logs at log.level; the other commands print their own
  // results and log only warnings. --log-level wins over both.
  std::optional<std::string> level_override;
  if (!log_level.empty()) level_override = log_level;
  stockwatch::setup_logging(level_override.value_or(serve->parsed() ? config->log.level : "warn"));
  if (config->node.in_logs(config->storage)) stockwatch::set_log_node(config->node.name);

  stockwatch::SystemClock clock;
  try {
    stockwatch::App app(*config, clock);
    if (serve->parsed()) return app.serve(level_override);
    if (ingest->parsed()) {
      std::vector<std::filesystem::path> files(reports.begin(), reports.end());
      return app.ingest(files, std::cout);
    }
    if (retry->parsed()) {
      if (retry_ids.empty() && !retry_dead) {
        std::cerr << "stockwatch outbox retry: give message ids or --dead\n";
        return 2;
      }
      return app.retry_outbox(retry_ids, retry_dead, std::cout);
    }
    if (outbox->parsed()) return app.list_outbox(include_sent, std::cout);
    if (backup->parsed()) return app.backup(backup_dest, std::cout, std::cerr);
    if (migrate->parsed()) return app.migrate(migrate_to, std::cout, std::cerr);
    if (send_test->parsed()) return app.send_test_email(test_to, std::cout);
    if (health->parsed()) return app.healthcheck(std::cout);
    if (tmpl->parsed()) {
      return app.write_template(template_store, template_output, template_language, std::cout,
                                std::cerr);
    }
    if (mute->parsed() || unmute->parsed()) {
      mute_command.action = unmute->parsed() ? "unmute" : mute_list ? "list" : "mute";
      if (mute_item_option->count() > 0 || unmute_item_option->count() > 0) {
        mute_command.item = mute_item;
      }
      return app.mute(mute_command, std::cout, std::cerr);
    }
    if (user->parsed()) {
      for (const auto& [sub, action] :
           {std::pair{user_add, "add"}, std::pair{user_list, "list"},
            std::pair{user_passwd, "passwd"}, std::pair{user_remove, "remove"}}) {
        if (sub->parsed()) user_command.action = action;
      }
      return app.user(user_command, std::cin, isatty(STDIN_FILENO) != 0, std::cout, std::cerr);
    }
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    std::cerr << "stockwatch: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// The mailbox on the mail server, over IMAP: which mails are not handled
// yet, their size and content, and marking one handled.
//
// Contract:
// - MailboxServer is the narrow interface the mailbox stage uses, so that
//   a test can hand it mails without a server. ImapMailbox implements it
//   with libcurl (imaps://, or imap:// with STARTTLS required unless
//   mailbox.starttls = "off"); one connection is kept and reused between
//   commands, and opened again after a failure.
// - A mail is handled once the keyword $StockwatchDone is set on it
//   (UID STORE +FLAGS); unhandled() lists the mails without it. The server
//   must allow keywords (PERMANENTFLAGS with \*), as Dovecot, Cyrus and
//   most others do.
// - Failures are values: kTransient for the network and the server's
//   refusals (tried again at the next look), kInvalidInput for a mail
//   larger than the limit given to fetch().
// - Blocking network I/O: call it from the mailbox's own thread, never from
//   the event loop. Not thread-safe. stop() may be called from any thread:
//   a transfer in progress is cut short.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"

namespace stockwatch {

class MailboxServer {
 public:
  virtual ~MailboxServer() = default;
  // The UIDs of mails not yet marked handled, oldest first.
  [[nodiscard]] virtual Result<std::vector<std::uint32_t>> unhandled() = 0;
  // The size of a mail in octets.
  [[nodiscard]] virtual Result<std::uint64_t> size_of(std::uint32_t uid) = 0;
  // Writes the whole mail (RFC 5322) to `file`, at most `max_bytes`.
  [[nodiscard]] virtual Status fetch(std::uint32_t uid, const std::filesystem::path& file,
                                     std::uint64_t max_bytes) = 0;
  // The mail's header alone.
  [[nodiscard]] virtual Result<std::string> fetch_header(std::uint32_t uid) = 0;
  [[nodiscard]] virtual Status mark_handled(std::uint32_t uid) = 0;
  // For logs: "imaps://imap.example.com/INBOX as stok".
  [[nodiscard]] virtual std::string describe() const = 0;
};

class ImapMailbox final : public MailboxServer {
 public:
  explicit ImapMailbox(MailboxConfig config);
  ~ImapMailbox() override;
  ImapMailbox(const ImapMailbox&) = delete;
  ImapMailbox& operator=(const ImapMailbox&) = delete;

  Result<std::vector<std::uint32_t>> unhandled() override;
  Result<std::uint64_t> size_of(std::uint32_t uid) override;
  Status fetch(std::uint32_t uid, const std::filesystem::path& file, std::uint64_t max_bytes) override;
  Result<std::string> fetch_header(std::uint32_t uid) override;
  Status mark_handled(std::uint32_t uid) override;
  std::string describe() const override;

  // Waits up to `max` for news with IMAP IDLE (RFC 2177), on a connection
  // of its own: true as soon as the server says a mail arrived (or one is
  // already waiting), false when `max` passed quietly. kInvalidInput when
  // IDLE cannot be used here (a server without IDLE, a password IMAP
  // cannot quote): the caller then looks every poll_interval_s. kCancelled when
  // stop() was called (checked twice a second).
  [[nodiscard]] Result<bool> wait_for_news(std::chrono::milliseconds max);

  // Cuts a transfer in progress short and refuses new ones (shutdown, or
  // a reload about to reconfigure()). Any thread.
  void stop() { stopping_ = true; }
  // Takes new settings (a reload: another URL, account, password), drops
  // the connection and accepts commands again after stop(). The mailbox's
  // thread only.
  void reconfigure(MailboxConfig config);

  // The keyword that marks a handled mail.
  static constexpr const char* kHandledKeyword = "$StockwatchDone";

  // The mailbox URL as commands use it: "imaps://host/INBOX" (a URL
  // without a folder gets /INBOX).
  [[nodiscard]] static std::string folder_url(const std::string& url);
  // The UIDs of "* SEARCH 1 2 3" lines.
  [[nodiscard]] static std::vector<std::uint32_t> parse_search(const std::string& response);
  // The RFC822.SIZE of a "* 1 FETCH (UID 1 RFC822.SIZE 541)" line.
  [[nodiscard]] static std::optional<std::uint64_t> parse_size(const std::string& response);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  MailboxConfig config_;
  std::atomic<bool> stopping_{false};
};

}  // namespace stockwatch

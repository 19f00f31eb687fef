// Reports by email: each look at the mailbox takes the mails not handled
// yet, places their report attachments in the inbox (where they take the
// same path as any report), and once the ledger has them, queues one reply
// per mail and marks the mail handled on the server.
//
// Contract:
// - Exactly once: a mail is recorded (Storage::record_mail, with where each
//   attachment goes) before anything is placed; its reply is queued in the
//   same transaction that marks it answered (finish_mail); the server copy
//   is marked handled only after that. A crash at any point resumes from
//   what is recorded: a placed attachment is found in the ledger (or still
//   in the inbox) and never placed twice, and the reply keeps its
//   Message-ID, so nothing loads twice and nothing is lost.
// - Who may send: [[mailbox.sender]] addresses (optionally only those the
//   receiving server vouched for, mailbox.trust). A mail from anyone else
//   loads nothing and is answered once with a refusal; mail a machine sent
//   (an auto-reply, a bounce, a list) is never answered.
// - Each attachment with a report's name (report/report_format.hpp) is
//   checked for size and, for a sender limited to some stores, for rows of
//   other stores (report/store_check.hpp) before it is placed.
// - Plain steppable code: step() does one look and returns; it never
//   sleeps. Blocking network, disk and database work: run it on the
//   mailbox's own thread, with its own Storage connection.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "config/config.hpp"
#include "mailbox/imap_client.hpp"
#include "mailbox/mime_mail.hpp"
#include "notify/mail_reply.hpp"
#include "store/storage.hpp"

namespace stockwatch {

struct MailboxStageOptions {
  MailboxConfig mailbox;
  std::filesystem::path inbox;          // inbox.path
  ReportConfig report;                  // how reports are read (the store check)
  std::string reply_from;               // mailbox.from, else alerts.from
  // Called with a report's path in the inbox once it is placed (the
  // daemon tells the inbox it is complete).
  std::function<void(const std::string& relative)> placed;
  // Called with a report's path in the inbox just before it is placed, and
  // again with `placed` false when that failed (the ledger notes how it
  // arrived: by email).
  std::function<void(const std::string& relative, bool placed)> placing;

  static MailboxStageOptions from(const Config& config);
};

struct MailboxStep {
  bool ok = true;                       // false: the server or the database failed (logged)
  std::string error;
  int handled = 0;                      // mails marked handled on the server
  int replies = 0;                      // replies queued
  int loaded = 0;                       // attachments placed in the inbox
  int seen = 0;                         // mails read from the server
  int refused = 0;                      // mails answered with a refusal (a stranger, unverified)
  bool server_failed = false;           // the IMAP server failed (not the database)
  bool cancelled = false;               // cut short by ImapMailbox::stop() (shutdown, reload)
  bool waiting = false;                 // a mail waits for the ledger: look again soon
};

class MailboxStage {
 public:
  MailboxStage(Storage& storage, MailboxServer& server, const Clock& clock,
               MailboxStageOptions options);
  ~MailboxStage();
  MailboxStage(const MailboxStage&) = delete;
  MailboxStage& operator=(const MailboxStage&) = delete;

  // One look at the mailbox: every unhandled mail taken as far as it can go.
  MailboxStep step();

  // New settings (a SIGHUP): senders, limits, languages. Mails read but not
  // answered yet are read again at the next step with them.
  void reload(MailboxStageOptions options);

  // The folder in the inbox for a mail's attachments, and the scratch
  // folder (hidden, so the inbox ignores it).
  static constexpr const char* kInboxFolder = "email";
  static constexpr const char* kScratchFolder = ".mail";

 private:
  struct Pending;
  Storage& storage_;
  MailboxServer& server_;
  const Clock& clock_;
  MailboxStageOptions options_;
  std::filesystem::path scratch_;
  // Mails read and waiting for the ledger, by UID: not downloaded again.
  std::map<std::uint32_t, std::unique_ptr<Pending>> pending_;

  // Takes one mail as far as it can go; true when it is handled.
  Result<bool> take(std::uint32_t uid, MailboxStep& step);
  Result<std::unique_ptr<Pending>> read(std::uint32_t uid);
  Result<bool> advance(std::uint32_t uid, Pending& p, MailboxStep& step);
  [[nodiscard]] const MailboxSender* sender_of(const std::string& address) const;
};

}  // namespace stockwatch

#include "mailbox/mailbox_stage.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>

#include "crypto/sha256.hpp"
#include "notify/message.hpp"
#include "os/file_ops.hpp"
#include "os/unique_fd.hpp"
#include "report/report_format.hpp"
#include "report/store_check.hpp"

namespace stockwatch {

namespace fs = std::filesystem;

struct MailboxStage::Pending {
  ParsedMail mail;
  fs::path dir;                 // this mail's scratch folder
  std::string mail_key;
  MailReply reply;              // the kind, and each attachment's outcome as far as known
  MailReceipt receipt;          // as it is to be recorded (then as stored)
  std::string recipient;        // empty: no reply (a machine sent it)
  std::string language;
  bool recorded = false;

  ~Pending() {
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
  }
};

namespace {

bool report_name(std::string_view name) { return report_format(name).has_value(); }

std::string lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// A path component from text a mail gave: letters, digits, UTF-8 and
// ". _ - + @" kept, anything else '_', no leading dot, at most `max` bytes
// (cut at a character's start).
std::string safe_component(std::string_view text, std::size_t max) {
  std::string out;
  for (unsigned char c : text) {
    const bool keep = (c >= 0x80) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '+' ||
                      c == '@' || c == ' ';
    out += keep ? static_cast<char>(c) : '_';
  }
  out = sanitize_text(out);
  for (char& c : out) {
    if (c == '?') c = '_';
  }
  while (!out.empty() && (out.front() == '.' || out.front() == ' ')) out.erase(0, 1);
  if (out.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  if (out.empty()) out = "_";
  return out;
}

// "medan-2026-11.csv" kept whole, a long name cut before its extension.
std::string safe_file_name(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos || name.size() - dot > 8) return safe_component(name, 100);
  return safe_component(name.substr(0, dot), 90) + lower(std::string(name.substr(dot)));
}

std::string date_of(TimePoint t) { return format_utc(t, "%Y-%m-%d"); }

Result<std::string> sha256_of_file(const fs::path& file) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("cannot open " + file.string());
  Sha256 sha;
  if (auto st = read_chunks(fd.get(), 1 << 16, file.string(), [&](std::string_view d) {
        sha.update(d);
        return true;
      });
      !st.ok()) {
    return st.error();
  }
  return sha.hex();
}

}  // namespace

MailboxStageOptions MailboxStageOptions::from(const Config& config) {
  MailboxStageOptions o;
  o.mailbox = config.mailbox;
  o.inbox = config.inbox.path;
  o.report = config.report;
  o.reply_from = config.mailbox.from.empty() ? config.alerts.from : config.mailbox.from;
  return o;
}

MailboxStage::MailboxStage(Storage& storage, MailboxServer& server, const Clock& clock,
                           MailboxStageOptions options)
    : storage_(storage), server_(server), clock_(clock), options_(std::move(options)) {
  scratch_ = options_.inbox / kScratchFolder;
  std::error_code ec;
  fs::create_directories(scratch_, ec);
  // What a crash left: every mail is read again from the server.
  for (const auto& e : fs::directory_iterator(scratch_, ec)) fs::remove_all(e.path(), ec);
}

MailboxStage::~MailboxStage() = default;

const MailboxSender* MailboxStage::sender_of(const std::string& address) const {
  for (const auto& s : options_.mailbox.senders) {
    if (lower(s.address) == address) return &s;
  }
  return nullptr;
}

void MailboxStage::reload(MailboxStageOptions options) {
  options_ = std::move(options);
  pending_.clear();   // their scratch folders go with them
}

MailboxStep MailboxStage::step() {
  MailboxStep step;
  auto uids = server_.unhandled();
  if (!uids) {
    step.ok = false;
    step.error = uids.error().message();
    step.server_failed = uids.error().code() == ErrorCode::kTransient;
    step.cancelled = uids.error().code() == ErrorCode::kCancelled;
    return step;
  }
  // Mails handled elsewhere (or gone) are forgotten.
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (std::find(uids->begin(), uids->end(), it->first) == uids->end()) it = pending_.erase(it);
    else ++it;
  }
  for (const std::uint32_t uid : *uids) {
    auto done = take(uid, step);
    if (!done) {
      step.ok = false;
      step.error = done.error().message();
      spdlog::warn("mailbox: mail {}: {}", uid, step.error);
      if (done.error().code() == ErrorCode::kTransient ||
          done.error().code() == ErrorCode::kCancelled) {
        step.server_failed = done.error().code() == ErrorCode::kTransient;
        step.cancelled = done.error().code() == ErrorCode::kCancelled;
        break;  // the server: try again at the next look
      }
      continue;
    }
    if (!*done) step.waiting = true;
  }
  return step;
}

Result<bool> MailboxStage::take(std::uint32_t uid, MailboxStep& step) {
  auto it = pending_.find(uid);
  if (it == pending_.end()) {
    auto p = read(uid);
    if (!p) return p.error();
    ++step.seen;
    it = pending_.emplace(uid, std::move(*p)).first;
  }
  auto done = advance(uid, *it->second, step);
  if (!done || *done) pending_.erase(uid);
  return done;
}

Result<std::unique_ptr<MailboxStage::Pending>> MailboxStage::read(std::uint32_t uid) {
  const auto& cfg = options_.mailbox;
  auto p = std::make_unique<Pending>();
  p->dir = scratch_ / ("mail-" + std::to_string(uid));
  std::error_code ec;
  fs::remove_all(p->dir, ec);
  if (!fs::create_directories(p->dir, ec) && ec) {
    return Error(ErrorCode::kIo, "cannot create " + p->dir.string() + ": " + ec.message());
  }
  auto size = server_.size_of(uid);
  if (!size) return size.error();
  bool too_large = *size > cfg.max_message_bytes;
  if (!too_large) {
    const fs::path file = p->dir / "mail.eml";
    if (auto st = server_.fetch(uid, file, cfg.max_message_bytes); !st.ok()) {
      if (st.error().code() != ErrorCode::kInvalidInput) return st.error();
      too_large = true;  // grew past the limit while downloading
    } else {
      MailLimits limits;
      limits.max_file_bytes = cfg.max_attachment_bytes;
      limits.max_files = cfg.max_attachments * 2 + 20;
      limits.wanted = &report_name;
      auto parsed = parse_mail(file, p->dir, limits);
      if (!parsed) return parsed.error();
      p->mail = std::move(*parsed);
      if (p->mail.message_id.empty()) {
        auto sha = sha256_of_file(file);
        if (!sha) return sha.error();
        p->mail_key = "sha256:" + *sha;
      }
      fs::remove(file, ec);
    }
  }
  if (too_large) {
    auto header = server_.fetch_header(uid);
    if (!header) return header.error();
    auto parsed = parse_mail_header(*header);
    if (!parsed) return parsed.error();
    p->mail = std::move(*parsed);
    if (p->mail.message_id.empty()) p->mail_key = "sha256:" + Sha256::of(*header);
    p->reply.kind = MailReplyKind::kTooLarge;
    p->reply.size = *size;
    p->reply.limit = cfg.max_message_bytes;
  }
  if (p->mail_key.empty()) p->mail_key = p->mail.message_id;

  const ParsedMail& m = p->mail;
  p->reply.subject = m.subject;
  p->reply.in_reply_to = m.message_id;
  p->reply.references = m.references;
  if (!m.message_id.empty()) p->reply.references.push_back(m.message_id);
  p->reply.mailbox = options_.reply_from;
  p->reply.sender = m.from;
  p->receipt.mail_key = p->mail_key;
  p->receipt.message_id = m.message_id;
  p->receipt.sender = m.from;
  p->receipt.received_at = clock_.now();

  const MailboxSender* sender = sender_of(m.from);
  p->language = sender && !sender->language.empty() ? sender->language : cfg.language;
  p->recipient = m.automated.empty() ? m.from : std::string();
  if (m.from == lower(options_.reply_from)) p->recipient.clear();  // never to ourselves
  if (!m.automated.empty()) {
    spdlog::info("mailbox: mail {} from {} was sent by a machine ({}): it gets no reply", uid,
                 m.from.empty() ? "(no address)" : m.from, m.automated);
  }
  if (p->reply.kind == MailReplyKind::kTooLarge) {
    if (!sender) p->reply.kind = MailReplyKind::kRefused;
    return p;
  }
  if (!sender) {
    p->reply.kind = MailReplyKind::kRefused;
    spdlog::info("mailbox: mail {} from {} is not from a [[mailbox.sender]]: nothing loaded", uid,
                 m.from.empty() ? "(no address)" : m.from);
    return p;
  }
  if (cfg.trust == "authentication-results" && !authenticated_by(m, cfg.authserv_id)) {
    p->reply.kind = MailReplyKind::kUnverified;
    spdlog::warn("mailbox: mail {} says it is from {}, but {} did not vouch for it "
                 "(Authentication-Results): nothing loaded", uid, m.from, cfg.authserv_id);
    return p;
  }

  // A listed sender: each attached file.
  const auto& stores = sender->stores;
  const StoreAllowed allowed = [&stores](std::string_view store) {
    return std::find(stores.begin(), stores.end(), store) != stores.end();
  };
  int reports = 0, placed = 0;
  const std::string folder = std::string(kInboxFolder) + "/" + safe_component(m.from, 80) + "/" +
                             date_of(clock_.now()) + "_" + Sha256::of(p->mail_key).substr(0, 8);
  for (const MailFile& f : m.files) {
    MailReplyAttachment a;
    a.name = sanitize_text(f.name);
    MailAttachment rec;
    rec.position = f.position;
    rec.name = a.name;
    if (!report_name(f.name)) {
      a.outcome = MailOutcome::kNotReport;
    } else if (++reports > cfg.max_attachments) {
      a.outcome = MailOutcome::kTooMany;
      a.limit = static_cast<std::uint64_t>(cfg.max_attachments);
    } else if (f.over_limit) {
      a.outcome = MailOutcome::kTooLarge;
      a.size = f.size;
      a.limit = cfg.max_attachment_bytes;
    } else if (f.file.empty()) {
      a.outcome = MailOutcome::kUnreadable;
      a.problems_text = "the attachment has no content";
    } else {
      std::optional<ForeignRow> foreign;
      if (!stores.empty()) {
        UniqueFd fd(::open(f.file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return errno_error("cannot open " + f.file.string());
        auto row = first_foreign_row(fd.get(), f.name, options_.report, allowed);
        if (!row) return row.error();
        foreign = *row;
      }
      if (foreign) {
        a.outcome = MailOutcome::kForeignStore;
        a.store = foreign->store;
        a.line = static_cast<std::int64_t>(foreign->line);
        a.in_workbook = foreign->in_workbook;
      } else {
        auto sha = sha256_of_file(f.file);
        if (!sha) return sha.error();
        rec.sha256 = *sha;
        rec.path = folder + "/" + std::to_string(f.position + 1) + "_" + safe_file_name(f.name);
        a.outcome = MailOutcome::kLoaded;  // until the ledger says
        ++placed;
      }
    }
    p->reply.attachments.push_back(std::move(a));
    p->receipt.attachments.push_back(std::move(rec));
  }
  if (reports == 0) p->reply.kind = MailReplyKind::kHowTo;
  (void)placed;
  return p;
}

Result<bool> MailboxStage::advance(std::uint32_t uid, Pending& p, MailboxStep& step) {
  if (!p.recorded) {
    auto stored = storage_.record_mail(p.receipt);
    if (!stored) return stored.error();
    p.recorded = true;
    if (stored->state == MailState::kAnswered) {
      // Answered before a restart; only the server's mark was missing.
      if (auto st = server_.mark_handled(uid); !st.ok()) return st.error();
      ++step.handled;
      return true;
    }
    p.receipt = std::move(*stored);
  }
  // Each placed attachment: in the ledger, in the inbox, or placed now.
  bool waiting = false;
  for (auto& att : p.receipt.attachments) {
    if (att.path.empty() || att.report_id) continue;
    auto entry = storage_.find_latest(att.path, att.sha256);
    if (!entry) return entry.error();
    if (*entry) {
      att.report_id = (*entry)->id;
      continue;
    }
    waiting = true;
    const fs::path target = options_.inbox / att.path;
    std::error_code ec;
    if (fs::exists(target, ec)) continue;  // the inbox has it: it will load it
    // Not there: never placed (a crash before), or loaded and archived
    // just now. The ledger decides.
    entry = storage_.find_latest(att.path, att.sha256);
    if (!entry) return entry.error();
    if (*entry) {
      att.report_id = (*entry)->id;
      continue;
    }
    const MailFile* file = nullptr;
    for (const auto& f : p.mail.files) {
      if (f.position == att.position) file = &f;
    }
    if (!file || file->file.empty() || !fs::exists(file->file, ec)) {
      return Error(ErrorCode::kCorrupt, "attachment " + std::to_string(att.position + 1) +
                                            " of mail " + std::to_string(uid) +
                                            " is no longer at hand to place in the inbox");
    }
    fs::create_directories(target.parent_path(), ec);
    if (ec) {
      return Error(ErrorCode::kIo, "cannot create " + target.parent_path().string() + ": " +
                                       ec.message());
    }
    if (auto st = sync_file(file->file); !st.ok()) return st.error();
    if (options_.placing) options_.placing(att.path, true);
    auto placed = place_without_replacing(file->file, target);
    if (!placed) {
      if (options_.placing) options_.placing(att.path, false);
      return placed.error();
    }
    if (auto st = sync_directory(target.parent_path()); !st.ok()) return st.error();
    ++step.loaded;
    spdlog::info("mailbox: mail {} from {}: {} placed in the inbox", uid, p.receipt.sender,
                 att.path);
    if (options_.placed) options_.placed(att.path);
  }
  if (waiting) return false;

  // Everything is in the ledger: the reply.
  std::int64_t first_report = 0;
  for (std::size_t i = 0; i < p.receipt.attachments.size() && i < p.reply.attachments.size(); ++i) {
    const auto& att = p.receipt.attachments[i];
    auto& a = p.reply.attachments[i];
    if (!att.report_id) continue;
    if (!first_report) first_report = *att.report_id;
    auto rec = storage_.report(*att.report_id);
    if (!rec) return rec.error();
    if (!*rec) continue;
    const ReportRecord& r = **rec;
    a.report_id = r.id;
    switch (r.status) {
      case ReportStatus::kLoaded: {
        a.outcome = MailOutcome::kLoaded;
        a.rows = r.rows;
        auto events = storage_.report_events(r.id, 100000);
        if (!events) return events.error();
        a.events_total = static_cast<std::int64_t>(events->size());
        for (const auto& e : *events) {
          if (a.events.size() >= MailReply::kMaxEvents) break;
          a.events.push_back({std::string(event_name(*e.event)), e.store, e.item, e.new_count});
        }
        break;
      }
      case ReportStatus::kDuplicate:
        a.outcome = MailOutcome::kDuplicate;
        a.duplicate_of = r.duplicate_of.value_or(0);
        break;
      case ReportStatus::kRejected:
        a.outcome = MailOutcome::kRejected;
        a.problems = r.problems;
        a.problems_text = r.error;
        break;
    }
  }
  std::vector<OutboxMessage> reply;
  if (!p.recipient.empty()) {
    OutboxMessage m;
    const std::string kind = "mail-reply-" + Sha256::of(p.mail_key).substr(0, 16);
    m.message_id = make_message_id(kind, 0, p.recipient, options_.reply_from);
    m.report_id = first_report;
    m.event = std::string(kMailReplyEvent);
    m.channel = "email";
    m.sender = options_.reply_from;
    m.recipient = p.recipient;
    m.language = p.language;
    m.payload = encode_mail_reply(p.reply);
    m.created_at = clock_.now();
    m.next_attempt_at = m.created_at;
    reply.push_back(std::move(m));
  }
  auto finished = storage_.finish_mail(p.mail_key, p.receipt.attachments, reply, clock_.now());
  if (!finished) return finished.error();
  if (*finished && !reply.empty()) ++step.replies;
  if (*finished && (p.reply.kind == MailReplyKind::kRefused ||
                    p.reply.kind == MailReplyKind::kUnverified)) {
    ++step.refused;
  }
  spdlog::info("mailbox: mail {} from {} answered{}", uid,
               p.receipt.sender.empty() ? "(no address)" : p.receipt.sender,
               reply.empty() ? " (no reply: sent by a machine)" : "");
  // The mail's folder in the inbox, once the inbox has archived its
  // reports (a folder still in use is left for the next mail's turn).
  for (const auto& att : p.receipt.attachments) {
    if (att.path.empty()) continue;
    std::error_code ec;
    fs::remove(options_.inbox / fs::path(att.path).parent_path(), ec);
  }
  if (auto st = server_.mark_handled(uid); !st.ok()) return st.error();
  ++step.handled;
  return true;
}

}  // namespace stockwatch

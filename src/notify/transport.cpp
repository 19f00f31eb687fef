// How alert emails leave stockwatch: over SMTP (libcurl) to the mail
// server, or as files in a Maildir for sites without one.
#include "notify/transport.hpp"

#include "base/ascii.hpp"
#include "crypto/digest.hpp"
#include "os/host_name.hpp"

#include "notify/curl_handle.hpp"
#include "os/file_ops.hpp"
#include "os/unique_fd.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "notify/message.hpp"

namespace stockwatch {
namespace {

// ---------------------------------------------------------------------------
// The SMTP conversation as far as an operator needs it to understand a
// failure: the server's last reply and the client command it answered.

constexpr std::size_t kReplyLinesKept = 4;
constexpr std::size_t kReplyLineChars = 300;

struct Transcript {
  std::vector<std::string> reply;  // the server's last reply, last lines only
  bool reply_complete = true;      // the last line ended a reply
  std::string last_command;        // verb of the last client command
  bool closing = false;            // QUIT sent: what follows explains nothing
};

void record_server_line(Transcript& t, std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.empty()) return;
  if (t.reply_complete) t.reply.clear();
  std::string text = sanitize_text(line.substr(0, kReplyLineChars));
  t.reply.push_back(std::move(text));
  if (t.reply.size() > kReplyLinesKept) t.reply.erase(t.reply.begin());
  // "250-..." continues a multi-line reply, "250 ..." ends it.
  t.reply_complete = !(line.size() >= 4 && line[3] == '-');
}

void record_client_line(Transcript& t, std::string_view line) {
  // Only the command verb is kept: the rest of the line, and every line
  // answering an AUTH challenge, may carry the user's credentials.
  static constexpr std::array<std::string_view, 9> kVerbs = {
      "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP"};
  const std::size_t end = line.find_first_of(" \r\n");
  std::string verb(line.substr(0, end));
  for (char& c : verb) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (verb == "QUIT") {
    t.closing = true;
  } else if (std::find(kVerbs.begin(), kVerbs.end(), verb) != kVerbs.end()) {
    t.last_command = verb;
  }
}

int on_curl_debug(CURL* /*handle*/, curl_infotype type, char* data, std::size_t size,
                  void* userp) {
  auto* t = static_cast<Transcript*>(userp);
  try {
    const std::string_view chunk(data, size);
    if (t->closing) return 0;
    if (type == CURLINFO_HEADER_IN) {
      std::size_t start = 0;
      while (start < chunk.size()) {
        std::size_t nl = chunk.find('\n', start);
        if (nl == std::string_view::npos) nl = chunk.size();
        record_server_line(*t, chunk.substr(start, nl - start));
        start = nl + 1;
      }
    } else if (type == CURLINFO_HEADER_OUT) {
      record_client_line(*t, chunk);
    }
  } catch (...) {
    // Losing a line of the transcript must not stop a delivery.
  }
  return 0;
}

struct UploadSource {
  const std::string* data = nullptr;
  std::size_t offset = 0;
};

std::size_t on_curl_read(char* buffer, std::size_t size, std::size_t nitems, void* userp) {
  auto* src = static_cast<UploadSource*>(userp);
  const std::size_t room = size * nitems;
  const std::size_t left = src->data->size() - src->offset;
  const std::size_t n = std::min(room, left);
  if (n > 0) {
    std::copy_n(src->data->data() + src->offset, n, buffer);
    src->offset += n;
  }
  return n;
}

// An address for the SMTP envelope: one line, no angle brackets.
bool is_envelope_safe(std::string_view address) {
  return std::none_of(address.begin(), address.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F || c == '<' || c == '>';
  });
}

// "smtp://user:secret@host:25" is shown as "smtp://host:25".
std::string url_for_display(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  const std::size_t host_start = scheme_end + 3;
  const std::size_t authority_end = std::min(url.find('/', host_start), url.size());
  const std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return std::string(url.substr(0, host_start)) + std::string(url.substr(at + 1));
}

// libcurl takes the EHLO name from the URL path.
std::string url_with_helo(const std::string& url, const std::string& helo) {
  if (helo.empty()) return url;
  const std::size_t scheme_end = url.find("://");
  const std::size_t slash =
      scheme_end == std::string::npos ? std::string::npos : url.find('/', scheme_end + 3);
  if (slash != std::string::npos && slash + 1 < url.size()) return url;  // a path is set already
  std::string out = url;
  if (slash == std::string::npos) out += '/';
  out += percent_encode(helo);
  return out;
}

std::string phrase_for_command(const std::string& command) {
  if (command == "MAIL") return "sender refused";
  if (command == "RCPT") return "recipient refused";
  if (command == "DATA") return "message refused";
  if (command == "AUTH") return "authentication failed";
  if (command == "STARTTLS") return "STARTTLS refused";
  if (command == "EHLO" || command == "HELO") return "greeting refused";
  if (command.empty()) return "connection refused by the server";
  return "server refused " + command;
}

// Stops a transfer once the deadline has passed (libcurl calls this about
// once a second even while the server says nothing).
int on_curl_progress(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto at = static_cast<const SendDeadline*>(userp)->get();
  return at && SendDeadline::Clock::now() >= *at ? 1 : 0;
}

class SmtpTransport final : public MailTransport {
 public:
  SmtpTransport(SmtpConfig config, const SendDeadline* deadline)
      : config_(std::move(config)),
        deadline_(deadline),
        url_(url_with_helo(config_.url, config_.helo)),
        display_(url_for_display(config_.url)) {}

  SendOutcome send(const std::string& from, const std::string& to,
                   const std::string& data) override {
    try {
      return deliver(from, to, data);
    } catch (const std::exception& e) {
      return {SendOutcome::Kind::kTransient, 0, display_ + ": " + e.what()};
    } catch (...) {
      return {SendOutcome::Kind::kTransient, 0, display_ + ": unexpected failure"};
    }
  }

  [[nodiscard]] std::string describe() const override { return display_; }

 private:
  SendOutcome deliver(const std::string& from, const std::string& to, const std::string& data) {
    using Kind = SendOutcome::Kind;
    if (!is_envelope_safe(from)) {
      return {Kind::kPermanent, 0, display_ + ": invalid sender address " + sanitize_text(from)};
    }
    if (to.empty() || !is_envelope_safe(to)) {
      return {Kind::kPermanent, 0, display_ + ": invalid recipient address " + sanitize_text(to)};
    }
    if (const CURLcode rc = curl_global_setup(); rc != CURLE_OK) {
      return {Kind::kTransient, 0,
              display_ + ": libcurl initialisation failed: " + curl_easy_strerror(rc)};
    }
    long connect_ms = 1000L * config_.connect_timeout_s;
    long total_ms = 1000L * config_.timeout_s;
    if (const auto at = deadline_ ? deadline_->get() : std::nullopt) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            *at - SendDeadline::Clock::now()).count();
      if (left <= 0) return {Kind::kTransient, 0, display_ + ": " + kShutdownOver, kShutdownAdvice};
      connect_ms = std::min<long>(connect_ms, static_cast<long>(left));
      total_ms = std::min<long>(total_ms, static_cast<long>(left));
    }
    CurlEasy curl(curl_easy_init());
    if (!curl) return {Kind::kTransient, 0, display_ + ": libcurl initialisation failed"};

    const std::string mail_from = "<" + from + ">";
    CurlSlist recipients(curl_slist_append(nullptr, ("<" + to + ">").c_str()));
    if (!recipients) return {Kind::kTransient, 0, display_ + ": out of memory"};

    std::array<char, CURL_ERROR_SIZE> errbuf{};
    Transcript transcript;
    UploadSource source{&data, 0};
    CURLcode setup = CURLE_OK;
    const auto set = [&](CURLoption option, auto value) {
      if (setup == CURLE_OK) setup = curl_easy_setopt(curl.get(), option, value);
    };

    CURL* h = curl.get();
    set(CURLOPT_ERRORBUFFER, errbuf.data());
    set(CURLOPT_URL, url_.c_str());
    set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    set(CURLOPT_MAIL_FROM, mail_from.c_str());
    set(CURLOPT_MAIL_RCPT, recipients.get());
    set(CURLOPT_READFUNCTION, &on_curl_read);
    set(CURLOPT_READDATA, &source);
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    set(CURLOPT_NOSIGNAL, 1L);
    set(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    set(CURLOPT_TIMEOUT_MS, total_ms);
    if (deadline_) {
      // A delivery that began before the deadline was set stops when it passes.
      set(CURLOPT_XFERINFOFUNCTION, &on_curl_progress);
      set(CURLOPT_XFERINFODATA, const_cast<SendDeadline*>(deadline_));
      set(CURLOPT_NOPROGRESS, 0L);
    }
    set(CURLOPT_DEBUGFUNCTION, &on_curl_debug);
    set(CURLOPT_DEBUGDATA, &transcript);
    set(CURLOPT_VERBOSE, 1L);
    if (!is_implicit_tls()) {
      long use_ssl = CURLUSESSL_ALL;
      if (config_.starttls == "opportunistic") use_ssl = CURLUSESSL_TRY;
      if (config_.starttls == "off") use_ssl = CURLUSESSL_NONE;
      set(CURLOPT_USE_SSL, use_ssl);
    }
    if (!config_.username.empty()) {
      set(CURLOPT_USERNAME, config_.username.c_str());
      set(CURLOPT_PASSWORD, config_.password.c_str());
    }
    const std::string ca_file = config_.ca_file.string();
    if (!ca_file.empty()) set(CURLOPT_CAINFO, ca_file.c_str());
    if (!config_.tls_verify) {
      set(CURLOPT_SSL_VERIFYPEER, 0L);
      set(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (setup != CURLE_OK) {
      // This libcurl cannot do what the configuration asks (e.g. no TLS).
      return {Kind::kPermanent, 0,
              display_ + ": cannot set up SMTP: " + curl_easy_strerror(setup)};
    }

    const CURLcode rc = curl_easy_perform(h);
    long code = 0;
    if (curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
    long os_errno = 0;
    if (curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK) os_errno = 0;
    return classify(rc, static_cast<int>(code), static_cast<int>(os_errno), errbuf.data(),
                    transcript);
  }

  [[nodiscard]] bool is_implicit_tls() const {
    return ascii_lower(std::string_view(config_.url).substr(0, 8)) == "smtps://";
  }

  [[nodiscard]] SendOutcome classify(CURLcode rc, int code, int os_errno, const char* errbuf,
                                     const Transcript& transcript) const {
    using Kind = SendOutcome::Kind;
    std::string reply;
    for (const auto& line : transcript.reply) {
      if (!reply.empty()) reply += " / ";
      reply += line;
    }
    std::string curl_message = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    while (!curl_message.empty() && (curl_message.back() == '\n' || curl_message.back() == '\r')) {
      curl_message.pop_back();
    }
    curl_message = sanitize_text(curl_message);
    const std::string with_code =
        code > 0 ? " (" + std::to_string(code) + ")" + (reply.empty() ? "" : ": " + reply) : "";

    if (rc == CURLE_OK) {
      return {Kind::kSent, code, display_ + ": accepted" + with_code};
    }

    Kind kind = Kind::kTransient;
    if (code >= 500 && code <= 599) {
      kind = Kind::kPermanent;
    } else if (code >= 400 && code <= 499) {
      kind = Kind::kTransient;
    } else if (rc == CURLE_LOGIN_DENIED || rc == CURLE_USE_SSL_FAILED ||
               rc == CURLE_PEER_FAILED_VERIFICATION) {
      kind = Kind::kPermanent;
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
      // smtp.url itself is wrong: no retry can succeed until it is fixed.
      kind = Kind::kPermanent;
    }

    std::string what;
    std::string advice;
    switch (rc) {
      case CURLE_LOGIN_DENIED:
        what = "authentication failed" + with_code;
        advice = "Check smtp.username and the password (smtp.password_file, the environment "
                 "variable STOCKWATCH_SMTP_PASSWORD, or the systemd credential smtp-password). "
                 "Providers with two-factor login want an app password here.";
        break;
      case CURLE_USE_SSL_FAILED:
        what = "STARTTLS required but the server does not offer it";
        if (code >= 400) what += with_code;
        advice = "The server at " + display_ +
                 " does not offer STARTTLS, so the password and the alerts would cross the "
                 "network in clear text. Use the server's submission port (587, with STARTTLS) "
                 "or smtps:// (port 465). Set smtp.starttls = \"off\" only for a relay on this "
                 "machine or a network you trust.";
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
        what = "certificate not trusted: " + curl_message;
        advice = "The server's certificate is not signed by a CA this machine trusts, or does "
                 "not name the host in smtp.url. Set smtp.ca_file to the PEM file of the CA "
                 "that signed it, or write the host name exactly as the certificate names it.";
        break;
      case CURLE_SSL_CONNECT_ERROR:
        what = "TLS handshake failed: " + curl_message;
        advice = is_implicit_tls()
                     ? "smtps:// starts TLS at once; a server that expects STARTTLS first "
                       "(ports 25 and 587) needs smtp:// instead."
                     : "The TLS handshake after STARTTLS failed; check that the server's TLS "
                       "set-up works with another client (openssl s_client -starttls smtp).";
        break;
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_URL_MALFORMAT:
        what = "not a usable smtp:// or smtps:// URL: " + curl_message;
        advice = "Write smtp.url as smtp://host:port (STARTTLS) or smtps://host:port "
                 "(TLS from the start).";
        break;
      case CURLE_COULDNT_RESOLVE_HOST:
        what = "cannot resolve the server's name: " + curl_message;
        advice = "Check the host name in smtp.url and this machine's DNS.";
        break;
      case CURLE_COULDNT_CONNECT:
        if (os_errno == ECONNREFUSED) {
          what = "cannot connect: connection refused: " + curl_message;
          advice = "Check the host and port in smtp.url, and that the mail server is running.";
        } else {
          what = "cannot connect: " + curl_message;
          advice = "Check the host and port in smtp.url, and that no firewall blocks them.";
        }
        break;
      case CURLE_ABORTED_BY_CALLBACK:
        what = kShutdownOver;
        advice = kShutdownAdvice;
        break;
      case CURLE_OPERATION_TIMEDOUT:
        what = "timed out" + with_code + ": " + curl_message;
        advice = is_implicit_tls()
                     ? "The server did not answer in time (smtp.connect_timeout_s, "
                       "smtp.timeout_s)."
                     : "The server did not answer in time (smtp.connect_timeout_s, "
                       "smtp.timeout_s). A server that expects TLS from the first byte "
                       "(port 465) never greets an smtp:// client: use smtps:// for it.";
        break;
      default:
        if (code >= 400) {
          what = phrase_for_command(transcript.last_command) + with_code;
          if (transcript.last_command == "RCPT") {
            advice = code >= 500 ? "The server refused this recipient address; check it in "
                                   "[[alerts.subscription]]."
                                 : "The server refused this recipient for now; it is tried "
                                   "again later.";
          } else if (transcript.last_command == "MAIL") {
            advice = "The server refused the sender; alerts.from must be an address the "
                     "server lets this account send as.";
          } else if (transcript.last_command == "AUTH") {
            advice = "Check smtp.username and the password.";
          } else if (code < 500) {
            advice = "The server asked to try again later; the mailer does so with backoff.";
          }
        } else {
          what = "delivery failed" + with_code;
        }
        break;
    }
    if (what.find(curl_message) == std::string::npos) what += " [" + curl_message + "]";
    return {kind, code, display_ + ": " + what, advice};
  }

  static constexpr const char* kShutdownOver =
      "not sent: the time for sending at shutdown (smtp.shutdown_flush_s) ran out";
  static constexpr const char* kShutdownAdvice =
      "It stays queued and is sent after the next start. For a slow server, raise "
      "smtp.shutdown_flush_s (and the service manager's stop time-out with it).";

  SmtpConfig config_;
  const SendDeadline* deadline_;  // may be null
  std::string url_;      // with the EHLO name as its path
  std::string display_;  // without credentials
};

// ---------------------------------------------------------------------------
// Maildir delivery.

// Creates `path` and its missing parents (mode 0700); returns 0 or an errno.
int make_directories(const std::string& path) {
  if (path.empty()) return ENOENT;
  std::size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return errno;
    if (pos == std::string::npos) break;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno;
  return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

// Maildir names may not contain '/' or ':'; the convention spells them out.
std::string maildir_hostname() {
  std::string out;
  for (const char c : host_name()) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out += c;
    }
  }
  return out;
}

std::atomic<unsigned long> g_maildir_counter{0};

class MaildirTransport final : public MailTransport {
 public:
  explicit MaildirTransport(std::string dir) : dir_(std::move(dir)), host_(maildir_hostname()) {
    while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  }

  SendOutcome send(const std::string& /*from*/, const std::string& /*to*/,
                   const std::string& data) override {
    try {
      return deliver(data);
    } catch (const std::exception& e) {
      return {SendOutcome::Kind::kTransient, 0, describe() + ": " + e.what()};
    } catch (...) {
      return {SendOutcome::Kind::kTransient, 0, describe() + ": unexpected failure"};
    }
  }

  [[nodiscard]] std::string describe() const override { return "maildir " + dir_; }

 private:
  SendOutcome failure(const std::string& what, int err) const {
    return failure(errno_error(what, err));
  }
  SendOutcome failure(const Error& e) const {
    return {SendOutcome::Kind::kTransient, 0, describe() + ": " + e.message()};
  }

  std::string unique_name() const {
    // Maildir names carry the wall-clock delivery time, as mail readers expect.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now - secs);
    return std::to_string(secs.count()) + ".M" + std::to_string(micros.count()) + "P" +
           std::to_string(::getpid()) + "Q" + std::to_string(++g_maildir_counter) + "." + host_;
  }

  SendOutcome deliver(const std::string& data) {
    if (const int err = make_directories(dir_); err != 0) return failure("cannot create", err);
    for (const char* sub : {"/tmp", "/new", "/cur"}) {
      const std::string path = dir_ + sub;
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        return failure("cannot create " + path, errno);
      }
    }

    const std::string name = unique_name();
    const std::string tmp_path = dir_ + "/tmp/" + name;
    const std::string new_path = dir_ + "/new/" + name;

    UniqueFd fd(::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid()) return failure("cannot create " + tmp_path, errno);
    // Whatever fails from here on, no half-written file stays in tmp/.
    const auto discard = [&] { ::unlink(tmp_path.c_str()); };

    Status st = write_all(fd.get(), data, tmp_path);
    if (st.ok()) st = sync_fd(fd.get(), tmp_path);
    if (!st.ok()) {
      discard();
      return failure(st.error());
    }
    if (const int err = fd.close(); err != 0) {
      discard();
      return failure("cannot close " + tmp_path, err);
    }
    if (::rename(tmp_path.c_str(), new_path.c_str()) != 0) {
      const int err = errno;
      discard();
      return failure("cannot move the message into " + dir_ + "/new", err);
    }

    // The rename is durable only once new/ itself is on disk.
    if (auto synced = sync_directory(dir_ + "/new"); !synced.ok()) return failure(synced.error());

    return {SendOutcome::Kind::kSent, 0, describe() + ": delivered as new/" + name};
  }

  std::string dir_;
  std::string host_;
};

}  // namespace

std::unique_ptr<MailTransport> make_smtp_transport(const SmtpConfig& config,
                                                   const SendDeadline* deadline) {
  return std::make_unique<SmtpTransport>(config, deadline);
}

std::unique_ptr<MailTransport> make_maildir_transport(const std::string& maildir) {
  return std::make_unique<MaildirTransport>(maildir);
}

std::unique_ptr<MailTransport> make_transport(const SmtpConfig& config,
                                              const SendDeadline* deadline) {
  if (!config.url.empty()) return make_smtp_transport(config, deadline);
  return make_maildir_transport(config.maildir.string());
}

}  // namespace stockwatch

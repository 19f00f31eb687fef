#include "mailbox/imap_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "notify/curl_handle.hpp"
#include "os/file_ops.hpp"
#include "os/unique_fd.hpp"

namespace stockwatch {

struct ImapMailbox::Impl {
  CurlEasy curl;
};

namespace {

struct Sink {
  std::string* text = nullptr;   // collects into a string, or
  int fd = -1;                   // writes to a file
  std::uint64_t written = 0;
  std::uint64_t max_bytes = 0;   // 0: no limit
  bool over = false;
  bool write_failed = false;
};

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t len = size * n;
  if (sink->max_bytes && sink->written + len > sink->max_bytes) {
    sink->over = true;
    return 0;  // aborts the transfer
  }
  sink->written += len;
  if (sink->text) {
    sink->text->append(data, len);
  } else if (sink->fd >= 0) {
    if (!write_all(sink->fd, std::string_view(data, len), "the mail").ok()) {
      sink->write_failed = true;
      return 0;
    }
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(user)->load() ? 1 : 0;
}

}  // namespace

ImapMailbox::ImapMailbox(MailboxConfig config)
    : impl_(std::make_unique<Impl>()), config_(std::move(config)) {
  curl_global_setup();
}

void ImapMailbox::reconfigure(MailboxConfig config) {
  impl_ = std::make_unique<Impl>();   // the old connection goes with the old settings
  config_ = std::move(config);
  stopping_ = false;
}

ImapMailbox::~ImapMailbox() = default;

std::string ImapMailbox::folder_url(const std::string& url) {
  const auto scheme = url.find("://");
  const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return url + "/INBOX";
  if (slash + 1 == url.size()) return url + "INBOX";
  std::string out = url;
  while (out.size() > slash + 1 && out.back() == '/') out.pop_back();
  return out;
}

std::vector<std::uint32_t> ImapMailbox::parse_search(const std::string& response) {
  std::vector<std::uint32_t> out;
  std::size_t start = 0;
  while (start < response.size()) {
    std::size_t end = response.find('\n', start);
    if (end == std::string::npos) end = response.size();
    std::string_view line(response.data() + start, end - start);
    if (line.starts_with("* SEARCH")) {
      line.remove_prefix(8);
      while (!line.empty()) {
        while (!line.empty() && (line.front() == ' ' || line.front() == '\r')) line.remove_prefix(1);
        std::uint32_t uid = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), uid);
        if (ec != std::errc() || p == line.data()) break;
        out.push_back(uid);
        line.remove_prefix(static_cast<std::size_t>(p - line.data()));
      }
    }
    start = end + 1;
  }
  return out;
}

std::optional<std::uint64_t> ImapMailbox::parse_size(const std::string& response) {
  const auto at = response.find("RFC822.SIZE ");
  if (at == std::string::npos) return std::nullopt;
  const char* p = response.data() + at + 12;
  std::uint64_t size = 0;
  auto [end, ec] = std::from_chars(p, response.data() + response.size(), size);
  if (ec != std::errc() || end == p) return std::nullopt;
  return size;
}

std::string ImapMailbox::describe() const {
  return folder_url(config_.url) + " as " + config_.username;
}

namespace {

// One IMAP command on the kept connection: `request` as a custom command
// on the folder URL, or a plain fetch of `url_suffix` (";UID=5").
Status perform(CurlEasy& curl, const MailboxConfig& cfg, std::atomic<bool>& stopping,
               const std::string& url, const char* request, Sink& sink) {
  if (stopping) return Error(ErrorCode::kCancelled, "stopping");
  if (!curl) {
    curl.reset(curl_easy_init());
    if (!curl) return Error(ErrorCode::kInternal, "curl_easy_init failed");
  }
  CURL* h = curl.get();
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, cfg.username.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, cfg.password.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &stopping);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(cfg.connect_timeout_s));
  // A stalled server: less than 1 byte a second for timeout_s.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(cfg.timeout_s));
  if (url.starts_with("imap://")) {
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     cfg.starttls == "off" ? static_cast<long>(CURLUSESSL_NONE)
                                           : static_cast<long>(CURLUSESSL_ALL));
  }
  if (!cfg.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, cfg.ca_file.c_str());
  if (!cfg.tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) return {};
  if (sink.over) {
    return Error(ErrorCode::kInvalidInput,
                 "the mail is larger than " + std::to_string(sink.max_bytes) + " bytes");
  }
  if (sink.write_failed) return Error(ErrorCode::kIo, "cannot write the mail to a scratch file");
  if (stopping) return Error(ErrorCode::kCancelled, "stopping");
  // The connection may be broken: the next command opens a new one.
  curl.reset();
  return Error(ErrorCode::kTransient, std::string("IMAP: ") + curl_easy_strerror(rc));
}

}  // namespace

Result<std::vector<std::uint32_t>> ImapMailbox::unhandled() {
  std::string text;
  Sink sink{&text};
  const std::string cmd = std::string("UID SEARCH UNKEYWORD ") + kHandledKeyword;
  if (auto st = perform(impl_->curl, config_, stopping_, folder_url(config_.url), cmd.c_str(), sink);
      !st.ok()) {
    return st.error();
  }
  return parse_search(text);
}

Result<std::uint64_t> ImapMailbox::size_of(std::uint32_t uid) {
  std::string text;
  Sink sink{&text};
  const std::string cmd = "UID FETCH " + std::to_string(uid) + " RFC822.SIZE";
  if (auto st = perform(impl_->curl, config_, stopping_, folder_url(config_.url), cmd.c_str(), sink);
      !st.ok()) {
    return st.error();
  }
  auto size = parse_size(text);
  if (!size) return Error(ErrorCode::kTransient, "IMAP: the server did not say the size of mail " +
                                                     std::to_string(uid));
  return *size;
}

Status ImapMailbox::fetch(std::uint32_t uid, const std::filesystem::path& file,
                          std::uint64_t max_bytes) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) return errno_error("cannot create " + file.string());
  Sink sink;
  sink.fd = fd.get();
  sink.max_bytes = max_bytes;
  const std::string url = folder_url(config_.url) + "/;UID=" + std::to_string(uid);
  return perform(impl_->curl, config_, stopping_, url, nullptr, sink);
}

Result<std::string> ImapMailbox::fetch_header(std::uint32_t uid) {
  std::string text;
  Sink sink{&text};
  sink.max_bytes = 1024 * 1024;
  const std::string url =
      folder_url(config_.url) + "/;UID=" + std::to_string(uid) + "/;SECTION=HEADER";
  if (auto st = perform(impl_->curl, config_, stopping_, url, nullptr, sink); !st.ok()) {
    return st.error();
  }
  return text;
}

Status ImapMailbox::mark_handled(std::uint32_t uid) {
  std::string text;
  Sink sink{&text};
  const std::string cmd =
      "UID STORE " + std::to_string(uid) + " +FLAGS.SILENT (\\Seen " + kHandledKeyword + ")";
  return perform(impl_->curl, config_, stopping_, folder_url(config_.url), cmd.c_str(), sink);
}

namespace {

// An IMAP quoted string; nullopt for text a quoted string cannot hold.
std::optional<std::string> imap_quoted(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '\r' || c == '\n' || c == 0 || c >= 0x80) return std::nullopt;
    if (c == '"' || c == '\\') out += '\\';
    out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// One IMAP conversation over a connection libcurl opened (CONNECT_ONLY).
class Conversation {
 public:
  Conversation(CURL* h, curl_socket_t sock, std::atomic<bool>& stopping)
      : h_(h), sock_(sock), stopping_(stopping) {}

  Status send(std::string_view text, std::chrono::steady_clock::time_point deadline) {
    while (!text.empty()) {
      size_t n = 0;
      const CURLcode rc = curl_easy_send(h_, text.data(), text.size(), &n);
      if (rc == CURLE_AGAIN) {
        if (auto st = wait(POLLOUT, deadline); !st.ok()) return st;
        continue;
      }
      if (rc != CURLE_OK) return Error(ErrorCode::kTransient, std::string("IMAP: ") + curl_easy_strerror(rc));
      text.remove_prefix(n);
    }
    return {};
  }

  // The next line, without its CRLF; nullopt when the deadline passed.
  Result<std::optional<std::string>> line(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (const auto nl = buf_.find("\r\n"); nl != std::string::npos) {
        std::string out = buf_.substr(0, nl);
        buf_.erase(0, nl + 2);
        return std::optional<std::string>(std::move(out));
      }
      if (buf_.size() > 1024 * 1024) return Error(ErrorCode::kTransient, "IMAP: a line too long");
      char chunk[4096];
      size_t n = 0;
      const CURLcode rc = curl_easy_recv(h_, chunk, sizeof chunk, &n);
      if (rc == CURLE_AGAIN) {
        auto st = wait(POLLIN, deadline);
        if (!st.ok()) {
          if (st.error().code() == ErrorCode::kBusy) return std::optional<std::string>();
          return st.error();
        }
        continue;
      }
      if (rc != CURLE_OK) return Error(ErrorCode::kTransient, std::string("IMAP: ") + curl_easy_strerror(rc));
      if (n == 0) return Error(ErrorCode::kTransient, "IMAP: the server closed the connection");
      buf_.append(chunk, n);
    }
  }

  // Sends `tag command` and reads to the tagged answer; the untagged lines
  // go to `untagged`. The answer's status ("OK", "NO", "BAD").
  Result<std::string> command(const std::string& tag, const std::string& cmd,
                              std::vector<std::string>* untagged,
                              std::chrono::steady_clock::time_point deadline) {
    if (auto st = send(tag + " " + cmd + "\r\n", deadline); !st.ok()) return st.error();
    for (;;) {
      auto l = line(deadline);
      if (!l) return l.error();
      if (!*l) return Error(ErrorCode::kTransient, "IMAP: no answer to " + tag);
      if ((*l)->starts_with(tag + " ")) {
        const std::string rest = (*l)->substr(tag.size() + 1);
        return rest.substr(0, rest.find(' '));
      }
      if (untagged) untagged->push_back(std::move(**l));
    }
  }

 private:
  // kBusy: the deadline passed; kCancelled: stopping.
  Status wait(short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (stopping_) return Error(ErrorCode::kCancelled, "stopping");
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Error(ErrorCode::kBusy, "deadline");
      pollfd p{sock_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 500)));
      if (r > 0) return {};
      if (r < 0 && errno != EINTR) return errno_error("poll");
    }
  }

  CURL* h_;
  curl_socket_t sock_;
  std::atomic<bool>& stopping_;
  std::string buf_;
};

}  // namespace

Result<bool> ImapMailbox::wait_for_news(std::chrono::milliseconds max) {
  using Clock = std::chrono::steady_clock;
  const std::string folder = folder_url(config_.url);
  const auto path_at = folder.find('/', folder.find("://") + 3);
  const std::string base = folder.substr(0, path_at) + "/";
  const std::string name = percent_decoded(folder.substr(path_at + 1));
  const auto user = imap_quoted(config_.username), pass = imap_quoted(config_.password),
             box = imap_quoted(name);
  if (!user || !pass || !box) {
    return Error(ErrorCode::kInvalidInput, "the username, password or folder needs a literal");
  }
  if (stopping_) return Error(ErrorCode::kCancelled, "stopping");
  CurlEasy curl(curl_easy_init());
  if (!curl) return Error(ErrorCode::kInternal, "curl_easy_init failed");
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, base.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(h, CURLOPT_USERNAME, config_.username.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, config_.password.c_str());
  if (base.starts_with("imap://")) {
    curl_easy_setopt(h, CURLOPT_USE_SSL,
                     config_.starttls == "off" ? static_cast<long>(CURLUSESSL_NONE)
                                               : static_cast<long>(CURLUSESSL_ALL));
  }
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config_.connect_timeout_s));
  if (!config_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, config_.ca_file.c_str());
  if (!config_.tls_verify) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (const CURLcode rc = curl_easy_perform(h); rc != CURLE_OK) {
    return Error(ErrorCode::kTransient, std::string("IMAP: ") + curl_easy_strerror(rc));
  }
  curl_socket_t sock = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock) != CURLE_OK || sock == CURL_SOCKET_BAD) {
    return Error(ErrorCode::kTransient, "IMAP: no connection");
  }
  Conversation c(h, sock, stopping_);
  const auto step_deadline = [&] {
    return Clock::now() + std::chrono::seconds(config_.timeout_s);
  };
  // libcurl has read the greeting and logged in already (its IMAP connect
  // phase runs before CONNECT_ONLY stops); a LOGIN is sent anyway for
  // servers where it did not, and its refusal ("already logged in") is
  // fine: SELECT decides.
  std::vector<std::string> untagged;
  auto st = c.command("i1", "LOGIN " + *user + " " + *pass, nullptr, step_deadline());
  if (!st) return st.error();
  st = c.command("i2", "SELECT " + *box, nullptr, step_deadline());
  if (!st) return st.error();
  if (*st != "OK") return Error(ErrorCode::kTransient, "IMAP: SELECT refused");
  st = c.command("i3", std::string("UID SEARCH UNKEYWORD ") + kHandledKeyword, &untagged,
                 step_deadline());
  if (!st) return st.error();
  for (const auto& l : untagged) {
    if (!parse_search(l).empty()) return true;  // a mail is waiting already
  }
  if (auto s = c.send("i4 IDLE\r\n", step_deadline()); !s.ok()) return s.error();
  auto cont = c.line(step_deadline());
  if (!cont) return cont.error();
  if (!*cont || !(*cont)->starts_with("+")) {
    return Error(ErrorCode::kInvalidInput, "the server does not offer IDLE");
  }
  bool news = false;
  const auto until = Clock::now() + max;
  for (;;) {
    auto l = c.line(until);
    if (!l) return l.error();
    if (!*l) break;  // quiet until the end
    if ((*l)->find(" EXISTS") != std::string::npos || (*l)->find(" RECENT") != std::string::npos) {
      news = true;
      break;
    }
  }
  // Leaves politely; a failure here changes nothing.
  if (c.send("DONE\r\n", step_deadline()).ok()) {
    (void)c.command("i5", "LOGOUT", nullptr, Clock::now() + std::chrono::seconds(5));
  }
  return news;
}

}  // namespace stockwatch

#include "mailbox/imap_client.hpp"

#include <fcntl.h>
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

}  // namespace stockwatch

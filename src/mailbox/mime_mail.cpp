#include "mailbox/mime_mail.hpp"

#include <fcntl.h>
#include <gmime/gmime.h>
#include <unistd.h>

#include <mutex>
#include <utility>

#include "os/unique_fd.hpp"

namespace stockwatch {

namespace {

// A reference to a GObject, released with g_object_unref. Move-only.
template <class T>
class GObjectPtr {
 public:
  GObjectPtr() = default;
  explicit GObjectPtr(T* p) : p_(p) {}
  GObjectPtr(GObjectPtr&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  GObjectPtr& operator=(GObjectPtr&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  GObjectPtr(const GObjectPtr&) = delete;
  GObjectPtr& operator=(const GObjectPtr&) = delete;
  ~GObjectPtr() { reset(); }
  void reset() noexcept {
    if (p_) g_object_unref(p_);
    p_ = nullptr;
  }
  [[nodiscard]] T* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

// GMimeReferences, a boxed list, freed with g_mime_references_free.
struct ReferencesDeleter {
  void operator()(GMimeReferences* r) const noexcept { g_mime_references_free(r); }
};
using ReferencesPtr = std::unique_ptr<GMimeReferences, ReferencesDeleter>;

void gmime_setup() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

// A Message-ID fit to be a key and to be written in a header: printable
// ASCII without spaces or angle brackets, not too long.
std::string usable_id(const char* id) {
  if (!id) return {};
  std::string out = trim(id);
  if (out.size() > 250) return {};
  for (unsigned char c : out) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>') return {};
  }
  return out;
}

const char* header(GMimeObject* object, const char* name) {
  return g_mime_object_get_header(object, name);
}

// Why the headers say a machine sent the mail (RFC 3834, RFC 2076, the
// usual mailing-list and bounce headers); empty otherwise.
std::string automated_reason(GMimeObject* m, const std::string& from) {
  if (const char* v = header(m, "Auto-Submitted"); v && lower(trim(v)) != "no") {
    return "Auto-Submitted: " + trim(v);
  }
  if (const char* v = header(m, "Precedence")) {
    const std::string p = lower(trim(v));
    if (p == "bulk" || p == "list" || p == "junk" || p == "auto_reply") return "Precedence: " + p;
  }
  if (const char* v = header(m, "Return-Path"); v && trim(v) == "<>") return "an empty Return-Path";
  for (const char* name : {"List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond",
                           "X-Auto-Response-Suppress", "Feedback-ID"}) {
    if (header(m, name)) return std::string("a ") + name + " header";
  }
  if (const char* v = header(m, "Content-Type");
      v && lower(v).find("multipart/report") != std::string::npos) {
    return "a delivery report";
  }
  if (from.empty()) return "no From address";
  const std::string local = from.substr(0, from.find('@'));
  for (const char* robot : {"mailer-daemon", "postmaster", "noreply", "no-reply", "no_reply",
                            "donotreply", "do-not-reply", "bounce", "bounces"}) {
    if (local == robot || local.starts_with(std::string(robot) + "+") ||
        local.starts_with(std::string(robot) + "-")) {
      return "the address " + from;
    }
  }
  return {};
}

void read_headers(GMimeMessage* message, ParsedMail& out) {
  GMimeObject* m = GMIME_OBJECT(message);
  out.message_id = usable_id(g_mime_message_get_message_id(message));
  if (InternetAddressList* list = g_mime_message_get_from(message)) {
    const int n = internet_address_list_length(list);
    for (int i = 0; i < n && out.from.empty(); ++i) {
      InternetAddress* a = internet_address_list_get_address(list, i);
      if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
        if (const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))) {
          out.from = lower(trim(addr));
        }
      }
    }
  }
  if (const char* s = g_mime_message_get_subject(message)) out.subject = s;
  for (const char* name : {"References", "In-Reply-To"}) {
    if (const char* v = header(m, name)) {
      ReferencesPtr refs(g_mime_references_parse(nullptr, v));
      if (!refs) continue;
      const int n = g_mime_references_length(refs.get());
      for (int i = 0; i < n && out.references.size() < 50; ++i) {
        std::string id = usable_id(g_mime_references_get_message_id(refs.get(), i));
        if (id.empty()) continue;
        bool seen = false;
        for (const auto& r : out.references) seen = seen || r == id;
        if (!seen) out.references.push_back(std::move(id));
      }
    }
  }
  out.automated = automated_reason(m, out.from);
  GMimeHeaderList* headers = g_mime_object_get_header_list(m);
  const int count = headers ? g_mime_header_list_get_count(headers) : 0;
  for (int i = 0; i < count; ++i) {
    GMimeHeader* h = g_mime_header_list_get_header_at(headers, i);
    const char* name = g_mime_header_get_name(h);
    if (name && g_ascii_strcasecmp(name, "Authentication-Results") == 0) {
      const char* v = g_mime_header_get_value(h);
      if (v) out.authentication_results.push_back(trim(v));
    }
  }
}

struct Walker {
  const std::filesystem::path& scratch;
  const MailLimits& limits;
  ParsedMail& out;
  std::optional<Error> failure;

  void leaf(GMimePart* part) {
    const char* filename = g_mime_part_get_filename(part);
    if (!filename || !*filename) return;  // text of the mail, not an attached file
    if (static_cast<int>(out.files.size()) >= limits.max_files) return;
    MailFile f;
    f.position = static_cast<int>(out.files.size());
    f.name = filename;
    if (GMimeContentType* ct = g_mime_object_get_content_type(GMIME_OBJECT(part))) {
      if (char* mime = g_mime_content_type_get_mime_type(ct)) {
        f.content_type = mime;
        g_free(mime);
      }
    }
    GMimeDataWrapper* content = g_mime_part_get_content(part);
    const bool wanted = !limits.wanted || limits.wanted(f.name);
    if (content && wanted) {
      f.file = scratch / ("part-" + std::to_string(f.position));
      UniqueFd fd(::open(f.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) {
        failure = errno_error("cannot create " + f.file.string());
        return;
      }
      // The stream takes the descriptor: it closes it.
      GObjectPtr<GMimeStream> stream(g_mime_stream_fs_new(fd.release()));
      const gint64 written = g_mime_data_wrapper_write_to_stream(content, stream.get());
      if (written < 0 || g_mime_stream_flush(stream.get()) != 0) {
        failure = Error(ErrorCode::kIo, "cannot write " + f.file.string());
        return;
      }
      std::error_code ec;
      f.size = std::filesystem::file_size(f.file, ec);
      if (f.size > limits.max_file_bytes) {
        f.over_limit = true;
        std::filesystem::remove(f.file, ec);
        f.file.clear();
      }
    } else if (content) {
      // Not wanted: only its size is noted, decoded into nothing.
      GObjectPtr<GMimeStream> null(g_mime_stream_null_new());
      const gint64 written = g_mime_data_wrapper_write_to_stream(content, null.get());
      f.size = written > 0 ? static_cast<std::uint64_t>(written) : 0;
    }
    out.files.push_back(std::move(f));
  }

  void walk(GMimeObject* object, int depth) {
    if (!object || failure || depth > limits.max_depth) return;
    if (GMIME_IS_MULTIPART(object)) {
      GMimeMultipart* mp = GMIME_MULTIPART(object);
      const int n = g_mime_multipart_get_count(mp);
      for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth);
    } else if (GMIME_IS_MESSAGE_PART(object)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(object));
      if (inner) walk(g_mime_message_get_mime_part(inner), depth + 1);
    } else if (GMIME_IS_PART(object)) {
      leaf(GMIME_PART(object));
    }
  }
};

}  // namespace

Result<ParsedMail> parse_mail(const std::filesystem::path& mail, const std::filesystem::path& scratch,
                              const MailLimits& limits) {
  gmime_setup();
  UniqueFd fd(::open(mail.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error("cannot open " + mail.string());
  GObjectPtr<GMimeStream> stream(g_mime_stream_fs_new(fd.release()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  ParsedMail out;
  if (!message) {
    out.automated = "";  // nothing GMime could read as a mail: no headers, no files
    return out;
  }
  read_headers(message.get(), out);
  Walker w{scratch, limits, out, std::nullopt};
  w.walk(g_mime_message_get_mime_part(message.get()), 0);
  if (w.failure) return *w.failure;
  return out;
}

Result<ParsedMail> parse_mail_header(std::string_view text) {
  gmime_setup();
  std::string whole(text);
  if (!whole.ends_with("\r\n\r\n") && !whole.ends_with("\n\n")) whole += "\r\n";
  GObjectPtr<GMimeStream> stream(
      g_mime_stream_mem_new_with_buffer(whole.data(), whole.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  ParsedMail out;
  if (message) read_headers(message.get(), out);
  return out;
}

namespace {
void read_text(GMimeObject* object, MailText& out, int depth) {
  if (!object || depth > 8) return;
  if (GMIME_IS_MULTIPART(object)) {
    GMimeMultipart* mp = GMIME_MULTIPART(object);
    const int n = g_mime_multipart_get_count(mp);
    for (int i = 0; i < n; ++i) read_text(g_mime_multipart_get_part(mp, i), out, depth + 1);
    return;
  }
  if (!GMIME_IS_PART(object)) return;
  GMimePart* part = GMIME_PART(object);
  if (const char* name = g_mime_part_get_filename(part)) {
    out.files.emplace_back(name);
    return;
  }
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (!out.text.empty() || !GMIME_IS_TEXT_PART(object) || !type ||
      !g_mime_content_type_is_type(type, "text", "plain")) {
    return;
  }
  if (char* text = g_mime_text_part_get_text(GMIME_TEXT_PART(object))) {
    out.text = text;
    g_free(text);
  }
}
}  // namespace

MailText read_mail_text(std::string_view mail) {
  gmime_setup();
  std::string whole(mail);
  GObjectPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(whole.data(), whole.size()));
  GObjectPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GObjectPtr<GMimeMessage> message(g_mime_parser_construct_message(parser.get(), nullptr));
  MailText out;
  if (!message) return out;
  if (const char* subject = g_mime_message_get_subject(message.get())) out.subject = subject;
  if (InternetAddressList* to = g_mime_message_get_to(message.get())) {
    if (char* s = internet_address_list_to_string(to, nullptr, FALSE)) {
      out.to = s;
      g_free(s);
    }
  }
  read_text(g_mime_message_get_mime_part(message.get()), out, 0);
  // CRLF as sent; a person reads lines.
  std::string text;
  text.reserve(out.text.size());
  for (char c : out.text) {
    if (c != '\r') text += c;
  }
  out.text = std::move(text);
  return out;
}

bool authenticated_by(const ParsedMail& mail, std::string_view authserv_id) {
  const std::string want = lower(authserv_id);
  const auto at = mail.from.find('@');
  if (at == std::string::npos) return false;
  const std::string domain = mail.from.substr(at + 1);
  for (const auto& value : mail.authentication_results) {
    // "mx.example.com; dkim=pass ...; dmarc=pass (p=none) header.from=example.com"
    const std::string v = lower(value);
    const auto semi = v.find(';');
    std::string id = trim(std::string_view(v).substr(0, semi));
    if (const auto space = id.find_first_of(" \t"); space != std::string::npos) id.resize(space);
    if (id != want) continue;
    // The topmost header of our server decides (RFC 8601: it removes
    // headers that claim its id from outside).
    if (semi == std::string::npos) return false;
    std::size_t start = semi + 1;
    while (start < v.size()) {
      std::size_t end = v.find(';', start);
      if (end == std::string::npos) end = v.size();
      const std::string res = trim(std::string_view(v).substr(start, end - start));
      if (res.starts_with("dmarc=pass")) {
        const auto hf = res.find("header.from=");
        if (hf == std::string::npos) return true;
        std::string d = res.substr(hf + 12);
        if (const auto sp = d.find_first_of(" \t;()"); sp != std::string::npos) d.resize(sp);
        return d == domain;
      }
      start = end + 1;
    }
    return false;
  }
  return false;
}

}  // namespace stockwatch

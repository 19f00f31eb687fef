#include "notify/http_post.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>

#include "notify/curl_handle.hpp"
#include "notify/message.hpp"

namespace stockwatch {
namespace {

struct Capture {
  HttpPostReply* reply;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* reply = static_cast<HttpPostReply*>(userp);
  const std::size_t len = size * n;
  const std::size_t kept = std::min(reply->body.size(), HttpPostReply::kMaxBody);
  const std::size_t room = HttpPostReply::kMaxBody - kept;
  reply->body.append(data, std::min(len, room));
  return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* userp) {
  auto* reply = static_cast<HttpPostReply*>(userp);
  const std::size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (std::size_t i = 0; i < kName.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(line[i])) != kName[i]) match = false;
    }
    if (match) {
      line.remove_prefix(kName.size());
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) {
        line.remove_suffix(1);
      }
      reply->retry_after = std::string(line.substr(0, 100));
    }
  }
  return len;
}

int on_progress(void* userp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto at = static_cast<const SendDeadline*>(userp)->get();
  return at && SendDeadline::Clock::now() >= *at ? 1 : 0;
}

// The answer's first line of text, for the outcome (shown to operators).
std::string answer_excerpt(const std::string& body) {
  std::string text = sanitize_text(body.substr(0, 200));
  while (!text.empty() && (text.back() == ' ' || text.back() == '?')) text.pop_back();
  return text;
}

}  // namespace

HttpPostReply http_post(const std::string& url, const std::vector<std::string>& headers,
                        const std::string& body, const HttpPostOptions& options) {
  HttpPostReply reply;
  if (const CURLcode rc = curl_global_setup(); rc != CURLE_OK) {
    reply.curl_code = rc;
    reply.error = "libcurl initialisation failed";
    return reply;
  }
  long connect_ms = static_cast<long>(std::chrono::milliseconds(options.connect_timeout).count());
  long total_ms = static_cast<long>(std::chrono::milliseconds(options.timeout).count());
  if (const auto at = options.deadline ? options.deadline->get() : std::nullopt) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          *at - SendDeadline::Clock::now()).count();
    if (left <= 0) {
      reply.curl_code = CURLE_ABORTED_BY_CALLBACK;
      reply.error = "not sent: the time for sending at shutdown ran out";
      return reply;
    }
    connect_ms = std::min<long>(connect_ms, static_cast<long>(left));
    total_ms = std::min<long>(total_ms, static_cast<long>(left));
  }
  CurlEasy curl(curl_easy_init());
  if (!curl) {
    reply.curl_code = CURLE_FAILED_INIT;
    reply.error = "libcurl initialisation failed";
    return reply;
  }
  CurlSlist list;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (!next) {
      reply.curl_code = CURLE_OUT_OF_MEMORY;
      reply.error = "out of memory";
      return reply;
    }
    (void)list.release();
    list.reset(next);
  }
  std::array<char, CURL_ERROR_SIZE> errbuf{};
  CURLcode setup = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (setup == CURLE_OK) setup = curl_easy_setopt(curl.get(), option, value);
  };
  set(CURLOPT_ERRORBUFFER, errbuf.data());
  set(CURLOPT_URL, url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_POST, 1L);
  set(CURLOPT_POSTFIELDS, body.data());
  set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  set(CURLOPT_HTTPHEADER, list.get());
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  set(CURLOPT_TIMEOUT_MS, total_ms);
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, &reply);
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, &reply);
  if (options.deadline) {
    set(CURLOPT_XFERINFOFUNCTION, &on_progress);
    set(CURLOPT_XFERINFODATA, const_cast<SendDeadline*>(options.deadline));
    set(CURLOPT_NOPROGRESS, 0L);
  }
  if (setup != CURLE_OK) {
    reply.curl_code = setup;
    reply.error = std::string("cannot set up the request: ") + curl_easy_strerror(setup);
    return reply;
  }
  const CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;
  if (curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) status = 0;
  reply.status = status;
  reply.curl_code = rc;
  if (rc != CURLE_OK) {
    reply.error = errbuf[0] != '\0' ? std::string(errbuf.data()) : curl_easy_strerror(rc);
    while (!reply.error.empty() && (reply.error.back() == '\n' || reply.error.back() == '\r')) {
      reply.error.pop_back();
    }
  }
  return reply;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value, TimePoint now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  const auto cap = [](std::chrono::milliseconds d) {
    return std::clamp<std::chrono::milliseconds>(d, std::chrono::milliseconds(0), kMaxRetryAfter);
  };
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return cap(kMaxRetryAfter);
    return cap(std::chrono::seconds(std::stoll(std::string(value))));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::time_t at = ::timegm(&tm);
  const auto when = std::chrono::system_clock::from_time_t(at);
  const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      when - std::chrono::time_point_cast<std::chrono::system_clock::duration>(now));
  return cap(wait);
}

SendOutcome classify_http(const HttpPostReply& reply, std::string_view shown, TimePoint now) {
  using Kind = SendOutcome::Kind;
  const std::string who(shown);
  if (reply.curl_code != CURLE_OK) {
    const auto rc = static_cast<CURLcode>(reply.curl_code);
    const std::string what = sanitize_text(reply.error);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
      return {Kind::kPermanent, 0, who + ": not a usable http:// or https:// URL: " + what,
              "Fix the URL in the configuration, reload, then send the message again."};
    }
    if (rc == CURLE_PEER_FAILED_VERIFICATION) {
      return {Kind::kPermanent, 0, who + ": certificate not trusted: " + what,
              "The receiver's certificate is not signed by a CA this machine trusts."};
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
      return {Kind::kTransient, 0, who + ": not sent: the time for sending at shutdown ran out",
              "It stays queued and is sent after the next start."};
    }
    return {Kind::kTransient, 0, who + ": " + what,
            "The receiver could not be reached; it is tried again with backoff."};
  }
  const long s = reply.status;
  const std::string code = std::to_string(s);
  const std::string excerpt = answer_excerpt(reply.body);
  const std::string answer = "HTTP " + code + (excerpt.empty() ? "" : ": " + excerpt);
  if (s >= 200 && s <= 299) {
    return {Kind::kSent, static_cast<int>(s), who + ": accepted (" + answer + ")"};
  }
  if (s == 429 || s == 503) {
    SendOutcome out{Kind::kTransient, static_cast<int>(s), who + ": " + answer,
                    "The receiver asked to wait; it is tried again then."};
    if (!reply.retry_after.empty()) {
      out.retry_after = parse_retry_after(reply.retry_after, now);
      if (out.retry_after) {
        out.detail += " (Retry-After: " + sanitize_text(reply.retry_after) + ")";
      }
    }
    return out;
  }
  if (s >= 500 && s <= 599) {
    return {Kind::kTransient, static_cast<int>(s), who + ": " + answer,
            "The receiver failed; it is tried again with backoff."};
  }
  if (s >= 400 && s <= 499) {
    return {Kind::kPermanent, static_cast<int>(s), who + ": refused (" + answer + ")",
            "The receiver refused the message; fix what it says (the address, the token), then "
            "send it again with `stockwatch outbox retry`."};
  }
  return {Kind::kPermanent, static_cast<int>(s), who + ": unexpected answer (" + answer + ")",
          "Redirects are not followed: configure the final URL."};
}

}  // namespace stockwatch

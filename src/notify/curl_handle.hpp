// Move-only owners of libcurl handles, and libcurl's one-time set-up.
// Private to the core library (src/).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <mutex>

namespace stockwatch {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

// libcurl is set up once per process, before its first use.
inline CURLcode curl_global_setup() {
  static std::once_flag once;
  static CURLcode result = CURLE_FAILED_INIT;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

}  // namespace stockwatch

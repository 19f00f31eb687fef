#include "http/s3/s3_authenticator.hpp"

#include <spdlog/spdlog.h>

#include "http/s3/s3_protocol.hpp"
#include "http/s3/sigv4.hpp"

namespace stockwatch {

namespace {

http::Refusal refusal_from(const S3Error& e) {
  http::Refusal r;
  r.status = e.status;
  r.code = e.code;
  r.message = e.message;
  return r;
}

}  // namespace

void S3SignatureAuthenticator::set_config(const HttpConfig& http) {
  credentials_ = http.credentials;
  region_ = http.region;
  allow_anonymous_ = http.allow_anonymous_upload;
}

http::AuthResult S3SignatureAuthenticator::authenticate(const http::RequestHead& head,
                                                        const std::string& remote) {
  SigV4Request request{std::string(head.method_string()), std::string(head.target()), {}};
  for (const auto& field : head) {
    request.headers.emplace_back(ascii_lower(field.name_string()), std::string(field.value()));
  }
  const bool signed_request = has_sigv4(request);
  if (credentials_.empty()) {
    if (allow_anonymous_) return {};
    return {{}, refusal_from({403, "AccessDenied",
                              "uploads are turned off on this server: it has no "
                              "[[http.credential]] (and http.allow_anonymous_upload is false)"})};
  }
  if (!signed_request && allow_anonymous_) return {};

  SigV4Options options;
  options.region = region_;
  const auto lookup = [this](std::string_view key) -> std::optional<std::string> {
    for (const auto& c : credentials_) {
      if (c.access_key == key) return c.secret_key;
    }
    return std::nullopt;
  };
  auto verified = verify_sigv4(request, lookup, clock_.now(), options);
  if (verified.error) {
    spdlog::warn("http {}: {} {} refused: {}: {}", remote, request.method, request.target,
                 verified.error->code, verified.error->message);
    return {{}, refusal_from(*verified.error)};
  }
  http::Identity id{verified.access_key, http::Role::kUploader, {}, verified.payload_hash};
  for (const auto& c : credentials_) {
    if (c.access_key == verified.access_key) id.stores = c.stores;
  }
  return {std::move(id), {}};
}

}  // namespace stockwatch

#include "http/http_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <future>
#include <stdexcept>
#include <thread>

#include "base/guard.hpp"
#include "daemon/metrics.hpp"
#include "store/storage.hpp"
#include "http/console/console.hpp"
#include "http/s3/upload_store.hpp"

namespace stockwatch {

namespace asio = boost::asio;

namespace {
S3GatewayOptions gateway_options(const Config& c) {
  return {c.inbox.bucket, c.http, c.report};
}
}  // namespace

struct HttpService::Impl {
  Impl(const Config& config, const Clock& clock, Metrics& metrics, HealthSource health,
       PlacedReport placed, ArrivingReport arriving)
      : storage(Storage::open(config.storage.location(),
                              StorageOptions::from(config.storage), clock)),
        uploads(config.inbox.path, clock),
        gateway(gateway_options(config), uploads, clock, &metrics),
        routes(*storage, metrics, health),
        console(config.console.enabled
                    ? std::make_unique<console::Console>(
                          config, clock, metrics, health, ioc.get_executor(),
                          [this](const std::string& key, std::string_view data, const std::string& who,
                                 const std::string& remote) {
                            return gateway.place_bytes(key, data, who, remote);
                          })
                    : nullptr),
        site(config.http.token, config.inbox.bucket, routes, gateway, metrics, clock, {},
             console.get()),
        server(ioc,
               {config.http.listen, std::chrono::seconds(config.http.read_timeout_s), 16 * 1024,
                static_cast<std::size_t>(config.http.max_connections)},
               site),
        multipart_max_age(std::chrono::hours(config.http.multipart_max_age_h)) {
    gateway.on_placed(std::move(placed));
    gateway.on_arriving(std::move(arriving));
  }

  asio::io_context ioc{1};
  std::unique_ptr<Storage> storage;
  UploadStore uploads;
  S3Gateway gateway;
  HttpRoutes routes;
  std::unique_ptr<console::Console> console;   // null when [console] enabled = false
  Site site;
  http::Server server;
  asio::steady_timer sweep_timer{ioc};
  Duration multipart_max_age;
  std::string console_url;
  std::thread thread;
  std::promise<void> finished;   // set when the thread's loop has returned
  bool stopped = false;

  void arm_sweep() {
    sweep_timer.expires_after(std::chrono::hours(1));
    sweep_timer.async_wait(guarded("http: upload sweep", [this](const boost::system::error_code& ec) {
      if (ec) return;
      arm_sweep();
      if (const auto n = uploads.sweep(multipart_max_age)) {
        spdlog::info("http: removed {} multipart upload(s) left unfinished for over {} h", n,
                     std::chrono::duration_cast<std::chrono::hours>(multipart_max_age).count());
      }
    }));
  }
};

HttpService::HttpService(const Config& config, const Clock& clock, Metrics& metrics,
                         HealthSource health, PlacedReport placed, ArrivingReport arriving)
    : impl_(std::make_unique<Impl>(config, clock, metrics, std::move(health), std::move(placed),
                                   std::move(arriving))) {
  if (auto st = impl_->server.start(); !st.ok()) throw std::runtime_error(st.message());
  (void)impl_->uploads.sweep(impl_->multipart_max_age);
  const auto& h = config.http;
  if (h.credentials.empty() && !h.allow_anonymous_upload) {
    spdlog::info("http: listening on {} (port {}); S3 uploads are off (no [[http.credential]])",
                 h.listen, impl_->server.port());
  } else {
    spdlog::info("http: listening on {} (port {}); S3 uploads to bucket {}{}", h.listen,
                 impl_->server.port(), config.inbox.bucket,
                 h.allow_anonymous_upload ? ", anonymous uploads allowed" : "");
  }
  if (impl_->console) {
    // A wildcard address is reached through loopback from this machine.
    auto host = http::parse_listen(h.listen).value_or(http::ListenAddress{}).host;
    if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
    if (host == "::") host = "::1";
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    impl_->console_url = "http://" + host + ":" + std::to_string(impl_->server.port());
  }
}

HttpService::~HttpService() { stop(); }

void HttpService::start() {
  if (impl_->console) impl_->console->start(impl_->console_url);
  impl_->arm_sweep();
  impl_->thread = std::thread([this] {
    try {
      impl_->ioc.run();
    } catch (const std::exception& e) {
      spdlog::critical("http: stopped by an unexpected error: {}", e.what());
    }
    impl_->finished.set_value();
  });
}

void HttpService::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->thread.joinable()) {
    // Closing the listener and every connection lets each session finish
    // its handlers (an upload in flight removes its staging file); the
    // thread then runs out of work and ends. One that does not within a
    // few seconds is stopped.
    asio::post(impl_->ioc, [this] {
      impl_->server.stop();
      impl_->sweep_timer.cancel();
    });
    if (impl_->finished.get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
      spdlog::warn("http: connections did not close within 5 s; stopping them");
      impl_->ioc.stop();
    }
    impl_->thread.join();
  } else {
    impl_->server.stop();
  }
  // After the HTTP thread: answers the console still sends go nowhere.
  if (impl_->console) impl_->console->stop();
}

void HttpService::reload(const Config& config) {
  asio::post(impl_->ioc, guarded("http: reload", [this, options = gateway_options(config),
                                                   token = config.http.token] {
    impl_->gateway.set_options(options);
    impl_->site.reload(token, options.bucket);
  }));
  if (impl_->console) impl_->console->reload(config.console);
}

unsigned short HttpService::port() const { return impl_->server.port(); }

}  // namespace stockwatch

// metrics_http: the broker's Prometheus endpoint. `GET /metrics` (or HEAD) answers with the
// text exposition format 0.0.4 produced by a render callback; anything else gets a short,
// clear error status. One request per connection (`Connection: close`), which every
// Prometheus scraper handles and which keeps the server free of keep-alive state.
//
//   metrics_http_server http(cfg, cores.context(0), [&]() -> asio::awaitable<std::string> {
//     co_return observe::render_prometheus(observe::registry::global());
//   });
//   SPATE_TRY(http.start());   // listening; http.port() is the bound port
//   ...
//   http.stop();
//
// Robustness: a request head is at most `max_request_bytes` (431 beyond), every exchange has a
// deadline (408 if the head has not arrived by then, a plain close if the answer cannot be
// written), and at most `max_connections` are served at once (503 beyond). Everything is
// asynchronous on one event loop, so a slow or silent client holds a socket and a few KiB
// until its deadline, and never the loop.
//
// Threading: start/stop from the owning thread; the server itself runs on the given loop.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace spate::broker {

struct metrics_http_config {
  std::string host = "127.0.0.1";
  uint16_t port = 9644;
  size_t max_request_bytes = 8192;  // request line + headers
  std::chrono::milliseconds deadline{10'000};
  size_t max_connections = 32;
};

// What a request head (everything before the blank line) asks for. `status` is 200 for a
// well-formed GET or HEAD of /metrics, else the error status to answer with: 400 malformed,
// 404 another path, 405 another method, 505 an HTTP version other than 1.0 and 1.1.
// Pure parsing, no I/O, so tests can feed it anything.
struct http_request_head {
  int status = 400;
  std::string method;
  std::string path;  // the target without its query string
};
http_request_head parse_http_head(std::string_view head);

// The reason phrase for the statuses this server sends.
std::string_view http_reason(int status);

class metrics_http_server {
 public:
  using render_fn = std::function<asio::awaitable<std::string>()>;

  metrics_http_server(metrics_http_config cfg, asio::io_context& ctx, render_fn render);
  ~metrics_http_server();

  // Binds and starts accepting; the loop must be running or started later.
  status start();
  // Stops accepting. Exchanges in progress finish on their own deadlines.
  void stop();
  uint16_t port() const { return _bound_port; }

 private:
  struct exchange;
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(std::shared_ptr<exchange> x);

  metrics_http_config _cfg;
  asio::io_context& _ctx;
  render_fn _render;
  std::unique_ptr<asio::ip::tcp::acceptor> _acceptor;
  uint16_t _bound_port = 0;
  size_t _active = 0;  // exchanges in progress (loop thread only)
};

}  // namespace spate::broker

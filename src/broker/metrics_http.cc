#include "broker/metrics_http.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <cstring>
#include <optional>

#include "observe/log.h"
#include "observe/metrics.h"
#include "observe/prometheus.h"

namespace spate::broker {
namespace {

const auto& log() {
  static const auto l = observe::logger("broker");
  return l;
}

// RFC 9110 token characters (methods and header names).
bool is_tchar(char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool all_of(std::string_view s, bool (*pred)(char)) {
  for (char c : s) {
    if (!pred(c)) return false;
  }
  return true;
}

// Visible ASCII: what a request target may hold (no spaces, controls or raw non-ASCII bytes).
bool is_vchar(char c) {
  return c > 0x20 && c < 0x7f;
}

// Header values: visible ASCII, space, tab and obs-text; no other control characters.
bool is_field_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

// Takes the next line (without its "\n" or "\r\n") off the front of `s`.
std::string_view next_line(std::string_view& s) {
  size_t eol = s.find('\n');
  std::string_view line = s.substr(0, eol);
  s = eol == std::string_view::npos ? std::string_view{} : s.substr(eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

void count_response(int status) {
  observe::registry::global()
      .counter("spate_metrics_http_responses_total",
               "Responses of the Prometheus endpoint, by HTTP status",
               {{"code", std::to_string(status)}})
      .inc();
}

std::string response_head(int status, std::string_view content_type, size_t length) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + std::string(http_reason(status)) +
                  "\r\nContent-Type: " + std::string(content_type) +
                  "\r\nContent-Length: " + std::to_string(length) + "\r\nConnection: close\r\n";
  if (status == 405) h += "Allow: GET, HEAD\r\n";
  h += "\r\n";
  return h;
}

// Where the request head ends: the first blank line ("\r\n\r\n", or "\n\n" from lenient
// clients). Returns the head's length and the terminator's, or nullopt if it is incomplete.
std::optional<std::pair<size_t, size_t>> find_head_end(std::string_view data) {
  size_t crlf = data.find("\r\n\r\n");
  size_t lf = data.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::nullopt;
  if (lf < crlf) return std::pair{lf, size_t{2}};
  return std::pair{crlf, size_t{4}};
}

}  // namespace

http_request_head parse_http_head(std::string_view head) {
  http_request_head out;  // 400 until proven otherwise
  std::string_view rest = head;
  std::string_view line = next_line(rest);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return out;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return out;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || !all_of(method, is_tchar)) return out;
  if (target.empty() || !all_of(target, is_vchar) || target.front() != '/') return out;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(version[5])) ||
      !std::isdigit(static_cast<unsigned char>(version[7]))) {
    return out;
  }
  while (!rest.empty()) {
    std::string_view field = next_line(rest);
    // An empty line cannot be inside a head; a leading space is obsolete line folding, which
    // RFC 9112 lets a server reject.
    if (field.empty() || field.front() == ' ' || field.front() == '\t') return out;
    size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return out;
    if (!all_of(field.substr(0, colon), is_tchar)) return out;
    if (!all_of(field.substr(colon + 1), is_field_char)) return out;
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    out.status = 505;
    return out;
  }
  out.method = std::string(method);
  out.path = std::string(target.substr(0, target.find('?')));
  if (out.path != "/metrics") {
    out.status = 404;
  } else if (out.method != "GET" && out.method != "HEAD") {
    out.status = 405;
  } else {
    out.status = 200;
  }
  return out;
}

std::string_view http_reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}

// One accepted connection. Shared by the serving coroutine and its watchdog timer, which
// may outlive each other by one callback.
struct metrics_http_server::exchange {
  explicit exchange(asio::ip::tcp::socket s)
      : socket(std::move(s)), watchdog(socket.get_executor()) {}
  asio::ip::tcp::socket socket;
  asio::steady_timer watchdog;
  bool expired = false;

  // On expiry the pending operation is cancelled (so the coroutine can still answer 408);
  // if it is still not done after a short grace, the socket is closed.
  void arm(std::chrono::milliseconds after) {
    watchdog.expires_after(after);
    watchdog.async_wait([w = std::weak_ptr<exchange>(shared())](std::error_code ec) {
      auto x = w.lock();
      if (ec || !x) return;  // re-armed or finished in time
      std::error_code ignored;
      if (!x->expired) {
        x->expired = true;
        x->socket.cancel(ignored);
        x->arm(grace);
      } else {
        x->socket.close(ignored);
      }
    });
  }
  std::shared_ptr<exchange> shared() { return self.lock(); }
  std::weak_ptr<exchange> self;
  static constexpr std::chrono::milliseconds grace{1000};
};

metrics_http_server::metrics_http_server(metrics_http_config cfg, asio::io_context& ctx,
                                         render_fn render)
    : _cfg(std::move(cfg)), _ctx(ctx), _render(std::move(render)) {}

metrics_http_server::~metrics_http_server() {
  stop();
}

status metrics_http_server::start() {
  std::error_code ec;
  auto address = asio::ip::make_address(_cfg.host, ec);
  if (ec) return error(ec, "metrics listen address '" + _cfg.host + "'");
  asio::ip::tcp::endpoint ep(address, _cfg.port);
  _acceptor = std::make_unique<asio::ip::tcp::acceptor>(_ctx);
  _acceptor->open(ep.protocol(), ec);
  if (!ec) _acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) _acceptor->bind(ep, ec);
  if (!ec) _acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error(ec, "metrics endpoint: listen on " + _cfg.host + ":" + std::to_string(_cfg.port) +
                         " (--metrics-port -1 disables it)");
  }
  _bound_port = _acceptor->local_endpoint().port();
  asio::co_spawn(_ctx, accept_loop(), asio::detached);
  return ok();
}

void metrics_http_server::stop() {
  if (!_acceptor) return;
  // Closed on its own loop: the acceptor is not thread-safe.
  auto* acc = _acceptor.get();
  asio::post(_ctx, [acc] {
    std::error_code ec;
    acc->close(ec);
  });
}

asio::awaitable<void> metrics_http_server::accept_loop() {
  while (_acceptor->is_open()) {
    std::error_code ec;
    auto socket = co_await _acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !_acceptor->is_open()) co_return;
      // Out of descriptors, say: wait a little rather than spin on the failing accept.
      log()->warn("metrics endpoint: accept failed: {}", ec.message());
      asio::steady_timer pause(_ctx, std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (_active >= _cfg.max_connections) {
      // A fresh socket's send buffer is empty, so this small write completes at once and
      // never blocks the loop; if it does not, the client just sees the connection close.
      auto head = response_head(503, "text/plain; charset=utf-8", 0);
      socket.non_blocking(true, ec);
      if (!ec) socket.send(asio::buffer(head), 0, ec);
      count_response(503);
      socket.close(ec);
      continue;
    }
    ++_active;
    auto x = std::make_shared<exchange>(std::move(socket));
    x->self = x;
    asio::co_spawn(_ctx, serve(std::move(x)), asio::detached);
  }
}

// g++ 12 inlines Asio's coroutine-frame allocator into this function and then reports its
// matching recycling operator delete as mismatched (a false positive: Asio pairs them itself).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
asio::awaitable<void> metrics_http_server::serve(std::shared_ptr<exchange> x) {
  x->arm(_cfg.deadline);
  std::string buf(_cfg.max_request_bytes, '\0');
  size_t used = 0;
  std::optional<std::pair<size_t, size_t>> head_end;
  std::error_code ec;
  while (!head_end && used < buf.size()) {
    size_t n =
        co_await x->socket.async_read_some(asio::buffer(buf.data() + used, buf.size() - used),
                                           asio::redirect_error(asio::use_awaitable, ec));
    used += n;
    head_end = find_head_end(std::string_view(buf.data(), used));
    if (ec) break;
  }

  int status = 0;
  http_request_head req;
  if (head_end) {
    req = parse_http_head(std::string_view(buf.data(), head_end->first));
    status = req.status;
  } else if (x->expired) {
    status = 408;
  } else if (used == buf.size()) {
    status = 431;
  } else if (used > 0) {
    status = 400;  // the client ended its side in the middle of a head
  }
  buf = {};

  if (status != 0 && !(x->expired && status != 408)) {
    std::string body;
    std::string_view type = "text/plain; charset=utf-8";
    if (status == 200) {
      body = co_await _render();
      type = observe::prometheus_content_type;
    } else {
      body = std::to_string(status) + " " + std::string(http_reason(status)) + "\n";
    }
    count_response(status);
    std::string head = response_head(status, type, body.size());
    if (req.method == "HEAD") body.clear();
    if (!x->expired || status == 408) {
      std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body)};
      co_await asio::async_write(x->socket, out, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && x->socket.is_open()) {
      // Closing with unread input would reset the connection, and a reset can destroy the
      // answer before the client reads it. So: end our side, then read and drop what the
      // client still sends (a body we ignored, say), briefly and boundedly, until it closes.
      x->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
      if (!x->expired) x->arm(exchange::grace);
      std::array<char, 4096> sink;
      size_t drained = 0;
      while (!ec && drained < 64 * 1024) {
        drained += co_await x->socket.async_read_some(
            asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
      }
    }
  }
  x->watchdog.cancel();
  std::error_code ignored;
  x->socket.close(ignored);
  --_active;
}
#pragma GCC diagnostic pop

}  // namespace spate::broker

#include "kafka/server/server.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>

#include "kafka/server/connection.h"
#include "observe/log.h"

namespace spate::kafka {

server::~server() {
  stop();
}

status server::start() {
  auto& ctx = _cores.context(0);
  std::error_code ec;
  auto address = asio::ip::make_address(_cfg.host, ec);
  if (ec) return error(ec, "listen address '" + _cfg.host + "'");
  asio::ip::tcp::endpoint ep(address, _cfg.port);
  _acceptor = std::make_unique<asio::ip::tcp::acceptor>(ctx);
  _acceptor->open(ep.protocol(), ec);
  if (!ec) _acceptor->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) _acceptor->bind(ep, ec);
  if (!ec) _acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return error(ec, "listen on " + _cfg.host + ":" + std::to_string(_cfg.port));
  }
  _bound_port = _acceptor->local_endpoint().port();
  if (_cfg.advertised_host.empty()) _cfg.advertised_host = _cfg.host;
  if (_cfg.advertised_port == 0) _cfg.advertised_port = _bound_port;
  asio::co_spawn(ctx, accept_loop(), asio::detached);
  observe::logger("kafka")->info("listening on {}:{}", _cfg.host, _bound_port);
  return ok();
}

void server::stop() {
  if (!_acceptor) return;
  // Closed on its own loop: the acceptor is not thread-safe.
  auto* acc = _acceptor.get();
  asio::post(_cores.context(0), [acc] {
    std::error_code ec;
    acc->close(ec);
  });
}

namespace {
constexpr std::chrono::milliseconds accept_retry{100};
}  // namespace

asio::awaitable<void> server::accept_loop() {
  while (_acceptor->is_open()) {
    size_t core = _next_core++ % _cores.size();
    std::error_code ec;
    auto socket = co_await _acceptor->async_accept(_cores.context(core),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !_acceptor->is_open()) co_return;
      // Out of descriptors (EMFILE, ENFILE) or memory, the connection stays in the backlog and
      // the next accept fails at once: retrying at once would spin a core and flood the log
      // until some connection closes. Wait a little first; the backlog keeps the clients.
      observe::logger("kafka")->warn("accept failed: {}; retrying in {} ms", ec.message(),
                                     accept_retry.count());
      asio::steady_timer pause(_acceptor->get_executor(), accept_retry);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    // The socket belongs to `core`'s loop; start the connection there.
    asio::post(_cores.context(core), [this, s = std::move(socket)]() mutable {
      std::make_shared<connection>(*this, std::move(s))->start();
    });
  }
}

}  // namespace spate::kafka

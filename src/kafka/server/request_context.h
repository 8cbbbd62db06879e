// What a handler gets besides its request: the server (config, topics, cores), the request
// header, and the executor of the connection's core (where the handler runs).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdint>
#include <map>
#include <set>

#include "kafka/protocol/api.h"

namespace spate::kafka {

class server;

// Keeps one connection's Produce requests appending in the order they arrived, although they
// are handled concurrently: a later request must not overtake an earlier one on a shared
// partition (Kafka's per-connection ordering, which producers with several requests in flight
// rely on). A turn covers queueing the appends on their owner cores (each loop runs them in
// that order), not their completion; nor waiting for durability, so acks=all requests share a
// sync. Lives on the connection's core.
class append_order {
 public:
  explicit append_order(asio::any_io_executor ex) : _ex(std::move(ex)) {}
  uint64_t take_ticket() { return _issued++; }
  // Resumes when every earlier ticket has finished its appends. Each waiter has its own timer:
  // re-arming a shared one would cancel the other waiters' waits, over and over.
  asio::awaitable<void> wait_turn(uint64_t ticket) {
    if (_serving == ticket) co_return;
    asio::steady_timer turn(_ex);
    turn.expires_at(asio::steady_timer::time_point::max());
    _waiting[ticket] = &turn;
    while (_serving != ticket) {
      std::error_code ec;
      co_await turn.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    _waiting.erase(ticket);
  }
  // Idempotent: the handler ends its turn after appending; the connection makes sure a
  // request that never got that far (malformed) ends it too.
  void end_turn(uint64_t ticket) {
    if (_serving != ticket) return;
    ++_serving;
    while (_skipped.erase(_serving)) ++_serving;
    if (auto it = _waiting.find(_serving); it != _waiting.end()) it->second->cancel();
  }
  // A ticket whose request ended out of turn (it failed before waiting): skip it when reached.
  void abandon(uint64_t ticket) {
    if (ticket == _serving) return end_turn(ticket);
    if (ticket > _serving) _skipped.insert(ticket);
  }

 private:
  asio::any_io_executor _ex;
  uint64_t _issued = 0;
  uint64_t _serving = 0;
  std::set<uint64_t> _skipped;
  std::map<uint64_t, asio::steady_timer*> _waiting;
};

struct request_context {
  server& srv;
  const request_header& header;
  asio::any_io_executor executor;
  // Produce only: this request's place in the connection's append order.
  append_order* order = nullptr;
  uint64_t ticket = 0;
  // Set by a handler that must not be answered (Produce with acks=0).
  bool suppress_response = false;
  // Set by a handler whose failure must close the connection (acks=0 errors, as Kafka does).
  bool close_connection = false;
};

}  // namespace spate::kafka

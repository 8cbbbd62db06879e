// async_result<T>: a value produced on another thread or core (the flusher's durability
// callback, a parked JoinGroup answered later by the coordinator) and awaited by a coroutine
// on its own core. The producer calls set() from anywhere; the waiter's timer is cancelled on
// the waiter's executor, so the coroutine resumes where it started.
//
//   auto r = std::make_shared<async_result<status>>(ctx.executor);
//   log.when_durable(end, [r](status s, storage::durability) { r->set(std::move(s)); });
//   std::optional<status> got = co_await r->wait(deadline);   // nullopt: timed out
#pragma once

#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <mutex>
#include <optional>

namespace spate::kafka {

template <class T>
class async_result : public std::enable_shared_from_this<async_result<T>> {
 public:
  explicit async_result(asio::any_io_executor ex) : _timer(ex) {}

  void set(T value) {
    {
      std::lock_guard lock(_mu);
      if (_value) return;  // the first answer wins
      _value = std::move(value);
    }
    asio::post(_timer.get_executor(), [self = this->shared_from_this()] { self->_timer.cancel(); });
  }

  std::optional<T> peek() {
    std::lock_guard lock(_mu);
    return _value;
  }

  // Waits until set() or `deadline`; must be awaited on the executor given at construction.
  asio::awaitable<std::optional<T>> wait(asio::steady_timer::time_point deadline) {
    if (auto v = peek()) co_return v;
    std::error_code ec;
    _timer.expires_at(deadline);
    // A set() that raced ahead posted its cancel to this executor; it runs once we suspend.
    co_await _timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return peek();
  }

 private:
  asio::steady_timer _timer;
  std::mutex _mu;
  std::optional<T> _value;
};

}  // namespace spate::kafka

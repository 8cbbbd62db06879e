// core_set: one Asio event loop per core, each on its own thread (architecture.md, "one
// owner per partition"). Work for a partition runs on its owner's loop; `run_on` hops there
// and back inside a coroutine:
//
//   auto r = co_await cores.run_on(p->owner, [&] { return p->log->append(bytes, now); });
//
// Threading: the loops run until stop(); run_on may be awaited from any of them.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

namespace spate::kafka {

class core_set {
 public:
  explicit core_set(size_t cores);
  ~core_set();

  size_t size() const { return _contexts.size(); }
  asio::io_context& context(size_t i) { return *_contexts[i]; }
  void start();
  void stop();

  // Runs `fn` on core `core` and returns its result to the awaiting coroutine's executor.
  // Runs it inline when the caller already is on that core.
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> run_on(size_t core, F fn) {
    using R = std::invoke_result_t<F>;
    auto& target = *_contexts[core];
    if (target.get_executor().running_in_this_thread()) co_return fn();
    if constexpr (std::is_void_v<R>) {
      co_await asio::co_spawn(
          target,
          [f = std::move(fn)]() mutable -> asio::awaitable<void> {
            f();
            co_return;
          },
          asio::use_awaitable);
    } else {
      co_return co_await asio::co_spawn(
          target, [f = std::move(fn)]() mutable -> asio::awaitable<R> { co_return f(); },
          asio::use_awaitable);
    }
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> _contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> _guards;
  std::vector<std::thread> _threads;
};

}  // namespace spate::kafka

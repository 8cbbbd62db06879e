#include "kafka/server/core_set.h"

#include <string>

#include "base/thread_name.h"

namespace spate::kafka {
namespace {

// Destroys the handlers still queued on a loop without freeing the loop. A handler left on one
// loop at shutdown (a coroutine parked in run_on, say) can hold an executor of another loop, and
// destroying it tells that other loop its work is finished. Were the loops freed one by one, a
// later loop's leftovers would touch an earlier loop already freed (ASan saw it after a restart
// with clients connected). So every loop drops its handlers first, and only then is any freed.
// execution_context::shutdown() is protected; naming it through a derived class is the one
// way the language allows to reach it from outside (the object itself stays an io_context).
struct shutdown_access : asio::io_context {
  static void shutdown_handlers(asio::io_context& ctx) {
    void (asio::execution_context::*shut)() = &shutdown_access::shutdown;
    (ctx.*shut)();
  }
};

}  // namespace

core_set::core_set(size_t cores) {
  for (size_t i = 0; i < std::max<size_t>(cores, 1); ++i) {
    // Concurrency hint 1: each loop is driven by exactly one thread, so Asio can skip locks.
    _contexts.push_back(std::make_unique<asio::io_context>(1));
  }
}

core_set::~core_set() {
  stop();
  // Shutting down twice is harmless: ~execution_context does it again, finding nothing left.
  for (auto& ctx : _contexts) shutdown_access::shutdown_handlers(*ctx);
}

void core_set::start() {
  for (size_t i = 0; i < _contexts.size(); ++i) {
    _guards.push_back(asio::make_work_guard(*_contexts[i]));
    _threads.emplace_back([c = _contexts[i].get(), i] {
      name_this_thread("spate-core-" + std::to_string(i));
      c->run();
    });
  }
}

void core_set::stop() {
  _guards.clear();
  for (auto& ctx : _contexts) ctx->stop();
  for (auto& t : _threads) {
    if (t.joinable()) t.join();
  }
  _threads.clear();
}

}  // namespace spate::kafka

#include "kafka/server/core_set.h"

namespace spate::kafka {

core_set::core_set(size_t cores) {
  for (size_t i = 0; i < std::max<size_t>(cores, 1); ++i) {
    // Concurrency hint 1: each loop is driven by exactly one thread, so Asio can skip locks.
    _contexts.push_back(std::make_unique<asio::io_context>(1));
  }
}

core_set::~core_set() {
  stop();
}

void core_set::start() {
  for (auto& ctx : _contexts) {
    _guards.push_back(asio::make_work_guard(*ctx));
    _threads.emplace_back([c = ctx.get()] { c->run(); });
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

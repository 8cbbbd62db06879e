#include "kafka/server/group_service.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "kafka/coordinator/offset_records.h"
#include "observe/log.h"

namespace spate::kafka {

status group_service::load(topic_manager& topics) {
  auto t = topics.find(coordinator::offsets_topic);
  if (!t) {
    // Never deleted by time or size: committed offsets must outlive the data they point at.
    auto created = topics.create(coordinator::offsets_topic, 1,
                                 {{"retention.ms", "-1"}, {"retention.bytes", "-1"}});
    if (!created) return created.error();
    t = *created;
  }
  _offsets = t->partitions.at(0);
  auto n = coordinator::load_offsets(*_offsets->log, _gc);
  if (!n) return n.error().with_context("loading committed offsets");
  observe::logger("kafka")->info("group coordinator: {} committed offset record(s) replayed", *n);
  return ok();
}

void group_service::start(core_set& cores) {
  auto& ctx = cores.context(core());
  _tick = std::make_unique<asio::steady_timer>(ctx);
  asio::co_spawn(
      ctx,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          _tick->expires_after(std::chrono::milliseconds(100));
          std::error_code ec;
          co_await _tick->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          if (ec) co_return;
          _gc.tick(mono_clock::now());
        }
      },
      asio::detached);
}

}  // namespace spate::kafka

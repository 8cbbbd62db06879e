#include "kafka/server/group_service.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "kafka/coordinator/offset_records.h"
#include "observe/log.h"

namespace spate::kafka {

status group_service::load(topic_manager& topics, uint64_t segment_bytes) {
  // Never deleted by time or size: committed offsets must outlive the data they point at.
  // Compacted instead, so the log keeps one record per key and stops growing with each commit.
  std::map<std::string, std::string> wanted = {{"retention.ms", "-1"},
                                               {"retention.bytes", "-1"},
                                               {"cleanup.policy", "compact"},
                                               {"segment.bytes", std::to_string(segment_bytes)}};
  auto t = topics.find(coordinator::offsets_topic);
  if (!t) {
    auto created = topics.create(coordinator::offsets_topic, 1, wanted);
    if (!created) return created.error();
    t = *created;
  } else if (t->overrides.count("cleanup.policy") == 0 ||
             t->overrides.at("cleanup.policy") != "compact" ||
             t->overrides.count("segment.bytes") == 0 ||
             t->overrides.at("segment.bytes") != wanted["segment.bytes"]) {
    // A folder from before compaction (or another offsets segment size): the cores are not
    // running yet, so the log's config is set here directly.
    auto merged = t->overrides;
    for (auto& [k, v] : wanted) merged[k] = v;
    SPATE_TRY(topics.set_configs(coordinator::offsets_topic, merged));
    t = topics.find(coordinator::offsets_topic);
    for (auto& p : t->partitions) SPATE_TRY(p->log->set_config(t->config));
  }
  _offsets = t->partitions.at(0);
  auto n = coordinator::load_offsets(*_offsets->log, _gc, mono_clock::now());
  if (!n) return n.error().with_context("loading committed offsets and group metadata");
  observe::logger("kafka")->info(
      "group coordinator: {} committed offset record(s) and {} group record(s) replayed",
      n->offsets, n->groups);
  // From now on each group state to keep (Stable, Empty, deleted) is appended to the log as it
  // happens, on the coordinator's core, before the requests that caused it are answered. It is
  // not awaited to be on disk: a process crash keeps it (page cache), and losing it to a power
  // failure costs only a rebalance, since committed offsets are synced on their own.
  _gc.set_persist_callback(
      [this](const std::string& group, const coordinator::group_snapshot* snapshot) {
        auto batch = snapshot ? coordinator::encode_group(*snapshot, wall_now())
                              : coordinator::encode_group_tombstone(group, wall_now());
        auto appended = _offsets->log->append_internal(batch, wall_now());
        if (!appended) {
          observe::logger("kafka")->error("group '{}': metadata not written: {}", group,
                                          appended.error().message());
        }
      });
  return ok();
}

void group_service::start(core_set& cores) {
  auto& ctx = cores.context(core());
  _tick = std::make_unique<asio::steady_timer>(ctx);
  asio::co_spawn(
      ctx,
      [this]() -> asio::awaitable<void> {
        for (;;) {
          // Every 100 ms for session expiries; sooner when a join phase ends before that.
          auto next = mono_clock::now() + std::chrono::milliseconds(100);
          if (auto d = _gc.next_join_deadline(); d && *d < next) next = *d;
          _tick->expires_at(next);
          std::error_code ec;
          co_await _tick->async_wait(asio::redirect_error(asio::use_awaitable, ec));
          // Aborted: join_deadline_may_have_moved() moved the expiry; go round again.
          if (ec && ec != asio::error::operation_aborted) co_return;
          _gc.tick(mono_clock::now());
        }
      },
      asio::detached);
}

}  // namespace spate::kafka

namespace spate::kafka {

void group_service::join_deadline_may_have_moved() {
  if (!_tick) return;
  auto d = _gc.next_join_deadline();
  // Moving the expiry cancels the pending wait, which wakes the loop in start() to re-arm.
  if (d && *d < _tick->expiry()) _tick->expires_at(*d);
}

}  // namespace spate::kafka

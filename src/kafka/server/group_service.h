// group_service: the group coordinator (kafka/coordinator) wired into the broker. The
// coordinator and its log, partition 0 of the internal topic __consumer_offsets, live on that
// partition's owner core; handlers hop there with core_set::run_on. A timer on the same core
// ticks the coordinator (session expiry, rebalance deadlines) every 100 ms, and at the moment a
// join phase's initial delay ends. Each group state to keep (Stable, Empty, deleted) is appended
// to the same log (docs/formats/group-records.md) and replayed by load().
//
// Threading: everything but start() runs on core(); start() runs before the cores do.
#pragma once

#include <asio/steady_timer.hpp>
#include <memory>

#include "base/result.h"
#include "kafka/coordinator/group_coordinator.h"
#include "kafka/server/core_set.h"
#include "kafka/server/topic_manager.h"

namespace spate::kafka {

class group_service {
 public:
  explicit group_service(coordinator::group_coordinator::options opts) : _gc(opts) {}

  // Creates or opens __consumer_offsets and replays the committed offsets and group metadata.
  // The topic is compacted (newest record per group and per committed partition) with
  // segments of `segment_bytes` (Kafka's offsets.topic.segment.bytes), also when an older
  // data folder created it otherwise.
  status load(topic_manager& topics, uint64_t segment_bytes = 100ull << 20);
  // Starts the tick timer on the coordinator's core (the cores must be running).
  void start(core_set& cores);
  // Called on core() after a request that may have started a join phase: if the phase can end
  // before the next regular tick (the initial rebalance delay), the timer fires then instead,
  // so the delay is not rounded up to the tick interval.
  void join_deadline_may_have_moved();

  size_t core() const { return _offsets->owner; }
  coordinator::group_coordinator& coordinator() { return _gc; }
  storage::partition_log& offsets_log() { return *_offsets->log; }

 private:
  coordinator::group_coordinator _gc;
  std::shared_ptr<partition_state> _offsets;
  std::unique_ptr<asio::steady_timer> _tick;
};

}  // namespace spate::kafka

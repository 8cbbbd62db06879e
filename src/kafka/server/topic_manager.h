// topic_manager: the broker's topics and partitions, each partition with its log and the core
// that owns it (architecture.md, "one owner per partition"). Topics are recorded in the
// storage topic catalog so they survive restarts with their config overrides.
//
// Threading: the topic map is behind a shared mutex (lookups from every core, changes from
// admin requests). A partition's log and its fetch waiters are touched only on its owner
// core; other cores hop there (see core_set::run_on).
#pragma once

#include <asio/steady_timer.hpp>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/log_manager.h"
#include "storage/topic_catalog.h"

namespace spate::kafka {

// A long-polling fetch waiting for data: its timer is cancelled when data arrives. One per
// fetch, registered with each of its partitions; `state` records which owner cores fired
// (bit owner % 63), so that the fetch re-reads only the partitions of those cores instead of
// hopping to every core again (bench/RESULTS.md, "End-to-end latency"), and whether the fetch
// is parked (`parked`): only a parked fetch is sent a wake-up, so that appends while a fetch
// is reading (it registers as it reads) cost no wake-up of its core.
//
// Read by the waking core: a fetch that parks with nothing read arms `preread` (under `mu`).
// The first core to fire a parked fetch runs it before posting the wake-up: it reads that
// core's partitions of the fetch, on that core, as the fetch's own pass would, so that the
// woken fetch can answer without hopping back to the core that woke it. On the critical path
// of a tailing consumer (produce -> owner core -> fetch's core) this saves a round trip between
// cores, two thread wake-ups (bench/RESULTS.md, "Where B1, B4, B5 and B6 time goes").
// `mu` orders the pre-read's writes before the fetch's reads: the fetch takes it when it wakes
// (by the post or by its deadline) and disarms `preread` before its frame can go away.
struct fetch_waiter : std::enable_shared_from_this<fetch_waiter> {
  explicit fetch_waiter(asio::any_io_executor ex) : timer(ex) {}
  static constexpr uint64_t parked = uint64_t{1} << 63;
  static uint64_t bit(size_t owner) { return uint64_t{1} << (owner % 63); }
  asio::steady_timer timer;
  std::atomic<uint64_t> state{0};
  std::mutex mu;
  std::function<void(size_t owner)> preread;  // armed by a parked fetch; runs on the owner
  uint64_t preread_cores = 0;                 // the cores whose pre-read ran (bits as above)
  // From an owner core, after an append there; wakes the parked coroutine on its own executor.
  void fire(size_t owner);
  // On the fetch's executor, before waiting on `timer`: false (and not parked) if a core has
  // fired since the last take(), so there is something to read now.
  bool park() {
    if ((state.fetch_or(parked) & ~parked) == 0) return true;
    state.fetch_and(~parked);
    return false;
  }
  // The cores that fired since the last take(); unparks.
  uint64_t take() { return state.exchange(0) & ~parked; }
};

struct produce_job;  // handlers/produce.cc

struct partition_state {
  storage::topic_partition tp;
  std::shared_ptr<storage::partition_log> log;
  size_t owner = 0;                                  // core index
  std::vector<std::weak_ptr<fetch_waiter>> waiters;  // owner core only
  // Produce batches that reached the owner core since its last drain, in arrival order, and
  // whether a drain is queued on the owner's loop: the drain appends them all with one
  // append_all (one gathered write), handlers/produce.cc. Owner core only.
  std::vector<produce_job*> produce_pending;
  bool produce_drain_queued = false;
  // Wakes every waiting fetch (after an append). Owner core only.
  void notify_waiters();
};

struct topic_state {
  std::string name;
  std::vector<std::shared_ptr<partition_state>> partitions;
  std::map<std::string, std::string> overrides;
  storage::log_config config;
};

class topic_manager {
 public:
  topic_manager(storage::log_manager& logs, storage::topic_catalog& catalog,
                storage::log_config defaults, size_t cores)
      : _logs(logs), _catalog(catalog), _defaults(defaults), _cores(cores) {}

  // Loads the catalog and adopts partition folders the catalog does not list yet.
  status load();

  std::shared_ptr<topic_state> find(const std::string& name) const;
  std::vector<std::shared_ptr<topic_state>> all() const;
  // Creates a topic with `partitions` partitions and config overrides (validated first).
  result<std::shared_ptr<topic_state>> create(const std::string& name, int32_t partitions,
                                              const std::map<std::string, std::string>& configs);
  // Grows a topic to `total` partitions.
  status add_partitions(const std::string& name, int32_t total);
  // Replaces the topic's config overrides; applies them to every partition's log.
  status set_configs(const std::string& name, const std::map<std::string, std::string>& configs);
  // Removes the topic from the map and the catalog; returns its partitions so the caller
  // can close and delete each on its owner core.
  result<std::vector<std::shared_ptr<partition_state>>> remove(const std::string& name);

  const storage::log_config& defaults() const { return _defaults; }
  storage::log_manager& logs() { return _logs; }
  size_t owner_of(const std::string& topic, int32_t partition) const;

 private:
  result<std::shared_ptr<partition_state>> open_partition(const std::string& topic, int32_t p,
                                                          const storage::log_config& config);

  storage::log_manager& _logs;
  storage::topic_catalog& _catalog;
  storage::log_config _defaults;
  size_t _cores;
  mutable std::shared_mutex _mu;
  std::mutex _admin_mu;  // serialises create/alter/delete
  std::map<std::string, std::shared_ptr<topic_state>> _topics;
};

}  // namespace spate::kafka

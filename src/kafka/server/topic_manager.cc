#include "kafka/server/topic_manager.h"

#include <asio/post.hpp>

#include "storage/errc.h"

namespace spate::kafka {

void fetch_waiter::fire(size_t owner) {
  // Only the first firing since the fetch parked posts a wake-up; the others just add their
  // core's bit, which the fetch reads when it runs. A fetch that is not parked is running: it
  // reads the bits before it parks (park() sets the flag first, then looks at the bits, so a
  // firing is either seen there or sees the flag and posts).
  uint64_t before = state.fetch_or(bit(owner));
  if ((before & parked) == 0 || (before & ~parked) != 0) return;
  // The first firing of a parked fetch: it is suspended, so this core may read its own
  // partitions for it (see `preread`). Later firings only add their bits.
  {
    std::lock_guard lock(mu);
    if (preread) {
      try {
        preread(owner);
        preread_cores |= bit(owner);
      } catch (...) {
        // Not counted as read: the fetch reads this core itself, from scratch, when it wakes.
      }
    }
  }
  // The timer belongs to the fetch's core; cancel it there.
  asio::post(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
}

void partition_state::notify_waiters() {
  // Taken out first: a firing may pre-read this very partition for its fetch, which registers
  // the fetch here again (fetch_waiter::preread) while we walk the list.
  std::vector<std::weak_ptr<fetch_waiter>> firing;
  firing.swap(waiters);
  for (auto& w : firing) {
    if (auto live = w.lock()) live->fire(owner);
  }
  if (waiters.empty()) {
    firing.clear();
    waiters.swap(firing);  // keep the capacity
  }
}

size_t topic_manager::owner_of(const std::string& topic, int32_t partition) const {
  // Spread a topic's partitions over cores starting at a per-topic offset.
  return (std::hash<std::string>()(topic) + static_cast<size_t>(partition)) % _cores;
}

result<std::shared_ptr<partition_state>> topic_manager::open_partition(
    const std::string& topic, int32_t p, const storage::log_config& config) {
  storage::topic_partition tp{topic, partition_id(p)};
  auto log = _logs.get_or_create(tp, &config);
  if (!log) return log.error();
  SPATE_TRY((*log)->set_config(config));
  auto ps = std::make_shared<partition_state>();
  ps->tp = tp;
  ps->log = *log;
  ps->owner = owner_of(topic, p);
  return ps;
}

status topic_manager::load() {
  std::map<std::string, int32_t> on_disk;
  for (auto& tp : _logs.partitions()) {
    auto& n = on_disk[tp.topic];
    n = std::max(n, tp.partition.value + 1);
  }
  auto entries = _catalog.all();
  for (auto& [name, count] : on_disk) {
    bool listed =
        // An init-capture: clang before 16 cannot capture a structured binding.
        std::any_of(entries.begin(), entries.end(),
                    [&topic = name](auto& e) { return e.name == topic; });
    if (!listed) {
      storage::topic_entry e{name, count, {}};
      SPATE_TRY(_catalog.put(e));
      entries.push_back(e);
    }
  }
  std::unique_lock lock(_mu);
  for (auto& e : entries) {
    auto t = std::make_shared<topic_state>();
    t->name = e.name;
    t->overrides = e.configs;
    t->config = _defaults;
    SPATE_TRY(storage::apply_topic_configs(e.configs, t->config));
    for (int32_t p = 0; p < e.partitions; ++p) {
      auto ps = open_partition(e.name, p, t->config);
      if (!ps) return ps.error();
      t->partitions.push_back(*ps);
    }
    _topics[e.name] = t;
  }
  return ok();
}

std::shared_ptr<topic_state> topic_manager::find(const std::string& name) const {
  std::shared_lock lock(_mu);
  auto it = _topics.find(name);
  return it == _topics.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<topic_state>> topic_manager::all() const {
  std::shared_lock lock(_mu);
  std::vector<std::shared_ptr<topic_state>> out;
  for (auto& [n, t] : _topics) out.push_back(t);
  return out;
}

result<std::shared_ptr<topic_state>> topic_manager::create(
    const std::string& name, int32_t partitions,
    const std::map<std::string, std::string>& configs) {
  std::lock_guard admin(_admin_mu);
  if (find(name)) return error(std::make_error_code(std::errc::file_exists), name);
  if (!storage::valid_topic_name(name)) {
    return error(storage::errc::unknown_partition, "invalid topic name '" + name + "'");
  }
  if (partitions <= 0 || partitions > 100000) {
    return error(storage::errc::invalid_config,
                 "partition count " + std::to_string(partitions) + " out of range");
  }
  auto t = std::make_shared<topic_state>();
  t->name = name;
  t->overrides = configs;
  t->config = _defaults;
  SPATE_TRY(storage::apply_topic_configs(configs, t->config));
  // The catalog first: a crash part-way leaves a listed topic whose missing partition
  // folders are created at the next start.
  SPATE_TRY(_catalog.put({name, partitions, configs}));
  for (int32_t p = 0; p < partitions; ++p) {
    auto ps = open_partition(name, p, t->config);
    if (!ps) return ps.error();
    t->partitions.push_back(*ps);
  }
  std::unique_lock lock(_mu);
  _topics[name] = t;
  return t;
}

status topic_manager::add_partitions(const std::string& name, int32_t total) {
  std::lock_guard admin(_admin_mu);
  auto t = find(name);
  if (!t) return error(storage::errc::unknown_partition, name);
  int32_t current = static_cast<int32_t>(t->partitions.size());
  if (total <= current) {
    return error(storage::errc::invalid_config,
                 "topic " + name + " already has " + std::to_string(current) + " partitions");
  }
  SPATE_TRY(_catalog.put({name, total, t->overrides}));
  auto grown = std::make_shared<topic_state>(*t);
  for (int32_t p = current; p < total; ++p) {
    auto ps = open_partition(name, p, t->config);
    if (!ps) return ps.error();
    grown->partitions.push_back(*ps);
  }
  std::unique_lock lock(_mu);
  _topics[name] = grown;
  return ok();
}

status topic_manager::set_configs(const std::string& name,
                                  const std::map<std::string, std::string>& configs) {
  std::lock_guard admin(_admin_mu);
  auto t = find(name);
  if (!t) return error(storage::errc::unknown_partition, name);
  storage::log_config c = _defaults;
  SPATE_TRY(storage::apply_topic_configs(configs, c));
  SPATE_TRY(_catalog.put({name, static_cast<int32_t>(t->partitions.size()), configs}));
  auto changed = std::make_shared<topic_state>(*t);
  changed->overrides = configs;
  changed->config = c;
  std::unique_lock lock(_mu);
  _topics[name] = changed;
  return ok();
}

result<std::vector<std::shared_ptr<partition_state>>> topic_manager::remove(
    const std::string& name) {
  std::lock_guard admin(_admin_mu);
  auto t = find(name);
  if (!t) return error(storage::errc::unknown_partition, name);
  SPATE_TRY(_catalog.erase(name));
  std::unique_lock lock(_mu);
  _topics.erase(name);
  return t->partitions;
}

}  // namespace spate::kafka

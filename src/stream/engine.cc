#include "spate/stream/engine.h"

#include <algorithm>
#include <exception>
#include <map>
#include <set>

#include "spate/stream/repartition.h"
#include "stream/stream_metrics.h"

namespace spate::stream {

struct engine::state {
  state(topology t, detail::stream_metrics m) : pipeline(std::move(t)), metrics(m) {}

  topology pipeline;
  std::unique_ptr<state_store> store;
  detail::engine_context ctx;
  engine_stats stats;
  detail::stream_metrics metrics;
  engine_stats published;  // what metrics have counted so far
  std::vector<output_record> outputs;
  // By topic; the keys are also the stable topic names elements point at (record_origin).
  std::map<std::string, detail::source_hooks*, std::less<>> sources;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offsets;
  // The entry of next_offsets the last record moved (map nodes stay put), and its topic (a key
  // of `sources`) and partition.
  int64_t* last_next = nullptr;
  const std::string* last_topic = nullptr;
  int32_t last_partition = 0;
  // Source node -> its watermark gauge.
  std::map<const detail::node*, observe::gauge*> watermark_gauges;
  // Split key_by steps (engine_config::split), each with the sources upstream of it.
  struct split_step {
    detail::repartition_core* step;
    std::vector<detail::source_hooks*> upstream_sources;
  };
  std::vector<split_step> splits;
  bool started = false;
  bool ended = false;
  std::optional<error> failed;

  detail::graph& g() { return *pipeline._g; }

  status check_running() const {
    if (failed) return error(errc::engine_failed, failed->message());
    if (!started) return error(errc::invalid_argument, "engine not started");
    return ok();
  }

  // Stops the engine on a failure that may have left state half-updated.
  status stop(error e) {
    failed = e;
    return e;
  }

  // After a record or a clock move: metrics; operators that found broken state, the store's
  // health.
  status after_step() {
    metrics.publish(stats, published);
    if (ctx.failure) return stop(*ctx.failure);
    if (auto h = store->health(); !h) {
      return stop(error(errc::state_store_failed, h.error().message()));
    }
    return ok();
  }

  // Recomputes watermarks in topological order and tells each node whose input advanced.
  void propagate_watermarks() {
    for (auto& n : g().nodes) {
      timestamp_ms in = max_time;
      if (auto own = n->own_watermark(ctx.wall_now)) {
        in = ended ? max_time : *own;
      } else if (n->inputs.empty()) {
        continue;
      } else {
        for (auto* i : n->inputs) in = std::min(in, i->watermark);
      }
      if (in > n->watermark) {
        n->watermark = in;
        if (auto g = watermark_gauges.find(n.get()); g != watermark_gauges.end()) {
          g->second->set(static_cast<double>(in.value));
        }
        n->on_watermark(in);
      }
    }
  }

  // One input for `topic`'s source: `feed(source, topic name)` hands it over; then the
  // watermarks advance and the partition's next offset moves past it.
  template <class Feed>
  status ingest(const std::string& topic, partition_id partition, spate::offset offset,
                Feed&& feed) {
    SPATE_TRY(check_running());
    auto it = sources.find(topic);
    if (it == sources.end()) return error(errc::unknown_topic, topic);
    ++stats.records_in;
    bool consumed = false;
    auto s = guarded(
        [&]() -> status {
          SPATE_TRY(feed(*it->second, it->first));
          consumed = true;
          propagate_watermarks();
          return ok();
        },
        [&] {
          return "processing " + topic + "[" + std::to_string(partition.value) + "]@" +
                 std::to_string(offset.value);
        });
    if (consumed) {
      // The same partition as last time, most of the time: skip the map's string compares.
      if (last_next == nullptr || last_partition != partition.value || last_topic != &it->first) {
        last_next = &next_offsets[{it->first, partition.value}];
        last_topic = &it->first;
        last_partition = partition.value;
      }
      *last_next = std::max(*last_next, offset.value + 1);
    }
    return s;
  }

  // Writes what operators keep outside the store (write-back caches) to it.
  status flush_state() {
    for (auto& n : g().nodes) n->flush_state();
    return ok();
  }

  // Runs f, turning an exception from user code into a stopped engine; what() names the work
  // (called only then: no string building per record).
  template <class F, class W>
  status guarded(F&& f, W&& what) {
    status s = ok();
    try {
      s = f();
    } catch (const std::exception& e) {
      s = stop(error(errc::user_function_failed, what() + ": " + e.what()));
    } catch (...) {
      s = stop(error(errc::user_function_failed, what() + ": unknown exception"));
    }
    auto after = after_step();
    return s ? after : s;
  }
};

engine::engine(std::unique_ptr<state> s) : _s(std::move(s)) {}
engine::engine(engine&&) noexcept = default;
engine& engine::operator=(engine&&) noexcept = default;
engine::~engine() = default;

result<engine> engine::create(topology t, engine_config config) {
  if (!t._g) return error(errc::invalid_argument, "empty topology");
  auto& registry = config.metrics ? *config.metrics : observe::registry::global();
  auto s = std::make_unique<state>(std::move(t),
                                   detail::stream_metrics::make(registry, config.application));
  s->store = config.store ? std::move(config.store) : make_memory_store();
  s->ctx.store = s->store.get();
  s->ctx.stats = &s->stats;
  s->ctx.outputs = &s->outputs;
  s->ctx.state_cache_entries = config.state_cache_entries;
  for (auto* src : s->g().sources) {
    s->sources.emplace(src->topic(), src);
    s->watermark_gauges.emplace(&src->as_node(), &detail::stream_metrics::watermark(
                                                     registry, config.application, src->topic()));
  }
  if (config.split) {
    for (auto& n : s->g().nodes) {
      if (auto* in_place = dynamic_cast<detail::record_key_core*>(n.get())) {
        in_place->enable_check(config.split->task, config.split->tasks);
        continue;
      }
      auto* step = dynamic_cast<detail::repartition_core*>(n.get());
      if (step == nullptr) continue;
      if (!step->can_split()) {
        return error(errc::invalid_topology,
                     "key_by step '" + n->name +
                         "' has no value serde, so it cannot repartition: pass one to key_by");
      }
      auto topic = repartition_topic(config.split->application_id, n->name);
      if (s->sources.count(topic) != 0) {
        return error(errc::invalid_topology, "topic '" + topic + "' has two sources");
      }
      s->sources.emplace(topic, step);
      // The sources (or split steps) this step's upstream half reads: its idleness is theirs.
      // Whether that half replays deterministically (one input, per-record steps only) decides
      // if the downstream half may drop records by sequence number (repartition_core).
      std::vector<detail::source_hooks*> upstream;
      std::vector<detail::node*> todo(n->inputs.begin(), n->inputs.end());
      std::set<detail::node*> seen;
      bool per_record = true;
      while (!todo.empty()) {
        auto* u = todo.back();
        todo.pop_back();
        if (!seen.insert(u).second) continue;
        auto* hooks = dynamic_cast<detail::source_hooks*>(u);
        auto* other = dynamic_cast<detail::repartition_core*>(u);
        if (hooks != nullptr && (other == nullptr || other->split())) {
          upstream.push_back(hooks);
          continue;
        }
        per_record = per_record && u->per_record();
        todo.insert(todo.end(), u->inputs.begin(), u->inputs.end());
      }
      step->enable_split(topic, config.split->task, config.split->tasks,
                         per_record && upstream.size() == 1);
      s->splits.push_back({step, std::move(upstream)});
    }
  }
  return engine(std::move(s));
}

status engine::restore(const state_change& change) {
  if (_s->started) return error(errc::invalid_argument, "restore() after start()");
  _s->store->restore(change);
  return _s->store->health();
}

status engine::start(timestamp_ms now) {
  if (_s->started) return error(errc::invalid_argument, "engine already started");
  _s->ctx.wall_now = now;
  _s->started = true;
  return _s->guarded(
      [&]() -> status {
        for (auto& n : _s->g().nodes) n->open(_s->ctx);
        return ok();
      },
      [] { return std::string("opening operators"); });
}

status engine::assign(const std::string& topic, const std::vector<partition_id>& partitions) {
  SPATE_TRY(_s->check_running());
  auto it = _s->sources.find(topic);
  if (it == _s->sources.end()) return error(errc::unknown_topic, topic);
  for (auto p : partitions) it->second->assign(p, _s->ctx.wall_now);
  return ok();
}

status engine::process(const input_record& r) {
  return _s->ingest(r.topic, r.partition, r.offset,
                    [&](detail::source_hooks& src, auto& name) { return src.ingest(r, name); });
}

status engine::process_erased(const std::string& topic, partition_id partition,
                              spate::offset offset, timestamp_ms timestamp,
                              const std::type_info& type, void* value) {
  return _s->ingest(topic, partition, offset, [&](detail::source_hooks& src, auto& name) {
    return src.ingest_value(value, type, partition, offset, timestamp, name);
  });
}

status engine::advance_wall_clock(timestamp_ms now) {
  SPATE_TRY(_s->check_running());
  if (now < _s->ctx.wall_now) return ok();  // the wall clock never goes back for us
  _s->ctx.wall_now = now;
  return _s->guarded(
      [&]() -> status {
        for (auto& n : _s->g().nodes) n->on_wall_clock(now);
        _s->propagate_watermarks();
        return ok();
      },
      [] { return std::string("advancing the wall clock"); });
}

status engine::end_of_input() {
  SPATE_TRY(_s->check_running());
  _s->ended = true;
  return _s->guarded(
      [&]() -> status {
        _s->propagate_watermarks();
        return ok();
      },
      [] { return std::string("end of input"); });
}

std::vector<output_record> engine::take_output() {
  return std::exchange(_s->outputs, {});
}

namespace {
std::string flush_what() {
  return "writing operator state to the store";
}
}  // namespace

checkpoint_data engine::checkpoint() {
  checkpoint_data cp;
  cp.outputs = take_output();
  // A stopped engine's state may be half-updated, or partly only in operators' caches:
  // committing its offsets could lose input. The runtime recovers from the last checkpoint.
  if (_s->failed) return cp;
  // Guarded: writing a cache back runs the user's serializers, which may throw, and the
  // store's health is checked after it.
  if (_s->started && !_s->guarded([&] { return _s->flush_state(); }, flush_what)) return cp;
  cp.state_changes = _s->store->take_changes();
  for (auto& [tp, next] : _s->next_offsets) {
    cp.offsets.push_back(committed_offset{tp.first, partition_id(tp.second), spate::offset(next)});
  }
  return cp;
}

std::vector<split_progress> engine::splits() const {
  std::vector<split_progress> out;
  for (auto& sp : _s->splits) {
    bool idle = !sp.upstream_sources.empty();
    for (auto* src : sp.upstream_sources) idle = idle && src->idle(_s->ctx.wall_now);
    out.push_back({sp.step->topic(), sp.step->upstream_watermark(), idle});
  }
  return out;
}

timestamp_ms engine::watermark(const std::string& topic) const {
  auto it = _s->sources.find(topic);
  if (it == _s->sources.end()) return min_time;
  return it->second->as_node().watermark;
}

timestamp_ms engine::wall_clock() const {
  return _s->ctx.wall_now;
}
const engine_stats& engine::stats() const {
  return _s->stats;
}
state_store& engine::store() {
  if (_s->started && !_s->failed) (void)_s->guarded([&] { return _s->flush_state(); }, flush_what);
  return *_s->store;
}
const topology& engine::pipeline() const {
  return _s->pipeline;
}

}  // namespace spate::stream

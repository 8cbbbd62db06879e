#include "spate/stream/process.h"

#include "spate/stream/detail/state_keys.h"

namespace spate::stream::detail {

void keyed_core::open(engine_context& ctx, const std::string& node_name) {
  _ctx = &ctx;
  _node_name = node_name;
  _timer_ns = ctx.store->open(node_name + "/timers");
  // Timers are state too: rebuild the in-memory queues from the (possibly restored) store.
  ctx.store->scan(_timer_ns, {}, [&](std::string_view k, std::string_view) {
    if (k.size() < 9 || (k[0] != 'e' && k[0] != 'p')) {
      ctx.fail(error(errc::state_store_failed, "unreadable timer in " + node_name));
      return false;
    }
    timers(k[0]).emplace(read_time(k, 1).value, std::string(k.substr(9)));
    return true;
  });
}

state_store::namespace_id keyed_core::state_namespace(std::string_view name) {
  auto it = _states.find(name);
  if (it != _states.end()) return it->second;
  auto ns = _ctx->store->open(_node_name + "/" + std::string(name));
  _states.emplace(std::string(name), ns);
  return ns;
}

void keyed_core::register_timer(char kind, timestamp_ms t) {
  if (timers(kind).emplace(t.value, current_key).second) {
    _ctx->store->put(_timer_ns, timer_state_key(kind, t, current_key), {});
  }
}

void keyed_core::delete_timer(char kind, timestamp_ms t) {
  if (timers(kind).erase({t.value, current_key}) > 0) {
    _ctx->store->erase(_timer_ns, timer_state_key(kind, t, current_key));
  }
}

std::optional<std::pair<timestamp_ms, std::string>> keyed_core::pop_due(char kind,
                                                                        timestamp_ms limit) {
  auto& q = timers(kind);
  if (q.empty() || q.begin()->first > limit.value) return std::nullopt;
  auto node = q.extract(q.begin());
  auto& [t, key] = node.value();
  _ctx->store->erase(_timer_ns, timer_state_key(kind, timestamp_ms(t), key));
  return std::pair(timestamp_ms(t), std::move(key));
}

}  // namespace spate::stream::detail

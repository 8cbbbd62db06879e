#include "spate/stream/test_driver.h"

namespace spate::stream {

result<test_driver> test_driver::create(topology t, test_driver_config config) {
  return create(std::move(t), {}, std::move(config));
}

result<test_driver> test_driver::create(topology t, const std::vector<state_change>& restore,
                                        test_driver_config config) {
  auto e = engine::create(std::move(t), std::move(config.engine));
  if (!e) return std::move(e).error();
  for (auto& c : restore) SPATE_TRY(e->restore(c));
  SPATE_TRY(e->start(config.start_time));
  return test_driver(std::move(*e));
}

status test_driver::declare_partitions(const std::string& topic, int n) {
  std::vector<partition_id> ps;
  for (int i = 0; i < n; ++i) ps.emplace_back(i);
  return _engine.assign(topic, ps);
}

status test_driver::pipe_raw(const std::string& topic, std::optional<std::string> key,
                             std::optional<std::string> value, timestamp_ms t, partition_id p) {
  auto& next = _next_offset[{topic, p.value}];
  input_record r{topic, p, spate::offset(next), std::move(key), std::move(value), t, {}};
  auto s = _engine.process(r);
  ++next;  // the record is on the log whether or not the pipeline took it
  collect();
  return s;
}

status test_driver::advance_wall_clock(duration d) {
  auto s = _engine.advance_wall_clock(add_saturating(_engine.wall_clock(), d.count()));
  collect();
  return s;
}

timestamp_ms test_driver::wall_clock() const {
  return _engine.wall_clock();
}

status test_driver::end_of_input() {
  auto s = _engine.end_of_input();
  collect();
  return s;
}

std::vector<output_record> test_driver::read_raw(const std::string& topic) {
  collect();
  auto it = _outputs.find(topic);
  if (it == _outputs.end()) return {};
  std::vector<output_record> out(std::make_move_iterator(it->second.begin()),
                                 std::make_move_iterator(it->second.end()));
  it->second.clear();
  return out;
}

std::vector<std::pair<std::string, std::string>> test_driver::state(const std::string& ns) {
  std::vector<std::pair<std::string, std::string>> out;
  auto& store = _engine.store();
  store.scan(store.open(ns), {}, [&](std::string_view k, std::string_view v) {
    out.emplace_back(k, v);
    return true;
  });
  return out;
}

void test_driver::collect() {
  for (auto& r : _engine.take_output()) _outputs[r.topic].push_back(std::move(r));
}

}  // namespace spate::stream

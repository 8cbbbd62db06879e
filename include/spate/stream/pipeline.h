// The pipeline DSL: sources, stateless steps, keys, windows, aggregations, process steps, side
// outputs and sinks, typed end to end.
//
//   topology_builder b;
//   output_tag<order> late{"late-orders"};
//   auto totals = b.source("orders", json_serde<order>(),
//                          {.watermarks = {.max_out_of_orderness = 10s, .idle_timeout = 1min}})
//       .filter([](const order& o) { return o.amount > 0; })
//       .key_by(&order::user_id)
//       .window(tumbling(5min))
//       .allowed_lateness(1min)
//       .late_to(late)
//       .sum(&order::amount);                      // stream<windowed<std::string, int64_t>>
//   totals.to("order-totals", json_serde<windowed<std::string, int64_t>>());
//   totals.side_output(late).to("late-orders", json_serde<order>());
//   result<topology> t = b.build();
//
// Functions given to steps may be lambdas or member pointers (&order::amount), anything
// std::invoke accepts. Steps keep the record's key bytes and timestamp unless they say
// otherwise: key_by sets the key (its serde, default_serde<K>(), makes the bytes the sink
// writes), a window result carries its window's end - 1 as timestamp.
//
// Event time and windows: see windows.h (kinds), watermark.h (watermarks) and
// detail/window_node.h (firing, lateness). In short: a window's result is emitted once the
// watermark passes its end; with allowed_lateness(d) its state is kept d longer and each
// record arriving in that time re-emits an updated result; records later than that go to the
// late_to() side output (or are dropped and counted).
//
// A builder is used from one thread; build() hands the graph to a topology, which one engine
// (or test_driver) then runs. Mistakes that types cannot catch (a bad window size, two steps
// with one name, a session window over an aggregate without merge) are reported by build().
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "spate/stream/detail/join_node.h"
#include "spate/stream/detail/node.h"
#include "spate/stream/detail/operators.h"
#include "spate/stream/detail/table_node.h"
#include "spate/stream/detail/window_node.h"
#include "spate/stream/process.h"
#include "spate/stream/serde.h"
#include "spate/stream/types.h"
#include "spate/stream/windows.h"

namespace spate::stream {

template <class T>
class stream;
template <class T>
class single_output;
template <class K, class T>
class keyed_stream;
template <class K, class T>
class windowed_stream;

namespace detail {
// How a step calls a user function on its input: as `const In&` when the function takes that
// (or a copy), else as `In&&` (a function written to move from its input).
template <class F, class In, class... Rest>
using step_arg_t = std::conditional_t<std::is_invocable_v<F&, const In&, Rest...>, const In&, In&&>;

// The two forms a step keeps (step_fn in operators.h): `shared` for an element other steps also
// read (a function that takes `In&&` only gets a copy), `owned` for one it may take. Both call
// the one `f`, so a functor's state (or a `mutable` lambda's) is not split between them.
template <class In, class F, class... Rest>
auto shared_call(std::shared_ptr<F> f) {
  return [f](const In& v, Rest... rest) {
    if constexpr (std::is_invocable_v<F&, const In&, Rest...>) {
      return std::invoke(*f, v, std::forward<Rest>(rest)...);
    } else {
      In copy = v;
      return std::invoke(*f, std::move(copy), std::forward<Rest>(rest)...);
    }
  };
}
template <class In, class F, class... Rest>
auto owned_call(std::shared_ptr<F> f) {
  return [f](In&& v, Rest... rest) {
    if constexpr (std::is_invocable_v<F&, In&&, Rest...>) {
      return std::invoke(*f, std::move(v), std::forward<Rest>(rest)...);
    } else {
      return std::invoke(*f, std::as_const(v), std::forward<Rest>(rest)...);
    }
  };
}
}  // namespace detail

// What flat_map's function returns a range of.
template <class F, class In>
using flat_map_result_t =
    typename std::remove_cvref_t<std::invoke_result_t<F, const In&>>::value_type;

template <class T>
class stream {
 public:
  using value_type = T;

  stream(detail::graph* g, detail::producer_node<T>* n) : _g(g), _node(n) {}

  // f(const T&) -> U. A function that takes `T&&` instead may move from its input (strings,
  // say): the engine hands it the element when no other step reads it, else a copy.
  template <class F,
            class U = std::remove_cvref_t<std::invoke_result_t<F&, detail::step_arg_t<F, T>>>>
  stream<U> map(F f, std::string name = {}) const {
    auto fp = std::make_shared<F>(std::move(f));
    auto* n = _g->add<detail::map_node<T, U>>(
        "map", std::move(name),
        typename detail::map_node<T, U>::fn{detail::shared_call<T>(fp), detail::owned_call<T>(fp)});
    detail::connect(_node, n);
    return {_g, n};
  }

  // Keeps the records for which pred(const T&) is true.
  template <class F>
  stream<T> filter(F pred, std::string name = {}) const {
    auto* n = _g->add<detail::filter_node<T>>(
        "filter", std::move(name),
        std::function<bool(const T&)>([pred](const T& v) { return bool(std::invoke(pred, v)); }));
    detail::connect(_node, n);
    return {_g, n};
  }

  // f(const T&) returns a container (std::vector<U>, ...); each element becomes a record.
  template <class F, class U = flat_map_result_t<F, T>>
  stream<U> flat_map(F f, std::string name = {}) const {
    auto* n = _g->add<detail::flat_map_node<T, U>>(
        "flat_map", std::move(name), std::function<std::vector<U>(const T&)>([f](const T& v) {
          auto r = std::invoke(f, v);
          return std::vector<U>(std::make_move_iterator(r.begin()),
                                std::make_move_iterator(r.end()));
        }));
    detail::connect(_node, n);
    return {_g, n};
  }

  // Groups by key_fn(const T&); the key's bytes (key_serde) become the record key downstream.
  // The Kafka runtime repartitions at every key_by (application.h): it writes each record to
  // the topic "<application_id>-<step name>-repartition" with value_serde (default:
  // default_serde<T>() where T has one) and reads it back in the task that owns the key. Name
  // the step to keep that topic when the pipeline's shape changes. A key_by without a value
  // serde runs in-process (engine, test_driver) but application::create refuses it.
  template <class F, class K = std::remove_cvref_t<std::invoke_result_t<F, const T&>>>
  keyed_stream<K, T> key_by(F key_fn, serde<K> key_serde = default_serde<K>(),
                            std::string name = {},
                            std::optional<serde<T>> value_serde = std::nullopt) const {
    if (!value_serde) {
      if constexpr (has_default_serde<T>) value_serde = default_serde<T>();
    }
    auto* n = _g->add<detail::key_by_node<K, T>>(
        "key_by", std::move(name),
        std::function<K(const T&)>([key_fn](const T& v) { return std::invoke(key_fn, v); }),
        key_serde, std::move(value_serde));
    detail::connect(_node, n);
    return keyed_stream<K, T>(_g, n, std::move(key_serde));
  }

  // Keys by the records' own key bytes, without repartitioning: for input already keyed and
  // partitioned as Kafka's default partitioner would (Kafka Streams' groupByKey on an unchanged
  // source key, Flink's reinterpretAsKeyedStream). key_serde decodes the bytes for the steps
  // that need a K (window results, keyed process). There is no key function, so the key bytes
  // are the record key by construction; what the step takes on trust is where the records
  // are: each must reach it with a non-null key, in the partition that
  // kafka_partition(key, partitions) (murmur2, repartition.h) picks over the sources'
  // partition count. That holds for a topic produced keyed with the Java client's default
  // partitioner or librdkafka's "murmur2_random" (not librdkafka's default, CRC32), through
  // map/filter/flat_map (they keep the key), and after a key_by. The Kafka runtime creates no
  // repartition topic for the step and keys in place, checking every record: a null key or a
  // key of another task stops run() with errc::misplaced_key naming the record (use key_by
  // then), so a broken promise cannot split a key's state over two tasks unnoticed. The
  // in-process engine and test_driver key as key_by does (a null key fails there too).
  template <class K = std::string>
  keyed_stream<K, T> key_by_record_key(serde<K> key_serde = default_serde<K>(),
                                       std::string name = {}) const {
    auto* n = _g->add<detail::record_key_node<T>>("key_by_record_key", std::move(name));
    detail::connect(_node, n);
    return keyed_stream<K, T>(_g, n, std::move(key_serde));
  }

  // f(const T&, context<Out>&): emit any number of results, send side outputs. As with map, a
  // function taking `T&&` may move from its input (given a copy when other steps read it).
  template <class Out, class F>
  single_output<Out> process(F f, std::string name = {}) const {
    auto fp = std::make_shared<F>(std::move(f));
    auto* n = _g->add<detail::process_node<T, Out>>(
        "process", std::move(name),
        typename detail::process_node<T, Out>::fn{detail::shared_call<T, F, context<Out>&>(fp),
                                                  detail::owned_call<T, F, context<Out>&>(fp)});
    detail::connect(_node, n);
    return {_g, n};
  }

  // Both streams' records, as one stream. Its watermark is the smaller of the two.
  stream<T> merge(const stream<T>& other, std::string name = {}) const {
    auto* n = _g->add<detail::channel_node<T>>("merge", std::move(name));
    detail::connect(_node, n);
    detail::connect(other._node, n);
    return {_g, n};
  }

  // Writes each record to `topic`: the record's key bytes, value_serde(value), its timestamp.
  void to(std::string topic, serde<T> value_serde = default_serde<T>(),
          std::string name = {}) const {
    auto* n = _g->add<detail::sink_node<T>>("sink", std::move(name), topic, std::move(value_serde));
    detail::connect(_node, n);
    _g->sink_topics.push_back(std::move(topic));
  }

  detail::producer_node<T>* node() const { return _node; }

 protected:
  template <class U>
  friend class stream;
  detail::graph* _g;
  detail::producer_node<T>* _node;
};

// The stream a window or process step produces: also offers that step's side outputs.
template <class T>
class single_output : public stream<T> {
 public:
  using stream<T>::stream;

  // The records the step sent to `tag` (a window's late_to tag, a process's ctx.output).
  template <class U>
  stream<U> side_output(const output_tag<U>& tag) const {
    auto& from = *this->_node;
    auto declared = from.declared_side_outputs.find(tag.name);
    if (declared != from.declared_side_outputs.end() &&
        declared->second != std::type_index(typeid(U))) {
      this->_g->errors.push_back("side output '" + tag.name + "' of step '" + from.name +
                                 "' is requested with another element type");
    }
    auto it = from.side_channels.find(tag.name);
    if (it != from.side_channels.end()) {
      if (auto* ch = dynamic_cast<detail::channel_node<U>*>(it->second)) return {this->_g, ch};
      this->_g->errors.push_back("side output '" + tag.name + "' requested with two types");
    }
    auto* ch =
        this->_g->template add<detail::channel_node<U>>("side_output", from.name + "." + tag.name);
    ch->inputs.push_back(&from);
    from.side_channels.insert_or_assign(tag.name, ch);
    return {this->_g, ch};
  }
};

// A table built from a compacted topic: the latest value per record key (see
// detail/table_node.h). Joined by keyed streams whose key bytes equal the table's record keys
// (e.g. a std::string key with the default serde and the topic's string keys).
template <class V>
class table {
 public:
  table(std::string name, serde<V> s) : _name(std::move(name)), _serde(std::move(s)) {}
  const std::string& name() const { return _name; }
  const serde<V>& value_serde() const { return _serde; }

 private:
  std::string _name;
  serde<V> _serde;
};

template <class K, class T>
class keyed_stream {
 public:
  keyed_stream(detail::graph* g, detail::producer_node<T>* n, serde<K> key_serde)
      : _g(g), _node(n), _key_serde(std::move(key_serde)) {}

  template <class W>
  windowed_stream<K, T> window(const W& spec) const {
    return windowed_stream<K, T>(_g, _node, _key_serde, detail::window_spec::of(spec));
  }

  // on_element(const T&, keyed_context<K, Out>&) and optionally
  // on_timer(timestamp_ms, keyed_context<K, Out>&): see process.h.
  template <class Out, class F>
  single_output<Out> process(F on_element, std::string name = {}) const {
    return process_impl<Out>(std::move(on_element), {}, std::move(name));
  }
  // (Constrained so that process<Out>(f, "name") picks the overload above.)
  template <class Out, class F, class G,
            class = std::enable_if_t<std::is_invocable_v<G, timestamp_ms, keyed_context<K, Out>&>>>
  single_output<Out> process(F on_element, G on_timer, std::string name = {}) const {
    return process_impl<Out>(std::move(on_element), std::move(on_timer), std::move(name));
  }

  // Stream-stream join on the key: each pair of this stream's record (time tl) and other's
  // (time tr) with tl - w.before <= tr <= tl + w.after gives joiner(left, right) once, timestamped
  // max(tl, tr). Both sides' records wait in state while a match may still come; records more
  // than w.grace behind the watermark are late: side_output(join_late_left<T>()) and
  // side_output(join_late_right<U>()) of the result, else dropped (see detail/join_node.h).
  // Both sides must encode keys alike (the same key serde).
  template <class U, class F,
            class Out = std::remove_cvref_t<std::invoke_result_t<F, const T&, const U&>>>
  single_output<Out> join(const keyed_stream<K, U>& other, join_window w, F joiner,
                          std::string name = {}, serde<T> left_serde = default_serde<T>(),
                          serde<U> right_serde = default_serde<U>()) const {
    if (w.before.count() + w.after.count() < 0) {
      _g->errors.push_back("join window is empty (before + after < 0)");
    }
    if (w.grace.count() < 0) _g->errors.push_back("join grace must not be negative");
    auto* n = _g->add<detail::join_node<T, U, Out>>(
        "join", std::move(name), w,
        std::function<Out(const T&, const U&)>(
            [joiner](const T& l, const U& r) { return std::invoke(joiner, l, r); }),
        std::move(left_serde), std::move(right_serde));
    n->declared_side_outputs.emplace(join_late_left_name, typeid(T));
    n->declared_side_outputs.emplace(join_late_right_name, typeid(U));
    _node->add_downstream(&n->left);
    n->inputs.push_back(_node);
    other._node->add_downstream(&n->right);
    n->inputs.push_back(other._node);
    return {_g, n};
  }

  // Stream-table join: f(const T&, const V&) for each record whose key the table holds (as it
  // is when the record is processed); records with no table entry give nothing.
  template <class V, class F,
            class Out = std::remove_cvref_t<std::invoke_result_t<F, const T&, const V&>>>
  single_output<Out> join(const table<V>& t, F f, std::string name = {}) const {
    return lookup<V, Out>(
        t,
        [f](const T& v, const std::optional<V>& tv) -> std::optional<Out> {
          if (!tv) return std::nullopt;
          return std::invoke(f, v, *tv);
        },
        std::move(name));
  }
  // Left join: f(const T&, const std::optional<V>&) for every record.
  template <
      class V, class F,
      class Out = std::remove_cvref_t<std::invoke_result_t<F, const T&, const std::optional<V>&>>>
  single_output<Out> left_join(const table<V>& t, F f, std::string name = {}) const {
    return lookup<V, Out>(
        t,
        [f](const T& v, const std::optional<V>& tv) -> std::optional<Out> {
          return std::invoke(f, v, tv);
        },
        std::move(name));
  }

  // The records as a plain stream (keyed: their key bytes are set).
  stream<T> as_stream() const { return {_g, _node}; }

 private:
  template <class K2, class U>
  friend class keyed_stream;

  template <class V, class Out>
  single_output<Out> lookup(const table<V>& t,
                            typename detail::lookup_join_node<T, V, Out>::joiner f,
                            std::string name) const {
    auto* n = _g->add<detail::lookup_join_node<T, V, Out>>("table_join", std::move(name), t.name(),
                                                           t.value_serde(), std::move(f));
    detail::connect(_node, n);
    return {_g, n};
  }

  template <class Out>
  single_output<Out> process_impl(std::function<void(const T&, keyed_context<K, Out>&)> f,
                                  std::function<void(timestamp_ms, keyed_context<K, Out>&)> t,
                                  std::string name) const {
    auto* n = _g->add<detail::keyed_process_node<K, T, Out>>(
        "process", std::move(name), std::move(f), std::move(t), _key_serde);
    detail::connect(_node, n);
    return {_g, n};
  }

  detail::graph* _g;
  detail::producer_node<T>* _node;
  serde<K> _key_serde;
};

template <class K, class T>
class windowed_stream {
 public:
  windowed_stream(detail::graph* g, detail::producer_node<T>* n, serde<K> key_serde,
                  detail::window_spec spec)
      : _g(g), _node(n), _key_serde(std::move(key_serde)), _spec(spec) {}

  // How long after a window's end records are still added (each re-emits the result).
  windowed_stream allowed_lateness(duration d) const {
    auto w = *this;
    w._lateness = d;
    return w;
  }
  // Where records later than that go (the result's side_output(tag)); unset: dropped.
  windowed_stream late_to(const output_tag<T>& tag) const {
    auto w = *this;
    w._late_tag = tag.name;
    return w;
  }
  // The step's name, which also names its state (and so its changelog): give one to keep state
  // across changes to the pipeline's shape.
  windowed_stream named(std::string name) const {
    auto w = *this;
    w._name = std::move(name);
    return w;
  }

  single_output<windowed<K, int64_t>> count() const { return aggregate(aggregators::count<T>()); }
  template <class F>
  auto sum(F f) const {
    return aggregate(aggregators::sum<T>(std::move(f)));
  }
  template <class F>
  auto min(F f) const {
    return aggregate(aggregators::min<T>(std::move(f)));
  }
  template <class F>
  auto max(F f) const {
    return aggregate(aggregators::max<T>(std::move(f)));
  }
  template <class F>
  auto avg(F f) const {
    return aggregate(aggregators::avg<T>(std::move(f)));
  }
  // f(const T&, const T&) -> T.
  template <class F>
  single_output<windowed<K, T>> reduce(F f, serde<T> value_serde = default_serde<T>()) const {
    return aggregate(aggregators::reduce<T>(std::move(f), std::move(value_serde)));
  }
  // init, add(Acc&, const T&); the result is the accumulator. Not for session windows (they
  // need merge: use the overload below).
  template <class Acc, class Add>
  single_output<windowed<K, Acc>> aggregate(Acc init, Add add,
                                            serde<Acc> acc_serde = default_serde<Acc>()) const {
    return aggregate(aggregator<T, Acc, Acc>{[init] { return init; },
                                             [add](Acc& a, const T& v) { std::invoke(add, a, v); },
                                             {},
                                             [](const Acc& a) { return a; },
                                             std::move(acc_serde)});
  }
  // ... with merge(Acc&, const Acc&) for session windows.
  template <class Acc, class Add, class Merge>
  single_output<windowed<K, Acc>> aggregate(Acc init, Add add, Merge merge,
                                            serde<Acc> acc_serde = default_serde<Acc>()) const {
    return aggregate(aggregator<T, Acc, Acc>{
        [init] { return init; }, [add](Acc& a, const T& v) { std::invoke(add, a, v); },
        [merge](Acc& a, const Acc& b) { std::invoke(merge, a, b); }, [](const Acc& a) { return a; },
        std::move(acc_serde)});
  }
  // The general form: any accumulator and result type.
  template <class Acc, class R>
  single_output<windowed<K, R>> aggregate(aggregator<T, Acc, R> agg) const {
    if (auto e = _spec.validate(); !e.empty()) _g->errors.push_back(e);
    if (_lateness.count() < 0) _g->errors.push_back("allowed lateness must not be negative");
    if (_spec.what == detail::window_spec::kind::session && !agg.merge) {
      _g->errors.push_back("session windows merge, so their aggregate needs a merge function");
    }
    auto* n = _g->add<detail::window_node<K, T, Acc, R>>("window", _name, _spec, _lateness,
                                                         std::move(agg), _key_serde, _late_tag);
    if (!_late_tag.empty()) n->declared_side_outputs.emplace(_late_tag, typeid(T));
    detail::connect(_node, n);
    return {_g, n};
  }

 private:
  detail::graph* _g;
  detail::producer_node<T>* _node;
  serde<K> _key_serde;
  detail::window_spec _spec;
  duration _lateness{0};
  std::string _late_tag;
  std::string _name;
};

// A built pipeline: the graph an engine runs. Movable; run by one engine.
class topology {
 public:
  topology(topology&&) noexcept;
  topology& operator=(topology&&) noexcept;
  ~topology();

  std::vector<std::string> source_topics() const;
  // The source topics read as tables (table_of).
  std::vector<std::string> table_topics() const;
  std::vector<std::string> sink_topics() const;
  // The names of the key_by steps, where the Kafka runtime repartitions (in graph order);
  // key_by_record_key steps key in place and are not among them.
  std::vector<std::string> repartition_steps() const;
  // One line per step: "window-4 <- key_by-3".
  std::string describe() const;

 private:
  friend class topology_builder;
  friend class engine;
  explicit topology(std::unique_ptr<detail::graph> g);
  std::unique_ptr<detail::graph> _g;
};

class topology_builder {
 public:
  topology_builder();
  topology_builder(const topology_builder&) = delete;
  topology_builder& operator=(const topology_builder&) = delete;
  ~topology_builder();

  // Reads `topic`; values decode with value_serde. See source_options for time and errors.
  template <class T>
  stream<T> source(std::string topic, serde<T> value_serde, source_options<T> opts = {}) {
    if (opts.on_error == error_policy::dead_letter && opts.dead_letter_topic.empty()) {
      _g->errors.push_back("source '" + topic + "': dead_letter needs a dead_letter_topic");
    }
    for (auto* s : _g->sources) {
      if (s->topic() == topic) _g->errors.push_back("topic '" + topic + "' has two sources");
    }
    auto name = opts.name;
    auto* n = _g->add<detail::source_node<T>>("source", std::move(name), topic,
                                              std::move(value_serde), std::move(opts));
    _g->sources.push_back(n);
    return {_g.get(), n};
  }
  template <class T>
  stream<T> source(std::string topic) {
    return source<T>(std::move(topic), default_serde<T>());
  }

  // A table of the latest value per key of `topic` (normally compacted); null values delete.
  template <class V>
  table<V> table_of(std::string topic, serde<V> value_serde = default_serde<V>(),
                    table_options opts = {}) {
    if (opts.on_error == error_policy::dead_letter && opts.dead_letter_topic.empty()) {
      _g->errors.push_back("table '" + topic + "': dead_letter needs a dead_letter_topic");
    }
    for (auto* s : _g->sources) {
      if (s->topic() == topic) _g->errors.push_back("topic '" + topic + "' has two sources");
    }
    auto* n = _g->add<detail::table_node<V>>("table", opts.name, topic, value_serde, opts);
    _g->sources.push_back(n);
    return table<V>(n->name, std::move(value_serde));
  }

  // The topology, or errc::invalid_topology listing every mistake found.
  result<topology> build();

 private:
  std::unique_ptr<detail::graph> _g;
};

}  // namespace spate::stream

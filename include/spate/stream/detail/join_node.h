// Internal: the stream-stream join. Both sides are keyed by the same key type; a left record
// at time tl and a right record at time tr with the same key join when
// tl - before <= tr <= tl + after (an interval join; Kafka Streams' JoinWindows with
// before/after). Each side keeps its records in the store (namespaces "<name>/left" and
// "<name>/right", key bytes | time | sequence) for as long as a record of the other side that
// is still on time could match them:
//  - a record is late when t + grace <= watermark, the watermark being the smaller of both
//    sides'; it goes to the side output join_late_left / join_late_right if requested, else
//    it is dropped and counted;
//  - a left record is dropped from the buffer when tl + after + grace <= watermark, a right
//    one when tr + before + grace <= watermark.
// So every pair of on-time records within the interval is emitted exactly once, when its
// second record arrives, with timestamp max(tl, tr).
#pragma once

#include <algorithm>
#include <limits>
#include <set>
#include <string>
#include <tuple>

#include "spate/stream/detail/node.h"
#include "spate/stream/detail/state_keys.h"
#include "spate/stream/serde.h"

namespace spate::stream {

// Which records of the other side a record joins: those from `before` earlier to `after`
// later; `grace` is how late a record may arrive and still join.
// Side outputs of a join step for its late records: joined.side_output(join_late_left<L>()).
inline constexpr const char* join_late_left_name = "late-left";
inline constexpr const char* join_late_right_name = "late-right";
template <class L>
output_tag<L> join_late_left() {
  return {join_late_left_name};
}
template <class R>
output_tag<R> join_late_right() {
  return {join_late_right_name};
}

struct join_window {
  duration before{0};
  duration after{0};
  duration grace{0};
  // |t_left - t_right| <= d.
  static join_window within(duration d, duration grace = duration(0)) { return {d, d, grace}; }
  // No time bound: every pair of records with equal keys joins, whenever each arrives (a
  // regular join of two streams, as SQL's JOIN without a time condition). Both sides stay in
  // state for good and no record is late. A quarter of the range, so that the sums the join
  // forms (before + after, reach + grace) cannot overflow.
  static join_window unbounded() {
    constexpr duration forever(std::numeric_limits<int64_t>::max() / 4);
    return {forever, forever, forever};
  }
};

namespace detail {

template <class L, class R, class Out>
class join_node final : public producer_node<Out> {
 public:
  using joiner = std::function<Out(const L&, const R&)>;

  join_node(join_window w, joiner f, serde<L> left_serde, serde<R> right_serde)
      : _window(w),
        _join(std::move(f)),
        _left_serde(std::move(left_serde)),
        _right_serde(std::move(right_serde)) {}

  // The two inputs: separate objects, since L and R may be the same type.
  struct left_input final : consumer<L> {
    explicit left_input(join_node* n) : self(n) {}
    void push(const element<L>& e) override { self->on_left(e); }
    join_node* self;
  } left{this};
  struct right_input final : consumer<R> {
    explicit right_input(join_node* n) : self(n) {}
    void push(const element<R>& e) override { self->on_right(e); }
    join_node* self;
  } right{this};

  void open(engine_context& c) override {
    this->ctx = &c;
    _ns[0] = c.store->open(this->name + "/left");
    _ns[1] = c.store->open(this->name + "/right");
    for (int side = 0; side < 2; ++side) {
      c.store->scan(_ns[side], {}, [&](std::string_view k, std::string_view) {
        auto e = parse(k);
        if (!e) {
          c.fail(error(errc::state_store_failed, "unreadable join buffer in " + this->name));
          return false;
        }
        auto [key, t, seq] = *e;
        _seq = std::max(_seq, seq + 1);
        _expiry[side].emplace(expiry(side, t), std::string(k));
        return true;
      });
    }
  }

  void on_watermark(timestamp_ms wm) override {
    for (int side = 0; side < 2; ++side) {
      auto& q = _expiry[side];
      while (!q.empty() && q.begin()->first <= wm.value) {
        this->ctx->store->erase(_ns[side], q.begin()->second);
        q.erase(q.begin());
      }
    }
  }

 private:
  void on_left(const element<L>& e) {
    if (late(e, join_late_left_name)) return;
    const std::string key = e.key.value_or(std::string());
    // Right records with tl - before <= tr <= tl + after.
    probe(1, key, add_saturating(e.timestamp, -_window.before.count()),
          add_saturating(e.timestamp, _window.after.count()),
          [&](const std::string& bytes, timestamp_ms tr) {
            auto r = _right_serde.deserialize(bytes);
            if (!r) return this->ctx->fail(r.error().with_context("join buffer of " + this->name));
            emit_pair(e.value, *r, key, std::max(e.timestamp, tr));
          });
    buffer(0, key, e.timestamp, _left_serde.serialize(e.value));
  }

  void on_right(const element<R>& e) {
    if (late(e, join_late_right_name)) return;
    const std::string key = e.key.value_or(std::string());
    // Left records with tr - after <= tl <= tr + before.
    probe(0, key, add_saturating(e.timestamp, -_window.after.count()),
          add_saturating(e.timestamp, _window.before.count()),
          [&](const std::string& bytes, timestamp_ms tl) {
            auto l = _left_serde.deserialize(bytes);
            if (!l) return this->ctx->fail(l.error().with_context("join buffer of " + this->name));
            emit_pair(*l, e.value, key, std::max(e.timestamp, tl));
          });
    buffer(1, key, e.timestamp, _right_serde.serialize(e.value));
  }

  template <class T>
  bool late(const element<T>& e, std::string_view tag) {
    if (add_saturating(e.timestamp, _window.grace.count()) > this->watermark) return false;
    ++this->ctx->stats->late_records;
    if (!emit_side<T>(*this, tag, e)) ++this->ctx->stats->late_records_dropped;
    return true;
  }

  // The time after which a record of `side` at t can no longer meet an on-time record.
  int64_t expiry(int side, timestamp_ms t) const {
    auto reach = side == 0 ? _window.after : _window.before;
    return add_saturating(t, reach.count() + _window.grace.count()).value;
  }

  template <class F>
  void probe(int side, const std::string& key, timestamp_ms from, timestamp_ms to, F&& f) {
    std::string start = key_prefix(key);
    append_time(start, from);
    const std::string prefix = key_prefix(key);
    this->ctx->store->scan_from(_ns[side], prefix, start,
                                [&](std::string_view k, std::string_view v) {
                                  timestamp_ms t = read_time(k, prefix.size());
                                  if (t > to) return false;
                                  f(std::string(v), t);
                                  return true;
                                });
  }

  void buffer(int side, const std::string& key, timestamp_ms t, const std::string& value) {
    std::string k = key_prefix(key);
    append_time(k, t);
    append_time(k, timestamp_ms(_seq++));
    this->ctx->store->put(_ns[side], k, value);
    _expiry[side].emplace(expiry(side, t), std::move(k));
  }

  void emit_pair(const L& l, const R& r, const std::string& key, timestamp_ms t) {
    this->emit(element<Out>{_join(l, r), key, t, {}});
  }

  static std::optional<std::tuple<std::string_view, timestamp_ms, int64_t>> parse(
      std::string_view k) {
    if (k.size() < 4) return std::nullopt;
    uint32_t n = read_be<uint32_t>(as_bytes(k), 0);
    if (k.size() != 4 + size_t(n) + 16) return std::nullopt;
    return std::tuple(k.substr(4, n), read_time(k, 4 + n), read_time(k, 12 + n).value);
  }

  join_window _window;
  joiner _join;
  serde<L> _left_serde;
  serde<R> _right_serde;
  state_store::namespace_id _ns[2] = {0, 0};
  int64_t _seq = 0;  // makes buffer keys unique for equal key and time
  // Per side: (expiry time, store key), to drop buffered records as the watermark passes.
  std::set<std::pair<int64_t, std::string>> _expiry[2];
};

}  // namespace detail
}  // namespace spate::stream

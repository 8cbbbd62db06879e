// Internal: tables built from a (compacted) topic, and the stream-table join that looks them up.
//
// A table source keeps the latest value per record key in the state store (namespace = the
// table's name; a null value deletes the key), so a table restores from the changelog like any
// state. It does not emit elements and does not hold back any watermark: table updates are
// applied in arrival order, and a stream record joins the table as it is when the record is
// processed. The runtime should therefore read a table's topic up to its end before it starts
// the streams that join it (the test driver: pipe the table first).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "spate/stream/detail/node.h"
#include "spate/stream/detail/operators.h"
#include "spate/stream/serde.h"

namespace spate::stream {

struct table_options {
  std::string name;  // the step's and the state namespace's name (default "table-<n>")
  error_policy on_error = error_policy::fail;
  std::string dead_letter_topic;
};

namespace detail {

template <class V>
class table_node final : public node, public source_hooks, private source_core {
 public:
  table_node(std::string topic, serde<V> value_serde, const table_options& opts)
      : source_core(std::move(topic), time_mode::event_time, {}, opts.on_error,
                    opts.dead_letter_topic),
        _serde(std::move(value_serde)) {}

  const std::string& topic() const override { return _topic; }
  node& as_node() override { return *this; }
  void assign(partition_id, timestamp_ms) override {}
  bool is_table() const override { return true; }

  void open(engine_context& c) override {
    this->ctx = &c;
    _ns = c.store->open(this->name);
  }

  status ingest(const input_record& r, std::string_view) override {
    auto& c = *this->ctx;
    if (!r.key) {
      return reject(c, r, error(errc::deserialization_failed, "table record without a key"));
    }
    if (!r.value) {
      c.store->erase(_ns, *r.key);
      return ok();
    }
    // Decoded once here, so a bad value is rejected at the table, not at every lookup.
    auto v = _serde.deserialize(*r.value);
    if (!v) return reject(c, r, std::move(v).error());
    c.store->put(_ns, *r.key, *r.value);
    return ok();
  }

 private:
  serde<V> _serde;
  state_store::namespace_id _ns = 0;
};

// Joins each stream record with the table's value for the record's key: inner (no value, no
// output) or left (the function gets std::nullopt).
template <class T, class V, class Out>
class lookup_join_node final : public producer_node<Out>, public consumer<T> {
 public:
  using joiner = std::function<std::optional<Out>(const T&, const std::optional<V>&)>;

  lookup_join_node(std::string table, serde<V> s, joiner f)
      : _table(std::move(table)), _serde(std::move(s)), _join(std::move(f)) {}

  void open(engine_context& c) override {
    this->ctx = &c;
    _ns = c.store->open(_table);
  }

  void push(const element<T>& e) override {
    std::optional<V> v;
    if (e.key) {
      if (auto bytes = this->ctx->store->get(_ns, *e.key)) {
        auto decoded = _serde.deserialize(*bytes);
        if (!decoded) {
          this->ctx->fail(decoded.error().with_context("table " + _table));
          return;
        }
        v = std::move(*decoded);
      }
    }
    if (auto out = _join(e.value, v)) {
      this->emit(element<Out>{std::move(*out), e.key, e.timestamp, e.origin});
    }
  }

 private:
  std::string _table;
  serde<V> _serde;
  joiner _join;
  state_store::namespace_id _ns = 0;
};

}  // namespace detail
}  // namespace spate::stream

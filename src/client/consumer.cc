#include "client/consumer.h"

#include <algorithm>
#include <charconv>

#include "client/detail/handle.h"
#include "client/errc.h"

namespace spate::client {

using namespace detail;

// librdkafka's "simple consumer" (rd_kafka_consume_start_queue): per-partition fetchers
// feeding one queue, no group. The high-level consumer (rd_kafka_assign) would need a
// group.id, and with it a group coordinator, for no benefit here.
struct consumer::state {
  struct assigned_topic {
    std::string name;
    topic_ptr rkt;
    std::vector<int32_t> partitions;
  };
  std::unique_ptr<handle> h;
  queue_ptr queue;
  std::vector<assigned_topic> topics;

  ~state() {
    for (auto& t : topics) {
      for (auto p : t.partitions) rd_kafka_consume_stop(t.rkt.get(), p);
    }
    topics.clear();  // topic handles and the queue before the client itself
    queue.reset();
  }
};

namespace {

result<int64_t> parse_int(std::string_view s, std::string_view what) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    return spate::error(
        errc::invalid_argument,
        std::string(what) + " must be a non-negative integer, not '" + std::string(s) + "'");
  }
  return v;
}

}  // namespace

result<start_position> parse_start_position(std::string_view s) {
  if (s == "beginning") return start_position::beginning();
  if (s == "end") return start_position::end();
  auto bad = [&] {
    return spate::error(errc::invalid_argument,
                        "start position must be beginning, end, <offset>, @<timestamp-ms> or "
                        "-<count>, not '" +
                            std::string(s) + "'");
  };
  if (s.empty()) return bad();
  if (s.front() == '@') {
    auto v = parse_int(s.substr(1), "timestamp");
    if (!v) return bad();
    return start_position::at_time(timestamp_ms(*v));
  }
  if (s.front() == '-') {
    auto v = parse_int(s.substr(1), "count");
    if (!v || *v == 0) return bad();
    return start_position::last(*v);
  }
  auto v = parse_int(s, "offset");
  if (!v) return bad();
  return start_position::at(spate::offset(*v));
}

consumer::consumer(std::unique_ptr<state> s) : _s(std::move(s)) {}
consumer::consumer(consumer&&) noexcept = default;
consumer& consumer::operator=(consumer&&) noexcept = default;
consumer::~consumer() = default;

result<consumer> consumer::connect(const client_config& config) {
  setting_list list = {
      {"enable.partition.eof", "true"},
      // An explicit offset outside the log is an error to report, not a silent jump.
      {"auto.offset.reset", "error"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"allow.auto.create.topics", "false"},
      // Long polls shorter than the socket timeout (librdkafka warns otherwise).
      {"fetch.wait.max.ms",
       std::to_string(std::clamp<int64_t>(config.timeout.count() - 1000, 100, 500))},
  };
  auto h = handle::open(RD_KAFKA_CONSUMER, config, list);
  if (!h) return std::move(h).error();
  auto s = std::make_unique<state>();
  s->h = std::move(*h);
  SPATE_TRY(s->h->probe());
  s->queue.reset(rd_kafka_queue_new(s->h->rk()));
  return consumer(std::move(s));
}

result<std::vector<partition_id>> consumer::partitions(const std::string& topic) {
  auto info = _s->h->metadata(metadata_scope::all_topics);
  if (!info) return std::move(info).error();
  auto* t = info->find(topic);
  if (!t) return spate::error(errc::unknown_topic, "topic '" + topic + "' does not exist");
  if (t->error) return t->error->with_context("topic '" + topic + "'");
  std::vector<partition_id> out;
  for (auto& p : t->partitions) out.push_back(p.id);
  return out;
}

status consumer::assign(const std::string& topic, std::vector<partition_id> parts,
                        start_position from) {
  for (auto& t : _s->topics) {
    if (t.name == topic) {
      return spate::error(errc::invalid_argument, "topic '" + topic + "' is already assigned");
    }
  }
  auto known = partitions(topic);
  if (!known) return std::move(known).error();
  if (parts.empty()) parts = *known;
  for (auto p : parts) {
    if (std::find(known->begin(), known->end(), p) == known->end()) {
      return spate::error(errc::invalid_argument, "topic '" + topic + "' has no partition " +
                                                      std::to_string(p.value) + " (it has " +
                                                      std::to_string(known->size()) + ")");
    }
  }

  // Start offsets in librdkafka's terms, per partition.
  std::vector<int64_t> starts(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) {
    switch (from.where) {
      case start_position::kind::beginning:
        starts[i] = RD_KAFKA_OFFSET_BEGINNING;
        break;
      case start_position::kind::end:
        starts[i] = RD_KAFKA_OFFSET_END;
        break;
      case start_position::kind::offset:
        starts[i] = from.value;
        break;
      case start_position::kind::last:
        starts[i] = RD_KAFKA_OFFSET_TAIL(from.value);
        break;
      case start_position::kind::timestamp:
        break;
    }
  }
  if (from.where == start_position::kind::timestamp) {
    partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
    for (auto p : parts) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p.value)->offset = from.value;
    }
    std::string context = "looking up offsets of '" + topic + "' at " + std::to_string(from.value);
    auto err = rd_kafka_offsets_for_times(_s->h->rk(), list.get(), _s->h->timeout_ms());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return _s->h->failure(err, context);
    for (size_t i = 0; i < parts.size(); ++i) {
      auto* e = rd_kafka_topic_partition_list_find(list.get(), topic.c_str(), parts[i].value);
      if (!e)
        return spate::error(errc::invalid_argument, context + ": partition missing in answer");
      if (e->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return _s->h->failure(e->err, context + " partition " + std::to_string(parts[i].value));
      }
      // -1: no record at or after the time, so start at the end and wait for new ones.
      starts[i] = e->offset >= 0 ? e->offset : RD_KAFKA_OFFSET_END;
    }
  }

  state::assigned_topic t;
  t.name = topic;
  t.rkt.reset(rd_kafka_topic_new(_s->h->rk(), topic.c_str(), nullptr));
  if (!t.rkt) return _s->h->failure(rd_kafka_last_error(), "opening topic '" + topic + "'");
  for (size_t i = 0; i < parts.size(); ++i) {
    if (rd_kafka_consume_start_queue(t.rkt.get(), parts[i].value, starts[i], _s->queue.get()) ==
        -1) {
      auto err = rd_kafka_last_error();
      for (auto p : t.partitions) rd_kafka_consume_stop(t.rkt.get(), p);
      return _s->h->failure(
          err, "starting to read '" + topic + "' partition " + std::to_string(parts[i].value));
    }
    t.partitions.push_back(parts[i].value);
  }
  _s->topics.push_back(std::move(t));
  return ok();
}

result<std::optional<consumer_event>> consumer::poll(std::chrono::milliseconds wait) {
  _s->h->serve();  // error events and logs
  message_ptr m(rd_kafka_consume_queue(_s->queue.get(), static_cast<int>(wait.count())));
  if (!m) return std::optional<consumer_event>();
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    return std::optional<consumer_event>(end_of_partition{m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                                                          partition_id(m->partition),
                                                          spate::offset(m->offset)});
  }
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string context = "reading";
    if (m->rkt) {
      context += " '" + std::string(rd_kafka_topic_name(m->rkt)) + "' partition " +
                 std::to_string(m->partition);
    }
    return _s->h->failure(m->err, context, rd_kafka_message_errstr(m.get()));
  }
  return std::optional<consumer_event>(to_message(*m));
}

std::vector<std::pair<std::string, partition_id>> consumer::assignment() const {
  std::vector<std::pair<std::string, partition_id>> out;
  for (auto& t : _s->topics) {
    for (auto p : t.partitions) out.emplace_back(t.name, partition_id(p));
  }
  return out;
}

result<cluster_info> consumer::describe_cluster(metadata_scope scope) {
  return _s->h->metadata(scope);
}

}  // namespace spate::client

#include "client/group_consumer.h"

#include <algorithm>

#include "client/detail/handle.h"
#include "client/errc.h"
#include "observe/log.h"

namespace spate::client {

using namespace detail;

struct group_consumer::state {
  std::unique_ptr<handle> h;
  group_consumer_config settings;
  std::vector<topic_partition> assigned;
  bool closed = false;
  // An error met inside the rebalance callback, reported by the next poll().
  std::optional<spate::error> rebalance_error;

  ~state() {
    if (!closed && h) (void)close();
  }

  status close() {
    if (closed) return ok();
    closed = true;
    // Calls the rebalance callback (revoke) and leaves the group.
    auto err = rd_kafka_consumer_close(h->rk());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return rdkafka_error(err, "leaving the group");
    return ok();
  }

  static std::vector<topic_partition> list_of(const rd_kafka_topic_partition_list_t* l) {
    std::vector<topic_partition> out;
    if (!l) return out;
    for (int i = 0; i < l->cnt; ++i) {
      out.push_back({l->elems[i].topic, l->elems[i].partition});
    }
    return out;
  }

  // Eager protocol: on assign take the whole new assignment, on revoke give up everything.
  void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                    rd_kafka_topic_partition_list_t* parts) {
    static const auto log = observe::logger("client");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      assigned = list_of(parts);
      log->info("group {}: assigned {} partitions", settings.group_id, assigned.size());
      // The listener first: it may say where to start (set before rd_kafka_assign, so no
      // fetch starts at the committed offset in between).
      std::vector<partition_offset> starts;
      if (settings.listener) {
        // An exception must not unwind through librdkafka's C frames.
        try {
          starts = settings.listener->on_assigned(assigned);
        } catch (const std::exception& ex) {
          rebalance_error =
              spate::error(errc::fatal, std::string("rebalance listener: ") + ex.what());
        }
      }
      for (auto& o : starts) {
        if (auto* tp =
                rd_kafka_topic_partition_list_find(parts, o.topic.c_str(), o.partition.value)) {
          tp->offset = o.next.value;
        }
      }
      auto e = rd_kafka_assign(rk, parts);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rebalance_error = rdkafka_error(e, "taking the group's assignment");
      }
    } else {
      bool lost = rd_kafka_assignment_lost(rk) != 0;
      auto revoked = list_of(parts);
      log->info("group {}: {} {} partitions", settings.group_id, lost ? "lost" : "revoked",
                revoked.size());
      if (settings.listener) {
        try {
          settings.listener->on_revoked(revoked, lost);
        } catch (const std::exception& ex) {
          rebalance_error =
              spate::error(errc::fatal, std::string("rebalance listener: ") + ex.what());
        }
      }
      if (auto e = rd_kafka_assign(rk, nullptr); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rebalance_error = rdkafka_error(e, "giving up the assignment");
      }
      assigned.clear();
    }
  }
};

group_consumer::group_consumer(std::unique_ptr<state> s) : _s(std::move(s)) {}
group_consumer::group_consumer(group_consumer&&) noexcept = default;
group_consumer& group_consumer::operator=(group_consumer&&) noexcept = default;
group_consumer::~group_consumer() = default;

result<group_consumer> group_consumer::connect(const client_config& config,
                                               group_consumer_config settings) {
  if (settings.group_id.empty()) {
    return spate::error(errc::invalid_argument, "a group consumer needs a group id");
  }
  if (settings.topics.empty()) {
    return spate::error(errc::invalid_argument, "a group consumer needs at least one topic");
  }
  if (settings.assignor != "range" && settings.assignor != "roundrobin") {
    return spate::error(errc::invalid_argument,
                        "assignor must be range or roundrobin (eager), not " + settings.assignor);
  }
  auto s = std::make_unique<state>();
  s->settings = std::move(settings);
  const auto& g = s->settings;
  setting_list list = {
      {"group.id", g.group_id},
      {"partition.assignment.strategy", g.assignor},
      {"session.timeout.ms", std::to_string(g.session_timeout.count())},
      // Three heartbeats per session, as Kafka recommends.
      {"heartbeat.interval.ms",
       std::to_string(std::max<int64_t>(g.session_timeout.count() / 3, 1))},
      {"max.poll.interval.ms", std::to_string(g.max_poll_interval.count())},
      {"auto.offset.reset", g.reset == offset_reset::earliest ? "earliest" : "latest"},
      // Offsets are committed explicitly, after the caller made its results durable.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"allow.auto.create.topics", "false"},
      {"fetch.wait.max.ms",
       std::to_string(std::clamp<int64_t>(config.timeout.count() - 1000, 100, 500))},
  };
  auto* raw = s.get();
  auto h = handle::open(
      RD_KAFKA_CONSUMER, config, list, {},
      [raw](rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
        raw->on_rebalance(rk, err, parts);
      });
  if (!h) return std::move(h).error();
  s->h = std::move(*h);
  if (auto st = s->h->probe(); !st) {
    s->closed = true;  // never joined: nothing to leave
    return std::move(st).error();
  }
  // Everything (records, rebalances, errors) through rd_kafka_consumer_poll.
  rd_kafka_poll_set_consumer(s->h->rk());
  partition_list_ptr topics(rd_kafka_topic_partition_list_new(static_cast<int>(g.topics.size())));
  for (auto& t : g.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (auto err = rd_kafka_subscribe(s->h->rk(), topics.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    s->closed = true;
    return rdkafka_error(err, "subscribing");
  }
  return group_consumer(std::move(s));
}

result<std::optional<message>> group_consumer::poll(std::chrono::milliseconds wait) {
  if (_s->closed) return spate::error(errc::invalid_argument, "the group consumer is closed");
  message_ptr m(rd_kafka_consumer_poll(_s->h->rk(), static_cast<int>(wait.count())));
  if (_s->rebalance_error) {
    auto e = std::move(*_s->rebalance_error);
    _s->rebalance_error.reset();
    return e;
  }
  if (!m) return std::optional<message>();
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string where =
        m->rkt ? std::string(rd_kafka_topic_name(m->rkt)) + "[" + std::to_string(m->partition) + "]"
               : std::string("group ") + _s->settings.group_id;
    // Not handle::failure(): its rd_kafka_poll would serve (and drop) the consumer queue.
    return rdkafka_error(m->err, where, rd_kafka_message_errstr(m.get()));
  }
  return std::optional<message>(to_message(*m));
}

status group_consumer::commit(const std::vector<partition_offset>& offsets) {
  if (offsets.empty()) return ok();
  partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (auto& o : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), o.topic.c_str(), o.partition.value)->offset =
        o.next.value;
  }
  auto err = rd_kafka_commit(_s->h->rk(), list.get(), 0 /* synchronous */);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return rdkafka_error(err, "committing offsets for group " + _s->settings.group_id);
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return rdkafka_error(list->elems[i].err, "committing " + std::string(list->elems[i].topic) +
                                                   "[" + std::to_string(list->elems[i].partition) +
                                                   "]");
    }
  }
  return ok();
}

std::vector<topic_partition> group_consumer::assignment() const {
  return _s->assigned;
}

result<std::vector<partition_offset>> group_consumer::committed(
    const std::vector<topic_partition>& parts) {
  partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (auto& p : parts) rd_kafka_topic_partition_list_add(list.get(), p.topic.c_str(), p.partition);
  auto err = rd_kafka_committed(_s->h->rk(), list.get(), _s->h->timeout_ms());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return rdkafka_error(err, "reading committed offsets of group " + _s->settings.group_id);
  }
  std::vector<partition_offset> out;
  for (int i = 0; i < list->cnt; ++i) {
    auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return rdkafka_error(e.err, "committed offset of " + std::string(e.topic) + "[" +
                                      std::to_string(e.partition) + "]");
    }
    out.push_back({e.topic, partition_id(e.partition), spate::offset(e.offset)});
  }
  return out;
}

bool group_consumer::assignment_lost() const {
  return !_s->closed && rd_kafka_assignment_lost(_s->h->rk()) != 0;
}

status group_consumer::close() {
  return _s->close();
}

}  // namespace spate::client

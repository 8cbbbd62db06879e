#include "spate/stream/application.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/errc.h"
#include "client/group_consumer.h"
#include "client/producer.h"
#include "observe/log.h"
#include "spate/stream/engine.h"
#include "spate/stream/errc.h"
#include "spate/stream/repartition.h"

namespace spate::stream {

namespace {

const auto& log() {
  static const auto l = observe::logger("stream");
  return l;
}

timestamp_ms wall_now() {
  return timestamp_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count());
}

// Changelog record keys: be32(namespace length), namespace, state key. The checkpoint marker's
// key has an empty namespace, which no store namespace has.
std::string frame_key(std::string_view ns, std::string_view key) {
  std::string out;
  out.reserve(4 + ns.size() + key.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out += static_cast<char>((ns.size() >> shift) & 0xff);
  out += ns;
  out += key;
  return out;
}

std::optional<std::pair<std::string, std::string>> unframe_key(std::string_view k) {
  if (k.size() < 4) return std::nullopt;
  size_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(k[i]);
  if (n > k.size() - 4) return std::nullopt;
  return std::pair(std::string(k.substr(4, n)), std::string(k.substr(4 + n)));
}

const std::string& marker_key() {
  static const std::string k = frame_key("", "spate.checkpoint");
  return k;
}

// The marker's value: the task's input position, {"offsets":[{"topic","partition","next"}]}.
using positions = std::map<std::pair<std::string, int32_t>, int64_t>;

std::string encode_marker(const positions& p) {
  auto arr = nlohmann::json::array();
  for (auto& [tp, next] : p) {
    arr.push_back({{"topic", tp.first}, {"partition", tp.second}, {"next", next}});
  }
  return nlohmann::json{{"offsets", std::move(arr)}}.dump();
}

result<positions> decode_marker(const std::string& v) {
  try {
    positions out;
    // The parsed document must outlive the loop: a range-for over parse(v).at(...) would
    // iterate a member of a destroyed temporary.
    auto doc = nlohmann::json::parse(v);
    for (auto& o : doc.at("offsets")) {
      out[{o.at("topic").get<std::string>(), o.at("partition").get<int32_t>()}] =
          o.at("next").get<int64_t>();
    }
    return out;
  } catch (const std::exception& e) {
    return error(errc::deserialization_failed, std::string("checkpoint marker: ") + e.what());
  }
}

}  // namespace

std::string application::changelog_topic(const std::string& application_id) {
  return application_id + "-changelog";
}

struct application::state final : client::rebalance_listener {
  struct task {
    int id = 0;
    std::optional<engine> eng;
    // The next offset per input partition that the state reflects: from the restored marker,
    // then from each checkpoint. Written with every marker, committed with every checkpoint.
    positions position;
    // Per repartition topic, the last watermark control record sent (watermark, idle).
    std::map<std::string, std::pair<timestamp_ms, bool>> sent_watermarks;
    uint64_t duplicates_logged = 0;  // repartition duplicates dropped, as last logged
    // The position in the last marker written or restored: where a restore would resume, so
    // the repartition records below it are no longer needed.
    positions marked;
  };

  topology_factory factory;
  application_config cfg;
  std::vector<std::string> source_topics;
  // One per key_by step, written and read by the tasks themselves (application.h, "Keys.").
  std::vector<std::string> repartition_topics;
  observe::registry* metrics = nullptr;
  observe::counter* checkpoints_metric = nullptr;
  observe::counter* restored_metric = nullptr;
  observe::gauge* tasks_metric = nullptr;

  std::optional<client::admin> admin;
  std::optional<client::producer> producer;
  std::optional<client::group_consumer> consumer;
  int task_partitions = 1;  // partitions of the changelog topic: the most of any source
  std::string changelog;    // its name
  bool changelog_exists = false;

  std::map<std::pair<std::string, int32_t>, int64_t> purged;  // repartition records deleted below
  std::map<int, task> tasks;                                  // running
  std::map<int, task> suspended;  // revoked at a rebalance, may come back in the next assignment
  std::optional<error> failure;   // met inside a rebalance callback
  std::atomic<bool> stopping{false};
  timestamp_ms last_checkpoint{0};
  timestamp_ms last_clock{0};
  timestamp_ms last_watermarks{0};  // control records last sent (between checkpoints)

  mutable std::mutex status_mu;
  application_status snapshot;

  void fail(error e) {
    if (!failure) failure = std::move(e);
  }

  void publish_tasks() {
    std::lock_guard lock(status_mu);
    snapshot.tasks.clear();
    for (auto& [id, t] : tasks) snapshot.tasks.push_back(id);
    if (tasks_metric) tasks_metric->set(static_cast<int64_t>(tasks.size()));
  }

  status connect() {
    auto a = client::admin::connect(cfg.client);
    if (!a) return std::move(a).error().with_context("connecting the admin client");
    admin.emplace(std::move(*a));
    std::string first;
    for (auto& t : source_topics) {
      auto info = admin->describe_topic(t);
      if (!info) return std::move(info).error().with_context("source topic '" + t + "'");
      int n = static_cast<int>(info->partitions.size());
      // Task p is partition p of every source: with other counts the range assignor would give
      // one task's partitions to two instances.
      if (!first.empty() && n != task_partitions) {
        return error(errc::invalid_topology, "source topics must be co-partitioned: '" + first +
                                                 "' has " + std::to_string(task_partitions) +
                                                 " partitions, '" + t + "' has " +
                                                 std::to_string(n));
      }
      if (first.empty()) first = t;
      task_partitions = n;
    }
    SPATE_TRY(ensure_repartition_topics());
    auto names = admin->list_topics();
    if (!names) return std::move(names).error().with_context("listing topics");
    changelog = application::changelog_topic(cfg.application_id);
    changelog_exists = std::find(names->begin(), names->end(), changelog) != names->end();
    // Gapless: without it librdkafka may deliver record n+1 of a partition after giving up on
    // record n. A downstream task would then apply n+1 and, after the restart that the failed
    // delivery causes, drop the re-sent n as already applied (its sequence number is lower).
    // With it, such a gap is a fatal producer error instead, and nothing after n is delivered.
    auto producer_client = cfg.client;
    producer_client.properties.emplace_back("enable.gapless.guarantee", "true");
    auto p = client::producer::connect(producer_client, {.acks = client::acks_mode::all,
                                                         .linger = std::chrono::milliseconds(5),
                                                         .idempotent = true});
    if (!p) return std::move(p).error().with_context("connecting the producer");
    producer.emplace(std::move(*p));
    auto subscribed = source_topics;
    subscribed.insert(subscribed.end(), repartition_topics.begin(), repartition_topics.end());
    auto c = client::group_consumer::connect(cfg.client, {.group_id = cfg.application_id,
                                                          .topics = subscribed,
                                                          .session_timeout = cfg.session_timeout,
                                                          .listener = this});
    if (!c) return std::move(c).error().with_context("joining group " + cfg.application_id);
    consumer.emplace(std::move(*c));
    return ok();
  }

  // Each repartition topic exists with the sources' partition count, so that task p reads its
  // partition p and the range assignor gives it to the member that runs task p. One with another
  // count cannot be used (its records are in partitions of another task layout): refuse.
  status ensure_repartition_topics() {
    for (auto& topic : repartition_topics) {
      auto info = admin->describe_topic(topic);
      if (!info && info.error().code == client::errc::unknown_topic) {
        // Plain delete policy: records are consumed once; the tasks purge what they committed.
        auto s = admin->create_topic({.name = topic,
                                      .partitions = task_partitions,
                                      .replication_factor = cfg.replication_factor,
                                      .configs = {{"cleanup.policy", "delete"}}});
        if (!s && s.error().code != client::errc::topic_exists) {
          return std::move(s).error().with_context("creating repartition topic " + topic);
        }
        log()->info("{}: repartition topic {} ({} partitions)", cfg.application_id, topic,
                    task_partitions);
        info = admin->describe_topic(topic);
      }
      if (!info) return std::move(info).error().with_context("repartition topic '" + topic + "'");
      int n = static_cast<int>(info->partitions.size());
      if (n != task_partitions) {
        return error(errc::invalid_topology,
                     "repartition topic '" + topic + "' has " + std::to_string(n) +
                         " partitions but the sources have " + std::to_string(task_partitions) +
                         ": it was made for another partition count; delete it (and the "
                         "application's changelog and committed offsets) to start over");
      }
    }
    return ok();
  }

  // Watermark control records: each split step's upstream watermark, to every partition of its
  // repartition topic (every downstream task takes the minimum over the upstream tasks). Sent
  // when it changed, and at each checkpoint (`force`) so that a downstream task restarted from
  // a marker hears from every upstream task again.
  status send_watermarks(task& t, bool force) {
    for (auto& sp : t.eng->splits()) {
      if (sp.watermark == min_time && !sp.idle) continue;  // what downstream assumes anyway
      auto [it, fresh] = t.sent_watermarks.try_emplace(sp.topic, min_time, false);
      if (!fresh && !force && it->second == std::pair(sp.watermark, sp.idle)) continue;
      it->second = {sp.watermark, sp.idle};
      auto header = encode_watermark_header({t.id, sp.watermark, sp.idle});
      for (int p = 0; p < task_partitions; ++p) {
        SPATE_TRY(produce(output_record{sp.topic,
                                        std::nullopt,
                                        std::nullopt,
                                        wall_now(),
                                        {client::header{std::string(watermark_header), header}},
                                        partition_id(p)}));
      }
    }
    return ok();
  }

  // A task's state and position: partition `id` of the changelog, from its start to its end
  // now. Changes count only once a checkpoint marker follows them; changes after the last
  // marker are from a checkpoint cut short by a crash (its offsets were never committed, its
  // input will be processed again), so they are left out, and their keys are written again
  // with the restored values, so that no later restore can mistake them for complete.
  status restore(task& t) {
    auto c = client::consumer::connect(cfg.client);
    if (!c) return std::move(c).error().with_context("restoring from " + changelog);
    // Asked each time, not cached: another instance may have created it since we started.
    auto parts = c->partitions(changelog);
    if (!parts && parts.error().code == client::errc::unknown_topic) return ok();  // no state yet
    if (!parts) return std::move(parts).error().with_context("restoring from " + changelog);
    changelog_exists = true;
    if (std::find(parts->begin(), parts->end(), partition_id(t.id)) == parts->end()) {
      return error(errc::invalid_argument, changelog + " has no partition " + std::to_string(t.id) +
                                               " for task " + std::to_string(t.id));
    }
    SPATE_TRY(c->assign(changelog, {partition_id(t.id)}, client::start_position::beginning()));
    std::vector<state_change> pending;
    uint64_t applied = 0;
    uint64_t markers = 0;
    while (true) {
      if (stopping.load(std::memory_order_relaxed)) {
        return error(errc::invalid_argument,
                     "stopped while restoring task " + std::to_string(t.id));
      }
      auto ev = c->poll(std::chrono::milliseconds(200));
      if (!ev && client::is_retriable(ev.error()) && !client::is_fatal(ev.error())) {
        log()->warn("{}: restoring task {}: {}", cfg.application_id, t.id, ev.error().message());
        continue;
      }
      if (!ev) return std::move(ev).error().with_context("restoring from " + changelog);
      if (!*ev) continue;
      if (std::holds_alternative<client::end_of_partition>(**ev)) break;
      auto& m = std::get<client::message>(**ev);
      if (!m.key) continue;
      if (*m.key == marker_key()) {
        if (!m.value) continue;
        auto pos = decode_marker(*m.value);
        if (!pos) return std::move(pos).error().with_context(changelog);
        t.position = std::move(*pos);
        t.marked = t.position;
        for (auto& ch : pending) SPATE_TRY(t.eng->restore(ch));
        applied += pending.size();
        pending.clear();
        ++markers;
        continue;
      }
      auto k = unframe_key(*m.key);
      if (!k) {
        return error(errc::deserialization_failed, changelog + "[" + std::to_string(t.id) + "]@" +
                                                       std::to_string(m.offset.value) +
                                                       ": not a changelog key");
      }
      pending.push_back(
          state_change{std::move(k->first), std::move(k->second), std::move(m.value)});
    }
    if (!pending.empty()) {
      log()->warn(
          "{}: task {}: {} state changes after the last checkpoint marker (a checkpoint "
          "cut short) are rolled back",
          cfg.application_id, t.id, pending.size());
      std::map<std::pair<std::string, std::string>, bool> seen;
      for (auto& ch : pending) {
        if (!seen.emplace(std::pair(ch.store, ch.key), true).second) continue;
        auto& store = t.eng->store();
        auto value = store.get(store.open(ch.store), ch.key);
        SPATE_TRY(produce(
            output_record{changelog, frame_key(ch.store, ch.key), std::move(value), wall_now(), {}},
            partition_id(t.id)));
      }
      SPATE_TRY(
          produce(output_record{changelog, marker_key(), encode_marker(t.position), wall_now(), {}},
                  partition_id(t.id)));
    }
    if (restored_metric) restored_metric->inc(applied);
    std::lock_guard lock(status_mu);
    snapshot.records_restored += applied;
    log()->info("{}: task {} restored {} state records ({} checkpoints) from {}",
                cfg.application_id, t.id, applied, markers, changelog);
    return ok();
  }

  result<task> open_task(int id, const std::vector<std::string>& topics) {
    auto topo = factory();
    if (!topo) return std::move(topo).error();
    auto tables = topo->table_topics();
    engine_config ec;
    ec.store = cfg.store_factory ? cfg.store_factory(id) : nullptr;
    ec.metrics = metrics;
    ec.application = cfg.application_id;
    // Always split: besides the key_by steps, key_by_record_key steps check each record's
    // partition against the task (detail::record_key_core).
    ec.split = split_config{cfg.application_id, id, task_partitions};
    auto eng = engine::create(std::move(*topo), std::move(ec));
    if (!eng) return std::move(eng).error();
    task t{id, std::move(*eng), {}, {}, 0, {}};
    SPATE_TRY(restore(t));
    SPATE_TRY(t.eng->start(wall_now()));
    for (auto& topic : topics) SPATE_TRY(t.eng->assign(topic, {partition_id(id)}));
    std::vector<std::string> task_tables;
    for (auto& topic : tables) {
      if (std::find(topics.begin(), topics.end(), topic) != topics.end()) {
        task_tables.push_back(topic);
      }
    }
    SPATE_TRY(bootstrap_tables(t, task_tables));
    return t;
  }

  // Reads partition p of each table topic, from where the restored state left it, to its end
  // before task p processes any stream record: a stream record must meet the table as it
  // stood when the task started, not whatever part of it the group consumer happened to fetch
  // first (the consumer fetches all of a task's partitions at once, so an order could be
  // joined before its user was loaded and dropped). Kafka Streams bootstraps global tables the
  // same way. The group consumer then resumes the table after what was read here.
  status bootstrap_tables(task& t, const std::vector<std::string>& tables) {
    if (tables.empty()) return ok();
    auto c = client::consumer::connect(cfg.client);
    if (!c) return std::move(c).error().with_context("reading tables");
    for (auto& topic : tables) {
      auto it = t.position.find({topic, t.id});
      auto from = it == t.position.end() ? client::start_position::beginning()
                                         : client::start_position::at(spate::offset(it->second));
      SPATE_TRY(c->assign(topic, {partition_id(t.id)}, from));
    }
    std::set<std::string> at_end;
    uint64_t read = 0;
    while (at_end.size() < tables.size()) {
      if (stopping.load(std::memory_order_relaxed)) {
        return error(errc::invalid_argument,
                     "stopped while reading the tables of task " + std::to_string(t.id));
      }
      auto ev = c->poll(std::chrono::milliseconds(200));
      if (!ev && client::is_retriable(ev.error()) && !client::is_fatal(ev.error())) {
        log()->warn("{}: reading the tables of task {}: {}", cfg.application_id, t.id,
                    ev.error().message());
        continue;
      }
      if (!ev) return std::move(ev).error().with_context("reading tables");
      if (!*ev) continue;
      if (auto* eof = std::get_if<client::end_of_partition>(&**ev)) {
        at_end.insert(eof->topic);
        continue;
      }
      auto& m = std::get<client::message>(**ev);
      auto pos = std::pair(m.topic, m.partition.value);
      auto next = m.offset.value + 1;
      SPATE_TRY(t.eng->process(to_input_record(std::move(m))));
      SPATE_TRY(take_outputs(t));
      t.position[pos] = next;
      ++read;
    }
    log()->info("{}: task {} read {} table records to the end of {}", cfg.application_id, t.id,
                read,
                tables.size() == 1 ? tables.front() : std::to_string(tables.size()) + " tables");
    return ok();
  }

  status produce(const output_record& r, std::optional<partition_id> p = std::nullopt) {
    auto id = producer->produce(client::outgoing_record{
        .topic = r.topic,
        .key = r.key,
        .value = r.value,
        .headers = r.headers,
        .partition = p ? p : r.partition,
        .timestamp = r.timestamp.value >= 0 ? std::optional(r.timestamp) : std::nullopt});
    if (!id) return std::move(id).error().with_context("producing to " + r.topic);
    return ok();
  }

  // Delivery reports so far: any failure means an output or a state change is lost, so the
  // application stops before it commits past it.
  status check_deliveries(std::chrono::milliseconds wait = {}) {
    for (auto& d : producer->poll(wait)) {
      if (!d.outcome) return d.outcome.error().with_context("delivering a record");
    }
    return ok();
  }

  status ensure_changelog() {
    if (changelog_exists) return ok();
    // Compacted: the latest value per key is the state. The compaction lag keeps recent
    // records (a checkpoint cut short and its rollback) from being compacted before a restore
    // has read them.
    auto s = admin->create_topic(
        {.name = changelog,
         .partitions = task_partitions,
         .replication_factor = cfg.replication_factor,
         .configs = {{"cleanup.policy", "compact"}, {"min.compaction.lag.ms", "3600000"}}});
    if (!s && s.error().code != client::errc::topic_exists) {
      return std::move(s).error().with_context("creating changelog " + changelog);
    }
    log()->info("{}: changelog topic {} ({} partitions)", cfg.application_id, changelog,
                task_partitions);
    changelog_exists = true;
    return ok();
  }

  // Outputs and state changes of `which` tasks produced and acknowledged, then their input
  // offsets committed.
  status checkpoint(std::map<int, task>& which) {
    // Partitions already given to others (our session expired): writing their changelog now
    // would interleave with the new owner's. The lost-revoke that follows drops the tasks.
    if (consumer->assignment_lost()) return ok();
    std::vector<client::partition_offset> offsets;
    std::vector<int> marked;  // tasks whose state changed: they write a marker
    for (auto& [id, t] : which) {
      auto cp = t.eng->checkpoint();
      for (auto& r : cp.outputs) SPATE_TRY(produce(r));
      SPATE_TRY(send_watermarks(t, true));
      if (auto d = t.eng->stats().repartition_duplicates; d > t.duplicates_logged) {
        log()->info(
            "{}: task {}: dropped {} repartitioned records already applied (sent again by a "
            "restarted upstream task)",
            cfg.application_id, id, d - t.duplicates_logged);
        t.duplicates_logged = d;
      }
      for (auto& o : cp.offsets) t.position[{o.topic, o.partition.value}] = o.next.value;
      if (!cp.state_changes.empty()) {
        // The changes, then (below) the marker saying which input they reflect, in one
        // partition: a restore applies changes only up to the last marker.
        SPATE_TRY(ensure_changelog());
        for (auto& c : cp.state_changes) {
          SPATE_TRY(produce(
              output_record{
                  changelog, frame_key(c.store, c.key), std::move(c.value), wall_now(), {}},
              partition_id(id)));
        }
        marked.push_back(id);
      }
      for (auto& [tp, next] : t.position) {
        offsets.push_back({tp.first, partition_id(tp.second), spate::offset(next)});
      }
    }
    // Everything the markers vouch for is acknowledged before any marker is written: outputs in
    // other partitions are not ordered with the marker, and a marker that outlived lost
    // repartition records would skip them for good (their sequence numbers count as written).
    SPATE_TRY(producer->flush(cfg.client.timeout));
    SPATE_TRY(check_deliveries());
    for (int id : marked) {
      auto& t = which.at(id);
      SPATE_TRY(
          produce(output_record{changelog, marker_key(), encode_marker(t.position), wall_now(), {}},
                  partition_id(id)));
      t.marked = t.position;
    }
    if (!marked.empty()) {
      SPATE_TRY(producer->flush(cfg.client.timeout));
      SPATE_TRY(check_deliveries());
    }
    SPATE_TRY(consumer->commit(offsets));
    purge(which);
    last_checkpoint = wall_now();
    if (checkpoints_metric) checkpoints_metric->inc();
    std::lock_guard lock(status_mu);
    ++snapshot.checkpoints;
    return ok();
  }

  // Deletes what the tasks' markers have moved past in their repartition partitions (as Kafka
  // Streams does), so the topics do not grow without bound. Below the marker, not merely the
  // committed offset: a restore resumes at the marker. A failure costs only disk, so it is
  // logged, not fatal.
  void purge(std::map<int, task>& which) {
    if (!cfg.purge_repartition_topics || repartition_topics.empty()) return;
    std::map<client::topic_partition, int64_t> before;
    for (auto& [id, t] : which) {
      for (auto& topic : repartition_topics) {
        auto it = t.marked.find({topic, id});
        if (it == t.marked.end()) continue;
        auto& done = purged[{topic, id}];
        if (it->second > done) before[{topic, id}] = it->second;
      }
    }
    if (before.empty()) return;
    if (auto s = admin->delete_records(before); !s) {
      log()->warn("{}: purging repartition topics: {}", cfg.application_id, s.error().message());
      return;
    }
    for (auto& [tp, next] : before) purged[{tp.topic, tp.partition}] = next;
  }

  std::vector<client::partition_offset> on_assigned(
      const std::vector<client::topic_partition>& parts) override {
    std::vector<client::partition_offset> starts;
    if (failure) return starts;
    std::map<int, std::vector<std::string>> by_task;
    for (auto& p : parts) by_task[p.partition].push_back(p.topic);
    for (auto& [id, topics] : by_task) {
      if (auto it = suspended.find(id); it != suspended.end()) {
        // Ours before the rebalance and again now. Under the eager protocol nobody else ran it
        // in between, unless this member missed a generation (paused past the rebalance
        // timeout): then the group's committed offsets moved past ours, and the task is
        // restored from the changelog instead.
        if (resumable(it->second)) {
          tasks.emplace(id, std::move(it->second));
          suspended.erase(it);
          continue;
        }
        suspended.erase(it);
      }
      result<task> t = error(errc::invalid_argument, "not opened");
      try {
        t = open_task(id, topics);
      } catch (const std::exception& ex) {
        t = error(errc::user_function_failed, std::string("topology factory: ") + ex.what());
      }
      if (!t) {
        fail(std::move(t).error().with_context("opening task " + std::to_string(id)));
        return starts;
      }
      // Start where the restored state left off: the committed offsets may be behind it when
      // the last owner died between writing a checkpoint and committing it.
      for (auto& [tp, next] : t->position) {
        starts.push_back({tp.first, partition_id(tp.second), spate::offset(next)});
      }
      tasks.emplace(id, std::move(*t));
    }
    suspended.clear();  // now someone else's
    publish_tasks();
    log()->info("{}: running tasks {}", cfg.application_id, describe_tasks());
    return starts;
  }

  bool resumable(const task& t) {
    std::vector<client::topic_partition> parts;
    for (auto& [tp, next] : t.position) parts.push_back({tp.first, tp.second});
    auto committed = consumer->committed(parts);
    if (!committed) {
      log()->warn("{}: task {}: {}; restoring it", cfg.application_id, t.id,
                  committed.error().message());
      return false;
    }
    for (auto& c : *committed) {
      auto it = t.position.find({c.topic, c.partition.value});
      if (it == t.position.end() || it->second != c.next.value) {
        log()->info("{}: task {} was run elsewhere since it was suspended; restoring it",
                    cfg.application_id, t.id);
        return false;
      }
    }
    return true;
  }

  void on_revoked(const std::vector<client::topic_partition>&, bool lost) override {
    if (!lost && !failure) {
      if (auto s = checkpoint(tasks); !s) fail(std::move(s).error().with_context("at rebalance"));
    }
    // Lost: another instance may already run them; the state since the last checkpoint is
    // stale, so they are not kept.
    if (!lost && !failure) suspended = std::move(tasks);
    tasks.clear();
    publish_tasks();
  }

  std::string describe_tasks() const {
    std::string s;
    for (auto& [id, t] : tasks) s += (s.empty() ? "" : ",") + std::to_string(id);
    return s.empty() ? "none" : s;
  }

  status take_outputs(task& t) {
    for (auto& r : t.eng->take_output()) SPATE_TRY(produce(r));
    return ok();
  }

  status loop() {
    last_checkpoint = wall_now();
    uint64_t processed = 0;
    while (!stopping.load(std::memory_order_relaxed)) {
      auto m = consumer->poll(std::chrono::milliseconds(50));
      if (failure) return *failure;
      if (!m) {
        if (client::is_fatal(m.error()) || !client::is_retriable(m.error())) return m.error();
        log()->warn("{}: {}", cfg.application_id, m.error().message());
      } else if (*m) {
        auto it = tasks.find((*m)->partition.value);
        if (it == tasks.end()) {
          return error(errc::invalid_argument, "a record of " + (*m)->topic + "[" +
                                                   std::to_string((*m)->partition.value) +
                                                   "] arrived for no task");
        }
        SPATE_TRY(it->second.eng->process(to_input_record(std::move(**m))));
        SPATE_TRY(take_outputs(it->second));
        ++processed;
      }
      auto now = wall_now();
      if (now.value - last_clock.value >= 50) {
        last_clock = now;
        bool watermarks_due = now.value - last_watermarks.value >= cfg.watermark_interval.count();
        if (watermarks_due) last_watermarks = now;
        for (auto& [id, t] : tasks) {
          SPATE_TRY(t.eng->advance_wall_clock(now));
          SPATE_TRY(take_outputs(t));
          if (watermarks_due) SPATE_TRY(send_watermarks(t, false));
        }
        SPATE_TRY(check_deliveries());
        std::lock_guard lock(status_mu);
        snapshot.records_processed = processed;
      }
      if (now.value - last_checkpoint.value >= cfg.commit_interval.count()) {
        SPATE_TRY(checkpoint(tasks));
      }
    }
    return ok();
  }

  status run() {
    SPATE_TRY(connect());
    auto s = loop();
    if (s) s = checkpoint(tasks);
    if (!s) {
      // Leave without committing: the next owner resumes from the last checkpoint.
      failure = s.error();
      (void)consumer->close();
      (void)producer->flush(cfg.client.timeout);
      return s;
    }
    SPATE_TRY(consumer->close());  // revokes (a last, empty checkpoint) and leaves the group
    if (failure) return *failure;
    return producer->flush(cfg.client.timeout);
  }
};

application::application(std::unique_ptr<state> s) : _s(std::move(s)) {}
application::application(application&&) noexcept = default;
application& application::operator=(application&&) noexcept = default;
application::~application() = default;

result<application> application::create(topology_factory factory, application_config config) {
  if (config.application_id.empty()) {
    return error(errc::invalid_argument, "an application needs an application_id");
  }
  if (!factory) return error(errc::invalid_argument, "an application needs a topology factory");
  auto probe = factory();
  if (!probe) return std::move(probe).error();
  auto s = std::make_unique<state>();
  s->source_topics = probe->source_topics();
  if (s->source_topics.empty()) return error(errc::invalid_topology, "the pipeline has no source");
  for (auto& step : probe->repartition_steps()) {
    auto topic = repartition_topic(config.application_id, step);
    if (std::find(s->source_topics.begin(), s->source_topics.end(), topic) !=
        s->source_topics.end()) {
      return error(
          errc::invalid_topology,
          "source topic '" + topic + "' is the repartition topic of key_by step '" + step + "'");
    }
    s->repartition_topics.push_back(std::move(topic));
  }
  if (!s->repartition_topics.empty()) {
    // Every key_by must be able to write its records (a value serde): find out now, not at the
    // first task.
    engine_config ec;
    ec.metrics = config.metrics;
    ec.application = config.application_id;
    ec.split = split_config{config.application_id, 0, 1};
    auto probe_engine = engine::create(std::move(*probe), std::move(ec));
    if (!probe_engine) return std::move(probe_engine).error();
  }
  s->factory = std::move(factory);
  s->cfg = std::move(config);
  s->metrics = s->cfg.metrics ? s->cfg.metrics : &observe::registry::global();
  observe::label_set l{{"application", s->cfg.application_id}};
  s->checkpoints_metric = &s->metrics->counter(
      "spate_stream_checkpoints_total", "Checkpoints completed (outputs, state, offsets)", l);
  s->restored_metric = &s->metrics->counter("spate_stream_restored_records_total",
                                            "State records read back from changelogs", l);
  s->tasks_metric = &s->metrics->gauge("spate_stream_tasks", "Tasks this instance runs", l);
  return application(std::move(s));
}

status application::run() {
  return _s->run();
}

void application::stop() {
  _s->stopping.store(true, std::memory_order_relaxed);
}

application_status application::status_snapshot() const {
  std::lock_guard lock(_s->status_mu);
  return _s->snapshot;
}

}  // namespace spate::stream

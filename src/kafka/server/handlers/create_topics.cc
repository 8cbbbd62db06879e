// CreateTopics: a single node holds one replica of everything, so a replication factor other
// than 1 (or -1, the default) is refused, as is an assignment naming another broker. Configs
// are validated before anything is created; validate_only stops there.
#include <set>

#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "storage/log_manager.h"

namespace spate::kafka {

asio::awaitable<create_topics_response> handle(request_context& ctx, create_topics_request& req) {
  auto& srv = ctx.srv;
  create_topics_response resp;
  std::set<std::string> seen;
  for (auto& t : req.topics) {
    auto& r = resp.topics.emplace_back();
    r.name = t.name;
    r.error_message = std::nullopt;  // null unless there is an error, as Kafka sends it
    auto fail = [&](error_code code, std::string message) {
      r.error_code = to_wire(code);
      r.error_message = std::move(message);
    };
    if (!seen.insert(t.name).second) {
      fail(error_code::invalid_request, "topic listed twice in one request");
      continue;
    }
    if (!storage::valid_topic_name(t.name)) {
      fail(error_code::invalid_topic_exception,
           "topic names are 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'");
      continue;
    }
    if (srv.topics().find(t.name)) {
      fail(error_code::topic_already_exists, "topic '" + t.name + "' already exists");
      continue;
    }
    int32_t partitions = t.num_partitions;
    if (!t.assignments.empty()) {
      bool ours = true;
      for (auto& a : t.assignments) {
        ours = ours && a.broker_ids.size() == 1 && a.broker_ids[0] == srv.config().node_id;
      }
      if (!ours || t.num_partitions != -1 || t.replication_factor != -1) {
        fail(error_code::invalid_replica_assignment,
             "this single-node broker is node " + std::to_string(srv.config().node_id) +
                 "; assignments must name only it, with num_partitions and "
                 "replication_factor -1");
        continue;
      }
      partitions = static_cast<int32_t>(t.assignments.size());
    }
    if (partitions == -1) partitions = srv.config().default_partitions;
    if (partitions <= 0) {
      fail(error_code::invalid_partitions, "number of partitions must be positive");
      continue;
    }
    if (t.replication_factor != -1 && t.replication_factor != 1) {
      fail(error_code::invalid_replication_factor,
           "replication factor " + std::to_string(t.replication_factor) +
               " is larger than the 1 broker available (Spate does not replicate; use a "
               "Kafka or Redpanda cluster for that)");
      continue;
    }
    std::map<std::string, std::string> configs;
    for (auto& c : t.configs) {
      if (c.value) configs[c.name] = *c.value;
    }
    storage::log_config check = srv.topics().defaults();
    if (auto st = storage::apply_topic_configs(configs, check); !st) {
      fail(error_code::invalid_config, st.error().message());
      continue;
    }
    if (req.validate_only) continue;
    auto created = srv.topics().create(t.name, partitions, configs);
    if (!created) {
      bool exists = created.error().code == std::errc::file_exists;
      fail(exists ? error_code::topic_already_exists : to_kafka_error(created.error()),
           created.error().message());
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

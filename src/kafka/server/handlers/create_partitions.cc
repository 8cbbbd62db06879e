// CreatePartitions: grows a topic to a new total. Partitions are never removed (Kafka's rule),
// and assignments may name only this node.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<create_partitions_response> handle(request_context& ctx,
                                                   create_partitions_request& req) {
  auto& srv = ctx.srv;
  create_partitions_response resp;
  for (auto& t : req.topics) {
    auto& r = resp.results.emplace_back();
    r.name = t.name;
    auto fail = [&](error_code code, std::string message) {
      r.error_code = to_wire(code);
      r.error_message = std::move(message);
    };
    auto topic = srv.topics().find(t.name);
    if (!topic) {
      fail(error_code::unknown_topic_or_partition, "no topic '" + t.name + "'");
      continue;
    }
    int32_t current = static_cast<int32_t>(topic->partitions.size());
    if (t.count <= current) {
      fail(error_code::invalid_partitions,
           "topic has " + std::to_string(current) + " partitions; the new count must be larger");
      continue;
    }
    if (t.assignments) {
      bool ours = static_cast<int32_t>(t.assignments->size()) == t.count - current;
      for (auto& a : *t.assignments) {
        ours = ours && a.broker_ids.size() == 1 && a.broker_ids[0] == srv.config().node_id;
      }
      if (!ours) {
        fail(error_code::invalid_replica_assignment,
             "assignments must list one entry per new partition, naming only node " +
                 std::to_string(srv.config().node_id));
        continue;
      }
    }
    if (req.validate_only) continue;
    if (auto st = srv.topics().add_partitions(t.name, t.count); !st) {
      fail(to_kafka_error(st.error()), st.error().message());
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

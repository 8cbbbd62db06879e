// Metadata: brokers (just us), and the requested topics with their partitions. Creates
// unknown topics when the broker allows it and the request does (v4+ flag; below v4 the
// broker setting alone decides), as Kafka does.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"
#include "storage/log_manager.h"

namespace spate::kafka {
namespace {

metadata_response::topic describe_topic(const topic_state& t, int32_t node) {
  metadata_response::topic out;
  out.name = t.name;
  out.is_internal = t.name.rfind("__", 0) == 0;
  for (size_t p = 0; p < t.partitions.size(); ++p) {
    metadata_response::partition mp;
    mp.partition_index = static_cast<int32_t>(p);
    mp.leader_id = node;
    mp.leader_epoch = 0;
    mp.replica_nodes = {node};
    mp.isr_nodes = {node};
    out.partitions.push_back(std::move(mp));
  }
  return out;
}

}  // namespace

asio::awaitable<metadata_response> handle(request_context& ctx, metadata_request& req) {
  auto& srv = ctx.srv;
  const auto& cfg = srv.config();
  metadata_response resp;
  resp.brokers.push_back({cfg.node_id, cfg.advertised_host, cfg.advertised_port, std::nullopt});
  resp.cluster_id = cfg.cluster_id;
  resp.controller_id = cfg.node_id;

  // v0: an empty list means every topic; v1+: null means every topic.
  bool all = !req.topics || (ctx.header.version == 0 && req.topics->empty());
  if (all) {
    for (auto& t : srv.topics().all()) resp.topics.push_back(describe_topic(*t, cfg.node_id));
    co_return resp;
  }
  bool may_create =
      cfg.auto_create_topics && (ctx.header.version < 4 || req.allow_auto_topic_creation);
  for (auto& requested : *req.topics) {
    auto t = srv.topics().find(requested.name);
    if (!t && may_create && storage::valid_topic_name(requested.name)) {
      auto created = srv.topics().create(requested.name, cfg.default_partitions, {});
      // Another connection may have created it meanwhile: take that one.
      t = created ? *created : srv.topics().find(requested.name);
    }
    if (!t) {
      metadata_response::topic missing;
      missing.name = requested.name;
      missing.error_code =
          to_wire(storage::valid_topic_name(requested.name) ? error_code::unknown_topic_or_partition
                                                            : error_code::invalid_topic_exception);
      resp.topics.push_back(std::move(missing));
      continue;
    }
    resp.topics.push_back(describe_topic(*t, cfg.node_id));
  }
  co_return resp;
}

}  // namespace spate::kafka

// DescribeConfigs: a topic's effective log settings under Kafka's config names, each marked
// as a topic override (source 1, DYNAMIC_TOPIC_CONFIG) or a broker default (source 5,
// DEFAULT_CONFIG); the broker resource lists the defaults.
#include <algorithm>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {
namespace {

constexpr int8_t resource_topic = 2;
constexpr int8_t resource_broker = 4;
constexpr int8_t source_topic = 1;
constexpr int8_t source_default = 5;

}  // namespace

asio::awaitable<describe_configs_response> handle(request_context& ctx,
                                                  describe_configs_request& req) {
  auto& srv = ctx.srv;
  describe_configs_response resp;
  for (auto& res : req.resources) {
    auto& r = resp.results.emplace_back();
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    std::shared_ptr<topic_state> topic;
    if (res.resource_type == resource_topic) {
      topic = srv.topics().find(res.resource_name);
      if (!topic) {
        r.error_code = to_wire(error_code::unknown_topic_or_partition);
        r.error_message = "no topic '" + res.resource_name + "'";
        continue;
      }
    } else if (res.resource_type != resource_broker) {
      r.error_code = to_wire(error_code::invalid_request);
      r.error_message = "only TOPIC (2) and BROKER (4) resources are supported";
      continue;
    }
    const auto& config = topic ? topic->config : srv.topics().defaults();
    for (auto& [name, value] : storage::describe_log_config(config)) {
      if (res.configuration_keys &&
          std::find(res.configuration_keys->begin(), res.configuration_keys->end(), name) ==
              res.configuration_keys->end()) {
        continue;
      }
      auto& c = r.configs.emplace_back();
      c.name = name;
      c.value = value;
      bool overridden = topic && topic->overrides.count(name);
      c.is_default = !overridden;
      c.config_source = overridden ? source_topic : source_default;
      c.read_only = !topic;  // broker defaults are set at start-up
      if (req.include_synonyms) c.synonyms.push_back({name, value, c.config_source});
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

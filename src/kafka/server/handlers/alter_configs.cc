// AlterConfigs (the non-incremental form): the given set replaces the topic's overrides, as
// in Kafka. The new settings are validated as a whole, stored in the catalog, then applied to
// every partition's log on its owner core.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<alter_configs_response> handle(request_context& ctx, alter_configs_request& req) {
  auto& srv = ctx.srv;
  alter_configs_response resp;
  for (auto& res : req.resources) {
    auto& r = resp.responses.emplace_back();
    r.resource_type = res.resource_type;
    r.resource_name = res.resource_name;
    auto fail = [&](error_code code, std::string message) {
      r.error_code = to_wire(code);
      r.error_message = std::move(message);
    };
    if (res.resource_type != 2) {
      fail(error_code::invalid_request,
           "only topic configs can be altered; broker settings are given at start-up");
      continue;
    }
    auto topic = srv.topics().find(res.resource_name);
    if (!topic) {
      fail(error_code::unknown_topic_or_partition, "no topic '" + res.resource_name + "'");
      continue;
    }
    std::map<std::string, std::string> configs;
    for (auto& c : res.configs) {
      if (c.value) configs[c.name] = *c.value;
    }
    storage::log_config check = srv.topics().defaults();
    if (auto st = storage::apply_topic_configs(configs, check); !st) {
      fail(error_code::invalid_config, st.error().message());
      continue;
    }
    if (req.validate_only) continue;
    if (auto st = srv.topics().set_configs(res.resource_name, configs); !st) {
      fail(to_kafka_error(st.error()), st.error().message());
      continue;
    }
    for (auto& p : topic->partitions) {
      auto st = co_await srv.cores().run_on(p->owner, [&] { return p->log->set_config(check); });
      if (!st) fail(to_kafka_error(st.error()), st.error().message());
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

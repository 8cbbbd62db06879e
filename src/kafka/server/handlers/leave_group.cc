// LeaveGroup: v0-2 name one member; v3+ a batch of members (by id or group.instance.id).
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<leave_group_response> handle(request_context& ctx, leave_group_request& req) {
  auto& groups = ctx.srv.groups();
  std::vector<coordinator::member_identity> who;
  if (ctx.header.version < 3) {
    who.push_back({req.member_id, std::nullopt});
  } else {
    for (auto& m : req.members) who.push_back({m.member_id, m.group_instance_id});
  }
  auto results = co_await ctx.srv.cores().run_on(groups.core(), [&] {
    return groups.coordinator().leave(req.group_id, who, mono_clock::now());
  });
  leave_group_response resp;
  if (ctx.header.version < 3) {
    resp.error_code = to_wire(to_kafka_error(results.at(0)));
  } else {
    for (size_t i = 0; i < who.size(); ++i) {
      resp.members.push_back(
          {who[i].member_id, who[i].group_instance_id, to_wire(to_kafka_error(results[i]))});
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

// Heartbeat: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it to rejoin.
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<heartbeat_response> handle(request_context& ctx, heartbeat_request& req) {
  auto& groups = ctx.srv.groups();
  auto e = co_await ctx.srv.cores().run_on(groups.core(), [&] {
    return groups.coordinator().heartbeat(req.group_id, req.member_id, req.generation_id,
                                          req.group_instance_id, mono_clock::now());
  });
  heartbeat_response resp;
  resp.error_code = to_wire(to_kafka_error(e));
  co_return resp;
}

}  // namespace spate::kafka

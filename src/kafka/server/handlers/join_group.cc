// JoinGroup: handed to the coordinator on its core; the answer may come at once (an error, a
// MEMBER_ID_REQUIRED, a member rejoining with unchanged metadata) or when the join phase
// completes, up to the rebalance timeout later. MEMBER_ID_REQUIRED only from v4 on: older
// clients cannot handle it (kafka-compat.md §10.3).
#include "kafka/server/async_result.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<join_group_response> handle(request_context& ctx, join_group_request& req) {
  auto& groups = ctx.srv.groups();
  coordinator::join_request jr;
  jr.group_id = req.group_id;
  jr.member_id = req.member_id;
  jr.group_instance_id = req.group_instance_id;
  jr.client_id = ctx.header.client_id.value_or("");
  jr.client_host = "/127.0.0.1";
  jr.session_timeout_ms = req.session_timeout_ms;
  jr.rebalance_timeout_ms = req.rebalance_timeout_ms;
  jr.protocol_type = req.protocol_type;
  for (auto& p : req.protocols) jr.protocols.push_back({p.name, std::move(p.metadata.data)});
  jr.require_known_member_id = ctx.header.version >= 4;

  auto answer = std::make_shared<async_result<coordinator::join_result>>(ctx.executor);
  co_await ctx.srv.cores().run_on(groups.core(), [&] {
    groups.coordinator().join(std::move(jr), mono_clock::now(),
                              [answer](coordinator::join_result r) { answer->set(std::move(r)); });
    groups.join_deadline_may_have_moved();
  });
  auto r = co_await answer->wait(asio::steady_timer::time_point::max());
  join_group_response resp;
  resp.error_code = to_wire(to_kafka_error(r->error));
  resp.generation_id = r->generation_id;
  resp.protocol_name = r->protocol_name;
  resp.leader = r->leader;
  resp.member_id = r->member_id;
  for (auto& m : r->members) {
    resp.members.push_back({m.member_id, m.group_instance_id, {std::move(m.metadata)}});
  }
  co_return resp;
}

}  // namespace spate::kafka

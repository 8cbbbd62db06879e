// SyncGroup: the leader's assignments are stored and handed out; a follower that arrives
// first waits (on the coordinator) until the leader's SyncGroup.
#include "kafka/server/async_result.h"
#include "kafka/server/errors.h"
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<sync_group_response> handle(request_context& ctx, sync_group_request& req) {
  auto& groups = ctx.srv.groups();
  coordinator::sync_request sr;
  sr.group_id = req.group_id;
  sr.member_id = req.member_id;
  sr.generation_id = req.generation_id;
  sr.group_instance_id = req.group_instance_id;
  for (auto& a : req.assignments)
    sr.assignments.emplace_back(a.member_id, std::move(a.assignment.data));
  auto answer = std::make_shared<async_result<coordinator::sync_result>>(ctx.executor);
  co_await ctx.srv.cores().run_on(groups.core(), [&] {
    groups.coordinator().sync(std::move(sr), mono_clock::now(),
                              [answer](coordinator::sync_result r) { answer->set(std::move(r)); });
  });
  auto r = co_await answer->wait(asio::steady_timer::time_point::max());
  sync_group_response resp;
  resp.error_code = to_wire(to_kafka_error(r->error));
  resp.assignment.data = std::move(r->assignment);
  co_return resp;
}

}  // namespace spate::kafka

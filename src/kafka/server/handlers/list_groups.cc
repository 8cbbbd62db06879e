// ListGroups: every group the coordinator knows, with its protocol type.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {

asio::awaitable<list_groups_response> handle(request_context& ctx, list_groups_request&) {
  auto& groups = ctx.srv.groups();
  auto listed = co_await ctx.srv.cores().run_on(groups.core(),
                                                [&] { return groups.coordinator().list_groups(); });
  list_groups_response resp;
  for (auto& [id, type] : listed) resp.groups.push_back({id, type});
  co_return resp;
}

}  // namespace spate::kafka

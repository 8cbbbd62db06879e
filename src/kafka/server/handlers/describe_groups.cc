// DescribeGroups: state, protocol and members (with metadata and assignment once Stable); an
// unknown group is described as Dead with no members, as Kafka does. v4 adds each member's
// group.instance.id; v3's authorized operations are answered only when asked for.
#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {
namespace {

// Kafka's AclOperation codes: READ 3, DELETE 6, DESCRIBE 8, the operations a group has.
// Spate has no ACLs, so every client may do all of them.
constexpr int32_t all_group_operations = (1 << 3) | (1 << 6) | (1 << 8);

}  // namespace

asio::awaitable<describe_groups_response> handle(request_context& ctx,
                                                 describe_groups_request& req) {
  auto& groups = ctx.srv.groups();
  describe_groups_response resp;
  for (auto& id : req.groups) {
    auto d = co_await ctx.srv.cores().run_on(groups.core(),
                                             [&] { return groups.coordinator().describe(id); });
    auto& g = resp.groups.emplace_back();
    g.group_id = id;
    g.group_state = coordinator::to_string(d.state);
    g.protocol_type = d.protocol_type;
    g.protocol_data = d.protocol;
    if (req.include_authorized_operations) g.authorized_operations = all_group_operations;
    bool stable = d.state == coordinator::group_state::stable;
    for (auto& m : d.members) {
      auto& dm = g.members.emplace_back();
      dm.member_id = m.member_id;
      dm.group_instance_id = m.group_instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      if (stable) {
        dm.member_metadata.data = m.metadata;
        dm.member_assignment.data = m.assignment;
      }
    }
  }
  co_return resp;
}

}  // namespace spate::kafka

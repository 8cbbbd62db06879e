// ListGroups: every group the coordinator knows, with its protocol type and (v4+) its state,
// keeping only the states asked for when the request has a states filter.
#include <algorithm>
#include <cctype>

#include "kafka/server/handlers/handlers.h"
#include "kafka/server/server.h"

namespace spate::kafka {
namespace {

// Kafka matches state names without regard to case ("stable" finds Stable groups); a name
// that is no state simply matches nothing.
bool same_name(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

asio::awaitable<list_groups_response> handle(request_context& ctx, list_groups_request& req) {
  auto& groups = ctx.srv.groups();
  auto listed = co_await ctx.srv.cores().run_on(groups.core(),
                                                [&] { return groups.coordinator().list_groups(); });
  list_groups_response resp;
  for (auto& g : listed) {
    std::string_view state = coordinator::to_string(g.state);
    if (!req.states_filter.empty() &&
        std::none_of(req.states_filter.begin(), req.states_filter.end(),
                     [&](const std::string& s) { return same_name(s, state); })) {
      continue;
    }
    resp.groups.push_back({g.group_id, g.protocol_type, std::string(state)});
  }
  co_return resp;
}

}  // namespace spate::kafka

// One handler per API, each in its own file in this folder. A handler takes the decoded
// request and returns the response; it runs on the connection's core and hops to partition
// owners through core_set::run_on.
//
// Dispatch and the ApiVersions table are derived from kafka/protocol's api_list, keeping the
// APIs that have a handler declared here: an API is advertised exactly when it is served.
#pragma once

#include <asio/awaitable.hpp>
#include <vector>

#include "kafka/protocol/error_code.h"
#include "kafka/protocol/registry.h"
#include "kafka/server/request_context.h"

namespace spate::kafka {

asio::awaitable<api_versions_response> handle(request_context& ctx, api_versions_request& req);
asio::awaitable<metadata_response> handle(request_context& ctx, metadata_request& req);
asio::awaitable<produce_response> handle(request_context& ctx, produce_request& req);
asio::awaitable<fetch_response> handle(request_context& ctx, fetch_request& req);
asio::awaitable<list_offsets_response> handle(request_context& ctx, list_offsets_request& req);
asio::awaitable<create_topics_response> handle(request_context& ctx, create_topics_request& req);
asio::awaitable<delete_topics_response> handle(request_context& ctx, delete_topics_request& req);
asio::awaitable<create_partitions_response> handle(request_context& ctx,
                                                   create_partitions_request& req);
asio::awaitable<describe_configs_response> handle(request_context& ctx,
                                                  describe_configs_request& req);
asio::awaitable<alter_configs_response> handle(request_context& ctx, alter_configs_request& req);
asio::awaitable<delete_records_response> handle(request_context& ctx, delete_records_request& req);
asio::awaitable<init_producer_id_response> handle(request_context& ctx,
                                                  init_producer_id_request& req);

asio::awaitable<find_coordinator_response> handle(request_context& ctx,
                                                  find_coordinator_request& req);
asio::awaitable<join_group_response> handle(request_context& ctx, join_group_request& req);
asio::awaitable<sync_group_response> handle(request_context& ctx, sync_group_request& req);
asio::awaitable<heartbeat_response> handle(request_context& ctx, heartbeat_request& req);
asio::awaitable<leave_group_response> handle(request_context& ctx, leave_group_request& req);
asio::awaitable<offset_commit_response> handle(request_context& ctx, offset_commit_request& req);
asio::awaitable<offset_fetch_response> handle(request_context& ctx, offset_fetch_request& req);
asio::awaitable<list_groups_response> handle(request_context& ctx, list_groups_request& req);
asio::awaitable<describe_groups_response> handle(request_context& ctx,
                                                 describe_groups_request& req);
asio::awaitable<delete_groups_response> handle(request_context& ctx, delete_groups_request& req);
asio::awaitable<offset_delete_response> handle(request_context& ctx, offset_delete_request& req);

template <class A>
concept handled = requires(request_context& c, typename A::request& r) {
  handle(c, r);
};

// Every handled API with its advertised version range, in key order.
std::vector<api_versions_response::api_version> advertised_api_versions();

}  // namespace spate::kafka

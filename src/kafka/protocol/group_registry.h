// The group, offset and producer-id APIs (kafka-compat.md §4.3-§4.5, §10, §11) as a list of
// their own, for tests and fuzzing that cover just them. They are also in `api_list`
// (registry.h), the one list dispatch and ApiVersions derive from.
//
//   for_each_api([&]<class A>() { ... }, group_api_list{});
#pragma once

#include "kafka/protocol/apis/delete_groups.h"
#include "kafka/protocol/apis/describe_groups.h"
#include "kafka/protocol/apis/find_coordinator.h"
#include "kafka/protocol/apis/heartbeat.h"
#include "kafka/protocol/apis/init_producer_id.h"
#include "kafka/protocol/apis/join_group.h"
#include "kafka/protocol/apis/leave_group.h"
#include "kafka/protocol/apis/list_groups.h"
#include "kafka/protocol/apis/offset_commit.h"
#include "kafka/protocol/apis/offset_delete.h"
#include "kafka/protocol/apis/offset_fetch.h"
#include "kafka/protocol/apis/sync_group.h"
#include "kafka/protocol/registry.h"

namespace spate::kafka {

using group_api_list =
    api_list_t<offset_commit_api, offset_fetch_api, find_coordinator_api, join_group_api,
               heartbeat_api, leave_group_api, sync_group_api, describe_groups_api, list_groups_api,
               init_producer_id_api, delete_groups_api, offset_delete_api>;

}  // namespace spate::kafka

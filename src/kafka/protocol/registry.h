// The one list of APIs this broker speaks. Dispatch (kafka/server), the ApiVersions table and
// per-API metric labels are all derived from it: adding an API is adding its description to
// this list and its handler file to kafka/server/handlers/.
#pragma once

#include <algorithm>
#include <vector>

#include "kafka/protocol/apis/alter_configs.h"
#include "kafka/protocol/apis/api_versions.h"
#include "kafka/protocol/apis/create_partitions.h"
#include "kafka/protocol/apis/create_topics.h"
#include "kafka/protocol/apis/delete_groups.h"
#include "kafka/protocol/apis/delete_records.h"
#include "kafka/protocol/apis/delete_topics.h"
#include "kafka/protocol/apis/describe_configs.h"
#include "kafka/protocol/apis/describe_groups.h"
#include "kafka/protocol/apis/fetch.h"
#include "kafka/protocol/apis/find_coordinator.h"
#include "kafka/protocol/apis/heartbeat.h"
#include "kafka/protocol/apis/init_producer_id.h"
#include "kafka/protocol/apis/join_group.h"
#include "kafka/protocol/apis/leave_group.h"
#include "kafka/protocol/apis/list_groups.h"
#include "kafka/protocol/apis/list_offsets.h"
#include "kafka/protocol/apis/metadata.h"
#include "kafka/protocol/apis/offset_commit.h"
#include "kafka/protocol/apis/offset_delete.h"
#include "kafka/protocol/apis/offset_fetch.h"
#include "kafka/protocol/apis/produce.h"
#include "kafka/protocol/apis/sync_group.h"

namespace spate::kafka {

template <class... A>
struct api_list_t {};

// Described APIs. kafka/server serves (and so advertises) those it has a handler for.
using api_list =
    api_list_t<produce_api, fetch_api, list_offsets_api, metadata_api, offset_commit_api,
               offset_fetch_api, find_coordinator_api, join_group_api, heartbeat_api,
               leave_group_api, sync_group_api, describe_groups_api, list_groups_api,
               api_versions_api, create_topics_api, delete_topics_api, delete_records_api,
               init_producer_id_api, describe_configs_api, alter_configs_api, create_partitions_api,
               delete_groups_api, offset_delete_api>;

// Calls f.template operator()<A>() for every API in the list.
template <class F, class... A>
void for_each_api(F&& f, api_list_t<A...>) {
  (f.template operator()<A>(), ...);
}
template <class F>
void for_each_api(F&& f) {
  for_each_api(std::forward<F>(f), api_list{});
}

// The ApiVersions table: every API with its advertised range, in key order.
inline std::vector<api_versions_response::api_version> supported_api_versions() {
  std::vector<api_versions_response::api_version> out;
  for_each_api([&]<class A>() {
    out.push_back({static_cast<int16_t>(A::key), A::min_version, A::max_version});
  });
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.api_key < b.api_key; });
  return out;
}

// The name of an API key ("Produce"), or nullptr if we do not speak it.
inline const char* api_name(api_key key) {
  const char* name = nullptr;
  for_each_api([&]<class A>() {
    if (A::key == key) name = A::name;
  });
  return name;
}

}  // namespace spate::kafka

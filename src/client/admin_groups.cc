// The consumer-group half of `admin` (groups.h): librdkafka's group Admin API
// (ListConsumerGroups, DescribeConsumerGroups, ListConsumerGroupOffsets,
// AlterConsumerGroupOffsets, DeleteGroups) and ListOffsets for watermarks and times.
#include <algorithm>
#include <set>

#include "client/admin.h"
#include "client/detail/admin_request.h"
#include "client/detail/handle.h"
#include "client/errc.h"

namespace spate::client {
namespace {

using namespace detail;

using list_groups_offsets_ptr =
    std::unique_ptr<rd_kafka_ListConsumerGroupOffsets_t,
                    destroyer<rd_kafka_ListConsumerGroupOffsets_destroy>>;
using alter_groups_offsets_ptr =
    std::unique_ptr<rd_kafka_AlterConsumerGroupOffsets_t,
                    destroyer<rd_kafka_AlterConsumerGroupOffsets_destroy>>;
using delete_group_ptr =
    std::unique_ptr<rd_kafka_DeleteGroup_t, destroyer<rd_kafka_DeleteGroup_destroy>>;

std::string state_name(rd_kafka_consumer_group_state_t s) {
  switch (s) {
    case RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE:
      return "PreparingRebalance";
    case RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE:
      return "CompletingRebalance";
    case RD_KAFKA_CONSUMER_GROUP_STATE_STABLE:
      return "Stable";
    case RD_KAFKA_CONSUMER_GROUP_STATE_DEAD:
      return "Dead";
    case RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY:
      return "Empty";
    default:
      return "Unknown";
  }
}

// A group-level error of an answered request, with the codes callers act on made our own.
spate::error group_error(handle& h, rd_kafka_resp_err_t err, const std::string& context,
                         const char* text) {
  if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
    return spate::error(errc::unknown_group, context);
  }
  if (err == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP || err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID ||
      err == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
      err == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS) {
    // A commit from outside the group (generation -1) is refused with one of these while the
    // group has members.
    return spate::error(errc::group_not_empty, context);
  }
  return h.failure(err, context, text);
}

status group_result_status(handle& h, const rd_kafka_group_result_t* r,
                           const std::string& context) {
  if (auto* e = rd_kafka_group_result_error(r)) {
    return group_error(h, rd_kafka_error_code(e), context, rd_kafka_error_string(e));
  }
  if (auto* parts = rd_kafka_group_result_partitions(r)) {
    for (int i = 0; i < parts->cnt; ++i) {
      auto& p = parts->elems[i];
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return group_error(
            h, p.err, context + " (" + p.topic + " partition " + std::to_string(p.partition) + ")",
            nullptr);
      }
    }
  }
  return ok();
}

}  // namespace

result<std::vector<group_listing>> admin::list_groups() {
  std::string context = "list consumer groups";
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, context,
                      [&](auto* opts, auto* q) { rd_kafka_ListConsumerGroups(_h->rk(), opts, q); });
  if (!ev) return std::move(ev).error();
  auto* res = rd_kafka_event_ListConsumerGroups_result(ev->get());
  size_t n_err = 0;
  auto** errors = rd_kafka_ListConsumerGroups_result_errors(res, &n_err);
  if (n_err > 0) {
    // One per broker that failed to answer; on a single node that is the whole answer.
    return group_error(*_h, rd_kafka_error_code(errors[0]), context,
                       rd_kafka_error_string(errors[0]));
  }
  size_t n = 0;
  auto** valid = rd_kafka_ListConsumerGroups_result_valid(res, &n);
  std::vector<group_listing> out;
  for (size_t i = 0; i < n; ++i) {
    group_listing g;
    g.group_id = rd_kafka_ConsumerGroupListing_group_id(valid[i]);
    g.state = state_name(rd_kafka_ConsumerGroupListing_state(valid[i]));
    g.is_simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(valid[i]) != 0;
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.group_id < b.group_id; });
  return out;
}

result<group_info> admin::describe_group(const std::string& group) {
  std::string context = "describe group '" + group + "'";
  auto ev =
      run_admin(*_h, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, context, [&](auto* opts, auto* q) {
        const char* groups[] = {group.c_str()};
        rd_kafka_DescribeConsumerGroups(_h->rk(), groups, 1, opts, q);
      });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto** res = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(ev->get()), &n);
  if (n != 1) return spate::error(errc::unknown_group, context + ": no answer for the group");
  auto* d = res[0];
  if (auto* e = rd_kafka_ConsumerGroupDescription_error(d)) {
    return group_error(*_h, rd_kafka_error_code(e), context, rd_kafka_error_string(e));
  }
  group_info g;
  g.group_id = rd_kafka_ConsumerGroupDescription_group_id(d);
  g.state = state_name(rd_kafka_ConsumerGroupDescription_state(d));
  if (auto* a = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) g.assignor = a;
  g.is_simple = rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) != 0;
  if (auto* node = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
    g.coordinator = rd_kafka_Node_id(node);
  }
  size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
  for (size_t i = 0; i < members; ++i) {
    auto* m = rd_kafka_ConsumerGroupDescription_member(d, i);
    group_member gm;
    gm.member_id = rd_kafka_MemberDescription_consumer_id(m);
    if (auto* inst = rd_kafka_MemberDescription_group_instance_id(m); inst && *inst) {
      gm.group_instance_id = inst;
    }
    gm.client_id = rd_kafka_MemberDescription_client_id(m);
    gm.host = rd_kafka_MemberDescription_host(m);
    if (auto* a = rd_kafka_MemberDescription_assignment(m)) {
      if (auto* parts = rd_kafka_MemberAssignment_partitions(a)) {
        for (int j = 0; j < parts->cnt; ++j) {
          gm.assignment.push_back({parts->elems[j].topic, parts->elems[j].partition});
        }
      }
    }
    std::sort(gm.assignment.begin(), gm.assignment.end());
    g.members.push_back(std::move(gm));
  }
  // Kafka answers an unknown group as Dead with no members (and no error).
  if (g.state == "Dead" && g.members.empty()) {
    return spate::error(errc::unknown_group, "group '" + group + "' does not exist");
  }
  return g;
}

result<std::map<topic_partition, int64_t>> admin::committed_offsets(const std::string& group) {
  std::string context = "committed offsets of group '" + group + "'";
  // nullptr partitions: every partition the group has committed for (OffsetFetch v2+).
  list_groups_offsets_ptr req(rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), nullptr));
  auto ev =
      run_admin(*_h, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, context, [&](auto* opts, auto* q) {
        rd_kafka_ListConsumerGroupOffsets_t* list[] = {req.get()};
        rd_kafka_ListConsumerGroupOffsets(_h->rk(), list, 1, opts, q);
      });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto** res = rd_kafka_ListConsumerGroupOffsets_result_groups(
      rd_kafka_event_ListConsumerGroupOffsets_result(ev->get()), &n);
  std::map<topic_partition, int64_t> out;
  for (size_t i = 0; i < n; ++i) {
    SPATE_TRY(group_result_status(*_h, res[i], context));
    auto* parts = rd_kafka_group_result_partitions(res[i]);
    if (!parts) continue;
    for (int j = 0; j < parts->cnt; ++j) {
      auto& p = parts->elems[j];
      if (p.offset >= 0) out[{p.topic, p.partition}] = p.offset;
    }
  }
  return out;
}

status admin::alter_offsets(const std::string& group,
                            const std::map<topic_partition, int64_t>& offsets) {
  std::string context = "commit offsets for group '" + group + "'";
  if (offsets.empty()) return ok();
  auto list = offset_list(offsets, context);
  if (!list) return std::move(list).error();
  alter_groups_offsets_ptr req(rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list->get()));
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, context,
                      [&](auto* opts, auto* q) {
                        rd_kafka_AlterConsumerGroupOffsets_t* reqs[] = {req.get()};
                        rd_kafka_AlterConsumerGroupOffsets(_h->rk(), reqs, 1, opts, q);
                      });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto** res = rd_kafka_AlterConsumerGroupOffsets_result_groups(
      rd_kafka_event_AlterConsumerGroupOffsets_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) SPATE_TRY(group_result_status(*_h, res[i], context));
  return ok();
}

status admin::delete_group(const std::string& group) {
  std::string context = "delete group '" + group + "'";
  delete_group_ptr dg(rd_kafka_DeleteGroup_new(group.c_str()));
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_DELETEGROUPS, context, [&](auto* opts, auto* q) {
    rd_kafka_DeleteGroup_t* list[] = {dg.get()};
    rd_kafka_DeleteGroups(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto** res =
      rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) SPATE_TRY(group_result_status(*_h, res[i], context));
  return ok();
}

result<std::pair<int64_t, int64_t>> admin::watermarks(const topic_partition& tp) {
  int64_t low = -1;
  int64_t high = -1;
  auto err = rd_kafka_query_watermark_offsets(_h->rk(), tp.topic.c_str(), tp.partition, &low, &high,
                                              _h->timeout_ms());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return spate::error(
          errc::unknown_topic,
          "topic '" + tp.topic + "' partition " + std::to_string(tp.partition) + " does not exist");
    }
    return _h->failure(
        err, "log end offset of '" + tp.topic + "' partition " + std::to_string(tp.partition));
  }
  _h->mark_reached();
  return std::pair{low, high};
}

result<std::map<topic_partition, int64_t>> admin::offsets_for_time(
    const std::vector<topic_partition>& partitions, int64_t time_ms) {
  std::string context = "offsets at time " + std::to_string(time_ms);
  partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = time_ms;
  }
  auto err = rd_kafka_offsets_for_times(_h->rk(), list.get(), _h->timeout_ms());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return _h->failure(err, context);
  std::map<topic_partition, int64_t> out;
  for (auto& tp : partitions) {
    auto* e = rd_kafka_topic_partition_list_find(list.get(), tp.topic.c_str(), tp.partition);
    if (!e) return spate::error(errc::invalid_argument, context + ": partition missing in answer");
    if (e->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return _h->failure(
          e->err, context + " for '" + tp.topic + "' partition " + std::to_string(tp.partition));
    }
    if (e->offset >= 0) {
      out[tp] = e->offset;
    } else {
      // No record at or after the time: the position is the end, where the next record goes.
      auto wm = watermarks(tp);
      if (!wm) return std::move(wm).error();
      out[tp] = wm->second;
    }
  }
  return out;
}

result<std::map<topic_partition, int64_t>> first_record_timestamps(
    const client_config& config, const std::map<topic_partition, int64_t>& positions) {
  std::map<topic_partition, int64_t> out;
  if (positions.empty()) return out;
  setting_list list = {
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "error"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"allow.auto.create.topics", "false"},
      // One record per partition is all that is wanted.
      {"fetch.max.bytes", "1048576"},
      {"max.partition.fetch.bytes", "65536"},
      {"queued.min.messages", "1"},
      {"fetch.wait.max.ms", "100"},
  };
  auto h = handle::open(RD_KAFKA_CONSUMER, config, list);
  if (!h) return std::move(h).error();
  queue_ptr queue(rd_kafka_queue_new((*h)->rk()));
  std::map<std::string, topic_ptr> topics;
  std::vector<std::pair<rd_kafka_topic_t*, int32_t>> started;
  auto stop_all = [&] {
    for (auto& [t, p] : started) rd_kafka_consume_stop(t, p);
  };
  for (auto& [tp, off] : positions) {
    auto& t = topics[tp.topic];
    if (!t) t.reset(rd_kafka_topic_new((*h)->rk(), tp.topic.c_str(), nullptr));
    if (!t) {
      stop_all();
      return (*h)->failure(rd_kafka_last_error(), "opening topic '" + tp.topic + "'");
    }
    if (rd_kafka_consume_start_queue(t.get(), tp.partition, off, queue.get()) == -1) {
      auto err = rd_kafka_last_error();
      stop_all();
      return (*h)->failure(err,
                           "reading '" + tp.topic + "' partition " + std::to_string(tp.partition));
    }
    started.emplace_back(t.get(), tp.partition);
  }
  std::set<topic_partition> pending;
  for (auto& [tp, off] : positions) pending.insert(tp);
  auto deadline = std::chrono::steady_clock::now() + config.timeout;
  std::optional<spate::error> failed;
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    message_ptr m(rd_kafka_consume_queue(queue.get(), 100));
    if (!m) continue;
    if (!m->rkt) continue;
    topic_partition tp{rd_kafka_topic_name(m->rkt), m->partition};
    if (!pending.count(tp)) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      pending.erase(tp);  // nothing at or after the position: no timestamp
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      failed = (*h)->failure(m->err,
                             "reading '" + tp.topic + "' partition " + std::to_string(tp.partition),
                             rd_kafka_message_errstr(m.get()));
      break;
    }
    out[tp] = rd_kafka_message_timestamp(m.get(), nullptr);
    pending.erase(tp);
  }
  stop_all();
  if (failed) return std::move(*failed);
  if (!pending.empty()) {
    auto& tp = *pending.begin();
    return spate::error(errc::timed_out, "reading the record at the committed offset of '" +
                                             tp.topic + "' partition " +
                                             std::to_string(tp.partition));
  }
  return out;
}

}  // namespace spate::client

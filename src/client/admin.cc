#include "client/admin.h"

#include <algorithm>
#include <set>

#include "client/detail/admin_request.h"
#include "client/detail/handle.h"
#include "client/errc.h"

namespace spate::client {
namespace {

using namespace detail;

// A per-topic or per-resource error of an answered request.
spate::error item_error(handle& h, rd_kafka_resp_err_t err, const std::string& context,
                        const char* text) {
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    return spate::error(errc::unknown_topic, context);
  }
  if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return spate::error(errc::topic_exists, context);
  }
  return h.failure(err, context, text);
}

status topic_results(handle& h, const rd_kafka_topic_result_t** results, size_t n,
                     const std::string& context) {
  for (size_t i = 0; i < n; ++i) {
    auto err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return item_error(h, err, context, rd_kafka_topic_result_error_string(results[i]));
    }
  }
  return ok();
}

status resource_error(handle& h, const rd_kafka_ConfigResource_t* res, const std::string& context) {
  auto err = rd_kafka_ConfigResource_error(res);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return ok();
  return item_error(h, err, context, rd_kafka_ConfigResource_error_string(res));
}

}  // namespace

admin::admin(std::unique_ptr<detail::handle> h) : _h(std::move(h)) {}
admin::admin(admin&&) noexcept = default;
admin& admin::operator=(admin&&) noexcept = default;
admin::~admin() = default;

result<admin> admin::connect(const client_config& config) {
  auto h = handle::open(RD_KAFKA_PRODUCER, config, {});
  if (!h) return std::move(h).error();
  SPATE_TRY((*h)->probe());
  return admin(std::move(*h));
}

status admin::create_topic(const new_topic& topic) {
  std::string context = "create topic '" + topic.name + "'";
  if (topic.partitions == 0 || topic.partitions < -1) {
    return spate::error(errc::invalid_argument,
                        context + ": partitions must be positive (or -1 for the broker default)");
  }
  if (topic.replication_factor == 0 || topic.replication_factor < -1) {
    return spate::error(errc::invalid_argument,
                        context +
                            ": replication factor must be positive (or -1 for the "
                            "broker default)");
  }
  char errstr[512];
  new_topic_ptr nt(rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions,
                                         topic.replication_factor, errstr, sizeof errstr));
  if (!nt) return spate::error(errc::invalid_argument, context + ": " + errstr);
  for (auto& [k, v] : topic.configs) {
    if (rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return spate::error(errc::invalid_argument, context + ": bad config " + k + "=" + v);
    }
  }
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_CREATETOPICS, context, [&](auto* opts, auto* q) {
    rd_kafka_NewTopic_t* list[] = {nt.get()};
    rd_kafka_CreateTopics(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto* res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev->get()), &n);
  return topic_results(*_h, res, n, context);
}

status admin::delete_topic(const std::string& name) {
  std::string context = "delete topic '" + name + "'";
  delete_topic_ptr dt(rd_kafka_DeleteTopic_new(name.c_str()));
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_DELETETOPICS, context, [&](auto* opts, auto* q) {
    rd_kafka_DeleteTopic_t* list[] = {dt.get()};
    rd_kafka_DeleteTopics(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto* res =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev->get()), &n);
  return topic_results(*_h, res, n, context);
}

status admin::create_partitions(const std::string& topic, int32_t total) {
  std::string context = "add partitions to '" + topic + "'";
  if (total <= 0) {
    return spate::error(errc::invalid_argument, context + ": partition count must be positive");
  }
  char errstr[512];
  new_partitions_ptr np(
      rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), errstr, sizeof errstr));
  if (!np) return spate::error(errc::invalid_argument, context + ": " + errstr);
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, context, [&](auto* opts, auto* q) {
    rd_kafka_NewPartitions_t* list[] = {np.get()};
    rd_kafka_CreatePartitions(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto* res = rd_kafka_CreatePartitions_result_topics(
      rd_kafka_event_CreatePartitions_result(ev->get()), &n);
  return topic_results(*_h, res, n, context);
}

status admin::delete_records(const std::map<topic_partition, int64_t>& before) {
  std::string context = "delete records";
  if (before.empty()) return ok();
  auto list = offset_list(before, context);
  if (!list) return std::move(list).error();
  std::unique_ptr<rd_kafka_DeleteRecords_t, decltype(&rd_kafka_DeleteRecords_destroy)> req(
      rd_kafka_DeleteRecords_new(list->get()), &rd_kafka_DeleteRecords_destroy);
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_DELETERECORDS, context, [&](auto* opts, auto* q) {
    rd_kafka_DeleteRecords_t* reqs[] = {req.get()};
    rd_kafka_DeleteRecords(_h->rk(), reqs, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  auto* res = rd_kafka_DeleteRecords_result_offsets(rd_kafka_event_DeleteRecords_result(ev->get()));
  for (int i = 0; res != nullptr && i < res->cnt; ++i) {
    auto& e = res->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return item_error(
          *_h, e.err,
          context + " in '" + std::string(e.topic) + "' partition " + std::to_string(e.partition),
          rd_kafka_err2str(e.err));
    }
  }
  return ok();
}

result<std::vector<std::string>> admin::list_topics() {
  auto info = _h->metadata(metadata_scope::all_topics);
  if (!info) return std::move(info).error();
  std::vector<std::string> names;
  for (auto& t : info->topics) names.push_back(t.name);
  return names;  // already sorted
}

result<topic_info> admin::describe_topic(const std::string& name) {
  auto info = _h->metadata(metadata_scope::all_topics);
  if (!info) return std::move(info).error();
  auto* t = info->find(name);
  if (!t) return spate::error(errc::unknown_topic, "topic '" + name + "' does not exist");
  return *t;
}

result<cluster_info> admin::describe_cluster(metadata_scope scope) {
  return _h->metadata(scope);
}

result<std::vector<config_entry>> admin::describe_configs(const std::string& topic) {
  std::string context = "describe configs of '" + topic + "'";
  config_resource_ptr res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, context, [&](auto* opts, auto* q) {
    rd_kafka_ConfigResource_t* list[] = {res.get()};
    rd_kafka_DescribeConfigs(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto* resources = rd_kafka_DescribeConfigs_result_resources(
      rd_kafka_event_DescribeConfigs_result(ev->get()), &n);
  std::vector<config_entry> out;
  for (size_t i = 0; i < n; ++i) {
    SPATE_TRY(resource_error(*_h, resources[i], context));
    size_t m = 0;
    auto* entries = rd_kafka_ConfigResource_configs(resources[i], &m);
    for (size_t j = 0; j < m; ++j) {
      auto* e = entries[j];
      config_entry c;
      c.name = rd_kafka_ConfigEntry_name(e);
      if (auto* v = rd_kafka_ConfigEntry_value(e)) c.value = v;
      c.source = rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e));
      c.is_default = rd_kafka_ConfigEntry_is_default(e) == 1;
      c.read_only = rd_kafka_ConfigEntry_is_read_only(e) == 1;
      c.sensitive = rd_kafka_ConfigEntry_is_sensitive(e) == 1;
      out.push_back(std::move(c));
    }
  }
  return out;
}

status admin::alter_configs(const std::string& topic,
                            const std::map<std::string, std::string>& configs) {
  std::string context = "alter configs of '" + topic + "'";
  config_resource_ptr res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  for (auto& [k, v] : configs) {
    if (rd_kafka_ConfigResource_set_config(res.get(), k.c_str(), v.c_str()) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      return spate::error(errc::invalid_argument, context + ": bad config " + k + "=" + v);
    }
  }
  auto ev = run_admin(*_h, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, context, [&](auto* opts, auto* q) {
    rd_kafka_ConfigResource_t* list[] = {res.get()};
    rd_kafka_AlterConfigs(_h->rk(), list, 1, opts, q);
  });
  if (!ev) return std::move(ev).error();
  size_t n = 0;
  auto* resources =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev->get()), &n);
  for (size_t i = 0; i < n; ++i) SPATE_TRY(resource_error(*_h, resources[i], context));
  return ok();
}

std::map<std::string, std::string> merge_overrides(const std::vector<config_entry>& current,
                                                   const std::map<std::string, std::string>& set,
                                                   const std::vector<std::string>& remove) {
  std::map<std::string, std::string> out;
  for (auto& c : current) {
    if (c.is_topic_override() && c.value) out[c.name] = *c.value;
  }
  for (auto& [k, v] : set) out[k] = v;
  for (auto& k : remove) out.erase(k);
  return out;
}

}  // namespace spate::client

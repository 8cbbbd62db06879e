// Internal to the client module: one Admin API request, issued and awaited (admin.cc for
// topics and configs, admin_groups.cc for consumer groups).
#pragma once

#include <map>
#include <string>

#include "client/detail/handle.h"
#include "client/errc.h"
#include "client/groups.h"

namespace spate::client::detail {

// Runs one Admin API request: `start(options, queue)` issues it; the answer (or librdkafka's
// own timeout, at client_config::timeout) arrives as one event on `queue`.
template <class Start>
inline result<event_ptr> run_admin(handle& h, rd_kafka_admin_op_t op, const std::string& context,
                                   Start start) {
  admin_options_ptr opts(rd_kafka_AdminOptions_new(h.rk(), op));
  char errstr[512];
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), h.timeout_ms(), errstr,
                                                sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return spate::error(errc::invalid_argument, context + ": " + errstr);
  }
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
      op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS) {
    if (rd_kafka_AdminOptions_set_operation_timeout(opts.get(), h.timeout_ms(), errstr,
                                                    sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return spate::error(errc::invalid_argument, context + ": " + errstr);
    }
  }
  queue_ptr q(rd_kafka_queue_new(h.rk()));
  start(opts.get(), q.get());
  // librdkafka answers with __TIMED_OUT at the request timeout; the margin only guards
  // against waiting forever should it not.
  event_ptr ev(rd_kafka_queue_poll(q.get(), h.timeout_ms() + 5'000));
  if (!ev) return h.failure(RD_KAFKA_RESP_ERR__TIMED_OUT, context);
  if (auto err = rd_kafka_event_error(ev.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return h.failure(err, context, rd_kafka_event_error_string(ev.get()));
  }
  h.mark_reached();
  return ev;
}

// A librdkafka partition list holding `offsets`, refusing a negative offset (which librdkafka
// would read as one of its logical offsets, such as "end", and act on).
inline result<partition_list_ptr> offset_list(const std::map<topic_partition, int64_t>& offsets,
                                              const std::string& context) {
  partition_list_ptr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (auto& [tp, off] : offsets) {
    if (off < 0) {
      return spate::error(errc::invalid_argument, context + ": offset " + std::to_string(off) +
                                                      " for " + tp.topic + " partition " +
                                                      std::to_string(tp.partition));
    }
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = off;
  }
  return list;
}

}  // namespace spate::client::detail

// The order-totals pipeline: for each user, the total amount of their orders per 5-minute
// window of event time, written to "order-totals" as JSON
// ({"key":"u1","start":...,"end":...,"value":1250}, keyed by the user id).
//
// The orders need not be keyed by user: run against Kafka, the key_by step "by-user" moves each
// order to the task that owns its user through the topic "<application-id>-by-user-repartition".
//
// Orders may arrive up to 10 s out of order; a window still takes orders for 1 minute after it
// closed (each re-emits the total); later orders go to "orders-late", and records that are not
// valid orders go to "orders-dlq" with the reason in a "spate.error" header.
//
// build_by_region() is the same total per *region*: each order meets the table "users" (the
// latest {"region": ...} per user id, a compacted topic keyed by user id and partitioned as
// Kafka's default partitioner does, murmur2) and is then grouped again by region, into
// "region-totals". Orders of users the table does not hold are dropped (an inner join).
//
// orders_keyed_by_user: the orders topic is already keyed by user id and partitioned with
// Kafka's default partitioner (murmur2), so "by-user" is a key_by_record_key: no repartition
// topic, each task keys its own partition in place (and stops on an order whose key belongs to
// another task).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "spate/stream/stream.h"

namespace order_totals {

struct order {
  std::string order_id;
  std::string user_id;
  int64_t amount = 0;  // cents
};

inline void to_json(nlohmann::json& j, const order& o) {
  j = nlohmann::json{{"order_id", o.order_id}, {"user_id", o.user_id}, {"amount", o.amount}};
}
inline void from_json(const nlohmann::json& j, order& o) {
  j.at("order_id").get_to(o.order_id);
  j.at("user_id").get_to(o.user_id);
  j.at("amount").get_to(o.amount);
}

using total = spate::stream::windowed<std::string, int64_t>;

struct user {
  std::string region;
};
inline void to_json(nlohmann::json& j, const user& u) {
  j = nlohmann::json{{"region", u.region}};
}
inline void from_json(const nlohmann::json& j, user& u) {
  j.at("region").get_to(u.region);
}

// An order with its user's region: what the region totals group by.
struct regional_order {
  std::string region;
  int64_t amount = 0;
};
inline void to_json(nlohmann::json& j, const regional_order& o) {
  j = nlohmann::json{{"region", o.region}, {"amount", o.amount}};
}
inline void from_json(const nlohmann::json& j, regional_order& o) {
  j.at("region").get_to(o.region);
  j.at("amount").get_to(o.amount);
}

inline constexpr const char* orders_topic = "orders";
inline constexpr const char* totals_topic = "order-totals";
inline constexpr const char* late_topic = "orders-late";
inline constexpr const char* dead_letter_topic = "orders-dlq";
inline constexpr const char* users_topic = "users";
inline constexpr const char* region_totals_topic = "region-totals";

// The orders, keyed by user id as the step "by-user".
inline spate::stream::keyed_stream<std::string, order> orders_by_user(
    spate::stream::topology_builder& b, bool orders_keyed_by_user) {
  using namespace spate::stream;
  using namespace std::chrono_literals;
  auto orders = b.source(orders_topic, json_serde<order>(),
                         {.name = "orders",
                          .watermarks = {.max_out_of_orderness = 10s, .idle_timeout = 1min},
                          .on_error = error_policy::dead_letter,
                          .dead_letter_topic = dead_letter_topic});
  if (orders_keyed_by_user)
    return orders.key_by_record_key(default_serde<std::string>(), "by-user");
  return orders.key_by(&order::user_id, default_serde<std::string>(), "by-user");
}

inline spate::result<spate::stream::topology> build(bool orders_keyed_by_user = false) {
  using namespace spate::stream;
  using namespace std::chrono_literals;
  topology_builder b;
  output_tag<order> late{"late"};
  auto totals = orders_by_user(b, orders_keyed_by_user)
                    .window(tumbling(5min))
                    .allowed_lateness(1min)
                    .late_to(late)
                    .named("totals-5m")
                    .sum(&order::amount);
  totals.to(totals_topic, json_serde<total>());
  totals.side_output(late).to(late_topic, json_serde<order>());
  return b.build();
}

inline spate::result<spate::stream::topology> build_by_region(bool orders_keyed_by_user = false) {
  using namespace spate::stream;
  using namespace std::chrono_literals;
  topology_builder b;
  auto users = b.table_of<user>(users_topic, json_serde<user>());
  orders_by_user(b, orders_keyed_by_user)
      .join(
          users,
          [](const order& o, const user& u) {
            return regional_order{u.region, o.amount};
          },
          "with-region")
      .key_by(&regional_order::region, default_serde<std::string>(), "by-region",
              json_serde<regional_order>())
      .window(tumbling(5min))
      .named("region-totals-5m")
      .sum(&regional_order::amount)
      .to(region_totals_topic, json_serde<total>());
  return b.build();
}

}  // namespace order_totals

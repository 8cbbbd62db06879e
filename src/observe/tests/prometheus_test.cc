#include "observe/prometheus.h"

#include <gtest/gtest.h>

#include <limits>

namespace spate::observe {
namespace {

TEST(prometheus, renders_a_small_registry_exactly) {
  registry reg;
  reg.counter("spate_requests_total", "Requests handled.", {{"api", "produce"}}).inc(3);
  reg.counter("spate_requests_total", "Requests handled.", {{"api", "fetch"}}).inc(5);
  reg.gauge("spate_consumer_lag_seconds", "Consumer lag.\nEstimated \\ from timestamps.",
            {{"group", "g1"}})
      .set(1.5);
  auto& h = reg.histogram("spate_produce_latency_us", "Produce latency.",
                          {{"topic", "orders"}, {"partition", "0"}}, /*exposed_max_log2=*/3);
  for (uint64_t v : {0, 1, 3, 5, 100}) h.record(v);
  reg.gauge("spate_up", "").set(1);

  EXPECT_EQ(render_prometheus(reg),
            R"(# HELP spate_consumer_lag_seconds Consumer lag.\nEstimated \\ from timestamps.
# TYPE spate_consumer_lag_seconds gauge
spate_consumer_lag_seconds{group="g1"} 1.5
# HELP spate_produce_latency_us Produce latency.
# TYPE spate_produce_latency_us histogram
spate_produce_latency_us_bucket{partition="0",topic="orders",le="1"} 2
spate_produce_latency_us_bucket{partition="0",topic="orders",le="2"} 2
spate_produce_latency_us_bucket{partition="0",topic="orders",le="4"} 3
spate_produce_latency_us_bucket{partition="0",topic="orders",le="8"} 4
spate_produce_latency_us_bucket{partition="0",topic="orders",le="+Inf"} 5
spate_produce_latency_us_sum{partition="0",topic="orders"} 109
spate_produce_latency_us_count{partition="0",topic="orders"} 5
# HELP spate_requests_total Requests handled.
# TYPE spate_requests_total counter
spate_requests_total{api="fetch"} 5
spate_requests_total{api="produce"} 3
# TYPE spate_up gauge
spate_up 1
)");
}

TEST(prometheus, escapes_label_values) {
  registry reg;
  reg.counter("spate_c_total", "C.", {{"topic", "a\\b\"c\nd"}, {"empty", ""}}).inc();
  EXPECT_EQ(render_prometheus(reg), R"(# HELP spate_c_total C.
# TYPE spate_c_total counter
spate_c_total{empty="",topic="a\\b\"c\nd"} 1
)");
}

TEST(prometheus, appends_a_computed_gauge_family) {
  std::string out;
  append_prometheus(out, {"spate_empty", "Nothing.", {}});
  EXPECT_EQ(out, "");
  append_prometheus(out, {"spate_partition_log_end_offset",
                          "Next offset.",
                          {{{{"topic", "a\"b"}, {"partition", "0"}}, 42},
                           {{{"topic", "c"}, {"partition", "1"}}, 0}}});
  EXPECT_EQ(out, R"(# HELP spate_partition_log_end_offset Next offset.
# TYPE spate_partition_log_end_offset gauge
spate_partition_log_end_offset{topic="a\"b",partition="0"} 42
spate_partition_log_end_offset{topic="c",partition="1"} 0
)");
}

TEST(prometheus, special_gauge_values_use_prometheus_spelling) {
  registry reg;
  reg.gauge("a", "", {{"k", "inf"}}).set(std::numeric_limits<double>::infinity());
  reg.gauge("a", "", {{"k", "nan"}}).set(std::numeric_limits<double>::quiet_NaN());
  reg.gauge("a", "", {{"k", "neg"}}).set(-std::numeric_limits<double>::infinity());
  reg.gauge("a", "", {{"k", "small"}}).set(-0.25);
  EXPECT_EQ(render_prometheus(reg), R"(# TYPE a gauge
a{k="inf"} +Inf
a{k="nan"} NaN
a{k="neg"} -Inf
a{k="small"} -0.25
)");
}

TEST(prometheus, default_histogram_exposes_powers_of_two_up_to_2_pow_32) {
  registry reg;
  reg.histogram("h", "").record(uint64_t{1} << 40);
  const std::string text = render_prometheus(reg);
  EXPECT_NE(text.find("h_bucket{le=\"4294967296\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("h_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("8589934592"), std::string::npos);
}

}  // namespace
}  // namespace spate::observe

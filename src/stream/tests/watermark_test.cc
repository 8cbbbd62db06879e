// partition_watermarks: bounded out-of-orderness, min over partitions, idleness, monotonicity.
#include "spate/stream/watermark.h"

#include <gtest/gtest.h>

namespace spate::stream {
namespace {

timestamp_ms ms(int64_t v) {
  return timestamp_ms(v);
}
const partition_id p0(0), p1(1);

TEST(watermark, trails_the_largest_timestamp_by_the_bound) {
  partition_watermarks w({.max_out_of_orderness = duration(10)});
  EXPECT_EQ(w.current(ms(0)), min_time);
  w.observe(p0, ms(100), ms(0));
  EXPECT_EQ(w.current(ms(0)), ms(89));
  w.observe(p0, ms(50), ms(0));  // out of order: does not pull the watermark back
  EXPECT_EQ(w.current(ms(0)), ms(89));
  w.observe(p0, ms(120), ms(0));
  EXPECT_EQ(w.current(ms(0)), ms(109));
}

TEST(watermark, is_the_minimum_over_partitions_and_an_assigned_silent_one_holds_it) {
  partition_watermarks w(watermark_strategy{});
  w.assign(p0, ms(0));
  w.assign(p1, ms(0));
  w.observe(p0, ms(100), ms(0));
  EXPECT_EQ(w.current(ms(0)), min_time) << "p1 has sent nothing yet";
  w.observe(p1, ms(40), ms(0));
  EXPECT_EQ(w.current(ms(0)), ms(39));
  w.observe(p1, ms(400), ms(0));
  EXPECT_EQ(w.current(ms(0)), ms(99));
}

TEST(watermark, an_idle_partition_stops_holding_it_back_until_it_sends_again) {
  partition_watermarks w({.idle_timeout = duration(1'000)});
  w.assign(p0, ms(0));
  w.assign(p1, ms(0));
  w.observe(p1, ms(10), ms(0));
  w.observe(p0, ms(500), ms(900));
  EXPECT_EQ(w.current(ms(900)), ms(9));
  EXPECT_EQ(w.current(ms(1'000)), ms(499)) << "p1 silent for the idle timeout";
  w.observe(p0, ms(600), ms(1'100));
  EXPECT_EQ(w.current(ms(1'100)), ms(599));
  // p1 wakes up behind: the watermark does not go back, and waits for p1 again.
  w.observe(p1, ms(20), ms(1'200));
  EXPECT_EQ(w.current(ms(1'200)), ms(599));
  w.observe(p0, ms(700), ms(1'300));
  EXPECT_EQ(w.current(ms(1'300)), ms(599)) << "p1 is active and behind";
}

TEST(watermark, holds_when_every_partition_is_idle) {
  partition_watermarks w({.idle_timeout = duration(100)});
  w.observe(p0, ms(50), ms(0));
  EXPECT_EQ(w.current(ms(0)), ms(49));
  EXPECT_EQ(w.current(ms(1'000)), ms(49));
}

TEST(watermark, without_idle_timeout_a_silent_partition_stalls_it) {
  partition_watermarks w(watermark_strategy{});
  w.assign(p1, ms(0));
  w.observe(p0, ms(50), ms(0));
  EXPECT_EQ(w.current(ms(1'000'000)), min_time);
}

}  // namespace
}  // namespace spate::stream

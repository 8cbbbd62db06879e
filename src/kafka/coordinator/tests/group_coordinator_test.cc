#include "kafka/coordinator/group_coordinator.h"

#include <gtest/gtest.h>

namespace spate::coordinator {
namespace {

using namespace std::chrono_literals;

class group_test : public ::testing::Test {
 protected:
  group_test() : gc(opts()) {}
  static group_coordinator::options opts() {
    group_coordinator::options o;
    o.initial_rebalance_delay_ms = 100;
    o.max_group_size = 50;
    return o;
  }
  join_request req(const std::string& member, const std::string& proto = "range",
                   std::optional<std::string> instance = std::nullopt) {
    join_request r;
    r.group_id = "g";
    r.member_id = member;
    r.group_instance_id = std::move(instance);
    r.client_id = "c";
    r.session_timeout_ms = 10000;
    r.rebalance_timeout_ms = 30000;
    r.protocol_type = "consumer";
    r.protocols = {{proto, byte_buffer{1, 2}}};
    return r;
  }
  // Joins and returns a slot filled when the coordinator answers.
  std::shared_ptr<std::optional<join_result>> join(join_request r) {
    auto out = std::make_shared<std::optional<join_result>>();
    gc.join(std::move(r), now, [out](join_result jr) { *out = std::move(jr); });
    return out;
  }
  std::shared_ptr<std::optional<sync_result>> sync(
      const std::string& member, int32_t gen,
      std::vector<std::pair<std::string, byte_buffer>> assignments = {}) {
    auto out = std::make_shared<std::optional<sync_result>>();
    gc.sync({"g", member, gen, std::nullopt, std::move(assignments)}, now,
            [out](sync_result sr) { *out = std::move(sr); });
    return out;
  }
  void advance(std::chrono::milliseconds d) {
    now += d;
    gc.tick(now);
  }

  group_coordinator gc;
  mono_clock::time_point now = mono_clock::time_point{} + 1h;
};

TEST_F(group_test, member_id_required_then_join_sync_heartbeat) {
  auto r0 = req("");
  r0.require_known_member_id = true;
  auto first = join(r0);
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->error, errc::member_id_required);
  std::string id = (*first)->member_id;
  EXPECT_EQ(id.rfind("c-", 0), 0u);
  auto joined = join(req(id));
  EXPECT_FALSE(*joined);  // parked for the initial rebalance delay
  advance(150ms);
  ASSERT_TRUE(*joined);
  EXPECT_FALSE((*joined)->error);
  EXPECT_EQ((*joined)->generation_id, 1);
  EXPECT_EQ((*joined)->leader, id);
  EXPECT_EQ((*joined)->protocol_name, "range");
  ASSERT_EQ((*joined)->members.size(), 1u);
  EXPECT_EQ(gc.describe("g").state, group_state::completing_rebalance);
  auto synced = sync(id, 1, {{id, byte_buffer{9}}});
  ASSERT_TRUE(*synced);
  EXPECT_EQ((*synced)->assignment, byte_buffer{9});
  EXPECT_EQ(gc.describe("g").state, group_state::stable);
  EXPECT_FALSE(gc.heartbeat("g", id, 1, std::nullopt, now));
  EXPECT_EQ(gc.heartbeat("g", id, 0, std::nullopt, now), errc::illegal_generation);
  EXPECT_EQ(gc.heartbeat("g", "nobody", 1, std::nullopt, now), errc::unknown_member_id);
}

TEST_F(group_test, two_members_leader_assigns_follower_waits_for_it) {
  auto a = join(req(""));
  auto b = join(req(""));
  advance(150ms);
  ASSERT_TRUE(*a && *b);
  std::string ida = (*a)->member_id;
  std::string idb = (*b)->member_id;
  EXPECT_EQ((*a)->leader, ida);
  EXPECT_EQ((*a)->members.size(), 2u);
  EXPECT_TRUE((*b)->members.empty());  // followers see no member list
  auto sb = sync(idb, 1);
  EXPECT_FALSE(*sb);  // waits for the leader
  auto sa = sync(ida, 1, {{ida, byte_buffer{1}}, {idb, byte_buffer{2}}});
  ASSERT_TRUE(*sa && *sb);
  EXPECT_EQ((*sa)->assignment, byte_buffer{1});
  EXPECT_EQ((*sb)->assignment, byte_buffer{2});
}

TEST_F(group_test, expired_session_triggers_rebalance_and_survivor_takes_over) {
  auto a = join(req(""));
  auto b = join(req(""));
  advance(150ms);
  std::string ida = (*a)->member_id;
  std::string idb = (*b)->member_id;
  (void)sync(idb, 1);
  (void)sync(ida, 1, {{ida, {1}}, {idb, {2}}});
  // b keeps heartbeating; a goes silent.
  for (int i = 0; i < 12; ++i) {
    advance(1000ms);
    auto e = gc.heartbeat("g", idb, 1, std::nullopt, now);
    if (e == errc::rebalance_in_progress) break;
    ASSERT_FALSE(e) << e.message();
  }
  EXPECT_EQ(gc.heartbeat("g", idb, 1, std::nullopt, now), errc::rebalance_in_progress);
  auto rejoin = join(req(idb));
  ASSERT_TRUE(*rejoin);  // the only member left has rejoined: the join phase completes
  EXPECT_EQ((*rejoin)->generation_id, 2);
  EXPECT_EQ((*rejoin)->leader, idb);
  EXPECT_EQ(gc.heartbeat("g", ida, 1, std::nullopt, now), errc::unknown_member_id);
}

TEST_F(group_test, static_member_rejoins_without_rebalance_and_fences_the_old_id) {
  auto a = join(req("", "range", "host-1"));
  advance(150ms);
  ASSERT_TRUE(*a);
  std::string old_id = (*a)->member_id;
  EXPECT_EQ(old_id.rfind("host-1-", 0), 0u);
  (void)sync(old_id, 1, {{old_id, {7}}});
  ASSERT_EQ(gc.describe("g").state, group_state::stable);
  // The process restarts: same instance id, empty member id, same subscription.
  auto again = join(req("", "range", "host-1"));
  ASSERT_TRUE(*again);
  EXPECT_FALSE((*again)->error);
  EXPECT_NE((*again)->member_id, old_id);
  EXPECT_EQ((*again)->generation_id, 1);  // no rebalance
  EXPECT_EQ(gc.describe("g").state, group_state::stable);
  auto s = sync((*again)->member_id, 1);
  ASSERT_TRUE(*s);
  EXPECT_EQ((*s)->assignment, byte_buffer{7});
  EXPECT_EQ(gc.heartbeat("g", old_id, 1, std::string("host-1"), now), errc::fenced_instance_id);
}

TEST_F(group_test, leave_of_last_member_empties_the_group) {
  auto a = join(req(""));
  advance(150ms);
  std::string id = (*a)->member_id;
  auto res = gc.leave("g", {{id, std::nullopt}}, now);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_FALSE(res[0]);
  EXPECT_EQ(gc.describe("g").state, group_state::empty);
  EXPECT_EQ(gc.leave("g", {{id, std::nullopt}}, now)[0], errc::unknown_member_id);
}

TEST_F(group_test, bad_joins_get_the_right_error_and_leave_the_group_usable) {
  auto bad_timeout = req("");
  bad_timeout.session_timeout_ms = 10;
  EXPECT_EQ((*join(bad_timeout))->error, errc::invalid_session_timeout);
  auto a = join(req(""));
  advance(150ms);
  auto other = join(req("", "roundrobin"));
  ASSERT_TRUE(*other);
  EXPECT_EQ((*other)->error, errc::inconsistent_group_protocol);
  EXPECT_EQ((*join(req("ghost")))->error, errc::unknown_member_id);
  // Thousands of joiners: refused past the group size limit, the group still works.
  int refused = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = join(req(""));
    if (*r && (*r)->error == errc::group_max_size_reached) ++refused;
  }
  EXPECT_GT(refused, 1900);
  advance(40000ms);  // rebalance deadline: joiners that never came back are dropped
  EXPECT_LE(gc.describe("g").members.size(), 50u);
}

TEST_F(group_test, commits_standalone_and_by_generation) {
  commit_request c;
  c.group_id = "solo";
  c.offsets = {{{"t", 0}, {42, -1, std::string("m"), 1}}};
  EXPECT_FALSE(gc.check_commit(c));  // generation -1, no member: standalone consumer
  gc.apply_commit(c.group_id, c.offsets);
  auto got = gc.offsets("solo", {{"t", 0}, {"t", 1}});
  EXPECT_EQ(got[topic_partition_key("t", 0)].offset, 42);
  EXPECT_EQ(got[topic_partition_key("t", 1)].offset, -1);  // no commit
  auto a = join(req(""));
  advance(150ms);
  std::string id = (*a)->member_id;
  commit_request in_group{"g", id, 1, std::nullopt, {{{"t", 0}, {5, -1, {}, 1}}}};
  EXPECT_EQ(gc.check_commit(in_group), errc::rebalance_in_progress);  // before SyncGroup
  (void)sync(id, 1, {{id, {}}});
  EXPECT_FALSE(gc.check_commit(in_group));
  in_group.generation_id = 0;
  EXPECT_EQ(gc.check_commit(in_group), errc::illegal_generation);
  EXPECT_EQ(gc.delete_group("g"), errc::non_empty_group);
  EXPECT_FALSE(gc.delete_group("solo"));
  EXPECT_EQ(gc.delete_group("solo"), errc::group_id_not_found);
}

// Durability: the snapshots a group hands out on Stable / Empty / deleted, and a second
// coordinator (the restarted broker) restored from them.
TEST_F(group_test, snapshots_on_stable_empty_and_delete_restore_the_generation_and_members) {
  std::vector<std::pair<std::string, std::optional<group_snapshot>>> written;
  gc.set_persist_callback([&](const std::string& id, const group_snapshot* s) {
    written.emplace_back(id, s ? std::optional(*s) : std::nullopt);
  });
  auto a = join(req("", "range", "host-a"));
  auto b = join(req(""));
  advance(150ms);
  ASSERT_TRUE(*a && *b);
  std::string ida = (*a)->member_id;
  std::string idb = (*b)->member_id;
  EXPECT_TRUE(written.empty());  // CompletingRebalance is not kept
  (void)sync(idb, 1);
  (void)sync(ida, 1, {{ida, byte_buffer{1}}, {idb, byte_buffer{2}}});
  ASSERT_EQ(written.size(), 1u);
  ASSERT_TRUE(written[0].second);
  const group_snapshot& s = *written[0].second;
  EXPECT_EQ(s.generation_id, 1);
  EXPECT_EQ(s.protocol, "range");
  EXPECT_EQ(s.leader, ida);
  ASSERT_EQ(s.members.size(), 2u);
  EXPECT_EQ(s.members[0].member_id, ida);  // join order
  EXPECT_EQ(s.members[0].group_instance_id, "host-a");
  EXPECT_EQ(s.members[0].assignment, byte_buffer{1});
  EXPECT_EQ(s.members[1].subscription, (byte_buffer{1, 2}));
  EXPECT_EQ(s.members[1].session_timeout_ms, 10000);
  EXPECT_EQ(s.members[1].rebalance_timeout_ms, 30000);

  // The broker restarts: a fresh coordinator restored from the snapshot accepts both members'
  // heartbeats and commits at generation 1, with no rebalance, and describes them the same.
  group_coordinator restarted(opts());
  restarted.restore(s, now);
  auto d = restarted.describe("g");
  EXPECT_EQ(d.state, group_state::stable);
  EXPECT_EQ(d.generation_id, 1);
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_FALSE(restarted.heartbeat("g", ida, 1, std::string("host-a"), now));
  EXPECT_FALSE(restarted.heartbeat("g", idb, 1, std::nullopt, now));
  EXPECT_EQ(restarted.heartbeat("g", idb, 0, std::nullopt, now), errc::illegal_generation);
  EXPECT_FALSE(restarted.check_commit({"g", idb, 1, std::nullopt, {{{"t", 0}, {5, -1, {}, 1}}}}));
  std::optional<sync_result> assignment;
  restarted.sync({"g", idb, 1, std::nullopt, {}}, now,
                 [&](sync_result r) { assignment = std::move(r); });
  ASSERT_TRUE(assignment);
  EXPECT_EQ(assignment->assignment, byte_buffer{2});
  // Only b comes back: a expires after its session timeout, and b rejoins generation 2.
  for (int i = 0; i < 11; ++i) {
    now += 1000ms;
    restarted.tick(now);
    (void)restarted.heartbeat("g", idb, 1, std::nullopt, now);
  }
  EXPECT_EQ(restarted.heartbeat("g", idb, 1, std::nullopt, now), errc::rebalance_in_progress);
  std::optional<join_result> rejoined;
  restarted.join(req(idb), now, [&](join_result r) { rejoined = std::move(r); });
  ASSERT_TRUE(rejoined);
  EXPECT_EQ(rejoined->generation_id, 2);

  // Both leave the original: the Empty state is written with the next generation, and a
  // delete writes a tombstone.
  EXPECT_FALSE(gc.leave("g", {{ida, std::nullopt}, {idb, std::nullopt}}, now)[1]);
  ASSERT_EQ(written.size(), 2u);
  ASSERT_TRUE(written[1].second);
  EXPECT_TRUE(written[1].second->members.empty());
  EXPECT_EQ(written[1].second->generation_id, 2);
  EXPECT_FALSE(written[1].second->leader);
  group_coordinator emptied(opts());
  emptied.restore(*written[1].second, now);
  EXPECT_EQ(emptied.describe("g").state, group_state::empty);
  EXPECT_EQ(emptied.describe("g").generation_id, 2);
  EXPECT_FALSE(gc.delete_group("g"));
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[2].first, "g");
  EXPECT_FALSE(written[2].second);
}

TEST_F(group_test, a_static_member_replaced_while_stable_is_written_so_the_old_id_stays_fenced) {
  std::vector<group_snapshot> written;
  gc.set_persist_callback([&](const std::string&, const group_snapshot* s) {
    if (s) written.push_back(*s);
  });
  auto a = join(req("", "range", "host-1"));
  advance(150ms);
  std::string old_id = (*a)->member_id;
  (void)sync(old_id, 1, {{old_id, {7}}});
  auto again = join(req("", "range", "host-1"));
  ASSERT_TRUE(*again);
  ASSERT_EQ(written.size(), 2u);
  group_coordinator restarted(opts());
  restarted.restore(written.back(), now);
  EXPECT_FALSE(restarted.heartbeat("g", (*again)->member_id, 1, std::string("host-1"), now));
  EXPECT_EQ(restarted.heartbeat("g", old_id, 1, std::string("host-1"), now),
            errc::fenced_instance_id);
}

TEST_F(group_test, next_join_deadline_is_the_initial_delay_once_everyone_has_joined) {
  EXPECT_FALSE(gc.next_join_deadline());  // no join phase
  auto a = join(req(""));
  ASSERT_TRUE(gc.next_join_deadline());
  EXPECT_EQ(*gc.next_join_deadline(), now + 100ms);  // the initial delay (opts: 100 ms)
  now += 60ms;
  auto b = join(req(""));  // a new arrival pushes the delay back
  EXPECT_EQ(*gc.next_join_deadline(), now + 100ms);
  gc.tick(*gc.next_join_deadline());
  ASSERT_TRUE(*a && *b);
  EXPECT_FALSE(gc.next_join_deadline());  // CompletingRebalance: nothing waits on time
  // A rebalance of a Stable group with a member yet to rejoin waits for the rebalance timeout.
  now += 1s;
  (void)sync((*b)->member_id, 1);
  (void)sync((*a)->member_id, 1, {{(*a)->member_id, {}}, {(*b)->member_id, {}}});
  auto c = join(req(""));
  ASSERT_TRUE(gc.next_join_deadline());
  EXPECT_EQ(*gc.next_join_deadline(), now + 30000ms);
}

}  // namespace
}  // namespace spate::coordinator

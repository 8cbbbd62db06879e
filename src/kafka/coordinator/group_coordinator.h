// group_coordinator: the classic Kafka consumer-group protocol, broker side, as an engine with
// no network: JoinGroup / SyncGroup / Heartbeat / LeaveGroup, the state machine (Empty,
// PreparingRebalance, CompletingRebalance, Stable, Dead), session and rebalance timeouts,
// generations, static membership (group.instance.id), and committed offsets. Assignment is
// the clients' business: metadata and assignments are opaque bytes relayed between them.
// Semantics follow ../shared/docs/kafka-compat.md §10.
//
//   group_coordinator gc(options);
//   gc.join(req, now, [](join_result r) { reply(r); });   // may answer now or later
//   gc.tick(now);                                         // expiries and rebalance deadlines
//
// Time is passed in (`now`), so tests drive it and nothing here sleeps. Requests that must
// wait (a JoinGroup until the join phase completes, a follower's SyncGroup until the leader's)
// are answered through their callback when the state changes, from inside a later call.
//
// Threading: single-threaded; the broker runs it on one core and hops there.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "base/bytes.h"
#include "base/clock.h"
#include "kafka/coordinator/errc.h"

namespace spate::coordinator {

enum class group_state { empty, preparing_rebalance, completing_rebalance, stable, dead };
const char* to_string(group_state s);

struct protocol {
  std::string name;
  byte_buffer metadata;
};

struct join_request {
  std::string group_id;
  std::string member_id;  // empty for a new member
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 10000;
  int32_t rebalance_timeout_ms = -1;  // -1: the session timeout (JoinGroup v0)
  std::string protocol_type;
  std::vector<protocol> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+: answer MEMBER_ID_REQUIRED first
};

struct join_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  byte_buffer metadata;
};

struct join_result {
  std::error_code error;
  int32_t generation_id = -1;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<join_member> members;  // the leader's view: every member; followers: empty
};

struct sync_request {
  std::string group_id;
  std::string member_id;
  int32_t generation_id = -1;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<std::string, byte_buffer>> assignments;  // the leader's; else empty
};

struct sync_result {
  std::error_code error;
  byte_buffer assignment;
};

struct member_identity {
  std::string member_id;
  std::optional<std::string> group_instance_id;
};

struct committed_offset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
  int64_t commit_timestamp_ms = -1;
};

using topic_partition_key = std::pair<std::string, int32_t>;

struct commit_request {
  std::string group_id;
  std::string member_id;
  int32_t generation_id = -1;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<topic_partition_key, committed_offset>> offsets;
};

struct member_description {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  byte_buffer metadata;  // for the chosen protocol
  byte_buffer assignment;
};

// What the coordinator makes durable about a group besides its offsets: enough to answer
// DescribeGroups and accept the members' heartbeats and commits after a restart, as Kafka's
// group-metadata record holds it (docs/formats/group-records.md). Taken when a group becomes
// Stable or Empty (and when a static member's id is replaced while Stable).
struct group_snapshot {
  struct member {
    std::string member_id;
    std::optional<std::string> group_instance_id;
    std::string client_id;
    std::string client_host;
    int32_t rebalance_timeout_ms = 0;
    int32_t session_timeout_ms = 0;
    byte_buffer subscription;  // the metadata for the chosen protocol
    byte_buffer assignment;
    bool operator==(const member&) const = default;
  };
  std::string group_id;
  std::string protocol_type;
  int32_t generation_id = 0;
  std::optional<std::string> protocol;  // null while Empty
  std::optional<std::string> leader;    // null while Empty
  std::vector<member> members;          // in join order; empty: the group is Empty
  bool operator==(const group_snapshot&) const = default;
};

struct group_description {
  std::string group_id;
  group_state state = group_state::dead;
  std::string protocol_type;
  std::string protocol;
  int32_t generation_id = 0;
  std::vector<member_description> members;
};

class group_coordinator {
 public:
  struct options {
    int32_t min_session_timeout_ms = 6000;      // group.min.session.timeout.ms
    int32_t max_session_timeout_ms = 1800000;   // group.max.session.timeout.ms
    int32_t initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
    size_t max_group_size = 10000;              // group.max.size
  };
  using join_callback = std::function<void(join_result)>;
  using sync_callback = std::function<void(sync_result)>;
  // Told of each group state to make durable: a snapshot, or nullptr when the group is deleted
  // (Dead). Called on the coordinator's thread, before the requests that caused the change are
  // answered, so the caller can write it ahead of the answers.
  using persist_callback = std::function<void(const std::string& group_id, const group_snapshot*)>;

  explicit group_coordinator(options opts) : _opts(opts) {}

  void set_persist_callback(persist_callback cb) { _persist = std::move(cb); }
  // Replay at start: puts a group back as its snapshot says — Stable with those members, the
  // generation and assignments (Empty if it has none), keeping its offsets. The members' sessions
  // start at `now`, so members that do not come back expire after their session timeout.
  void restore(const group_snapshot& s, mono_clock::time_point now);
  // Replay at start: offsets deleted (unlike delete_offsets, whatever the group's membership).
  void erase_offsets(const std::string& group_id, const std::vector<topic_partition_key>& parts);
  // Replay at start: the group was deleted; it and its offsets go.
  void forget(const std::string& group_id);

  void join(join_request req, mono_clock::time_point now, join_callback cb);
  void sync(sync_request req, mono_clock::time_point now, sync_callback cb);
  std::error_code heartbeat(const std::string& group_id, const std::string& member_id,
                            int32_t generation_id,
                            const std::optional<std::string>& group_instance_id,
                            mono_clock::time_point now);
  // One result per leaving member (LeaveGroup v3+ sends several; v0-2 one).
  std::vector<std::error_code> leave(const std::string& group_id,
                                     const std::vector<member_identity>& members,
                                     mono_clock::time_point now);
  // Expires sessions and pending member ids, and ends join phases whose time is up.
  void tick(mono_clock::time_point now);
  // The earliest time a join phase can end by time alone (the initial rebalance delay of a
  // group whose members have all joined, or a rebalance timeout), so the caller can tick then
  // rather than at its next regular tick; nullopt if no join phase is waiting.
  std::optional<mono_clock::time_point> next_join_deadline() const;

  // Validates a commit; on success the offsets are applied (the caller makes them durable
  // first, see group_store). One error for the whole request, as Kafka checks membership once.
  std::error_code check_commit(const commit_request& req) const;
  void apply_commit(const std::string& group_id,
                    const std::vector<std::pair<topic_partition_key, committed_offset>>& offsets);
  // Committed offsets of a group; every partition if `partitions` is empty.
  std::map<topic_partition_key, committed_offset> offsets(
      const std::string& group_id, const std::vector<topic_partition_key>& partitions) const;
  // Removes committed offsets (OffsetDelete); refused while a member subscribes... simplified:
  // refused for a non-empty group.
  std::error_code delete_offsets(const std::string& group_id,
                                 const std::vector<topic_partition_key>& partitions);

  struct listed_group {
    std::string group_id;
    std::string protocol_type;
    group_state state;
  };
  std::vector<listed_group> list_groups() const;
  group_description describe(const std::string& group_id) const;
  // Deletes an empty group and its offsets (DeleteGroups).
  std::error_code delete_group(const std::string& group_id);

 private:
  struct member {
    std::string id;
    std::optional<std::string> instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::vector<protocol> protocols;
    byte_buffer assignment;
    mono_clock::time_point last_heard;
    uint64_t join_order = 0;
    join_callback awaiting_join;
    sync_callback awaiting_sync;
  };
  struct group {
    std::string id;
    group_state state = group_state::empty;
    int32_t generation = 0;
    std::string protocol_type;
    std::string protocol;
    std::string leader;
    std::map<std::string, member> members;
    std::map<std::string, std::string> static_members;      // instance id -> member id
    std::map<std::string, mono_clock::time_point> pending;  // MEMBER_ID_REQUIRED ids -> expiry
    mono_clock::time_point rebalance_deadline;
    mono_clock::time_point initial_delay_deadline;
    std::map<topic_partition_key, committed_offset> offsets;
  };

  std::error_code validate_join(const join_request& req, const group* g) const;
  std::string new_member_id(const std::string& prefix);
  void add_member(group& g, const join_request& req, const std::string& id,
                  mono_clock::time_point now, join_callback cb);
  void prepare_rebalance(group& g, mono_clock::time_point now);
  void maybe_complete_join(group& g, mono_clock::time_point now);
  void complete_join(group& g, mono_clock::time_point now);
  void remove_member(group& g, const std::string& member_id, mono_clock::time_point now);
  join_result current_join_view(const group& g, const member& m) const;
  std::string select_protocol(const group& g) const;
  void persist(const group& g);
  static bool same_protocols(const std::vector<protocol>& a, const std::vector<protocol>& b);

  options _opts;
  persist_callback _persist;
  std::map<std::string, group> _groups;
  uint64_t _next_join_order = 0;
  uint64_t _id_counter = 0;
};

}  // namespace spate::coordinator

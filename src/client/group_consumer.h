// group_consumer: reads topics as a member of a consumer group. The group coordinator shares
// the topics' partitions among the members; a member that leaves or dies has its partitions
// moved to the others, and each member resumes where the group last committed.
//
//   struct listener : client::rebalance_listener {
//     std::vector<partition_offset> on_assigned(const std::vector<topic_partition>& p) override {
//       return open_tasks(p);                       // where to start, if not the committed
//     }
//     void on_revoked(const std::vector<topic_partition>& p, bool lost) override {
//       if (!lost) checkpoint_and_commit(p);        // before another member takes them
//       close_tasks(p);
//     }
//   } l;
//   auto c = client::group_consumer::connect(cfg, {.group_id = "app", .topics = {"orders"},
//                                                  .listener = &l});
//   while (running) {
//     auto m = c->poll(100ms);                      // rebalances call `l` from in here
//     if (!m) { if (is_retriable(m.error())) continue; return m.error(); }
//     if (*m) use(**m);
//   }
//   SPATE_TRY(c->commit({{"orders", partition_id(0), offset(42)}}));
//   SPATE_TRY(c->close());                           // revokes (listener), leaves the group
//
// The rebalance protocol is the eager one: at a rebalance every member gives up all its
// partitions (on_revoked) before any member receives its new ones (on_assigned), so a partition
// is never processed by two members at once as long as each member commits in on_revoked.
// With the default "range" assignor, partition p of every subscribed topic goes to the same
// member when the topics have the same number of partitions (co-partitioned topics).
//
// Offsets are committed only by commit() (no auto-commit), synchronously. Starting offsets are
// the group's committed ones; a partition without one starts at `reset`. Movable, not copyable;
// one thread at a time; the listener runs on that thread, inside poll() and close().
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "client/config.h"
#include "client/groups.h"
#include "client/record.h"

namespace spate::client {

// The next offset to read in one partition: what a commit stores.
struct partition_offset {
  std::string topic;
  partition_id partition{-1};
  spate::offset next{-1};
  bool operator==(const partition_offset&) const = default;
};

class rebalance_listener {
 public:
  virtual ~rebalance_listener() = default;
  // These partitions are now this member's. Reading starts at the offsets returned, and for
  // partitions not among them at the group's committed offsets (an application that keeps its
  // position with its own state, e.g. in a changelog, returns that position).
  virtual std::vector<partition_offset> on_assigned(const std::vector<topic_partition>& parts) = 0;
  // These partitions stop being this member's. When `lost` is false, others get them only after
  // this returns: commit what was processed now. When it is true (the session expired), others
  // may already own them and a commit would be refused.
  virtual void on_revoked(const std::vector<topic_partition>& parts, bool lost) = 0;
};

enum class offset_reset { earliest, latest };

struct group_consumer_config {
  std::string group_id;
  std::vector<std::string> topics;
  // partition.assignment.strategy: "range" (co-partitioning) or "roundrobin" (both eager; the
  // cooperative protocol is not supported here).
  std::string assignor = "range";
  // How long the coordinator waits for a silent member before moving its partitions.
  std::chrono::milliseconds session_timeout{10'000};
  // The longest gap between poll() calls before the member is considered stuck.
  std::chrono::milliseconds max_poll_interval{300'000};
  offset_reset reset = offset_reset::earliest;
  rebalance_listener* listener = nullptr;  // optional
};

class group_consumer {
 public:
  // Creates the consumer, checks that a broker answers within config.timeout, and subscribes
  // to the topics (joining happens in poll()).
  static result<group_consumer> connect(const client_config& config,
                                        group_consumer_config settings);

  group_consumer(group_consumer&&) noexcept;
  group_consumer& operator=(group_consumer&&) noexcept;
  ~group_consumer();

  // The next record, waiting up to `wait`; nullopt if none came. Rebalances happen in here.
  // An error concerns a partition or the connection (is_retriable() says whether to go on), or
  // the client (is_fatal()).
  result<std::optional<message>> poll(std::chrono::milliseconds wait);

  // Stores these offsets for the group, waiting for the coordinator's answer.
  status commit(const std::vector<partition_offset>& offsets);

  // The group's committed offsets for these partitions (-1001, Kafka's "invalid", where none),
  // asked of the coordinator.
  result<std::vector<partition_offset>> committed(const std::vector<topic_partition>& parts);

  // The partitions currently assigned to this member.
  std::vector<topic_partition> assignment() const;

  // Whether the coordinator has already given this member's partitions to others (its session
  // expired): nothing should be written on their behalf until the next assignment.
  bool assignment_lost() const;

  // Revokes the assignment (through the listener, so it can commit), leaves the group so that
  // the others take over at once, and stops. Called by the destructor if not before.
  status close();

 private:
  struct state;
  explicit group_consumer(std::unique_ptr<state> s);
  std::unique_ptr<state> _s;
};

}  // namespace spate::client

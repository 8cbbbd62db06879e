// spate group list | describe | delete | reset-offsets: consumer groups over the client
// module's group Admin API (client/groups.h). describe adds each partition's log end offset and
// lag, in messages and in seconds (the age of the oldest unconsumed record); reset-offsets moves
// an inactive group's committed offsets and, like Kafka's tool, only prints the plan unless
// --execute is given.
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "cli/group_reset.h"
#include "client/admin.h"
#include "client/errc.h"

namespace spate::cli {
namespace {

using client::topic_partition;

struct group_options {
  client_options client;
  std::string group;
  bool json = false;
  // reset-offsets
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<int64_t> to_offset;
  std::string to_datetime;
  std::optional<int64_t> shift_by;
  std::vector<std::string> topics;
  bool execute = false;
};

result<client::admin> connect(const group_options& o) {
  auto cfg = o.client.config();
  if (!cfg) return std::move(cfg).error();
  return client::admin::connect(*cfg);
}

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string partitions_text(const std::vector<topic_partition>& tps) {
  // orders[0,1] payments[2]
  std::string out;
  std::string topic;
  for (auto& tp : tps) {
    if (tp.topic != topic) {
      if (!topic.empty()) out += "] ";
      out += tp.topic + "[";
      topic = tp.topic;
    } else {
      out += ",";
    }
    out += std::to_string(tp.partition);
  }
  if (!topic.empty()) out += "]";
  return out;
}

int run_list(const group_options& o) {
  auto a = connect(o);
  if (!a) return report("group list", a.error());
  auto groups = a->list_groups();
  if (!groups) return report("group list", groups.error());
  // A broker whose ListGroups predates states (v3-) leaves them unknown: ask each group.
  for (auto& g : *groups) {
    if (g.state != "Unknown") continue;
    auto d = a->describe_group(g.group_id);
    if (d) g.state = d->state;
  }
  if (o.json) {
    auto arr = nlohmann::json::array();
    for (auto& g : *groups) {
      arr.push_back({{"group", g.group_id}, {"state", g.state}, {"simple", g.is_simple}});
    }
    std::printf("%s\n", arr.dump().c_str());
    return exit_ok;
  }
  for (auto& g : *groups) std::printf("%s\t%s\n", g.group_id.c_str(), g.state.c_str());
  return exit_ok;
}

struct partition_lag {
  topic_partition tp;
  std::optional<int64_t> committed;
  int64_t log_end = 0;
  std::optional<int64_t> lag;  // unset when nothing is committed
  std::optional<double> lag_seconds;
  std::string member;
};

int run_describe(const group_options& o) {
  const char* cmd = "group describe";
  auto a = connect(o);
  if (!a) return report(cmd, a.error());
  auto g = a->describe_group(o.group);
  if (!g) return report(cmd, g.error());
  auto committed = a->committed_offsets(o.group);
  if (!committed) return report(cmd, committed.error());

  // Every partition the group has committed for or has assigned to a member.
  std::map<topic_partition, partition_lag> rows;
  for (auto& [tp, off] : *committed) {
    rows[tp].tp = tp;
    rows[tp].committed = off;
  }
  for (auto& m : g->members) {
    for (auto& tp : m.assignment) {
      rows[tp].tp = tp;
      rows[tp].member = m.member_id;
    }
  }
  // Lagging partitions read their oldest unconsumed record (at the committed offset, or the
  // log start if retention removed it) for its timestamp.
  std::map<topic_partition, int64_t> oldest_positions;
  for (auto& [tp, row] : rows) {
    auto wm = a->watermarks(tp);
    if (!wm) return report(cmd, wm.error());
    row.log_end = wm->second;
    if (!row.committed) continue;
    row.lag = std::max<int64_t>(0, row.log_end - *row.committed);
    if (*row.lag > 0) oldest_positions[tp] = std::max(*row.committed, wm->first);
  }
  auto cfg = o.client.config();
  if (!cfg) return report(cmd, cfg.error());
  auto timestamps = client::first_record_timestamps(*cfg, oldest_positions);
  if (!timestamps) return report(cmd, timestamps.error());
  int64_t now = wall_ms();
  for (auto& [tp, row] : rows) {
    if (!row.lag) continue;
    auto ts = timestamps->find(tp);
    row.lag_seconds = lag_seconds(
        *row.lag, ts == timestamps->end() ? std::nullopt : std::optional(ts->second), now);
  }

  if (o.json) {
    nlohmann::json j;
    j["group"] = g->group_id;
    j["state"] = g->state;
    j["assignor"] = g->assignor;
    j["coordinator"] = g->coordinator;
    j["members"] = nlohmann::json::array();
    for (auto& m : g->members) {
      nlohmann::json jm;
      jm["member_id"] = m.member_id;
      jm["group_instance_id"] =
          m.group_instance_id ? nlohmann::json(*m.group_instance_id) : nlohmann::json(nullptr);
      jm["client_id"] = m.client_id;
      jm["host"] = m.host;
      jm["assignment"] = nlohmann::json::array();
      for (auto& tp : m.assignment) {
        jm["assignment"].push_back({{"topic", tp.topic}, {"partition", tp.partition}});
      }
      j["members"].push_back(jm);
    }
    j["partitions"] = nlohmann::json::array();
    auto opt = [](auto v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    for (auto& [tp, row] : rows) {
      j["partitions"].push_back({{"topic", tp.topic},
                                 {"partition", tp.partition},
                                 {"committed_offset", opt(row.committed)},
                                 {"log_end_offset", row.log_end},
                                 {"lag", opt(row.lag)},
                                 {"lag_seconds", opt(row.lag_seconds)},
                                 {"member_id", row.member.empty() ? nlohmann::json(nullptr)
                                                                  : nlohmann::json(row.member)}});
    }
    std::printf("%s\n", j.dump().c_str());
    return exit_ok;
  }

  std::printf("group: %s\nstate: %s\n", g->group_id.c_str(), g->state.c_str());
  if (!g->assignor.empty()) std::printf("assignor: %s\n", g->assignor.c_str());
  std::printf("coordinator: %d\nmembers: %zu\n", g->coordinator, g->members.size());
  for (auto& m : g->members) {
    std::printf("  %s  client-id %s  host %s", m.member_id.c_str(), m.client_id.c_str(),
                m.host.c_str());
    if (m.group_instance_id) std::printf("  instance %s", m.group_instance_id->c_str());
    std::printf("  assigned %s\n",
                m.assignment.empty() ? "-" : partitions_text(m.assignment).c_str());
  }
  if (rows.empty()) {
    std::printf("no committed offsets and no assigned partitions\n");
    return exit_ok;
  }
  std::printf("%-24s %9s %12s %12s %10s %12s  %s\n", "TOPIC", "PARTITION", "COMMITTED", "LOG-END",
              "LAG", "LAG-SECONDS", "MEMBER");
  for (auto& [tp, row] : rows) {
    std::string c = row.committed ? std::to_string(*row.committed) : "-";
    std::string l = row.lag ? std::to_string(*row.lag) : "-";
    char secs[32] = "-";
    if (row.lag_seconds) std::snprintf(secs, sizeof secs, "%.3f", *row.lag_seconds);
    std::printf("%-24s %9d %12s %12lld %10s %12s  %s\n", tp.topic.c_str(), tp.partition, c.c_str(),
                static_cast<long long>(row.log_end), l.c_str(), secs,
                row.member.empty() ? "-" : row.member.c_str());
  }
  return exit_ok;
}

int run_delete(const group_options& o) {
  auto a = connect(o);
  if (!a) return report("group delete", a.error());
  if (auto st = a->delete_group(o.group); !st) {
    if (st.error().code == make_error_code(client::errc::group_not_empty)) {
      return report(
          "group delete",
          spate::error(st.error().code,
                       "group '" + o.group + "' has active members; stop its consumers first"));
    }
    if (st.error().code == make_error_code(client::errc::unknown_group)) {
      return report("group delete",
                    spate::error(st.error().code, "group '" + o.group + "' does not exist"));
    }
    return report("group delete", st.error());
  }
  std::printf("deleted group '%s'\n", o.group.c_str());
  return exit_ok;
}

result<reset_target> target_of(const group_options& o) {
  int given = int(o.to_earliest) + int(o.to_latest) + int(o.to_offset.has_value()) +
              int(!o.to_datetime.empty()) + int(o.shift_by.has_value());
  if (given != 1) {
    return spate::error(client::errc::invalid_argument,
                        "give exactly one of --to-earliest, --to-latest, --to-offset, "
                        "--to-datetime, --shift-by");
  }
  if (o.to_earliest) return reset_target{reset_target::kind::earliest, 0};
  if (o.to_latest) return reset_target{reset_target::kind::latest, 0};
  if (o.to_offset) {
    if (*o.to_offset < 0) {
      return spate::error(client::errc::invalid_argument, "--to-offset must be >= 0");
    }
    return reset_target{reset_target::kind::offset, *o.to_offset};
  }
  if (o.shift_by) return reset_target{reset_target::kind::shift, *o.shift_by};
  auto t = parse_iso_datetime(o.to_datetime);
  if (!t) return std::move(t).error();
  return reset_target{reset_target::kind::datetime, *t};
}

int run_reset(const group_options& o) {
  const char* cmd = "group reset-offsets";
  auto target = target_of(o);
  if (!target) return report(cmd, target.error());
  std::vector<topic_spec> specs;
  for (auto& t : o.topics) {
    auto s = parse_topic_spec(t);
    if (!s) return report(cmd, s.error());
    specs.push_back(std::move(*s));
  }
  auto a = connect(o);
  if (!a) return report(cmd, a.error());

  // Only an inactive group's offsets can change: its consumers would overwrite them (and the
  // coordinator refuses commits from outside the generation anyway).
  auto g = a->describe_group(o.group);
  bool exists = true;
  if (!g) {
    if (g.error().code != make_error_code(client::errc::unknown_group)) {
      return report(cmd, g.error());
    }
    exists = false;
  } else if (!g->members.empty() || (g->state != "Empty" && g->state != "Dead")) {
    return report(cmd, spate::error(client::errc::group_not_empty,
                                    "group '" + o.group + "' is " + g->state + " with " +
                                        std::to_string(g->members.size()) +
                                        " member(s); offsets can only be reset while it has "
                                        "none: stop its consumers first"));
  }
  auto committed = a->committed_offsets(o.group);
  if (!committed) return report(cmd, committed.error());

  std::vector<topic_partition> scope;
  if (specs.empty()) {
    if (!exists) {
      return report(cmd, spate::error(client::errc::unknown_group,
                                      "group '" + o.group +
                                          "' does not exist; name the partitions to give it "
                                          "offsets with --topic"));
    }
    for (auto& [tp, off] : *committed) scope.push_back(tp);
    if (scope.empty()) {
      return report(cmd, spate::error(client::errc::invalid_argument,
                                      "group '" + o.group +
                                          "' has no committed offsets; choose partitions "
                                          "with --topic"));
    }
  } else {
    for (auto& s : specs) {
      auto info = a->describe_topic(s.topic);
      if (!info) return report(cmd, info.error());
      if (s.partitions.empty()) {
        for (auto& p : info->partitions) scope.push_back({s.topic, p.id.value});
        continue;
      }
      for (auto p : s.partitions) {
        bool known = std::any_of(info->partitions.begin(), info->partitions.end(),
                                 [&](auto& ip) { return ip.id.value == p; });
        if (!known) {
          return report(
              cmd, spate::error(client::errc::invalid_argument,
                                "topic '" + s.topic + "' has no partition " + std::to_string(p)));
        }
        scope.push_back({s.topic, p});
      }
    }
  }
  std::sort(scope.begin(), scope.end());
  scope.erase(std::unique(scope.begin(), scope.end()), scope.end());

  std::map<topic_partition, int64_t> at_time;
  if (target->how == reset_target::kind::datetime) {
    auto r = a->offsets_for_time(scope, target->value);
    if (!r) return report(cmd, r.error());
    at_time = std::move(*r);
  }
  std::map<topic_partition, int64_t> plan;
  std::map<topic_partition, std::optional<int64_t>> before;
  for (auto& tp : scope) {
    auto wm = a->watermarks(tp);
    if (!wm) return report(cmd, wm.error());
    partition_position p;
    if (auto it = committed->find(tp); it != committed->end()) p.committed = it->second;
    p.log_start = wm->first;
    p.log_end = wm->second;
    if (auto it = at_time.find(tp); it != at_time.end()) p.at_time = it->second;
    auto n = new_offset(*target, p, tp);
    if (!n) return report(cmd, n.error());
    plan[tp] = *n;
    before[tp] = p.committed;
  }

  if (o.json) {
    auto arr = nlohmann::json::array();
    for (auto& [tp, n] : plan) {
      arr.push_back({{"topic", tp.topic},
                     {"partition", tp.partition},
                     {"current_offset", before[tp] ? nlohmann::json(*before[tp]) : nullptr},
                     {"new_offset", n}});
    }
    std::printf("%s\n",
                nlohmann::json{{"group", o.group}, {"executed", o.execute}, {"partitions", arr}}
                    .dump()
                    .c_str());
  } else {
    std::printf("%-24s %9s %12s %12s\n", "TOPIC", "PARTITION", "CURRENT", "NEW");
    for (auto& [tp, n] : plan) {
      std::string c = before[tp] ? std::to_string(*before[tp]) : "-";
      std::printf("%-24s %9d %12s %12lld\n", tp.topic.c_str(), tp.partition, c.c_str(),
                  static_cast<long long>(n));
    }
  }
  if (!o.execute) {
    if (!o.json) std::printf("dry run: nothing changed (add --execute to commit these offsets)\n");
    return exit_ok;
  }
  if (auto st = a->alter_offsets(o.group, plan); !st) {
    if (st.error().code == make_error_code(client::errc::group_not_empty)) {
      return report(cmd, spate::error(st.error().code,
                                      "group '" + o.group +
                                          "' gained members before the commit; nothing changed"));
    }
    return report(cmd, st.error());
  }
  if (!o.json) {
    std::printf("committed new offsets for %zu partition(s) of group '%s'\n", plan.size(),
                o.group.c_str());
  }
  return exit_ok;
}

}  // namespace

void add_group_commands(CLI::App& app, command_list& out) {
  auto* group =
      app.add_subcommand("group", "List, describe, delete consumer groups; reset offsets");
  group->require_subcommand(1);

  auto leaf = [&](const char* name, const char* help, int (*run)(const group_options&)) {
    auto o = std::make_shared<group_options>();
    auto* cmd = group->add_subcommand(name, help);
    o->client.add_to(cmd);
    out.push_back({cmd, [o, run] { return run(*o); }});
    return std::pair{cmd, o.get()};
  };
  {
    auto [cmd, o] = leaf("list", "List consumer groups and their states", run_list);
    cmd->add_flag("--json", o->json, "One JSON array");
  }
  {
    auto [cmd, o] = leaf("describe",
                         "State, members, assignments, and per partition the committed offset, "
                         "log end and lag (messages and seconds)",
                         run_describe);
    cmd->add_option("group", o->group, "Group id")->required();
    cmd->add_flag("--json", o->json, "One JSON object");
  }
  {
    auto [cmd, o] = leaf("delete", "Delete a group with no members, and its offsets", run_delete);
    cmd->add_option("group", o->group, "Group id")->required();
  }
  {
    auto [cmd, o] =
        leaf("reset-offsets",
             "Move an inactive group's committed offsets (dry run unless --execute)", run_reset);
    cmd->add_option("group", o->group, "Group id")->required();
    cmd->add_flag("--to-earliest", o->to_earliest, "To each partition's log start");
    cmd->add_flag("--to-latest", o->to_latest, "To each partition's log end");
    cmd->add_option("--to-offset", o->to_offset, "To this offset (clamped to the log)");
    cmd->add_option("--to-datetime", o->to_datetime,
                    "To the first record at or after YYYY-MM-DDTHH:MM:SS[.mmm][Z|+hh:mm] "
                    "(no zone: UTC)");
    cmd->add_option("--shift-by", o->shift_by, "Move each committed offset by N (may be < 0)");
    cmd->add_option("--topic", o->topics,
                    "topic or topic:p1,p2 (repeatable; default: the partitions the group has "
                    "committed for)");
    cmd->add_flag("--execute", o->execute, "Commit the new offsets (default: only print them)");
    cmd->add_flag("--json", o->json, "Print the plan as JSON");
  }
}

}  // namespace spate::cli

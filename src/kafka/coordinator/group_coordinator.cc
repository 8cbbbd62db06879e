#include "kafka/coordinator/group_coordinator.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <utility>

namespace spate::coordinator {

using std::chrono::milliseconds;

const char* to_string(group_state s) {
  switch (s) {
    case group_state::empty:
      return "Empty";
    case group_state::preparing_rebalance:
      return "PreparingRebalance";
    case group_state::completing_rebalance:
      return "CompletingRebalance";
    case group_state::stable:
      return "Stable";
    case group_state::dead:
      return "Dead";
  }
  return "?";
}

std::string group_coordinator::new_member_id(const std::string& prefix) {
  // prefix-UUID, as Kafka forms member ids; the counter keeps ids unique even if the random
  // source repeats.
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng();
  uint64_t b = rng() ^ ++_id_counter;
  char uuid[40];
  std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return (prefix.empty() ? std::string("member") : prefix) + "-" + uuid;
}

bool group_coordinator::same_protocols(const std::vector<protocol>& a,
                                       const std::vector<protocol>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].metadata != b[i].metadata) return false;
  }
  return true;
}

std::error_code group_coordinator::validate_join(const join_request& req, const group* g) const {
  if (req.group_id.empty()) return errc::invalid_group_id;
  if (req.session_timeout_ms < _opts.min_session_timeout_ms ||
      req.session_timeout_ms > _opts.max_session_timeout_ms) {
    return errc::invalid_session_timeout;
  }
  if (req.protocol_type.empty() || req.protocols.empty()) return errc::inconsistent_group_protocol;
  if (g && g->state != group_state::empty && !g->members.empty()) {
    if (g->protocol_type != req.protocol_type) return errc::inconsistent_group_protocol;
    // Some protocol every current member supports must be among the joiner's.
    bool common = false;
    for (auto& p : req.protocols) {
      bool all = std::all_of(g->members.begin(), g->members.end(), [&](auto& kv) {
        auto& ps = kv.second.protocols;
        return std::any_of(ps.begin(), ps.end(), [&](auto& q) { return q.name == p.name; });
      });
      common = common || all;
    }
    if (!common) return errc::inconsistent_group_protocol;
  }
  return {};
}

void group_coordinator::join(join_request req, mono_clock::time_point now, join_callback cb) {
  auto existing = _groups.find(req.group_id);
  if (auto e = validate_join(req, existing == _groups.end() ? nullptr : &existing->second)) {
    join_result r;
    r.error = e;
    r.member_id = req.member_id;
    return cb(std::move(r));
  }
  group& g = _groups[req.group_id];
  if (g.id.empty()) g.id = req.group_id;
  if (g.state == group_state::dead) {
    join_result r;
    r.error = errc::coordinator_not_available;
    return cb(std::move(r));
  }
  if (g.members.empty()) g.protocol_type = req.protocol_type;
  if (req.rebalance_timeout_ms < 0) req.rebalance_timeout_ms = req.session_timeout_ms;

  // Static member: the instance id names the member; a rejoin with an empty member id
  // replaces the old id (KIP-345).
  if (req.group_instance_id) {
    auto st = g.static_members.find(*req.group_instance_id);
    if (st != g.static_members.end()) {
      if (!req.member_id.empty() && req.member_id != st->second) {
        join_result r;
        r.error = errc::fenced_instance_id;
        r.member_id = req.member_id;
        return cb(std::move(r));
      }
      if (req.member_id.empty()) {
        auto old_it = g.members.find(st->second);
        if (old_it != g.members.end()) {
          member m = std::move(old_it->second);
          g.members.erase(old_it);
          // The replaced id is fenced: whatever it was waiting for ends now.
          if (m.awaiting_join) {
            join_result fenced;
            fenced.error = errc::fenced_instance_id;
            std::exchange(m.awaiting_join, nullptr)(std::move(fenced));
          }
          if (m.awaiting_sync) {
            sync_result fenced;
            fenced.error = errc::fenced_instance_id;
            std::exchange(m.awaiting_sync, nullptr)(std::move(fenced));
          }
          std::string new_id = new_member_id(*req.group_instance_id);
          bool was_leader = g.leader == m.id;
          bool unchanged = same_protocols(m.protocols, req.protocols);
          m.id = new_id;
          m.last_heard = now;
          m.session_timeout_ms = req.session_timeout_ms;
          m.rebalance_timeout_ms = req.rebalance_timeout_ms;
          g.static_members[*req.group_instance_id] = new_id;
          if (was_leader) g.leader = new_id;
          if (g.state == group_state::stable && unchanged) {
            // Same subscription: no rebalance; it fetches its assignment with SyncGroup.
            auto& placed = g.members.emplace(new_id, std::move(m)).first->second;
            persist(g);  // the old id is fenced for good, also after a restart
            return cb(current_join_view(g, placed));
          }
          auto& placed = g.members.emplace(new_id, std::move(m)).first->second;
          placed.protocols = req.protocols;
          placed.awaiting_join = std::move(cb);
          prepare_rebalance(g, now);
          return maybe_complete_join(g, now);
        }
      }
      req.member_id = st->second;
    }
  }

  if (req.member_id.empty()) {
    if (g.members.size() + g.pending.size() >= _opts.max_group_size) {
      join_result r;
      r.error = errc::group_max_size_reached;
      return cb(std::move(r));
    }
    std::string id = new_member_id(req.group_instance_id ? *req.group_instance_id : req.client_id);
    if (req.require_known_member_id && !req.group_instance_id) {
      // KIP-394: hand out the id and make the client come back with it, so a client that
      // times out and retries does not leave ghost members behind.
      g.pending[id] = now + milliseconds(req.session_timeout_ms);
      join_result r;
      r.error = errc::member_id_required;
      r.member_id = id;
      return cb(std::move(r));
    }
    return add_member(g, req, id, now, std::move(cb));
  }

  if (auto p = g.pending.find(req.member_id); p != g.pending.end()) {
    g.pending.erase(p);
    return add_member(g, req, req.member_id, now, std::move(cb));
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) {
    join_result r;
    r.error = errc::unknown_member_id;
    r.member_id = req.member_id;
    return cb(std::move(r));
  }
  member& m = it->second;
  if (m.instance_id != req.group_instance_id && req.group_instance_id) {
    join_result r;
    r.error = errc::fenced_instance_id;
    r.member_id = req.member_id;
    return cb(std::move(r));
  }
  m.last_heard = now;
  bool unchanged = same_protocols(m.protocols, req.protocols);
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  switch (g.state) {
    case group_state::preparing_rebalance:
      m.protocols = req.protocols;
      if (m.awaiting_join) {
        // A retried JoinGroup replaces the earlier one, which is told to rejoin.
        join_result retry;
        retry.error = errc::rebalance_in_progress;
        retry.member_id = m.id;
        std::exchange(m.awaiting_join, nullptr)(std::move(retry));
      }
      m.awaiting_join = std::move(cb);
      return maybe_complete_join(g, now);
    case group_state::completing_rebalance:
    case group_state::stable:
      if (unchanged && (g.state == group_state::completing_rebalance || m.id != g.leader)) {
        return cb(current_join_view(g, m));
      }
      m.protocols = req.protocols;
      m.awaiting_join = std::move(cb);
      prepare_rebalance(g, now);
      return maybe_complete_join(g, now);
    case group_state::empty:
    case group_state::dead: {
      join_result r;
      r.error = errc::unknown_member_id;
      return cb(std::move(r));
    }
  }
}

void group_coordinator::add_member(group& g, const join_request& req, const std::string& id,
                                   mono_clock::time_point now, join_callback cb) {
  member m;
  m.id = id;
  m.instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocols = req.protocols;
  m.last_heard = now;
  m.join_order = _next_join_order++;
  m.awaiting_join = std::move(cb);
  if (m.instance_id) g.static_members[*m.instance_id] = id;
  bool was_empty = g.members.empty();
  g.members.emplace(id, std::move(m));
  if (g.state == group_state::preparing_rebalance && was_empty) {
    // Still in the initial delay: a new arrival extends it, up to the rebalance deadline.
    g.initial_delay_deadline =
        std::min(now + milliseconds(_opts.initial_rebalance_delay_ms), g.rebalance_deadline);
  }
  prepare_rebalance(g, now);
  maybe_complete_join(g, now);
}

void group_coordinator::prepare_rebalance(group& g, mono_clock::time_point now) {
  if (g.state == group_state::preparing_rebalance) {
    // Arrivals during the initial delay push it back (bounded by the rebalance deadline).
    if (now < g.initial_delay_deadline) {
      g.initial_delay_deadline =
          std::min(now + milliseconds(_opts.initial_rebalance_delay_ms), g.rebalance_deadline);
    }
    return;
  }
  bool from_empty = g.state == group_state::empty;
  // Followers waiting for an assignment of the old generation must rejoin.
  for (auto& [id, m] : g.members) {
    if (m.awaiting_sync) {
      sync_result r;
      r.error = errc::rebalance_in_progress;
      std::exchange(m.awaiting_sync, nullptr)(std::move(r));
    }
  }
  int32_t longest = 0;
  for (auto& [id, m] : g.members) longest = std::max(longest, m.rebalance_timeout_ms);
  g.state = group_state::preparing_rebalance;
  g.rebalance_deadline = now + milliseconds(longest);
  g.initial_delay_deadline =
      from_empty
          ? std::min(now + milliseconds(_opts.initial_rebalance_delay_ms), g.rebalance_deadline)
          : now;
}

void group_coordinator::maybe_complete_join(group& g, mono_clock::time_point now) {
  if (g.state != group_state::preparing_rebalance) return;
  bool all_joined = std::all_of(g.members.begin(), g.members.end(), [](auto& kv) {
    return static_cast<bool>(kv.second.awaiting_join);
  });
  if ((all_joined && now >= g.initial_delay_deadline) || now >= g.rebalance_deadline) {
    complete_join(g, now);
  }
}

std::string group_coordinator::select_protocol(const group& g) const {
  // Candidates: protocols every member supports. Each member votes for its first candidate;
  // the most votes wins, ties to the name first proposed by the earliest member.
  std::vector<std::string> candidates;
  const member* first = nullptr;
  for (auto& [id, m] : g.members) {
    if (!first || m.join_order < first->join_order) first = &m;
  }
  if (!first) return {};
  for (auto& p : first->protocols) {
    bool all = std::all_of(g.members.begin(), g.members.end(), [&](auto& kv) {
      auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(), [&](auto& q) { return q.name == p.name; });
    });
    if (all) candidates.push_back(p.name);
  }
  std::map<std::string, int> votes;
  for (auto& [id, m] : g.members) {
    for (auto& p : m.protocols) {
      if (std::find(candidates.begin(), candidates.end(), p.name) != candidates.end()) {
        ++votes[p.name];
        break;
      }
    }
  }
  std::string best;
  int best_votes = -1;
  for (auto& c : candidates) {
    if (votes[c] > best_votes) {
      best = c;
      best_votes = votes[c];
    }
  }
  return best;
}

void group_coordinator::complete_join(group& g, mono_clock::time_point now) {
  // Members that did not rejoin in time are gone.
  for (auto it = g.members.begin(); it != g.members.end();) {
    if (!it->second.awaiting_join) {
      if (it->second.instance_id) g.static_members.erase(*it->second.instance_id);
      it = g.members.erase(it);
    } else {
      ++it;
    }
  }
  ++g.generation;
  if (g.members.empty()) {
    g.state = group_state::empty;
    g.leader.clear();
    g.protocol.clear();
    return persist(g);
  }
  g.protocol = select_protocol(g);
  if (!g.members.count(g.leader)) {
    const member* first = nullptr;
    for (auto& [id, m] : g.members) {
      if (!first || m.join_order < first->join_order) first = &m;
    }
    g.leader = first->id;
  }
  g.state = group_state::completing_rebalance;
  std::vector<std::pair<join_callback, join_result>> replies;
  for (auto& [id, m] : g.members) {
    m.last_heard = now;  // the session restarts with the new generation
    m.assignment.clear();
    replies.emplace_back(std::exchange(m.awaiting_join, nullptr), current_join_view(g, m));
  }
  for (auto& [cb, r] : replies) cb(std::move(r));
}

join_result group_coordinator::current_join_view(const group& g, const member& m) const {
  join_result r;
  r.generation_id = g.generation;
  r.protocol_name = g.protocol;
  r.leader = g.leader;
  r.member_id = m.id;
  if (m.id == g.leader) {
    for (auto& [id, other] : g.members) {
      join_member jm;
      jm.member_id = id;
      jm.group_instance_id = other.instance_id;
      for (auto& p : other.protocols) {
        if (p.name == g.protocol) jm.metadata = p.metadata;
      }
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void group_coordinator::sync(sync_request req, mono_clock::time_point now, sync_callback cb) {
  auto fail = [&](errc e) {
    sync_result r;
    r.error = e;
    cb(std::move(r));
  };
  auto git = _groups.find(req.group_id);
  if (git == _groups.end()) return fail(errc::unknown_member_id);
  group& g = git->second;
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) {
    if (req.group_instance_id && g.static_members.count(*req.group_instance_id)) {
      return fail(errc::fenced_instance_id);
    }
    return fail(errc::unknown_member_id);
  }
  member& m = it->second;
  if (req.group_instance_id && m.instance_id != req.group_instance_id) {
    return fail(errc::fenced_instance_id);
  }
  if (req.generation_id != g.generation) return fail(errc::illegal_generation);
  m.last_heard = now;
  switch (g.state) {
    case group_state::preparing_rebalance:
      return fail(errc::rebalance_in_progress);
    case group_state::stable: {
      sync_result r;
      r.assignment = m.assignment;
      return cb(std::move(r));
    }
    case group_state::completing_rebalance:
      if (m.id != g.leader) {
        m.awaiting_sync = std::move(cb);
        return;
      }
      for (auto& [mid, member_ref] : g.members) member_ref.assignment.clear();
      for (auto& [mid, bytes] : req.assignments) {
        auto target = g.members.find(mid);
        if (target != g.members.end()) target->second.assignment = std::move(bytes);
      }
      g.state = group_state::stable;
      persist(g);
      {
        std::vector<std::pair<sync_callback, sync_result>> replies;
        for (auto& [mid, member_ref] : g.members) {
          if (!member_ref.awaiting_sync) continue;
          sync_result r;
          r.assignment = member_ref.assignment;
          replies.emplace_back(std::exchange(member_ref.awaiting_sync, nullptr), std::move(r));
        }
        sync_result mine;
        mine.assignment = m.assignment;
        cb(std::move(mine));
        for (auto& [reply_cb, r] : replies) reply_cb(std::move(r));
      }
      return;
    case group_state::empty:
    case group_state::dead:
      return fail(errc::unknown_member_id);
  }
}

std::error_code group_coordinator::heartbeat(const std::string& group_id,
                                             const std::string& member_id, int32_t generation_id,
                                             const std::optional<std::string>& group_instance_id,
                                             mono_clock::time_point now) {
  auto git = _groups.find(group_id);
  if (git == _groups.end()) return errc::unknown_member_id;
  group& g = git->second;
  auto it = g.members.find(member_id);
  if (it == g.members.end()) {
    if (group_instance_id && g.static_members.count(*group_instance_id)) {
      return errc::fenced_instance_id;
    }
    return errc::unknown_member_id;
  }
  if (group_instance_id && it->second.instance_id != group_instance_id) {
    return errc::fenced_instance_id;
  }
  it->second.last_heard = now;
  if (g.state == group_state::preparing_rebalance) return errc::rebalance_in_progress;
  if (generation_id != g.generation) return errc::illegal_generation;
  return {};
}

std::vector<std::error_code> group_coordinator::leave(const std::string& group_id,
                                                      const std::vector<member_identity>& members,
                                                      mono_clock::time_point now) {
  std::vector<std::error_code> out;
  auto git = _groups.find(group_id);
  for (auto& who : members) {
    if (git == _groups.end()) {
      out.push_back(errc::unknown_member_id);
      continue;
    }
    group& g = git->second;
    std::string id = who.member_id;
    if (who.group_instance_id) {
      auto st = g.static_members.find(*who.group_instance_id);
      if (st == g.static_members.end()) {
        out.push_back(errc::unknown_member_id);
        continue;
      }
      if (!id.empty() && id != st->second) {
        out.push_back(errc::fenced_instance_id);
        continue;
      }
      id = st->second;
    }
    if (!g.members.count(id)) {
      out.push_back(errc::unknown_member_id);
      continue;
    }
    remove_member(g, id, now);
    out.push_back({});
  }
  return out;
}

void group_coordinator::remove_member(group& g, const std::string& member_id,
                                      mono_clock::time_point now) {
  auto it = g.members.find(member_id);
  if (it == g.members.end()) return;
  member gone = std::move(it->second);
  g.members.erase(it);
  if (gone.instance_id) g.static_members.erase(*gone.instance_id);
  if (gone.awaiting_join) {
    join_result r;
    r.error = errc::unknown_member_id;
    gone.awaiting_join(std::move(r));
  }
  if (gone.awaiting_sync) {
    sync_result r;
    r.error = errc::unknown_member_id;
    gone.awaiting_sync(std::move(r));
  }
  if (g.leader == member_id) g.leader.clear();
  switch (g.state) {
    case group_state::stable:
    case group_state::completing_rebalance:
      if (g.members.empty()) {
        ++g.generation;
        g.state = group_state::empty;
        g.protocol.clear();
        return persist(g);
      }
      prepare_rebalance(g, now);
      return maybe_complete_join(g, now);
    case group_state::preparing_rebalance:
      return maybe_complete_join(g, now);
    case group_state::empty:
    case group_state::dead:
      return;
  }
}

void group_coordinator::tick(mono_clock::time_point now) {
  for (auto& [gid, g] : _groups) {
    std::erase_if(g.pending, [&](auto& kv) { return kv.second <= now; });
    std::vector<std::string> expired;
    for (auto& [id, m] : g.members) {
      // A member parked in JoinGroup or SyncGroup is alive by definition.
      if (m.awaiting_join || m.awaiting_sync) continue;
      if (now - m.last_heard > milliseconds(m.session_timeout_ms)) expired.push_back(id);
    }
    for (auto& id : expired) remove_member(g, id, now);
    maybe_complete_join(g, now);
  }
}

std::optional<mono_clock::time_point> group_coordinator::next_join_deadline() const {
  std::optional<mono_clock::time_point> next;
  for (auto& [gid, g] : _groups) {
    if (g.state != group_state::preparing_rebalance) continue;
    bool all_joined = std::all_of(g.members.begin(), g.members.end(), [](auto& kv) {
      return static_cast<bool>(kv.second.awaiting_join);
    });
    // Until everyone has rejoined, only the rebalance timeout can end the phase.
    auto at = all_joined ? std::min(g.initial_delay_deadline, g.rebalance_deadline)
                         : g.rebalance_deadline;
    if (!next || at < *next) next = at;
  }
  return next;
}

std::error_code group_coordinator::check_commit(const commit_request& req) const {
  if (req.group_id.empty()) return errc::invalid_group_id;
  auto git = _groups.find(req.group_id);
  bool standalone = req.generation_id < 0 && req.member_id.empty();
  if (git == _groups.end()) {
    // Consumers that use no group membership commit with generation -1.
    return standalone ? std::error_code{} : std::error_code(errc::illegal_generation);
  }
  const group& g = git->second;
  if (standalone) {
    return g.members.empty() ? std::error_code{} : std::error_code(errc::unknown_member_id);
  }
  auto it = g.members.find(req.member_id);
  if (it == g.members.end()) return errc::unknown_member_id;
  if (req.group_instance_id && it->second.instance_id != req.group_instance_id) {
    return errc::fenced_instance_id;
  }
  if (req.generation_id != g.generation) return errc::illegal_generation;
  if (g.state == group_state::completing_rebalance) return errc::rebalance_in_progress;
  return {};
}

void group_coordinator::apply_commit(
    const std::string& group_id,
    const std::vector<std::pair<topic_partition_key, committed_offset>>& offsets) {
  group& g = _groups[group_id];
  if (g.id.empty()) g.id = group_id;
  for (auto& [tp, o] : offsets) g.offsets[tp] = o;
}

std::map<topic_partition_key, committed_offset> group_coordinator::offsets(
    const std::string& group_id, const std::vector<topic_partition_key>& partitions) const {
  std::map<topic_partition_key, committed_offset> out;
  auto git = _groups.find(group_id);
  if (partitions.empty()) {
    if (git != _groups.end()) out = git->second.offsets;
    return out;
  }
  for (auto& tp : partitions) {
    committed_offset none;
    if (git != _groups.end()) {
      auto it = git->second.offsets.find(tp);
      if (it != git->second.offsets.end()) none = it->second;
    }
    out[tp] = none;
  }
  return out;
}

std::error_code group_coordinator::delete_offsets(
    const std::string& group_id, const std::vector<topic_partition_key>& partitions) {
  auto git = _groups.find(group_id);
  if (git == _groups.end()) return errc::group_id_not_found;
  if (!git->second.members.empty()) return errc::non_empty_group;
  for (auto& tp : partitions) git->second.offsets.erase(tp);
  return {};
}

std::vector<group_coordinator::listed_group> group_coordinator::list_groups() const {
  std::vector<listed_group> out;
  for (auto& [id, g] : _groups) out.push_back({id, g.protocol_type, g.state});
  return out;
}

group_description group_coordinator::describe(const std::string& group_id) const {
  group_description d;
  d.group_id = group_id;
  auto git = _groups.find(group_id);
  if (git == _groups.end()) return d;  // Dead, as Kafka describes unknown groups
  const group& g = git->second;
  d.state = g.state;
  d.protocol_type = g.protocol_type;
  d.protocol = g.protocol;
  d.generation_id = g.generation;
  for (auto& [id, m] : g.members) {
    member_description md;
    md.member_id = id;
    md.group_instance_id = m.instance_id;
    md.client_id = m.client_id;
    md.client_host = m.client_host;
    for (auto& p : m.protocols) {
      if (p.name == g.protocol) md.metadata = p.metadata;
    }
    md.assignment = m.assignment;
    d.members.push_back(std::move(md));
  }
  return d;
}

std::error_code group_coordinator::delete_group(const std::string& group_id) {
  auto git = _groups.find(group_id);
  if (git == _groups.end()) return errc::group_id_not_found;
  if (!git->second.members.empty()) return errc::non_empty_group;
  _groups.erase(git);
  if (_persist) _persist(group_id, nullptr);
  return {};
}

void group_coordinator::persist(const group& g) {
  if (!_persist) return;
  group_snapshot s;
  s.group_id = g.id;
  s.protocol_type = g.protocol_type;
  s.generation_id = g.generation;
  if (!g.members.empty()) {
    s.protocol = g.protocol;
    s.leader = g.leader;
  }
  std::vector<const member*> ordered;
  for (auto& [id, m] : g.members) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](auto* a, auto* b) { return a->join_order < b->join_order; });
  for (auto* m : ordered) {
    group_snapshot::member sm;
    sm.member_id = m->id;
    sm.group_instance_id = m->instance_id;
    sm.client_id = m->client_id;
    sm.client_host = m->client_host;
    sm.rebalance_timeout_ms = m->rebalance_timeout_ms;
    sm.session_timeout_ms = m->session_timeout_ms;
    for (auto& p : m->protocols) {
      if (p.name == g.protocol) sm.subscription = p.metadata;
    }
    sm.assignment = m->assignment;
    s.members.push_back(std::move(sm));
  }
  _persist(g.id, &s);
}

void group_coordinator::restore(const group_snapshot& s, mono_clock::time_point now) {
  group& g = _groups[s.group_id];
  g.id = s.group_id;
  g.protocol_type = s.protocol_type;
  g.generation = s.generation_id;
  g.members.clear();
  g.static_members.clear();
  g.pending.clear();
  if (s.members.empty()) {
    g.state = group_state::empty;
    g.protocol.clear();
    g.leader.clear();
    return;
  }
  g.state = group_state::stable;
  g.protocol = s.protocol.value_or("");
  g.leader = s.leader.value_or("");
  for (auto& sm : s.members) {
    member m;
    m.id = sm.member_id;
    m.instance_id = sm.group_instance_id;
    m.client_id = sm.client_id;
    m.client_host = sm.client_host;
    m.session_timeout_ms = sm.session_timeout_ms;
    m.rebalance_timeout_ms = sm.rebalance_timeout_ms;
    // Only the chosen protocol's metadata is kept (as in Kafka): a member that rejoins with
    // its full list looks changed and triggers one rebalance, which is correct, if not free.
    m.protocols = {{g.protocol, sm.subscription}};
    m.assignment = sm.assignment;
    m.last_heard = now;
    m.join_order = _next_join_order++;
    if (m.instance_id) g.static_members[*m.instance_id] = m.id;
    g.members.emplace(m.id, std::move(m));
  }
  // A leader missing from its own member list would be a corrupt record: pick the first.
  if (!g.members.count(g.leader)) g.leader = s.members.front().member_id;
}

void group_coordinator::erase_offsets(const std::string& group_id,
                                      const std::vector<topic_partition_key>& parts) {
  auto git = _groups.find(group_id);
  if (git == _groups.end()) return;
  for (auto& tp : parts) git->second.offsets.erase(tp);
}

void group_coordinator::forget(const std::string& group_id) {
  _groups.erase(group_id);
}

}  // namespace spate::coordinator

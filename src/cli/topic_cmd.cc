// spate topic create | list | describe | delete | alter-config | add-partitions
#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "client/admin.h"
#include "client/errc.h"

namespace spate::cli {
namespace {

struct topic_options {
  client_options client;
  std::string name;
  int32_t partitions = -1;
  int16_t replication_factor = -1;
  std::vector<std::string> configs;         // k=v
  std::vector<std::string> delete_configs;  // k
  bool if_not_exists = false;
  bool if_exists = false;
  bool all_configs = false;
};

result<std::map<std::string, std::string>> parse_configs(const std::vector<std::string>& list) {
  std::map<std::string, std::string> out;
  for (auto& c : list) {
    auto kv = parse_key_value(c, "--config");
    if (!kv) return std::move(kv).error();
    out[kv->first] = kv->second;
  }
  return out;
}

result<client::admin> connect(const topic_options& o) {
  auto cfg = o.client.config();
  if (!cfg) return std::move(cfg).error();
  return client::admin::connect(*cfg);
}

std::string join(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

int run_create(const topic_options& o) {
  auto configs = parse_configs(o.configs);
  if (!configs) return report("topic create", configs.error());
  auto a = connect(o);
  if (!a) return report("topic create", a.error());
  auto st = a->create_topic({o.name, o.partitions, o.replication_factor, *configs});
  if (!st) {
    if (o.if_not_exists && st.error().code == make_error_code(client::errc::topic_exists)) {
      return exit_ok;
    }
    return report("topic create", st.error());
  }
  std::printf("created topic '%s'\n", o.name.c_str());
  return exit_ok;
}

int run_list(const topic_options& o) {
  auto a = connect(o);
  if (!a) return report("topic list", a.error());
  auto names = a->list_topics();
  if (!names) return report("topic list", names.error());
  for (auto& n : *names) std::printf("%s\n", n.c_str());
  return exit_ok;
}

int run_describe(const topic_options& o) {
  auto a = connect(o);
  if (!a) return report("topic describe", a.error());
  auto t = a->describe_topic(o.name);
  if (!t) return report("topic describe", t.error());
  std::printf("topic: %s\npartitions: %zu\n", t->name.c_str(), t->partitions.size());
  for (auto& p : t->partitions) {
    std::printf("  partition %d  leader %d  replicas [%s]  isr [%s]%s%s\n", p.id.value, p.leader,
                join(p.replicas).c_str(), join(p.isr).c_str(), p.error ? "  error: " : "",
                p.error ? p.error->message().c_str() : "");
  }
  auto configs = a->describe_configs(o.name);
  if (!configs) {
    if (configs.error().code == make_error_code(client::errc::unsupported_by_broker)) {
      std::printf("configs: not available (the broker does not support DescribeConfigs)\n");
      return exit_ok;
    }
    return report("topic describe", configs.error());
  }
  std::printf(o.all_configs ? "configs:\n"
                            : "configs (set on this topic; --all-configs for all):\n");
  for (auto& c : *configs) {
    if (!o.all_configs && !c.is_topic_override()) continue;
    std::string value = c.sensitive ? "(sensitive)" : c.value.value_or("(null)");
    if (o.all_configs) {
      std::printf("  %s=%s  (%s)\n", c.name.c_str(), value.c_str(), c.source.c_str());
    } else {
      std::printf("  %s=%s\n", c.name.c_str(), value.c_str());
    }
  }
  return exit_ok;
}

int run_delete(const topic_options& o) {
  auto a = connect(o);
  if (!a) return report("topic delete", a.error());
  auto st = a->delete_topic(o.name);
  if (!st) {
    if (o.if_exists && st.error().code == make_error_code(client::errc::unknown_topic)) {
      return exit_ok;
    }
    return report("topic delete", st.error());
  }
  std::printf("deleted topic '%s'\n", o.name.c_str());
  return exit_ok;
}

int run_alter_config(const topic_options& o) {
  auto set = parse_configs(o.configs);
  if (!set) return report("topic alter-config", set.error());
  if (set->empty() && o.delete_configs.empty()) {
    return report("topic alter-config",
                  spate::error(client::errc::invalid_argument,
                               "nothing to change: give --config k=v or --delete-config k"));
  }
  auto a = connect(o);
  if (!a) return report("topic alter-config", a.error());
  // AlterConfigs replaces the topic's overrides as a whole: read them, change, send all back.
  auto current = a->describe_configs(o.name);
  if (!current) return report("topic alter-config", current.error());
  auto merged = client::merge_overrides(*current, *set, o.delete_configs);
  if (auto st = a->alter_configs(o.name, merged); !st) {
    return report("topic alter-config", st.error());
  }
  std::printf("altered configs of topic '%s'\n", o.name.c_str());
  return exit_ok;
}

int run_add_partitions(const topic_options& o) {
  auto a = connect(o);
  if (!a) return report("topic add-partitions", a.error());
  if (auto st = a->create_partitions(o.name, o.partitions); !st) {
    return report("topic add-partitions", st.error());
  }
  std::printf("topic '%s' now has %d partitions\n", o.name.c_str(), o.partitions);
  return exit_ok;
}

}  // namespace

void add_topic_commands(CLI::App& app, command_list& out) {
  auto* topic = app.add_subcommand("topic", "Create, list, describe, delete and configure topics");
  topic->require_subcommand(1);

  auto leaf = [&](const char* name, const char* help, int (*run)(const topic_options&)) {
    auto o = std::make_shared<topic_options>();
    auto* cmd = topic->add_subcommand(name, help);
    o->client.add_to(cmd);
    out.push_back({cmd, [o, run] { return run(*o); }});
    return std::pair{cmd, o.get()};
  };

  {
    auto [cmd, o] = leaf("create", "Create a topic", run_create);
    cmd->add_option("name", o->name, "Topic name")->required();
    cmd->add_option("--partitions,-p", o->partitions, "Partitions (-1: the broker's default)")
        ->capture_default_str();
    cmd->add_option("--replication-factor,-r", o->replication_factor,
                    "Replicas (-1: the broker's default; a Spate broker has one)")
        ->capture_default_str();
    cmd->add_option("--config,-c", o->configs, "Topic config k=v (repeatable)");
    cmd->add_flag("--if-not-exists", o->if_not_exists, "Succeed if the topic already exists");
  }
  leaf("list", "List topic names", run_list);
  {
    auto [cmd, o] =
        leaf("describe", "Partitions, leaders, replicas and configs of a topic", run_describe);
    cmd->add_option("name", o->name, "Topic name")->required();
    cmd->add_flag("--all-configs", o->all_configs,
                  "Show every config with its source, not only those set on the topic");
  }
  {
    auto [cmd, o] = leaf("delete", "Delete a topic", run_delete);
    cmd->add_option("name", o->name, "Topic name")->required();
    cmd->add_flag("--if-exists", o->if_exists, "Succeed if there is no such topic");
  }
  {
    auto [cmd, o] =
        leaf("alter-config", "Set or remove topic configs, keeping the topic's other settings",
             run_alter_config);
    cmd->add_option("name", o->name, "Topic name")->required();
    cmd->add_option("--config,-c", o->configs, "Config to set, k=v (repeatable)");
    cmd->add_option("--delete-config", o->delete_configs,
                    "Config to return to its default (repeatable)");
  }
  {
    auto [cmd, o] = leaf("add-partitions", "Grow a topic to more partitions", run_add_partitions);
    cmd->add_option("name", o->name, "Topic name")->required();
    cmd->add_option("--partitions,-p", o->partitions, "The new total number of partitions")
        ->required()
        ->check(CLI::PositiveNumber);
  }
}

}  // namespace spate::cli

// SPDX-License-Identifier: Apache-2.0
// Host-side copies of what a plugin declares: detectors, params, subscriptions, rules.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace trailhound {

// Mirrors TH_PARAM_* of plugin_abi.h.
enum class param_type : int32_t {
  boolean = 1,
  integer = 2,
  floating = 3,
  string = 4,
  string_list = 5,
  duration = 6,  // seconds
};

const char* param_type_name(param_type t) noexcept;

struct param_spec {
  std::string name;
  param_type type = param_type::string;
  std::string default_value;  // TOML value literal
  std::string description;
  bool has_range = false;
  double min_value = 0;
  double max_value = 0;
};

struct subscription_spec {
  std::string event_source;  // "*" = any
  std::string event_name;    // "*" = any
};

struct rule_spec {
  std::string id;
  int32_t severity = 2;
  std::string title;
  std::string mitre;
  std::string description;
};

struct detector_spec {
  std::string id;
  std::string version;
  std::string title;
  std::string description;
  std::vector<subscription_spec> subscriptions;
  std::vector<param_spec> params;
  std::vector<rule_spec> rules;
  uint32_t state_schema_version = 0;
  int64_t tick_interval_ms = 0;
  std::string module_name;  // family
  std::string module_version;
  std::string file;  // shared object path, or "<in-process>"
  uint32_t module_abi_major = 0;
  uint32_t module_min_host_minor = 0;
};

// Where a configuration value came from.
struct source_location {
  std::string file;
  uint32_t line = 0;
  uint32_t column = 0;
  std::string str() const;  // "file:line:col" (or "default" when file is empty)
};

// A validated, typed parameter value (defaults applied).
struct param_value {
  std::string name;
  param_type type = param_type::string;
  bool bool_value = false;
  int64_t int_value = 0;  // integer, duration (seconds)
  double double_value = 0;
  std::string string_value;
  std::vector<std::string> list;
  source_location origin;  // empty file = the plugin's default
};

}  // namespace trailhound

// SPDX-License-Identifier: Apache-2.0
// Small shared helpers: severity names, param type names, source locations.
#include "common/detector_spec.hpp"
#include "common/severity.hpp"

namespace trailhound {

const char* severity_name(int32_t severity) noexcept {
  switch (severity) {
    case 0:
      return "info";
    case 1:
      return "low";
    case 2:
      return "medium";
    case 3:
      return "high";
    case 4:
      return "critical";
    default:
      return "unknown";
  }
}

std::optional<int32_t> parse_severity(std::string_view name) noexcept {
  static constexpr std::string_view names[] = {"info", "low", "medium", "high", "critical"};
  for (int32_t i = 0; i < 5; ++i)
    if (name == names[i]) return i;
  return std::nullopt;
}

const char* param_type_name(param_type t) noexcept {
  switch (t) {
    case param_type::boolean:
      return "bool";
    case param_type::integer:
      return "int";
    case param_type::floating:
      return "double";
    case param_type::string:
      return "string";
    case param_type::string_list:
      return "string list";
    case param_type::duration:
      return "duration";
  }
  return "unknown";
}

std::string source_location::str() const {
  if (file.empty()) return "default";
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace trailhound

// SPDX-License-Identifier: Apache-2.0
// Internals shared by the config translation units (not for use outside host/src/config).
#pragma once

#include <toml++/toml.h>

#include <optional>
#include <string>
#include <string_view>

#include "common/detector_spec.hpp"

namespace trailhound::config::detail {

// "string", "integer", "array", ... for messages.
std::string_view node_type_name(const toml::node& n) noexcept;

// TOML text of a value node: strings quoted and escaped, arrays and inline tables recursive.
std::string format_node(const toml::node& n);
std::string quote(std::string_view s);
// A key as written in a header or dotted key: bare when possible, quoted otherwise.
std::string format_key(std::string_view k);

// Converts a TOML value to the param's type into `out` (value fields only). Returns the reason
// on failure (wrong type, bad duration, out of range), nullopt on success.
std::optional<std::string> convert_param(const toml::node& n, const param_spec& spec,
                                         param_value& out);

// A resolved value as TOML text (durations as "15m" strings).
std::string format_param(const param_value& v);

}  // namespace trailhound::config::detail

// SPDX-License-Identifier: Apache-2.0
// Severity names and parsing shared by config, findings and the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace trailhound {

// TH_SEVERITY_* values: 0 info .. 4 critical.
const char* severity_name(int32_t severity) noexcept;
std::optional<int32_t> parse_severity(std::string_view name) noexcept;

}  // namespace trailhound

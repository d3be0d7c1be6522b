// SPDX-License-Identifier: Apache-2.0
// RapidJSON types and field extraction shared by the single-record and batch parsers.
#pragma once

#include <trailhound/plugin_abi.h>

#include <rapidjson/document.h>

#include <string_view>

#include "cloudtrail/record_parser.hpp"

namespace trailhound::cloudtrail::detail {

using pool_allocator = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using document = rapidjson::GenericDocument<rapidjson::UTF8<>, pool_allocator, pool_allocator>;
using value = rapidjson::GenericValue<rapidjson::UTF8<>, pool_allocator>;

inline constexpr unsigned PARSE_FLAGS =
    rapidjson::kParseInsituFlag | rapidjson::kParseValidateEncodingFlag;

// Zeroes the event and sets the tri-state flags to unknown and raw_json to `raw`.
void init_event(std::string_view raw, th_event& ev) noexcept;
// Fills the common fields from a parsed record (root must stay alive as long as the event).
bool extract_fields(const value& root, th_event& ev, parse_error& err) noexcept;

}  // namespace trailhound::cloudtrail::detail

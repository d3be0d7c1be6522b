// SPDX-License-Identifier: Apache-2.0
// The th_host_api value accessors over RapidJSON values, JSON pointers, and JSON utilities for the
// rest of the host (which does not include RapidJSON itself).
#pragma once

#include <trailhound/plugin_abi.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trailhound::cloudtrail {

// Fills the value_* members of a host api table.
void install_value_accessors(th_host_api& api) noexcept;

// A parsed RFC 6901 JSON pointer.
class json_pointer {
 public:
  static std::optional<json_pointer> parse(std::string_view text);
  const th_value* resolve(const th_value* root) const noexcept;
  const std::string& text() const { return text_; }

 private:
  struct token {
    std::string name;
    int64_t index = -1;  // >= 0 when the token is a valid array index
  };
  std::string text_;
  std::vector<token> tokens_;
};

// Serialises a value to compact JSON (appends to out).
void append_value_json(const th_value* value, std::string& out);

// Validates `text` as a JSON object of at most `max_depth` nesting, with valid UTF-8, and
// rewrites it compactly into `compact`. Returns false with a reason otherwise.
bool normalize_json_object(std::string_view text, uint32_t max_depth, std::string& compact,
                           std::string& reason);

// Appends `s` as a JSON string literal (quotes included), escaping as needed.
void append_json_string(std::string& out, std::string_view s);

// True when `s` is valid UTF-8.
bool valid_utf8(std::string_view s) noexcept;

}  // namespace trailhound::cloudtrail

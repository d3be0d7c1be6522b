// SPDX-License-Identifier: Apache-2.0
// TOML configuration: base file + environment overlays -> effective config with origins.
//
// Loading happens at start-up and reports problems by throwing config_error; everything here is
// single-threaded and keeps no global state. The format is documented in docs/configuration.md.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/detector_spec.hpp"
#include "config/net.hpp"

namespace trailhound::config {

// A configuration problem. what() is "file:line:col: reason", or "file: reason" when there is
// no line (unreadable file, missing overlay), or just "reason" when there is no file at all.
class config_error : public std::runtime_error {
 public:
  config_error(source_location where, const std::string& reason);
  const source_location& where() const noexcept { return where_; }
  const std::string& reason() const noexcept { return reason_; }

 private:
  source_location where_;
  std::string reason_;
};

// Built-in values of [input] when no file sets them.
inline constexpr int64_t DEFAULT_DEDUP_WINDOW_S = 6 * 3600;
inline constexpr int64_t DEFAULT_MAX_RECORD_BYTES = int64_t{16} << 20;  // 16 MiB
inline constexpr int64_t DEFAULT_MAX_DEPTH = 64;
inline constexpr int64_t DEFAULT_MAX_FILE_BYTES = int64_t{4} << 30;  // 4 GiB
// Upper bound accepted for input.max_depth (recursive JSON walks must stay far from the stack).
inline constexpr int64_t MAX_MAX_DEPTH = 1024;

// Origins keyed by setting name ("enabled", "input.dedup_window", ...). A missing key means the
// built-in default. Transparent comparator: find() takes a string_view.
using origin_map = std::map<std::string, source_location, std::less<>>;

// One [[detectors.<id>.suppress]] entry. Every criterion present must match; absent = any.
struct suppression {
  std::optional<std::string> rule;       // rule id
  std::optional<std::string> principal;  // glob over the finding's principal ARN
  std::optional<std::string> account;    // 12 digits, the finding's account_id
  std::optional<cidr> source_cidr;       // the finding's source_ip must be inside
  std::optional<int64_t> until_ms;       // epoch ms UTC, exclusive: expired at/after it
  std::string until_text;                // `until` as written (for show), empty if absent
  std::string reason;                    // required
  source_location origin;                // the [[...suppress]] header (or inline table)
  origin_map origins;                    // per field: "rule", "principal", ...

  // Whether this suppression covers a finding. `event_time_ms` is the finding's (last) event
  // time, never wall clock. A `source_cidr` never matches a non-IP source ("AWS Internal").
  bool matches(std::string_view rule_id, std::string_view principal_arn,
               std::string_view account_id, std::string_view source_ip,
               int64_t event_time_ms) const noexcept;
};

struct detector_config {
  std::string id;
  std::optional<bool> enabled;               // absent = enabled
  std::optional<int32_t> severity_override;  // TH_SEVERITY_* 0..4 for all its findings
  std::vector<std::string> disabled_rules;
  std::vector<suppression> suppressions;  // replaced wholesale by a later layer's `suppress`
  // Raw [detectors.<id>.params] values, merged key by key across layers; typed and checked
  // against the plugin's param specs by validate()/resolve_params(). toml++ drops source
  // information when nodes are copied, hence param_origins.
  toml::table params;
  origin_map param_origins;  // param name -> where its effective value was written
  origin_map origins;        // "enabled", "severity", "disabled_rules", "suppress"
  source_location origin;    // where [detectors.<id>] first appeared

  bool is_enabled() const noexcept { return enabled.value_or(true); }
  bool rule_disabled(std::string_view rule_id) const noexcept;
  // First suppression matching the finding, or nullptr.
  const suppression* find_suppression(std::string_view rule_id, std::string_view principal_arn,
                                      std::string_view account_id, std::string_view source_ip,
                                      int64_t event_time_ms) const noexcept;
};

struct global_config {
  std::string environment;               // default: the --env name, else ""
  std::vector<std::string> plugin_dirs;  // relative entries resolved against their file's dir
  // Pinned plugins: file name (e.g. "th-iam-keys.so") or path -> lowercase hex SHA-256. A
  // pinned file whose content differs is refused.
  std::map<std::string, std::string> plugin_sha256;
  std::vector<std::string> org_account_ids;         // each exactly 12 digits
  std::vector<std::string> trusted_cidrs;           // as written (validated)
  cidr_set trusted_networks;                        // trusted_cidrs parsed
  std::vector<std::string> admin_principals;        // globs over principal ARNs
  std::vector<std::string> break_glass_principals;  // globs over principal ARNs
  int64_t dedup_window_s = DEFAULT_DEDUP_WINDOW_S;
  int64_t max_record_bytes = DEFAULT_MAX_RECORD_BYTES;
  int64_t max_depth = DEFAULT_MAX_DEPTH;
  int64_t max_file_bytes = DEFAULT_MAX_FILE_BYTES;
  // "environment", "plugin_dirs", ..., "input.dedup_window", "input.max_record_bytes", ...
  origin_map origins;

  bool is_org_account(std::string_view account_id) const noexcept;
  bool is_trusted_ip(std::string_view ip) const noexcept {
    return trusted_networks.contains_ip(ip);
  }
  bool is_admin(std::string_view principal_arn) const noexcept;
  bool is_break_glass(std::string_view principal_arn) const noexcept;
};

struct effective_config {
  global_config global;
  std::map<std::string, detector_config, std::less<>> detectors;  // only configured ones
  std::vector<std::string> files;  // layers applied in order (virtual paths included)

  // nullptr when the detector has no [detectors.<id>] table (= enabled, all defaults).
  const detector_config* find(std::string_view id) const noexcept;
  bool detector_enabled(std::string_view id) const noexcept {
    const detector_config* d = find(id);
    return d == nullptr || d->is_enabled();
  }
};

// --- loading -----------------------------------------------------------------------------------

// Loads `files` in order (base first), then, when `env` is non-empty, the overlay
// overlay_path(files[0], env), which must exist. With no files, `env` only names the
// environment. global.environment defaults to `env` (origin "--env") unless a file sets it.
// Throws config_error.
effective_config load_files(const std::vector<std::string>& files, const std::string& env);

// One layer from memory; `virtual_path` appears in origins and errors.
effective_config load_string(std::string_view toml, std::string_view virtual_path = "<inline>");

// Applies one more layer on top of `cfg`. All or nothing: on config_error `cfg` is unchanged.
void merge_file(effective_config& cfg, const std::string& path);
void merge_string(effective_config& cfg, std::string_view toml,
                  std::string_view virtual_path = "<inline>");

// <directory of first_file>/environments/<env>.toml. Throws config_error for an env name that
// is not [A-Za-z0-9_.-]+ (or starts with '.').
std::string overlay_path(const std::string& first_file, const std::string& env);

// --- values ------------------------------------------------------------------------------------

// Seconds from "90", "30s", "15m", "6h", "7d", "1w", "1h30m" (units s m h d w, each at most
// once, largest first). nullopt on anything else, negative or overflowing values.
std::optional<int64_t> parse_duration(std::string_view text) noexcept;
// Inverse for display: 5400 -> "1h30m", 0 -> "0s".
std::string format_duration(int64_t seconds);
// Exactly 12 ASCII digits.
bool valid_account_id(std::string_view text) noexcept;

// --- validation against the loaded plugins -----------------------------------------------------

struct diagnostic {
  enum level { warning, error };
  level lvl = error;
  std::string message;  // "file:line:col: ..."
};

// Unknown detector id -> error; unknown param -> warning (error when strict); wrong param type
// or out of range -> error; unknown rule id in disabled_rules/suppress.rule -> warning (error
// when strict). Sorted by message (file, then position). Never throws config_error.
std::vector<diagnostic> validate(const effective_config& cfg,
                                 const std::vector<detector_spec>& specs, bool strict);
bool has_errors(const std::vector<diagnostic>& diags) noexcept;

// One value per spec.params entry, in spec order: from `cfg` (may be null: all defaults) or from
// the param's default_value, a TOML value literal ("5", "\"15m\"", "[\"a\"]"; an empty literal
// is the type's zero value). Durations: integer seconds or a parse_duration() string; integers
// are accepted for double params. Config values that fail -> config_error at their origin; an
// unparsable default -> config_error naming detector and param (a plugin bug).
std::vector<param_value> resolve_params(const detector_spec& spec, const detector_config* cfg);

// --- display -----------------------------------------------------------------------------------

// The effective configuration as TOML-like text; every value line ends with "# file:line" of its
// origin ("# default" for built-ins, "# --env" for the command line). With `specs`, every loaded
// detector is listed with its resolved params, defaults included. Never throws config_error:
// invalid values are shown raw with the reason.
std::string show(const effective_config& cfg, const std::vector<detector_spec>* specs);

}  // namespace trailhound::config

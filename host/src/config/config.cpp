// SPDX-License-Identifier: Apache-2.0
// Loading TOML layers into the effective configuration, with per-value origins.
#include "config/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <utility>

#include "common/severity.hpp"
#include "config/detail.hpp"

namespace trailhound::config {

namespace {

std::string make_what(const source_location& where, const std::string& reason) {
  if (where.file.empty()) return reason;
  if (where.line == 0) return where.file + ": " + reason;
  return where.str() + ": " + reason;
}

}  // namespace

config_error::config_error(source_location where, const std::string& reason)
    : std::runtime_error(make_what(where, reason)), where_(std::move(where)), reason_(reason) {}

// --- small value helpers -----------------------------------------------------------------------

bool valid_account_id(std::string_view text) noexcept {
  return text.size() == 12 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<int64_t> parse_duration(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  auto parse_digits = [&](size_t& i) -> std::optional<int64_t> {
    size_t start = i;
    int64_t n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      int d = text[i] - '0';
      if (n > (max - d) / 10) return std::nullopt;
      n = n * 10 + d;
      ++i;
    }
    if (i == start) return std::nullopt;
    return n;
  };
  size_t i = 0;
  // Bare seconds: "90".
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return parse_digits(i);
  static constexpr std::string_view units = "wdhms";
  static constexpr int64_t unit_seconds[] = {7 * 86400, 86400, 3600, 60, 1};
  size_t next_unit = 0;  // units must appear largest first, each at most once
  int64_t total = 0;
  while (i < text.size()) {
    auto n = parse_digits(i);
    if (!n || i >= text.size()) return std::nullopt;
    size_t u = units.find(text[i++]);
    if (u == std::string_view::npos || u < next_unit) return std::nullopt;
    next_unit = u + 1;
    if (*n > (max - total) / unit_seconds[u]) return std::nullopt;
    total += *n * unit_seconds[u];
  }
  return total;
}

std::string format_duration(int64_t seconds) {
  if (seconds <= 0) return std::to_string(seconds) + "s";
  static constexpr char units[] = {'d', 'h', 'm', 's'};
  static constexpr int64_t unit_seconds[] = {86400, 3600, 60, 1};
  std::string out;
  for (int i = 0; i < 4; ++i) {
    if (seconds >= unit_seconds[i]) {
      out += std::to_string(seconds / unit_seconds[i]);
      out += units[i];
      seconds %= unit_seconds[i];
    }
  }
  return out;
}

// --- model helpers -----------------------------------------------------------------------------

bool suppression::matches(std::string_view rule_id, std::string_view principal_arn,
                          std::string_view account_id, std::string_view source_ip,
                          int64_t event_time_ms) const noexcept {
  if (until_ms && event_time_ms >= *until_ms) return false;
  if (rule && *rule != rule_id) return false;
  if (principal && !glob_match(*principal, principal_arn)) return false;
  if (account && *account != account_id) return false;
  if (source_cidr && !source_cidr->contains_ip(source_ip)) return false;
  return true;
}

bool detector_config::rule_disabled(std::string_view rule_id) const noexcept {
  return std::find(disabled_rules.begin(), disabled_rules.end(), rule_id) != disabled_rules.end();
}

const suppression* detector_config::find_suppression(std::string_view rule_id,
                                                     std::string_view principal_arn,
                                                     std::string_view account_id,
                                                     std::string_view source_ip,
                                                     int64_t event_time_ms) const noexcept {
  for (const auto& s : suppressions)
    if (s.matches(rule_id, principal_arn, account_id, source_ip, event_time_ms)) return &s;
  return nullptr;
}

bool global_config::is_org_account(std::string_view account_id) const noexcept {
  return std::find(org_account_ids.begin(), org_account_ids.end(), account_id) !=
         org_account_ids.end();
}

bool global_config::is_admin(std::string_view principal_arn) const noexcept {
  return std::any_of(admin_principals.begin(), admin_principals.end(),
                     [&](const std::string& g) { return glob_match(g, principal_arn); });
}

bool global_config::is_break_glass(std::string_view principal_arn) const noexcept {
  return std::any_of(break_glass_principals.begin(), break_glass_principals.end(),
                     [&](const std::string& g) { return glob_match(g, principal_arn); });
}

const detector_config* effective_config::find(std::string_view id) const noexcept {
  auto it = detectors.find(id);
  return it == detectors.end() ? nullptr : &it->second;
}

// --- layer application -------------------------------------------------------------------------

namespace {

constexpr std::string_view TOP_KEYS[] = {
    "environment",   "plugin_dirs",      "org_account_ids",
    "trusted_cidrs", "admin_principals", "break_glass_principals",
    "input",         "detectors",        "plugin_sha256"};
constexpr std::string_view INPUT_KEYS[] = {"dedup_window", "max_record_bytes", "max_depth",
                                           "max_file_bytes"};
constexpr std::string_view DETECTOR_KEYS[] = {"enabled", "severity", "disabled_rules", "params",
                                              "suppress"};
constexpr std::string_view SUPPRESS_KEYS[] = {"rule",        "principal", "account",
                                              "source_cidr", "until",     "reason"};

template <size_t N>
std::string join_keys(const std::string_view (&keys)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i) out += ", ";
    out += keys[i];
  }
  return out;
}

// Applies one parsed document to an effective_config. Positions come from toml++ source().
class layer {
 public:
  layer(effective_config& cfg, std::string path) : cfg_(cfg), path_(std::move(path)) {}

  void apply(const toml::table& doc) {
    for (const auto& [k, v] : ordered(doc)) {
      const std::string key(k->str());
      global_config& g = cfg_.global;
      if (key == "environment") {
        g.environment = string_value(*v, key);
      } else if (key == "plugin_dirs") {
        g.plugin_dirs.clear();
        for (auto& [s, where] : string_array(*v, key)) {
          if (s.empty()) fail(where, "plugin_dirs: empty directory name");
          g.plugin_dirs.push_back(resolve_dir(s));
        }
      } else if (key == "org_account_ids") {
        g.org_account_ids.clear();
        for (auto& [s, where] : string_array(*v, key)) {
          if (!valid_account_id(s))
            fail(where, "org_account_ids: '" + s + "' is not an AWS account id (12 digits)");
          g.org_account_ids.push_back(s);
        }
      } else if (key == "trusted_cidrs") {
        g.trusted_cidrs.clear();
        g.trusted_networks = cidr_set();
        for (auto& [s, where] : string_array(*v, key)) {
          g.trusted_networks.add(parse_cidr(s, where, key));
          g.trusted_cidrs.push_back(s);
        }
      } else if (key == "admin_principals" || key == "break_glass_principals") {
        auto& list = key == "admin_principals" ? g.admin_principals : g.break_glass_principals;
        list.clear();
        for (auto& [s, where] : string_array(*v, key)) {
          if (s.empty()) fail(where, key + ": empty pattern");
          list.push_back(s);
        }
      } else if (key == "plugin_sha256") {
        for (const auto& [name, hv] : ordered(table_value(*v, key))) {
          std::string hex = string_value(*hv, key + "." + key_of(*name));
          bool ok = hex.size() == 64 &&
                    hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
          if (!ok) fail(at(*hv), key + "." + key_of(*name) + ": not a SHA-256 in hex (64 digits)");
          for (auto& c : hex) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          g.plugin_sha256[std::string(name->str())] = hex;
        }
      } else if (key == "input") {
        apply_input(table_value(*v, key));
        continue;  // origins per input key
      } else if (key == "detectors") {
        for (const auto& [id, dv] : ordered(table_value(*v, key)))
          apply_detector(std::string(id->str()), *id, table_value(*dv, "detectors." + key_of(*id)));
        continue;
      } else {
        fail(at(*k), "unknown top-level key '" + key + "' (known: " + join_keys(TOP_KEYS) + ")");
      }
      g.origins[key] = at(*v);
    }
  }

 private:
  using entry = std::pair<const toml::key*, const toml::node*>;

  // Keys in document order, so the first error reported is the first in the file.
  static std::vector<entry> ordered(const toml::table& t) {
    std::vector<entry> out;
    for (const auto& [k, v] : t) out.emplace_back(&k, &v);
    auto pos = [](const entry& e) {
      const auto& b = e.first->source().begin;
      return std::pair{b.line, b.column};
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const entry& a, const entry& b) { return pos(a) < pos(b); });
    return out;
  }

  static std::string key_of(const toml::key& k) { return detail::format_key(k.str()); }

  source_location at(const toml::source_region& r) const {
    return source_location{path_, r.begin.line, r.begin.column};
  }
  source_location at(const toml::node& n) const { return at(n.source()); }
  source_location at(const toml::key& k) const {
    // Implicit keys may lack a position; fall back to nothing better than line 0.
    return at(k.source());
  }

  [[noreturn]] static void fail(const source_location& where, const std::string& reason) {
    throw config_error(where, reason);
  }

  [[noreturn]] void type_fail(const toml::node& n, const std::string& what,
                              std::string_view expected) const {
    fail(at(n), what + " must be " + std::string(expected) + ", not " +
                    std::string(detail::node_type_name(n)));
  }

  const toml::table& table_value(const toml::node& n, const std::string& what) const {
    if (!n.is_table()) type_fail(n, what, "a table");
    return *n.as_table();
  }

  std::string string_value(const toml::node& n, const std::string& what) const {
    if (!n.is_string()) type_fail(n, what, "a string");
    return n.as_string()->get();
  }

  bool bool_value(const toml::node& n, const std::string& what) const {
    if (!n.is_boolean()) type_fail(n, what, "a boolean (true or false)");
    return n.as_boolean()->get();
  }

  std::vector<std::pair<std::string, source_location>> string_array(const toml::node& n,
                                                                    const std::string& what) const {
    if (!n.is_array()) type_fail(n, what, "an array of strings");
    std::vector<std::pair<std::string, source_location>> out;
    size_t i = 0;
    for (const auto& e : *n.as_array()) {
      if (!e.is_string()) type_fail(e, what + "[" + std::to_string(i) + "]", "a string");
      out.emplace_back(e.as_string()->get(), at(e));
      ++i;
    }
    return out;
  }

  int64_t positive_int(const toml::node& n, const std::string& what) const {
    if (!n.is_integer()) type_fail(n, what, "a positive integer");
    int64_t v = n.as_integer()->get();
    if (v <= 0) fail(at(n), what + " must be a positive integer, not " + std::to_string(v));
    return v;
  }

  int64_t duration_value(const toml::node& n, const std::string& what) const {
    if (n.is_integer()) {
      int64_t v = n.as_integer()->get();
      if (v < 0) fail(at(n), what + ": a duration cannot be negative (" + std::to_string(v) + ")");
      return v;
    }
    if (n.is_string()) {
      const std::string& s = n.as_string()->get();
      if (auto d = parse_duration(s)) return *d;
      fail(at(n), what + ": malformed duration \"" + s +
                      "\" (integer seconds or e.g. \"30s\", \"15m\", \"6h\", \"7d\", \"1h30m\")");
    }
    type_fail(n, what, "a duration (integer seconds or a string such as \"6h\")");
  }

  cidr parse_cidr(const std::string& s, const source_location& where,
                  const std::string& what) const {
    if (auto c = cidr::parse_strict(s)) return *c;
    if (auto loose = cidr::parse(s))
      fail(where, what + ": '" + s + "' has host bits set beyond the prefix (did you mean '" +
                      loose->str() + "'?)");
    fail(where,
         what + ": '" + s + "' is not an IPv4 or IPv6 CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)");
  }

  std::string resolve_dir(const std::string& dir) const {
    namespace fs = std::filesystem;
    fs::path p(dir);
    if (p.is_absolute()) return p.lexically_normal().string();
    fs::path base = fs::path(path_).parent_path();
    if (base.empty()) return p.lexically_normal().string();
    return (base / p).lexically_normal().string();
  }

  void apply_input(const toml::table& t) {
    global_config& g = cfg_.global;
    for (const auto& [k, v] : ordered(t)) {
      const std::string key(k->str());
      const std::string what = "input." + key;
      if (key == "dedup_window") {
        g.dedup_window_s = duration_value(*v, what);
      } else if (key == "max_record_bytes") {
        g.max_record_bytes = positive_int(*v, what);
      } else if (key == "max_depth") {
        g.max_depth = positive_int(*v, what);
        if (g.max_depth > MAX_MAX_DEPTH)
          fail(at(*v), what + " must be at most " + std::to_string(MAX_MAX_DEPTH) +
                           " (deeper JSON risks stack exhaustion)");
      } else if (key == "max_file_bytes") {
        g.max_file_bytes = positive_int(*v, what);
      } else {
        fail(at(*k), "unknown key '" + key + "' in [input] (known: " + join_keys(INPUT_KEYS) + ")");
      }
      g.origins[what] = at(*v);
    }
  }

  void apply_detector(const std::string& id, const toml::key& id_key, const toml::table& t) {
    const std::string prefix = "detectors." + detail::format_key(id);
    auto [it, inserted] = cfg_.detectors.try_emplace(id);
    detector_config& d = it->second;
    if (inserted) {
      d.id = id;
      d.origin = at(id_key);
      if (d.origin.line == 0) d.origin = at(t);
    }
    for (const auto& [k, v] : ordered(t)) {
      const std::string key(k->str());
      const std::string what = prefix + "." + detail::format_key(key);
      if (key == "enabled") {
        d.enabled = bool_value(*v, what);
      } else if (key == "severity") {
        std::string s = string_value(*v, what);
        auto sev = parse_severity(s);
        if (!sev)
          fail(at(*v), what + ": invalid severity \"" + s +
                           "\" (expected info, low, medium, high or critical)");
        d.severity_override = *sev;
      } else if (key == "disabled_rules") {
        d.disabled_rules.clear();
        for (auto& [s, where] : string_array(*v, what)) {
          if (s.empty()) fail(where, what + ": empty rule id");
          d.disabled_rules.push_back(s);
        }
      } else if (key == "params") {
        for (const auto& [pk, pv] : ordered(table_value(*v, what))) {
          std::string name(pk->str());
          pv->visit([&](const auto& node) { d.params.insert_or_assign(name, node); });
          d.param_origins[name] = at(*pv);
        }
        continue;
      } else if (key == "suppress") {
        if (!v->is_array())
          type_fail(*v, what, "an array of tables (write [[" + what + "]] sections)");
        std::vector<suppression> list;
        size_t i = 0;
        for (const auto& e : *v->as_array()) {
          std::string item = what + "[" + std::to_string(i++) + "]";
          list.push_back(parse_suppression(table_value(e, item), item));
        }
        d.suppressions = std::move(list);
      } else {
        fail(at(*k), "unknown key '" + key + "' in [" + prefix +
                         "] (known: " + join_keys(DETECTOR_KEYS) + ")");
      }
      d.origins[key] = at(*v);
    }
  }

  suppression parse_suppression(const toml::table& t, const std::string& what) const {
    suppression s;
    s.origin = at(t);
    for (const auto& [k, v] : ordered(t)) {
      const std::string key(k->str());
      const std::string field = what + "." + detail::format_key(key);
      if (key == "rule") {
        s.rule = string_value(*v, field);
      } else if (key == "principal") {
        s.principal = string_value(*v, field);
      } else if (key == "account") {
        std::string a = string_value(*v, field);
        if (!valid_account_id(a))
          fail(at(*v), field + ": '" + a + "' is not an AWS account id (12 digits)");
        s.account = a;
      } else if (key == "source_cidr") {
        s.source_cidr = parse_cidr(string_value(*v, field), at(*v), field);
      } else if (key == "until") {
        s.until_ms = until_value(*v, field);
        s.until_text = detail::format_node(*v);
      } else if (key == "reason") {
        s.reason = string_value(*v, field);
        if (s.reason.find_first_not_of(" \t") == std::string::npos)
          fail(at(*v), field + ": the reason must not be empty");
      } else {
        fail(at(*k),
             "unknown key '" + key + "' in " + what + " (known: " + join_keys(SUPPRESS_KEYS) + ")");
      }
      s.origins[key] = at(*v);
    }
    if (s.reason.empty())
      fail(s.origin, what + ": a suppression needs a reason = \"...\" (why it is safe to ignore)");
    return s;
  }

  // Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int64_t>(doe) - 719468;
  }

  // A date means "through the end of that day, UTC"; a local date-time is taken as UTC.
  int64_t until_value(const toml::node& n, const std::string& what) const {
    constexpr int64_t day_ms = 86400000;
    if (n.is_date()) {
      const toml::date& d = n.as_date()->get();
      return (days_from_civil(d.year, d.month, d.day) + 1) * day_ms;
    }
    if (n.is_date_time()) {
      const toml::date_time& dt = n.as_date_time()->get();
      int64_t ms = days_from_civil(dt.date.year, dt.date.month, dt.date.day) * day_ms +
                   (dt.time.hour * 3600 + dt.time.minute * 60 + dt.time.second) * int64_t{1000} +
                   dt.time.nanosecond / 1000000;
      if (dt.offset) ms -= int64_t{dt.offset->minutes} * 60000;
      return ms;
    }
    if (n.is_string())
      fail(at(n), what +
                      " must be a TOML date or date-time without quotes, e.g. until = "
                      "2027-01-31T00:00:00Z");
    type_fail(n, what, "a date (2027-01-31) or date-time (2027-01-31T00:00:00Z)");
  }

  effective_config& cfg_;
  std::string path_;
};

toml::table parse_document(std::string_view text, const std::string& path) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw config_error(source_location{path, b.line, b.column},
                       "TOML syntax error: " + std::string(e.description()));
  }
}

std::string read_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw config_error(source_location{path, 0, 0}, "is a directory, not a TOML file");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw config_error(source_location{path, 0, 0},
                       std::string("cannot open: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw config_error(source_location{path, 0, 0}, "read error");
  return std::move(ss).str();
}

void apply_text(effective_config& cfg, std::string_view text, const std::string& path) {
  toml::table doc = parse_document(text, path);
  effective_config next = cfg;  // all or nothing
  layer(next, path).apply(doc);
  next.files.push_back(path);
  cfg = std::move(next);
}

void check_env_name(const std::string& env) {
  bool ok = !env.empty() && env.front() != '.' && std::all_of(env.begin(), env.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
  if (!ok)
    throw config_error(source_location{"--env", 0, 0},
                       "invalid environment name '" + env +
                           "' (letters, digits, '-', '_' and '.', not starting with '.')");
}

}  // namespace

std::string overlay_path(const std::string& first_file, const std::string& env) {
  check_env_name(env);
  namespace fs = std::filesystem;
  return (fs::path(first_file).parent_path() / "environments" / (env + ".toml")).string();
}

void merge_file(effective_config& cfg, const std::string& path) {
  apply_text(cfg, read_file(path), path);
}

void merge_string(effective_config& cfg, std::string_view toml, std::string_view virtual_path) {
  apply_text(cfg, toml, std::string(virtual_path));
}

effective_config load_string(std::string_view toml, std::string_view virtual_path) {
  effective_config cfg;
  merge_string(cfg, toml, virtual_path);
  return cfg;
}

effective_config load_files(const std::vector<std::string>& files, const std::string& env) {
  effective_config cfg;
  std::string overlay;
  if (!env.empty()) {
    check_env_name(env);
    if (!files.empty()) overlay = overlay_path(files.front(), env);
    cfg.global.environment = env;
    cfg.global.origins["environment"] = source_location{"--env", 0, 0};
  }
  for (const auto& f : files) merge_file(cfg, f);
  if (!overlay.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(overlay, ec))
      throw config_error(
          source_location{overlay, 0, 0},
          "no overlay for --env " + env + " (expected this file next to " + files.front() + ")");
    merge_file(cfg, overlay);
  }
  return cfg;
}

}  // namespace trailhound::config

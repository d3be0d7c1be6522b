// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: configuration loading. The bytes are a TOML layer; config_error is the only
// exception allowed out of loading, validation against detector specs, parameter resolution and
// display. Anything else escaping (or any sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/detector_spec.hpp"
#include "config/config.hpp"

namespace {

using namespace trailhound;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_config: invariant violated: %s\n", what);
  std::abort();
}
#define CHECK(cond)           \
  do {                        \
    if (!(cond)) fail(#cond); \
  } while (0)

param_spec param(const char* name, param_type type, const char* def, bool ranged = false,
                 double lo = 0, double hi = 0) {
  param_spec p;
  p.name = name;
  p.type = type;
  p.default_value = def;
  p.description = "fuzz";
  p.has_range = ranged;
  p.min_value = lo;
  p.max_value = hi;
  return p;
}

// Two detectors with a parameter of every type, as a plugin would declare them.
const std::vector<detector_spec>& specs() {
  static const std::vector<detector_spec> s = [] {
    detector_spec a;
    a.id = "iam-keys";
    a.version = "1.0.0";
    a.params = {param("enumeration_threshold", param_type::integer, "10", true, 1, 1000),
                param("window", param_type::duration, "\"15m\""),
                param("ratio", param_type::floating, "0.5", true, 0, 1),
                param("strict", param_type::boolean, "false"),
                param("name", param_type::string, "\"x\""),
                param("users", param_type::string_list, "[\"a\", \"b\"]"),
                param("empty", param_type::string_list, "")};
    a.rules = {{"access-key-created-for-other-user", 3, "t", "T1098.001", "d"},
               {"new-key-first-call-whoami", 2, "t", "", "d"}};
    a.subscriptions = {{"iam.amazonaws.com", "*"}};
    detector_spec b = a;
    b.id = "security-groups";
    b.params = {param("window", param_type::duration, "3600"),
                param("web_ports", param_type::string_list, "[]")};
    return std::vector<detector_spec>{a, b};
  }();
  return s;
}

volatile size_t g_sink;

void exercise(const config::effective_config& cfg) {
  size_t h = 0;
  for (bool strict : {false, true}) {
    auto diags = config::validate(cfg, specs(), strict);
    for (const auto& d : diags) CHECK(!d.message.empty());
    h += diags.size() + config::has_errors(diags);
  }
  h += config::show(cfg, nullptr).size();
  h += config::show(cfg, &specs()).size();
  for (const auto& spec : specs()) {
    try {
      h += config::resolve_params(spec, cfg.find(spec.id)).size();
    } catch (const config::config_error& e) {
      CHECK(e.what()[0] != '\0');
    }
  }
  // Every query the scan makes of the configuration.
  const auto& g = cfg.global;
  h += g.is_org_account("111122223333") + g.is_trusted_ip("203.0.113.7") +
       g.is_trusted_ip("2001:db8::1") + g.is_trusted_ip("AWS Internal") +
       g.is_admin("arn:aws:iam::111122223333:role/Admin") +
       g.is_break_glass("arn:aws:iam::111122223333:role/BreakGlass");
  CHECK(g.max_depth >= 1 && g.max_depth <= config::MAX_MAX_DEPTH);
  CHECK(g.max_record_bytes > 0 && g.max_file_bytes > 0 && g.dedup_window_s >= 0);
  for (const auto& [id, d] : cfg.detectors) {
    h += d.is_enabled() + d.rule_disabled("new-key-first-call-whoami");
    h += d.find_suppression("access-key-created-for-other-user",
                            "arn:aws:iam::111122223333:role/CI-deploy", "111122223333", "10.1.2.3",
                            1795168800000) != nullptr;
    h += d.find_suppression("x", "", "", "::1", INT64_MIN) != nullptr;
  }
  g_sink = h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  config::effective_config cfg;
  bool loaded = false;
  try {
    cfg = config::load_string(text, "fuzz.toml");
    loaded = true;
  } catch (const config::config_error& e) {
    CHECK(std::string_view(e.what()).substr(0, 9) == "fuzz.toml");
  }
  if (!loaded) return 0;
  exercise(cfg);
  // The same text as an overlay on itself: merged key by key, all or nothing.
  const config::effective_config before = cfg;
  try {
    config::merge_string(cfg, text, "overlay.toml");
  } catch (const config::config_error&) {
    CHECK(cfg.files == before.files);  // unchanged on error
  }
  exercise(cfg);
  // Durations and account ids the same text may hold.
  if (auto d = config::parse_duration(text.substr(0, 32))) {
    CHECK(*d >= 0);
    g_sink = config::format_duration(*d).size();
  }
  g_sink = config::valid_account_id(text);
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Config layer: overlays and origins, error positions, validation, params, show, globs, CIDRs.
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/net.hpp"

namespace fs = std::filesystem;
using namespace trailhound;
using namespace trailhound::config;

namespace {

// A fresh directory per test under TRAILHOUND_TEST_TMP (set by ctest) or the system temp dir.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("TRAILHOUND_TEST_TMP");
    fs::path root = base && *base ? fs::path(base) : fs::temp_directory_path();
    path_ = root / ("config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& rel, const std::string& text) const {
    fs::path p = path_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The message of the config_error thrown by loading `toml` as "t.toml", or "" if none.
std::string load_error(const std::string& toml) {
  try {
    load_string(toml, "t.toml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

std::string loc(const source_location& l) { return l.str(); }

param_spec param(std::string name, param_type type, std::string def) {
  param_spec p;
  p.name = std::move(name);
  p.type = type;
  p.default_value = std::move(def);
  return p;
}

param_spec ranged(param_spec p, double lo, double hi) {
  p.has_range = true;
  p.min_value = lo;
  p.max_value = hi;
  return p;
}

detector_spec sample_spec() {
  detector_spec s;
  s.id = "iam-keys";
  s.params = {
      param("enabled_for_roles", param_type::boolean, "true"),
      ranged(param("threshold", param_type::integer, "5"), 1, 100),
      ranged(param("ratio", param_type::floating, "0.5"), 0, 1),
      param("label", param_type::string, "\"keys\""),
      param("ignore_users", param_type::string_list, "[\"svc-a\", \"svc-b\"]"),
      ranged(param("window", param_type::duration, "\"15m\""), 60, 86400),
  };
  rule_spec r1, r2;
  r1.id = "key-created-for-other-user";
  r2.id = "key-sprawl";
  s.rules = {r1, r2};
  return s;
}

std::vector<detector_spec> all_shipped_specs() {
  std::vector<detector_spec> specs;
  for (const char* id :
       {"root-account", "iam-keys", "security-groups", "defense-evasion", "mfa-and-signin",
        "privilege-escalation", "exfiltration-config", "credential-access", "recon-tooling"}) {
    detector_spec s;
    s.id = id;
    specs.push_back(s);
  }
  return specs;
}

}  // namespace

// --- overlays and origins ----------------------------------------------------------------------

TEST(ConfigLoad, EmptyConfigHasBuiltInDefaults) {
  effective_config cfg = load_files({}, "");
  EXPECT_EQ(cfg.global.environment, "");
  EXPECT_EQ(cfg.global.dedup_window_s, 6 * 3600);
  EXPECT_EQ(cfg.global.max_record_bytes, 16 << 20);
  EXPECT_EQ(cfg.global.max_depth, 64);
  EXPECT_EQ(cfg.global.max_file_bytes, int64_t{4} << 30);
  EXPECT_TRUE(cfg.detectors.empty());
  EXPECT_TRUE(cfg.detector_enabled("anything"));
  EXPECT_TRUE(cfg.files.empty());
}

TEST(ConfigLoad, OverlayOverridesValueByValueWithOrigins) {
  temp_dir dir;
  std::string base = dir.write("base.toml",
                               "org_account_ids = [\"111122223333\"]\n"      // 1
                               "trusted_cidrs = [\"10.0.0.0/8\"]\n"          // 2
                               "[input]\n"                                   // 3
                               "dedup_window = \"6h\"\n"                     // 4
                               "max_depth = 32\n"                            // 5
                               "[detectors.iam-keys]\n"                      // 6
                               "severity = \"low\"\n"                        // 7
                               "disabled_rules = [\"a\", \"b\"]\n"           // 8
                               "[detectors.iam-keys.params]\n"               // 9
                               "threshold = 3\n"                             // 10
                               "label = \"base\"\n"                          // 11
                               "[[detectors.iam-keys.suppress]]\n"           // 12
                               "principal = \"arn:aws:iam::*:role/CI-*\"\n"  // 13
                               "reason = \"ci\"\n");                         // 14
  std::string prod = dir.write("environments/prod.toml",
                               "environment = \"production\"\n"        // 1
                               "trusted_cidrs = [\"192.0.2.0/24\"]\n"  // 2
                               "[input]\n"                             // 3
                               "max_depth = 16\n"                      // 4
                               "[detectors.iam-keys]\n"                // 5
                               "enabled = false\n"                     // 6
                               "disabled_rules = [\"c\"]\n"            // 7
                               "[detectors.iam-keys.params]\n"         // 8
                               "threshold = 7\n");                     // 9

  effective_config cfg = load_files({base}, "prod");
  ASSERT_EQ(cfg.files.size(), 2u);
  EXPECT_EQ(cfg.files[0], base);
  EXPECT_EQ(cfg.files[1], prod);
  EXPECT_EQ(overlay_path(base, "prod"), prod);

  const global_config& g = cfg.global;
  EXPECT_EQ(g.environment, "production");
  EXPECT_EQ(loc(g.origins.at("environment")), prod + ":1:15");
  EXPECT_EQ(g.org_account_ids, std::vector<std::string>{"111122223333"});
  EXPECT_EQ(loc(g.origins.at("org_account_ids")), base + ":1:19");
  // Arrays are replaced wholesale.
  EXPECT_EQ(g.trusted_cidrs, std::vector<std::string>{"192.0.2.0/24"});
  EXPECT_EQ(loc(g.origins.at("trusted_cidrs")), prod + ":2:17");
  EXPECT_TRUE(g.is_trusted_ip("192.0.2.7"));
  EXPECT_FALSE(g.is_trusted_ip("10.1.2.3"));
  // Tables merge key by key.
  EXPECT_EQ(g.dedup_window_s, 6 * 3600);
  EXPECT_EQ(loc(g.origins.at("input.dedup_window")), base + ":4:16");
  EXPECT_EQ(g.max_depth, 16);
  EXPECT_EQ(loc(g.origins.at("input.max_depth")), prod + ":4:13");
  EXPECT_EQ(g.origins.count("input.max_record_bytes"), 0u);

  const detector_config* d = cfg.find("iam-keys");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(loc(d->origin), base + ":6:12");
  EXPECT_FALSE(d->is_enabled());
  EXPECT_FALSE(cfg.detector_enabled("iam-keys"));
  EXPECT_EQ(loc(d->origins.at("enabled")), prod + ":6:11");
  ASSERT_TRUE(d->severity_override.has_value());
  EXPECT_EQ(*d->severity_override, 1);
  EXPECT_EQ(loc(d->origins.at("severity")), base + ":7:12");
  EXPECT_EQ(d->disabled_rules, std::vector<std::string>{"c"});
  EXPECT_TRUE(d->rule_disabled("c"));
  EXPECT_FALSE(d->rule_disabled("a"));
  EXPECT_EQ(d->params["threshold"].value<int64_t>(), 7);
  EXPECT_EQ(loc(d->param_origins.at("threshold")), prod + ":9:13");
  EXPECT_EQ(d->params["label"].value<std::string>(), "base");
  EXPECT_EQ(loc(d->param_origins.at("label")), base + ":11:9");
  ASSERT_EQ(d->suppressions.size(), 1u);
  EXPECT_EQ(d->suppressions[0].origin.file, base);
  EXPECT_EQ(d->suppressions[0].origin.line, 12u);
}

TEST(ConfigLoad, EnvNameIsTheDefaultEnvironment) {
  temp_dir dir;
  std::string base = dir.write("base.toml", "");
  dir.write("environments/dev.toml", "[detectors.iam-keys]\nenabled = true\n");
  effective_config cfg = load_files({base}, "dev");
  EXPECT_EQ(cfg.global.environment, "dev");
  EXPECT_EQ(cfg.global.origins.at("environment").file, "--env");
  // No files: --env only names the environment.
  EXPECT_EQ(load_files({}, "qa").global.environment, "qa");
}

TEST(ConfigLoad, LaterFilesOverrideEarlierOnes) {
  temp_dir dir;
  std::string a = dir.write("a.toml", "environment = \"a\"\nadmin_principals = [\"x\"]\n");
  std::string b = dir.write("b.toml", "environment = \"b\"\n");
  effective_config cfg = load_files({a, b}, "");
  EXPECT_EQ(cfg.global.environment, "b");
  EXPECT_EQ(cfg.global.origins.at("environment").file, b);
  EXPECT_EQ(cfg.global.admin_principals, std::vector<std::string>{"x"});
}

TEST(ConfigLoad, MissingOverlayIsAnError) {
  temp_dir dir;
  std::string base = dir.write("base.toml", "");
  try {
    load_files({base}, "nope");
    FAIL() << "expected config_error";
  } catch (const config_error& e) {
    std::string expected = (dir.path() / "environments" / "nope.toml").string() + ": ";
    EXPECT_EQ(std::string(e.what()).rfind(expected, 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("--env nope"), std::string::npos) << e.what();
  }
}

TEST(ConfigLoad, BadEnvNameAndMissingFile) {
  EXPECT_THROW(load_files({}, "../etc"), config_error);
  EXPECT_THROW(load_files({"base.toml"}, ".hidden"), config_error);
  try {
    load_files({"/nonexistent/trailhound.toml"}, "");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/trailhound.toml: cannot open", 0), 0u)
        << e.what();
  }
}

TEST(ConfigLoad, RelativePluginDirsResolveAgainstTheFile) {
  temp_dir dir;
  std::string f = dir.write("conf/base.toml", "plugin_dirs = [\"../plugins\", \"/opt/th\"]\n");
  effective_config cfg = load_files({f}, "");
  ASSERT_EQ(cfg.global.plugin_dirs.size(), 2u);
  EXPECT_EQ(cfg.global.plugin_dirs[0], (dir.path() / "plugins").string());
  EXPECT_EQ(cfg.global.plugin_dirs[1], "/opt/th");
}

TEST(ConfigLoad, MergeStringIsAllOrNothing) {
  effective_config cfg = load_string("environment = \"x\"\n[detectors.a]\nenabled = false\n");
  EXPECT_THROW(merge_string(cfg, "environment = \"y\"\n[detectors.a]\nsevere = 1\n", "h.toml"),
               config_error);
  EXPECT_EQ(cfg.global.environment, "x");
  EXPECT_EQ(cfg.files.size(), 1u);
  merge_string(cfg, "[detectors.a]\nenabled = true\n[detectors.b.params]\nn = 1\n", "h.toml");
  EXPECT_TRUE(cfg.detector_enabled("a"));
  EXPECT_EQ(cfg.find("a")->origins.at("enabled").file, "h.toml");
  EXPECT_EQ(cfg.find("b")->params["n"].value<int64_t>(), 1);
  EXPECT_EQ(cfg.files.back(), "h.toml");
}

TEST(ConfigLoad, SuppressionsAndUntil) {
  effective_config cfg = load_string(
      "[[detectors.iam-keys.suppress]]\n"
      "rule = \"key-sprawl\"\n"
      "principal = \"arn:aws:iam::*:role/CI-*\"\n"
      "account = \"111122223333\"\n"
      "source_cidr = \"10.0.0.0/8\"\n"
      "until = 2027-01-31T00:00:00Z\n"
      "reason = \"ci\"\n"
      "[[detectors.iam-keys.suppress]]\n"
      "until = 2027-01-31\n"
      "reason = \"whole day\"\n"
      "[[detectors.iam-keys.suppress]]\n"
      "until = 2027-01-31T02:00:00+01:00\n"
      "reason = \"offset\"\n",
      "s.toml");
  const auto& s = cfg.find("iam-keys")->suppressions;
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].until_ms, 1801353600000);
  EXPECT_EQ(s[1].until_ms, 1801440000000);  // through the end of the day
  EXPECT_EQ(s[2].until_ms, 1801357200000);
  EXPECT_EQ(loc(s[0].origins.at("rule")), "s.toml:2:8");

  const std::string arn = "arn:aws:iam::111122223333:role/CI-deploy";
  const int64_t before = 1801353600000 - 1;
  EXPECT_TRUE(s[0].matches("key-sprawl", arn, "111122223333", "10.1.2.3", before));
  EXPECT_FALSE(s[0].matches("key-sprawl", arn, "111122223333", "10.1.2.3", before + 1));
  EXPECT_FALSE(s[0].matches("other", arn, "111122223333", "10.1.2.3", before));
  EXPECT_FALSE(s[0].matches("key-sprawl", "arn:aws:iam::111122223333:role/Admin", "111122223333",
                            "10.1.2.3", before));
  EXPECT_FALSE(s[0].matches("key-sprawl", arn, "444455556666", "10.1.2.3", before));
  EXPECT_FALSE(s[0].matches("key-sprawl", arn, "111122223333", "11.1.2.3", before));
  EXPECT_FALSE(s[0].matches("key-sprawl", arn, "111122223333", "AWS Internal", before));
  EXPECT_EQ(cfg.find("iam-keys")->find_suppression("x", "y", "z", "", 0), &s[1]);
}

TEST(ConfigLoad, GlobalHelpers) {
  effective_config cfg = load_string(
      "org_account_ids = [\"111122223333\"]\n"
      "admin_principals = [\"arn:aws:iam::*:role/Admin*\"]\n"
      "break_glass_principals = [\"arn:aws:iam::*:role/BreakGlass\"]\n");
  EXPECT_TRUE(cfg.global.is_org_account("111122223333"));
  EXPECT_FALSE(cfg.global.is_org_account("111122223334"));
  EXPECT_TRUE(cfg.global.is_admin("arn:aws:iam::123456789012:role/AdminFull"));
  EXPECT_FALSE(cfg.global.is_admin("arn:aws:iam::123456789012:role/ReadOnly"));
  EXPECT_TRUE(cfg.global.is_break_glass("arn:aws:iam::123456789012:role/BreakGlass"));
  EXPECT_FALSE(cfg.global.is_trusted_ip("10.0.0.1"));  // empty set trusts nothing
}

// --- errors with file:line:col -----------------------------------------------------------------

TEST(ConfigErrors, Positions) {
  struct error_case {
    const char* toml;
    const char* prefix;  // expected start of what()
    const char* mentions;
  };
  const error_case cases[] = {
      {"a = 1\nb = \n", "t.toml:2:", "syntax"},
      {"environment = 5\n", "t.toml:1:15: ", "environment must be a string, not an integer"},
      {"\norg_account_ids = [\"111122223333\", \"12345\"]\n", "t.toml:2:36: ", "'12345'"},
      {"org_account_ids = \"111122223333\"\n", "t.toml:1:19: ", "an array of strings"},
      {"org_account_ids = [111122223333]\n", "t.toml:1:20: ", "org_account_ids[0] must be"},
      {"trusted_cidrs = [\"10.0.0.0/33\"]\n", "t.toml:1:18: ", "not an IPv4 or IPv6 CIDR"},
      {"trusted_cidrs = [\"2001:db8::/129\"]\n", "t.toml:1:18: ", "not an IPv4 or IPv6 CIDR"},
      {"trusted_cidrs = [\"10.1.2.3/8\"]\n", "t.toml:1:18: ", "did you mean '10.0.0.0/8'"},
      {"[detectors.x]\nseverity = \"loud\"\n", "t.toml:2:12: ", "invalid severity \"loud\""},
      {"[detectors.x]\nseverity = 3\n", "t.toml:2:12: ", "must be a string"},
      {"[detectors.x]\nenabled = \"yes\"\n", "t.toml:2:11: ", "must be a boolean"},
      {"[detectors.x]\nenabled = true\n  colour = 1\n",
       "t.toml:3:3: ", "unknown key 'colour' in [detectors.x]"},
      {"\n\nverbose = true\n", "t.toml:3:1: ", "unknown top-level key 'verbose'"},
      {"[input]\ndedup_window = \"6 hours\"\n", "t.toml:2:16: ", "malformed duration"},
      {"[input]\ndedup_window = -5\n", "t.toml:2:16: ", "negative"},
      {"[input]\ndedup_window = 1.5\n", "t.toml:2:16: ", "must be a duration"},
      {"[input]\nmax_depth = 0\n", "t.toml:2:13: ", "positive integer"},
      {"[input]\nmax_depth = 100000\n", "t.toml:2:13: ", "at most 1024"},
      {"[input]\nmax_file_bytes = 1.0\n", "t.toml:2:18: ", "positive integer"},
      {"[input]\nmax_depht = 3\n", "t.toml:2:1: ", "unknown key 'max_depht' in [input]"},
      {"detectors = 1\n", "t.toml:1:13: ", "detectors must be a table"},
      {"[detectors]\nx = 1\n", "t.toml:2:5: ", "detectors.x must be a table"},
      {"[detectors.x]\nparams = [1]\n", "t.toml:2:10: ", "params must be a table"},
      {"[detectors.x]\ndisabled_rules = \"r\"\n", "t.toml:2:18: ", "an array of strings"},
      {"[detectors.x.suppress]\nreason = \"r\"\n", "t.toml:1:", "[[detectors.x.suppress]]"},
      {"[[detectors.x.suppress]]\nprincipal = \"p\"\n", "t.toml:1:1: ", "needs a reason"},
      {"[[detectors.x.suppress]]\nreason = \"\"\n", "t.toml:2:10: ", "must not be empty"},
      {"[[detectors.x.suppress]]\nreason = \"r\"\nuntil = \"2027-01-01\"\n",
       "t.toml:3:9: ", "without quotes"},
      {"[[detectors.x.suppress]]\nreason = \"r\"\nuntil = 10:00:00\n",
       "t.toml:3:9: ", "must be a date"},
      {"[[detectors.x.suppress]]\nreason = \"r\"\naccount = \"1\"\n",
       "t.toml:3:11: ", "not an AWS account id"},
      {"[[detectors.x.suppress]]\nreason = \"r\"\nsource_cidr = \"nope\"\n",
       "t.toml:3:15: ", "not an IPv4 or IPv6 CIDR"},
      {"[[detectors.x.suppress]]\nreason = \"r\"\nuser = \"u\"\n",
       "t.toml:3:1: ", "unknown key 'user'"},
  };
  for (const auto& c : cases) {
    std::string what = load_error(c.toml);
    EXPECT_EQ(what.rfind(c.prefix, 0), 0u) << "toml:\n" << c.toml << "\nerror: " << what;
    EXPECT_NE(what.find(c.mentions), std::string::npos) << "toml:\n"
                                                        << c.toml << "\nerror: " << what;
  }
}

TEST(ConfigErrors, CarriesLocationParts) {
  try {
    load_string("[detectors.x]\nseverity = \"loud\"\n", "f.toml");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.where().file, "f.toml");
    EXPECT_EQ(e.where().line, 2u);
    EXPECT_EQ(e.where().column, 12u);
    EXPECT_EQ(e.reason().find("f.toml"), std::string::npos);
  }
}

TEST(ConfigErrors, FirstErrorInDocumentOrder) {
  // toml++ tables are sorted by key; errors must still come in file order.
  std::string what = load_error("zzz = 1\naaa = 2\n");
  EXPECT_EQ(what.rfind("t.toml:1:1: unknown top-level key 'zzz'", 0), 0u) << what;
}

TEST(ConfigErrors, SyntaxErrorInOverlayNamesTheOverlay) {
  temp_dir dir;
  std::string base = dir.write("base.toml", "environment = \"x\"\n");
  std::string dev = dir.write("environments/dev.toml", "\n\nenvironment = \"dev\n");
  try {
    load_files({base}, "dev");
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.where().file, dev);
    EXPECT_EQ(e.where().line, 3u);
    EXPECT_GT(e.where().column, 0u);
  }
}

// --- validate ----------------------------------------------------------------------------------

TEST(ConfigValidate, UnknownDetectorIsAnError) {
  effective_config cfg = load_string("\n[detectors.iam-key]\nenabled = true\n", "v.toml");
  auto diags = validate(cfg, {sample_spec()}, false);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].lvl, diagnostic::error);
  EXPECT_EQ(diags[0].message.rfind("v.toml:2:12: unknown detector 'iam-key'", 0), 0u)
      << diags[0].message;
  EXPECT_NE(diags[0].message.find("did you mean 'iam-keys'"), std::string::npos);
  EXPECT_TRUE(has_errors(diags));
}

TEST(ConfigValidate, UnknownParamIsAWarningUnlessStrict) {
  effective_config cfg =
      load_string("[detectors.iam-keys.params]\nthreshold = 4\nthreshhold = 5\n", "v.toml");
  auto lax = validate(cfg, {sample_spec()}, false);
  ASSERT_EQ(lax.size(), 1u);
  EXPECT_EQ(lax[0].lvl, diagnostic::warning);
  EXPECT_EQ(lax[0].message.rfind("v.toml:3:14: detectors.iam-keys.params.threshhold: unknown", 0),
            0u)
      << lax[0].message;
  EXPECT_NE(lax[0].message.find("did you mean 'threshold'"), std::string::npos);
  EXPECT_FALSE(has_errors(lax));
  auto strict = validate(cfg, {sample_spec()}, true);
  ASSERT_EQ(strict.size(), 1u);
  EXPECT_EQ(strict[0].lvl, diagnostic::error);
}

TEST(ConfigValidate, WrongTypesAndRanges) {
  effective_config cfg = load_string(
      "[detectors.iam-keys.params]\n"
      "threshold = \"5\"\n"          // 2 wrong type
      "ratio = 2\n"                  // 3 out of range (int accepted for double)
      "window = \"1w\"\n"            // 4 out of range
      "ignore_users = [\"a\", 1]\n"  // 5 wrong element
      "enabled_for_roles = 1\n"      // 6 wrong type
      "label = \"ok\"\n",
      "v.toml");
  auto diags = validate(cfg, {sample_spec()}, false);
  ASSERT_EQ(diags.size(), 5u);
  for (const auto& d : diags) EXPECT_EQ(d.lvl, diagnostic::error) << d.message;
  EXPECT_EQ(diags[0].message.rfind("v.toml:2:13: detectors.iam-keys.params.threshold (int): "
                                   "expected an integer, got a string \"5\"",
                                   0),
            0u)
      << diags[0].message;
  EXPECT_EQ(diags[1].message.rfind("v.toml:3:9: ", 0), 0u) << diags[1].message;
  EXPECT_NE(diags[1].message.find("out of range [0, 1]"), std::string::npos) << diags[1].message;
  EXPECT_EQ(diags[2].message.rfind("v.toml:4:10: ", 0), 0u) << diags[2].message;
  EXPECT_NE(diags[2].message.find("7d is out of range [1m, 1d]"), std::string::npos)
      << diags[2].message;
  EXPECT_EQ(diags[3].message.rfind("v.toml:5:16: ", 0), 0u) << diags[3].message;
  EXPECT_NE(diags[3].message.find("element 1"), std::string::npos) << diags[3].message;
  EXPECT_EQ(diags[4].message.rfind("v.toml:6:21: ", 0), 0u) << diags[4].message;
}

TEST(ConfigValidate, UnknownRulesWarn) {
  effective_config cfg = load_string(
      "[detectors.iam-keys]\n"
      "disabled_rules = [\"key-sprawl\", \"key-spraw\"]\n"
      "[[detectors.iam-keys.suppress]]\n"
      "rule = \"nope\"\n"
      "reason = \"r\"\n",
      "v.toml");
  auto diags = validate(cfg, {sample_spec()}, false);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].lvl, diagnostic::warning);
  EXPECT_NE(diags[0].message.find("did you mean 'key-sprawl'"), std::string::npos);
  EXPECT_EQ(diags[1].message.rfind("v.toml:4:8: ", 0), 0u) << diags[1].message;
  EXPECT_TRUE(has_errors(validate(cfg, {sample_spec()}, true)));
}

TEST(ConfigValidate, DiagnosticsFollowLayerOrder) {
  effective_config cfg = load_string("[detectors.zz]\nenabled = true\n", "a.toml");
  merge_string(cfg, "\n\n[detectors.aa]\nenabled = true\n", "b.toml");
  auto diags = validate(cfg, {}, false);
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message.rfind("a.toml:1:", 0), 0u) << diags[0].message;
  EXPECT_EQ(diags[1].message.rfind("b.toml:3:", 0), 0u) << diags[1].message;
}

// --- resolve_params ----------------------------------------------------------------------------

TEST(ConfigParams, DefaultsWhenNotConfigured) {
  detector_spec spec = sample_spec();
  auto v = resolve_params(spec, nullptr);
  ASSERT_EQ(v.size(), spec.params.size());
  EXPECT_EQ(v[0].name, "enabled_for_roles");
  EXPECT_TRUE(v[0].bool_value);
  EXPECT_EQ(v[1].int_value, 5);
  EXPECT_DOUBLE_EQ(v[2].double_value, 0.5);
  EXPECT_EQ(v[3].string_value, "keys");
  EXPECT_EQ(v[4].list, (std::vector<std::string>{"svc-a", "svc-b"}));
  EXPECT_EQ(v[5].type, param_type::duration);
  EXPECT_EQ(v[5].int_value, 900);
  for (const auto& p : v) EXPECT_TRUE(p.origin.file.empty());
}

TEST(ConfigParams, ConfiguredValuesWinWithOrigins) {
  effective_config cfg = load_string(
      "[detectors.iam-keys.params]\n"
      "ratio = 1\n"
      "window = \"1h30m\"\n"
      "ignore_users = []\n"
      "label = \"x\"\n",
      "p.toml");
  detector_spec spec = sample_spec();
  auto v = resolve_params(spec, cfg.find("iam-keys"));
  EXPECT_EQ(v[1].int_value, 5);  // default
  EXPECT_DOUBLE_EQ(v[2].double_value, 1.0);
  EXPECT_EQ(loc(v[2].origin), "p.toml:2:9");
  EXPECT_EQ(v[5].int_value, 5400);
  EXPECT_TRUE(v[4].list.empty());
  EXPECT_EQ(v[3].string_value, "x");

  effective_config secs = load_string("[detectors.iam-keys.params]\nwindow = 120\n");
  EXPECT_EQ(resolve_params(spec, secs.find("iam-keys"))[5].int_value, 120);
}

TEST(ConfigParams, InvalidConfiguredValueThrowsAtItsOrigin) {
  effective_config cfg = load_string("[detectors.iam-keys.params]\nthreshold = 0\n", "p.toml");
  try {
    resolve_params(sample_spec(), cfg.find("iam-keys"));
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("p.toml:2:13: ", 0), 0u) << e.what();
  }
}

TEST(ConfigParams, EmptyDefaultIsZeroValue) {
  detector_spec spec;
  spec.id = "d";
  spec.params = {param("a", param_type::string, ""), param("b", param_type::string_list, ""),
                 param("c", param_type::integer, "")};
  auto v = resolve_params(spec, nullptr);
  EXPECT_EQ(v[0].string_value, "");
  EXPECT_TRUE(v[1].list.empty());
  EXPECT_EQ(v[2].int_value, 0);
}

TEST(ConfigParams, BadDefaultIsAPluginBug) {
  for (auto p : {param("window", param_type::duration, "15m"),  // unquoted: not TOML
                 param("window", param_type::duration, "\"15 minutes\""),
                 param("window", param_type::integer, "\"5\""),
                 param("window", param_type::integer, "1\nx = 2")}) {
    detector_spec spec;
    spec.id = "my-detector";
    spec.params = {p};
    try {
      resolve_params(spec, nullptr);
      FAIL() << p.default_value;
    } catch (const config_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("my-detector"), std::string::npos) << what;
      EXPECT_NE(what.find("'window'"), std::string::npos) << what;
      EXPECT_NE(what.find("plugin bug"), std::string::npos) << what;
    }
  }
}

// --- show --------------------------------------------------------------------------------------

TEST(ConfigShow, EveryValueHasItsOrigin) {
  effective_config cfg = load_files({}, "qa");
  merge_string(cfg,
               "trusted_cidrs = [\"10.0.0.0/8\"]\n"
               "[detectors.iam-keys]\n"
               "severity = \"high\"\n"
               "[detectors.iam-keys.params]\n"
               "threshold = 9\n"
               "[[detectors.iam-keys.suppress]]\n"
               "principal = \"arn:aws:iam::*:role/CI-*\"\n"
               "until = 2027-01-31\n"
               "reason = \"ci\"\n",
               "s.toml");
  std::vector<detector_spec> specs = {sample_spec()};
  detector_spec other;
  other.id = "root-account";
  specs.push_back(other);
  std::string out = show(cfg, &specs);
  auto has_line = [&](const std::string& start, const std::string& comment) {
    size_t p = 0;
    while ((p = out.find(start, p)) != std::string::npos) {
      if (p == 0 || out[p - 1] == '\n') {
        std::string line = out.substr(p, out.find('\n', p) - p);
        if (line.size() >= comment.size() &&
            line.compare(line.size() - comment.size(), comment.size(), comment) == 0)
          return true;
      }
      ++p;
    }
    return false;
  };
  EXPECT_TRUE(has_line("environment = \"qa\"", "# --env")) << out;
  EXPECT_TRUE(has_line("trusted_cidrs = [\"10.0.0.0/8\"]", "# s.toml:1")) << out;
  EXPECT_TRUE(has_line("dedup_window = \"6h\"", "# default")) << out;
  EXPECT_TRUE(has_line("[detectors.iam-keys]", "# s.toml:2")) << out;
  EXPECT_TRUE(has_line("severity = \"high\"", "# s.toml:3")) << out;
  EXPECT_TRUE(has_line("threshold = 9", "# s.toml:5")) << out;
  EXPECT_TRUE(has_line("window = \"15m\"", "# default")) << out;
  EXPECT_TRUE(has_line("ignore_users = [\"svc-a\", \"svc-b\"]", "# default")) << out;
  EXPECT_TRUE(has_line("[[detectors.iam-keys.suppress]]", "# s.toml:6")) << out;
  EXPECT_TRUE(has_line("until = 2027-01-31", "# s.toml:8")) << out;
  EXPECT_TRUE(has_line("[detectors.root-account]", "# default")) << out;
  EXPECT_TRUE(has_line("enabled = true", "# default")) << out;

  // Without specs: only configured detectors, raw params.
  std::string raw = show(cfg, nullptr);
  EXPECT_EQ(raw.find("root-account"), std::string::npos);
  EXPECT_NE(raw.find("threshold = 9"), std::string::npos);
  EXPECT_EQ(raw.find("\nwindow = "), std::string::npos);
}

TEST(ConfigShow, InvalidValuesAreShownNotThrown) {
  effective_config cfg = load_string("[detectors.iam-keys.params]\nthreshold = \"x\"\nzz = 1\n");
  std::vector<detector_spec> specs = {sample_spec()};
  std::string out;
  EXPECT_NO_THROW(out = show(cfg, &specs));
  EXPECT_NE(out.find("INVALID"), std::string::npos) << out;
  EXPECT_NE(out.find("UNKNOWN PARAM"), std::string::npos) << out;
}

// --- shipped configs ---------------------------------------------------------------------------

TEST(ShippedConfigs, BaseWithEachEnvironmentLoadsAndValidates) {
  const std::string base = std::string(TRAILHOUND_SOURCE_DIR) + "/configs/base.toml";
  auto specs = all_shipped_specs();
  for (std::string env : {"", "dev", "staging", "prod"}) {
    SCOPED_TRACE(env);
    effective_config cfg;
    ASSERT_NO_THROW(cfg = load_files({base}, env));
    EXPECT_EQ(cfg.global.environment, env);
    EXPECT_EQ(cfg.files.size(), env.empty() ? 1u : 2u);
    for (const auto& d : validate(cfg, specs, true)) ADD_FAILURE() << d.message;
    for (const auto& s : specs) EXPECT_TRUE(cfg.detector_enabled(s.id)) << s.id;
    EXPECT_NO_THROW(show(cfg, &specs));
  }
}

// --- durations, globs, CIDRs -------------------------------------------------------------------

TEST(Duration, Parse) {
  EXPECT_EQ(parse_duration("0"), 0);
  EXPECT_EQ(parse_duration("90"), 90);
  EXPECT_EQ(parse_duration("30s"), 30);
  EXPECT_EQ(parse_duration("15m"), 900);
  EXPECT_EQ(parse_duration("6h"), 21600);
  EXPECT_EQ(parse_duration("7d"), 604800);
  EXPECT_EQ(parse_duration("1w"), 604800);
  EXPECT_EQ(parse_duration("1h30m"), 5400);
  EXPECT_EQ(parse_duration("1d2h3m4s"), 93784);
  for (const char* bad : {"", "s", "5x", "1h 30m", " 5s", "-5s", "30m1h", "1h1h", "1.5h", "h1",
                          "99999999999999999999s", "9223372036854775807m"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << bad;
  EXPECT_EQ(format_duration(5400), "1h30m");
  EXPECT_EQ(format_duration(21600), "6h");
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(93784), "1d2h3m4s");
}

TEST(Glob, Match) {
  EXPECT_TRUE(glob_match("", ""));
  EXPECT_FALSE(glob_match("", "a"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything:at/all"));
  EXPECT_TRUE(glob_match("a?c", "abc"));
  EXPECT_FALSE(glob_match("a?c", "ac"));
  EXPECT_TRUE(glob_match("arn:aws:iam::*:role/Admin*", "arn:aws:iam::123456789012:role/Admin"));
  EXPECT_TRUE(glob_match("arn:aws:iam::*:role/Admin*", "arn:aws:iam::1:role/AdminX/y"));
  EXPECT_FALSE(glob_match("arn:aws:iam::*:role/Admin*", "arn:aws:iam::1:role/admin"));
  EXPECT_FALSE(glob_match("arn:aws:iam::*:role/Admin*", "arn:aws:iam::1:user/Admin"));
  EXPECT_TRUE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob_match("*a*b*c*", "xxaxxcxxbxx"));
  EXPECT_TRUE(glob_match("**?", "x"));
  EXPECT_FALSE(glob_match("**?", ""));
  EXPECT_TRUE(glob_match("*.toml", "a.b.toml"));
  EXPECT_FALSE(glob_match("*.toml", "a.toml.bak"));
  // Pathological backtracking stays fast.
  EXPECT_FALSE(glob_match(std::string(50, '*') + "b", std::string(10000, 'a')));
}

TEST(Cidr, ParseAndFormat) {
  EXPECT_EQ(cidr::parse("10.0.0.0/8")->str(), "10.0.0.0/8");
  EXPECT_EQ(cidr::parse("10.1.2.3/8")->str(), "10.0.0.0/8");  // host bits cleared
  EXPECT_FALSE(cidr::parse_strict("10.1.2.3/8").has_value());
  EXPECT_EQ(cidr::parse("192.0.2.1")->str(), "192.0.2.1/32");
  EXPECT_EQ(cidr::parse("2001:DB8::/32")->str(), "2001:db8::/32");
  EXPECT_EQ(cidr::parse("2001:db8::1")->str(), "2001:db8::1/128");
  EXPECT_EQ(cidr::parse("0.0.0.0/0")->str(), "0.0.0.0/0");
  EXPECT_EQ(cidr::parse("::/0")->str(), "::/0");
  EXPECT_EQ(cidr::parse("10.0.0.0/8")->fam, cidr::family::v4);
  EXPECT_EQ(cidr::parse("::/0")->fam, cidr::family::v6);
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0/8", "10.0.0.256/32", "10.0.0.0/8/8",
        "10.0.0.0/+8", "10.0.0.0/ 8", " 10.0.0.0/8", "2001:db8::/129", "2001:db8:::/32",
        "fe80::1%eth0", "host/8", "AWS Internal", "10.0.0.0/0008"})
    EXPECT_FALSE(cidr::parse(bad).has_value()) << bad;
}

TEST(Cidr, ContainsIpV4) {
  auto c = *cidr::parse("203.0.113.0/24");
  EXPECT_TRUE(c.contains_ip("203.0.113.0"));
  EXPECT_TRUE(c.contains_ip("203.0.113.255"));
  EXPECT_FALSE(c.contains_ip("203.0.114.0"));
  EXPECT_FALSE(c.contains_ip("203.0.112.255"));
  EXPECT_FALSE(c.contains_ip("2001:db8::1"));
  EXPECT_FALSE(c.contains_ip("s3.amazonaws.com"));
  EXPECT_FALSE(c.contains_ip(""));
  EXPECT_TRUE(c.contains_ip("::ffff:203.0.113.9"));  // IPv4-mapped
  auto odd = *cidr::parse("10.0.0.0/13");
  EXPECT_TRUE(odd.contains_ip("10.7.255.255"));
  EXPECT_FALSE(odd.contains_ip("10.8.0.0"));
  auto all = *cidr::parse("0.0.0.0/0");
  EXPECT_TRUE(all.contains_ip("1.2.3.4"));
  EXPECT_TRUE(all.contains_ip("255.255.255.255"));
  EXPECT_FALSE(all.contains_ip("::1"));
  auto host = *cidr::parse("192.0.2.7/32");
  EXPECT_TRUE(host.contains_ip("192.0.2.7"));
  EXPECT_FALSE(host.contains_ip("192.0.2.8"));
}

TEST(Cidr, ContainsIpV6) {
  auto c = *cidr::parse("2001:db8::/32");
  EXPECT_TRUE(c.contains_ip("2001:db8::1"));
  EXPECT_TRUE(c.contains_ip("2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(c.contains_ip("2001:db9::1"));
  EXPECT_FALSE(c.contains_ip("10.0.0.1"));
  auto odd = *cidr::parse("2001:db8:8000::/33");
  EXPECT_TRUE(odd.contains_ip("2001:db8:8000::1"));
  EXPECT_FALSE(odd.contains_ip("2001:db8:7fff::1"));
  auto all = *cidr::parse("::/0");
  EXPECT_TRUE(all.contains_ip("::1"));
  EXPECT_TRUE(all.contains_ip("fe80::1"));
  EXPECT_FALSE(all.contains_ip("1.2.3.4"));
}

TEST(Cidr, ContainsCidr) {
  auto c = *cidr::parse("10.0.0.0/8");
  EXPECT_TRUE(c.contains(*cidr::parse("10.0.0.0/8")));
  EXPECT_TRUE(c.contains(*cidr::parse("10.20.0.0/16")));
  EXPECT_TRUE(c.contains(*cidr::parse("10.255.255.255/32")));
  EXPECT_FALSE(c.contains(*cidr::parse("10.0.0.0/7")));
  EXPECT_FALSE(c.contains(*cidr::parse("11.0.0.0/16")));
  EXPECT_FALSE(c.contains(*cidr::parse("::/0")));
  EXPECT_TRUE(cidr::parse("0.0.0.0/0")->contains(*cidr::parse("0.0.0.0/0")));
  EXPECT_FALSE(c.contains(*cidr::parse("0.0.0.0/0")));
  EXPECT_TRUE(cidr::parse("::/0")->contains(*cidr::parse("2001:db8::/32")));
  EXPECT_FALSE(cidr::parse("::/0")->contains(*cidr::parse("10.0.0.0/8")));
}

TEST(Cidr, Set) {
  cidr_set empty;
  EXPECT_FALSE(empty.contains_ip("10.0.0.1"));
  EXPECT_FALSE(empty.contains_ip("0.0.0.0/0"));
  cidr_set s;
  s.add(*cidr::parse("10.0.0.0/8"));
  s.add(*cidr::parse("2001:db8::/32"));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_TRUE(s.contains_ip("10.9.8.7"));
  EXPECT_TRUE(s.contains_ip("2001:db8:1::5"));
  EXPECT_FALSE(s.contains_ip("192.168.0.1"));
  EXPECT_TRUE(s.contains_ip("10.1.0.0/16"));
  EXPECT_TRUE(s.contains_ip("2001:db8:1::/48"));
  EXPECT_FALSE(s.contains_ip("0.0.0.0/0"));  // world-open is not inside our networks
  EXPECT_FALSE(s.contains_ip("::/0"));
  EXPECT_FALSE(s.contains_ip("10.0.0.0/7"));
  EXPECT_FALSE(s.contains_ip("garbage/8"));
  EXPECT_FALSE(s.contains_ip("AWS Internal"));
}

// SPDX-License-Identifier: Apache-2.0
// Containment of faulty plugins (tests/plugins/faulty/, real shared objects): each one is
// quarantined after the documented limit (or has its malformed findings rejected and counted), a
// trailhound/detector-quarantined health finding names it and the reason, and every other
// detector's findings on samples/ are identical to a run without it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cloudtrail/record_parser.hpp"
#include "config/config.hpp"
#include "engine/engine.hpp"
#include "findings/collector.hpp"
#include "findings/finding.hpp"
#include "pipeline/scan.hpp"
#include "plugins/loader.hpp"
#include "sinks/sink.hpp"

namespace {

using namespace trailhound;

// The faulty plugins are loaded once per process (the host never unloads a plugin).
const plugins::module_info& faulty(const std::string& id) {
  static std::map<std::string, plugins::module_info> loaded;
  auto it = loaded.find(id);
  if (it == loaded.end())
    it = loaded
             .emplace(id,
                      plugins::load_plugin_file(std::string(FAULTY_PLUGIN_DIR) + "/" + id + ".so"))
             .first;
  return it->second;
}

const plugins::load_report& bundled() {
  static const plugins::load_report report = plugins::load_plugins({BUNDLED_PLUGIN_DIR});
  return report;
}

std::string record(int i, int64_t seconds_after_10h = -1) {
  int64_t s = seconds_after_10h >= 0 ? seconds_after_10h : i;
  char time[32];
  std::snprintf(time, sizeof time, "2026-11-20T%02d:%02d:%02dZ", static_cast<int>(10 + s / 3600),
                static_cast<int>(s / 60 % 60), static_cast<int>(s % 60));
  char id[48];
  std::snprintf(id, sizeof id, "0b5e1c1d-0000-4000-8000-%012d", i);
  return std::string(
             R"({"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","userName":"alice"},"eventTime":")") +
         time +
         R"(","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.10","requestParameters":{"userName":"bob"},"eventID":")" +
         id + R"(","recipientAccountId":"111122223333"})";
}

// One engine run of some modules over synthetic events, the way the CLI drives the engine.
struct run {
  config::effective_config cfg = config::load_string("", "<test>");
  findings::collector out{&cfg, "test"};
  sinks::memory_sink* sink = nullptr;
  std::optional<engine::engine> eng;
  std::vector<std::string> problems;

  explicit run(const std::vector<const plugins::module_info*>& modules,
               engine::engine_options opts = {}, std::string_view toml = "") {
    if (!toml.empty()) config::merge_string(cfg, toml, "<test>");
    auto mem = std::make_unique<sinks::memory_sink>();
    sink = mem.get();
    out.add_sink(std::move(mem));
    eng.emplace(cfg, out, opts);
    eng->set_log_to_stderr(false);
    for (const auto* m : modules)
      for (const auto& d : m->detectors) eng->add(d);
    problems = eng->start();
  }

  // Feeds events 0..n-1, one second apart (or `spacing_s` apart), then ends input.
  void feed(int n, int spacing_s = 1) {
    cloudtrail::record_parser parser;
    for (int i = 0; i < n; ++i) {
      std::string raw = record(i, static_cast<int64_t>(i) * spacing_s);
      th_event ev;
      cloudtrail::parse_error err;
      ASSERT_TRUE(parser.parse(raw, ev, err)) << err.reason;
      eng->dispatch(ev);
      parser.reset();
    }
    eng->finish();
  }

  engine::instance_stats stats(const std::string& id) const {
    for (const auto& s : eng->stats())
      if (s.instance_id == id) return s;
    ADD_FAILURE() << "no instance " << id;
    return {};
  }
  std::vector<findings::finding> by(const std::string& detector, const std::string& rule = "") {
    std::vector<findings::finding> r;
    for (const auto& f : sink->items)
      if (f.detector == detector && (rule.empty() || f.rule == rule)) r.push_back(f);
    return r;
  }
  size_t messages_containing(const std::string& text) const {
    size_t n = 0;
    for (const auto& m : eng->messages()) n += m.find(text) != std::string::npos;
    return n;
  }
};

::testing::AssertionResult contains(const std::string& haystack, const std::string& needle) {
  if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "'" << haystack << "' does not contain '" << needle << "'";
}

// The one health finding about `id`: names the detector and the reason.
void expect_health_finding(run& r, const std::string& id, const std::string& reason) {
  auto health = r.by("trailhound", "detector-quarantined");
  ASSERT_EQ(health.size(), 1u);
  const auto& f = health[0];
  EXPECT_EQ(f.title, "Detector " + id + " was quarantined");
  EXPECT_TRUE(contains(f.summary, reason));
  EXPECT_TRUE(contains(f.evidence_json, "\"detector\":\"" + id + "\""));
  EXPECT_TRUE(contains(f.evidence_json, reason));
  EXPECT_TRUE(contains(f.evidence_json, "/" + id + ".so\""));
}

}  // namespace

// --- Each fault, with synthetic events and the default policy ---------------------------------

TEST(FaultyPlugins, ErrorStormIsQuarantinedAtTheHundredthError) {
  run r({&faulty("faulty-error-storm")});
  ASSERT_TRUE(r.problems.empty());
  r.feed(150);
  auto s = r.stats("faulty-error-storm");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 100u);  // no event after the 100th error
  EXPECT_EQ(s.errors, 100u);
  EXPECT_EQ(s.quarantine_reason, "100 errors, last: error storm: event 100 refused");
  expect_health_finding(r, "faulty-error-storm",
                        "100 errors, last: error storm: event 100 refused");
  EXPECT_EQ(r.sink->items.size(), 1u);
  // The storm is not echoed line by line: the first 3 errors, then the quarantine.
  EXPECT_EQ(r.messages_containing("on_event failed: error storm"), 3u);
  EXPECT_EQ(r.messages_containing("faulty-error-storm: quarantined: 100 errors"), 1u);
}

TEST(FaultyPlugins, ErrorLimitFollowsTheEngineOptions) {
  engine::engine_options opts;
  opts.max_errors = 5;
  run r({&faulty("faulty-error-storm")}, opts);
  r.feed(20);
  EXPECT_EQ(r.stats("faulty-error-storm").events, 5u);
  expect_health_finding(r, "faulty-error-storm", "5 errors, last: error storm: event 5 refused");
}

TEST(FaultyPlugins, FatalStatusQuarantinesAtOnce) {
  run r({&faulty("faulty-fatal-status")});
  r.feed(10);
  auto s = r.stats("faulty-fatal-status");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 4u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.quarantine_reason, "on_event returned a fatal status: internal state corrupted");
  expect_health_finding(r, "faulty-fatal-status", "internal state corrupted");
  // What it found before it broke is kept.
  EXPECT_EQ(r.by("faulty-fatal-status", "first-event").size(), 1u);
}

TEST(FaultyPlugins, ExceptionEscapingRawOnEventIsCaughtAtTheAbiAndQuarantines) {
  run r({&faulty("faulty-throw-event")});
  r.feed(10);
  auto s = r.stats("faulty-throw-event");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 3u);  // it throws from its 3rd call
  EXPECT_TRUE(contains(s.quarantine_reason, "on_event threw an exception across the ABI"));
  expect_health_finding(r, "faulty-throw-event", "on_event threw an exception across the ABI");
}

TEST(FaultyPlugins, ExceptionEscapingRawOnTickIsCaughtAtTheAbiAndQuarantines) {
  run r({&faulty("faulty-throw-tick")});
  r.feed(10, 30);  // 10:00:00, 10:00:30, 10:01:00 (first tick, before that event is delivered)
  auto s = r.stats("faulty-throw-tick");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 2u);
  EXPECT_TRUE(contains(s.quarantine_reason, "on_tick threw an exception across the ABI"));
  expect_health_finding(r, "faulty-throw-tick", "on_tick threw an exception across the ABI");
  auto health = r.by("trailhound");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(cloudtrail::format_time(health[0].first_seen_ms), "2026-11-20T10:01:00Z");
}

TEST(FaultyPlugins, ExceptionEscapingRawCreateMeansNotStartedAndReported) {
  run r({&faulty("faulty-throw-create")});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0],
            "faulty-throw-create: not started: create threw an exception across the ABI");
  r.feed(5);
  auto s = r.stats("faulty-throw-create");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 0u);
  EXPECT_EQ(s.quarantine_reason, "create failed: create threw an exception across the ABI");
  expect_health_finding(r, "faulty-throw-create", "create threw an exception across the ABI");
  // Reported at the end of input, at the run's last event time.
  auto health = r.by("trailhound");
  ASSERT_EQ(health.size(), 1u);
  EXPECT_EQ(cloudtrail::format_time(health[0].first_seen_ms), "2026-11-20T10:00:04Z");
}

TEST(FaultyPlugins, SdkConstructorThrowingMeansNotStartedAndReported) {
  run r({&faulty("faulty-ctor-throws")});
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_TRUE(contains(r.problems[0], "create: constructor refuses to run"));
  r.feed(5);
  auto s = r.stats("faulty-ctor-throws");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 0u);
  EXPECT_EQ(s.quarantine_reason, "create failed: create: constructor refuses to run");
  expect_health_finding(r, "faulty-ctor-throws", "constructor refuses to run");
}

TEST(FaultyPlugins, MalformedFindingsAreRejectedCountedAndTheInstanceKeepsRunning) {
  run r({&faulty("faulty-bad-findings")});
  r.feed(10);
  auto s = r.stats("faulty-bad-findings");
  // The plugin returns TH_FATAL when the host accepts a malformed finding or rejects the valid one.
  EXPECT_FALSE(s.quarantined) << s.quarantine_reason;
  EXPECT_EQ(s.events, 10u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.rejected_findings, 48u);  // 24 malformed variants on each of its first 2 events
  EXPECT_EQ(s.findings, 2u);
  EXPECT_EQ(r.by("faulty-bad-findings", "valid").size(), 2u);
  EXPECT_EQ(r.sink->items.size(), 2u);  // nothing malformed written, no health finding
  // The first rejections are logged with their reason, the rest only counted.
  EXPECT_EQ(r.messages_containing("faulty-bad-findings: finding rejected: "), 3u);
  EXPECT_EQ(r.messages_containing("finding rejected: NULL finding"), 1u);
  EXPECT_EQ(r.messages_containing("finding rejected: missing title"), 1u);
  EXPECT_EQ(r.messages_containing("finding rejected: title has a length but a NULL pointer"), 1u);
}

TEST(FaultyPlugins, UnregisteredFieldIdReturnsNullCountsAnErrorAndQuarantinesAtTheLimit) {
  // Regression: lookups of an unregistered id were counted as errors but never quarantined the
  // instance, because every call returned TH_OK.
  run r({&faulty("faulty-unregistered-field")});
  r.feed(150);
  auto s = r.stats("faulty-unregistered-field");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 100u);
  EXPECT_EQ(s.errors, 100u);
  EXPECT_EQ(s.counters["unregistered_field_lookups"], 100);
  // Not "get_field answered an unregistered id" (the plugin's TH_FATAL when it gets a value).
  EXPECT_EQ(s.quarantine_reason, "100 errors, last: get_field: field id was never registered");
  expect_health_finding(r, "faulty-unregistered-field", "get_field: field id was never registered");
}

TEST(FaultyPlugins, SlowPluginIsQuarantinedAfterMaxSlowCalls) {
  engine::engine_options opts;
  opts.slow_call_ns = 20'000'000;
  opts.max_slow_calls = 3;
  run r({&faulty("faulty-slow")}, opts, R"([detectors.faulty-slow.params]
sleep_ms = 25
slow_events = 10)");
  auto t0 = std::chrono::steady_clock::now();
  r.feed(20);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  auto s = r.stats("faulty-slow");
  EXPECT_TRUE(s.quarantined);
  EXPECT_EQ(s.events, 3u);
  EXPECT_EQ(s.slow_calls, 3u);
  EXPECT_EQ(s.errors, 0u);
  EXPECT_EQ(s.quarantine_reason, "3 calls over the 20 ms per-call budget");
  expect_health_finding(r, "faulty-slow", "3 calls over the 20 ms per-call budget");
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(FaultyPlugins, CallsWithinTheBudgetAreNotSlow) {
  engine::engine_options opts;
  opts.slow_call_ns = 200'000'000;
  opts.max_slow_calls = 3;
  run r({&faulty("faulty-slow")}, opts, R"([detectors.faulty-slow.params]
sleep_ms = 2
slow_events = 10)");
  r.feed(20);
  auto s = r.stats("faulty-slow");
  EXPECT_FALSE(s.quarantined);
  EXPECT_EQ(s.events, 20u);
  EXPECT_EQ(s.slow_calls, 0u);
  EXPECT_TRUE(r.by("trailhound").empty());
}

// --- Isolation: the bundled detectors on samples/, with and without each faulty plugin --------

namespace {

struct expectation {
  const char* id;
  const char* reason;  // substring of the quarantine reason; nullptr: not quarantined
};

const expectation EXPECTED[] = {
    {"faulty-error-storm", "100 errors, last: error storm: event 100 refused"},
    {"faulty-fatal-status", "on_event returned a fatal status: internal state corrupted"},
    {"faulty-throw-create", "create failed: create threw an exception across the ABI"},
    {"faulty-throw-event", "on_event threw an exception across the ABI"},
    {"faulty-throw-tick", "on_tick threw an exception across the ABI"},
    {"faulty-ctor-throws", "create failed: create: constructor refuses to run"},
    {"faulty-unregistered-field", "100 errors, last: get_field: field id was never registered"},
    {"faulty-slow", "3 calls over the 50 ms per-call budget"},
    {"faulty-bad-findings", nullptr},
};

void PrintTo(const expectation& e, std::ostream* os) { *os << e.id; }

struct samples_run {
  std::map<std::string, std::string> others;  // finding_id -> JSON, detectors not under test
  std::vector<findings::finding> health;
  std::vector<engine::instance_stats> stats;
  std::vector<std::string> problems;
};

samples_run scan_samples(const std::vector<std::string>& faulty_ids) {
  const std::string src = TRAILHOUND_SOURCE_DIR;
  config::effective_config cfg = config::load_files({src + "/configs/base.toml"}, "demo");
  engine::engine_options opts;
  opts.environment = cfg.global.environment;
  std::set<std::string> under_test(faulty_ids.begin(), faulty_ids.end());
  if (under_test.count("faulty-slow")) {
    // The default budget (250 ms x 20) would make this run take 5 s: same policy, smaller numbers.
    opts.slow_call_ns = 50'000'000;
    opts.max_slow_calls = 3;
    config::merge_string(cfg, "[detectors.faulty-slow.params]\nsleep_ms = 60\n", "<test>");
  }
  findings::collector out(&cfg, cfg.global.environment);
  auto mem = std::make_unique<sinks::memory_sink>();
  sinks::memory_sink* sink = mem.get();
  out.add_sink(std::move(mem));
  engine::engine eng(cfg, out, opts);
  eng.set_log_to_stderr(false);
  for (const auto& m : bundled().modules)
    for (const auto& d : m.detectors) eng.add(d);
  for (const auto& id : faulty_ids)
    for (const auto& d : faulty(id).detectors) eng.add(d);
  samples_run r;
  r.problems = eng.start();
  pipeline::scan_options so;
  so.paths = {src + "/samples/AWSLogs"};
  so.limits.max_depth = static_cast<uint32_t>(cfg.global.max_depth);
  so.limits.max_record_bytes = static_cast<uint64_t>(cfg.global.max_record_bytes);
  so.limits.max_file_bytes = static_cast<uint64_t>(cfg.global.max_file_bytes);
  so.dedup_window_ms = cfg.global.dedup_window_s * 1000;
  so.loader_threads = 1;
  pipeline::scan_summary sum = pipeline::run_scan(so, eng, [](const std::string&) {});
  EXPECT_GT(sum.records_dispatched, 1000u);
  out.close();
  for (const auto& f : sink->items) {
    if (f.detector == "trailhound")
      r.health.push_back(f);
    else if (!under_test.count(f.detector))
      r.others.emplace(f.finding_id, findings::to_json(f));
  }
  r.stats = eng.stats();
  return r;
}

const samples_run& baseline() {
  static const samples_run b = scan_samples({});
  return b;
}

void expect_contained(const samples_run& r, const std::vector<const expectation*>& faults) {
  // Every other detector: the same findings, byte for byte.
  const samples_run& b = baseline();
  EXPECT_EQ(r.others.size(), b.others.size());
  for (const auto& [id, json] : b.others) {
    auto it = r.others.find(id);
    if (it == r.others.end())
      ADD_FAILURE() << "finding missing beside the faulty plugin: " << json;
    else
      EXPECT_EQ(it->second, json);
  }
  for (const auto& [id, json] : r.others)
    if (!b.others.count(id)) ADD_FAILURE() << "finding only beside the faulty plugin: " << json;
  // Every other detector stays healthy.
  for (const auto& s : r.stats) {
    bool faulty_one = false;
    for (const auto* e : faults) faulty_one |= s.instance_id == e->id;
    if (!faulty_one) {
      EXPECT_FALSE(s.quarantined) << s.instance_id << ": " << s.quarantine_reason;
    }
  }
  // Each faulty one: quarantined with the reason and a health finding, or its findings rejected.
  size_t expected_health = 0;
  for (const auto* e : faults) {
    const engine::instance_stats* st = nullptr;
    for (const auto& s : r.stats)
      if (s.instance_id == e->id) st = &s;
    ASSERT_NE(st, nullptr) << e->id;
    if (!e->reason) {
      EXPECT_FALSE(st->quarantined) << e->id << ": " << st->quarantine_reason;
      EXPECT_EQ(st->rejected_findings, 48u);
      EXPECT_EQ(st->findings, 2u);
      continue;
    }
    ++expected_health;
    EXPECT_TRUE(st->quarantined) << e->id;
    EXPECT_TRUE(contains(st->quarantine_reason, e->reason));
    size_t named = 0;
    for (const auto& h : r.health)
      if (h.title == std::string("Detector ") + e->id + " was quarantined") {
        ++named;
        EXPECT_TRUE(contains(h.evidence_json, e->reason));
      }
    EXPECT_EQ(named, 1u) << e->id;
  }
  EXPECT_EQ(r.health.size(), expected_health);
}

class FaultyBesideBundled : public ::testing::TestWithParam<expectation> {};

}  // namespace

TEST(FaultyPluginsOnSamples, BundledPluginsLoadAndAreHealthyWithoutFaultyOnes) {
  ASSERT_TRUE(bundled().refusals.empty()) << bundled().refusals.front();
  ASSERT_GE(bundled().modules.size(), 10u);
  EXPECT_TRUE(baseline().problems.empty());
  EXPECT_TRUE(baseline().health.empty());
  EXPECT_GT(baseline().others.size(), 10u);
}

TEST_P(FaultyBesideBundled, OtherDetectorsFindingsAreIdentical) {
  const expectation& e = GetParam();
  samples_run r = scan_samples({e.id});
  expect_contained(r, {&e});
}

INSTANTIATE_TEST_SUITE_P(FaultyPluginsOnSamples, FaultyBesideBundled, ::testing::ValuesIn(EXPECTED),
                         [](const ::testing::TestParamInfo<expectation>& info) {
                           std::string name;
                           for (const char* p = info.param.id; *p; ++p)
                             name.push_back(*p == '-' ? '_' : *p);
                           return name;
                         });

TEST(FaultyPluginsOnSamples, AllFaultyPluginsAtOnce) {
  std::vector<std::string> ids;
  std::vector<const expectation*> faults;
  for (const auto& e : EXPECTED) {
    ids.push_back(e.id);
    faults.push_back(&e);
  }
  samples_run r = scan_samples(ids);
  EXPECT_EQ(r.problems.size(), 2u);  // the two whose create fails
  expect_contained(r, faults);
}

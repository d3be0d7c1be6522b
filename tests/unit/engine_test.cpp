// SPDX-License-Identifier: Apache-2.0
// Engine, SDK and harness behaviour through a small in-process detector: routing, params, emit
// validation and defaults, ticks, flush, quarantine, state round trip.
#include <gtest/gtest.h>

#include <stdexcept>
#include <trailhound/sdk.hpp>
#include <trailhound/testing.hpp>

namespace {
using namespace trailhound::sdk;

// Echoes what it sees, misbehaves on request (eventName "Throw", "Fatal", "BadFinding").
class probe final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{
        "probe",
        "1.2.3",
        "Probe",
        "test detector",
        {{"iam.amazonaws.com", "*"}, {"*", "Throw"}, {"*", "Fatal"}, {"*", "BadFinding"}},
        {{"label", TH_PARAM_STRING, "\"default-label\"", "label put in evidence"},
         {"limit", TH_PARAM_INT, "3", "max findings", true, 0, 100},
         {"window", TH_PARAM_DURATION, "\"15m\"", "window"},
         {"names", TH_PARAM_STRING_LIST, "[\"a\", \"b\"]", "names"}},
        {{"seen", severity::low, "Probe saw an IAM event", "T1078.004", "echo"},
         {"flushed", severity::info, "Probe flushed", "", "end of input"}},
        1,
        0};
    return i;
  }
  probe(const context& ctx, const config& cfg)
      : detector(ctx),
        label_(cfg.get_string("label")),
        limit_(cfg.get_int("limit")),
        window_ms_(cfg.get_duration_ms("window")),
        names_(cfg.get_list("names")),
        user_field_(ctx.register_field("/requestParameters/userName")) {}

  void on_event(const event& e) override {
    if (e.name() == "Throw") throw std::runtime_error("boom");
    if (e.name() == "Fatal") throw std::bad_alloc();
    if (e.name() == "BadFinding") {
      finding f = make_finding("seen", e);
      f.title.clear();  // required: the host must reject it
      if (emit(f)) throw std::logic_error("host accepted a finding without title");
      return;
    }
    ++events_;
    if (static_cast<int64_t>(emitted_) >= limit_) return;
    ++emitted_;
    finding f = make_finding("seen", e);
    f.ev.add("label", label_)
        .add("userName", e.field(user_field_).str())
        .add("window_ms", window_ms_)
        .add("names", names_)
        .add("org", ctx().is_org_account(e.recipient_account()))
        .add("trusted", ctx().is_trusted_ip(e.source_ip()));
    emit(f);
  }
  void on_tick(int64_t t) override { last_tick_ = t; }
  void on_flush() override {
    finding f = ctx().make_finding("flushed");
    f.ev.add("events", events_).add("last_tick", last_tick_);
    f.first_seen_ms = last_tick_;
    emit(f);
  }
  std::string save_state() const override { return std::to_string(events_); }
  void load_state(uint32_t, std::string_view data) override {
    events_ = std::stoull(std::string(data));
  }

 private:
  std::string label_;
  int64_t limit_;
  int64_t window_ms_;
  std::vector<std::string> names_;
  field_id user_field_;
  uint64_t events_ = 0;
  uint64_t emitted_ = 0;
  int64_t last_tick_ = 0;
};

}  // namespace

TRAILHOUND_MODULE("probe", "1.2.3", probe)

using namespace trailhound::testing;

namespace {
std::string at(const std::string& rec, const char* time, const char* id) {
  return merge_json(rec,
                    std::string(R"({"eventTime":")") + time + R"(","eventID":")" + id + R"("})");
}
}  // namespace

TEST(Engine, RoutesParamsDefaultsAndEvidence) {
  harness h(&th_module_entry_v1);
  h.config(R"(org_account_ids = ["111122223333"]
trusted_cidrs = ["198.51.100.0/24"]
[detectors.probe.params]
label = "prod"
window = "1h")");
  h.feed(merge_json(records::iam_user("iam.amazonaws.com", "CreateUser"),
                    R"({"requestParameters":{"userName":"bob"}})"));
  // Not subscribed: never reaches the detector.
  h.feed(records::iam_user("s3.amazonaws.com", "ListBuckets"));
  h.finish();
  ASSERT_EQ(h.count("seen"), 1u);
  auto f = h.findings("seen")[0];
  EXPECT_EQ(f.detector, "probe");
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.title, "Probe saw an IAM event");
  EXPECT_EQ(f.account_id, "111122223333");
  EXPECT_EQ(f.region, "us-east-1");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.source_ip, "198.51.100.10");
  EXPECT_EQ(f.first_seen, "2026-11-20T10:00:00Z");
  EXPECT_EQ(f.event_names, std::vector<std::string>{"CreateUser"});
  EXPECT_EQ(f.mitre, std::vector<std::string>{"T1078.004"});
  EXPECT_EQ(f.evidence("label"), "prod");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("window_ms"), "3600000");
  EXPECT_EQ(f.evidence("names"), R"(["a","b"])");
  EXPECT_EQ(f.evidence("org"), "true");
  EXPECT_EQ(f.evidence("trusted"), "true");
  EXPECT_EQ(f.finding_id.size(), 32u);
  ASSERT_EQ(h.count("flushed"), 1u);
  EXPECT_EQ(h.findings("flushed")[0].evidence("events"), "1");
}

TEST(Engine, FindingIdIsStableAcrossRuns) {
  std::string id[2];
  for (auto& out : id) {
    harness h(&th_module_entry_v1);
    h.feed(records::iam_user("iam.amazonaws.com", "CreateUser"));
    h.finish();
    out = h.findings("seen").at(0).finding_id;
  }
  EXPECT_EQ(id[0], id[1]);
}

TEST(Engine, WrongParamTypeIsAConfigError) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.probe.params]
limit = "many")");
  EXPECT_THROW(h.start(), std::runtime_error);
}

TEST(Engine, OutOfRangeParamIsAConfigError) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.probe.params]
limit = 1000)");
  EXPECT_THROW(h.start(), std::runtime_error);
}

TEST(Engine, ThrowingDetectorIsContainedThenQuarantined) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 150; ++i)
    h.feed(at(records::iam_user("ec2.amazonaws.com", "Throw"), "2026-11-20T10:00:00Z",
              ("t" + std::to_string(i)).c_str()));
  h.finish();
  bool quarantined = false;
  for (const auto& e : h.errors())
    if (e.find("quarantined") != std::string::npos && e.find("boom") != std::string::npos)
      quarantined = true;
  EXPECT_TRUE(quarantined);
  // The host reports it as a health finding.
  ASSERT_EQ(h.count("detector-quarantined"), 1u);
  EXPECT_EQ(h.findings("detector-quarantined")[0].detector, "trailhound");
  // Quarantined: no flush finding.
  EXPECT_EQ(h.count("flushed"), 0u);
}

TEST(Engine, FatalStatusQuarantinesAtOnce) {
  harness h(&th_module_entry_v1);
  h.feed(records::iam_user("ec2.amazonaws.com", "Fatal"));
  h.feed(records::iam_user("iam.amazonaws.com", "CreateUser"));
  h.finish();
  EXPECT_EQ(h.count("seen"), 0u);
  EXPECT_EQ(h.count("detector-quarantined"), 1u);
}

TEST(Engine, MalformedFindingIsRejectedNotWritten) {
  harness h(&th_module_entry_v1);
  h.feed(records::iam_user("ec2.amazonaws.com", "BadFinding"));
  h.finish();
  EXPECT_EQ(h.count("seen"), 0u);
  EXPECT_EQ(h.count("detector-quarantined"), 0u);
}

TEST(Engine, TicksFollowEventTime) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("iam.amazonaws.com", "GetUser"), "2026-11-20T10:00:00Z", "a"));
  h.feed(at(records::iam_user("iam.amazonaws.com", "GetUser"), "2026-11-20T10:05:30Z", "b"));
  h.finish();
  ASSERT_EQ(h.count("flushed"), 1u);
  // The final tick is at the last event time.
  EXPECT_EQ(h.findings("flushed")[0].first_seen, "2026-11-20T10:05:30Z");
}

TEST(Engine, SeverityOverrideDisabledRulesAndSuppression) {
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.probe]
severity = "critical")");
    h.feed(records::iam_user("iam.amazonaws.com", "CreateUser"));
    h.finish();
    EXPECT_EQ(h.findings("seen").at(0).severity, "critical");
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.probe]
disabled_rules = ["seen"])");
    h.feed(records::iam_user("iam.amazonaws.com", "CreateUser"));
    h.finish();
    EXPECT_EQ(h.count("seen"), 0u);
    EXPECT_EQ(h.count("flushed"), 1u);
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([[detectors.probe.suppress]]
rule = "seen"
principal = "arn:aws:iam::*:user/ali*"
reason = "alice is a test user")");
    h.feed(records::iam_user("iam.amazonaws.com", "CreateUser"));
    h.feed(records::assumed_role("iam.amazonaws.com", "CreateUser"));
    h.finish();
    ASSERT_EQ(h.count("seen"), 1u);
    EXPECT_EQ(h.findings("seen")[0].principal,
              "arn:aws:sts::111122223333:assumed-role/Deploy/deploy-session");
  }
}

TEST(Engine, StateRoundTrip) {
  std::string bytes;
  {
    harness h(&th_module_entry_v1);
    h.feed(at(records::iam_user("iam.amazonaws.com", "GetUser"), "2026-11-20T10:00:00Z", "a"));
    h.feed(at(records::iam_user("iam.amazonaws.com", "GetUser"), "2026-11-20T10:01:00Z", "b"));
    bytes = h.snapshot("probe");
  }
  EXPECT_EQ(bytes, "2");
  harness h(&th_module_entry_v1);
  h.start();
  h.restore("probe", bytes);
  h.feed(at(records::iam_user("iam.amazonaws.com", "GetUser"), "2026-11-21T10:00:00Z", "c"));
  h.finish();
  EXPECT_EQ(h.findings("flushed").at(0).evidence("events"), "3");
}

TEST(Engine, MalformedRecordIsReported) {
  harness h(&th_module_entry_v1);
  EXPECT_THROW(h.feed(R"({"eventName":"CreateUser","eventTime":)"), std::runtime_error);
  EXPECT_THROW(h.feed(R"({"eventName":"CreateUser"})"), std::runtime_error);  // no eventTime
  EXPECT_THROW(h.feed(R"({"eventTime":"2026-11-20T10:00:00Z"})"), std::runtime_error);
}

// SPDX-License-Identifier: Apache-2.0
// Tests of the recon-tooling detector: attack-tool and scanner user agents, access-denied
// bursts and enumeration bursts, with their benign look-alikes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

std::string unique_id() {
  static int n = 0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "3d9a77b2-0000-4000-8000-%012d", ++n);
  return buf;
}
std::string at(int seconds) {
  int h = 10 + seconds / 3600, m = (seconds / 60) % 60, s = seconds % 60;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-20T%02d:%02d:%02dZ", h, m, s);
  return buf;
}
std::string json_str(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}
// A call by alice at 10:00:00 + t seconds, with a user agent and optional extra members.
std::string call(std::string_view source, std::string_view name, int t, std::string_view ua,
                 std::string_view extra = "") {
  std::string patch = R"({"eventID":")" + unique_id() + R"(","eventTime":")" + at(t) +
                      R"(","userAgent":)" + json_str(ua);
  if (!extra.empty()) patch += "," + std::string(extra);
  patch += "}";
  return merge_json(records::iam_user(source, name), patch);
}
constexpr const char* CLI =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off "
    "command/ec2.describe-instances";
constexpr const char* KALI =
    "aws-cli/2.13.25 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali.2023 prompt/off "
    "command/sts.get-caller-identity";
constexpr const char* CONSOLE = "AWS Internal";
constexpr const char* DENIED =
    R"("errorCode":"AccessDenied","errorMessage":"User is not authorized")";
constexpr const char* BOB =
    R"("userIdentity":{"type":"IAMUser","principalId":"AIDABOB","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","accessKeyId":"AKIABOB","userName":"bob"})";

const char* const SERVICES[] = {"ec2",  "iam",       "s3",  "lambda",         "rds",
                                "kms",  "sns",       "sqs", "dynamodb",       "cloudtrail",
                                "logs", "guardduty", "ecr", "secretsmanager", "eks"};
std::string source_of(int i, int nservices) {
  return std::string(SERVICES[i % nservices]) + ".amazonaws.com";
}

}  // namespace

// ---------------------------------------------------------------- tool user agents
TEST(ReconTools, KaliUserAgentIsHighOncePerWindow) {
  harness h(&th_module_entry_v1);
  h.feed(call("sts.amazonaws.com", "GetCallerIdentity", 0, KALI));
  for (int i = 1; i < 6; ++i) h.feed(call("s3.amazonaws.com", "ListBuckets", i * 60, KALI));
  h.finish();
  ASSERT_EQ(h.count("attack-tool-user-agent"), 1u);
  auto f = h.findings("attack-tool-user-agent")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("matched"), "kali");
  EXPECT_EQ(f.evidence("userAgent"), KALI);
  EXPECT_EQ(f.evidence("eventName"), "GetCallerIdentity");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
}

TEST(ReconTools, NewWindowAndOtherPrincipalFireAgain) {
  harness h(&th_module_entry_v1);
  h.feed(call("sts.amazonaws.com", "GetCallerIdentity", 0, KALI));
  h.feed(call("s3.amazonaws.com", "ListBuckets", 2 * 3600, KALI));
  h.feed(call("s3.amazonaws.com", "ListBuckets", 2 * 3600 + 5, KALI, BOB));
  h.finish();
  EXPECT_EQ(h.count("attack-tool-user-agent"), 3u);
}

TEST(ReconTools, ManyToolsAreRecognisedCaseInsensitively) {
  harness h(&th_module_entry_v1);
  h.feed(call("s3.amazonaws.com", "ListBuckets", 0, "S3 Browser/10.9.9 https://s3browser.com"));
  h.feed(call("iam.amazonaws.com", "ListUsers", 1,
              "Boto3/1.34.2 md/Botocore#1.34.2 ua/2.0 os/linux#6.6.9-amd64 Pacu/1.5.2"));
  h.feed(call("ec2.amazonaws.com", "DescribeInstances", 2,
              "stratus-red-team_0b1c2d3e-aaaa-bbbb-cccc-123456789012"));
  h.feed(call("iam.amazonaws.com", "ListRoles", 3,
              "aws-sdk-go-v2/1.21.0 os/linux lang/go#1.21.1 md/GOOS#linux CloudFox/1.12"));
  h.feed(call("iam.amazonaws.com", "GetAccountAuthorizationDetails", 4,
              "aws-cli/2.9.0 Python/3.9.11 Linux/6.1.0-1parrot1-amd64 exe/x86_64.parrot.5"));
  h.finish();
  auto fs = h.findings("attack-tool-user-agent");
  ASSERT_EQ(fs.size(), 5u);
  EXPECT_EQ(fs[0].evidence("matched"), "s3browser");
  EXPECT_EQ(fs[1].evidence("matched"), "pacu");
  EXPECT_EQ(fs[2].evidence("matched"), "stratus-red-team");
  EXPECT_EQ(fs[3].evidence("matched"), "cloudfox");
  EXPECT_EQ(fs[4].evidence("matched"), "parrot");
}

TEST(ReconTools, LookAlikeWordsAndNormalAgentsAreSilent) {
  harness h(&th_module_entry_v1);
  h.feed(call("s3.amazonaws.com", "ListBuckets", 0, CLI));
  h.feed(call("s3.amazonaws.com", "ListBuckets", 1, "Boto3/1.28 Python/3.11 kalimba-sync/2.0"));
  h.feed(call("s3.amazonaws.com", "ListBuckets", 2, "aws-sdk-java/1.12 parrotfish-service/3"));
  h.feed(call("s3.amazonaws.com", "ListBuckets", 3, "[S3Console/0.4, aws-internal/3]"));
  h.feed(call("ec2.amazonaws.com", "DescribeInstances", 4,
              "APN/1.0 HashiCorp/1.0 Terraform/1.6.6 (+https://www.terraform.io)"));
  h.finish();
  EXPECT_EQ(h.count("attack-tool-user-agent"), 0u);
  EXPECT_EQ(h.count("security-scanner-user-agent"), 0u);
}

TEST(ReconTools, ScannerIsLowAndSeparateRule) {
  harness h(&th_module_entry_v1);
  h.feed(call("iam.amazonaws.com", "ListUsers", 0,
              "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux prowler/4.2.1"));
  h.feed(call("iam.amazonaws.com", "ListRoles", 5,
              "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux prowler/4.2.1"));
  h.feed(call("ec2.amazonaws.com", "DescribeRegions", 6, "Scout Suite/5.14.0 Python/3.10"));
  h.finish();
  EXPECT_EQ(h.count("attack-tool-user-agent"), 0u);
  auto fs = h.findings("security-scanner-user-agent");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("matched"), "prowler");
  EXPECT_EQ(fs[1].evidence("matched"), "scout suite");
}

TEST(ReconTools, TrustedNetworkLowersServiceSilences) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["198.51.100.0/24"])");
  h.feed(call("sts.amazonaws.com", "GetCallerIdentity", 0, KALI));
  h.feed(merge_json(
      records::aws_service("s3.amazonaws.com", "GetBucketAcl"),
      R"({"eventID":")" + unique_id() + R"(","userAgent":")" + std::string(KALI) + R"("})"));
  h.finish();
  ASSERT_EQ(h.count("attack-tool-user-agent"), 1u);
  EXPECT_EQ(h.findings("attack-tool-user-agent")[0].severity, "medium");
}

TEST(ReconTools, PatternListIsConfigurable) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.recon-tooling.params]
attack_tool_user_agents = ["evilscanner"]
scanner_user_agents = []
enumeration_enabled = false)");
  h.feed(call("sts.amazonaws.com", "GetCallerIdentity", 0, KALI));
  h.feed(call("sts.amazonaws.com", "GetCallerIdentity", 1, "EvilScanner/0.1"));
  h.finish();
  ASSERT_EQ(h.count("attack-tool-user-agent"), 1u);
  EXPECT_EQ(h.findings("attack-tool-user-agent")[0].evidence("matched"), "evilscanner");
}

// ---------------------------------------------------------------- access denied bursts
TEST(ReconDenied, TenDistinctDeniedApisIsMedium) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i)
    h.feed(call(source_of(i, 3), "DescribeThing" + std::to_string(i), i * 20, CLI, DENIED));
  h.finish();
  ASSERT_EQ(h.count("access-denied-burst"), 1u);
  auto f = h.findings("access-denied-burst")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("distinctDeniedApis"), "10");
  EXPECT_EQ(f.evidence("services"), "3");
  EXPECT_EQ(f.evidence("errorCodes"), R"(["AccessDenied"])");
  EXPECT_NE(f.evidence("deniedApis").find("iam:DescribeThing1"), std::string::npos);
  EXPECT_EQ(f.event_ids.size(), 10u);
}

TEST(ReconDenied, OneApiHammeredIsSilent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 300; ++i) h.feed(call("s3.amazonaws.com", "PutObject", i, CLI, DENIED));
  for (int i = 0; i < 9; ++i)
    h.feed(call(source_of(i, 3), "ListThing" + std::to_string(i), 400 + i, CLI,
                BOB + std::string(",") + DENIED));
  h.finish();
  EXPECT_EQ(h.count("access-denied-burst"), 0u);
}

TEST(ReconDenied, OtherErrorsAndSlowDenialsAreSilent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 15; ++i)
    h.feed(call(source_of(i, 5), "GetThing" + std::to_string(i), i, CLI,
                R"("errorCode":"ThrottlingException")"));
  for (int i = 0; i < 15; ++i)
    h.feed(call(source_of(i, 5), "GetOther" + std::to_string(i), 100 + i * 120, CLI, DENIED));
  h.finish();
  EXPECT_EQ(h.count("access-denied-burst"), 0u);
}

TEST(ReconDenied, MixedDeniedCodesCount) {
  harness h(&th_module_entry_v1);
  const char* codes[] = {"AccessDenied", "AccessDeniedException", "Client.UnauthorizedOperation",
                         "UnauthorizedOperation", "AuthorizationError"};
  for (int i = 0; i < 10; ++i)
    h.feed(call(source_of(i, 5), "Op" + std::to_string(i), i, CLI,
                std::string(R"("errorCode":")") + codes[i % 5] + "\""));
  h.finish();
  ASSERT_EQ(h.count("access-denied-burst"), 1u);
  EXPECT_NE(h.findings("access-denied-burst")[0].evidence("errorCodes").find("AuthorizationError"),
            std::string::npos);
}

TEST(ReconDenied, WideProbingIsHighAndConsoleIsLow) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 20; ++i)
    h.feed(call(source_of(i, 10), "Probe" + std::to_string(i), i * 5, CLI, DENIED));
  for (int i = 0; i < 12; ++i)
    h.feed(call(source_of(i, 4), "Describe" + std::to_string(i), i * 5, CONSOLE,
                BOB + std::string(",") + DENIED));
  h.finish();
  auto fs = h.findings("access-denied-burst");
  ASSERT_EQ(fs.size(), 2u);
  for (auto& f : fs) {
    if (f.principal == "arn:aws:iam::111122223333:user/alice") {
      EXPECT_EQ(f.severity, "high");
    } else {
      EXPECT_EQ(f.severity, "low");
      EXPECT_EQ(f.evidence("consoleOnly"), "true");
    }
  }
}

TEST(ReconDenied, AttackToolRaisesToHigh) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i)
    h.feed(call(source_of(i, 2), "Try" + std::to_string(i), i, KALI, DENIED));
  h.finish();
  ASSERT_EQ(h.count("access-denied-burst"), 1u);
  EXPECT_EQ(h.findings("access-denied-burst")[0].severity, "high");
  EXPECT_EQ(h.findings("access-denied-burst")[0].evidence("attackToolSeen"), "true");
  ASSERT_EQ(h.count("attack-tool-user-agent"), 1u);
  EXPECT_EQ(h.findings("attack-tool-user-agent")[0].evidence("errorCode"), "AccessDenied");
}

TEST(ReconDenied, RepeatedScannerBurstsReportedOncePerDay) {
  {
    harness h(&th_module_entry_v1);
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 10; ++i)
        h.feed(call(source_of(i, 5), "Scan" + std::to_string(i), round * 3600 + i, CLI, DENIED));
    h.finish();
    EXPECT_EQ(h.count("access-denied-burst"), 1u);
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.recon-tooling.params]
burst_repeat = 0)");
    for (int round = 0; round < 3; ++round)
      for (int i = 0; i < 10; ++i)
        h.feed(call(source_of(i, 5), "Scan" + std::to_string(i), round * 3600 + i, CLI, DENIED));
    h.finish();
    EXPECT_EQ(h.count("access-denied-burst"), 3u);
  }
}

// ---------------------------------------------------------------- enumeration
TEST(ReconEnumeration, WideReadOnlySweepIsLow) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 40; ++i)
    h.feed(call(source_of(i, 10), "ListThings" + std::to_string(i), i * 10, CLI));
  h.finish();
  ASSERT_EQ(h.count("enumeration-burst"), 1u);
  auto f = h.findings("enumeration-burst")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("distinctApis"), "40");
  EXPECT_EQ(f.evidence("services"), "10");
}

TEST(ReconEnumeration, AfterDeniedBurstIsMedium) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i)
    h.feed(call(source_of(i, 5), "DescribeSecret" + std::to_string(i), i, CLI, DENIED));
  for (int i = 0; i < 40; ++i)
    h.feed(call(source_of(i, 10), "DescribeOk" + std::to_string(i), 20 + i, CLI));
  h.finish();
  ASSERT_EQ(h.count("enumeration-burst"), 1u);
  EXPECT_EQ(h.findings("enumeration-burst")[0].severity, "medium");
}

TEST(ReconEnumeration, FewServicesRepeatedCallsOrSlowSweepsAreSilent) {
  harness h(&th_module_entry_v1);
  // 60 distinct APIs but over 3 services only (an application or a console page).
  for (int i = 0; i < 60; ++i)
    h.feed(call(source_of(i, 3), "DescribeX" + std::to_string(i), i, CLI));
  // The same 5 APIs polled forever by a monitoring agent.
  for (int i = 0; i < 500; ++i)
    h.feed(call(source_of(i % 5, 15), "GetMetricData", 100 + i, CLI, BOB));
  h.finish();
  EXPECT_EQ(h.count("enumeration-burst"), 0u);
}

TEST(ReconEnumeration, CanBeDisabled) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.recon-tooling.params]
enumeration_enabled = false)");
  for (int i = 0; i < 40; ++i)
    h.feed(call(source_of(i, 10), "ListThings" + std::to_string(i), i, CLI));
  h.finish();
  EXPECT_EQ(h.count("enumeration-burst"), 0u);
}

// ---------------------------------------------------------------- item names
TEST(ReconDenied, ApiNamesKeepTheServicePrefixOfAnySource) {
  harness h(&th_module_entry_v1);
  h.feed(call("api.mediatailor.amazonaws.com", "ListChannels", 0, CLI, DENIED));
  h.feed(call("example.com", "Probe", 1, CLI, DENIED));
  h.feed(call("ec2.amazonaws.com.example.net", "Probe", 2, CLI, DENIED));
  for (int i = 3; i < 10; ++i)
    h.feed(call(source_of(i, 5), "Try" + std::to_string(i), i, CLI, DENIED));
  h.finish();
  ASSERT_EQ(h.count("access-denied-burst"), 1u);
  std::string apis = h.findings("access-denied-burst")[0].evidence("deniedApis");
  EXPECT_NE(apis.find("\"api.mediatailor:ListChannels\""), std::string::npos) << apis;
  EXPECT_NE(apis.find("\"example.com:Probe\""), std::string::npos) << apis;
  EXPECT_NE(apis.find("\"ec2:Probe\""), std::string::npos) << apis;
  // api.mediatailor, example.com, ec2, iam, s3, lambda, rds
  EXPECT_EQ(h.findings("access-denied-burst")[0].evidence("services"), "7");
}

// ---------------------------------------------------------------- saved state
namespace {
// The nightly scanner of the corpus: a denied sweep over 10 APIs of 5 services at 10:00 + t.
void scanner_sweep(harness& h, int t) {
  for (int i = 0; i < 10; ++i)
    h.feed(call(source_of(i, 5), "DescribeScan" + std::to_string(i), t + i, CLI, DENIED));
}
// A read-only sweep by alice: APIs [from, to) over 10 services, one every 5 seconds from t,
// with event ids that depend on i only (the same events in one run and in two).
void read_sweep(harness& h, int from, int to, int t) {
  for (int i = from; i < to; ++i) {
    char id[48];
    std::snprintf(id, sizeof id, "5c0e1d2a-0000-4000-8000-%012d", i);
    h.feed(merge_json(
        call(source_of(i, 10), "ListThings" + std::to_string(i), t + (i - from) * 5, CLI),
        std::string(R"({"eventID":")") + id + "\"}"));
  }
}
std::string summary(const std::vector<collected_finding>& fs) {
  std::string out;
  for (auto& f : fs) {
    out +=
        f.rule + " " + f.severity + " " + f.first_seen + ".." + f.last_seen + " " + f.evidence_json;
    for (auto& id : f.event_ids) out += " " + id;
    out += "\n";
  }
  return out;
}
}  // namespace

TEST(ReconState, RepeatSuppressionSurvivesARestore) {
  harness first(&th_module_entry_v1);
  scanner_sweep(first, 0);
  first.finish();
  ASSERT_EQ(first.count("access-denied-burst"), 1u);
  const std::string bytes = first.snapshot("recon-tooling");
  EXPECT_FALSE(bytes.empty());

  // Two hours later, within burst_repeat (24h): counted, not reported, as in one run.
  harness second(&th_module_entry_v1);
  second.start();
  second.restore("recon-tooling", bytes);
  scanner_sweep(second, 2 * 3600);
  second.finish();
  EXPECT_EQ(second.count("access-denied-burst"), 0u);

  // Without the state the same sweep is reported again (what a daily run used to do).
  harness fresh(&th_module_entry_v1);
  scanner_sweep(fresh, 2 * 3600);
  fresh.finish();
  EXPECT_EQ(fresh.count("access-denied-burst"), 1u);

  // An attack tool (or burst_repeat passed) still reports after a restore.
  harness third(&th_module_entry_v1);
  third.start();
  third.restore("recon-tooling", bytes);
  for (int i = 0; i < 10; ++i)
    third.feed(
        call(source_of(i, 5), "DescribeScan" + std::to_string(i), 3 * 3600 + i, KALI, DENIED));
  third.finish();
  EXPECT_EQ(third.count("access-denied-burst"), 1u);
  EXPECT_EQ(third.count("attack-tool-user-agent"), 1u);
}

TEST(ReconState, ToolWindowSurvivesARestore) {
  harness first(&th_module_entry_v1);
  first.feed(call("sts.amazonaws.com", "GetCallerIdentity", 0, KALI));
  first.finish();
  harness second(&th_module_entry_v1);
  second.start();
  second.restore("recon-tooling", first.snapshot("recon-tooling"));
  second.feed(call("s3.amazonaws.com", "ListBuckets", 600, KALI));  // same tool_window (1h)
  second.feed(call("s3.amazonaws.com", "ListBuckets", 601, KALI, BOB));
  second.finish();
  ASSERT_EQ(second.count("attack-tool-user-agent"), 1u);
  EXPECT_EQ(second.findings("attack-tool-user-agent")[0].principal,
            "arn:aws:iam::111122223333:user/bob");
}

TEST(ReconState, OpenWindowSplitAcrossRunsGivesTheSameFinding) {
  harness one(&th_module_entry_v1);
  read_sweep(one, 0, 25, 0);
  read_sweep(one, 25, 45, 200);
  one.finish();
  ASSERT_EQ(one.count("enumeration-burst"), 1u);

  harness first(&th_module_entry_v1);
  read_sweep(first, 0, 25, 0);
  first.finish();
  EXPECT_EQ(first.count("enumeration-burst"), 0u);
  const std::string bytes = first.snapshot("recon-tooling");
  harness second(&th_module_entry_v1);
  second.start();
  second.restore("recon-tooling", bytes);
  read_sweep(second, 25, 45, 200);
  second.finish();
  EXPECT_EQ(summary(second.findings()), summary(one.findings()));

  // and a restored state saves to the same bytes (nothing lost on the way)
  harness third(&th_module_entry_v1);
  third.start();
  third.restore("recon-tooling", bytes);
  EXPECT_EQ(third.snapshot("recon-tooling"), bytes);
}

TEST(ReconState, CorruptOrForeignStateStartsFresh) {
  harness first(&th_module_entry_v1);
  scanner_sweep(first, 0);
  first.finish();
  const std::string bytes = first.snapshot("recon-tooling");

  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("recon-tooling", "nonsense"), std::runtime_error);
  EXPECT_THROW(h.restore("recon-tooling", ""), std::runtime_error);
  EXPECT_THROW(h.restore("recon-tooling", std::string("THRT2\x03", 6)), std::runtime_error);
  // Truncated and extended: rejected as a whole, nothing half-loaded.
  EXPECT_THROW(h.restore("recon-tooling", bytes.substr(0, bytes.size() / 2)), std::runtime_error);
  EXPECT_THROW(h.restore("recon-tooling", bytes + "x"), std::runtime_error);
  // A huge count must not allocate: rejected by the codec's bounds.
  EXPECT_THROW(h.restore("recon-tooling", std::string("THRT2\x02\xff\xff\xff\xff\x0f", 11)),
               std::runtime_error);
  bool said_so = false;
  for (auto& m : h.errors()) said_so |= m.find("restore_state failed") != std::string::npos;
  EXPECT_TRUE(said_so);
  for (auto& m : h.errors()) EXPECT_EQ(m.find("quarantined"), std::string::npos) << m;

  // Fresh: the sweep that the intact state would suppress is reported.
  scanner_sweep(h, 2 * 3600);
  h.finish();
  EXPECT_EQ(h.count("access-denied-burst"), 1u);
}

// ---------------------------------------------------------------- habits
namespace {
constexpr const char* SCANNER_UA =
    "Boto3/1.34.20 md/Botocore#1.34.20 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 "
    "md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy "
    "Botocore/1.34.20";
// "2026-11-<01+day>T02:<minute>:<second>Z"
std::string night_time(int day, int minute, int second) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT02:%02d:%02dZ", 1 + day, minute, second);
  return buf;
}
// The nightly CSPM run: role `role` of the security account assumed into prod with a new session
// name every night, 45 distinct read-only APIs over 15 services from 02:<minute>.
void scanner_night(harness& h, int day, int minute, std::string_view role = "SecurityAuditScanner",
                   std::string_view ua = SCANNER_UA) {
  char session[32];
  std::snprintf(session, sizeof session, "prowler-%08x", 0x5eed0000u + static_cast<unsigned>(day));
  const std::string r(role);
  const std::string identity =
      R"({"type":"AssumedRole","principalId":"AROAZSCANNER0000ROLE:)" + std::string(session) +
      R"(","arn":"arn:aws:sts::111122223333:assumed-role/)" + r + "/" + session +
      R"(","accountId":"111122223333","accessKeyId":"ASIAZSCANNERKEY00001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAZSCANNER0000ROLE","arn":"arn:aws:iam::111122223333:role/)" +
      r + R"(","accountId":"111122223333","userName":")" + r +
      R"("},"webIdFederationData":{},"attributes":{"creationDate":")" + night_time(day, minute, 0) +
      R"(","mfaAuthenticated":"false"}}})";
  for (int i = 0; i < 45; ++i)
    h.feed(merge_json(records::assumed_role(source_of(i, 15), "Describe" + std::to_string(i)),
                      R"({"eventID":")" + unique_id() + R"(","eventTime":")" +
                          night_time(day, minute, i) +
                          R"(","readOnly":true,"sourceIPAddress":"3.120.181.40","userAgent":)" +
                          json_str(ua) + R"(,"userIdentity":)" + identity + "}"));
}
}  // namespace

TEST(ReconHabit, NightlyScannerIsInfoFromItsFourthNight) {
  harness h(&th_module_entry_v1);
  // 02:10, 02:12, ...: a little over 24 h apart, so burst_repeat lets every night through.
  for (int day = 0; day < 6; ++day) scanner_night(h, day, 10 + 2 * day);
  h.finish();
  auto fs = h.findings("enumeration-burst");
  ASSERT_EQ(fs.size(), 6u);
  for (int day = 0; day < 3; ++day) {
    EXPECT_EQ(fs[day].severity, "low") << day;
    EXPECT_EQ(fs[day].evidence("habitual"), "") << day;
  }
  EXPECT_EQ(fs[3].severity, "info");
  EXPECT_EQ(fs[3].principal,
            "arn:aws:sts::111122223333:assumed-role/SecurityAuditScanner/prowler-5eed0003");
  // first_seen: the call that crossed the threshold on the first night (the 40th API)
  EXPECT_EQ(
      fs[3].evidence("habitual"),
      R"({"earlier_days":3,"first_seen":"2026-11-01T02:10:39Z","min_days":3,"lookback_days":30})");
  EXPECT_NE(fs[3].summary.find("3 earlier days"), std::string::npos) << fs[3].summary;
  EXPECT_EQ(fs[4].severity, "info");
  EXPECT_NE(fs[4].evidence("habitual").find(R"("earlier_days":4)"), std::string::npos);
  EXPECT_EQ(fs[5].severity, "info");
}

TEST(ReconHabit, NewPrincipalAndAttackToolAreReportedAsBefore) {
  harness h(&th_module_entry_v1);
  for (int day = 0; day < 4; ++day) scanner_night(h, day, 10 + 2 * day);
  // Night 4: another role sweeping for the first time (a stolen role, a new tool): low as ever.
  scanner_night(h, 4, 40, "InventoryCollector");
  // Night 5: the scanner's own role with an offensive OS in its user agent: high as ever.
  scanner_night(h, 5, 20, "SecurityAuditScanner",
                "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0-kali3-amd64 "
                "lang/python#3.11.8");
  h.finish();
  auto fs = h.findings("enumeration-burst");
  ASSERT_EQ(fs.size(), 6u);
  EXPECT_EQ(fs[3].severity, "info");
  EXPECT_EQ(fs[4].severity, "low");
  EXPECT_EQ(fs[4].evidence("habitual"), "");
  EXPECT_NE(fs[4].principal.find("/InventoryCollector/"), std::string::npos);
  EXPECT_EQ(fs[5].severity, "high");
  EXPECT_EQ(fs[5].evidence("attackToolSeen"), "true");
  EXPECT_EQ(fs[5].evidence("habitual"), "");
  EXPECT_EQ(h.count("attack-tool-user-agent"), 1u);
}

TEST(ReconHabit, OneBusyDayIsNoHabitAndItCanBeTurnedOff) {
  {
    // Four bursts on the same day, then one the next day: one earlier day only.
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.recon-tooling.params]
burst_repeat = 0)");
    for (int run = 0; run < 4; ++run) scanner_night(h, 0, 10 * run, "SecurityAuditScanner");
    scanner_night(h, 1, 10);
    h.finish();
    auto fs = h.findings("enumeration-burst");
    ASSERT_EQ(fs.size(), 5u);
    for (auto& f : fs) EXPECT_EQ(f.severity, "low") << f.first_seen;
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.recon-tooling.params]
habit_min_days = 0)");
    for (int day = 0; day < 5; ++day) scanner_night(h, day, 10 + 2 * day);
    h.finish();
    auto fs = h.findings("enumeration-burst");
    ASSERT_EQ(fs.size(), 5u);
    for (auto& f : fs) EXPECT_EQ(f.severity, "low") << f.first_seen;
  }
  {
    // Nights older than habit_lookback do not count.
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.recon-tooling.params]
habit_lookback = "2d")");
    for (int day = 0; day < 5; ++day) scanner_night(h, day, 10 + 2 * day);
    h.finish();
    auto fs = h.findings("enumeration-burst");
    ASSERT_EQ(fs.size(), 5u);
    for (auto& f : fs) EXPECT_EQ(f.severity, "low") << f.first_seen;
  }
}

TEST(ReconHabit, HabitSurvivesARestoreCorruptHabitStartsFresh) {
  harness first(&th_module_entry_v1);
  for (int day = 0; day < 3; ++day) scanner_night(first, day, 10 + 2 * day);
  first.finish();
  ASSERT_EQ(first.count("enumeration-burst"), 3u);
  const std::string bytes = first.snapshot("recon-tooling");

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("recon-tooling", bytes);
  scanner_night(second, 3, 16);
  second.finish();
  ASSERT_EQ(second.count("enumeration-burst"), 1u);
  EXPECT_EQ(second.findings("enumeration-burst")[0].severity, "info");
  EXPECT_NE(second.findings("enumeration-burst")[0]
                .evidence("habitual")
                .find(R"("first_seen":"2026-11-01T02:10:39Z")"),
            std::string::npos);

  // The habit section is versioned: another version is refused as a whole, and the detector
  // starts fresh (the fourth night is low again).
  const size_t at = bytes.rfind("HABIT");
  ASSERT_NE(at, std::string::npos);
  std::string other = bytes;
  other[at + 5] = '\x07';
  harness third(&th_module_entry_v1);
  third.start();
  EXPECT_THROW(third.restore("recon-tooling", other), std::runtime_error);
  EXPECT_THROW(third.restore("recon-tooling", bytes.substr(0, bytes.size() - 3)),
               std::runtime_error);
  bool said_so = false;
  for (auto& m : third.errors()) said_so |= m.find("restore_state failed") != std::string::npos;
  EXPECT_TRUE(said_so);
  scanner_night(third, 3, 16);
  third.finish();
  ASSERT_EQ(third.count("enumeration-burst"), 1u);
  EXPECT_EQ(third.findings("enumeration-burst")[0].severity, "low");
}

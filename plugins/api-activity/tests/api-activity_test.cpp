// SPDX-License-Identifier: Apache-2.0
// Tests of the api-activity detector: days of benign history, then the anomaly fires; the same
// history with a benign change stays quiet; the learned state survives a snapshot/restore.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <trailhound/testing.hpp>
#include <vector>

using namespace trailhound::testing;
using namespace trailhound::testing::timeline;

namespace {

int seq = 0;

// Replaces the value of a top-level string member in a compact record (fast: no re-parse).
void set_member(std::string& rec, const std::string& name, const std::string& value) {
  std::string key = "\"" + name + "\":\"";
  size_t p = rec.find(key);
  ASSERT_NE(p, std::string::npos) << name;
  p += key.size();
  size_t q = rec.find('"', p);
  rec.replace(p, q - p, value);
}
std::string stamp(std::string rec, int64_t secs) {
  set_member(rec, "eventTime", iso(secs));
  set_member(rec, "eventID", "aa-test-" + std::to_string(++seq));
  return rec;
}

std::string alice(const std::string& src, const std::string& name,
                  const std::string& patch = "{}") {
  return merge_json(records::iam_user(src, name), patch);
}
std::string deploy(const std::string& src, const std::string& name,
                   const std::string& patch = "{}") {
  return merge_json(records::assumed_role(src, name), patch);
}

const char* kRead = R"({"readOnly":true})";

// Ten days of office-hours activity by alice: `per_hour` read calls spread over 2 services in
// each hour 09..16, and a couple of denied calls a day.
void alice_history(harness& h, int days, int per_hour = 30) {
  std::string a = alice("ec2.amazonaws.com", "DescribeInstances", kRead);
  std::string b = alice("s3.amazonaws.com", "ListBuckets", kRead);
  std::string denied = alice("iam.amazonaws.com", "ListRoles",
                             R"({"readOnly":true,"errorCode":"AccessDenied",
      "errorMessage":"User: arn:aws:iam::111122223333:user/alice is not authorized"})");
  for (int d = 0; d < days; ++d) {
    for (int hr = 9; hr < 17; ++hr)
      for (int j = 0; j < per_hour; ++j)
        h.feed(stamp(j % 2 ? a : b, at_time(d, hr, (j * 60) / per_hour)));
    h.feed(stamp(denied, at_time(d, 11, 30, 5)));
    h.feed(stamp(denied, at_time(d, 15, 30, 5)));
  }
}

}  // namespace

// ------------------------------------------------------------------------------------------
// api-call-rate-spike

TEST(ApiActivity, RateSpikeAfterQuietHistoryFires) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10);
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  std::string get = alice("iam.amazonaws.com", "GetUser", kRead);
  for (int j = 0; j < 800; ++j) h.feed(stamp(j % 3 ? get : list, at_time(10, 21, j / 14, j % 60)));
  h.finish();
  ASSERT_EQ(h.count("api-call-rate-spike"), 1u);
  auto f = h.findings("api-call-rate-spike")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("callCount"), "301");  // fires as soon as the floor is crossed
  EXPECT_EQ(f.evidence("hourStart"), "2026-11-11T21:00:00Z");
  EXPECT_EQ(f.evidence("threshold"), "300");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAEXAMPLEALICE0001");
  EXPECT_NE(f.evidence("topCalls").find("iam.amazonaws.com:GetUser"), std::string::npos);
  EXPECT_EQ(f.evidence("historyHours"), "252");
}

TEST(ApiActivity, RateSpikeNeedsHistory) {
  harness h(&th_module_entry_v1);
  alice_history(h, 3);  // 3 days < min_history_hours (168)
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  for (int j = 0; j < 800; ++j) h.feed(stamp(list, at_time(3, 21, j / 14, j % 60)));
  h.finish();
  EXPECT_EQ(h.count("api-call-rate-spike"), 0u);
}

TEST(ApiActivity, DailyCiBurstIsItsOwnNorm) {
  // The Deploy role runs a 500-call deployment every night at 02:00; tonight's is a bit bigger.
  harness h(&th_module_entry_v1);
  std::string cf = deploy("cloudformation.amazonaws.com", "DescribeStacks", kRead);
  for (int d = 0; d < 10; ++d)
    for (int j = 0; j < 500; ++j) h.feed(stamp(cf, at_time(d, 2, j / 10, j % 60)));
  for (int j = 0; j < 620; ++j) h.feed(stamp(cf, at_time(10, 2, j / 11, j % 60)));
  h.finish();
  EXPECT_EQ(h.count("api-call-rate-spike"), 0u);
  EXPECT_TRUE(h.findings().empty());
}

TEST(ApiActivity, CiRoleFiresFarAboveItsPeak) {
  harness h(&th_module_entry_v1);
  std::string cf = deploy("cloudformation.amazonaws.com", "DescribeStacks", kRead);
  for (int d = 0; d < 10; ++d)
    for (int j = 0; j < 500; ++j) h.feed(stamp(cf, at_time(d, 2, j / 10, j % 60)));
  for (int j = 0; j < 3000; ++j) h.feed(stamp(cf, at_time(10, 14, j / 60, j % 60)));
  h.finish();
  ASSERT_EQ(h.count("api-call-rate-spike"), 1u);
  auto f = h.findings("api-call-rate-spike")[0];
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:role/Deploy");  // the role, not the session
  EXPECT_EQ(f.evidence("baselinePeak"), "500");
  EXPECT_EQ(f.evidence("threshold"), "750");
}

TEST(ApiActivity, QuietIdentityBelowFloorDoesNotFire) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10, 2);
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  for (int j = 0; j < 250; ++j) h.feed(stamp(list, at_time(10, 21, j / 5, j % 60)));
  h.finish();
  EXPECT_EQ(h.count("api-call-rate-spike"), 0u);
}

TEST(ApiActivity, FloorIsConfigurable) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.api-activity.params]
rate_floor = 100)");
  alice_history(h, 10, 2);
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  for (int j = 0; j < 250; ++j) h.feed(stamp(list, at_time(10, 21, j / 5, j % 60)));
  h.finish();
  ASSERT_EQ(h.count("api-call-rate-spike"), 1u);
  EXPECT_EQ(h.findings("api-call-rate-spike")[0].evidence("callCount"), "101");
}

TEST(ApiActivity, AwsServiceAndDataEventsAreNotCounted) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10, 2);
  std::string svc = records::aws_service("sts.amazonaws.com", "AssumeRole");
  std::string get = alice("s3.amazonaws.com", "GetObject",
                          R"({"readOnly":true,"eventCategory":"Data","managementEvent":false})");
  for (int j = 0; j < 900; ++j) h.feed(stamp(svc, at_time(10, 21, j / 15, j % 60)));
  for (int j = 0; j < 900; ++j) h.feed(stamp(get, at_time(10, 22, j / 15, j % 60)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// api-error-burst

TEST(ApiActivity, PermissionEnumerationBurstFiresHigh) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10);
  const char* svcs[][2] = {{"iam.amazonaws.com", "ListUsers"},
                           {"iam.amazonaws.com", "GetAccountAuthorizationDetails"},
                           {"iam.amazonaws.com", "ListPolicies"},
                           {"secretsmanager.amazonaws.com", "ListSecrets"},
                           {"secretsmanager.amazonaws.com", "GetSecretValue"},
                           {"kms.amazonaws.com", "ListKeys"},
                           {"kms.amazonaws.com", "ListAliases"},
                           {"lambda.amazonaws.com", "ListFunctions20150331"},
                           {"ssm.amazonaws.com", "DescribeParameters"},
                           {"dynamodb.amazonaws.com", "ListTables"},
                           {"rds.amazonaws.com", "DescribeDBInstances"},
                           {"ec2.amazonaws.com", "DescribeSnapshots"}};
  for (int j = 0; j < 48; ++j) {
    auto& c = svcs[j % 12];
    std::string code =
        std::string(c[0]) == "ec2.amazonaws.com" ? "Client.UnauthorizedOperation" : "AccessDenied";
    h.feed(stamp(alice(c[0], c[1], R"({"readOnly":true,"errorCode":")" + code + R"("})"),
                 at_time(10, 20, j, 0)));
  }
  h.finish();
  ASSERT_EQ(h.count("api-error-burst"), 1u);
  auto f = h.findings("api-error-burst")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("errorCount"), "21");
  EXPECT_EQ(f.evidence("distinctDeniedActions"), "12");
  EXPECT_NE(f.evidence("deniedActions").find("secretsmanager.amazonaws.com:GetSecretValue"),
            std::string::npos);
}

TEST(ApiActivity, SingleActionRetryStormIsLow) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10);
  std::string denied =
      alice("sqs.amazonaws.com", "ReceiveMessage", R"({"errorCode":"AccessDenied"})");
  for (int j = 0; j < 100; ++j) h.feed(stamp(denied, at_time(10, 20, j / 2, j % 60)));
  h.finish();
  ASSERT_EQ(h.count("api-error-burst"), 1u);
  EXPECT_EQ(h.findings("api-error-burst")[0].severity, "low");
}

TEST(ApiActivity, ScannerWithHabitualDenialsDoesNotFire) {
  // A security scanner role is denied ~40 times every hour (it probes everything it may not read).
  harness h(&th_module_entry_v1);
  std::vector<std::string> recs;
  const char* names[] = {"GetBucketPolicy", "GetBucketAcl", "GetBucketLogging", "GetBucketTagging"};
  for (auto* n : names)
    recs.push_back(
        deploy("s3.amazonaws.com", n, R"({"readOnly":true,"errorCode":"AccessDenied"})"));
  for (int d = 0; d < 9; ++d)
    for (int hr = 0; hr < 24; ++hr)
      for (int j = 0; j < 40; ++j) h.feed(stamp(recs[j % 4], at_time(d, hr, j, 0)));
  for (int j = 0; j < 55; ++j) h.feed(stamp(recs[j % 4], at_time(9, 3, j, 0)));
  h.finish();
  EXPECT_EQ(h.count("api-error-burst"), 0u);
}

// ------------------------------------------------------------------------------------------
// service-sprawl

TEST(ApiActivity, ServiceSprawlFires) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10);
  const char* srcs[] = {"iam", "s3",  "ec2", "lambda", "rds", "dynamodb", "kms", "secretsmanager",
                        "ssm", "sns", "sqs", "ecr"};
  for (int j = 0; j < 12; ++j)
    h.feed(stamp(alice(std::string(srcs[j]) + ".amazonaws.com", "List", kRead),
                 at_time(10, 22, j, 0)));
  h.finish();
  ASSERT_EQ(h.count("service-sprawl"), 1u);
  auto f = h.findings("service-sprawl")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("distinctEventSources"), "9");
  EXPECT_EQ(f.evidence("historicalMax"), "3");  // ec2, s3 and iam (denied ListRoles)
  EXPECT_EQ(f.evidence("threshold"), "8");
}

TEST(ApiActivity, ScannerAlwaysCallingManyServicesDoesNotSprawl) {
  harness h(&th_module_entry_v1);
  const char* srcs[] = {"iam",
                        "s3",
                        "ec2",
                        "lambda",
                        "rds",
                        "dynamodb",
                        "kms",
                        "secretsmanager",
                        "ssm",
                        "sns",
                        "sqs",
                        "ecr",
                        "eks",
                        "ecs",
                        "elasticloadbalancing",
                        "logs",
                        "cloudtrail",
                        "config",
                        "guardduty",
                        "macie2"};
  for (int d = 0; d < 9; ++d)
    for (int hr = 0; hr < 24; hr += 6)
      for (int j = 0; j < 15; ++j)
        h.feed(stamp(deploy(std::string(srcs[(j + d) % 20]) + ".amazonaws.com", "Describe", kRead),
                     at_time(d, hr, j, 0)));
  for (int j = 0; j < 20; ++j)
    h.feed(stamp(deploy(std::string(srcs[j]) + ".amazonaws.com", "Describe", kRead),
                 at_time(9, 7, j, 0)));
  h.finish();
  EXPECT_EQ(h.count("service-sprawl"), 0u);
}

TEST(ApiActivity, SprawlAndRateInSameHourRaiseTheSecond) {
  harness h(&th_module_entry_v1);
  alice_history(h, 10);
  const char* srcs[] = {"iam", "s3", "ec2", "lambda", "rds", "dynamodb", "kms", "secretsmanager",
                        "ssm", "sns"};
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  for (int j = 0; j < 400; ++j) h.feed(stamp(list, at_time(10, 22, j / 10, j % 60)));
  for (int j = 0; j < 10; ++j)
    h.feed(stamp(alice(std::string(srcs[j]) + ".amazonaws.com", "List", kRead),
                 at_time(10, 22, 45, j)));
  h.finish();
  ASSERT_EQ(h.count("api-call-rate-spike"), 1u);
  ASSERT_EQ(h.count("service-sprawl"), 1u);
  EXPECT_EQ(h.findings("api-call-rate-spike")[0].severity, "medium");
  EXPECT_EQ(h.findings("service-sprawl")[0].severity, "high");
  EXPECT_EQ(h.findings("service-sprawl")[0].evidence("otherAnomaliesThisHour"), "true");
}

// ------------------------------------------------------------------------------------------
// regions

namespace {
// Eight days of alice in us-east-1 and eu-west-1, Deploy in us-east-1 only.
void region_history(harness& h) {
  std::string use1 = alice("ec2.amazonaws.com", "DescribeInstances", kRead);
  std::string euw1 = merge_json(use1, R"({"awsRegion":"eu-west-1"})");
  std::string dep = deploy("ec2.amazonaws.com", "DescribeInstances", kRead);
  for (int d = 0; d < 8; ++d) {
    h.feed(stamp(use1, at_time(d, 10)));
    h.feed(stamp(euw1, at_time(d, 11)));
    h.feed(stamp(dep, at_time(d, 12)));
  }
}
}  // namespace

TEST(ApiActivity, NewRegionForAccountWithWritesIsHigh) {
  harness h(&th_module_entry_v1);
  region_history(h);
  h.feed(stamp(
      alice("ec2.amazonaws.com", "RunInstances",
            R"({"awsRegion":"ap-southeast-1","requestParameters":{"instanceType":"p3.16xlarge"}})"),
      at_time(8, 3)));
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances",
                     R"({"awsRegion":"ap-southeast-1","readOnly":true})"),
               at_time(8, 3, 5)));
  h.finish();
  ASSERT_EQ(h.count("new-region-for-account"), 1u);
  EXPECT_EQ(h.count("new-region-for-identity"), 0u);  // folded into the account finding
  auto f = h.findings("new-region-for-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.region, "ap-southeast-1");
  EXPECT_EQ(f.evidence("regions"), R"(["ap-southeast-1"])");
  EXPECT_EQ(f.evidence("writeCalls"), R"(["ap-southeast-1:ec2.amazonaws.com:RunInstances"])");
  EXPECT_EQ(f.event_ids.size(), 2u);
}

TEST(ApiActivity, RegionSweepIsOneHighFinding) {
  harness h(&th_module_entry_v1);
  region_history(h);
  for (const char* r : {"ap-south-1", "sa-east-1", "ca-central-1", "eu-north-1", "us-west-1"})
    h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances",
                       std::string(R"({"readOnly":true,"awsRegion":")") + r + R"("})"),
                 at_time(8, 3, 1)));
  h.finish();
  ASSERT_EQ(h.count("new-region-for-account"), 1u);
  auto f = h.findings("new-region-for-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("regions"),
            R"(["ap-south-1","sa-east-1","ca-central-1","eu-north-1","us-west-1"])");
}

TEST(ApiActivity, KnownAccountRegionNewForIdentityIsLow) {
  harness h(&th_module_entry_v1);
  region_history(h);
  h.feed(stamp(deploy("ec2.amazonaws.com", "DescribeInstances",
                      R"({"readOnly":true,"awsRegion":"eu-west-1"})"),
               at_time(8, 3)));
  h.finish();
  EXPECT_EQ(h.count("new-region-for-account"), 0u);
  ASSERT_EQ(h.count("new-region-for-identity"), 1u);
  auto f = h.findings("new-region-for-identity")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:role/Deploy");
}

TEST(ApiActivity, GlobalServicesAndWarmupDoNotMakeRegionsNew) {
  harness h(&th_module_entry_v1);
  // day 0..1: warm-up, new regions are learned silently
  h.feed(stamp(alice("ec2.amazonaws.com", "DescribeInstances",
                     R"({"readOnly":true,"awsRegion":"eu-central-1"})"),
               at_time(0, 10)));
  region_history(h);
  // IAM / STS calls are logged in us-east-1 (or the SDK's regional STS): never region use
  h.feed(stamp(deploy("iam.amazonaws.com", "ListRoles", kRead), at_time(8, 3)));
  h.feed(stamp(deploy("sts.amazonaws.com", "GetCallerIdentity",
                      R"({"readOnly":true,"awsRegion":"ap-northeast-3"})"),
               at_time(8, 3)));
  // AWS services acting in a new region are not the account's users
  h.feed(stamp(merge_json(records::aws_service("ec2.amazonaws.com", "CreateNetworkInterface"),
                          R"({"awsRegion":"me-south-1"})"),
               at_time(8, 4)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(ApiActivity, AllFailedCallsInNewRegionAreLower) {
  harness h(&th_module_entry_v1);
  region_history(h);
  h.feed(stamp(alice("ec2.amazonaws.com", "RunInstances",
                     R"({"awsRegion":"ap-east-1","errorCode":"Client.UnauthorizedOperation"})"),
               at_time(8, 3)));
  h.finish();
  ASSERT_EQ(h.count("new-region-for-account"), 1u);
  EXPECT_EQ(h.findings("new-region-for-account")[0].severity, "low");
  EXPECT_EQ(h.findings("new-region-for-account")[0].evidence("allCallsFailed"), "true");
}

// ------------------------------------------------------------------------------------------
// persistence

namespace {
void anomaly(harness& h) {
  std::string list = alice("iam.amazonaws.com", "ListUsers", kRead);
  for (int j = 0; j < 500; ++j) h.feed(stamp(list, at_time(10, 21, j / 10, j % 60)));
  h.feed(stamp(alice("ec2.amazonaws.com", "RunInstances", R"({"awsRegion":"ap-southeast-2"})"),
               at_time(10, 21, 55)));
}
std::vector<std::string> summary(const harness& h) {
  std::vector<std::string> out;
  for (auto& f : h.findings())
    out.push_back(f.rule + "|" + f.severity + "|" + f.principal + "|" + f.evidence_json);
  return out;
}
}  // namespace

TEST(ApiActivity, StateRoundTripGivesTheSameFindings) {
  int saved = seq;
  harness one(&th_module_entry_v1);
  alice_history(one, 10);
  region_history(one);
  anomaly(one);
  one.finish();
  ASSERT_EQ(one.count("api-call-rate-spike"), 1u);
  ASSERT_EQ(one.count("new-region-for-account"), 1u);

  seq = saved;  // same event ids in the second pair of runs
  harness first(&th_module_entry_v1);
  alice_history(first, 10);
  region_history(first);
  first.finish();
  EXPECT_TRUE(first.findings().empty());
  std::string bytes = first.snapshot("api-activity");
  EXPECT_FALSE(bytes.empty());

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("api-activity", bytes);
  anomaly(second);
  second.finish();
  EXPECT_EQ(summary(second), summary(one));
  // and the restored state snapshots to the same bytes (nothing lost on the way)
  harness third(&th_module_entry_v1);
  third.start();
  third.restore("api-activity", bytes);
  EXPECT_EQ(third.snapshot("api-activity"), bytes);
}

TEST(ApiActivity, CorruptStateIsRejected) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("api-activity", "THAA1\x05garbage"), std::runtime_error);
  EXPECT_THROW(h.restore("api-activity", "nonsense"), std::runtime_error);
}

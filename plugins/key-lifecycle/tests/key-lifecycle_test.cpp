// SPDX-License-Identifier: Apache-2.0
// Tests of the key-lifecycle detector: days of benign key use, then a new key used from elsewhere,
// a first key for a keyless user, a dormant key waking up; rotation, CI and onboarding stay quiet
// or low; the learned state survives a snapshot/restore.
#include <gtest/gtest.h>

#include <string>
#include <trailhound/testing.hpp>
#include <vector>

using namespace trailhound::testing;
using namespace trailhound::testing::timeline;

namespace {

int seq = 0;
std::string at(const std::string& rec, int64_t secs) {
  return merge_json(rec, R"({"eventTime":")" + iso(secs) + R"(","eventID":"kl-test-)" +
                             std::to_string(++seq) + R"("})");
}

const char* kCli = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12";
const char* kConsole =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36";

// A call by IAM user `user` signed with `key` from `ip`.
std::string user_call(const std::string& user, const std::string& key, const std::string& ip,
                      const std::string& name = "DescribeInstances", const char* ua = kCli) {
  return merge_json(records::iam_user("ec2.amazonaws.com", name),
                    R"({"readOnly":true,"userIdentity":{"arn":"arn:aws:iam::111122223333:user/)" +
                        user + R"(","userName":")" + user + R"(","accessKeyId":")" + key +
                        R"(","principalId":"AIDA)" + user + R"("},"sourceIPAddress":")" + ip +
                        R"(","userAgent":")" + ua + R"("})");
}

std::string create_key(const std::string& caller_rec, const std::string& owner,
                       const std::string& new_key, bool with_user_name = true) {
  std::string req = with_user_name ? R"({"userName":")" + owner + R"("})" : "null";
  return merge_json(caller_rec, R"({"eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey",
      "readOnly":false,"requestParameters":)" +
                                    req + R"(,"responseElements":{"accessKey":{"accessKeyId":")" +
                                    new_key + R"(","status":"Active","userName":")" + owner +
                                    R"(","createDate":"Nov 20, 2026 10:00:00 AM"}}})");
}

// Ten days: alice with her key from home and office, carol with hers from the office.
void history(harness& h, int days = 10) {
  for (int d = 0; d < days; ++d) {
    h.feed(at(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.100.10"), at_time(d, 8)));
    h.feed(at(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), at_time(d, 10)));
    h.feed(at(user_call("carol", "AKIACAROLKEY00000001", "198.51.101.21"), at_time(d, 11)));
  }
}

}  // namespace

// ------------------------------------------------------------------------------------------
// new-key-used-from-elsewhere

TEST(KeyLifecycle, NewKeyUsedAtOnceFromAnotherNetworkIsHigh) {
  harness h(&th_module_entry_v1);
  history(h);
  // alice's stolen key creates a new key for alice from the thief's network...
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "192.0.2.66"), "alice",
                       "AKIAALICENEWKEY00001", false),
            at_time(10, 2)));
  // ... and the new key is used from a VPS somewhere else 20 minutes later.
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00001", "203.0.113.77", "ListBuckets"),
            at_time(10, 2, 20)));
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00001", "203.0.113.77", "ListBuckets"),
            at_time(10, 2, 21)));
  h.finish();
  ASSERT_EQ(h.count("new-key-used-from-elsewhere"), 1u);
  auto f = h.findings("new-key-used-from-elsewhere")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAALICENEWKEY00001");
  EXPECT_EQ(f.evidence("creatorSourceIPAddress"), "192.0.2.66");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "203.0.113.77");
  EXPECT_EQ(f.evidence("minutesAfterCreation"), "20");
  EXPECT_EQ(f.evidence("sameNetworkAsCreator"), "false");
  ASSERT_EQ(f.event_ids.size(), 2u);  // the use and the creation
  EXPECT_EQ(f.event_names[1], "CreateAccessKey");
  EXPECT_EQ(h.count("first-key-for-user"), 0u);  // alice had a key
}

TEST(KeyLifecycle, InstanceRoleCreatingKeyForUserUsedFromOutsideIsHigh) {
  harness h(&th_module_entry_v1);
  history(h);
  std::string role = merge_json(records::assumed_role("iam.amazonaws.com", "CreateAccessKey"),
                                R"({"sourceIPAddress":"54.90.1.2"})");
  h.feed(at(create_key(role, "carol", "AKIACAROLNEWKEY00001"), at_time(10, 2)));
  h.feed(at(user_call("carol", "AKIACAROLNEWKEY00001", "203.0.113.77", "GetCallerIdentity"),
            at_time(10, 3)));
  h.finish();
  ASSERT_EQ(h.count("new-key-used-from-elsewhere"), 1u);
  EXPECT_EQ(h.findings("new-key-used-from-elsewhere")[0].severity, "high");
  EXPECT_EQ(h.findings("new-key-used-from-elsewhere")[0].evidence("createdBy"),
            "arn:aws:sts::111122223333:assumed-role/Deploy/deploy-session");
}

TEST(KeyLifecycle, RotationFromSameNetworkOrKnownNetworkIsQuiet) {
  harness h(&th_module_entry_v1);
  history(h);
  // alice rotates her key in the console at home and configures the CLI on the same laptop...
  h.feed(at(create_key(user_call("alice", "ASIAALICECONSOLE0001", "198.51.100.10",
                                 "CreateAccessKey", kConsole),
                       "alice", "AKIAALICENEWKEY00002", false),
            at_time(10, 20)));
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00002", "198.51.100.11"), at_time(10, 20, 5)));
  // ... and uses it from the office the next morning.
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00002", "198.51.101.20"), at_time(11, 9)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(KeyLifecycle, CiCreatingAndUsingKeyFromSameNetworkIsQuiet) {
  harness h(&th_module_entry_v1);
  history(h);
  std::string ci = merge_json(records::assumed_role("iam.amazonaws.com", "CreateAccessKey"),
                              R"({"sourceIPAddress":"20.42.7.9"})");
  h.feed(at(create_key(ci, "carol", "AKIACAROLNEWKEY00002"), at_time(10, 2)));
  std::string use = merge_json(user_call("carol", "AKIACAROLNEWKEY00002", "20.42.7.9"),
                               R"({"userAgent":"Boto3/1.34.50 md/Botocore#1.34.50"})");
  h.feed(at(use, at_time(10, 2, 1)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(KeyLifecycle, SameNetworkDifferentProgrammaticClientIsLow) {
  harness h(&th_module_entry_v1);
  history(h);
  std::string ci = merge_json(records::assumed_role("iam.amazonaws.com", "CreateAccessKey"),
                              R"({"sourceIPAddress":"20.42.7.9"})");
  h.feed(at(create_key(ci, "carol", "AKIACAROLNEWKEY00003"), at_time(10, 2)));
  std::string use = merge_json(user_call("carol", "AKIACAROLNEWKEY00003", "20.42.7.10"),
                               R"({"userAgent":"S3 Browser/11.5.7 https://s3browser.com"})");
  h.feed(at(use, at_time(10, 2, 1)));
  h.finish();
  ASSERT_EQ(h.count("new-key-used-from-elsewhere"), 1u);
  auto f = h.findings("new-key-used-from-elsewhere")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("creatorUserAgentFamily"), "boto3");
  EXPECT_EQ(f.evidence("userAgentFamily"), "s3-browser");
}

TEST(KeyLifecycle, TerraformKeyForServiceUserUsedByAppIsMedium) {
  harness h(&th_module_entry_v1);
  history(h);
  std::string tf = merge_json(records::assumed_role("iam.amazonaws.com", "CreateAccessKey"),
                              R"({"sourceIPAddress":"20.42.7.9","userAgent":
      "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0"})");
  h.feed(at(create_key(tf, "carol", "AKIACAROLNEWKEY00004"), at_time(10, 2)));
  h.feed(at(user_call("carol", "AKIACAROLNEWKEY00004", "203.0.113.77"), at_time(10, 4)));
  h.finish();
  ASSERT_EQ(h.count("new-key-used-from-elsewhere"), 1u);
  EXPECT_EQ(h.findings("new-key-used-from-elsewhere")[0].severity, "medium");
  EXPECT_EQ(h.findings("new-key-used-from-elsewhere")[0].evidence("createdByInfrastructureAsCode"),
            "true");
}

TEST(KeyLifecycle, UseAfterWindowOrFromTrustedNetworkIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["203.0.113.0/24"])");
  history(h);
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "192.0.2.66"), "alice",
                       "AKIAALICENEWKEY00003", false),
            at_time(10, 2)));
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00003", "203.0.113.77"), at_time(10, 3)));
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00003", "192.0.2.200"), at_time(12, 3)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// first-key-for-user

TEST(KeyLifecycle, FirstKeyForKeylessUserIsMedium) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), "dave",
                       "AKIADAVENEWKEY000001"),
            at_time(10, 12)));
  // a second key for carol, who has used a key all along: not a first key
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), "carol",
                       "AKIACAROLNEWKEY00005"),
            at_time(10, 12, 5)));
  h.finish();
  ASSERT_EQ(h.count("first-key-for-user"), 1u);
  auto f = h.findings("first-key-for-user")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("userName"), "dave");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIADAVENEWKEY000001");
  EXPECT_EQ(f.evidence("observedSince"), "2026-11-01T08:00:00Z");
}

TEST(KeyLifecycle, FirstKeyForNewEmployeeIsLow) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(at(merge_json(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"),
                       R"({"eventSource":"iam.amazonaws.com","eventName":"CreateUser",
                           "readOnly":false,"requestParameters":{"userName":"erin"}})"),
            at_time(10, 12)));
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), "erin",
                       "AKIAERINNEWKEY000001"),
            at_time(10, 12, 3)));
  h.finish();
  ASSERT_EQ(h.count("first-key-for-user"), 1u);
  EXPECT_EQ(h.findings("first-key-for-user")[0].severity, "low");
  EXPECT_EQ(h.findings("first-key-for-user")[0].evidence("userCreatedRecently"), "true");
}

TEST(KeyLifecycle, FirstKeyDuringWarmupIsLearned) {
  harness h(&th_module_entry_v1);
  history(h, 3);
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), "dave",
                       "AKIADAVENEWKEY000001"),
            at_time(3, 12)));
  h.finish();
  EXPECT_EQ(h.count("first-key-for-user"), 0u);
}

// ------------------------------------------------------------------------------------------
// dormant-key-used

TEST(KeyLifecycle, DormantKeyFromKnownNetworkIsMediumFromNewNetworkHigh) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(at(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"), at_time(0, 9)));
  h.feed(at(user_call("grace", "AKIAGRACEKEY00000001", "198.51.101.31"), at_time(0, 9)));
  h.feed(at(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"), at_time(45, 9)));
  h.feed(at(user_call("grace", "AKIAGRACEKEY00000001", "203.0.113.9"), at_time(45, 9)));
  h.feed(at(user_call("grace", "AKIAGRACEKEY00000001", "203.0.113.9"), at_time(45, 10)));
  h.finish();
  ASSERT_EQ(h.count("dormant-key-used"), 2u);
  auto frank = h.findings("dormant-key-used")[0];
  auto grace = h.findings("dormant-key-used")[1];
  EXPECT_EQ(frank.severity, "medium");
  EXPECT_EQ(frank.evidence("idleDays"), "45");
  EXPECT_EQ(frank.evidence("lastUsed"), "2026-11-01T09:00:00Z");
  EXPECT_EQ(frank.evidence("newSourceNetwork"), "false");
  EXPECT_EQ(grace.severity, "high");
  EXPECT_EQ(grace.evidence("newSourceNetwork"), "true");
}

TEST(KeyLifecycle, RegularlyDormantKeyIsLowAndActiveKeysQuiet) {
  harness h(&th_module_entry_v1);
  history(h, 20);  // keys used daily: never dormant
  // a quarterly job
  for (int d : {0, 40, 80})
    h.feed(at(user_call("backup", "AKIABACKUPKEY0000001", "198.51.101.40"), at_time(d, 3)));
  h.finish();
  ASSERT_EQ(h.count("dormant-key-used"), 2u);
  EXPECT_EQ(h.findings("dormant-key-used")[0].severity, "medium");
  EXPECT_EQ(h.findings("dormant-key-used")[1].severity, "low");
  EXPECT_EQ(h.findings("dormant-key-used")[1].evidence("previousWakeups"), "1");
}

TEST(KeyLifecycle, AwsServiceCallsAreNotKeyUse) {
  harness h(&th_module_entry_v1);
  h.feed(at(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"), at_time(0, 9)));
  h.feed(at(merge_json(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"),
                       R"({"userIdentity":{"invokedBy":"athena.amazonaws.com"},
                           "sourceIPAddress":"athena.amazonaws.com"})"),
            at_time(40, 9)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// persistence

namespace {
void long_history(harness& h) {
  history(h);
  h.feed(at(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"), at_time(0, 9)));
  // the key is created at the end of the first run...
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "192.0.2.66"), "alice",
                       "AKIAALICENEWKEY00009", false),
            at_time(9, 23, 50)));
}
void later(harness& h) {
  // ... and used from elsewhere at the start of the next one
  h.feed(at(user_call("alice", "AKIAALICENEWKEY00009", "203.0.113.77"), at_time(10, 0, 10)));
  h.feed(at(create_key(user_call("alice", "AKIAALICEOLDKEY00001", "198.51.101.20"), "dave",
                       "AKIADAVENEWKEY000009"),
            at_time(10, 1)));
  h.feed(at(user_call("frank", "AKIAFRANKKEY00000001", "198.51.101.30"), at_time(40, 9)));
}
std::vector<std::string> summary(const harness& h) {
  std::vector<std::string> out;
  for (auto& f : h.findings())
    out.push_back(f.finding_id + "|" + f.rule + "|" + f.severity + "|" + f.evidence_json);
  return out;
}
}  // namespace

TEST(KeyLifecycle, StateRoundTripGivesTheSameFindings) {
  int saved = seq;
  harness one(&th_module_entry_v1);
  long_history(one);
  later(one);
  one.finish();
  EXPECT_EQ(one.count("new-key-used-from-elsewhere"), 1u);
  EXPECT_EQ(one.count("first-key-for-user"), 1u);
  EXPECT_EQ(one.count("dormant-key-used"), 1u);

  seq = saved;
  harness first(&th_module_entry_v1);
  long_history(first);
  first.finish();
  EXPECT_TRUE(first.findings().empty());
  std::string bytes = first.snapshot("key-lifecycle");

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("key-lifecycle", bytes);
  later(second);
  second.finish();
  EXPECT_EQ(summary(second), summary(one));

  harness third(&th_module_entry_v1);
  third.start();
  third.restore("key-lifecycle", bytes);
  EXPECT_EQ(third.snapshot("key-lifecycle"), bytes);
}

TEST(KeyLifecycle, CorruptStateIsRejected) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("key-lifecycle", std::string("THKL1\x02\x01", 7)), std::runtime_error);
  EXPECT_THROW(h.restore("key-lifecycle", "THNS1"), std::runtime_error);
}

// SPDX-License-Identifier: Apache-2.0
// Tests of the credential-access detector: bursts of distinct secrets/parameters and EC2
// password data, with the benign look-alikes (one secret re-read, slow reads, services).
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
  std::snprintf(buf, sizeof buf, "0b7e4d1c-0000-4000-8000-%012d", ++n);
  return buf;
}
// 2026-11-20 10:00:00 + `seconds`.
std::string at(int seconds) {
  int h = 10 + seconds / 3600, m = (seconds / 60) % 60, s = seconds % 60;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-20T%02d:%02d:%02dZ", h, m, s);
  return buf;
}
std::string call(std::string_view source, std::string_view name, std::string_view request, int t,
                 std::string_view extra = "") {
  std::string patch = R"({"eventID":")" + unique_id() + R"(","eventTime":")" + at(t) +
                      R"(","requestParameters":)" + std::string(request);
  if (!extra.empty()) patch += "," + std::string(extra);
  patch += "}";
  return merge_json(records::iam_user(source, name), patch);
}
std::string get_secret(std::string_view id, int t, std::string_view extra = "") {
  return call("secretsmanager.amazonaws.com", "GetSecretValue",
              R"({"secretId":")" + std::string(id) + R"("})", t, extra);
}
std::string get_param(std::string_view name, int t, bool decrypt = true) {
  return call("ssm.amazonaws.com", "GetParameter",
              R"({"name":")" + std::string(name) + R"(","withDecryption":)" +
                  (decrypt ? "true" : "false") + "}",
              t);
}
std::string password_data(std::string_view instance, int t, std::string_view extra = "") {
  return call("ec2.amazonaws.com", "GetPasswordData",
              R"({"instanceId":")" + std::string(instance) + R"("})", t, extra);
}
constexpr const char* BOB =
    R"("userIdentity":{"type":"IAMUser","principalId":"AIDABOB","arn":"arn:aws:iam::111122223333:user/bob","accountId":"111122223333","accessKeyId":"AKIABOB","userName":"bob"})";

}  // namespace

// ---------------------------------------------------------------- Secrets Manager
TEST(CredSecrets, TenDistinctSecretsInFiveMinutesIsHigh) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i) h.feed(get_secret("prod/app" + std::to_string(i), i * 30));
  h.finish();
  ASSERT_EQ(h.count("secrets-bulk-retrieval"), 1u);
  auto f = h.findings("secrets-bulk-retrieval")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("distinctCount"), "10");
  EXPECT_EQ(f.evidence("principal"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_NE(f.evidence("secretIds").find("prod/app7"), std::string::npos);
  EXPECT_EQ(f.event_ids.size(), 10u);
  EXPECT_EQ(f.first_seen, "2026-11-20T10:00:00Z");
  EXPECT_EQ(f.last_seen, "2026-11-20T10:04:30Z");
  ASSERT_FALSE(f.mitre.empty());
  EXPECT_EQ(f.mitre[0], "T1555.006");
}

TEST(CredSecrets, ApplicationRereadingOneSecretIsSilent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 200; ++i) h.feed(get_secret("prod/db-password", i * 3));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 0u);
}

TEST(CredSecrets, NameAndArnOfOneSecretCountOnce) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 9; ++i) h.feed(get_secret("svc/s" + std::to_string(i), i));
  h.feed(get_secret("arn:aws:secretsmanager:us-east-1:111122223333:secret:svc/s0-AbC123", 20));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 0u);
}

TEST(CredSecrets, NineSecretsOrSlowReadsAreSilent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 9; ++i) h.feed(get_secret("a/" + std::to_string(i), i * 10));
  // ten more, one every three minutes: never ten within ten minutes
  for (int i = 0; i < 10; ++i) h.feed(get_secret("b/" + std::to_string(i), 1000 + i * 180));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 0u);
}

TEST(CredSecrets, CountsArePerPrincipal) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 6; ++i) h.feed(get_secret("x/" + std::to_string(i), i));
  for (int i = 6; i < 12; ++i) h.feed(get_secret("x/" + std::to_string(i), i, BOB));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 0u);
}

TEST(CredSecrets, OneFindingPerWindowNotPerEvent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 25; ++i) h.feed(get_secret("all/" + std::to_string(i), i * 5));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 1u);
}

TEST(CredSecrets, ContinuingHarvestFiresAgainInTheNextWindow) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i) h.feed(get_secret("w1/" + std::to_string(i), i * 5));
  for (int i = 0; i < 10; ++i) h.feed(get_secret("w2/" + std::to_string(i), 900 + i * 5));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 2u);
}

TEST(CredSecrets, BatchGetSecretValueCountsEverySecret) {
  harness h(&th_module_entry_v1);
  h.feed(call("secretsmanager.amazonaws.com", "BatchGetSecretValue",
              R"({"secretIdList":["a","b","c","d","e","f","g","h","i","j","k"]})", 0));
  h.finish();
  ASSERT_EQ(h.count("secrets-bulk-retrieval"), 1u);
  EXPECT_EQ(h.findings("secrets-bulk-retrieval")[0].evidence("distinctCount"), "11");
}

TEST(CredSecrets, ListingBeforeIsReported) {
  harness h(&th_module_entry_v1);
  h.feed(call("secretsmanager.amazonaws.com", "ListSecrets", R"({"maxResults":100})", 0));
  for (int i = 0; i < 10; ++i) h.feed(get_secret("s/" + std::to_string(i), 10 + i));
  h.finish();
  ASSERT_EQ(h.count("secrets-bulk-retrieval"), 1u);
  EXPECT_EQ(h.findings("secrets-bulk-retrieval")[0].evidence("listedBefore"), "true");
}

TEST(CredSecrets, ServicesAndFailuresDoNotCount) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 12; ++i)
    h.feed(merge_json(records::aws_service("secretsmanager.amazonaws.com", "GetSecretValue"),
                      R"({"eventID":")" + unique_id() + R"(","requestParameters":{"secretId":"r/)" +
                          std::to_string(i) + R"("}})"));
  for (int i = 0; i < 12; ++i)
    h.feed(get_secret("denied/" + std::to_string(i), i,
                      R"("errorCode":"AccessDeniedException","errorMessage":"no")"));
  h.finish();
  EXPECT_EQ(h.count("secrets-bulk-retrieval"), 0u);
}

TEST(CredSecrets, ThresholdIsConfigurableAndTrustedNetworkLowers) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["198.51.100.0/24"]
[detectors.credential-access.params]
secrets_threshold = 3)");
  for (int i = 0; i < 3; ++i) h.feed(get_secret("t/" + std::to_string(i), i));
  h.finish();
  ASSERT_EQ(h.count("secrets-bulk-retrieval"), 1u);
  EXPECT_EQ(h.findings("secrets-bulk-retrieval")[0].severity, "medium");
}

// ---------------------------------------------------------------- SSM
TEST(CredSsm, TwentyDecryptedParametersIsMedium) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 20; ++i) h.feed(get_param("/prod/key" + std::to_string(i), i * 10));
  h.finish();
  ASSERT_EQ(h.count("ssm-secure-parameter-bulk-retrieval"), 1u);
  auto f = h.findings("ssm-secure-parameter-bulk-retrieval")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("distinctCount"), "20");
  EXPECT_NE(f.evidence("parameterNames").find("/prod/key19"), std::string::npos);
}

TEST(CredSsm, WithoutDecryptionOrRepeatedNamesIsSilent) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 30; ++i) h.feed(get_param("/cfg/p" + std::to_string(i), i, false));
  for (int i = 0; i < 50; ++i) h.feed(get_param("/prod/db/password", 100 + i));
  // Versioned selectors and ARNs of one parameter count once.
  h.feed(get_param("/prod/db/password:3", 200));
  h.feed(get_param("arn:aws:ssm:us-east-1:111122223333:parameter/prod/db/password", 201));
  // Paging through one path counts once.
  for (int i = 0; i < 30; ++i)
    h.feed(call("ssm.amazonaws.com", "GetParametersByPath",
                R"({"path":"/prod/app/","recursive":true,"withDecryption":true,"nextToken":"t)" +
                    std::to_string(i) + R"("})",
                300 + i));
  h.finish();
  EXPECT_EQ(h.count("ssm-secure-parameter-bulk-retrieval"), 0u);
}

TEST(CredSsm, GetParametersListCounts) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.credential-access.params]
ssm_threshold = 5)");
  h.feed(call("ssm.amazonaws.com", "GetParameters",
              R"({"names":["/a","/b","/c"],"withDecryption":"true"})", 0));
  h.feed(call("ssm.amazonaws.com", "GetParametersByPath",
              R"({"path":"/","recursive":true,"withDecryption":true})", 10));
  h.feed(get_param("/d", 20));
  h.finish();
  ASSERT_EQ(h.count("ssm-secure-parameter-bulk-retrieval"), 1u);
  EXPECT_NE(h.findings("ssm-secure-parameter-bulk-retrieval")[0]
                .evidence("parameterNames")
                .find("path:/ (recursive)"),
            std::string::npos);
}

// ---------------------------------------------------------------- EC2 password data
TEST(CredPassword, SingleRetrievalIsLowOncePerInstance) {
  harness h(&th_module_entry_v1);
  h.feed(password_data("i-0aaa", 0));
  h.feed(password_data("i-0aaa", 60));
  h.finish();
  ASSERT_EQ(h.count("ec2-password-data-retrieved"), 1u);
  auto f = h.findings("ec2-password-data-retrieved")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("instanceId"), "i-0aaa");
  EXPECT_EQ(h.count("ec2-password-data-bulk"), 0u);
}

TEST(CredPassword, ManyInstancesIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(password_data("i-01", 0));
  h.feed(password_data("i-02", 30));
  h.feed(password_data("i-03", 60));
  h.finish();
  EXPECT_EQ(h.count("ec2-password-data-retrieved"), 3u);
  ASSERT_EQ(h.count("ec2-password-data-bulk"), 1u);
  auto f = h.findings("ec2-password-data-bulk")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("distinctCount"), "3");
}

TEST(CredPassword, ServiceAndFailedCallsAreSilent) {
  harness h(&th_module_entry_v1);
  h.feed(merge_json(
      records::aws_service("ec2.amazonaws.com", "GetPasswordData"),
      R"({"eventID":")" + unique_id() + R"(","requestParameters":{"instanceId":"i-0svc"}})"));
  h.feed(password_data("i-0bbb", 0, R"("errorCode":"Client.UnauthorizedOperation")"));
  h.finish();
  EXPECT_EQ(h.count("ec2-password-data-retrieved"), 0u);
}

TEST(CredPassword, BreakGlassIsLowerNotSilent) {
  harness h(&th_module_entry_v1);
  h.config(R"(break_glass_principals = ["arn:aws:iam::111122223333:user/alice"])");
  h.feed(password_data("i-01", 0));
  h.feed(password_data("i-02", 1));
  h.feed(password_data("i-03", 2));
  h.finish();
  ASSERT_EQ(h.count("ec2-password-data-bulk"), 1u);
  EXPECT_EQ(h.findings("ec2-password-data-bulk")[0].severity, "medium");
  EXPECT_EQ(h.findings("ec2-password-data-retrieved")[0].severity, "info");
}

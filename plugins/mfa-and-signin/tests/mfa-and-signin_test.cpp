// SPDX-License-Identifier: Apache-2.0
// Tests of the mfa-and-signin family: every rule fires on its attack shape and stays quiet (or
// lower) on its benign look-alikes.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

int next_id = 1;
std::string eid() {
  char buf[64];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012d", next_id++);
  return buf;
}
// "2026-11-20T<hh>:<mm>:<ss>Z" from seconds after 10:00:00.
std::string at(int seconds) {
  int h = 10 + seconds / 3600, m = (seconds / 60) % 60, s = seconds % 60;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-20T%02d:%02d:%02dZ", h, m, s);
  return buf;
}

const char* ALICE_SIGNIN =
    R"({"type":"IAMUser","principalId":"AIDAEXAMPLEALICE00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"","userName":"alice"})";

std::string iam_user_identity(const std::string& user) {
  return R"({"type":"IAMUser","principalId":"AIDAEXAMPLE)" + user +
         R"(","arn":"arn:aws:iam::111122223333:user/)" + user +
         R"(","accountId":"111122223333","accessKeyId":"","userName":")" + user + R"("})";
}

// A ConsoleLogin record. result: "Success" / "Failure"; mfa: "Yes" / "No" / "" (absent).
std::string login(const std::string& identity, const std::string& result, const std::string& mfa,
                  const std::string& ip, int t) {
  std::string additional =
      R"({"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No")";
  if (!mfa.empty()) additional += R"(,"MFAUsed":")" + mfa + "\"";
  additional += "}";
  std::string patch = R"({"userIdentity":)" + identity +
                      R"(,"eventType":"AwsConsoleSignIn","readOnly":null,"sourceIPAddress":")" +
                      ip + R"(","eventTime":")" + at(t) + R"(","eventID":")" + eid() +
                      R"(","responseElements":{"ConsoleLogin":")" + result +
                      R"("},"additionalEventData":)" + additional +
                      R"(,"userAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0")";
  if (result == "Failure") patch += R"(,"errorMessage":"Failed authentication")";
  patch += "}";
  return merge_json(records::iam_user("signin.amazonaws.com", "ConsoleLogin"), patch);
}

std::string failed(const std::string& user, const std::string& ip, int t) {
  return login(iam_user_identity(user), "Failure", "No", ip, t);
}

}  // namespace

// ------------------------------------------------------------------------------------------
// console-login-without-mfa
// ------------------------------------------------------------------------------------------
TEST(MfaAndSignin, ConsoleLoginWithoutMfaFires) {
  harness h(&th_module_entry_v1);
  h.feed(login(ALICE_SIGNIN, "Success", "No", "198.51.100.10", 0));
  h.finish();
  ASSERT_EQ(h.count("console-login-without-mfa"), 1u);
  auto f = h.findings("console-login-without-mfa")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("userName"), "alice");
  EXPECT_EQ(f.evidence("MFAUsed"), "No");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "198.51.100.10");
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
  ASSERT_EQ(f.mitre.size(), 1u);
  EXPECT_EQ(f.mitre[0], "T1078.004");
}

TEST(MfaAndSignin, ConsoleLoginWithoutMfaByAdminIsHigh) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:user/alice"])");
  h.feed(login(ALICE_SIGNIN, "Success", "No", "198.51.100.10", 0));
  h.finish();
  ASSERT_EQ(h.count("console-login-without-mfa"), 1u);
  EXPECT_EQ(h.findings("console-login-without-mfa")[0].severity, "high");
  EXPECT_EQ(h.findings("console-login-without-mfa")[0].evidence("adminPrincipal"), "true");
}

TEST(MfaAndSignin, ConsoleLoginWithoutMfaFromTrustedNetworkIsLower) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["198.51.100.0/24"])");
  h.feed(login(ALICE_SIGNIN, "Success", "No", "198.51.100.10", 0));
  h.finish();
  ASSERT_EQ(h.count("console-login-without-mfa"), 1u);
  EXPECT_EQ(h.findings("console-login-without-mfa")[0].severity, "low");
}

TEST(MfaAndSignin, ConsoleLoginWithMfaIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 0));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, IdentityCenterConsoleLoginIsQuiet) {
  harness h(&th_module_entry_v1);
  const char* sso =
      R"({"type":"AssumedRole","principalId":"AROAEXAMPLESSO000001:bob@example.com","arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/bob@example.com","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLESSO000001","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef","accountId":"111122223333","userName":"AWSReservedSSO_AdministratorAccess_0123456789abcdef"},"attributes":{"creationDate":"2026-11-20T10:00:00Z","mfaAuthenticated":"false"}}})";
  h.config(R"(admin_principals = ["*AWSReservedSSO_AdministratorAccess*"])");
  h.feed(login(sso, "Success", "No", "198.51.100.10", 0));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, SamlFederatedConsoleLoginIsQuiet) {
  harness h(&th_module_entry_v1);
  const char* saml =
      R"({"type":"AssumedRole","principalId":"AROAEXAMPLESAML00001:carol@example.com","arn":"arn:aws:sts::111122223333:assumed-role/ADFS-Admins/carol@example.com","accountId":"111122223333","userName":"carol@example.com"})";
  std::string r = merge_json(
      login(saml, "Success", "No", "198.51.100.10", 0),
      R"({"additionalEventData":{"SamlProviderArn":"arn:aws:iam::111122223333:saml-provider/ADFS"}})");
  h.feed(r);
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, RootConsoleLoginIsLeftToRootFamily) {
  harness h(&th_module_entry_v1);
  const char* root =
      R"({"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":""})";
  h.feed(login(root, "Success", "No", "198.51.100.10", 0));
  h.finish();
  EXPECT_EQ(h.count("console-login-without-mfa"), 0u);
}

TEST(MfaAndSignin, RepeatedLoginWithoutMfaFromSameAddressIsReportedOnce) {
  harness h(&th_module_entry_v1);
  h.feed(login(ALICE_SIGNIN, "Success", "No", "198.51.100.10", 0));
  h.feed(login(ALICE_SIGNIN, "Success", "No", "198.51.100.10", 3600));
  h.feed(login(ALICE_SIGNIN, "Success", "No", "192.0.2.99", 3700));  // new address: new finding
  h.finish();
  EXPECT_EQ(h.count("console-login-without-mfa"), 2u);
}

// ------------------------------------------------------------------------------------------
// console-brute-force-user / -ip / -succeeded
// ------------------------------------------------------------------------------------------
TEST(MfaAndSignin, BurstOfFailuresForOneUserFiresOnce) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 8; ++i) h.feed(failed("alice", "192.0.2.50", i * 20));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-user"), 1u);
  auto f = h.findings("console-brute-force-user")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("failedAttempts"), "5");
  EXPECT_EQ(f.evidence("userNames"), "[\"alice\"]");
  EXPECT_EQ(f.event_ids.size(), 5u);
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.mitre[0], "T1110.001");
  EXPECT_EQ(h.count("console-brute-force-ip"), 0u);  // 8 < 10 per address
}

TEST(MfaAndSignin, AFewTyposAreQuiet) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 4; ++i) h.feed(failed("alice", "198.51.100.10", i * 30));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 150));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, FailuresSpreadBeyondTheWindowAreQuiet) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 6; ++i) h.feed(failed("alice", "198.51.100.10", i * 300));  // 5 min apart
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 0u);
}

TEST(MfaAndSignin, OutOfOrderFailuresStillCount) {
  harness h(&th_module_entry_v1);
  for (int t : {240, 60, 180, 0, 120}) h.feed(failed("alice", "192.0.2.50", t));
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 1u);
}

TEST(MfaAndSignin, ThresholdIsConfigurable) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.mfa-and-signin.params]
failed_login_user_threshold = 3)");
  for (int i = 0; i < 3; ++i) h.feed(failed("alice", "192.0.2.50", i * 10));
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 1u);
}

TEST(MfaAndSignin, PasswordSprayFromOneAddressFiresHigh) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 8; ++i) h.feed(failed("user" + std::to_string(i), "192.0.2.66", i * 15));
  for (int i = 0; i < 2; ++i)
    h.feed(failed("HIDDEN_DUE_TO_SECURITY_REASONS", "192.0.2.66", 130 + i));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-ip"), 1u);
  auto f = h.findings("console-brute-force-ip")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("passwordSpraying"), "true");
  EXPECT_EQ(f.evidence("failedAttempts"), "10");
  EXPECT_EQ(f.evidence("hiddenUserNameAttempts"), "2");
  EXPECT_EQ(f.source_ip, "192.0.2.66");
  EXPECT_EQ(h.count("console-brute-force-user"), 0u);
}

TEST(MfaAndSignin, FailuresFromTrustedOfficeAreLower) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["192.0.2.0/24"])");
  for (int i = 0; i < 5; ++i) h.feed(failed("alice", "192.0.2.50", i * 20));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-user"), 1u);
  EXPECT_EQ(h.findings("console-brute-force-user")[0].severity, "low");
}

TEST(MfaAndSignin, SuccessWithoutMfaAfterBurstIsCritical) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 6; ++i) h.feed(failed("alice", "192.0.2.50", i * 20));
  h.feed(login(ALICE_SIGNIN, "Success", "No", "192.0.2.50", 200));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-succeeded"), 1u);
  auto f = h.findings("console-brute-force-succeeded")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("matchedBy"), "user");
  EXPECT_EQ(f.evidence("MFAUsed"), "No");
  EXPECT_GE(f.event_ids.size(), 6u);  // the success and the burst
}

TEST(MfaAndSignin, SuccessWithMfaAfterBurstIsMedium) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 5; ++i) h.feed(failed("alice", "198.51.100.10", i * 20));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 150));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-succeeded"), 1u);
  EXPECT_EQ(h.findings("console-brute-force-succeeded")[0].severity, "medium");
}

TEST(MfaAndSignin, SuccessLongAfterBurstIsNotCorrelated) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 5; ++i) h.feed(failed("alice", "192.0.2.50", i * 20));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 3 * 3600));
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 1u);
  EXPECT_EQ(h.count("console-brute-force-succeeded"), 0u);
}

TEST(MfaAndSignin, SprayThenSuccessFromSameAddressFires) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i) h.feed(failed("user" + std::to_string(i), "192.0.2.66", i * 10));
  h.feed(login(iam_user_identity("user7"), "Success", "No", "192.0.2.66", 200));
  h.finish();
  ASSERT_EQ(h.count("console-brute-force-succeeded"), 1u);
  auto f = h.findings("console-brute-force-succeeded")[0];
  EXPECT_EQ(f.evidence("matchedBy"), "sourceIPAddress");
  EXPECT_EQ(f.evidence("burstRule"), "console-brute-force-ip");
  EXPECT_EQ(f.severity, "critical");
}

// ------------------------------------------------------------------------------------------
// mfa-removed-*
// ------------------------------------------------------------------------------------------
namespace {
std::string deactivate(const std::string& base, const std::string& user, const std::string& serial,
                       int t) {
  std::string req = "{";
  if (!user.empty()) req += R"("userName":")" + user + "\",";
  req += R"("serialNumber":")" + serial + "\"}";
  return merge_json(base, R"({"requestParameters":)" + req + R"(,"eventTime":")" + at(t) +
                              R"(","eventID":")" + eid() + "\"}");
}
std::string enable(const std::string& user, int t) {
  return merge_json(records::iam_user("iam.amazonaws.com", "EnableMFADevice"),
                    R"({"requestParameters":{"userName":")" + user +
                        R"(","serialNumber":"arn:aws:iam::111122223333:mfa/)" + user +
                        R"(-new"},"eventTime":")" + at(t) + R"(","eventID":")" + eid() + "\"}");
}
}  // namespace

TEST(MfaAndSignin, RootMfaDeactivatedIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::root("iam.amazonaws.com", "DeactivateMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device", 0));
  h.feed(deactivate(records::root("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device", 10));
  h.finish();
  ASSERT_EQ(h.count("mfa-removed-root"), 1u);  // the delete that follows adds no second one
  auto f = h.findings("mfa-removed-root")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("serialNumber"), "arn:aws:iam::111122223333:mfa/root-account-mfa-device");
  EXPECT_EQ(f.mitre[0], "T1556.006");
}

TEST(MfaAndSignin, OtherUsersMfaDeactivatedIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "bob",
                    "arn:aws:iam::111122223333:mfa/bob", 0));
  h.finish();
  ASSERT_EQ(h.count("mfa-removed-other-user"), 1u);
  auto f = h.findings("mfa-removed-other-user")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("callerArn"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(h.count("mfa-removed-self"), 0u);
}

TEST(MfaAndSignin, HelpDeskAdminResetIsMedium) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:user/alice"])");
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "bob",
                    "arn:aws:iam::111122223333:mfa/bob", 0));
  h.finish();
  ASSERT_EQ(h.count("mfa-removed-other-user"), 1u);
  EXPECT_EQ(h.findings("mfa-removed-other-user")[0].severity, "medium");
}

TEST(MfaAndSignin, SelfDeviceReplacementIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "alice",
                    "arn:aws:iam::111122223333:mfa/alice", 0));
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/alice", 5));
  h.feed(enable("alice", 300));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 4 * 3600));  // time moves on
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, SelfRemovalWithoutNewDeviceFiresAfterWindow) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "alice",
                    "arn:aws:iam::111122223333:mfa/alice", 0));
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/alice", 5));
  h.feed(enable("alice", 2 * 3600));  // too late to count as a replacement
  h.finish();
  ASSERT_EQ(h.count("mfa-removed-self"), 1u);
  auto f = h.findings("mfa-removed-self")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("userName"), "alice");
  EXPECT_EQ(f.evidence("virtualDeviceDeleted"), "true");
  EXPECT_EQ(f.event_ids.size(), 2u);
  EXPECT_EQ(f.principal, "arn:aws:iam::111122223333:user/alice");
}

TEST(MfaAndSignin, SelfRemovalAtEndOfInputIsReportedOnFlush) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "alice",
                    "arn:aws:iam::111122223333:mfa/alice", 0));
  h.finish();
  EXPECT_EQ(h.count("mfa-removed-self"), 1u);
}

TEST(MfaAndSignin, UnassignedVirtualDeviceCleanupIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/alice", 0));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, FailedDeactivationIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(merge_json(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "bob",
                               "arn:aws:iam::111122223333:mfa/bob", 0),
                    R"({"errorCode":"AccessDenied","errorMessage":"not authorized"})"));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

// ------------------------------------------------------------------------------------------
// admin-sensitive-action-without-mfa
// ------------------------------------------------------------------------------------------
namespace {
// Alice's console session (temporary ASIA credentials), with or without MFA.
std::string console_call(const std::string& source, const std::string& name, bool mfa,
                         bool read_only, int t) {
  std::string identity =
      R"({"type":"IAMUser","principalId":"AIDAEXAMPLEALICE00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"ASIAEXAMPLEALICECON1","userName":"alice","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"2026-11-20T09:00:00Z","mfaAuthenticated":")" +
      std::string(mfa ? "true" : "false") + R"("}}})";
  return merge_json(records::iam_user(source, name),
                    R"({"userIdentity":)" + identity + R"(,"readOnly":)" +
                        (read_only ? "true" : "false") +
                        R"(,"requestParameters":{"userName":"bob"},"eventTime":")" + at(t) +
                        R"(","eventID":")" + eid() + R"(","sourceIPAddress":"198.51.100.10"})");
}
const char* ADMIN_ALICE = R"(admin_principals = ["arn:aws:iam::111122223333:user/alice"])";
}  // namespace

TEST(MfaAndSignin, AdminWriteWithoutMfaFiresOncePerSession) {
  harness h(&th_module_entry_v1);
  h.config(ADMIN_ALICE);
  h.feed(console_call("iam.amazonaws.com", "CreateAccessKey", false, false, 0));
  h.feed(console_call("iam.amazonaws.com", "AttachUserPolicy", false, false, 60));
  h.feed(console_call("kms.amazonaws.com", "ScheduleKeyDeletion", false, false, 120));
  h.finish();
  ASSERT_EQ(h.count("admin-sensitive-action-without-mfa"), 1u);
  auto f = h.findings("admin-sensitive-action-without-mfa")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("eventName"), "CreateAccessKey");
  EXPECT_EQ(f.evidence("mfaAuthenticated"), "false");
  EXPECT_EQ(f.evidence("accessKeyId"), "ASIAEXAMPLEALICECON1");
}

TEST(MfaAndSignin, SensitiveRuleIsInactiveWithoutAdminPrincipals) {
  harness h(&th_module_entry_v1);
  h.feed(console_call("iam.amazonaws.com", "CreateAccessKey", false, false, 0));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, AdminWithMfaOrReadOnlyOrSettingUpMfaIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config(ADMIN_ALICE);
  h.feed(console_call("iam.amazonaws.com", "CreateAccessKey", true, false, 0));
  h.feed(console_call("iam.amazonaws.com", "ListUsers", false, true, 10));
  h.feed(console_call("iam.amazonaws.com", "CreateVirtualMFADevice", false, false, 20));
  h.feed(console_call("kms.amazonaws.com", "Decrypt", false, false, 30));
  h.feed(console_call("ec2.amazonaws.com", "RunInstances", false, false, 40));  // not sensitive
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, AdminLongTermKeyHasNoMfaFlagAndIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config(ADMIN_ALICE);
  h.feed(merge_json(records::iam_user("iam.amazonaws.com", "CreateAccessKey"),
                    R"({"requestParameters":{"userName":"bob"}})"));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(MfaAndSignin, AssumedAdminRolesOnlyWhenEnabledAndNeverIdentityCenter) {
  const std::string sso_role = merge_json(
      records::assumed_role("iam.amazonaws.com", "CreateUser"),
      R"({"userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123/bob","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123","userName":"AWSReservedSSO_Admin_0123"}}},"eventID":"00000000-0000-4000-8000-900000000001"})");
  {
    harness h(&th_module_entry_v1);
    h.config(R"(admin_principals = ["arn:aws:iam::111122223333:role/Deploy"])");
    h.feed(records::assumed_role("iam.amazonaws.com", "CreateUser"));
    h.finish();
    EXPECT_EQ(h.findings().size(), 0u);  // include_assumed_roles defaults to false
  }
  {
    harness h(&th_module_entry_v1);
    h.config(
        R"(admin_principals = ["arn:aws:iam::111122223333:role/Deploy", "*AWSReservedSSO_Admin*"]
[detectors.mfa-and-signin.params]
include_assumed_roles = true)");
    h.feed(records::assumed_role("iam.amazonaws.com", "CreateUser"));
    h.feed(sso_role);
    h.finish();
    ASSERT_EQ(h.count("admin-sensitive-action-without-mfa"), 1u);
    EXPECT_EQ(h.findings("admin-sensitive-action-without-mfa")[0].principal,
              "arn:aws:sts::111122223333:assumed-role/Deploy/deploy-session");
  }
}

TEST(MfaAndSignin, AwsServiceActivityIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["*"])");
  h.feed(records::aws_service("iam.amazonaws.com", "DeactivateMFADevice"));
  h.feed(records::aws_service("kms.amazonaws.com", "CreateGrant"));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

// ------------------------------------------------------------------------------------------
// order independence: records of one file are unordered, files arrive minutes apart
// ------------------------------------------------------------------------------------------

TEST(MfaAndSignin, SuccessReadBeforeItsBurstStillCorrelates) {
  harness h(&th_module_entry_v1);
  // the late file with the last failures and the success is read before the earlier one
  h.feed(login(ALICE_SIGNIN, "Success", "No", "192.0.2.50", 200));
  for (int i = 5; i >= 0; --i) h.feed(failed("alice", "192.0.2.50", i * 20));
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 1u);
  ASSERT_EQ(h.count("console-brute-force-succeeded"), 1u);
  auto f = h.findings("console-brute-force-succeeded")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("matchedBy"), "user");
  EXPECT_EQ(f.evidence("burstRule"), "console-brute-force-user");
  EXPECT_EQ(f.evidence("failedAttempts"), "5");  // matched as soon as 5 preceded it
  EXPECT_EQ(f.evidence("secondsSinceLastFailure"), "100");
  EXPECT_EQ(f.event_names[0], "ConsoleLogin");
  EXPECT_GE(f.event_ids.size(), 6u);
}

TEST(MfaAndSignin, SuccessBeforeTheFailuresInEventTimeIsNoBruteForceSuccess) {
  harness h(&th_module_entry_v1);
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "192.0.2.50", 0));  // she signed in first
  for (int i = 1; i <= 6; ++i) h.feed(failed("alice", "192.0.2.50", i * 20));  // then guessing
  // a typo then a good password, read in reverse
  h.feed(login(iam_user_identity("bob"), "Success", "Yes", "198.51.100.7", 541));
  h.feed(failed("bob", "198.51.100.7", 500));
  h.finish();
  EXPECT_EQ(h.count("console-brute-force-user"), 1u);
  EXPECT_EQ(h.count("console-brute-force-succeeded"), 0u);
}

TEST(MfaAndSignin, NewDeviceReadBeforeTheRemovalIsAReplacement) {
  harness h(&th_module_entry_v1);
  h.feed(enable("alice", 120));
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "alice",
                    "arn:aws:iam::111122223333:mfa/alice", 0));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 4 * 3600));  // time moves on
  h.finish();
  EXPECT_EQ(h.count("mfa-removed-self"), 0u);
}

TEST(MfaAndSignin, OldEnableDoesNotExcuseALaterRemoval) {
  harness h(&th_module_entry_v1);
  h.feed(enable("alice", 0));  // enrolled long before
  h.feed(deactivate(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "alice",
                    "arn:aws:iam::111122223333:mfa/alice", 3600));
  h.finish();
  EXPECT_EQ(h.count("mfa-removed-self"), 1u);
}

TEST(MfaAndSignin, RootDeviceDeleteReadBeforeItsDeactivationGivesOneFinding) {
  harness h(&th_module_entry_v1);
  h.feed(deactivate(records::root("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device", 10));
  h.feed(deactivate(records::root("iam.amazonaws.com", "DeactivateMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device", 0));
  h.finish();
  ASSERT_EQ(h.count("mfa-removed-root"), 1u);  // as in the forward order
  auto f = h.findings("mfa-removed-root")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.event_names[0], "DeactivateMFADevice");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[1], "DeleteVirtualMFADevice");
}

TEST(MfaAndSignin, RootDeviceDeletedAloneIsStillReported) {
  harness h(&th_module_entry_v1);
  // its deactivation lies before the logs
  h.feed(deactivate(records::root("iam.amazonaws.com", "DeleteVirtualMFADevice"), "",
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device", 0));
  h.feed(login(ALICE_SIGNIN, "Success", "Yes", "198.51.100.10", 1800));  // time moves on
  EXPECT_EQ(h.count("mfa-removed-root"), 1u);
  h.finish();
  EXPECT_EQ(h.count("mfa-removed-root"), 1u);
}

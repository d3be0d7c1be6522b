// SPDX-License-Identifier: Apache-2.0
// Tests of the root-account detector: every rule fires on the real record shape and stays quiet
// (or lower) on its benign look-alikes.
#include <gtest/gtest.h>

#include <string>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

int seq = 0;

// `base` patched with `patch`, at `time`, with a unique eventID (duplicates are dropped).
std::string at(const std::string& base, const std::string& time, const std::string& patch = "{}") {
  std::string stamp =
      R"({"eventTime":")" + time + R"(","eventID":"root-test-)" + std::to_string(++seq) + R"("})";
  return merge_json(merge_json(base, patch), stamp);
}

const char* kRootArn = "arn:aws:iam::111122223333:root";

std::string root_call(const std::string& source, const std::string& name) {
  return records::root(source, name);
}

std::string console_login(const std::string& result, const std::string& mfa,
                          const std::string& ip = "203.0.113.5") {
  std::string patch = R"({"eventType":"AwsConsoleSignIn","readOnly":null,"sourceIPAddress":")" +
                      ip + R"(","userIdentity":{"accessKeyId":null,"sessionContext":null},
      "userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0",
      "responseElements":{"ConsoleLogin":")" +
                      result + R"("},"additionalEventData":{"LoginTo":
      "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
      "MobileVersion":"No","MFAUsed":")" +
                      mfa + R"("}})";
  if (result == "Failure") patch = merge_json(patch, R"({"errorMessage":"Failed authentication"})");
  return merge_json(records::root("signin.amazonaws.com", "ConsoleLogin"), patch);
}

const char* kBreakGlassRoot = R"(break_glass_principals = ["arn:aws:iam::111122223333:root"])";

}  // namespace

// ------------------------------------------------------------------------------------------
// console sign-in

TEST(RootAccount, ConsoleLoginWithMfa) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Success", "Yes"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login"), 1u);
  EXPECT_EQ(h.count("root-console-login-without-mfa"), 0u);
  auto f = h.findings("root-console-login")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("MFAUsed"), "Yes");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "203.0.113.5");
  EXPECT_EQ(f.principal, kRootArn);
  EXPECT_EQ(f.account_id, "111122223333");
  ASSERT_FALSE(f.mitre.empty());
  EXPECT_EQ(f.mitre[0], "T1078.004");
  // a sign-in is not an API call
  EXPECT_EQ(h.count("root-api-call"), 0u);
}

TEST(RootAccount, ConsoleLoginWithoutMfaIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Success", "No"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login-without-mfa"), 1u);
  EXPECT_EQ(h.count("root-console-login"), 0u);
  auto f = h.findings("root-console-login-without-mfa")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("MFAUsed"), "No");
}

TEST(RootAccount, BreakGlassRootLoginIsLowerNotSilent) {
  harness h(&th_module_entry_v1);
  h.config(kBreakGlassRoot);
  h.feed(at(console_login("Success", "No"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login-without-mfa"), 1u);
  auto f = h.findings("root-console-login-without-mfa")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("breakGlass"), "true");
}

TEST(RootAccount, IamUserConsoleLoginIsNotRoot) {
  harness h(&th_module_entry_v1);
  std::string rec = merge_json(records::iam_user("signin.amazonaws.com", "ConsoleLogin"),
                               R"({"eventType":"AwsConsoleSignIn",
      "responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"MFAUsed":"No"}})");
  h.feed(at(rec, "2026-11-20T10:00:00Z"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(RootAccount, FailedLoginsReportedOncePerSourceIp) {
  harness h(&th_module_entry_v1);
  // no errorCode on a failed ConsoleLogin: only errorMessage and ConsoleLogin=Failure
  h.feed(at(console_login("Failure", "No"), "2026-11-20T10:00:00Z"));
  h.feed(at(console_login("Failure", "No"), "2026-11-20T10:01:00Z"));
  h.feed(at(console_login("Failure", "No"), "2026-11-20T10:02:00Z"));
  h.feed(at(console_login("Failure", "No", "192.0.2.77"), "2026-11-20T10:03:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login-failed"), 2u);
  EXPECT_EQ(h.count("root-console-login"), 0u);
  EXPECT_EQ(h.count("root-console-login-without-mfa"), 0u);
  auto f = h.findings("root-console-login-failed")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("errorMessage"), "Failed authentication");
  EXPECT_EQ(f.evidence("ConsoleLogin"), "Failure");
  EXPECT_EQ(h.findings("root-console-login-failed")[1].evidence("sourceIPAddress"), "192.0.2.77");
}

TEST(RootAccount, FailedLoginReportedAgainAfterWindow) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Failure", "No"), "2026-11-20T10:00:00Z"));
  h.feed(at(console_login("Failure", "No"), "2026-11-20T12:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("root-console-login-failed"), 2u);
}

TEST(RootAccount, SuccessAfterFailuresIsRaised) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Failure", "No", "192.0.2.77"), "2026-11-20T10:00:00Z"));
  h.feed(at(console_login("Failure", "No", "192.0.2.77"), "2026-11-20T10:00:30Z"));
  h.feed(at(console_login("Success", "Yes", "192.0.2.77"), "2026-11-20T10:01:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login"), 1u);
  auto f = h.findings("root-console-login")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("priorFailedAttempts"), "2");
}

TEST(RootAccount, SuccessReadBeforeItsEarlierFailuresIsStillRaised) {
  harness h(&th_module_entry_v1);
  // one CloudTrail file, records unordered: the success comes first
  h.feed(at(console_login("Success", "No", "192.0.2.77"), "2026-11-20T10:01:00Z"));
  h.feed(at(console_login("Failure", "No", "192.0.2.77"), "2026-11-20T10:00:30Z"));
  h.feed(at(console_login("Failure", "No", "192.0.2.77"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login-without-mfa"), 1u);
  auto f = h.findings("root-console-login-without-mfa")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("priorFailedAttempts"), "2");
}

TEST(RootAccount, FailureAfterTheSuccessDoesNotRaiseIt) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Success", "Yes"), "2026-11-20T10:00:00Z"));
  h.feed(at(console_login("Failure", "No"), "2026-11-20T10:02:00Z"));  // later: a new attempt
  // time goes on: the held success is released on event time, not only at the end
  h.feed(at(root_call("s3.amazonaws.com", "ListBuckets"), "2026-11-20T10:20:00Z"));
  ASSERT_EQ(h.count("root-console-login"), 1u);
  EXPECT_EQ(h.findings("root-console-login")[0].severity, "medium");
  h.finish();
}

TEST(RootAccount, SuccessLongAfterFailureIsNotRaised) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Failure", "No"), "2026-11-20T08:00:00Z"));
  h.feed(at(console_login("Success", "Yes"), "2026-11-20T10:01:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-console-login"), 1u);
  EXPECT_EQ(h.findings("root-console-login")[0].severity, "medium");
  EXPECT_EQ(h.findings("root-console-login")[0].evidence("priorFailedAttempts"), "");
}

// ------------------------------------------------------------------------------------------
// root API calls (aggregated)

TEST(RootAccount, RootCallsAggregatedIntoOneFindingPerWindow) {
  harness h(&th_module_entry_v1);
  const std::string ro = R"({"readOnly":true})";
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:00:00Z", ro));
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:05:00Z", ro));
  h.feed(at(root_call("ec2.amazonaws.com", "DescribeInstances"), "2026-11-20T10:10:00Z", ro));
  h.feed(at(root_call("s3.amazonaws.com", "ListBuckets"), "2026-11-20T10:50:00Z", ro));
  h.finish();
  ASSERT_EQ(h.count("root-api-call"), 1u);
  auto f = h.findings("root-api-call")[0];
  EXPECT_EQ(f.severity, "medium");  // read-only
  EXPECT_EQ(f.evidence("callCount"), "4");
  EXPECT_EQ(f.evidence("calls"),
            R"({"ec2.amazonaws.com:DescribeInstances":1,"iam.amazonaws.com:ListUsers":2,)"
            R"("s3.amazonaws.com:ListBuckets":1})");
  EXPECT_EQ(f.event_ids.size(), 4u);
  EXPECT_EQ(f.first_seen, "2026-11-20T10:00:00Z");
  EXPECT_EQ(f.last_seen, "2026-11-20T10:50:00Z");
  EXPECT_EQ(f.principal, kRootArn);
}

TEST(RootAccount, RootWriteCallMakesSummaryHigh) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:00:00Z",
            R"({"readOnly":true})"));
  h.feed(at(root_call("iam.amazonaws.com", "CreateUser"), "2026-11-20T10:02:00Z",
            R"({"requestParameters":{"userName":"temp"}})"));
  h.finish();
  ASSERT_EQ(h.count("root-api-call"), 1u);
  auto f = h.findings("root-api-call")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("writeCalls"), R"(["iam.amazonaws.com:CreateUser"])");
}

TEST(RootAccount, RootCallsInSeparateWindowsAndAccounts) {
  harness h(&th_module_entry_v1);
  const std::string ro = R"({"readOnly":true})";
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:00:00Z", ro));
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T11:30:00Z", ro));
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T11:31:00Z",
            R"({"readOnly":true,"recipientAccountId":"444455556666","userIdentity":{
              "accountId":"444455556666","principalId":"444455556666",
              "arn":"arn:aws:iam::444455556666:root"}})"));
  h.finish();
  ASSERT_EQ(h.count("root-api-call"), 3u);
}

TEST(RootAccount, RootWindowClosesOnEventTimeWithoutFlush) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:00:00Z",
            R"({"readOnly":true})"));
  EXPECT_EQ(h.count("root-api-call"), 0u);  // not per call
  // unrelated traffic moves event time past the window end (+ disorder slack)
  h.feed(at(records::iam_user("s3.amazonaws.com", "ListBuckets"), "2026-11-20T11:30:00Z"));
  EXPECT_EQ(h.count("root-api-call"), 1u);
  h.finish();
  EXPECT_EQ(h.count("root-api-call"), 1u);
}

TEST(RootAccount, ServiceInvokedRootLookalikeIgnored) {
  harness h(&th_module_entry_v1);
  // AWS Support / Trusted Advisor acting with a Root-typed identity
  h.feed(at(root_call("iam.amazonaws.com", "GetAccountSummary"), "2026-11-20T10:00:00Z",
            R"({"userIdentity":{"invokedBy":"support.amazonaws.com","accessKeyId":null},
                "sourceIPAddress":"support.amazonaws.com","userAgent":"support.amazonaws.com"})"));
  h.feed(at(root_call("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:01:00Z",
            R"({"userIdentity":{"invokedBy":"signin.amazonaws.com"},
                "sourceIPAddress":"signin.amazonaws.com"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(RootAccount, NonRootCallsAreNotRootActivity) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("iam.amazonaws.com", "CreateUser"), "2026-11-20T10:00:00Z"));
  h.feed(at(records::assumed_role("ec2.amazonaws.com", "RunInstances"), "2026-11-20T10:01:00Z"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(RootAccount, AssumeRootTaskSessionIsLower) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "DeleteLoginProfile"), "2026-11-20T10:00:00Z",
            R"({"userIdentity":{"sessionContext":{"assumedRoot":"true"}}})"));
  h.finish();
  ASSERT_EQ(h.count("root-api-call"), 1u);
  auto f = h.findings("root-api-call")[0];
  EXPECT_EQ(f.severity, "medium");  // high (write) lowered one step
  EXPECT_EQ(f.evidence("assumedRootCalls"), "1");
}

TEST(RootAccount, BreakGlassRootActivityLower) {
  harness h(&th_module_entry_v1);
  h.config(kBreakGlassRoot);
  h.feed(at(root_call("iam.amazonaws.com", "CreateUser"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("root-api-call"), 1u);
  EXPECT_EQ(h.findings("root-api-call")[0].severity, "medium");
  EXPECT_EQ(h.findings("root-api-call")[0].evidence("breakGlass"), "true");
}

TEST(RootAccount, ActivityWindowIsConfigurable) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.root-account.params]
activity_window = "10m")");
  const std::string ro = R"({"readOnly":true})";
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:00:00Z", ro));
  h.feed(at(root_call("iam.amazonaws.com", "ListUsers"), "2026-11-20T10:20:00Z", ro));
  h.finish();
  EXPECT_EQ(h.count("root-api-call"), 2u);
}

// ------------------------------------------------------------------------------------------
// root access keys

TEST(RootAccount, RootAccessKeyCreated) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"responseElements":{"accessKey":{"accessKeyId":"AKIAROOTNEWKEY000001",
                "status":"Active","createDate":"Nov 20, 2026 10:00:00 AM"}}})"));
  h.finish();
  ASSERT_EQ(h.count("root-access-key-created"), 1u);
  auto f = h.findings("root-access-key-created")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("newAccessKeyId"), "AKIAROOTNEWKEY000001");
  EXPECT_EQ(f.evidence("status"), "Active");
  EXPECT_EQ(f.mitre[0], "T1098.001");
}

TEST(RootAccount, RootCreatingKeyForIamUserIsNotRootKey) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"bob"},"responseElements":{"accessKey":{
                "accessKeyId":"AKIABOBNEWKEY0000001","status":"Active","userName":"bob"}}})"));
  // and a failed attempt for itself
  h.feed(at(root_call("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:01:00Z",
            R"({"errorCode":"LimitExceeded","errorMessage":"Cannot exceed quota"})"));
  h.finish();
  EXPECT_EQ(h.count("root-access-key-created"), 0u);
  EXPECT_EQ(h.count("root-api-call"), 1u);  // still root activity
}

TEST(RootAccount, LongTermRootKeyUsedOncePerReminderInterval) {
  harness h(&th_module_entry_v1);
  const std::string akia = R"({"userIdentity":{"accessKeyId":"AKIAROOTKEY000000001",
      "sessionContext":null},"readOnly":true})";
  h.feed(at(root_call("s3.amazonaws.com", "ListBuckets"), "2026-11-20T10:00:00Z", akia));
  h.feed(at(root_call("s3.amazonaws.com", "ListBuckets"), "2026-11-20T10:10:00Z", akia));
  h.feed(at(root_call("ec2.amazonaws.com", "DescribeRegions"), "2026-11-20T12:00:00Z", akia));
  h.feed(at(root_call("ec2.amazonaws.com", "DescribeRegions"), "2026-11-21T12:30:00Z", akia));
  h.finish();
  ASSERT_EQ(h.count("root-access-key-used"), 2u);
  auto f = h.findings("root-access-key-used")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAROOTKEY000000001");
  EXPECT_EQ(f.evidence("eventName"), "ListBuckets");
}

TEST(RootAccount, ConsoleSessionKeyIsNotLongTermKey) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("s3.amazonaws.com", "ListBuckets"), "2026-11-20T10:00:00Z"));  // ASIA...
  h.finish();
  EXPECT_EQ(h.count("root-access-key-used"), 0u);
  EXPECT_EQ(h.count("root-api-call"), 1u);
}

// ------------------------------------------------------------------------------------------
// root MFA and password

TEST(RootAccount, RootMfaDeactivated) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "DeactivateMFADevice"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{
                "serialNumber":"arn:aws:iam::111122223333:mfa/root-account-mfa-device"}})"));
  h.finish();
  ASSERT_EQ(h.count("root-mfa-removed"), 1u);
  auto f = h.findings("root-mfa-removed")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("serialNumber"), "arn:aws:iam::111122223333:mfa/root-account-mfa-device");
}

TEST(RootAccount, OtherUsersMfaChangesAreNotRootMfa) {
  harness h(&th_module_entry_v1);
  // root removing an IAM user's device
  h.feed(at(root_call("iam.amazonaws.com", "DeactivateMFADevice"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"bob",
                "serialNumber":"arn:aws:iam::111122223333:mfa/bob"}})"));
  // a user removing their own device
  h.feed(at(records::iam_user("iam.amazonaws.com", "DeactivateMFADevice"), "2026-11-20T10:01:00Z",
            R"({"requestParameters":{"userName":"alice",
                "serialNumber":"arn:aws:iam::111122223333:mfa/alice"}})"));
  h.finish();
  EXPECT_EQ(h.count("root-mfa-removed"), 0u);
}

TEST(RootAccount, RootPasswordChanged) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("signin.amazonaws.com", "PasswordUpdated"), "2026-11-20T10:00:00Z",
            R"({"eventType":"AwsConsoleSignIn","userIdentity":{"accessKeyId":null},
                "responseElements":{"PasswordUpdated":"Success"}})"));
  // an IAM user changing their own password is routine
  h.feed(
      at(records::iam_user("signin.amazonaws.com", "PasswordUpdated"), "2026-11-20T10:01:00Z",
         R"({"eventType":"AwsConsoleSignIn","responseElements":{"PasswordUpdated":"Success"}})"));
  h.finish();
  ASSERT_EQ(h.count("root-password-changed"), 1u);
  EXPECT_EQ(h.findings("root-password-changed")[0].severity, "high");
  EXPECT_EQ(h.count("root-api-call"), 0u);
}

TEST(RootAccount, RootPasswordRecoveryRequested) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("signin.amazonaws.com", "PasswordRecoveryRequested"), "2026-11-20T10:00:00Z",
            R"({"eventType":"AwsConsoleSignIn","sourceIPAddress":"192.0.2.99",
                "userIdentity":{"accessKeyId":null},
                "responseElements":{"PasswordRecoveryRequested":"Success"}})"));
  h.finish();
  ASSERT_EQ(h.count("root-password-recovery-requested"), 1u);
  auto f = h.findings("root-password-recovery-requested")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "192.0.2.99");
}

// ------------------------------------------------------------------------------------------
// account settings

TEST(RootAccount, AlternateContactChangedByAdminRoleIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::assumed_role("account.amazonaws.com", "PutAlternateContact"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"alternateContactType":"SECURITY",
                "emailAddress":"HIDDEN_DUE_TO_SECURITY_REASONS",
                "name":"HIDDEN_DUE_TO_SECURITY_REASONS"}})"));
  h.finish();
  ASSERT_EQ(h.count("account-setting-changed"), 1u);
  auto f = h.findings("account-setting-changed")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("eventName"), "PutAlternateContact");
  EXPECT_NE(f.evidence("requestParameters").find("\"alternateContactType\":\"SECURITY\""),
            std::string::npos);
  EXPECT_EQ(h.count("root-api-call"), 0u);
}

TEST(RootAccount, AccountSettingByRootIsHighAndAlsoRootActivity) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("account.amazonaws.com", "EnableRegion"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"regionName":"af-south-1"}})"));
  h.finish();
  ASSERT_EQ(h.count("account-setting-changed"), 1u);
  auto f = h.findings("account-setting-changed")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("identityType"), "Root");
  EXPECT_EQ(h.count("root-api-call"), 1u);
}

TEST(RootAccount, AccountSettingByConfiguredAdminIsLow) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:role/Deploy"])");
  h.feed(at(records::assumed_role("account.amazonaws.com", "PutContactInformation"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"contactInformation":{"fullName":"Example Corp"}}})"));
  // an admin changing the root e-mail is not routine: not lowered
  h.feed(at(records::assumed_role("account.amazonaws.com", "StartPrimaryEmailUpdate"),
            "2026-11-20T10:05:00Z",
            R"({"requestParameters":{"accountId":"444455556666",
                "primaryEmail":"attacker@example.net"}})"));
  h.finish();
  auto fs = h.findings("account-setting-changed");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("adminPrincipal"), "true");
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[1].evidence("targetAccountId"), "444455556666");
}

TEST(RootAccount, BillingAndPaymentChanges) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("billingconsole.amazonaws.com", "SetContactAddress"),
            "2026-11-20T10:00:00Z", R"({"requestParameters":{"city":"Seattle"}})"));
  h.feed(at(records::iam_user("payments.amazonaws.com", "Instruments_Create"),
            "2026-11-20T10:01:00Z"));
  h.feed(at(root_call("billingconsole.amazonaws.com", "CloseAccount"), "2026-11-20T10:02:00Z"));
  h.finish();
  auto fs = h.findings("account-setting-changed");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("eventSource"), "payments.amazonaws.com");
  EXPECT_EQ(fs[2].severity, "high");
  EXPECT_EQ(fs[2].evidence("eventName"), "CloseAccount");
}

TEST(RootAccount, AccountSettingLookalikesIgnored) {
  harness h(&th_module_entry_v1);
  // reads
  h.feed(at(records::iam_user("account.amazonaws.com", "GetAlternateContact"),
            "2026-11-20T10:00:00Z", R"({"readOnly":true})"));
  h.feed(at(records::iam_user("account.amazonaws.com", "ListRegions"), "2026-11-20T10:00:10Z",
            R"({"readOnly":true})"));
  // a denied change changed nothing
  h.feed(at(records::iam_user("account.amazonaws.com", "PutAlternateContact"),
            "2026-11-20T10:01:00Z",
            R"({"errorCode":"AccessDeniedException","errorMessage":"not authorized"})"));
  // an AWS service (Organizations / Control Tower) applying settings
  h.feed(at(records::aws_service("account.amazonaws.com", "PutAlternateContact"),
            "2026-11-20T10:02:00Z"));
  // billing preferences with no security weight
  h.feed(at(records::iam_user("billingconsole.amazonaws.com", "SetFreetierBudgetsPreference"),
            "2026-11-20T10:03:00Z"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(RootAccount, BreakGlassRootSettingChangeLower) {
  harness h(&th_module_entry_v1);
  h.config(kBreakGlassRoot);
  h.feed(at(root_call("account.amazonaws.com", "DeleteAlternateContact"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"alternateContactType":"SECURITY"}})"));
  h.finish();
  ASSERT_EQ(h.count("account-setting-changed"), 1u);
  EXPECT_EQ(h.findings("account-setting-changed")[0].severity, "medium");
  EXPECT_EQ(h.findings("account-setting-changed")[0].evidence("breakGlass"), "true");
}

// ------------------------------------------------------------------------------------------
// password policy

TEST(RootAccount, PasswordPolicyShortLengthFires) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"minimumPasswordLength":8,"requireSymbols":true,
                "requireNumbers":true,"requireUppercaseCharacters":true,
                "requireLowercaseCharacters":true,"allowUsersToChangePassword":true,
                "passwordReusePrevention":24}})"));
  h.finish();
  ASSERT_EQ(h.count("password-policy-weakened"), 1u);
  auto f = h.findings("password-policy-weakened")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("reasons").find("minimumPasswordLength 8 < 14"), std::string::npos);
  EXPECT_NE(f.evidence("requestParameters").find("\"minimumPasswordLength\":8"), std::string::npos);
}

TEST(RootAccount, PasswordPolicyOmittedLengthDefaultsToSix) {
  harness h(&th_module_entry_v1);
  h.feed(at(root_call("iam.amazonaws.com", "UpdateAccountPasswordPolicy"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"requireSymbols":true}})"));
  h.finish();
  ASSERT_EQ(h.count("password-policy-weakened"), 1u);
  auto f = h.findings("password-policy-weakened")[0];
  EXPECT_EQ(f.severity, "high");  // by root
  EXPECT_NE(f.evidence("reasons").find("minimumPasswordLength 6 < 14"), std::string::npos);
}

TEST(RootAccount, PasswordPolicyNoCharacterClasses) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"minimumPasswordLength":16,"requireSymbols":false,
                "requireNumbers":false,"requireUppercaseCharacters":false,
                "requireLowercaseCharacters":false}})"));
  h.finish();
  ASSERT_EQ(h.count("password-policy-weakened"), 1u);
  EXPECT_NE(h.findings("password-policy-weakened")[0].evidence("reasons").find("character class"),
            std::string::npos);
}

TEST(RootAccount, StrongPasswordPoliciesAndReadsDoNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"minimumPasswordLength":14,"requireSymbols":true,
                "requireNumbers":true,"requireUppercaseCharacters":true,
                "requireLowercaseCharacters":true,"passwordReusePrevention":24}})"));
  // long passphrases without character classes are fine
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:01:00Z", R"({"requestParameters":{"minimumPasswordLength":20}})"));
  h.feed(at(records::iam_user("iam.amazonaws.com", "GetAccountPasswordPolicy"),
            "2026-11-20T10:02:00Z", R"({"readOnly":true})"));
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:03:00Z",
            R"({"requestParameters":{"minimumPasswordLength":6},
                "errorCode":"AccessDenied","errorMessage":"denied"})"));
  h.finish();
  EXPECT_EQ(h.count("password-policy-weakened"), 0u);
}

TEST(RootAccount, PasswordPolicyDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::assumed_role("iam.amazonaws.com", "DeleteAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("password-policy-weakened"), 1u);
  auto f = h.findings("password-policy-weakened")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("eventName"), "DeleteAccountPasswordPolicy");
}

TEST(RootAccount, SameWeakPolicyReappliedReportedOnce) {
  harness h(&th_module_entry_v1);
  const std::string weak = R"({"requestParameters":{"minimumPasswordLength":8,
      "requireSymbols":true,"requireNumbers":true}})";
  h.feed(at(records::assumed_role("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z", weak));
  h.feed(at(records::assumed_role("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-21T10:00:00Z", weak));
  h.feed(at(records::assumed_role("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-22T10:00:00Z", R"({"requestParameters":{"minimumPasswordLength":10,
                "requireSymbols":true}})"));
  h.finish();
  EXPECT_EQ(h.count("password-policy-weakened"), 2u);
}

TEST(RootAccount, MinPasswordLengthIsConfigurable) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.root-account.params]
min_password_length = 8)");
  h.feed(at(records::iam_user("iam.amazonaws.com", "UpdateAccountPasswordPolicy"),
            "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"minimumPasswordLength":10,"requireNumbers":true}})"));
  h.finish();
  EXPECT_EQ(h.count("password-policy-weakened"), 0u);
}

// ------------------------------------------------------------------------------------------
// organization

TEST(RootAccount, LeaveOrganization) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::iam_user("organizations.amazonaws.com", "LeaveOrganization"),
            "2026-11-20T10:00:00Z"));
  h.feed(at(records::iam_user("organizations.amazonaws.com", "LeaveOrganization"),
            "2026-11-20T10:01:00Z",
            R"({"errorCode":"ConstraintViolationException","errorMessage":"no payment"})"));
  h.feed(at(records::iam_user("organizations.amazonaws.com", "DescribeOrganization"),
            "2026-11-20T10:02:00Z", R"({"readOnly":true})"));
  h.finish();
  ASSERT_EQ(h.count("leave-organization"), 1u);
  auto f = h.findings("leave-organization")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("principalArn"), "arn:aws:iam::111122223333:user/alice");
}

TEST(RootAccount, LeaveOrganizationByBreakGlassRootLower) {
  harness h(&th_module_entry_v1);
  h.config(kBreakGlassRoot);
  h.feed(at(root_call("organizations.amazonaws.com", "LeaveOrganization"), "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("leave-organization"), 1u);
  EXPECT_EQ(h.findings("leave-organization")[0].severity, "medium");
}

TEST(RootAccount, NoErrorsReported) {
  harness h(&th_module_entry_v1);
  h.feed(at(console_login("Success", "No"), "2026-11-20T10:00:00Z"));
  h.feed(at(root_call("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:01:00Z"));
  h.finish();
  EXPECT_TRUE(h.errors().empty());
}

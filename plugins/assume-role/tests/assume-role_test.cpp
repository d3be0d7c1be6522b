// SPDX-License-Identifier: Apache-2.0
// Tests of the assume-role detector: days of benign history, then the anomaly fires; the same
// history with a benign change stays quiet; the learned state survives a snapshot/restore.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <trailhound/testing.hpp>
#include <vector>

using namespace trailhound::testing;

namespace {

int seq = 0;

// 2026-11-01 plus `day` days, at hh:mm.
std::string ts(int day, int hour, int minute = 0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:00Z", 1 + day, hour, minute);
  return buf;
}

std::string at(const std::string& base, const std::string& time, const std::string& patch = "{}") {
  std::string stamp =
      R"({"eventTime":")" + time + R"(","eventID":"ar-test-)" + std::to_string(++seq) + R"("})";
  return merge_json(merge_json(base, patch), stamp);
}

const char* kAliceIdentity =
    R"({"type":"IAMUser","principalId":"AIDAEXAMPLEALICE00001","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE0001","userName":"alice"})";

std::string user_identity(const std::string& user, const std::string& account = "111122223333") {
  return R"({"type":"IAMUser","principalId":"AIDA)" + user + R"(","arn":"arn:aws:iam::)" + account +
         ":user/" + user + R"(","accountId":")" + account + R"(","accessKeyId":"AKIA)" + user +
         R"(","userName":")" + user + R"("})";
}

std::string role_arn(const std::string& name, const std::string& account = "111122223333") {
  return "arn:aws:iam::" + account + ":role/" + name;
}

// An AssumeRole of `role` by the caller `identity` (userIdentity JSON) from `ip`.
std::string assume(const std::string& identity, const std::string& role, const std::string& time,
                   const std::string& ip = "198.51.100.10", const std::string& issued = "",
                   const std::string& session_name = "work", const std::string& extra = "{}") {
  std::string key = issued.empty() ? "ASIAGEN" + std::to_string(seq + 1) : issued;
  std::string role_name = role.substr(role.rfind('/') + 1);
  std::string role_acct = role.substr(13, 12);
  std::string patch =
      R"({"userIdentity":)" + identity + R"(,"sourceIPAddress":")" + ip +
      R"(","requestParameters":{"roleArn":")" + role + R"(","roleSessionName":")" + session_name +
      R"(","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":")" + key +
      R"(","sessionToken":"x","expiration":"Nov 20, 2026, 11:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROAX:)" +
      session_name + R"(","arn":"arn:aws:sts::)" + role_acct + ":assumed-role/" + role_name + "/" +
      session_name + R"("}}})";
  return at(merge_json(records::iam_user("sts.amazonaws.com", "AssumeRole"), patch), time, extra);
}

// A call made with the credentials of a session of `role_name`.
std::string session_call(const std::string& role_name, const std::string& source,
                         const std::string& name, const std::string& time,
                         const std::string& key = "ASIAHISTORY000000001",
                         const std::string& session = "deploy-session", bool read_only = false) {
  std::string ident =
      R"({"userIdentity":{"type":"AssumedRole","principalId":"AROAX:)" + session +
      R"(","arn":"arn:aws:sts::111122223333:assumed-role/)" + role_name + "/" + session +
      R"(","accountId":"111122223333","accessKeyId":")" + key +
      R"(","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::111122223333:role/)" +
      role_name + R"(","accountId":"111122223333","userName":")" + role_name +
      R"("},"attributes":{"creationDate":"2026-11-01T00:00:00Z","mfaAuthenticated":"false"}}},"readOnly":)" +
      (read_only ? "true" : "false") + "}";
  return at(records::assumed_role(source, name), time, ident);
}

// An assume-role by a session of `caller_role` (role chaining).
std::string chain_assume(const std::string& caller_role, const std::string& role,
                         const std::string& time) {
  std::string ident =
      R"({"type":"AssumedRole","principalId":"AROAC:s","arn":"arn:aws:sts::111122223333:assumed-role/)" +
      caller_role +
      R"(/s","accountId":"111122223333","accessKeyId":"ASIACHAINCALLER00001","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAC","arn":"arn:aws:iam::111122223333:role/)" +
      caller_role + R"(","accountId":"111122223333","userName":")" + caller_role + R"("}}})";
  return assume(ident, role, time, "10.0.5.20");
}

// Ten days of ordinary work: alice assumes ReadOnly three times a day from the office, bob
// assumes AdminRole daily, the Deploy role's sessions call a fixed set of APIs.
// `extra` adds more events to each day, in time order with the rest.
void history(harness& h, int days = 10, const std::function<void(int)>& extra = {}) {
  for (int d = 0; d < days; ++d) {
    if (extra) extra(d);
    for (int k = 0; k < 3; ++k)
      h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(d, 9 + 2 * k),
                    "198.51.100." + std::to_string(10 + k)));
    h.feed(assume(user_identity("bob"), role_arn("AdminRole"), ts(d, 10), "198.51.100.20"));
    for (int k = 0; k < 8; ++k) {
      h.feed(session_call("Deploy", "ec2.amazonaws.com", "DescribeInstances", ts(d, 12, k),
                          "ASIAH1", "deploy-session", true));
      h.feed(session_call("Deploy", "s3.amazonaws.com", "ListBuckets", ts(d, 12, 10 + k), "ASIAH1",
                          "deploy-session", true));
      h.feed(session_call("Deploy", "lambda.amazonaws.com", "UpdateFunctionCode", ts(d, 12, 20 + k),
                          "ASIAH1"));
    }
  }
}

}  // namespace

// ------------------------------------------------------------------------------------------
// new-role-for-caller

TEST(AssumeRole, NewRoleAfterWarmupFires) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(
      assume(kAliceIdentity, role_arn("DataScience"), ts(10, 11), "198.51.100.10", "", "alice-ds"));
  h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(10, 12)));  // usual: quiet
  h.finish();
  ASSERT_EQ(h.count("new-role-for-caller"), 1u);
  auto f = h.findings("new-role-for-caller")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("caller"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("roleArn"), "arn:aws:iam::111122223333:role/DataScience");
  EXPECT_EQ(f.evidence("roleSessionName"), "alice-ds");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "198.51.100.10");
  EXPECT_EQ(f.evidence("privilegedRole"), "false");
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(AssumeRole, NewPipelineDuringWarmupIsLearned) {
  harness h(&th_module_entry_v1);
  // benign change: a new deploy pipeline (carol -> DataScience) appears on day 2, during warm-up
  for (int d = 0; d < 11; ++d) {
    h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(d, 9)));
    if (d >= 2)
      h.feed(assume(user_identity("carol"), role_arn("DataScience"), ts(d, 3), "198.51.100.30"));
  }
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(AssumeRole, NothingNewIsReportedDuringWarmup) {
  harness h(&th_module_entry_v1);
  for (int k = 0; k < 4; ++k)
    h.feed(assume(user_identity("u" + std::to_string(k)), role_arn("R" + std::to_string(k)),
                  ts(0, 9 + k)));
  h.feed(assume(kAliceIdentity, role_arn("OrganizationAccountAccessRole"), ts(3, 9)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(AssumeRole, FailedAssumptionIsNotLearned) {
  harness h(&th_module_entry_v1);
  history(h, 8);
  // denied on day 1 (inside warm-up): the pair is not learned
  h.feed(assume(kAliceIdentity, role_arn("Billing"), ts(1, 9), "198.51.100.10", "", "w",
                R"({"errorCode":"AccessDenied","responseElements":null})"));
  h.feed(assume(kAliceIdentity, role_arn("Billing"), ts(8, 9)));
  h.finish();
  EXPECT_EQ(h.count("new-role-for-caller"), 1u);
}

TEST(AssumeRole, AwsServiceAssumptionsAreIgnored) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(at(
      records::aws_service("sts.amazonaws.com", "AssumeRole"), ts(10, 9),
      R"({"requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/lambda-exec","roleSessionName":"fn"},
                "responseElements":{"credentials":{"accessKeyId":"ASIASERVICE000000001"}}})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// privileged-role-new-caller

TEST(AssumeRole, PrivilegedRoleByUnusualCallerFires) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(assume(kAliceIdentity, role_arn("OrganizationAccountAccessRole"), ts(10, 14)));
  h.feed(
      assume(user_identity("bob"), role_arn("AdminRole"), ts(10, 10), "198.51.100.20"));  // usual
  h.finish();
  ASSERT_EQ(h.count("privileged-role-new-caller"), 1u);
  EXPECT_EQ(h.count("new-role-for-caller"), 0u);
  auto f = h.findings("privileged-role-new-caller")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("roleArn"), role_arn("OrganizationAccountAccessRole"));
  EXPECT_EQ(f.evidence("privilegedRole"), "true");
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(AssumeRole, RoleSeenReceivingAdminPolicyIsPrivileged) {
  harness h(&th_module_entry_v1);
  history(h, 10, [&](int d) {
    if (d != 4) return;
    h.feed(at(
        records::iam_user("iam.amazonaws.com", "AttachRolePolicy"), ts(4, 8),
        R"({"requestParameters":{"roleName":"Reporting","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}})"));
    h.feed(at(
        records::iam_user("iam.amazonaws.com", "PutRolePolicy"), ts(4, 8),
        R"({"requestParameters":{"roleName":"Etl","policyName":"p","policyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"}})"));
  });
  h.feed(assume(user_identity("dave"), role_arn("Reporting"), ts(10, 9)));
  h.feed(assume(user_identity("dave"), role_arn("Etl"), ts(10, 9, 30)));
  h.feed(assume(user_identity("dave"), role_arn("Metrics"), ts(10, 10)));
  h.finish();
  ASSERT_EQ(h.count("privileged-role-new-caller"), 2u);
  for (auto& f : h.findings("privileged-role-new-caller"))
    EXPECT_EQ(f.evidence("adminPolicyObserved"), "true");
  EXPECT_EQ(h.count("new-role-for-caller"), 1u);  // Metrics: ordinary role
}

TEST(AssumeRole, SsoUserWithUsualPermissionSetIsQuietAndNewOneIsLow) {
  harness h(&th_module_entry_v1);
  auto saml = [](const std::string& role, const std::string& time) {
    std::string ident =
        R"({"type":"SAMLUser","principalId":"abc:erin@example.com","userName":"erin@example.com","identityProvider":"AWSSSO_1234_DO_NOT_DELETE"})";
    std::string rec = merge_json(
        records::iam_user("sts.amazonaws.com", "AssumeRoleWithSAML"),
        R"({"userIdentity":)" + ident +
            R"(,"sourceIPAddress":"198.51.100.50","requestParameters":{"roleArn":")" + role +
            R"(","principalArn":"arn:aws:iam::111122223333:saml-provider/AWSSSO_1234_DO_NOT_DELETE"}})");
    return at(rec, time);
  };
  for (int d = 0; d < 11; ++d)
    h.feed(saml(role_arn("aws-reserved/sso.amazonaws.com/AWSReservedSSO_ReadOnly_0123"), ts(d, 9)));
  h.feed(saml(role_arn("aws-reserved/sso.amazonaws.com/AWSReservedSSO_Billing_4567"), ts(10, 11)));
  h.finish();
  ASSERT_EQ(h.findings().size(), 1u);
  auto f = h.findings()[0];
  EXPECT_EQ(f.rule, "new-role-for-caller");
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("ssoPermissionSet"), "true");
  EXPECT_EQ(f.evidence("caller"), "saml:AWSSSO_1234_DO_NOT_DELETE|erin@example.com");
}

TEST(AssumeRole, CrossAccountCopiesShareOneBaseline) {
  harness h(&th_module_entry_v1);
  // CiRunner (account 444455556666) assumes Deploy in 111122223333 daily. CloudTrail logs it in
  // both accounts: the caller's copy with the full identity, the role account's copy with a bare
  // AWSAccount identity, both with the same sharedEventID, in either order.
  const std::string full =
      R"({"type":"AssumedRole","principalId":"AROACIRUNNER:build","arn":"arn:aws:sts::444455556666:assumed-role/CiRunner/build","accountId":"444455556666","accessKeyId":"ASIACI","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROACIRUNNER","arn":"arn:aws:iam::444455556666:role/CiRunner","accountId":"444455556666","userName":"CiRunner"}}})";
  const std::string bare =
      R"({"type":"AWSAccount","principalId":"AROACIRUNNER:build","accountId":"444455556666"})";
  auto pair = [&](const std::string& role, int d, bool bare_first, bool only_bare = false) {
    std::string shared =
        R"({"sharedEventID":"shared-)" + std::to_string(d) + role + R"(","recipientAccountId":")";
    std::string a = assume(full, role_arn(role), ts(d, 5), "10.1.2.3", "", "build",
                           shared + R"(444455556666"})");
    std::string b = assume(bare, role_arn(role), ts(d, 5), "10.1.2.3", "", "build",
                           shared + R"(111122223333"})");
    if (only_bare) {
      h.feed(b);
    } else if (bare_first) {
      h.feed(b);
      h.feed(a);
    } else {
      h.feed(a);
      h.feed(b);
    }
  };
  for (int d = 0; d < 11; ++d) pair("Deploy", d, d % 2 == 0);
  pair("Prod", 10, true, true);
  h.finish();
  ASSERT_EQ(h.findings().size(), 1u);
  auto f = h.findings()[0];
  EXPECT_EQ(f.rule, "new-role-chain");
  EXPECT_EQ(f.evidence("caller"), "arn:aws:iam::444455556666:role/CiRunner");
  EXPECT_EQ(f.evidence("roleArn"), role_arn("Prod"));
}

// ------------------------------------------------------------------------------------------
// new-role-chain

TEST(AssumeRole, KnownChainIsBaselineNewChainFires) {
  harness h(&th_module_entry_v1);
  for (int d = 0; d < 11; ++d) h.feed(chain_assume("Hub", role_arn("Spoke"), ts(d, 6)));
  h.feed(chain_assume("Hub", role_arn("Payments"), ts(10, 7)));
  h.finish();
  ASSERT_EQ(h.findings().size(), 1u);
  auto f = h.findings()[0];
  EXPECT_EQ(f.rule, "new-role-chain");
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("caller"), "arn:aws:iam::111122223333:role/Hub");
  EXPECT_EQ(f.evidence("roleChain"), "true");
  EXPECT_EQ(f.evidence("roleArn"), role_arn("Payments"));
}

// ------------------------------------------------------------------------------------------
// external-account-assume

TEST(AssumeRole, ExternalAccountFiresWithOrgSetting) {
  harness h(&th_module_entry_v1);
  h.config(R"(org_account_ids = ["111122223333", "444455556666"])");
  // a vendor integration since day 0: baseline
  auto vendor = [&](int d) {
    h.feed(assume(user_identity("vendor", "777788889999"), role_arn("VendorAudit"), ts(d, 1),
                  "192.0.2.1"));
  };
  history(h, 10, vendor);
  vendor(10);
  // an org account's role: not external
  h.feed(assume(user_identity("ops", "444455556666"), role_arn("ReadOnly"), ts(10, 8),
                "198.51.100.10"));
  h.feed(assume(user_identity("mallory", "999988887777"), role_arn("ReadOnly"), ts(10, 9),
                "192.0.2.66", "", "x"));
  h.finish();
  ASSERT_EQ(h.count("external-account-assume"), 1u);
  auto f = h.findings("external-account-assume")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("callerAccountId"), "999988887777");
  EXPECT_EQ(f.evidence("orgAccountsKnown"), "true");
  EXPECT_EQ(h.count("new-role-for-caller"), 1u);  // the org account's new pair
}

TEST(AssumeRole, ExternalAccountIntoPrivilegedRoleIsCritical) {
  harness h(&th_module_entry_v1);
  history(h);  // no org setting: "external" = an account whose logs are not in the input
  h.feed(assume(user_identity("mallory", "999988887777"), role_arn("AdminRole"), ts(10, 9),
                "192.0.2.66"));
  h.finish();
  ASSERT_EQ(h.count("external-account-assume"), 1u);
  auto f = h.findings("external-account-assume")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("orgAccountsKnown"), "false");
}

// ------------------------------------------------------------------------------------------
// new-source-network

TEST(AssumeRole, NewNetworkForStableCallerFires) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(10, 22), "203.0.113.77"));
  h.finish();
  ASSERT_EQ(h.count("new-source-network"), 1u);
  auto f = h.findings("new-source-network")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("sourceNetwork"), "203.0.113.0/24");
  EXPECT_EQ(f.evidence("roleArn"), role_arn("ReadOnly"));
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(AssumeRole, NewOfficeCidrInTrustedCidrsDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["198.51.100.0/24", "203.0.113.0/24"])");
  history(h);
  h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(10, 22), "203.0.113.77"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(AssumeRole, RoamingCallerAndCiOidcDoNotFire) {
  harness h(&th_module_entry_v1);
  auto gh = [](const std::string& ref, const std::string& ip, const std::string& time) {
    std::string ident =
        R"({"type":"WebIdentityUser","principalId":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:acme/app:)" +
        ref + R"(","userName":"repo:acme/app:)" + ref +
        R"(","identityProvider":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"})";
    std::string rec = merge_json(
        records::iam_user("sts.amazonaws.com", "AssumeRoleWithWebIdentity"),
        R"({"userIdentity":)" + ident + R"(,"sourceIPAddress":")" + ip +
            R"(","requestParameters":{"roleArn":"arn:aws:iam::111122223333:role/gha-deploy","roleSessionName":"GitHubActions"}})");
    return at(rec, time);
  };
  for (int d = 0; d < 12; ++d) {
    // a laptop user on a different network every day
    h.feed(
        assume(user_identity("frank"), role_arn("Dev"), ts(d, 9), "192.0.2." + std::to_string(d)));
    h.feed(assume(user_identity("frank"), role_arn("Dev"), ts(d, 10),
                  std::to_string(20 + d) + ".1.2.3"));
    // CI runs from random runner addresses, several branches
    for (int k = 0; k < 4; ++k)
      h.feed(gh(k % 2 ? "ref:refs/heads/main" : "ref:refs/heads/feature-" + std::to_string(d),
                std::to_string(40 + d) + "." + std::to_string(k) + ".9.9", ts(d, 13, k)));
  }
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// role-hopping

TEST(AssumeRole, DeniedAttemptsOnManyRolesAreHopping) {
  harness h(&th_module_entry_v1);
  h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(0, 9)));
  for (int k = 0; k < 6; ++k)
    h.feed(assume(kAliceIdentity, role_arn("Guess" + std::to_string(k)), ts(0, 10, 5 * k),
                  "203.0.113.9", "", "x",
                  R"({"errorCode":"AccessDenied","responseElements":null})"));
  h.finish();
  ASSERT_EQ(h.count("role-hopping"), 1u);
  auto f = h.findings("role-hopping")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("distinctRoles"), "5");
  EXPECT_EQ(f.evidence("deniedAttempts"), "5");
  EXPECT_EQ(f.event_ids.size(), 5u);
}

TEST(AssumeRole, ScannerHubAssumingItsUsualRolesIsNotHopping) {
  harness h(&th_module_entry_v1);
  for (int d = 0; d < 11; ++d)
    for (int k = 0; k < 8; ++k)
      h.feed(assume(user_identity("scanner"),
                    role_arn("SecurityAudit", "10000000000" + std::to_string(k)), ts(d, 3, k),
                    "198.51.100.99"));
  h.finish();
  EXPECT_EQ(h.count("role-hopping"), 0u);
  EXPECT_EQ(h.count("external-account-assume"), 0u);  // learned during warm-up
}

TEST(AssumeRole, ManyNewRolesAfterWarmupAreHopping) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.assume-role.params]
hopping_threshold = 3)");
  history(h);
  for (int k = 0; k < 3; ++k)
    h.feed(assume(kAliceIdentity, role_arn("Team" + std::to_string(k)), ts(10, 14, k)));
  h.finish();
  EXPECT_EQ(h.count("role-hopping"), 1u);
  EXPECT_EQ(h.count("new-role-for-caller"), 3u);
  EXPECT_EQ(h.findings("role-hopping")[0].evidence("deniedAttempts"), "0");
}

// ------------------------------------------------------------------------------------------
// session-novel-apis

namespace {
// alice assumes Deploy now and then: learned during warm-up (day 2)
void alice_deploys(harness& h, int d) {
  if (d == 2) h.feed(assume(kAliceIdentity, role_arn("Deploy"), ts(2, 8)));
}
}  // namespace

TEST(AssumeRole, SessionCallingNovelWriteApisFires) {
  harness h(&th_module_entry_v1);
  history(h, 10,
          [&](int d) { alice_deploys(h, d); });  // alice deploys sometimes (learned in warm-up)
  h.feed(assume(kAliceIdentity, role_arn("Deploy"), ts(10, 15), "198.51.100.10",
                "ASIASTOLEN0000000001", "alice-deploy"));
  h.feed(session_call("Deploy", "ec2.amazonaws.com", "DescribeInstances", ts(10, 15, 2),
                      "ASIASTOLEN0000000001", "alice-deploy", true));  // usual
  h.feed(session_call("Deploy", "iam.amazonaws.com", "CreateUser", ts(10, 15, 3),
                      "ASIASTOLEN0000000001", "alice-deploy"));
  h.feed(session_call("Deploy", "iam.amazonaws.com", "AttachUserPolicy", ts(10, 15, 4),
                      "ASIASTOLEN0000000001", "alice-deploy"));
  h.feed(session_call("Deploy", "iam.amazonaws.com", "CreateUser", ts(10, 15, 5),
                      "ASIASTOLEN0000000001", "alice-deploy"));  // repeat: once
  h.feed(session_call("Deploy", "s3.amazonaws.com", "GetBucketPolicy", ts(10, 15, 6),
                      "ASIASTOLEN0000000001", "alice-deploy", true));
  h.finish();
  ASSERT_EQ(h.count("session-novel-apis"), 1u);
  auto f = h.findings("session-novel-apis")[0];
  EXPECT_EQ(f.severity, "high");  // IAM writes
  EXPECT_EQ(f.evidence("roleArn"), role_arn("Deploy"));
  EXPECT_EQ(f.evidence("roleSessionName"), "alice-deploy");
  EXPECT_EQ(f.evidence("caller"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("novelWriteApis"),
            R"(["iam.amazonaws.com:CreateUser","iam.amazonaws.com:AttachUserPolicy"])");
  EXPECT_EQ(f.evidence("novelReadApis"), R"(["s3.amazonaws.com:GetBucketPolicy"])");
  EXPECT_EQ(f.evidence("sessionAccessKeyId"), "ASIASTOLEN0000000001");
  EXPECT_EQ(f.event_ids.size(), 4u);  // three novel calls and the AssumeRole
}

TEST(AssumeRole, SessionReadOnlyNoveltyIsLowAndUsualSessionQuiet) {
  harness h(&th_module_entry_v1);
  history(h, 10, [&](int d) { alice_deploys(h, d); });
  h.feed(assume(kAliceIdentity, role_arn("Deploy"), ts(10, 9), "198.51.100.10",
                "ASIAUSUAL00000000001", "usual"));
  for (int k = 0; k < 5; ++k)
    h.feed(session_call("Deploy", "lambda.amazonaws.com", "UpdateFunctionCode", ts(10, 9, k + 1),
                        "ASIAUSUAL00000000001", "usual"));
  h.feed(assume(kAliceIdentity, role_arn("Deploy"), ts(10, 15), "198.51.100.10",
                "ASIACURIOUS000000001", "curious"));
  h.feed(session_call("Deploy", "rds.amazonaws.com", "DescribeDBInstances", ts(10, 15, 1),
                      "ASIACURIOUS000000001", "curious", true));
  h.finish();
  ASSERT_EQ(h.count("session-novel-apis"), 1u);
  auto f = h.findings("session-novel-apis")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("roleSessionName"), "curious");
}

TEST(AssumeRole, RoleWithoutEnoughHistoryIsNotJudged) {
  harness h(&th_module_entry_v1);
  for (int d = 0; d < 11; ++d) {
    h.feed(assume(kAliceIdentity, role_arn("Rare"), ts(d, 9)));
    h.feed(session_call("Rare", "ec2.amazonaws.com", "DescribeInstances", ts(d, 9, 1), "ASIARARE"));
  }
  h.feed(assume(kAliceIdentity, role_arn("Rare"), ts(10, 15), "198.51.100.10", "ASIARARE2"));
  h.feed(session_call("Rare", "iam.amazonaws.com", "CreateUser", ts(10, 15, 1), "ASIARARE2"));
  h.finish();
  EXPECT_EQ(h.count("session-novel-apis"), 0u);
}

// ------------------------------------------------------------------------------------------
// state

namespace {
void anomalies(harness& h) {
  seq = 100000;  // the same eventIDs in every run: the same finding ids
  h.feed(assume(kAliceIdentity, role_arn("DataScience"), ts(10, 11)));
  h.feed(assume(kAliceIdentity, role_arn("Deploy"), ts(10, 15), "198.51.100.10",
                "ASIASTOLEN0000000002", "s"));
  h.feed(session_call("Deploy", "iam.amazonaws.com", "CreateUser", ts(10, 15, 3),
                      "ASIASTOLEN0000000002", "s"));
  h.feed(assume(kAliceIdentity, role_arn("ReadOnly"), ts(10, 22), "203.0.113.77"));
}
std::vector<std::string> summary(const harness& h) {
  std::vector<std::string> out;
  for (auto& f : h.findings())
    out.push_back(f.rule + "|" + f.severity + "|" + f.evidence_json + "|" + f.finding_id);
  return out;
}
}  // namespace

TEST(AssumeRole, StateRoundTripGivesTheSameFindings) {
  harness single(&th_module_entry_v1);
  history(single, 10, [&](int d) { alice_deploys(single, d); });
  anomalies(single);
  single.finish();
  ASSERT_EQ(single.findings().size(), 3u);

  harness first(&th_module_entry_v1);
  history(first, 10, [&](int d) { alice_deploys(first, d); });
  first.finish();
  EXPECT_TRUE(first.findings().empty());
  std::string bytes = first.snapshot("assume-role");
  EXPECT_GT(bytes.size(), 20u);

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("assume-role", bytes);
  anomalies(second);
  second.finish();
  EXPECT_EQ(summary(second), summary(single));
  EXPECT_TRUE(second.errors().empty());

  // without the state the second run knows nothing: warm-up, no findings
  harness cold(&th_module_entry_v1);
  anomalies(cold);
  cold.finish();
  EXPECT_TRUE(cold.findings().empty());
}

TEST(AssumeRole, CorruptStateIsRefused) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("assume-role", "THAR\x01garbage"), std::runtime_error);
  EXPECT_THROW(h.restore("assume-role", ""), std::runtime_error);
}

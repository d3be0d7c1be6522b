// SPDX-License-Identifier: Apache-2.0
// Tests of the privilege-escalation family: every rule fires on its attack shape and stays quiet
// (or lower) on its benign look-alikes.
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
std::string at(int seconds) {
  int h = 10 + seconds / 3600, m = (seconds / 60) % 60, s = seconds % 60;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-20T%02d:%02d:%02dZ", h, m, s);
  return buf;
}
// `base` with the members in `fields` (JSON object body without braces), a fresh eventID and
// the time t seconds after 10:00:00.
std::string with(const std::string& base, const std::string& fields, int t = 0) {
  std::string patch = "{" + fields + (fields.empty() ? "" : ",") + R"("eventTime":")" + at(t) +
                      R"(","eventID":")" + eid() + "\"}";
  return merge_json(base, patch);
}
std::string user_call(const char* source, const char* name, const std::string& fields, int t = 0) {
  return with(records::iam_user(source, name), fields, t);
}
std::string iam(const char* name, const std::string& fields, int t = 0) {
  return user_call("iam.amazonaws.com", name, fields, t);
}
// A role session of a role that is neither admin nor automation.
std::string engineer(const char* source, const char* name, const std::string& fields, int t = 0) {
  return with(
      records::assumed_role(source, name),
      R"("userIdentity":{"principalId":"AROAEXAMPLEENG000001:sam","arn":"arn:aws:sts::111122223333:assumed-role/DataEngineer/sam","sessionContext":{"sessionIssuer":{"principalId":"AROAEXAMPLEENG000001","arn":"arn:aws:iam::111122223333:role/DataEngineer","userName":"DataEngineer"}}})" +
          (fields.empty() ? "" : "," + fields),
      t);
}
// JSON string literal of a policy document (escaped for embedding).
std::string quoted(const std::string& doc) {
  std::string out = "\"";
  for (char c : doc) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}
const std::string ADMIN_DOC =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";
const std::string SCOPED_DOC =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::reports/*"}]})";
std::string trust_doc(const std::string& principal, const std::string& condition = "",
                      const std::string& action = "sts:AssumeRole") {
  std::string st =
      R"({"Effect":"Allow","Principal":)" + principal + R"(,"Action":")" + action + "\"";
  if (!condition.empty()) st += R"(,"Condition":)" + condition;
  st += "}";
  return R"({"Version":"2012-10-17","Statement":[)" + st + "]}";
}
const char* ORG = R"(org_account_ids = ["111122223333", "444455556666"])";

}  // namespace

// ------------------------------------------------------------------------------------------
// admin-policy-attached
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, AdminPolicyAttachedToOtherUserIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.finish();
  ASSERT_EQ(h.count("admin-policy-attached"), 1u);
  auto f = h.findings("admin-policy-attached")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("policyArn"), "arn:aws:iam::aws:policy/AdministratorAccess");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("selfGrant"), "false");
  EXPECT_EQ(f.mitre[0], "T1098.003");
}

TEST(PrivilegeEscalation, SelfGrantByNonAdminIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"alice","policyArn":"arn:aws:iam::aws:policy/IAMFullAccess"})"));
  h.finish();
  ASSERT_EQ(h.count("admin-policy-attached"), 1u);
  EXPECT_EQ(h.findings("admin-policy-attached")[0].severity, "critical");
  EXPECT_EQ(h.findings("admin-policy-attached")[0].evidence("selfGrant"), "true");
}

TEST(PrivilegeEscalation, RoleSelfAttachIsRecognised) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "iam.amazonaws.com", "AttachRolePolicy",
      R"("requestParameters":{"roleName":"DataEngineer","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.finish();
  ASSERT_EQ(h.count("admin-policy-attached"), 1u);
  EXPECT_EQ(h.findings("admin-policy-attached")[0].severity, "critical");
}

TEST(PrivilegeEscalation, AdminOrAutomationCallerIsOneLower) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:user/alice"])");
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  // The harness role "Deploy" matches the default automation pattern *deploy*.
  h.feed(with(
      records::assumed_role("iam.amazonaws.com", "AttachRolePolicy"),
      R"("requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.finish();
  auto fs = h.findings("admin-policy-attached");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("trustedCaller"), "admin principal");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("trustedCaller"), "automation principal");
}

TEST(PrivilegeEscalation, CloudFormationAndFailedAndHarmlessAttachesAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(with(
      records::aws_service("iam.amazonaws.com", "AttachRolePolicy"),
      R"("requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.feed(with(
      records::assumed_role("iam.amazonaws.com", "AttachRolePolicy"),
      R"("userIdentity":{"invokedBy":"cloudformation.amazonaws.com"},"sourceIPAddress":"cloudformation.amazonaws.com","requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.feed(iam(
      "AttachUserPolicy",
      R"("errorCode":"AccessDenied","requestParameters":{"userName":"alice","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/ReadOnlyAccess"})"));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(PrivilegeEscalation, BroadPolicyIsMediumAndPartitionsMatch) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachGroupPolicy",
      R"("requestParameters":{"groupName":"devs","policyArn":"arn:aws:iam::aws:policy/PowerUserAccess"})"));
  h.feed(iam(
      "AttachRolePolicy",
      R"("requestParameters":{"roleName":"x","policyArn":"arn:aws-us-gov:iam::aws:policy/AdministratorAccess"})",
      10));
  h.finish();
  auto fs = h.findings("admin-policy-attached");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("policyClass"), "broad");
  EXPECT_EQ(fs[1].severity, "high");
}

// ------------------------------------------------------------------------------------------
// broad-inline-policy
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, InlineStarStarPolicyFires) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "iam.amazonaws.com", "PutRolePolicy",
      R"("requestParameters":{"roleName":"app","policyName":"backdoor","policyDocument":)" +
          quoted(ADMIN_DOC) + "}"));
  h.finish();
  ASSERT_EQ(h.count("broad-inline-policy"), 1u);
  auto f = h.findings("broad-inline-policy")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("roleName"), "app");
  EXPECT_EQ(f.evidence("policyName"), "backdoor");
  EXPECT_NE(f.evidence("reason").find("Action \"*\""), std::string::npos);
  EXPECT_NE(f.evidence("policyDocument").find("\"Resource\":\"*\""), std::string::npos);
}

TEST(PrivilegeEscalation, UrlEncodedListAndNotActionDocumentsFire) {
  harness h(&th_module_entry_v1);
  // URL-encoded, as some trails deliver it.
  h.feed(iam(
      "PutUserPolicy",
      R"("requestParameters":{"userName":"bob","policyName":"p1","policyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"})"));
  // iam:* inside an action list, Resource in a list, a single Statement object.
  h.feed(iam(
      "PutGroupPolicy",
      R"("requestParameters":{"groupName":"ops","policyName":"p2","policyDocument":)" +
          quoted(
              R"({"Statement":{"Effect":"Allow","Action":["s3:GetObject","IAM:*"],"Resource":["*"]}})") +
          "}",
      10));
  // Allow + NotAction is "everything except".
  h.feed(iam(
      "PutRolePolicy",
      R"("requestParameters":{"roleName":"r","policyName":"p3","policyDocument":)" +
          quoted(
              R"({"Statement":[{"Effect":"Allow","NotAction":"iam:DeleteUser","Resource":"*"}]})") +
          "}",
      20));
  h.finish();
  EXPECT_EQ(h.count("broad-inline-policy"), 3u);
}

TEST(PrivilegeEscalation, ScopedDenyAndMalformedDocumentsAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(iam("PutUserPolicy",
             R"("requestParameters":{"userName":"bob","policyName":"p","policyDocument":)" +
                 quoted(SCOPED_DOC) + "}"));
  h.feed(iam("PutUserPolicy",
             R"("requestParameters":{"userName":"bob","policyName":"d","policyDocument":)" +
                 quoted(R"({"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]})") + "}",
             10));
  h.feed(iam(
      "PutUserPolicy",
      R"("requestParameters":{"userName":"bob","policyName":"m","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\""})",
      20));
  h.feed(iam(
      "PutUserPolicy",
      R"("requestParameters":{"userName":"bob","policyName":"n","policyDocument":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"})",
      30));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
  EXPECT_TRUE(h.errors().empty());
}

TEST(PrivilegeEscalation, ConditionedInlinePolicyIsOneLower) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "PutUserPolicy",
      R"("requestParameters":{"userName":"bob","policyName":"p","policyDocument":)" +
          quoted(
              R"({"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]})") +
          "}"));
  h.finish();
  ASSERT_EQ(h.count("broad-inline-policy"), 1u);
  EXPECT_EQ(h.findings("broad-inline-policy")[0].severity, "medium");
}

// ------------------------------------------------------------------------------------------
// broad-policy-created / broad-policy-version-default
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, BroadCustomerPolicyCreatedThenAttached) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "CreatePolicy",
      R"("requestParameters":{"policyName":"helper","policyDocument":)" + quoted(ADMIN_DOC) +
          R"(},"responseElements":{"policy":{"policyName":"helper","arn":"arn:aws:iam::111122223333:policy/helper","defaultVersionId":"v1"}})"));
  h.feed(iam(
      "AttachRolePolicy",
      R"("requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::111122223333:policy/helper"})",
      60));
  h.finish();
  ASSERT_EQ(h.count("broad-policy-created"), 1u);
  EXPECT_EQ(h.findings("broad-policy-created")[0].severity, "low");
  ASSERT_EQ(h.count("admin-policy-attached"), 1u);
  auto f = h.findings("admin-policy-attached")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("reason").find("customer managed policy"), std::string::npos);
}

TEST(PrivilegeEscalation, ScopedCustomerPolicyIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "CreatePolicy",
      R"("requestParameters":{"policyName":"reports","policyDocument":)" + quoted(SCOPED_DOC) +
          R"(},"responseElements":{"policy":{"arn":"arn:aws:iam::111122223333:policy/reports"}})"));
  h.feed(iam(
      "AttachRolePolicy",
      R"("requestParameters":{"roleName":"app","policyArn":"arn:aws:iam::111122223333:policy/reports"})",
      60));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(PrivilegeEscalation, DefaultPolicyVersionWithStarStarFires) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "iam.amazonaws.com", "CreatePolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","setAsDefault":true,"policyDocument":)" +
          quoted(ADMIN_DOC) +
          R"(},"responseElements":{"policyVersion":{"versionId":"v3","isDefaultVersion":true}})"));
  h.finish();
  ASSERT_EQ(h.count("broad-policy-version-default"), 1u);
  auto f = h.findings("broad-policy-version-default")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("policyArn"), "arn:aws:iam::111122223333:policy/app");
  EXPECT_EQ(f.evidence("versionId"), "v3");
}

TEST(PrivilegeEscalation, NonDefaultVersionFiresOnlyWhenMadeDefault) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "iam.amazonaws.com", "CreatePolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","setAsDefault":false,"policyDocument":)" +
          quoted(ADMIN_DOC) +
          R"(},"responseElements":{"policyVersion":{"versionId":"v4","isDefaultVersion":false}})"));
  h.feed(engineer(
      "iam.amazonaws.com", "SetDefaultPolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","versionId":"v2"})",
      30));
  EXPECT_EQ(h.findings().size(), 0u);  // v2 is not the broad one
  h.feed(engineer(
      "iam.amazonaws.com", "SetDefaultPolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","versionId":"v4"})",
      60));
  h.finish();
  ASSERT_EQ(h.count("broad-policy-version-default"), 1u);
  EXPECT_EQ(h.findings("broad-policy-version-default")[0].evidence("versionId"), "v4");
}

// ------------------------------------------------------------------------------------------
// login-profile-for-other-user
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, PasswordSetForAnotherUserIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(iam("UpdateLoginProfile",
             R"("requestParameters":{"userName":"bob","passwordResetRequired":false})"));
  h.finish();
  ASSERT_EQ(h.count("login-profile-for-other-user"), 1u);
  auto f = h.findings("login-profile-for-other-user")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("passwordResetRequired"), "false");
}

TEST(PrivilegeEscalation, PasswordLookAlikesAreLowerOrQuiet) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:user/alice"])");
  // Own password: not reported.
  h.feed(iam("UpdateLoginProfile", R"("requestParameters":{"userName":"alice"})"));
  // Admin help-desk reset with reset required: high - admin - reset = low.
  h.feed(iam("UpdateLoginProfile",
             R"("requestParameters":{"userName":"bob","passwordResetRequired":true})", 10));
  // Onboarding: the same caller created the user moments ago.
  h.feed(iam("CreateUser", R"("requestParameters":{"userName":"newhire"})", 20));
  h.feed(iam("CreateLoginProfile",
             R"("requestParameters":{"userName":"newhire","passwordResetRequired":false})", 40));
  h.finish();
  auto fs = h.findings("login-profile-for-other-user");
  ASSERT_EQ(fs.size(), 2u);
  // bob's is held a few minutes for a late CreateUser: emitted after newhire's
  if (fs[0].evidence("userName") == "newhire") std::swap(fs[0], fs[1]);
  EXPECT_EQ(fs[0].evidence("userName"), "bob");
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("userCreatedByCaller"), "false");
  EXPECT_EQ(fs[1].evidence("userName"), "newhire");
  EXPECT_EQ(fs[1].severity, "low");
  EXPECT_EQ(fs[1].evidence("userCreatedByCaller"), "true");
}

// ------------------------------------------------------------------------------------------
// added-to-admin-group / new-user-granted-admin
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, AddedToAdminGroupByName) {
  harness h(&th_module_entry_v1);
  h.feed(engineer("iam.amazonaws.com", "AddUserToGroup",
                  R"("requestParameters":{"groupName":"PlatformAdmins","userName":"bob"})"));
  h.feed(iam("AddUserToGroup",
             R"("requestParameters":{"groupName":"site-admins","userName":"alice"})", 10));
  h.feed(iam("AddUserToGroup", R"("requestParameters":{"groupName":"developers","userName":"bob"})",
             20));
  h.finish();
  auto fs = h.findings("added-to-admin-group");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("matchedBy"), "group-name-pattern");
  EXPECT_EQ(fs[1].severity, "high");  // alice added herself
  EXPECT_EQ(fs[1].evidence("selfGrant"), "true");
}

TEST(PrivilegeEscalation, GroupSeenReceivingAdminPolicyIsAdminGroup) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:role/Terraform"])");
  h.feed(with(
      records::assumed_role("iam.amazonaws.com", "AttachGroupPolicy"),
      R"("requestParameters":{"groupName":"ops","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})"));
  h.feed(engineer("iam.amazonaws.com", "AddUserToGroup",
                  R"("requestParameters":{"groupName":"ops","userName":"bob"})", 60));
  h.finish();
  ASSERT_EQ(h.count("added-to-admin-group"), 1u);
  auto f = h.findings("added-to-admin-group")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("matchedBy"), "admin-policy-seen");
}

TEST(PrivilegeEscalation, NewUserMadeAdminIsOneChainFinding) {
  harness h(&th_module_entry_v1);
  h.feed(engineer("iam.amazonaws.com", "CreateUser",
                  R"("requestParameters":{"userName":"svc-backup2"})"));
  h.feed(engineer(
      "iam.amazonaws.com", "AttachUserPolicy",
      R"("requestParameters":{"userName":"svc-backup2","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      30));
  h.feed(engineer(
      "iam.amazonaws.com", "PutUserPolicy",
      R"("requestParameters":{"userName":"svc-backup2","policyName":"x","policyDocument":)" +
          quoted(ADMIN_DOC) + "}",
      40));
  h.finish();
  ASSERT_EQ(h.count("new-user-granted-admin"), 1u);
  auto f = h.findings("new-user-granted-admin")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("userName"), "svc-backup2");
  EXPECT_EQ(f.evidence("grantEvent"), "AttachUserPolicy");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "CreateUser");
  EXPECT_EQ(h.count("admin-policy-attached"), 1u);
  EXPECT_EQ(h.count("broad-inline-policy"), 1u);
}

TEST(PrivilegeEscalation, NoChainForOtherCallerOrLateGrant) {
  harness h(&th_module_entry_v1);
  h.feed(engineer("iam.amazonaws.com", "CreateUser", R"("requestParameters":{"userName":"u1"})"));
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"u1","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      30));
  h.feed(
      engineer("iam.amazonaws.com", "CreateUser", R"("requestParameters":{"userName":"u2"})", 40));
  h.feed(engineer(
      "iam.amazonaws.com", "AttachUserPolicy",
      R"("requestParameters":{"userName":"u2","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      3 * 3600));
  h.finish();
  EXPECT_EQ(h.count("new-user-granted-admin"), 0u);
  EXPECT_EQ(h.count("admin-policy-attached"), 2u);
}

// ------------------------------------------------------------------------------------------
// role trust
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, TrustToOutsideAccountIsHighWithOrgList) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(engineer(
      "iam.amazonaws.com", "UpdateAssumeRolePolicy",
      R"("requestParameters":{"roleName":"ProdDeploy","policyDocument":)" +
          quoted(trust_doc(
              R"({"AWS":["arn:aws:iam::444455556666:root","arn:aws:iam::999988887777:root"]})")) +
          "}"));
  h.finish();
  ASSERT_EQ(h.count("role-trust-external-account"), 1u);
  auto f = h.findings("role-trust-external-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("trustedPrincipals"), "[\"arn:aws:iam::999988887777:root\"]");
  EXPECT_EQ(f.evidence("roleName"), "ProdDeploy");
  EXPECT_EQ(f.mitre[0], "T1484.002");
}

TEST(PrivilegeEscalation, TrustWithoutOrgListUsesAccountsSeenInLogs) {
  harness h(&th_module_entry_v1);
  // 444455556666 appears in the logs as a recipient account: presumably ours.
  h.feed(merge_json(
      records::iam_user("s3.amazonaws.com", "ListBuckets"),
      R"({"recipientAccountId":"444455556666","userIdentity":{"accountId":"444455556666"},"eventID":"00000000-0000-4000-8000-999999999999"})"));
  h.feed(engineer("iam.amazonaws.com", "CreateRole",
                  R"("requestParameters":{"roleName":"x-acct","assumeRolePolicyDocument":)" +
                      quoted(trust_doc(R"({"AWS":"444455556666"})")) + "}",
                  10));
  h.feed(engineer("iam.amazonaws.com", "CreateRole",
                  R"("requestParameters":{"roleName":"vendor","assumeRolePolicyDocument":)" +
                      quoted(trust_doc(R"({"AWS":"arn:aws:iam::999988887777:user/x"})")) + "}",
                  20));
  h.finish();
  ASSERT_EQ(h.count("role-trust-external-account"), 1u);
  auto f = h.findings("role-trust-external-account")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("roleName"), "vendor");
  EXPECT_EQ(f.evidence("orgAccountsKnown"), "false");
}

TEST(PrivilegeEscalation, VendorExternalIdIsOneLowerAndRepeatsAreQuiet) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  std::string doc = quoted(trust_doc(R"({"AWS":"arn:aws:iam::464622532012:root"})",
                                     R"({"StringEquals":{"sts:ExternalId":"abc123"}})"));
  h.feed(engineer(
      "iam.amazonaws.com", "CreateRole",
      R"("requestParameters":{"roleName":"DatadogIntegration","assumeRolePolicyDocument":)" + doc +
          "}"));
  h.feed(engineer(
      "iam.amazonaws.com", "UpdateAssumeRolePolicy",
      R"("requestParameters":{"roleName":"DatadogIntegration","policyDocument":)" + doc + "}", 60));
  h.finish();
  ASSERT_EQ(h.count("role-trust-external-account"), 1u);
  EXPECT_EQ(h.findings("role-trust-external-account")[0].severity, "medium");
  EXPECT_EQ(h.findings("role-trust-external-account")[0].evidence("externalIdRequired"), "true");
}

TEST(PrivilegeEscalation, TrustToEveryoneUnlessOrgRestricted) {
  harness h(&th_module_entry_v1);
  h.feed(engineer("iam.amazonaws.com", "UpdateAssumeRolePolicy",
                  R"("requestParameters":{"roleName":"open","policyDocument":)" +
                      quoted(trust_doc(R"({"AWS":"*"})")) + "}"));
  h.feed(engineer(
      "iam.amazonaws.com", "UpdateAssumeRolePolicy",
      R"("requestParameters":{"roleName":"orgwide","policyDocument":)" +
          quoted(trust_doc(R"("*")", R"({"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}})")) +
          "}",
      10));
  h.feed(engineer("iam.amazonaws.com", "CreateRole",
                  R"("requestParameters":{"roleName":"fn","assumeRolePolicyDocument":)" +
                      quoted(trust_doc(R"({"Service":"lambda.amazonaws.com"})")) + "}",
                  20));
  h.finish();
  ASSERT_EQ(h.count("role-trust-external-account"), 1u);
  auto f = h.findings("role-trust-external-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("anyPrincipal"), "true");
  EXPECT_EQ(f.evidence("roleName"), "open");
}

TEST(PrivilegeEscalation, TrustToOrgAccountIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(engineer(
      "iam.amazonaws.com", "UpdateAssumeRolePolicy",
      R"("requestParameters":{"roleName":"hub","policyDocument":)" +
          quoted(trust_doc(R"({"AWS":["arn:aws:iam::444455556666:role/Hub","111122223333"]})")) +
          "}"));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(PrivilegeEscalation, GithubOidcWithoutSubjectConditionIsOpen) {
  harness h(&th_module_entry_v1);
  const std::string gh =
      R"({"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"})";
  h.feed(engineer(
      "iam.amazonaws.com", "CreateRole",
      R"("requestParameters":{"roleName":"gha-open","assumeRolePolicyDocument":)" +
          quoted(trust_doc(
              gh,
              R"({"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}})",
              "sts:AssumeRoleWithWebIdentity")) +
          "}"));
  h.finish();
  ASSERT_EQ(h.count("role-trust-open-federation"), 1u);
  auto f = h.findings("role-trust-open-federation")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("missingConditionKey"), "token.actions.githubusercontent.com:sub");
  EXPECT_EQ(h.count("role-trust-new-federated-provider"), 0u);
}

TEST(PrivilegeEscalation, ScopedFederationIsLowOncePerProvider) {
  harness h(&th_module_entry_v1);
  const std::string gh =
      R"({"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"})";
  const std::string cond =
      R"({"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:example/app:*"}})";
  h.feed(engineer("iam.amazonaws.com", "CreateRole",
                  R"("requestParameters":{"roleName":"gha-app","assumeRolePolicyDocument":)" +
                      quoted(trust_doc(gh, cond, "sts:AssumeRoleWithWebIdentity")) + "}"));
  h.feed(engineer("iam.amazonaws.com", "CreateRole",
                  R"("requestParameters":{"roleName":"gha-app2","assumeRolePolicyDocument":)" +
                      quoted(trust_doc(gh, cond, "sts:AssumeRoleWithWebIdentity")) + "}",
                  30));
  h.finish();
  EXPECT_EQ(h.count("role-trust-open-federation"), 0u);
  ASSERT_EQ(h.count("role-trust-new-federated-provider"), 1u);
  EXPECT_EQ(h.findings("role-trust-new-federated-provider")[0].severity, "low");
}

// ------------------------------------------------------------------------------------------
// federation-token-broad-policy
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, FederationTokenWithStarPolicyFires) {
  harness h(&th_module_entry_v1);
  h.feed(user_call(
      "sts.amazonaws.com", "GetFederationToken",
      R"("requestParameters":{"name":"persist","durationSeconds":129600,"policy":)" +
          quoted(ADMIN_DOC) +
          R"(},"responseElements":{"federatedUser":{"arn":"arn:aws:sts::111122223333:federated-user/persist","federatedUserId":"111122223333:persist"}})"));
  h.feed(user_call(
      "sts.amazonaws.com", "GetFederationToken",
      R"("requestParameters":{"name":"managed","policyArns":[{"arn":"arn:aws:iam::aws:policy/AdministratorAccess"}]})",
      10));
  h.finish();
  auto fs = h.findings("federation-token-broad-policy");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("name"), "persist");
  EXPECT_EQ(fs[0].evidence("durationSeconds"), "129600");
  EXPECT_EQ(fs[0].evidence("federatedUserArn"), "arn:aws:sts::111122223333:federated-user/persist");
  EXPECT_NE(fs[1].evidence("reason").find("AdministratorAccess"), std::string::npos);
}

TEST(PrivilegeEscalation, FederationTokenScopedOrWithoutPolicyIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(user_call("sts.amazonaws.com", "GetFederationToken",
                   R"("requestParameters":{"name":"app"})"));
  h.feed(user_call("sts.amazonaws.com", "GetFederationToken",
                   R"("requestParameters":{"name":"reports","policy":)" + quoted(SCOPED_DOC) + "}",
                   10));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(PrivilegeEscalation, FederationTokenFromOutsideTrustedCidrsIsHigh) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["10.0.0.0/8"])");
  h.feed(user_call("sts.amazonaws.com", "GetFederationToken",
                   R"("requestParameters":{"name":"persist","policy":)" + quoted(ADMIN_DOC) + "}"));
  h.finish();
  ASSERT_EQ(h.count("federation-token-broad-policy"), 1u);
  EXPECT_EQ(h.findings("federation-token-broad-policy")[0].severity, "high");
}

// ------------------------------------------------------------------------------------------
// roles-anywhere-trust-anchor
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, RolesAnywhereTrustAnchors) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "rolesanywhere.amazonaws.com", "CreateTrustAnchor",
      R"("requestParameters":{"name":"ext","enabled":true,"source":{"sourceType":"CERTIFICATE_BUNDLE","sourceData":{"x509CertificateData":"-----BEGIN CERTIFICATE-----MIIB-----END CERTIFICATE-----"}}},"responseElements":{"trustAnchor":{"trustAnchorArn":"arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/ta1","name":"ext"}})"));
  h.feed(engineer(
      "rolesanywhere.amazonaws.com", "CreateTrustAnchor",
      R"("requestParameters":{"name":"pca","enabled":true,"source":{"sourceType":"AWS_ACM_PCA","sourceData":{"acmPcaArn":"arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/abcd"}}})",
      10));
  h.feed(engineer("rolesanywhere.amazonaws.com", "ListTrustAnchors", "", 20));
  h.finish();
  auto fs = h.findings("roles-anywhere-trust-anchor");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("sourceType"), "CERTIFICATE_BUNDLE");
  EXPECT_EQ(fs[0].evidence("trustAnchorArn"),
            "arn:aws:rolesanywhere:us-east-1:111122223333:trust-anchor/ta1");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("outsideAccountCa"), "false");
}

// ------------------------------------------------------------------------------------------
// Lambda
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, LambdaMadePublicFires) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "lambda.amazonaws.com", "AddPermission20150331v2",
      R"("requestParameters":{"functionName":"processor","statementId":"backdoor","action":"lambda:InvokeFunction","principal":"*"},"responseElements":{"statement":"{\"Sid\":\"backdoor\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\"}"})"));
  h.finish();
  ASSERT_EQ(h.count("lambda-permission-public"), 1u);
  auto f = h.findings("lambda-permission-public")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("functionName"), "processor");
  EXPECT_EQ(f.evidence("statementId"), "backdoor");
}

TEST(PrivilegeEscalation, ScopedLambdaPermissionsAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "lambda.amazonaws.com", "AddPermission20150331v2",
      R"("requestParameters":{"functionName":"processor","statementId":"api","action":"lambda:InvokeFunction","principal":"apigateway.amazonaws.com","sourceArn":"arn:aws:execute-api:us-east-1:111122223333:abc/*"})"));
  h.feed(engineer(
      "lambda.amazonaws.com", "AddPermission20150331v2",
      R"("requestParameters":{"functionName":"processor","statementId":"org","action":"lambda:InvokeFunction","principal":"*","principalOrgID":"o-abc123"})",
      10));
  h.finish();
  EXPECT_EQ(h.findings().size(), 0u);
}

TEST(PrivilegeEscalation, LambdaCodeUpdates) {
  harness h(&th_module_entry_v1);
  // CI deploy role (matches *deploy*): the daily normal, not reported.
  h.feed(with(
      records::assumed_role("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
      R"("requestParameters":{"functionName":"api","s3Bucket":"artifacts","s3Key":"api.zip"})"));
  // A human role: low, once per caller and function.
  h.feed(engineer("lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
                  R"("requestParameters":{"functionName":"api","zipFile":"<hidden>"})", 10));
  h.feed(engineer("lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
                  R"("requestParameters":{"functionName":"api","zipFile":"<hidden>"})", 20));
  // An IAM user's long-term key: medium.
  h.feed(user_call(
      "lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
      R"("requestParameters":{"functionName":"billing"},"responseElements":{"codeSha256":"abc="})",
      30));
  h.finish();
  auto fs = h.findings("lambda-code-updated");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("functionName"), "api");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("longTermCredentials"), "true");
  EXPECT_EQ(fs[1].evidence("codeSha256"), "abc=");
}

TEST(PrivilegeEscalation, LambdaLayerFromOutsideAccount) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(engineer(
      "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
      R"("requestParameters":{"functionName":"api","layers":["arn:aws:lambda:us-east-1:999988887777:layer:ext:1","arn:aws:lambda:us-east-1:580247275435:layer:LambdaInsightsExtension:38","arn:aws:lambda:us-east-1:444455556666:layer:shared:3"]})"));
  h.feed(engineer(
      "lambda.amazonaws.com", "CreateFunction20150331",
      R"("requestParameters":{"functionName":"ok","layers":["arn:aws:lambda:us-east-1:111122223333:layer:own:1","arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV2:60"]})",
      10));
  h.finish();
  ASSERT_EQ(h.count("lambda-external-layer"), 1u);
  auto f = h.findings("lambda-external-layer")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("outsideLayers"), "[\"arn:aws:lambda:us-east-1:999988887777:layer:ext:1\"]");
}

TEST(PrivilegeEscalation, LambdaLayerWithoutOrgListIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(engineer(
      "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
      R"("requestParameters":{"functionName":"api","layers":["arn:aws:lambda:us-east-1:999988887777:layer:ext:1"]})"));
  h.finish();
  ASSERT_EQ(h.count("lambda-external-layer"), 1u);
  EXPECT_EQ(h.findings("lambda-external-layer")[0].severity, "medium");
}

// ------------------------------------------------------------------------------------------
// order independence: records of one file are unordered, files arrive minutes apart
// ------------------------------------------------------------------------------------------
TEST(PrivilegeEscalation, NewUserChainReadInReverseOrderStillFires) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"support-sync","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      15));
  h.feed(iam("CreateUser", R"("requestParameters":{"userName":"support-sync"})", 0));
  h.finish();
  EXPECT_EQ(h.count("admin-policy-attached"), 1u);
  ASSERT_EQ(h.count("new-user-granted-admin"), 1u);
  auto f = h.findings("new-user-granted-admin")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.event_names[0], "CreateUser");
  EXPECT_EQ(f.event_names[1], "AttachUserPolicy");
  EXPECT_EQ(f.evidence("secondsAfterCreateUser"), "15");
  EXPECT_EQ(f.evidence("grantRule"), "admin-policy-attached");
}

TEST(PrivilegeEscalation, GrantToAnExistingUserThenAnotherCallersCreateUserIsNoChain) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"ops","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      15));
  // somebody else (re)creates a user of that name: not the same caller
  h.feed(
      engineer("iam.amazonaws.com", "CreateUser", R"("requestParameters":{"userName":"ops"})", 0));
  h.finish();
  EXPECT_EQ(h.count("new-user-granted-admin"), 0u);
}

TEST(PrivilegeEscalation, OnboardingLoginProfileReadBeforeCreateUserIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(iam("CreateLoginProfile",
             R"("requestParameters":{"userName":"newhire","passwordResetRequired":true})", 30));
  h.feed(iam("CreateUser", R"("requestParameters":{"userName":"newhire"})", 0));
  // and a password for an existing user, which must stay high after its hold
  h.feed(iam("CreateLoginProfile",
             R"("requestParameters":{"userName":"ops-legacy","passwordResetRequired":false})", 60));
  h.feed(iam("ListUsers", "", 1200));  // event time moves on: the hold ends
  auto fs = h.findings("login-profile-for-other-user");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].evidence("userName"), "newhire");
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("userCreatedByCaller"), "true");
  EXPECT_EQ(fs[1].evidence("userName"), "ops-legacy");
  EXPECT_EQ(fs[1].severity, "high");
  h.finish();
}

TEST(PrivilegeEscalation, AttachReadBeforeTheBroadCustomerPolicyIsCreated) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::111122223333:policy/ops-all"})",
      20));
  h.feed(iam(
      "CreatePolicy",
      R"("requestParameters":{"policyName":"ops-all","policyDocument":)" + quoted(ADMIN_DOC) +
          R"(},"responseElements":{"policy":{"arn":"arn:aws:iam::111122223333:policy/ops-all"}})",
      0));
  // a scoped customer policy attached: still nothing
  h.feed(iam(
      "AttachUserPolicy",
      R"("requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::111122223333:policy/reports"})",
      40));
  h.feed(iam(
      "CreatePolicy",
      R"("requestParameters":{"policyName":"reports","policyDocument":)" + quoted(SCOPED_DOC) +
          R"(},"responseElements":{"policy":{"arn":"arn:aws:iam::111122223333:policy/reports"}})",
      30));
  h.finish();
  ASSERT_EQ(h.count("admin-policy-attached"), 1u);
  auto f = h.findings("admin-policy-attached")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("policyArn"), "arn:aws:iam::111122223333:policy/ops-all");
  EXPECT_EQ(f.evidence("policyClass"), "admin");
  EXPECT_EQ(f.event_names[0], "AttachUserPolicy");
}

TEST(PrivilegeEscalation, AddToGroupReadBeforeTheGroupBecameAdmin) {
  harness h(&th_module_entry_v1);
  h.feed(engineer("iam.amazonaws.com", "AddUserToGroup",
                  R"("requestParameters":{"groupName":"Developers","userName":"bob"})", 30));
  h.feed(engineer(
      "iam.amazonaws.com", "AttachGroupPolicy",
      R"("requestParameters":{"groupName":"Developers","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"})",
      0));
  // a harmless group stays quiet
  h.feed(engineer("iam.amazonaws.com", "AddUserToGroup",
                  R"("requestParameters":{"groupName":"Readers","userName":"carol"})", 60));
  h.finish();
  ASSERT_EQ(h.count("added-to-admin-group"), 1u);
  auto f = h.findings("added-to-admin-group")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("groupName"), "Developers");
  EXPECT_EQ(f.evidence("matchedBy"), "admin-policy-seen");
}

TEST(PrivilegeEscalation, SetDefaultReadBeforeTheBroadVersionIsCreated) {
  harness h(&th_module_entry_v1);
  h.feed(iam(
      "SetDefaultPolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","versionId":"v4"})",
      60));
  h.feed(iam(
      "CreatePolicyVersion",
      R"("requestParameters":{"policyArn":"arn:aws:iam::111122223333:policy/app","setAsDefault":false,"policyDocument":)" +
          quoted(ADMIN_DOC) +
          R"(},"responseElements":{"policyVersion":{"versionId":"v4","isDefaultVersion":false}})",
      0));
  h.finish();
  ASSERT_EQ(h.count("broad-policy-version-default"), 1u);
  auto f = h.findings("broad-policy-version-default")[0];
  EXPECT_EQ(f.evidence("versionId"), "v4");
  EXPECT_EQ(f.event_names[0], "SetDefaultPolicyVersion");
}

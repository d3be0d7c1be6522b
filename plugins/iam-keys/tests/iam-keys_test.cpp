// SPDX-License-Identifier: Apache-2.0
// Tests of the iam-keys detector: every rule fires on the real record shape and stays quiet (or
// lower) on its benign look-alikes.
#include <gtest/gtest.h>

#include <string>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

int seq = 0;

// `base` patched with `patch`, at `time`, with a unique eventID (duplicates are dropped).
std::string at(const std::string& base, const std::string& time, const std::string& patch = "{}") {
  std::string stamp =
      R"({"eventTime":")" + time + R"(","eventID":"keys-test-)" + std::to_string(++seq) + R"("})";
  return merge_json(merge_json(base, patch), stamp);
}

std::string alice(const std::string& name) { return records::iam_user("iam.amazonaws.com", name); }
std::string deploy(const std::string& name) {
  return records::assumed_role("iam.amazonaws.com", name);
}

std::string create_key_patch(const std::string& user, const std::string& key) {
  std::string req = user.empty() ? "null" : R"({"userName":")" + user + R"("})";
  return R"({"requestParameters":)" + req + R"(,"responseElements":{"accessKey":{"accessKeyId":")" +
         key + R"(","status":"Active","userName":")" + (user.empty() ? "alice" : user) +
         R"(","createDate":"Nov 20, 2026 10:00:00 AM"}}})";
}

// A call signed by long-term key `key` of IAM user `user`.
std::string key_call(const std::string& source, const std::string& name, const std::string& key,
                     const std::string& user = "carol") {
  return merge_json(records::iam_user(source, name),
                    R"({"userIdentity":{"accessKeyId":")" + key + R"(","userName":")" + user +
                        R"(","arn":"arn:aws:iam::111122223333:user/)" + user +
                        R"("},"sourceIPAddress":"203.0.113.50"})");
}

}  // namespace

// ------------------------------------------------------------------------------------------
// access-key-created-for-other-user

TEST(IamKeys, CreateAccessKeyForOtherUserFires) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.finish();
  ASSERT_EQ(h.count("access-key-created-for-other-user"), 1u);
  auto f = h.findings("access-key-created-for-other-user")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIABOBNEWKEY0000001");
  EXPECT_EQ(f.evidence("callerArn"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("status"), "Active");
  ASSERT_FALSE(f.mitre.empty());
  EXPECT_EQ(f.mitre[0], "T1098.001");
}

TEST(IamKeys, OwnKeyRotationNeverFires) {
  harness h(&th_module_entry_v1);
  // without userName: the caller's own key
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("", "AKIAALICENEWKEY00001")));
  // with its own userName
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:01:00Z",
            create_key_patch("alice", "AKIAALICENEWKEY00002")));
  h.feed(at(alice("UpdateAccessKey"), "2026-11-20T10:02:00Z",
            R"({"requestParameters":{"accessKeyId":"AKIAEXAMPLEALICE0001","status":"Inactive"}})"));
  h.feed(at(alice("DeleteAccessKey"), "2026-11-20T10:03:00Z",
            R"({"requestParameters":{"accessKeyId":"AKIAEXAMPLEALICE0001"}})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(IamKeys, AssumedRoleCreatingKeyForUserFires) {
  harness h(&th_module_entry_v1);
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("svc-backup", "AKIASVCNEWKEY0000001")));
  h.finish();
  ASSERT_EQ(h.count("access-key-created-for-other-user"), 1u);
  auto f = h.findings("access-key-created-for-other-user")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("sessionIssuerArn"), "arn:aws:iam::111122223333:role/Deploy");
  EXPECT_EQ(f.evidence("userName"), "svc-backup");
}

TEST(IamKeys, RotationByAutomationIsLow) {
  harness h(&th_module_entry_v1);
  // new key for bob, then bob's old key deleted by the same rotation job
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(deploy("DeleteAccessKey"), "2026-11-20T10:02:00Z",
            R"({"requestParameters":{"userName":"bob","accessKeyId":"AKIABOBOLDKEY0000001"}})"));
  // old key of carol deactivated first, then the new one created
  h.feed(at(deploy("UpdateAccessKey"), "2026-11-20T10:05:00Z",
            R"({"requestParameters":{"userName":"carol","accessKeyId":"AKIACAROLOLD00000001",
                "status":"Inactive"}})"));
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:06:00Z",
            create_key_patch("carol", "AKIACAROLNEW00000001")));
  h.finish();
  auto fs = h.findings("access-key-created-for-other-user");
  ASSERT_EQ(fs.size(), 2u);
  for (auto& f : fs) {
    EXPECT_EQ(f.severity, "low");
    EXPECT_EQ(f.evidence("rotation"), "true");
    EXPECT_EQ(f.event_ids.size(), 2u);
    if (f.evidence("userName") == "bob") {
      EXPECT_EQ(f.evidence("retiredAccessKeyId"), "AKIABOBOLDKEY0000001");
      EXPECT_EQ(f.evidence("retiredBy"), "DeleteAccessKey");
    } else {
      EXPECT_EQ(f.evidence("userName"), "carol");
      EXPECT_EQ(f.evidence("retiredBy"), "UpdateAccessKey");
    }
  }
  EXPECT_EQ(h.count("access-key-reactivated"), 0u);
}

TEST(IamKeys, RetirementOfAnotherUserIsNotRotation) {
  harness h(&th_module_entry_v1);
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(deploy("DeleteAccessKey"), "2026-11-20T10:02:00Z",
            R"({"requestParameters":{"userName":"dave","accessKeyId":"AKIADAVEOLDKEY000001"}})"));
  // bob's old key removed, but long after the grace period
  h.feed(at(deploy("DeleteAccessKey"), "2026-11-20T11:00:00Z",
            R"({"requestParameters":{"userName":"bob","accessKeyId":"AKIABOBOLDKEY0000001"}})"));
  h.finish();
  ASSERT_EQ(h.count("access-key-created-for-other-user"), 1u);
  EXPECT_EQ(h.findings("access-key-created-for-other-user")[0].severity, "high");
  EXPECT_EQ(h.findings("access-key-created-for-other-user")[0].evidence("rotation"), "");
}

TEST(IamKeys, AdminAndBreakGlassPrincipalsLower) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:role/Deploy"]
break_glass_principals = ["arn:aws:iam::111122223333:user/alice"])");
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:01:00Z",
            create_key_patch("carol", "AKIACAROLNEW00000001")));
  h.finish();
  auto fs = h.findings("access-key-created-for-other-user");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("adminPrincipal"), "true");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("breakGlass"), "true");
}

TEST(IamKeys, FailedOrServiceKeyCreationIgnored) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
            merge_json(create_key_patch("bob", "AKIABOBNEWKEY0000001"),
                       R"({"responseElements":null,"errorCode":"AccessDenied",
                           "errorMessage":"not authorized"})")));
  h.feed(at(records::aws_service("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:01:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000002")));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// access-key-created-for-root

TEST(IamKeys, RootCreatingOwnKey) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.iam-keys.params]
root_keys = true)");
  h.feed(at(records::root("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"responseElements":{"accessKey":{"accessKeyId":"AKIAROOTNEWKEY000001",
                "status":"Active"}}})"));
  // root creating a key for an IAM user is "for another user", not a root key
  h.feed(at(records::root("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:01:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.finish();
  ASSERT_EQ(h.count("access-key-created-for-root"), 1u);
  auto f = h.findings("access-key-created-for-root")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAROOTNEWKEY000001");
  EXPECT_EQ(f.evidence("callerArn"), "arn:aws:iam::111122223333:root");
  ASSERT_EQ(h.count("access-key-created-for-other-user"), 1u);
  EXPECT_EQ(h.findings("access-key-created-for-other-user")[0].evidence("userName"), "bob");
}

TEST(IamKeys, RootKeyIsLeftToRootAccountDetectorByDefault) {
  harness h(&th_module_entry_v1);
  h.feed(at(records::root("iam.amazonaws.com", "CreateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"responseElements":{"accessKey":{"accessKeyId":"AKIAROOTNEWKEY000001"}}})"));
  h.finish();
  EXPECT_EQ(h.count("access-key-created-for-root"), 0u);
}

// ------------------------------------------------------------------------------------------
// access-key-reactivated

TEST(IamKeys, KeyOfOtherUserReactivated) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("UpdateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"bob","accessKeyId":"AKIABOBOLDKEY0000001",
                "status":"Active"}})"));
  h.finish();
  ASSERT_EQ(h.count("access-key-reactivated"), 1u);
  auto f = h.findings("access-key-reactivated")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("userName"), "bob");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIABOBOLDKEY0000001");
  EXPECT_EQ(f.evidence("status"), "Active");
  EXPECT_EQ(f.evidence("ownKey"), "false");
}

TEST(IamKeys, OwnKeyReactivatedIsLowAndRootKeyHigh) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("UpdateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"accessKeyId":"AKIAALICEOLD00000001","status":"Active"}})"));
  h.feed(at(records::root("iam.amazonaws.com", "UpdateAccessKey"), "2026-11-20T10:01:00Z",
            R"({"requestParameters":{"accessKeyId":"AKIAROOTOLD000000001","status":"Active"}})"));
  h.finish();
  auto fs = h.findings("access-key-reactivated");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("ownKey"), "true");
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[1].evidence("rootKey"), "true");
}

TEST(IamKeys, DeactivationAndFailedReactivationIgnored) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("UpdateAccessKey"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"bob","accessKeyId":"AKIABOBOLDKEY0000001",
                "status":"Inactive"}})"));
  h.feed(at(alice("UpdateAccessKey"), "2026-11-20T10:01:00Z",
            R"({"requestParameters":{"userName":"bob","accessKeyId":"AKIABOBOLDKEY0000001",
                "status":"Active"},"errorCode":"AccessDenied","errorMessage":"denied"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// access-key-enumeration

namespace {
std::string list_keys(const std::string& user, const std::string& time) {
  std::string req = user.empty() ? "null" : R"({"userName":")" + user + R"("})";
  return at(deploy("ListAccessKeys"), time, R"({"readOnly":true,"requestParameters":)" + req + "}");
}
// 2026-11-20T10:00:00Z plus `minute` minutes and `second` seconds.
std::string t(int minute, int second = 0) {
  int total = minute * 60 + second;
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-20T%02d:%02d:%02dZ", 10 + total / 3600, total / 60 % 60,
                total % 60);
  return buf;
}
}  // namespace

TEST(IamKeys, ListAccessKeysAcrossManyUsersFiresOnce) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 25; ++i) h.feed(list_keys("user" + std::to_string(i), t(0, i * 10)));
  h.finish();
  ASSERT_EQ(h.count("access-key-enumeration"), 1u);
  auto f = h.findings("access-key-enumeration")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("distinctUsers"), "10");
  EXPECT_EQ(f.event_ids.size(), 10u);
  EXPECT_EQ(f.evidence("sessionIssuerArn"), "arn:aws:iam::111122223333:role/Deploy");
  EXPECT_EQ(f.evidence("callerArn").rfind("arn:aws:sts::111122223333:assumed-role/Deploy/", 0), 0u);
  EXPECT_EQ(f.mitre[0], "T1087.004");
}

TEST(IamKeys, FewUsersOrSlowListingDoesNotFire) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 9; ++i) h.feed(list_keys("user" + std::to_string(i), t(0, i * 5)));
  for (int i = 0; i < 20; ++i) h.feed(list_keys("", t(1, i)));  // own keys, repeatedly
  // a daily hygiene job that lists one user every two minutes
  for (int i = 0; i < 12; ++i) h.feed(list_keys("slow" + std::to_string(i), t(60 + 2 * i)));
  h.finish();
  EXPECT_EQ(h.count("access-key-enumeration"), 0u);
}

TEST(IamKeys, EnumerationThresholdIsTunableAndFiresAgainInNewEpisode) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.iam-keys.params]
enumeration_threshold = 3
enumeration_window = "5m")");
  for (int i = 0; i < 4; ++i) h.feed(list_keys("a" + std::to_string(i), t(0, i)));
  for (int i = 0; i < 4; ++i) h.feed(list_keys("b" + std::to_string(i), t(30, i)));
  h.finish();
  EXPECT_EQ(h.count("access-key-enumeration"), 2u);
}

TEST(IamKeys, ConsoleUserListIsLow) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 12; ++i)
    h.feed(at(deploy("ListAccessKeys"), t(0, i), R"({"readOnly":true,"requestParameters":{
        "userName":"u)" + std::to_string(i) + R"("},"sourceIPAddress":"198.51.100.99",
        "userAgent":"AWS Internal","userIdentity":{"sessionCredentialFromConsole":"true"}})"));
  h.finish();
  ASSERT_EQ(h.count("access-key-enumeration"), 1u);
  EXPECT_EQ(h.findings("access-key-enumeration")[0].severity, "low");
  EXPECT_EQ(h.findings("access-key-enumeration")[0].evidence("consoleSession"), "true");
}

TEST(IamKeys, DeniedEnumerationStillCounts) {
  harness h(&th_module_entry_v1);
  for (int i = 0; i < 10; ++i)
    h.feed(at(alice("ListAccessKeys"), t(0, i),
              R"({"requestParameters":{"userName":"v)" + std::to_string(i) +
                  R"("},"errorCode":"AccessDenied","errorMessage":"denied"})"));
  h.finish();
  ASSERT_EQ(h.count("access-key-enumeration"), 1u);
  EXPECT_EQ(h.findings("access-key-enumeration")[0].evidence("failedCalls"), "10");
}

// ------------------------------------------------------------------------------------------
// backdoor-user-chain

TEST(IamKeys, KeyThenNewUserIsBackdoorChain) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("", "AKIAALICENEWKEY00001")));
  h.feed(at(alice("CreateUser"), "2026-11-20T10:10:00Z",
            R"({"requestParameters":{"userName":"support-sync"}})"));
  h.feed(at(alice("AttachUserPolicy"), "2026-11-20T10:11:00Z",
            R"({"requestParameters":{"userName":"support-sync",
                "policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}})"));
  h.finish();
  ASSERT_EQ(h.count("backdoor-user-chain"), 1u);  // one per key creation
  auto f = h.findings("backdoor-user-chain")[0];
  EXPECT_EQ(f.severity, "high");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "CreateAccessKey");
  EXPECT_EQ(f.event_names[1], "CreateUser");
  EXPECT_EQ(f.evidence("followUpEvent"), "CreateUser");
  EXPECT_EQ(f.evidence("userName"), "support-sync");
  EXPECT_EQ(f.evidence("secondsBetween"), "600");
  EXPECT_NE(f.evidence("createAccessKey").find("AKIAALICENEWKEY00001"), std::string::npos);
  EXPECT_EQ(f.first_seen, "2026-11-20T10:00:00Z");
  EXPECT_EQ(f.last_seen, "2026-11-20T10:10:00Z");
}

TEST(IamKeys, KeyThenAdminPolicyIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(deploy("AttachUserPolicy"), "2026-11-20T10:03:00Z",
            R"({"requestParameters":{"userName":"bob",
                "policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}})"));
  h.finish();
  ASSERT_EQ(h.count("backdoor-user-chain"), 1u);
  auto f = h.findings("backdoor-user-chain")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("policyArn"), "arn:aws:iam::aws:policy/AdministratorAccess");
  EXPECT_EQ(f.evidence("adminPolicy"), "true");
}

TEST(IamKeys, ChainLookalikesDoNotFire) {
  harness h(&th_module_entry_v1);
  // onboarding order: user, login profile, then its key
  h.feed(at(alice("CreateUser"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"newhire"}})"));
  h.feed(at(alice("CreateLoginProfile"), "2026-11-20T10:01:00Z",
            R"({"requestParameters":{"userName":"newhire","passwordResetRequired":true}})"));
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:02:00Z",
            create_key_patch("newhire", "AKIANEWHIRE000000001")));
  // another principal creates a user
  h.feed(at(deploy("CreateUser"), "2026-11-20T10:05:00Z",
            R"({"requestParameters":{"userName":"other"}})"));
  // the key creator acts again, but long after the window
  h.feed(at(alice("PutUserPolicy"), "2026-11-20T12:00:00Z",
            R"({"requestParameters":{"userName":"newhire","policyName":"inline"}})"));
  h.finish();
  EXPECT_EQ(h.count("backdoor-user-chain"), 0u);
}

TEST(IamKeys, ChainByAdminPrincipalIsLower) {
  harness h(&th_module_entry_v1);
  h.config(R"(admin_principals = ["arn:aws:iam::111122223333:role/Deploy"])");
  h.feed(at(deploy("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(deploy("CreateLoginProfile"), "2026-11-20T10:03:00Z",
            R"({"requestParameters":{"userName":"bob"}})"));
  h.finish();
  ASSERT_EQ(h.count("backdoor-user-chain"), 1u);
  EXPECT_EQ(h.findings("backdoor-user-chain")[0].severity, "medium");
}

// ------------------------------------------------------------------------------------------
// new-key-first-call-whoami

namespace {
// Starts the input (warm-up clock) with a known key.
void start_input(harness& h) {
  h.feed(at(key_call("s3.amazonaws.com", "ListBuckets", "AKIAKNOWNKEY00000001", "alice"),
            "2026-11-20T00:00:00Z"));
}
}  // namespace

TEST(IamKeys, UnknownKeyStartingWithWhoamiAfterWarmup) {
  harness h(&th_module_entry_v1);
  start_input(h);
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIASTOLENKEY0000001"),
            "2026-11-21T03:00:00Z"));
  h.feed(at(key_call("iam.amazonaws.com", "ListUsers", "AKIASTOLENKEY0000001"),
            "2026-11-21T03:01:00Z"));
  h.finish();
  ASSERT_EQ(h.count("new-key-first-call-whoami"), 1u);
  auto f = h.findings("new-key-first-call-whoami")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIASTOLENKEY0000001");
  EXPECT_EQ(f.evidence("eventName"), "GetCallerIdentity");
  EXPECT_EQ(f.evidence("principalArn"), "arn:aws:iam::111122223333:user/carol");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "203.0.113.50");
}

TEST(IamKeys, GetSessionTokenAsFirstCallAlsoFires) {
  harness h(&th_module_entry_v1);
  start_input(h);
  h.feed(at(key_call("sts.amazonaws.com", "GetSessionToken", "AKIASTOLENKEY0000002"),
            "2026-11-21T03:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("new-key-first-call-whoami"), 1u);
}

TEST(IamKeys, WhoamiLookalikesDoNotFire) {
  harness h(&th_module_entry_v1);
  start_input(h);
  // during warm-up everything is new
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAWARMUPKEY0000001"),
            "2026-11-20T05:00:00Z"));
  // a key whose first call is something else, later whoami
  h.feed(at(key_call("s3.amazonaws.com", "ListBuckets", "AKIAOTHERKEY00000001"),
            "2026-11-21T03:00:00Z"));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAOTHERKEY00000001"),
            "2026-11-21T03:01:00Z"));
  // a known key calling whoami again
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAKNOWNKEY00000001", "alice"),
            "2026-11-21T04:00:00Z"));
  // temporary credentials are not long-term keys
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "ASIATEMPKEY000000001"),
            "2026-11-21T05:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("new-key-first-call-whoami"), 0u);
}

TEST(IamKeys, FreshlyRotatedOwnKeyTestedWithWhoamiIsBenign) {
  harness h(&th_module_entry_v1);
  start_input(h);
  h.feed(at(alice("CreateAccessKey"), "2026-11-21T03:00:00Z",
            create_key_patch("", "AKIAALICENEWKEY00001")));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAALICENEWKEY00001", "alice"),
            "2026-11-21T03:02:00Z"));
  h.finish();
  EXPECT_EQ(h.count("new-key-first-call-whoami"), 0u);
}

TEST(IamKeys, KeyMadeForOtherUserThenWhoamiIsHigh) {
  harness h(&th_module_entry_v1);
  start_input(h);
  h.feed(at(alice("CreateAccessKey"), "2026-11-21T03:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIABOBNEWKEY0000001", "bob"),
            "2026-11-21T03:05:00Z"));
  h.finish();
  ASSERT_EQ(h.count("new-key-first-call-whoami"), 1u);
  auto f = h.findings("new-key-first-call-whoami")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("createdBy"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("keyOwner"), "bob");
}

TEST(IamKeys, TerraformOrTrustedSourceWhoamiIsLow) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["10.0.0.0/8"])");
  start_input(h);
  h.feed(at(
      key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIATFKEY00000000001"),
      "2026-11-21T03:00:00Z",
      R"({"userAgent":"APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.70.0"})"));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAOFFICEKEY0000001"),
            "2026-11-21T03:00:00Z", R"({"sourceIPAddress":"10.20.30.40"})"));
  h.finish();
  auto fs = h.findings("new-key-first-call-whoami");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("iacUserAgent"), "true");
  EXPECT_EQ(fs[1].severity, "low");
  EXPECT_EQ(fs[1].evidence("trustedSource"), "true");
}

TEST(IamKeys, FirstUseDetectionCanBeDisabledAndWarmupTuned) {
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.iam-keys.params]
first_use_detection = false)");
    start_input(h);
    h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIASTOLENKEY0000001"),
              "2026-11-21T03:00:00Z"));
    h.finish();
    EXPECT_EQ(h.count("new-key-first-call-whoami"), 0u);
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.iam-keys.params]
first_use_warmup = "1h")");
    start_input(h);
    h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIASTOLENKEY0000001"),
              "2026-11-20T02:00:00Z"));
    h.finish();
    EXPECT_EQ(h.count("new-key-first-call-whoami"), 1u);
  }
}

TEST(IamKeys, SeenKeysAreBounded) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.iam-keys.params]
seen_keys_cap = 1000
first_use_warmup = 0)");
  // no reporting during the first second: the input starts with the old key
  h.feed(at(key_call("s3.amazonaws.com", "ListBuckets", "AKIAOLDKEY0000000000"),
            "2026-11-20T00:00:00Z"));
  for (int i = 0; i < 1000; ++i) {
    char key[32];
    std::snprintf(key, sizeof key, "AKIAFILL%012d", i);
    h.feed(at(key_call("s3.amazonaws.com", "ListBuckets", key), "2026-11-20T01:00:00Z"));
  }
  // the least recently used key was forgotten: it counts as new again
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAOLDKEY0000000000"),
            "2026-11-20T02:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("new-key-first-call-whoami"), 1u);
  EXPECT_TRUE(h.errors().empty());
}

// ------------------------------------------------------------------------------------------
// learned state (a resumed or next-day run)

TEST(IamKeys, StateKeepsWarmupAndKnownKeysAcrossRuns) {
  std::string state;
  {
    harness day1(&th_module_entry_v1);
    start_input(day1);  // the input starts: warm-up begins
    day1.feed(at(key_call("iam.amazonaws.com", "ListUsers", "AKIAKNOWNKEY00000001"),
                 "2026-11-20T12:00:00Z"));
    day1.finish();
    state = day1.snapshot("iam-keys");
  }
  harness day2(&th_module_entry_v1);
  day2.start();
  day2.restore("iam-keys", state);
  // A key seen on day 1 calling whoami on day 2 is not new; an unknown key is, and the warm-up does
  // not start again with the second run.
  day2.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAKNOWNKEY00000001"),
               "2026-11-21T03:00:00Z"));
  day2.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIASTOLENKEY0000001"),
               "2026-11-21T03:05:00Z"));
  day2.finish();
  ASSERT_EQ(day2.count("new-key-first-call-whoami"), 1u);
  EXPECT_EQ(day2.findings("new-key-first-call-whoami")[0].evidence("accessKeyId"),
            "AKIASTOLENKEY0000001");
}

TEST(IamKeys, CorruptStateIsRefused) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("iam-keys", "\x05garbage"), std::runtime_error);
}

// ------------------------------------------------------------------------------------------
// access-key-enumeration: security scanners and scheduled jobs

namespace {
// ListAccessKeys for `n` users by role `role`, session `session`, from `time_prefix`+"MM:SS".
void enumerate(harness& h, const std::string& day_hour, const std::string& role,
               const std::string& session, const std::string& ua, int n = 15) {
  for (int i = 0; i < n; ++i) {
    char mmss[16];
    std::snprintf(mmss, sizeof mmss, "%02d:%02dZ", 10 + i / 60, i % 60);
    h.feed(at(deploy("ListAccessKeys"), day_hour + ":" + mmss,
              R"({"readOnly":true,"requestParameters":{"userName":"u)" + std::to_string(i) +
                  R"("},"userAgent":")" + ua +
                  R"(","userIdentity":{"arn":"arn:aws:sts::111122223333:assumed-role/)" + role +
                  "/" + session +
                  R"(","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/)" +
                  role + R"(","userName":")" + role + R"("}}}})"));
  }
}
constexpr const char* kBoto =
    "Boto3/1.33.13 md/Botocore#1.33.13 ua/2.0 os/linux#6.1 lang/python#3.12.1";
}  // namespace

TEST(IamKeys, SecurityScannerEnumerationIsLow) {
  harness h(&th_module_entry_v1);
  // Prowler's default role session name, a plain Boto3 user agent
  enumerate(h, "2026-11-20T02", "SecurityAudit", "ProwlerAssessmentSession", kBoto);
  // Prowler's user agent suffix, any session name
  enumerate(h, "2026-11-20T05", "Audit", "job-42", std::string(kBoto) + " APN_1826889");
  // ScoutSuite's user agent
  enumerate(h, "2026-11-20T08", "Audit2", "run",
            "Scout Suite/5.14.0 (https://github.com/nccgroup/ScoutSuite)");
  h.finish();
  auto fs = h.findings("access-key-enumeration");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("securityScanner"), "prowler");
  EXPECT_EQ(fs[1].severity, "low");
  EXPECT_EQ(fs[1].evidence("securityScanner"), "apn_1826889");
  EXPECT_EQ(fs[2].severity, "low");
  EXPECT_EQ(fs[2].evidence("securityScanner"), "scoutsuite");  // in its URL
}

TEST(IamKeys, UnnamedNightlyJobIsInfoFromItsSecondNightAttackerStaysMedium) {
  harness h(&th_module_entry_v1);
  enumerate(h, "2026-11-20T02", "Inventory", "s-1",
            kBoto);  // first night: nothing says benign
  enumerate(h, "2026-11-21T02", "Inventory", "s-2",
            kBoto);  // same time next night
  enumerate(h, "2026-11-22T03", "Inventory", "s-3",
            kBoto);  // 50 min later than usual
  enumerate(h, "2026-11-22T14", "Inventory", "s-4",
            kBoto);  // same role, unusual time
  // a stolen key enumerating for the first time, with an offensive OS in its user agent
  for (int i = 0; i < 15; ++i) {
    char tm[32];
    std::snprintf(tm, sizeof tm, "2026-11-22T09:30:%02dZ", i);
    h.feed(at(
        key_call("iam.amazonaws.com", "ListAccessKeys", "AKIASVCREPORTING0001", "svc-reporting"),
        tm,
        R"({"requestParameters":{"userName":"u)" + std::to_string(i) +
            R"("},"userAgent":"Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0-kali3-amd64","sourceIPAddress":"185.220.101.34"})"));
  }
  h.finish();
  auto fs = h.findings("access-key-enumeration");
  ASSERT_EQ(fs.size(), 5u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("recurringSchedule"), "");
  EXPECT_EQ(fs[1].severity, "info");
  EXPECT_EQ(fs[1].evidence("recurringSchedule"), "true");
  EXPECT_EQ(fs[1].evidence("previousEpisodeTime"), "2026-11-20T02:10:00Z");
  EXPECT_EQ(fs[2].severity, "info");
  EXPECT_EQ(fs[3].severity, "medium");  // 14:10 matches no earlier night
  EXPECT_EQ(fs[4].severity, "medium");
  EXPECT_EQ(fs[4].evidence("callerArn"), "arn:aws:iam::111122223333:user/svc-reporting");
}

TEST(IamKeys, ScheduleDetectionCanBeTurnedOffAndSurvivesRuns) {
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.iam-keys.params]
schedule_tolerance = 0)");
    enumerate(h, "2026-11-20T02", "Inventory", "s-1", kBoto);
    enumerate(h, "2026-11-21T02", "Inventory", "s-2", kBoto);
    h.finish();
    auto fs = h.findings("access-key-enumeration");
    ASSERT_EQ(fs.size(), 2u);
    EXPECT_EQ(fs[1].severity, "medium");
  }
  // Day 1 in one run, day 2 in the next: the learned state carries the episode.
  harness first(&th_module_entry_v1);
  enumerate(first, "2026-11-20T02", "Inventory", "s-1", kBoto);
  first.finish();
  std::string bytes = first.snapshot("iam-keys");
  harness second(&th_module_entry_v1);
  second.start();
  second.restore("iam-keys", bytes);
  enumerate(second, "2026-11-21T02", "Inventory", "s-2", kBoto);
  second.finish();
  ASSERT_EQ(second.count("access-key-enumeration"), 1u);
  EXPECT_EQ(second.findings("access-key-enumeration")[0].severity, "info");
  harness third(&th_module_entry_v1);
  third.start();
  third.restore("iam-keys", bytes);
  EXPECT_EQ(third.snapshot("iam-keys"), bytes);
}

// ------------------------------------------------------------------------------------------
// order independence: records of one file are unordered, files arrive minutes apart

TEST(IamKeys, BackdoorChainReadInReverseOrderStillFires) {
  harness h(&th_module_entry_v1);
  h.feed(at(alice("AttachUserPolicy"), "2026-11-20T10:00:40Z",
            R"({"requestParameters":{"userName":"support-sync",
                "policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}})"));
  h.feed(at(alice("CreateUser"), "2026-11-20T10:00:30Z",
            R"({"requestParameters":{"userName":"support-sync"}})"));
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
            create_key_patch("admin-backup", "AKIAADMINBACKUP00001")));
  h.finish();
  ASSERT_EQ(h.count("backdoor-user-chain"), 1u);
  auto f = h.findings("backdoor-user-chain")[0];
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "CreateAccessKey");
  EXPECT_EQ(f.event_names[1], "CreateUser");  // the earliest follow-up
  EXPECT_EQ(f.evidence("secondsBetween"), "30");
  EXPECT_EQ(f.first_seen, "2026-11-20T10:00:00Z");
  EXPECT_NE(f.evidence("createAccessKey").find("AKIAADMINBACKUP00001"), std::string::npos);
}

TEST(IamKeys, PersistenceBeforeKeyCreationIsNoChainInEitherReadOrder) {
  harness h(&th_module_entry_v1);
  // onboarding: user first, key for it afterwards (event time), read key first
  h.feed(at(alice("CreateAccessKey"), "2026-11-20T10:02:00Z",
            create_key_patch("newhire", "AKIANEWHIRE000000001")));
  h.feed(at(alice("CreateUser"), "2026-11-20T10:00:00Z",
            R"({"requestParameters":{"userName":"newhire"}})"));
  h.finish();
  EXPECT_EQ(h.count("backdoor-user-chain"), 0u);
}

TEST(IamKeys, WhoamiReadAfterALaterCallOfTheKeyIsStillItsFirstCall) {
  harness h(&th_module_entry_v1);
  start_input(h);
  h.feed(at(key_call("iam.amazonaws.com", "ListUsers", "AKIASTOLENKEY0000001"),
            "2026-11-21T03:00:20Z"));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIASTOLENKEY0000001"),
            "2026-11-21T03:00:05Z"));
  // a key whose whoami really came second
  h.feed(at(key_call("iam.amazonaws.com", "ListUsers", "AKIAOTHERKEY00000001"),
            "2026-11-21T04:00:00Z"));
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAOTHERKEY00000001"),
            "2026-11-21T04:00:30Z"));
  h.finish();
  ASSERT_EQ(h.count("new-key-first-call-whoami"), 1u);
  EXPECT_EQ(h.findings("new-key-first-call-whoami")[0].evidence("accessKeyId"),
            "AKIASTOLENKEY0000001");
}

TEST(IamKeys, WhoamiReadBeforeTheKeyCreationIsResolvedByIt) {
  harness h(&th_module_entry_v1);
  start_input(h);
  // a key made for another user, its whoami read first: high
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIABOBNEWKEY0000001", "bob"),
            "2026-11-21T03:05:00Z"));
  h.feed(at(alice("CreateAccessKey"), "2026-11-21T03:00:00Z",
            create_key_patch("bob", "AKIABOBNEWKEY0000001")));
  // own key rotation, whoami read first: benign
  h.feed(at(key_call("sts.amazonaws.com", "GetCallerIdentity", "AKIAALICENEWKEY00001", "alice"),
            "2026-11-21T05:00:40Z"));
  h.feed(at(alice("CreateAccessKey"), "2026-11-21T05:00:00Z",
            create_key_patch("", "AKIAALICENEWKEY00001")));
  h.finish();
  auto fs = h.findings("new-key-first-call-whoami");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("accessKeyId"), "AKIABOBNEWKEY0000001");
  EXPECT_EQ(fs[0].evidence("createdBy"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(fs[0].evidence("keyOwner"), "bob");
}

TEST(IamKeys, BackdoorChainUsesTheEarliestFollowUpWhateverTheReadOrder) {
  for (int order = 0; order < 3; ++order) {
    harness h(&th_module_entry_v1);
    std::string key = at(alice("CreateAccessKey"), "2026-11-20T10:00:00Z",
                         create_key_patch("admin-backup", "AKIAADMINBACKUP00001"));
    std::string user = at(alice("CreateUser"), "2026-11-20T10:00:30Z",
                          R"({"requestParameters":{"userName":"support-sync"}})");
    std::string attach = at(alice("AttachUserPolicy"), "2026-11-20T10:00:40Z",
                            R"({"requestParameters":{"userName":"support-sync",
                "policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}})");
    if (order == 0) h.feed({key, user, attach});
    if (order == 1) h.feed({attach, key, user});  // the admin attach is matched first...
    if (order == 2) h.feed({key, attach, user});  // ...and replaced by the earlier CreateUser
    h.finish();
    ASSERT_EQ(h.count("backdoor-user-chain"), 1u) << order;
    auto f = h.findings("backdoor-user-chain")[0];
    EXPECT_EQ(f.severity, "high") << order;
    ASSERT_EQ(f.event_names.size(), 2u);
    EXPECT_EQ(f.event_names[1], "CreateUser") << order;
    EXPECT_EQ(f.evidence("secondsBetween"), "30") << order;
  }
}

// ------------------------------------------------------------------------------------------
// access-key-enumeration: habits (earlier days of the same identity)

namespace {
std::string night(int day, int hour) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d", 1 + day, hour);
  return buf;
}
std::string prowler_session(int day) { return "prowler-" + std::to_string(4242 + day); }
// The stolen svc-reporting key listing 15 users' keys on `day` at 09:30.
void stolen_key_enumerates(harness& h, int day) {
  for (int i = 0; i < 15; ++i) {
    char tm[32];
    std::snprintf(tm, sizeof tm, "2026-11-%02dT09:30:%02dZ", 1 + day, i);
    h.feed(at(
        key_call("iam.amazonaws.com", "ListAccessKeys", "AKIASVCREPORTING0001", "svc-reporting"),
        tm,
        R"({"requestParameters":{"userName":"u)" + std::to_string(i) +
            R"("},"userAgent":"Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0-kali3-amd64","sourceIPAddress":"185.220.101.34"})"));
  }
}
}  // namespace

TEST(IamKeysHabit, NightlyScannerIsNotReportedFromItsFourthNight) {
  harness h(&th_module_entry_v1);
  for (int day = 0; day < 6; ++day)
    enumerate(h, night(day, 2), "SecurityAuditScanner", prowler_session(day), kBoto);
  stolen_key_enumerates(h, 5);  // a new principal: medium as before
  h.finish();
  auto fs = h.findings("access-key-enumeration");
  ASSERT_EQ(fs.size(), 4u);
  EXPECT_EQ(fs[0].severity, "low");   // first night: a scanner
  EXPECT_EQ(fs[1].severity, "info");  // same time of day as the night before
  EXPECT_EQ(fs[2].severity, "info");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fs[i].first_seen.substr(0, 10), "2026-11-0" + std::to_string(1 + i));
    EXPECT_EQ(fs[i].evidence("habitual"), "");
  }
  // nights 4-6 (3+ earlier days): routine, not reported
  EXPECT_EQ(fs[3].severity, "medium");
  EXPECT_EQ(fs[3].evidence("callerArn"), "arn:aws:iam::111122223333:user/svc-reporting");
  EXPECT_EQ(fs[3].evidence("habitual"), "");
}

TEST(IamKeysHabit, HabitualIdentityAtAnUnusualHourIsInfoWithEvidence) {
  harness h(&th_module_entry_v1);
  for (int day = 0; day < 3; ++day)
    enumerate(h, night(day, 2), "Inventory", "s-" + std::to_string(day), kBoto);
  enumerate(h, night(3, 14), "Inventory", "s-3", kBoto);  // no schedule matches 14:10
  h.finish();
  auto fs = h.findings("access-key-enumeration");
  ASSERT_EQ(fs.size(), 4u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[1].severity, "info");
  EXPECT_EQ(fs[3].severity, "info");
  EXPECT_EQ(fs[3].evidence("recurringSchedule"), "");
  EXPECT_EQ(
      fs[3].evidence("habitual"),
      R"({"earlier_days":3,"first_seen":"2026-11-01T02:10:00Z","min_days":3,"lookback_days":30})");
  EXPECT_NE(fs[3].summary.find("3 earlier days"), std::string::npos) << fs[3].summary;
}

TEST(IamKeysHabit, HabitsCanBeTurnedOffAndOneBusyDayIsNoHabit) {
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.iam-keys.params]
habit_min_days = 0)");
    for (int day = 0; day < 5; ++day)
      enumerate(h, night(day, 2), "SecurityAuditScanner", prowler_session(day), kBoto);
    h.finish();
    EXPECT_EQ(h.count("access-key-enumeration"), 5u);
  }
  {
    harness h(&th_module_entry_v1);
    for (int hour = 1; hour < 5; ++hour)
      enumerate(h, night(0, hour), "Inventory", "s-" + std::to_string(hour), kBoto);
    enumerate(h, night(1, 14), "Inventory", "s-9", kBoto);
    h.finish();
    auto fs = h.findings("access-key-enumeration");
    ASSERT_EQ(fs.size(), 5u);
    EXPECT_EQ(fs[4].severity, "medium");  // one earlier day only, at another hour
    EXPECT_EQ(fs[4].evidence("habitual"), "");
  }
}

TEST(IamKeysHabit, HabitSurvivesRunsCorruptOrOlderStateHandled) {
  harness first(&th_module_entry_v1);
  for (int day = 0; day < 3; ++day)
    enumerate(first, night(day, 2), "Inventory", "s-" + std::to_string(day), kBoto);
  first.finish();
  const std::string bytes = first.snapshot("iam-keys");

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("iam-keys", bytes);
  EXPECT_EQ(second.snapshot("iam-keys"), bytes);
  enumerate(second, night(3, 14), "Inventory", "s-3", kBoto);
  second.finish();
  ASSERT_EQ(second.count("access-key-enumeration"), 1u);
  EXPECT_EQ(second.findings("access-key-enumeration")[0].severity, "info");
  EXPECT_NE(second.findings("access-key-enumeration")[0].evidence("habitual"), "");

  // A state written before habits existed (no habit section): keys, warm-up and episodes load,
  // habits start empty.
  const size_t habit_at = bytes.rfind("HABIT");
  ASSERT_NE(habit_at, std::string::npos);
  harness older(&th_module_entry_v1);
  older.start();
  older.restore("iam-keys", bytes.substr(0, habit_at));
  ASSERT_EQ(older.errors().size(), 1u);  // said so, not an error
  EXPECT_NE(older.errors()[0].find("older version"), std::string::npos) << older.errors()[0];
  enumerate(older, night(3, 14), "Inventory", "s-3", kBoto);
  older.finish();
  ASSERT_EQ(older.count("access-key-enumeration"), 1u);
  EXPECT_EQ(older.findings("access-key-enumeration")[0].severity, "medium");
  EXPECT_EQ(older.findings("access-key-enumeration")[0].evidence("habitual"), "");

  // Corrupt habit section (other version, truncated): refused as a whole, fresh start.
  std::string other = bytes;
  other[habit_at + 5] = '\x09';
  harness third(&th_module_entry_v1);
  third.start();
  EXPECT_THROW(third.restore("iam-keys", other), std::runtime_error);
  EXPECT_THROW(third.restore("iam-keys", bytes.substr(0, bytes.size() - 1)), std::runtime_error);
  EXPECT_THROW(third.restore("iam-keys", bytes + "x"), std::runtime_error);
  bool said_so = false;
  for (auto& m : third.errors()) said_so |= m.find("restore_state failed") != std::string::npos;
  EXPECT_TRUE(said_so);
  enumerate(third, night(3, 14), "Inventory", "s-3", kBoto);
  third.finish();
  ASSERT_EQ(third.count("access-key-enumeration"), 1u);
  EXPECT_EQ(third.findings("access-key-enumeration")[0].severity, "medium");
}

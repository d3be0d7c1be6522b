// SPDX-License-Identifier: Apache-2.0
// Unit tests of the detector helper headers trailhound/util.hpp and trailhound/policy.hpp.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <string>
#include <string_view>
#include <trailhound/policy.hpp>
#include <trailhound/sdk.hpp>
#include <trailhound/testing.hpp>
#include <trailhound/util.hpp>
#include <vector>

namespace util = trailhound::sdk::util;
namespace policy = trailhound::sdk::policy;
using util::match_case;

// ------------------------------------------------------------------------------------------
// Text
// ------------------------------------------------------------------------------------------
TEST(SdkUtilText, LowerEqualsTrimPrefixes) {
  EXPECT_EQ(util::to_lower("AdministratorAccess-Amplify 42"), "administratoraccess-amplify 42");
  EXPECT_TRUE(util::iequals("Allow", "aLLOW"));
  EXPECT_FALSE(util::iequals("Allow", "Allows"));
  EXPECT_FALSE(util::iequals("Allow", "Deny!"));
  EXPECT_EQ(util::trim(" \t10.0.0.0/8 \n"), "10.0.0.0/8");
  EXPECT_EQ(util::trim("   "), "");
  EXPECT_TRUE(util::starts_with_any("DescribeInstances", {"List", "Describe"}));
  EXPECT_FALSE(util::starts_with_any("describeInstances", {"List", "Describe"}));
  EXPECT_FALSE(util::starts_with_any("Get", {}));
}

TEST(SdkUtilText, JoinAndAddUnique) {
  EXPECT_EQ(util::join({}), "");
  EXPECT_EQ(util::join({"a"}), "a");
  EXPECT_EQ(util::join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(util::join({"a", "b"}, ";"), "a;b");

  std::vector<std::string> v;
  util::add_unique(v, "x");
  util::add_unique(v, "x");
  util::add_unique(v, "");  // empty strings count like any other
  EXPECT_EQ(v, (std::vector<std::string>{"x", ""}));
  util::add_unique(v, "y", 2);  // full at 2
  EXPECT_EQ(v.size(), 2u);
  util::add_unique(v, "y", 3);
  EXPECT_EQ(v.back(), "y");
}

TEST(SdkUtilText, JsonQuoteEscapes) {
  EXPECT_EQ(util::json_quote("plain"), "\"plain\"");
  EXPECT_EQ(util::json_quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
  EXPECT_EQ(util::json_quote(std::string_view("\x01", 1)), "\"\\u0001\"");
}

TEST(SdkUtilText, PercentDecode) {
  EXPECT_EQ(util::percent_decode("%7B%22Version%22%3A%222012-10-17%22%7D"),
            "{\"Version\":\"2012-10-17\"}");
  EXPECT_EQ(util::percent_decode("a+b%20c"), "a b c");
  EXPECT_EQ(util::percent_decode("%7b%7D"), "{}");  // either case of hex digit
  // Invalid or truncated escapes stay as they are.
  EXPECT_EQ(util::percent_decode("100%zz"), "100%zz");
  EXPECT_EQ(util::percent_decode("50%"), "50%");
  EXPECT_EQ(util::percent_decode("%4"), "%4");
  EXPECT_EQ(util::percent_decode("x%41"), "xA");
  EXPECT_EQ(util::percent_decode(""), "");
}

// ------------------------------------------------------------------------------------------
// Globs
// ------------------------------------------------------------------------------------------
TEST(SdkUtilGlob, CaseSensitiveAndInsensitive) {
  EXPECT_TRUE(util::glob_match("*admin*", "MyAdminGroup", match_case::insensitive));
  EXPECT_FALSE(util::glob_match("*admin*", "MyAdminGroup", match_case::sensitive));
  EXPECT_TRUE(util::glob_match("*Admin*", "MyAdminGroup", match_case::sensitive));
  EXPECT_TRUE(util::glob_match("arn:aws:iam::*:role/Deploy",
                               "arn:aws:iam::111122223333:role/Deploy", match_case::sensitive));
}

TEST(SdkUtilGlob, StarsAndQuestionMarks) {
  const auto mc = match_case::sensitive;
  EXPECT_TRUE(util::glob_match("", "", mc));
  EXPECT_FALSE(util::glob_match("", "a", mc));
  EXPECT_TRUE(util::glob_match("*", "", mc));
  EXPECT_TRUE(util::glob_match("**", "anything", mc));
  EXPECT_TRUE(util::glob_match("a?c", "abc", mc));
  EXPECT_FALSE(util::glob_match("a?c", "ac", mc));
  EXPECT_TRUE(util::glob_match("*trail*logs", "my-cloudtrail-bucket-logs", mc));
  EXPECT_FALSE(util::glob_match("*trail*logs", "my-cloudtrail-logs-old", mc));
  EXPECT_TRUE(util::glob_match("a*b*c", "aXbYbZc", mc));  // backtracking over the first '*'
  EXPECT_FALSE(util::glob_match("abc", "abcd", mc));      // whole text, not a prefix
}

TEST(SdkUtilGlob, FirstAndAny) {
  std::vector<std::string> pats{"*cloudtrail*", "*audit*"};
  const std::string* m = util::glob_first(pats, "Org-AUDIT-logs", match_case::insensitive);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(*m, "*audit*");
  EXPECT_EQ(util::glob_first(pats, "Org-AUDIT-logs", match_case::sensitive), nullptr);
  EXPECT_TRUE(util::glob_any(pats, "aws-cloudtrail-logs-1", match_case::sensitive));
  EXPECT_FALSE(util::glob_any(pats, "app-data", match_case::insensitive));
  EXPECT_FALSE(util::glob_any({}, "anything", match_case::insensitive));
}

// ------------------------------------------------------------------------------------------
// Accounts and ARNs
// ------------------------------------------------------------------------------------------
TEST(SdkUtilAccounts, AccountIds) {
  EXPECT_TRUE(util::is_account_id("111122223333"));
  EXPECT_FALSE(util::is_account_id("11112222333"));
  EXPECT_FALSE(util::is_account_id("1111222233334"));
  EXPECT_FALSE(util::is_account_id("11112222333a"));
  EXPECT_FALSE(util::is_account_id(""));
}

TEST(SdkUtilAccounts, ArnAccount) {
  EXPECT_EQ(util::arn_account("arn:aws:iam::111122223333:root"), "111122223333");
  EXPECT_EQ(util::arn_account("arn:aws-cn:cloudtrail:cn-north-1:444455556666:trail/t"),
            "444455556666");
  EXPECT_EQ(util::arn_account("arn:aws:s3:::bucket/key"), "");
  EXPECT_EQ(util::arn_account("arn:aws:iam::aws:policy/AdministratorAccess"), "aws");
  EXPECT_EQ(util::arn_account("arn:aws:iam::111122223333"), "");  // no field after the account
  EXPECT_EQ(util::arn_account("111122223333"), "");
  EXPECT_EQ(util::arn_account("ARN:aws:iam::111122223333:root"), "");
}

TEST(SdkUtilAccounts, PrincipalAccount) {
  EXPECT_EQ(util::principal_account("111122223333"), "111122223333");
  EXPECT_EQ(util::principal_account("arn:aws:iam::444455556666:role/Vendor"), "444455556666");
  EXPECT_EQ(util::principal_account("arn:aws:iam::aws:policy/AdministratorAccess"), "");
  EXPECT_EQ(util::principal_account("arn:aws:s3:::bucket"), "");
  EXPECT_EQ(util::principal_account("*"), "");
  EXPECT_EQ(util::principal_account("ec2.amazonaws.com"), "");
}

TEST(SdkUtilAccounts, RootArn) {
  EXPECT_EQ(util::root_arn("111122223333"), "arn:aws:iam::111122223333:root");
}

// ------------------------------------------------------------------------------------------
// Error codes
// ------------------------------------------------------------------------------------------
TEST(SdkUtilErrors, AccessDeniedExactCodes) {
  for (const char* c : {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                        "Client.UnauthorizedOperation", "AuthorizationError", "NotAuthorized",
                        "NotAuthorizedException", "ForbiddenException", "AccessDeniedFault"})
    EXPECT_TRUE(util::is_access_denied_code(c)) << c;
  for (const char* c : {"KMS.AccessDeniedException", "accessdenied", "ThrottlingException",
                        "InvalidClientTokenId", ""})
    EXPECT_FALSE(util::is_access_denied_code(c)) << c;
}

TEST(SdkUtilErrors, AccessDeniedLooseMatch) {
  for (const char* c : {"AccessDenied", "KMS.AccessDeniedException", "accessdenied",
                        "Client.UnauthorizedOperation", "OrgNotAuthorizedFault", "Forbidden"})
    EXPECT_TRUE(util::is_access_denied_like(c)) << c;
  for (const char* c : {"ThrottlingException", "InvalidClientTokenId", "NoSuchBucket", ""})
    EXPECT_FALSE(util::is_access_denied_like(c)) << c;
}

// ------------------------------------------------------------------------------------------
// CIDR ranges
// ------------------------------------------------------------------------------------------
TEST(SdkUtilCidr, ParsesV4AndV6) {
  util::cidr c = util::parse_cidr(" 10.1.2.0/24 ");
  ASSERT_TRUE(c.valid);
  EXPECT_FALSE(c.v6);
  EXPECT_EQ(c.prefix, 24);
  EXPECT_EQ(c.addr[0], 10);
  EXPECT_EQ(c.addr[2], 2);

  c = util::parse_cidr("203.0.113.7");
  ASSERT_TRUE(c.valid);
  EXPECT_EQ(c.prefix, 32);

  c = util::parse_cidr("2001:DB8::/32");
  ASSERT_TRUE(c.valid);
  EXPECT_TRUE(c.v6);
  EXPECT_EQ(c.prefix, 32);
  EXPECT_EQ(c.addr[0], 0x20);
  EXPECT_EQ(c.addr[1], 0x01);
  EXPECT_EQ(c.addr[2], 0x0d);
  EXPECT_EQ(c.addr[3], 0xb8);

  c = util::parse_cidr("::ffff:192.0.2.1");
  ASSERT_TRUE(c.valid);
  EXPECT_EQ(c.prefix, 128);
  EXPECT_EQ(c.addr[10], 0xff);
  EXPECT_EQ(c.addr[12], 192);
  EXPECT_EQ(c.addr[15], 1);

  EXPECT_TRUE(util::parse_cidr("::/0").valid);
  EXPECT_TRUE(util::parse_cidr("0.0.0.0/0").valid);
}

TEST(SdkUtilCidr, RejectsBadSyntax) {
  for (const char* t :
       {"", "256.0.0.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/33", "1.2.3.4/", "1.2.3.4/x",
        "::1::", "1:2:3:4:5:6:7:8:9", "12345::", "2001:db8::/129", "sg-0123", "0.0.0.0/0000"})
    EXPECT_FALSE(util::parse_cidr(t).valid) << t;
}

TEST(SdkUtilCidr, WithinAndPrivateRanges) {
  EXPECT_TRUE(util::cidr_within(util::parse_cidr("172.20.0.0/16"), {172, 16}, 12));
  EXPECT_FALSE(util::cidr_within(util::parse_cidr("172.0.0.0/8"), {172, 16}, 12));  // wider
  EXPECT_FALSE(util::cidr_within(util::parse_cidr("172.32.0.0/16"), {172, 16}, 12));

  for (const char* t :
       {"10.0.0.0/8", "10.1.2.3", "172.16.5.0/24", "192.168.1.0/24", "100.64.0.0/10", "127.0.0.1",
        "169.254.169.254", "fd00::/8", "fe80::1", "::1"})
    EXPECT_TRUE(util::is_private_range(util::parse_cidr(t))) << t;
  for (const char* t : {"0.0.0.0/0", "::/0", "8.8.8.8", "10.0.0.0/7", "100.128.0.0/16",
                        "203.0.113.0/24", "2001:db8::/32", "::1/127", "not-a-cidr"})
    EXPECT_FALSE(util::is_private_range(util::parse_cidr(t))) << t;
}

// ------------------------------------------------------------------------------------------
// Sliding window of distinct items
// ------------------------------------------------------------------------------------------
namespace {
constexpr int64_t kMin = 60 * 1000;

struct counted_state : util::distinct_state {
  int resets = 0;
  int64_t calls = 0;
  void on_reset() {
    ++resets;
    calls = 0;
  }
};
}  // namespace

TEST(SdkUtilWindow, CountsDistinctItemsWithinTheWindow) {
  util::distinct_window<> w(10 * kMin, 100);
  util::distinct_state* s = w.get("alice", 0);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(w.get("alice", 0), s);  // same key, same state
  EXPECT_TRUE(w.add(*s, "secret-a", 1 * kMin, "e1", "GetSecretValue"));
  EXPECT_TRUE(w.add(*s, "secret-a", 2 * kMin, "e2", "GetSecretValue"));  // not distinct
  EXPECT_TRUE(w.add(*s, "secret-b", 3 * kMin, "e3", "GetSecretValue"));
  EXPECT_FALSE(w.crossed(*s, 3));
  EXPECT_TRUE(w.add(*s, "secret-c", 4 * kMin, "e4", "GetSecretValue"));
  EXPECT_TRUE(w.crossed(*s, 3));
  EXPECT_EQ(w.live(*s), 3u);

  // 12 minutes later secret-a (last seen at 2 min) and secret-b (3 min) are out of the window.
  EXPECT_TRUE(w.add(*s, "secret-d", 13 * kMin + 1, "e5", "GetSecretValue"));
  EXPECT_EQ(w.live(*s), 2u);
  EXPECT_FALSE(w.crossed(*s, 3));
}

TEST(SdkUtilWindow, ToleratesDisorderButDropsEventsBeforeTheWindow) {
  util::distinct_window<> w(10 * kMin, 100);
  util::distinct_state& s = *w.get("k", 0);
  EXPECT_TRUE(w.add(s, "a", 30 * kMin, "e1", "X"));
  EXPECT_TRUE(w.add(s, "b", 25 * kMin, "e2", "X"));   // minutes late: counted
  EXPECT_FALSE(w.add(s, "c", 15 * kMin, "e3", "X"));  // before the window: ignored
  EXPECT_EQ(w.live(s), 2u);
  EXPECT_EQ(s.max_ms, 30 * kMin);
}

TEST(SdkUtilWindow, OneAlertPerWindowAndResetHook) {
  util::distinct_window<counted_state> w(10 * kMin, 100);
  counted_state& s = *w.get("k", 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w.add(s, "item" + std::to_string(i), i * kMin, "e" + std::to_string(i), "X"));
    ++s.calls;
  }
  ASSERT_TRUE(w.crossed(s, 3));
  w.reset_after_alert(s);
  EXPECT_EQ(s.resets, 1);
  EXPECT_EQ(s.calls, 0);
  EXPECT_TRUE(s.items.empty());
  EXPECT_TRUE(s.events.empty());
  EXPECT_FALSE(w.armed(s));
  // New items within the cooldown do not alert again ...
  for (int i = 3; i < 7; ++i) w.add(s, "item" + std::to_string(i), (i + 5) * kMin, "x", "X");
  EXPECT_FALSE(w.crossed(s, 3));
  // ... after it they do.
  w.add(s, "late", 13 * kMin, "y", "X");
  EXPECT_TRUE(w.armed(s));
  EXPECT_TRUE(w.crossed(s, 3));
}

TEST(SdkUtilWindow, BoundsKeysAndEvents) {
  util::distinct_window<> w(10 * kMin, 2, 3);
  ASSERT_NE(w.get("a", 0), nullptr);
  ASSERT_NE(w.get("b", 0), nullptr);
  util::distinct_state& a = *w.get("a", 0);
  w.add(a, "x", 1 * kMin, "e1", "X");
  w.add(*w.get("b", 0), "x", 1 * kMin, "e1", "X");
  EXPECT_EQ(w.get("c", 5 * kMin), nullptr);  // full, nothing idle yet
  // An hour later both keys are idle and past their cooldown: evicted to make room.
  EXPECT_NE(w.get("c", 60 * kMin), nullptr);

  util::distinct_state& c = *w.get("c", 60 * kMin);
  w.add(c, "i0", 60 * kMin, "ev0", "X");
  w.add(c, "i1", 60 * kMin, "ev0", "X");  // a second item of the same event: one reference
  EXPECT_EQ(c.events.size(), 1u);
  for (int i = 2; i < 8; ++i)
    w.add(c, "i" + std::to_string(i), 60 * kMin + i, "ev" + std::to_string(i), "X");
  EXPECT_EQ(c.events.size(), 3u);  // capped; the items are all counted
  EXPECT_EQ(c.items.size(), 8u);
}

TEST(SdkUtilWindow, FillsFindingEventsAndSortedItems) {
  using window = util::distinct_window<>;
  window w(10 * kMin, 10);
  util::distinct_state& s = *w.get("k", 0);
  w.add(s, "ssm:GetParameter", 2 * kMin, "e1", "GetParameter");
  w.add(s, "ec2:DescribeInstances", 1 * kMin, "e2", "DescribeInstances");
  w.add(s, "iam:ListUsers", 3 * kMin, "e3", "ListUsers");

  trailhound::sdk::finding f;
  f.with_event("current", "Current", 9 * kMin);
  window::fill_events(f, s, 2);
  EXPECT_EQ(f.event_ids, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(f.event_names, (std::vector<std::string>{"GetParameter", "DescribeInstances"}));
  EXPECT_EQ(f.first_seen_ms, 1 * kMin);
  EXPECT_EQ(f.last_seen_ms, 2 * kMin);

  EXPECT_EQ(
      window::sorted_items(s, 10),
      (std::vector<std::string>{"ec2:DescribeInstances", "iam:ListUsers", "ssm:GetParameter"}));
  EXPECT_EQ(window::sorted_items(s, 2).size(), 2u);
}

// ------------------------------------------------------------------------------------------
// Policy documents (policy.hpp)
// ------------------------------------------------------------------------------------------
TEST(SdkPolicy, NestingCheck) {
  EXPECT_TRUE(policy::nesting_ok(R"({"Statement":[{"Condition":{"StringEquals":{"k":["v"]}}}]})"));
  EXPECT_TRUE(policy::nesting_ok(std::string(32, '[') + std::string(32, ']')));
  EXPECT_FALSE(policy::nesting_ok(std::string(33, '[') + std::string(33, ']')));
  EXPECT_TRUE(policy::nesting_ok("[[[]]]", 3));
  EXPECT_FALSE(policy::nesting_ok("[[[[]]]]", 3));
  // Brackets inside strings (escaped quotes included) do not count.
  EXPECT_TRUE(policy::nesting_ok(R"({"a":"[[[[[\"[[[[["})", 1));
}

TEST(SdkPolicy, JsonViewMembersAndStrings) {
  rapidjson::Document d;
  d.Parse(R"({"statement":[{"EFFECT":"Allow","Action":"s3:GetObject","Resource":["a",1,"b"]},
              {"Effect":"Deny","Action":null},"not-an-object"],"Version":"2012-10-17"})");
  ASSERT_FALSE(d.HasParseError());
  policy::json_view doc(&d);
  EXPECT_TRUE(doc.is_object());
  EXPECT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc.member_name(1), "Version");
  EXPECT_EQ(doc.member_at(1).str(), "2012-10-17");
  EXPECT_FALSE(doc.member_at(2).exists());

  policy::json_view st = policy::member_ci(doc, "Statement");
  ASSERT_TRUE(st.is_array());
  std::vector<policy::json_view> stmts = st.elements();
  ASSERT_EQ(stmts.size(), 3u);
  EXPECT_EQ(policy::member_ci(stmts[0], "Effect").str(), "Allow");
  EXPECT_EQ(policy::strings_of(policy::member_ci(stmts[0], "Action")),
            (std::vector<std::string>{"s3:GetObject"}));
  EXPECT_EQ(policy::strings_of(policy::member_ci(stmts[0], "resource")),
            (std::vector<std::string>{"a", "b"}));  // non-strings skipped
  // A null member exists but has no elements; an absent one does not exist.
  EXPECT_TRUE(policy::member_ci(stmts[1], "Action").exists());
  EXPECT_TRUE(policy::member_ci(stmts[1], "Action").elements().empty());
  EXPECT_FALSE(policy::member_ci(stmts[1], "Principal").exists());
  EXPECT_FALSE(policy::member_ci(stmts[2], "Effect").exists());  // not an object
  EXPECT_EQ(policy::json_view().size(), 0u);
  EXPECT_EQ(policy::json_view().str(), "");
}

// ------------------------------------------------------------------------------------------
// Event helpers, through a probe detector run by the test harness
// ------------------------------------------------------------------------------------------
namespace {
using namespace trailhound::sdk;

class util_probe final : public detector {
 public:
  static const detector_info& info() {
    static const detector_info i{"sdk-util-probe",
                                 "1.0.0",
                                 "util.hpp probe",
                                 "Reports what the event helpers of util.hpp say about each event.",
                                 {{"*", "*"}},
                                 {},
                                 {{"probe", severity::info, "Probe", "T1078", "One per event."}}};
    return i;
  }
  util_probe(const context& ctx, const config&) : detector(ctx) {}
  void on_event(const event& e) override {
    finding f = make_finding("probe", e);
    f.ev.add("accountOf", util::account_of(e))
        .add("principalKey", util::principal_key(e))
        .add_bool("serviceActor", util::service_actor(e))
        .add_bool("breakGlassCaller", util::break_glass_caller(ctx(), e))
        .add_bool("adminCaller", util::admin_caller(ctx(), e))
        .add_bool("fromTrustedIp", util::from_trusted_ip(ctx(), e))
        .add("actions", policy::strings_of(policy::member_ci(e.request(), "action")));
    f.dedup_key = std::string(e.id());
    emit(f);
  }
};
}  // namespace

TRAILHOUND_MODULE("sdk-util-probe", "1.0.0", util_probe)

namespace {
using namespace trailhound::testing;

collected_finding probe(const std::string& record, std::string_view config = "") {
  harness h(&th_module_entry_v1);
  if (!config.empty()) h.config(config);
  h.feed(record);
  h.finish();
  EXPECT_EQ(h.count("probe"), 1u);
  return h.findings("probe").at(0);
}
}  // namespace

TEST(SdkUtilEvent, AccountOfPrefersTheRecipientAccount) {
  std::string user = records::iam_user("iam.amazonaws.com", "ListUsers");
  EXPECT_EQ(probe(user).evidence("accountOf"), "111122223333");
  EXPECT_EQ(
      probe(merge_json(user, R"({"recipientAccountId":"444455556666"})")).evidence("accountOf"),
      "444455556666");
  EXPECT_EQ(probe(merge_json(user, R"({"recipientAccountId":null,
                                       "userIdentity":{"accountId":"777788889999"}})"))
                .evidence("accountOf"),
            "777788889999");
}

TEST(SdkUtilEvent, PrincipalKeyFallsBackToPrincipalIdThenAccessKey) {
  std::string user = records::iam_user("iam.amazonaws.com", "ListUsers");
  EXPECT_EQ(probe(user).evidence("principalKey"), "arn:aws:iam::111122223333:user/alice");
  std::string no_arn = merge_json(user, R"({"userIdentity":{"arn":null}})");
  EXPECT_EQ(probe(no_arn).evidence("principalKey"), "AIDAEXAMPLEALICE00001");
  EXPECT_EQ(probe(merge_json(no_arn, R"({"userIdentity":{"principalId":null}})"))
                .evidence("principalKey"),
            "AKIAEXAMPLEALICE0001");
}

TEST(SdkUtilEvent, ServiceActor) {
  EXPECT_EQ(probe(records::aws_service("kms.amazonaws.com", "Decrypt")).evidence("serviceActor"),
            "true");
  std::string user = records::iam_user("s3.amazonaws.com", "GetObject");
  EXPECT_EQ(probe(user).evidence("serviceActor"), "false");
  // A human's call made through a service (invokedBy) is the service's.
  EXPECT_EQ(
      probe(merge_json(user, R"({"userIdentity":{"invokedBy":"cloudformation.amazonaws.com"}})"))
          .evidence("serviceActor"),
      "true");
}

TEST(SdkUtilEvent, CallerClassesUseTheRoleOfASession) {
  std::string role = records::assumed_role("iam.amazonaws.com", "CreateUser");
  collected_finding plain = probe(role);
  EXPECT_EQ(plain.evidence("breakGlassCaller"), "false");
  EXPECT_EQ(plain.evidence("adminCaller"), "false");
  EXPECT_EQ(plain.evidence("fromTrustedIp"), "false");  // trusted_cidrs not configured

  collected_finding configured = probe(role, R"(break_glass_principals = ["*:role/Deploy"]
admin_principals = ["arn:aws:sts::111122223333:assumed-role/Deploy/*"]
trusted_cidrs = ["203.0.113.0/24"])");
  EXPECT_EQ(configured.evidence("breakGlassCaller"), "true");  // through the session's role
  EXPECT_EQ(configured.evidence("adminCaller"), "true");       // through the session ARN
  EXPECT_EQ(configured.evidence("fromTrustedIp"), "true");     // 203.0.113.40

  collected_finding other = probe(records::iam_user("iam.amazonaws.com", "CreateUser"),
                                  R"(break_glass_principals = ["*:role/Deploy"]
trusted_cidrs = ["203.0.113.0/24"])");
  EXPECT_EQ(other.evidence("breakGlassCaller"), "false");
  EXPECT_EQ(other.evidence("fromTrustedIp"), "false");  // 198.51.100.10
}

TEST(SdkUtilEvent, PolicyHelpersReadSdkValues) {
  std::string rec = merge_json(records::iam_user("iam.amazonaws.com", "SimulateCustomPolicy"),
                               R"({"requestParameters":{"ACTION":["iam:PassRole",7,"sts:*"]}})");
  EXPECT_EQ(probe(rec).evidence("actions"), R"(["iam:PassRole","sts:*"])");
  std::string single = merge_json(records::iam_user("iam.amazonaws.com", "SimulateCustomPolicy"),
                                  R"({"requestParameters":{"Action":"s3:*"}})");
  EXPECT_EQ(probe(single).evidence("actions"), R"(["s3:*"])");
}

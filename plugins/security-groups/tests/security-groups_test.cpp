// SPDX-License-Identifier: Apache-2.0
// Tests of the security-groups detector family: positives and benign look-alikes per rule.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

int g_seq = 0;

// A record of `name` by IAM user alice with the given requestParameters/responseElements and an
// extra patch (eventTime, errorCode, userIdentity...). Every record gets its own eventID.
std::string rec(std::string_view name, std::string_view request, std::string_view response = "null",
                std::string_view extra = "{}", std::string_view base = "") {
  std::string b = base.empty() ? records::iam_user("ec2.amazonaws.com", name) : std::string(base);
  b = merge_json(b, R"({"requestParameters":null,"responseElements":null})");
  std::string patch = std::string(R"({"requestParameters":)") + std::string(request) +
                      R"(,"responseElements":)" + std::string(response) +
                      R"(,"eventID":"sg-test-)" + std::to_string(++g_seq) + R"("})";
  return merge_json(merge_json(b, patch), extra);
}

std::string at(std::string_view t) {
  return std::string(R"({"eventTime":")") + std::string(t) + "\"}";
}

// AuthorizeSecurityGroupIngress with one ipPermissions item.
std::string ingress(std::string_view proto, int from, int to, std::string_view cidr,
                    std::string_view extra = "{}", std::string_view group = "sg-0a1b2c3d") {
  bool v6 = cidr.find(':') != std::string_view::npos;
  std::string range = v6 ? std::string(R"("ipRanges":{},"ipv6Ranges":{"items":[{"cidrIpv6":")") +
                               std::string(cidr) + R"("}]})"
                         : std::string(R"("ipRanges":{"items":[{"cidrIp":")") + std::string(cidr) +
                               R"("}]},"ipv6Ranges":{})";
  std::string req = std::string(R"({"groupId":")") + std::string(group) +
                    R"(","ipPermissions":{"items":[{"ipProtocol":")" + std::string(proto) +
                    R"(","fromPort":)" + std::to_string(from) + R"(,"toPort":)" +
                    std::to_string(to) + R"(,"groups":{},)" + range + R"(,"prefixListIds":{}}]}})";
  return rec("AuthorizeSecurityGroupIngress", req, R"({"_return":true})", extra);
}

const char* kParams = "[detectors.security-groups.params]\n";

}  // namespace

// ------------------------------------------------------------------------------------------
// security-group-ingress-world-open
// ------------------------------------------------------------------------------------------
TEST(SecurityGroups, WorldOpenSshIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("groupId"), "sg-0a1b2c3d");
  std::string x = f.evidence("exposures");
  EXPECT_NE(x.find("\"0.0.0.0/0\""), std::string::npos) << x;
  EXPECT_NE(x.find("admin-port"), std::string::npos) << x;
  EXPECT_NE(x.find("22"), std::string::npos) << x;
  EXPECT_EQ(f.event_names.at(0), "AuthorizeSecurityGroupIngress");
  EXPECT_EQ(h.count("security-group-ingress-untrusted-cidr"), 0u);
}

TEST(SecurityGroups, AllTrafficWorldOpenIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("-1", -1, -1, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_NE(f.evidence("exposures").find("all-ports"), std::string::npos);
}

TEST(SecurityGroups, TcpFullPortRangeIsAllPorts) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 0, 65535, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "critical");
}

TEST(SecurityGroups, Ipv6WorldOpenDatabasePortIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 5432, 5432, "::/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("database-port"), std::string::npos);
  EXPECT_NE(f.evidence("exposures").find("::/0"), std::string::npos);
}

TEST(SecurityGroups, ItemsAsSingleObjectAreRead) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-single","ipPermissions":{"items":{"ipProtocol":"tcp","fromPort":3389,
                 "toPort":3389,"ipRanges":{"items":{"cidrIp":"0.0.0.0/0"}}}}})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("groupId"), "sg-single");
  EXPECT_NE(f.evidence("exposures").find("3389"), std::string::npos);
}

TEST(SecurityGroups, OldStyleTopLevelCidrIpIsRead) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupName":"legacy-web","ipProtocol":"tcp","fromPort":22,"toPort":22,
                 "cidrIp":"0.0.0.0/0"})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("groupName"), "legacy-web");
}

TEST(SecurityGroups, PortsAsStringsAreRead) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-str","ipPermissions":{"items":[{"ipProtocol":"6","fromPort":"27017",
                 "toPort":"27017","ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "high");
}

TEST(SecurityGroups, ResponseRuleSetIsUsedWhenRequestHasNoCidr) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress", R"({"groupId":"sg-resp"})",
             R"({"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-resp",
                 "securityGroupRuleId":"sgr-1","isEgress":false,"ipProtocol":"tcp","fromPort":6379,
                 "toPort":6379,"cidrIpv4":"0.0.0.0/0"}]}})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("sgr-1"), std::string::npos);
}

TEST(SecurityGroups, MultiplePermissionsTakeHighestSeverity) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-multi","ipPermissions":{"items":[
                 {"ipProtocol":"tcp","fromPort":443,"toPort":443,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}},
                 {"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("web-port"), std::string::npos);
  EXPECT_NE(f.evidence("exposures").find("admin-port"), std::string::npos);
}

TEST(SecurityGroups, OtherPortWorldOpenIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 8080, 8080, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "medium");
}

TEST(SecurityGroups, RangeCoveringSshIsAdmin) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 20, 25, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("\"sensitivePorts\":[22,23]"), std::string::npos)
      << f.evidence("exposures");
}

TEST(SecurityGroups, WidePortRangeIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("udp", 30000, 40000, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("wide-port-range"), std::string::npos);
}

TEST(SecurityGroups, HalfInternetCidrCountsAsWorld) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/1"));
  h.feed(ingress("tcp", 22, 22, "128.0.0.0/1"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 2u);
  for (auto& f : h.findings("security-group-ingress-world-open")) EXPECT_EQ(f.severity, "high");
}

TEST(SecurityGroups, VeryWidePublicRangeFiresOneStepLower) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "52.0.0.0/8"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("exposures").find("very-wide-public-range"), std::string::npos);
}

TEST(SecurityGroups, WideIpv4PrefixParamIsHonoured) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "wide_ipv4_prefix = 12\n");
  h.feed(ingress("tcp", 22, 22, "52.16.0.0/12"));
  h.finish();
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 1u);
}

// Benign look-alikes -----------------------------------------------------------------------
TEST(SecurityGroups, WebPortWorldOpenIsInfoOnly) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 443, 443, "0.0.0.0/0"));
  h.feed(ingress("tcp", 80, 80, "::/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 2u);
  for (auto& f : h.findings("security-group-ingress-world-open")) EXPECT_EQ(f.severity, "info");
}

TEST(SecurityGroups, WebSeverityNoneSilencesWebPorts) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "world_open_web_severity = \"none\"\n");
  h.feed(ingress("tcp", 443, 443, "0.0.0.0/0"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "high");
}

TEST(SecurityGroups, InvalidWebSeverityIsAConfigError) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "world_open_web_severity = \"loud\"\n");
  EXPECT_THROW(h.start(), std::runtime_error);
}

TEST(SecurityGroups, InvalidPortListIsAConfigError) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "admin_ports = [\"ssh\"]\n");
  EXPECT_THROW(h.start(), std::runtime_error);
}

TEST(SecurityGroups, CustomAdminPorts) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "admin_ports = [\"2222\"]\n");
  h.feed(ingress("tcp", 2222, 2222, "0.0.0.0/0"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0"));
  h.finish();
  auto fs = h.findings("security-group-ingress-world-open");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[1].severity, "medium");  // 22 is no longer an admin port
}

TEST(SecurityGroups, PrivateRangesNeverFire) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "10.0.0.0/8"));
  h.feed(ingress("-1", -1, -1, "172.16.0.0/12"));
  h.feed(ingress("tcp", 3389, 3389, "192.168.10.0/24"));
  h.feed(ingress("tcp", 5432, 5432, "100.64.0.0/10"));
  h.feed(ingress("tcp", 22, 22, "fd00::/8"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, PrivateRangesNeverFireEvenWithTrustedCidrs) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"203.0.113.0/24\"]\n");
  h.feed(ingress("tcp", 22, 22, "10.20.0.0/16"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, OfficeSshWithoutTrustedCidrsIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "203.0.113.10/32"));
  h.feed(ingress("tcp", 22, 22, "198.51.100.0/24"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, SecurityGroupReferenceDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-app","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":5432,
                 "toPort":5432,"groups":{"items":[{"groupId":"sg-alb","userId":"111122223333"}]},
                 "ipRanges":{},"ipv6Ranges":{},"prefixListIds":{}}]}})"));
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-app","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,
                 "toPort":443,"prefixListIds":{"items":[{"prefixListId":"pl-3b927c52"}]}}]}})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, FailedCallsDoNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0",
                 R"({"errorCode":"Client.UnauthorizedOperation","errorMessage":"denied"})"));
  h.feed(
      ingress("tcp", 22, 22, "0.0.0.0/0",
              R"({"errorCode":"Client.DryRunOperation","errorMessage":"would have succeeded"})"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0",
                 R"({"errorCode":"Client.InvalidPermission.Duplicate","errorMessage":"exists"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, AwsServiceDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-svc","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,
                 "toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})",
             "null", "{}",
             records::aws_service("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, CloudFormationInvokedDoesNotFire) {
  harness h(&th_module_entry_v1);
  std::string base =
      merge_json(records::assumed_role("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
                 R"({"userIdentity":{"invokedBy":"cloudformation.amazonaws.com"},
                                    "sourceIPAddress":"cloudformation.amazonaws.com"})");
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-cfn","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,
                 "toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})",
             "null", "{}", base));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, IcmpWorldOpenDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("icmp", 8, -1, "0.0.0.0/0"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// security-group-ingress-untrusted-cidr
// ------------------------------------------------------------------------------------------
TEST(SecurityGroups, UntrustedPublicCidrFiresWithTrustedCidrs) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"203.0.113.0/24\"]\n");
  h.feed(ingress("tcp", 22, 22, "198.51.100.7/32"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-untrusted-cidr"), 1u);
  auto f = h.findings("security-group-ingress-untrusted-cidr")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("exposures").find("198.51.100.7/32"), std::string::npos);
  EXPECT_NE(f.evidence("exposures").find("outside-trusted-cidrs"), std::string::npos);
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 0u);
}

TEST(SecurityGroups, UntrustedOtherPortIsLowAndWebIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"203.0.113.0/24\"]\n");
  h.feed(ingress("tcp", 8443, 8443, "198.51.100.7/32"));
  h.feed(ingress("tcp", 443, 443, "198.51.100.7/32"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-untrusted-cidr"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-untrusted-cidr")[0].severity, "low");
}

TEST(SecurityGroups, OfficeSshFromTrustedCidrIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"203.0.113.0/24\"]\n");
  h.feed(ingress("tcp", 22, 22, "203.0.113.10/32"));
  h.feed(ingress("tcp", 22, 22, "203.0.113.0/24"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, TrustedWideRangeIsQuiet) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"52.0.0.0/8\"]\n");
  h.feed(ingress("tcp", 22, 22, "52.0.0.0/8"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, WorldOpenStillFiresWithTrustedCidrs) {
  harness h(&th_module_entry_v1);
  h.config("trusted_cidrs = [\"203.0.113.0/24\"]\n");
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0"));
  h.finish();
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.count("security-group-ingress-untrusted-cidr"), 0u);
}

// ------------------------------------------------------------------------------------------
// ModifySecurityGroupRules
// ------------------------------------------------------------------------------------------
namespace {
std::string modify(std::string_view rule_id, std::string_view spec, std::string_view extra = "{}") {
  std::string req = std::string(R"({"ModifySecurityGroupRulesRequest":{"GroupId":"sg-mod",)") +
                    R"("SecurityGroupRule":{"SecurityGroupRuleId":")" + std::string(rule_id) +
                    R"(","tag":1,"SecurityGroupRule":)" + std::string(spec) + "}}}";
  return rec("ModifySecurityGroupRules", req,
             R"({"ModifySecurityGroupRulesResponse":{"return":true}})", extra);
}
}  // namespace

TEST(SecurityGroups, ModifyRuleToWorldOpenSshFires) {
  harness h(&th_module_entry_v1);
  h.feed(modify("sgr-0d28445c956a5d8ac",
                R"({"CidrIpv4":"0.0.0.0/0","FromPort":22,"ToPort":22,"IpProtocol":"tcp"})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("groupId"), "sg-mod");
  EXPECT_NE(f.evidence("exposures").find("sgr-0d28445c956a5d8ac"), std::string::npos);
  EXPECT_FALSE(f.evidence("ruleDirection").empty());
  EXPECT_EQ(f.event_names.at(0), "ModifySecurityGroupRules");
}

TEST(SecurityGroups, ModifyRuleIpv6AndListShape) {
  harness h(&th_module_entry_v1);
  h.feed(rec("ModifySecurityGroupRules",
             R"({"ModifySecurityGroupRulesRequest":{"GroupId":"sg-mod","SecurityGroupRule":[
                 {"SecurityGroupRuleId":"sgr-a","tag":1,"SecurityGroupRule":{"CidrIpv6":"::/0",
                  "FromPort":"3306","ToPort":"3306","IpProtocol":"tcp"}},
                 {"SecurityGroupRuleId":"sgr-b","tag":2,"SecurityGroupRule":{"ReferencedGroupId":"sg-x",
                  "FromPort":22,"ToPort":22,"IpProtocol":"tcp"}}]}})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("exposures").find("sgr-a"), std::string::npos);
  EXPECT_EQ(f.evidence("exposures").find("sgr-b"), std::string::npos);
}

TEST(SecurityGroups, ModifyKnownEgressRuleDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupEgress",
             R"({"groupId":"sg-mod","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,
                 "toPort":443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}})",
             R"({"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-mod",
                 "securityGroupRuleId":"sgr-egress1","isEgress":true,"ipProtocol":"tcp",
                 "fromPort":443,"toPort":443,"cidrIpv4":"10.0.0.0/8"}]}})"));
  h.feed(modify("sgr-egress1",
                R"({"CidrIpv4":"0.0.0.0/0","FromPort":443,"ToPort":443,"IpProtocol":"tcp"})",
                at("2026-11-20T10:10:00Z")));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, EgressRuleLearnedFromCloudFormationIsIgnored) {
  harness h(&th_module_entry_v1);
  std::string cfn =
      merge_json(records::assumed_role("ec2.amazonaws.com", "AuthorizeSecurityGroupEgress"),
                 R"({"userIdentity":{"invokedBy":"cloudformation.amazonaws.com"},
          "sourceIPAddress":"cloudformation.amazonaws.com"})");
  h.feed(rec("AuthorizeSecurityGroupEgress",
             R"({"groupId":"sg-mod","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":443,
                 "toPort":443,"ipRanges":{"items":[{"cidrIp":"10.0.0.0/8"}]}}]}})",
             R"({"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-mod",
                 "securityGroupRuleId":"sgr-cfn-egress","isEgress":true,"ipProtocol":"tcp",
                 "fromPort":443,"toPort":443,"cidrIpv4":"10.0.0.0/8"}]}})",
             "{}", cfn));
  h.feed(modify("sgr-cfn-egress",
                R"({"CidrIpv4":"0.0.0.0/0","FromPort":443,"ToPort":443,"IpProtocol":"tcp"})",
                at("2026-11-20T10:10:00Z")));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, ModifyKnownIngressRuleHasNoDirectionCaveat) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-mod","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,
                 "toPort":22,"ipRanges":{"items":[{"cidrIp":"10.1.0.0/16"}]}}]}})",
             R"({"_return":true,"securityGroupRuleSet":{"items":[{"groupId":"sg-mod",
                 "securityGroupRuleId":"sgr-in1","isEgress":false,"ipProtocol":"tcp",
                 "fromPort":22,"toPort":22,"cidrIpv4":"10.1.0.0/16"}]}})"));
  h.feed(modify("sgr-in1",
                R"({"CidrIpv4":"0.0.0.0/0","FromPort":22,"ToPort":22,"IpProtocol":"tcp"})",
                at("2026-11-20T10:10:00Z")));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_TRUE(f.evidence("ruleDirection").empty());
}

TEST(SecurityGroups, ModifyUnknownRuleToDefaultEgressShapeIsLowered) {
  harness h(&th_module_entry_v1);
  h.feed(modify("sgr-unknown", R"({"CidrIpv4":"0.0.0.0/0","IpProtocol":"-1"})"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "high");
}

TEST(SecurityGroups, ModifyRuleToPrivateCidrIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(modify("sgr-1",
                R"({"CidrIpv4":"10.0.0.0/16","FromPort":22,"ToPort":22,"IpProtocol":"tcp"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// security-group-created-and-opened
// ------------------------------------------------------------------------------------------
namespace {
std::string create_group(std::string_view gid, std::string_view time) {
  std::string req = R"({"groupName":"temp-access","groupDescription":"tmp","vpcId":"vpc-0abc"})";
  std::string resp = std::string(R"({"_return":true,"groupId":")") + std::string(gid) + "\"}";
  return rec("CreateSecurityGroup", req, resp, at(time));
}
}  // namespace

TEST(SecurityGroups, CreatedThenOpenedWithinWindowIsRaised) {
  harness h(&th_module_entry_v1);
  h.feed(create_group("sg-new1", "2026-11-20T10:00:00Z"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0", at("2026-11-20T10:02:00Z"), "sg-new1"));
  h.finish();
  ASSERT_EQ(h.count("security-group-created-and-opened"), 1u);
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 0u);  // superseded
  auto f = h.findings("security-group-created-and-opened")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("groupId"), "sg-new1");
  EXPECT_EQ(f.evidence("groupName"), "temp-access");
  EXPECT_EQ(f.evidence("secondsAfterCreation"), "120");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "CreateSecurityGroup");
  EXPECT_EQ(f.event_names[1], "AuthorizeSecurityGroupIngress");
}

TEST(SecurityGroups, CreatedAndOpenedSeenOutOfOrder) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 3389, 3389, "0.0.0.0/0", at("2026-11-20T10:01:00Z"), "sg-new2"));
  h.feed(create_group("sg-new2", "2026-11-20T10:00:30Z"));
  h.finish();
  // the same findings as in the forward order: the plain one is superseded
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 0u);
  ASSERT_EQ(h.count("security-group-created-and-opened"), 1u);
  auto f = h.findings("security-group-created-and-opened")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("groupId"), "sg-new2");
}

TEST(SecurityGroups, OutOfOrderNewGroupKeepsItsWebFindingOnly) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0", at("2026-11-20T10:01:00Z"), "sg-new3"));
  h.feed(ingress("tcp", 443, 443, "0.0.0.0/0", at("2026-11-20T10:01:05Z"), "sg-new3"));
  h.feed(create_group("sg-new3", "2026-11-20T10:00:30Z"));
  h.finish();
  EXPECT_EQ(h.count("security-group-created-and-opened"), 1u);
  auto fs = h.findings("security-group-ingress-world-open");
  ASSERT_EQ(fs.size(), 1u);  // 443: reported as in the forward order (info)
  EXPECT_NE(fs[0].evidence("exposures").find("443"), std::string::npos);
}

TEST(SecurityGroups, OpeningOfAGroupNeverCreatedInTheLogsIsReleasedAfterTheHold) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0", at("2026-11-20T10:00:00Z"), "sg-old2"));
  // event time moves on: released before the end of input
  h.feed(ingress("tcp", 443, 443, "10.0.0.0/8", at("2026-11-20T10:20:00Z"), "sg-other"));
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 1u);
  h.finish();
  EXPECT_EQ(h.count("security-group-created-and-opened"), 0u);
}

TEST(SecurityGroups, OpenedLongAfterCreationIsPlainFinding) {
  harness h(&th_module_entry_v1);
  h.feed(create_group("sg-old", "2026-11-20T08:00:00Z"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0", at("2026-11-20T10:00:00Z"), "sg-old"));
  h.finish();
  EXPECT_EQ(h.count("security-group-created-and-opened"), 0u);
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 1u);
}

TEST(SecurityGroups, NewWebGroupOpenedOn443IsNotRaised) {
  harness h(&th_module_entry_v1);
  h.feed(create_group("sg-alb", "2026-11-20T10:00:00Z"));
  h.feed(ingress("tcp", 443, 443, "0.0.0.0/0", at("2026-11-20T10:00:05Z"), "sg-alb"));
  h.finish();
  EXPECT_EQ(h.count("security-group-created-and-opened"), 0u);
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "info");
}

TEST(SecurityGroups, NewGroupWithPrivateRulesIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(create_group("sg-priv", "2026-11-20T10:00:00Z"));
  h.feed(ingress("tcp", 22, 22, "10.0.0.0/16", at("2026-11-20T10:00:05Z"), "sg-priv"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, WindowParamIsHonoured) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "window = \"5m\"\n");
  h.feed(create_group("sg-w", "2026-11-20T10:00:00Z"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0", at("2026-11-20T10:20:00Z"), "sg-w"));
  h.finish();
  EXPECT_EQ(h.count("security-group-created-and-opened"), 0u);
  EXPECT_EQ(h.count("security-group-ingress-world-open"), 1u);
}

// ------------------------------------------------------------------------------------------
// Egress
// ------------------------------------------------------------------------------------------
namespace {
std::string egress(std::string_view name, std::string_view proto, int from, int to,
                   std::string_view cidr, std::string_view time) {
  std::string req = std::string(R"({"groupId":"sg-eg","ipPermissions":{"items":[{"ipProtocol":")") +
                    std::string(proto) + R"(","fromPort":)" + std::to_string(from) +
                    R"(,"toPort":)" + std::to_string(to) + R"(,"ipRanges":{"items":[{"cidrIp":")" +
                    std::string(cidr) + R"("}]}}]}})";
  return rec(name, req, R"({"_return":true})", at(time));
}
}  // namespace

TEST(SecurityGroups, RevokingDefaultEgressIsHardening) {
  harness h(&th_module_entry_v1);
  // Terraform's pattern for every new group: revoke the default, then add the declared rule.
  h.feed(egress("RevokeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T10:00:00Z"));
  h.feed(egress("AuthorizeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T10:00:02Z"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, RevokingRestrictiveEgressIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T10:00:00Z"));
  h.finish();
  ASSERT_EQ(h.count("security-group-egress-revoked"), 1u);
  auto f = h.findings("security-group-egress-revoked")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("groupId"), "sg-eg");
  EXPECT_NE(f.evidence("revokedRules").find("10.50.0.0/16"), std::string::npos);
}

TEST(SecurityGroups, RestrictiveEgressReplacedWithAllowAll) {
  harness h(&th_module_entry_v1);
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T10:00:00Z"));
  h.feed(egress("AuthorizeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T10:03:00Z"));
  h.finish();
  ASSERT_EQ(h.count("security-group-egress-restrictions-replaced"), 1u);
  auto f = h.findings("security-group-egress-restrictions-replaced")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("allowedCidr"), "0.0.0.0/0");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "RevokeSecurityGroupEgress");
}

TEST(SecurityGroups, AllowAllReadBeforeTheRevokeStillFires) {
  harness h(&th_module_entry_v1);
  // one file, records unordered: the allow-all comes first
  h.feed(egress("AuthorizeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T10:03:00Z"));
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T10:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("security-group-egress-revoked"), 1u);
  ASSERT_EQ(h.count("security-group-egress-restrictions-replaced"), 1u);
  auto f = h.findings("security-group-egress-restrictions-replaced")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("allowedCidr"), "0.0.0.0/0");
  ASSERT_EQ(f.event_names.size(), 2u);
  EXPECT_EQ(f.event_names[0], "RevokeSecurityGroupEgress");
  EXPECT_EQ(f.event_names[1], "AuthorizeSecurityGroupEgress");
  EXPECT_NE(f.evidence("revokedRules").find("10.50.0.0/16"), std::string::npos);
}

TEST(SecurityGroups, AllowAllLongBeforeTheRevokeIsQuietInEitherReadOrder) {
  harness h(&th_module_entry_v1);
  // the group was created with allow-all (Terraform) half an hour before restrictions went
  h.feed(egress("AuthorizeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T09:30:00Z"));
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T10:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("security-group-egress-restrictions-replaced"), 0u);
}

TEST(SecurityGroups, AllowAllEgressLongAfterRevokeIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T08:00:00Z"));
  h.feed(egress("AuthorizeSecurityGroupEgress", "-1", -1, -1, "0.0.0.0/0", "2026-11-20T10:00:00Z"));
  h.finish();
  EXPECT_EQ(h.count("security-group-egress-restrictions-replaced"), 0u);
}

TEST(SecurityGroups, RestrictedEgressAfterRevokeIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(
      egress("RevokeSecurityGroupEgress", "tcp", 443, 443, "10.50.0.0/16", "2026-11-20T10:00:00Z"));
  h.feed(egress("AuthorizeSecurityGroupEgress", "tcp", 443, 443, "10.60.0.0/16",
                "2026-11-20T10:01:00Z"));
  h.finish();
  EXPECT_EQ(h.count("security-group-egress-restrictions-replaced"), 0u);
}

// ------------------------------------------------------------------------------------------
// network-acl-world-open-ingress
// ------------------------------------------------------------------------------------------
namespace {
std::string nacl(std::string_view name, std::string_view proto, std::string_view range,
                 std::string_view cidr_field, std::string_view cidr, bool egress_flag = false,
                 std::string_view action = "allow") {
  std::string req = std::string(R"({"networkAclId":"acl-0f1e","ruleNumber":100,"egress":)") +
                    (egress_flag ? "true" : "false") + R"(,"ruleAction":")" + std::string(action) +
                    R"(","icmpTypeCode":{},"portRange":)" + std::string(range) +
                    R"(,"aclProtocol":")" + std::string(proto) + R"(",")" +
                    std::string(cidr_field) + R"(":")" + std::string(cidr) + R"("})";
  return rec(name, req, R"({"_return":true})");
}
}  // namespace

TEST(SecurityGroups, NaclSshFromWorldIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(nacl("CreateNetworkAclEntry", "6", R"({"from":22,"to":22})", "cidrBlock", "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("network-acl-world-open-ingress"), 1u);
  auto f = h.findings("network-acl-world-open-ingress")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("networkAclId"), "acl-0f1e");
  EXPECT_EQ(f.evidence("ruleNumber"), "100");
  EXPECT_EQ(f.evidence("cidr"), "0.0.0.0/0");
  EXPECT_EQ(f.evidence("exposure"), "admin-port");
}

TEST(SecurityGroups, NaclAllTrafficCreateIsLowReplaceIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(nacl("CreateNetworkAclEntry", "-1", "{}", "cidrBlock", "0.0.0.0/0"));
  h.feed(nacl("ReplaceNetworkAclEntry", "-1", "{}", "cidrBlock", "0.0.0.0/0"));
  h.finish();
  auto fs = h.findings("network-acl-world-open-ingress");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[1].severity, "medium");
}

TEST(SecurityGroups, NaclIpv6DatabasePortIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(nacl("CreateNetworkAclEntry", "6", R"({"from":3306,"to":3306})", "ipv6CidrBlock", "::/0"));
  h.finish();
  ASSERT_EQ(h.count("network-acl-world-open-ingress"), 1u);
  EXPECT_EQ(h.findings("network-acl-world-open-ingress")[0].severity, "medium");
}

TEST(SecurityGroups, NaclBenignEntriesAreQuiet) {
  harness h(&th_module_entry_v1);
  // Ephemeral return traffic for a public subnet.
  h.feed(
      nacl("CreateNetworkAclEntry", "6", R"({"from":1024,"to":65535})", "cidrBlock", "0.0.0.0/0"));
  h.feed(nacl("CreateNetworkAclEntry", "17", R"({"from":32768,"to":65535})", "cidrBlock",
              "0.0.0.0/0"));
  // Web traffic.
  h.feed(nacl("CreateNetworkAclEntry", "6", R"({"from":443,"to":443})", "cidrBlock", "0.0.0.0/0"));
  // Egress, deny, private source.
  h.feed(nacl("CreateNetworkAclEntry", "-1", "{}", "cidrBlock", "0.0.0.0/0", true));
  h.feed(nacl("CreateNetworkAclEntry", "6", R"({"from":22,"to":22})", "cidrBlock", "0.0.0.0/0",
              false, "deny"));
  h.feed(nacl("CreateNetworkAclEntry", "6", R"({"from":22,"to":22})", "cidrBlock", "10.0.0.0/16"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, NaclFailedCallIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(merge_json(
      nacl("CreateNetworkAclEntry", "6", R"({"from":22,"to":22})", "cidrBlock", "0.0.0.0/0"),
      R"({"errorCode":"Client.NetworkAclEntryAlreadyExists","errorMessage":"exists"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}
// ------------------------------------------------------------------------------------------
// Break-glass principals: lower by one step, never silence
// ------------------------------------------------------------------------------------------
TEST(SecurityGroups, BreakGlassLowersSeverity) {
  harness h(&th_module_entry_v1);
  h.config("break_glass_principals = [\"arn:aws:iam::111122223333:user/alice\"]\n");
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/0"));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  auto f = h.findings("security-group-ingress-world-open")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("breakGlass"), "true");
}

TEST(SecurityGroups, BreakGlassRoleSessionLowersSeverity) {
  harness h(&th_module_entry_v1);
  h.config("break_glass_principals = [\"arn:aws:iam::111122223333:role/Deploy\"]\n");
  h.feed(rec("AuthorizeSecurityGroupIngress",
             R"({"groupId":"sg-bg","ipPermissions":{"items":[{"ipProtocol":"-1",
                 "ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}})",
             "null", "{}",
             records::assumed_role("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress")));
  h.finish();
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "high");
}

// ------------------------------------------------------------------------------------------
// Robustness: malformed shapes neither crash, nor raise errors, nor fire
// ------------------------------------------------------------------------------------------
TEST(SecurityGroups, MalformedRequestsAreIgnored) {
  harness h(&th_module_entry_v1);
  h.feed(rec("AuthorizeSecurityGroupIngress", R"("just a string")"));
  h.feed(rec("AuthorizeSecurityGroupIngress", R"({"groupId":"sg-x","ipPermissions":"tcp/22"})"));
  h.feed(rec("AuthorizeSecurityGroupIngress", R"({"groupId":"sg-x","ipPermissions":{"items":7}})"));
  h.feed(ingress("tcp", 22, 22, "0.0.0.0/99"));
  h.feed(ingress("tcp", 22, 22, "300.1.2.3/0"));
  h.feed(ingress("tcp", 22, 22, "1:2:3:4:5:6:7:8:9::/0"));
  h.feed(ingress("tcp", 22, 22, ":::/0"));
  h.feed(ingress("tcp", 22, 22, "not-a-cidr"));
  h.feed(rec("ModifySecurityGroupRules", R"({"ModifySecurityGroupRulesRequest":"x"})"));
  h.feed(
      rec("ModifySecurityGroupRules",
          R"({"ModifySecurityGroupRulesRequest":{"SecurityGroupRule":{"SecurityGroupRule":5}}})"));
  h.feed(rec("CreateNetworkAclEntry", R"({"egress":false,"ruleAction":"allow","cidrBlock":7})"));
  h.feed(rec("CreateSecurityGroup", "{}", R"({"groupId":{"nested":true}})"));
  h.feed(rec("RevokeSecurityGroupEgress", R"({"groupId":"sg-x","ipPermissions":{"items":[{}]}})"));
  h.finish();
  EXPECT_TRUE(h.errors().empty());
  EXPECT_TRUE(h.findings().empty());
}

TEST(SecurityGroups, HugeAndNegativePortsAreClamped) {
  harness h(&th_module_entry_v1);
  h.feed(ingress("tcp", -5, 999999, "0.0.0.0/0"));
  h.finish();
  EXPECT_TRUE(h.errors().empty());
  ASSERT_EQ(h.count("security-group-ingress-world-open"), 1u);
  EXPECT_EQ(h.findings("security-group-ingress-world-open")[0].severity, "critical");
}

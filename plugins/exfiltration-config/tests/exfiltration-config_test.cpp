// SPDX-License-Identifier: Apache-2.0
// Tests of the exfiltration-config detector: positives and benign look-alikes for every rule.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

constexpr const char *ORG = R"(org_account_ids = ["111122223333", "444455556666"])";

// A fresh eventID for every record (the host drops duplicate deliveries of one eventID).
std::string unique_id() {
  static int n = 0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "6f1c2a9e-0000-4000-8000-%012d", ++n);
  return buf;
}

std::string call(std::string_view source, std::string_view name, std::string_view request,
                 std::string_view extra = "") {
  std::string patch =
      R"({"eventID":")" + unique_id() + R"(","requestParameters":)" + std::string(request);
  if (!extra.empty()) patch += "," + std::string(extra);
  patch += "}";
  return merge_json(records::iam_user(source, name), patch);
}
std::string s3(std::string_view name, std::string_view request, std::string_view extra = "") {
  return call("s3.amazonaws.com", name, request, extra);
}
// Any event acting in another account, so that account becomes "seen in the logs".
std::string activity_in(std::string_view account) {
  std::string a(account);
  return merge_json(
      records::assumed_role("ec2.amazonaws.com", "DescribeInstances"),
      R"({"eventID":")" + unique_id() + R"(","recipientAccountId":")" + a +
          R"(","userIdentity":{"accountId":")" + a + R"(","arn":"arn:aws:sts::)" + a +
          R"(:assumed-role/Ops/s","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::)" + a +
          R"(:role/Ops","accountId":")" + a + R"("}}}})");
}
std::string replication(std::string_view destination_json) {
  return s3(
      "PutBucketReplication",
      R"({"bucketName":"prod-data","replication":"","ReplicationConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Role":"arn:aws:iam::111122223333:role/s3-repl","Rule":{"ID":"all","Status":"Enabled","Priority":1,"Filter":{"Prefix":""},"DeleteMarkerReplication":{"Status":"Disabled"},"Destination":)" +
          std::string(destination_json) + "}}}");
}
std::string policy(std::string_view statements) {
  return s3(
      "PutBucketPolicy",
      R"({"bucketName":"prod-data","policy":[""],"bucketPolicy":{"Version":"2012-10-17","Statement":)" +
          std::string(statements) + "}}");
}

}  // namespace

// ---------------------------------------------------------------- replication
TEST(ExfilReplication, ExternalAccountWithOrgConfigIsCritical) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(replication(
      R"({"Bucket":"arn:aws:s3:::attacker-sink","Account":"999988887777","AccessControlTranslation":{"Owner":"Destination"}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("bucketName"), "prod-data");
  EXPECT_EQ(f.evidence("Destination.Account"), R"(["999988887777"])");
  EXPECT_EQ(f.evidence("Destination.Bucket"), R"(["arn:aws:s3:::attacker-sink"])");
  EXPECT_EQ(f.evidence("accountClass"), "external");
  EXPECT_EQ(f.evidence("ownerOverride"), "true");
  EXPECT_EQ(f.detector, "exfiltration-config");
  ASSERT_FALSE(f.mitre.empty());
  EXPECT_EQ(f.mitre[0], "T1537");
}

TEST(ExfilReplication, OrgDisasterRecoveryAccountIsSilentByDefault) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::prod-data-dr","Account":"444455556666"})"));
  h.finish();
  EXPECT_EQ(h.count("s3-replication-to-external-account"), 0u);
}

TEST(ExfilReplication, OrgDisasterRecoveryAccountIsLowWhenOrgSharingReported) {
  harness h(&th_module_entry_v1);
  h.config(std::string(ORG) + R"(
[detectors.exfiltration-config.params]
report_org_sharing = true)");
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::prod-data-dr","Account":"444455556666"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("accountClass"), "organization");
}

TEST(ExfilReplication, OrgDestinationPlusUnknownOwnerReportsOnlyTheUnknownOwner) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(s3(
      "PutBucketReplication",
      R"({"bucketName":"prod-data","ReplicationConfiguration":{"Rule":[{"ID":"dr","Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::dr","Account":"444455556666"}},{"ID":"x","Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::elsewhere"}}]}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("accountClass"), "unknown-owner");
}

TEST(ExfilReplication, NeverSeenAccountWithoutOrgConfigIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(activity_in("444455556666"));
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::sink","Account":"999988887777"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accountClass"), "never-seen");
}

TEST(ExfilReplication, AccountSeenInLogsWithoutOrgConfigIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(activity_in("444455556666"));
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::dr","Account":"444455556666"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  EXPECT_EQ(h.findings("s3-replication-to-external-account")[0].severity, "low");
  EXPECT_EQ(h.findings("s3-replication-to-external-account")[0].evidence("accountClass"),
            "seen-in-logs");
}

TEST(ExfilReplication, SameAccountReplicationIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::prod-data-replica","Account":"111122223333"})"));
  h.finish();
  EXPECT_EQ(h.count("s3-replication-to-external-account"), 0u);
}

TEST(ExfilReplication, DestinationBucketCreatedInOwnAccountIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(s3("CreateBucket", R"({"bucketName":"prod-data-replica","Host":"s3.amazonaws.com"})"));
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::prod-data-replica"})"));
  h.finish();
  EXPECT_EQ(h.count("s3-replication-to-external-account"), 0u);
}

TEST(ExfilReplication, UnknownOwnerWithoutAccountFieldIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(replication(R"({"Bucket":"arn:aws:s3:::somewhere-else"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("accountClass"), "unknown-owner");
}

TEST(ExfilReplication, FailedOrDisabledOrServiceCallsAreSilent) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(merge_json(replication(R"({"Bucket":"arn:aws:s3:::x","Account":"999988887777"})"),
                    R"({"errorCode":"AccessDenied","errorMessage":"Access Denied"})"));
  h.feed(s3(
      "PutBucketReplication",
      R"({"bucketName":"b","ReplicationConfiguration":{"Role":"r","Rule":{"Status":"Disabled","Destination":{"Bucket":"arn:aws:s3:::x","Account":"999988887777"}}}})"));
  h.feed(merge_json(
      replication(R"({"Bucket":"arn:aws:s3:::x","Account":"999988887777"})"),
      R"({"userIdentity":{"type":"AWSService","invokedBy":"cloudformation.amazonaws.com"},"sourceIPAddress":"cloudformation.amazonaws.com"})"));
  h.finish();
  EXPECT_EQ(h.count("s3-replication-to-external-account"), 0u);
}

TEST(ExfilReplication, WorstOfSeveralRulesWins) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(s3(
      "PutBucketReplication",
      R"({"bucketName":"prod-data","ReplicationConfiguration":{"Role":"arn:aws:iam::111122223333:role/r","Rule":[{"ID":"dr","Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::dr","Account":"444455556666"}},{"ID":"x","Status":"Enabled","Destination":{"Bucket":"arn:aws:s3:::sink","Account":"999988887777"}}]}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-replication-to-external-account"), 1u);
  auto f = h.findings("s3-replication-to-external-account")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("Destination.Account"), R"(["444455556666","999988887777"])");
}

// ---------------------------------------------------------------- bucket policy
TEST(ExfilBucketPolicy, PublicReadIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"([{"Sid":"Pub","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"}])"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-public"), 1u);
  auto f = h.findings("s3-bucket-policy-public")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("bucketName"), "prod-data");
  EXPECT_EQ(f.evidence("publicActions"), R"(["s3:GetObject"])");
  EXPECT_EQ(h.count("s3-bucket-policy-external-account"), 0u);
}

TEST(ExfilBucketPolicy, PublicWildcardActionsAreCritical) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"({"Effect":"Allow","Principal":{"AWS":"*"},"Action":["s3:*"],"Resource":["arn:aws:s3:::prod-data","arn:aws:s3:::prod-data/*"]})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-public"), 1u);
  EXPECT_EQ(h.findings("s3-bucket-policy-public")[0].severity, "critical");
}

TEST(ExfilBucketPolicy, PublicReadOnWebsiteBucketIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(s3("PutBucketWebsite", R"({"bucketName":"prod-data","website":[""]})"));
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"}])"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-public"), 1u);
  EXPECT_EQ(h.findings("s3-bucket-policy-public")[0].severity, "medium");
  EXPECT_EQ(h.findings("s3-bucket-policy-public")[0].evidence("websiteBucket"), "true");
}

TEST(ExfilBucketPolicy, RestrictedStarPrincipalsAndServicesAreSilent) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  // Org-wide read, CloudTrail delivery, deny-insecure-transport, CloudFront OAI and OAC.
  h.feed(policy(R"([
    {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}},
    {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::prod-data/AWSLogs/*","Condition":{"StringEquals":{"aws:SourceAccount":"111122223333"}}},
    {"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::prod-data/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}},
    {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"},
    {"Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::111122223333:distribution/EDFDVBD6EXAMPLE"}}},
    {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/App","arn:aws:iam::444455556666:root"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"}
  ])"));
  h.finish();
  EXPECT_EQ(h.count("s3-bucket-policy-public"), 0u);
  EXPECT_EQ(h.count("s3-bucket-policy-external-account"), 0u);
}

TEST(ExfilBucketPolicy, StarWithWorldSourceIpIsStillPublic) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}}])"));
  h.finish();
  EXPECT_EQ(h.count("s3-bucket-policy-public"), 1u);
}

TEST(ExfilBucketPolicy, ExternalAccountPrincipalIsHigh) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::prod-data","arn:aws:s3:::prod-data/*"]}])"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-external-account"), 1u);
  auto f = h.findings("s3-bucket-policy-external-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accounts"), R"(["999988887777"])");
  EXPECT_EQ(f.evidence("accountClass"), "external");
  EXPECT_EQ(h.count("s3-bucket-policy-public"), 0u);
}

TEST(ExfilBucketPolicy, BareAccountIdAndSourceAccountConditionCount) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":{"AWS":["999988887777"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"},
                   {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"StringEquals":{"aws:PrincipalAccount":["888877776666"]}}}])"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-external-account"), 1u);
  auto f = h.findings("s3-bucket-policy-external-account")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("accounts"), R"(["999988887777","888877776666"])");
  EXPECT_EQ(h.count("s3-bucket-policy-public"), 0u);
}

TEST(ExfilBucketPolicy, PolicyAsUrlEncodedTextIsParsed) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketPolicy",
      R"({"bucketName":"prod-data","bucketPolicy":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%22*%22%2C%22Action%22%3A%22s3%3APutObject%22%2C%22Resource%22%3A%22arn%3Aaws%3As3%3A%3A%3Aprod-data%2F*%22%7D%5D%7D"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-public"), 1u);
  EXPECT_EQ(h.findings("s3-bucket-policy-public")[0].severity, "critical");
}

// ---------------------------------------------------------------- ACLs
TEST(ExfilBucketAcl, CannedPublicReadIsHighAndReadWriteCritical) {
  harness h(&th_module_entry_v1);
  h.feed(s3("PutBucketAcl", R"({"bucketName":"a","acl":[""],"x-amz-acl":["public-read"]})"));
  h.feed(s3("PutBucketAcl", R"({"bucketName":"b","acl":[""],"x-amz-acl":["public-read-write"]})"));
  h.feed(s3("PutBucketAcl", R"({"bucketName":"c","acl":[""],"x-amz-acl":["private"]})"));
  h.feed(s3("PutBucketAcl", R"({"bucketName":"d","acl":[""],"x-amz-acl":["log-delivery-write"]})"));
  h.finish();
  auto fs = h.findings("s3-bucket-acl-public");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("x-amz-acl"), "public-read");
  EXPECT_EQ(fs[1].severity, "critical");
  EXPECT_EQ(fs[1].evidence("bucketName"), "b");
}

TEST(ExfilBucketAcl, AllUsersGrantFiresLogDeliveryDoesNot) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketAcl",
      R"({"bucketName":"leaky","acl":[""],"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"ownerid"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AllUsers"},"Permission":"READ"}]},"Owner":{"ID":"ownerid"}}})"));
  h.feed(s3(
      "PutBucketAcl",
      R"({"bucketName":"logs","acl":[""],"AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"ownerid"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/s3/LogDelivery"},"Permission":"WRITE"}]},"Owner":{"ID":"ownerid"}}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-acl-public"), 1u);
  auto f = h.findings("s3-bucket-acl-public")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("bucketName"), "leaky");
  EXPECT_EQ(h.count("s3-bucket-acl-external-grantee"), 0u);
}

TEST(ExfilBucketAcl, AuthenticatedUsersWriteIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketAcl",
      R"({"bucketName":"leaky","AccessControlPolicy":{"AccessControlList":{"Grant":{"Grantee":{"xsi:type":"Group","URI":"http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},"Permission":"WRITE"}},"Owner":{"ID":"ownerid"}}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-acl-public"), 1u);
  EXPECT_EQ(h.findings("s3-bucket-acl-public")[0].severity, "critical");
}

TEST(ExfilBucketAcl, OtherCanonicalUserIsLowAwsLogDeliveryIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketAcl",
      R"({"bucketName":"shared","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"ownerid"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"CanonicalUser","ID":"strangerid"},"Permission":"READ"}]},"Owner":{"ID":"ownerid"}}})"));
  h.feed(s3(
      "PutBucketAcl",
      R"({"bucketName":"cf-logs","AccessControlPolicy":{"AccessControlList":{"Grant":[{"Grantee":{"xsi:type":"CanonicalUser","ID":"ownerid"},"Permission":"FULL_CONTROL"},{"Grantee":{"xsi:type":"CanonicalUser","ID":"c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"},"Permission":"FULL_CONTROL"}]},"Owner":{"ID":"ownerid"}}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-acl-external-grantee"), 1u);
  auto f = h.findings("s3-bucket-acl-external-grantee")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("bucketName"), "shared");
  EXPECT_EQ(f.evidence("grants"), R"(["id=strangerid READ"])");
  EXPECT_EQ(h.count("s3-bucket-acl-public"), 0u);
}

TEST(ExfilBucketAcl, CreateBucketWithPublicCannedAcl) {
  harness h(&th_module_entry_v1);
  h.feed(s3("CreateBucket", R"({"bucketName":"new-public","x-amz-acl":["public-read"]})"));
  h.feed(s3("CreateBucket", R"({"bucketName":"new-private"})"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-acl-public"), 1u);
  EXPECT_EQ(h.findings("s3-bucket-acl-public")[0].evidence("bucketName"), "new-public");
}

// ---------------------------------------------------------------- Block Public Access
TEST(ExfilPublicAccessBlock, BucketLevelRelaxedIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketPublicAccessBlock",
      R"({"publicAccessBlock":[""],"bucketName":"prod-data","PublicAccessBlockConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","RestrictPublicBuckets":true,"BlockPublicPolicy":false,"BlockPublicAcls":true,"IgnorePublicAcls":true}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-public-access-block-relaxed"), 1u);
  auto f = h.findings("s3-public-access-block-relaxed")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("level"), "bucket");
  EXPECT_EQ(f.evidence("disabledSettings"), R"(["BlockPublicPolicy"])");
}

TEST(ExfilPublicAccessBlock, FullyBlockingIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketPublicAccessBlock",
      R"({"bucketName":"prod-data","PublicAccessBlockConfiguration":{"RestrictPublicBuckets":true,"BlockPublicPolicy":true,"BlockPublicAcls":true,"IgnorePublicAcls":true}})"));
  h.feed(call(
      "s3-control.amazonaws.com", "PutAccountPublicAccessBlock",
      R"({"accountId":"111122223333","PublicAccessBlockConfiguration":{"RestrictPublicBuckets":"true","BlockPublicPolicy":"true","BlockPublicAcls":"true","IgnorePublicAcls":"true"}})"));
  h.finish();
  EXPECT_EQ(h.count("s3-public-access-block-relaxed"), 0u);
}

TEST(ExfilPublicAccessBlock, AccountLevelRelaxedAndDeletedAreHigh) {
  harness h(&th_module_entry_v1);
  h.feed(call(
      "s3-control.amazonaws.com", "PutAccountPublicAccessBlock",
      R"({"accountId":"111122223333","PublicAccessBlockConfiguration":{"RestrictPublicBuckets":false,"BlockPublicPolicy":false,"BlockPublicAcls":false,"IgnorePublicAcls":false}})"));
  h.feed(s3("DeleteAccountPublicAccessBlock", R"({"accountId":"111122223333"})"));
  h.feed(s3("DeleteBucketPublicAccessBlock",
            R"({"bucketName":"prod-data","publicAccessBlock":[""]})"));
  h.finish();
  auto fs = h.findings("s3-public-access-block-relaxed");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("level"), "account");
  EXPECT_EQ(
      fs[0].evidence("disabledSettings"),
      R"(["BlockPublicAcls","IgnorePublicAcls","BlockPublicPolicy","RestrictPublicBuckets"])");
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[2].severity, "medium");
  EXPECT_EQ(fs[2].evidence("bucketName"), "prod-data");
}

// ---------------------------------------------------------------- acceleration
TEST(ExfilAcceleration, EnabledIsLowSuspendedSilent) {
  harness h(&th_module_entry_v1);
  h.feed(s3(
      "PutBucketAccelerateConfiguration",
      R"({"bucketName":"prod-data","accelerate":[""],"AccelerateConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Status":"Enabled"}})"));
  h.feed(s3("PutBucketAccelerateConfiguration",
            R"({"bucketName":"prod-data","AccelerateConfiguration":{"Status":"Suspended"}})"));
  h.finish();
  ASSERT_EQ(h.count("s3-transfer-acceleration-enabled"), 1u);
  EXPECT_EQ(h.findings("s3-transfer-acceleration-enabled")[0].severity, "low");
}

TEST(ExfilAcceleration, CanBeTurnedOff) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.exfiltration-config.params]
alert_transfer_acceleration = false)");
  h.feed(s3("PutBucketAccelerateConfiguration",
            R"({"bucketName":"prod-data","AccelerateConfiguration":{"Status":"Enabled"}})"));
  h.finish();
  EXPECT_EQ(h.count("s3-transfer-acceleration-enabled"), 0u);
}

// ---------------------------------------------------------------- EBS / AMI
TEST(ExfilEbs, PublicSnapshotIsCritical) {
  harness h(&th_module_entry_v1);
  h.feed(call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":"snap-0abc","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"group":"all"}]}}})"));
  h.finish();
  ASSERT_EQ(h.count("ebs-snapshot-shared"), 1u);
  auto f = h.findings("ebs-snapshot-shared")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("snapshotId"), "snap-0abc");
  EXPECT_EQ(f.evidence("public"), "true");
}

TEST(ExfilEbs, ExternalIsHighOrgIsLowOwnAndRemoveSilent) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":"snap-1","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"999988887777"}]}}})"));
  h.feed(call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":"snap-2","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"444455556666"}]}}})"));
  h.feed(call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":"snap-3","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"111122223333"}]}}})"));
  h.feed(call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":"snap-4","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"remove":{"items":[{"userId":"999988887777"}]}}})"));
  h.finish();
  auto fs = h.findings("ebs-snapshot-shared");
  ASSERT_EQ(fs.size(), 1u);  // snap-2 goes to an org account: expected, silent
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("addedAccounts"), R"(["999988887777"])");
  EXPECT_EQ(fs[0].evidence("accountClass"), "external");
}

std::string share_snapshot(std::string_view snap, std::string_view account) {
  return call(
      "ec2.amazonaws.com", "ModifySnapshotAttribute",
      R"({"snapshotId":")" + std::string(snap) +
          R"(","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":")" +
          std::string(account) + R"("}]}}})");
}

TEST(ExfilEbs, OrgShareIsLowWhenOrgSharingReported) {
  harness h(&th_module_entry_v1);
  h.config(std::string(ORG) + R"(
[detectors.exfiltration-config.params]
report_org_sharing = true)");
  h.feed(share_snapshot("snap-2", "444455556666"));
  h.finish();
  ASSERT_EQ(h.count("ebs-snapshot-shared"), 1u);
  auto f = h.findings("ebs-snapshot-shared")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("accountClass"), "organization");
  EXPECT_EQ(f.evidence("addedAccounts"), R"(["444455556666"])");
}

TEST(ExfilEbs, WithoutOrgConfigSeenAccountIsLowNeverSeenIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(activity_in("777788889999"));  // the backup account works in these logs
  h.feed(share_snapshot("snap-backup", "777788889999"));
  h.feed(share_snapshot("snap-exfil", "999988887777"));
  h.finish();
  auto fs = h.findings("ebs-snapshot-shared");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].evidence("snapshotId"), "snap-backup");
  EXPECT_EQ(fs[0].severity, "low");
  EXPECT_EQ(fs[0].evidence("accountClass"), "seen-in-logs");
  EXPECT_EQ(fs[1].evidence("snapshotId"), "snap-exfil");
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[1].evidence("accountClass"), "never-seen");
}

TEST(ExfilEbs, AwsBackupServiceCopyIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(merge_json(
      records::aws_service("ec2.amazonaws.com", "ModifySnapshotAttribute"),
      R"({"requestParameters":{"snapshotId":"snap-9","createVolumePermission":{"add":{"items":[{"userId":"999988887777"}]}}}})"));
  h.finish();
  EXPECT_EQ(h.count("ebs-snapshot-shared"), 0u);
}

TEST(ExfilAmi, LaunchPermissionExternalAndOrgArn) {
  harness h(&th_module_entry_v1);
  h.feed(call(
      "ec2.amazonaws.com", "ModifyImageAttribute",
      R"({"imageId":"ami-0abc","launchPermission":{"add":{"items":[{"userId":"999988887777"}]}},"attributeType":"launchPermission"})"));
  h.feed(call(
      "ec2.amazonaws.com", "ModifyImageAttribute",
      R"({"imageId":"ami-0org","launchPermission":{"add":{"items":[{"organizationArn":"arn:aws:organizations::111122223333:organization/o-abc"}]}}})"));
  h.feed(call("ec2.amazonaws.com", "ModifyImageAttribute",
              R"({"imageId":"ami-0pub","launchPermission":{"add":{"items":[{"group":"all"}]}}})"));
  h.feed(call("ec2.amazonaws.com", "ModifyImageAttribute",
              R"({"imageId":"ami-0desc","description":{"value":"new"}})"));
  h.finish();
  auto fs = h.findings("ami-shared");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("imageId"), "ami-0abc");
  EXPECT_EQ(fs[0].evidence("accountClass"), "never-seen");
  EXPECT_EQ(fs[1].severity,
            "low");  // an organization we cannot place without org_account_ids
  EXPECT_EQ(fs[1].evidence("addedAccounts"),
            R"(["arn:aws:organizations::111122223333:organization/o-abc"])");
  EXPECT_EQ(fs[2].severity, "critical");
}

TEST(ExfilAmi, OrganizationArnIsPlacedWithOrgConfig) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(call(
      "ec2.amazonaws.com", "ModifyImageAttribute",
      R"({"imageId":"ami-ours","launchPermission":{"add":{"items":[{"organizationArn":"arn:aws:organizations::444455556666:organization/o-ours"}]}}})"));
  h.feed(call(
      "ec2.amazonaws.com", "ModifyImageAttribute",
      R"({"imageId":"ami-theirs","launchPermission":{"add":{"items":[{"organizationalUnitArn":"arn:aws:organizations::999988887777:ou/o-evil/ou-abcd-1234"}]}}})"));
  h.finish();
  auto fs = h.findings("ami-shared");
  ASSERT_EQ(fs.size(), 1u);  // our own organization is expected
  EXPECT_EQ(fs[0].evidence("imageId"), "ami-theirs");
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("accountClass"), "external");
}

// ---------------------------------------------------------------- RDS
TEST(ExfilRds, SnapshotSharing) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(call(
      "rds.amazonaws.com", "ModifyDBSnapshotAttribute",
      R"({"dBSnapshotIdentifier":"prod-snap","attributeName":"restore","valuesToAdd":["all"]})"));
  h.feed(call(
      "rds.amazonaws.com", "ModifyDBClusterSnapshotAttribute",
      R"({"dBClusterSnapshotIdentifier":"aurora-snap","attributeName":"restore","valuesToAdd":["999988887777"]})"));
  h.feed(call(
      "rds.amazonaws.com", "ModifyDBSnapshotAttribute",
      R"({"dBSnapshotIdentifier":"backup-snap","attributeName":"restore","valuesToAdd":["444455556666"]})"));
  h.feed(call(
      "rds.amazonaws.com", "ModifyDBSnapshotAttribute",
      R"({"dBSnapshotIdentifier":"revoke","attributeName":"restore","valuesToRemove":["999988887777"]})"));
  h.finish();
  auto fs = h.findings("rds-snapshot-shared");
  ASSERT_EQ(fs.size(), 2u);  // backup-snap goes to an org account: silent
  EXPECT_EQ(fs[0].severity, "critical");
  EXPECT_EQ(fs[0].evidence("dBSnapshotIdentifier"), "prod-snap");
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[1].evidence("dBClusterSnapshotIdentifier"), "aurora-snap");
  EXPECT_EQ(fs[1].evidence("addedAccounts"), R"(["999988887777"])");
}

TEST(ExfilRds, ExportTaskIsLowAndCanBeDisabled) {
  {
    harness h(&th_module_entry_v1);
    h.feed(call(
        "rds.amazonaws.com", "StartExportTask",
        R"({"exportTaskIdentifier":"exp-1","sourceArn":"arn:aws:rds:us-east-1:111122223333:snapshot:prod","s3BucketName":"exports","iamRoleArn":"arn:aws:iam::111122223333:role/export","kmsKeyId":"k"})"));
    h.finish();
    ASSERT_EQ(h.count("rds-export-to-s3"), 1u);
    auto f = h.findings("rds-export-to-s3")[0];
    EXPECT_EQ(f.severity, "low");
    EXPECT_EQ(f.evidence("s3BucketName"), "exports");
  }
  {
    harness h(&th_module_entry_v1);
    h.config(R"([detectors.exfiltration-config.params]
alert_rds_export = false)");
    h.feed(call("rds.amazonaws.com", "StartExportTask",
                R"({"exportTaskIdentifier":"exp-1","s3BucketName":"exports"})"));
    h.finish();
    EXPECT_EQ(h.count("rds-export-to-s3"), 0u);
  }
}

// ---------------------------------------------------------------- DynamoDB
TEST(ExfilDynamoDb, ExportToExternalOwnerIsHighOwnSilent) {
  harness h(&th_module_entry_v1);
  h.config(ORG);
  h.feed(call(
      "dynamodb.amazonaws.com", "ExportTableToPointInTime",
      R"({"tableArn":"arn:aws:dynamodb:us-east-1:111122223333:table/users","s3Bucket":"sink","s3BucketOwner":"999988887777","exportFormat":"DYNAMODB_JSON"})"));
  h.feed(call(
      "dynamodb.amazonaws.com", "ExportTableToPointInTime",
      R"({"tableArn":"arn:aws:dynamodb:us-east-1:111122223333:table/users","s3Bucket":"analytics","s3BucketOwner":"111122223333"})"));
  h.feed(call(
      "dynamodb.amazonaws.com", "ExportTableToPointInTime",
      R"({"tableArn":"arn:aws:dynamodb:us-east-1:111122223333:table/orders","s3Bucket":"lake"})"));
  h.feed(call(
      "dynamodb.amazonaws.com", "ExportTableToPointInTime",
      R"({"tableArn":"arn:aws:dynamodb:us-east-1:111122223333:table/orders","s3Bucket":"lake","s3BucketOwner":"444455556666"})"));
  h.finish();
  auto fs = h.findings("dynamodb-export-external-account");
  ASSERT_EQ(fs.size(),
            1u);  // the export to the org account 444455556666 is silent
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("s3BucketOwner"), "999988887777");
}

// ---------------------------------------------------------------- DataSync
TEST(ExfilDataSync, ExternalLocationTaskAndExecution) {
  harness h(&th_module_entry_v1);
  h.feed(call(
      "datasync.amazonaws.com", "CreateLocationObjectStorage",
      R"({"serverHostname":"storage.attacker.example","bucketName":"loot","serverProtocol":"HTTPS"})",
      R"("responseElements":{"locationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-ext"})"));
  h.feed(call(
      "datasync.amazonaws.com", "CreateLocationS3",
      R"({"s3BucketArn":"arn:aws:s3:::prod-data","s3Config":{"bucketAccessRoleArn":"arn:aws:iam::111122223333:role/ds"}})",
      R"("responseElements":{"locationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-s3"})"));
  h.feed(call(
      "datasync.amazonaws.com", "CreateTask",
      R"({"sourceLocationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-s3","destinationLocationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-ext"})",
      R"("responseElements":{"taskArn":"arn:aws:datasync:us-east-1:111122223333:task/task-1"})"));
  h.feed(call("datasync.amazonaws.com", "StartTaskExecution",
              R"({"taskArn":"arn:aws:datasync:us-east-1:111122223333:task/task-1"})"));
  h.finish();
  ASSERT_EQ(h.count("datasync-external-location"), 1u);
  auto loc = h.findings("datasync-external-location")[0];
  EXPECT_EQ(loc.severity, "medium");
  EXPECT_EQ(loc.evidence("serverHostname"), "storage.attacker.example");
  auto fs = h.findings("datasync-task-to-external-location");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("destinationLocationArn"),
            "arn:aws:datasync:us-east-1:111122223333:location/loc-ext");
  EXPECT_EQ(fs[1].evidence("taskArn"), "arn:aws:datasync:us-east-1:111122223333:task/task-1");
}

TEST(ExfilDataSync, InternalS3ToS3TaskIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(call(
      "datasync.amazonaws.com", "CreateLocationS3", R"({"s3BucketArn":"arn:aws:s3:::a"})",
      R"("responseElements":{"locationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-a"})"));
  h.feed(call(
      "datasync.amazonaws.com", "CreateLocationEfs",
      R"({"efsFilesystemArn":"arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"})",
      R"("responseElements":{"locationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-b"})"));
  h.feed(call(
      "datasync.amazonaws.com", "CreateTask",
      R"({"sourceLocationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-b","destinationLocationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-a"})",
      R"("responseElements":{"taskArn":"arn:aws:datasync:us-east-1:111122223333:task/task-2"})"));
  h.feed(call("datasync.amazonaws.com", "StartTaskExecution",
              R"({"taskArn":"arn:aws:datasync:us-east-1:111122223333:task/task-2"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(ExfilModule, NoErrorsOnOddShapes) {
  harness h(&th_module_entry_v1);
  h.feed(s3("PutBucketPolicy", R"({"bucketName":"x","bucketPolicy":"not json"})"));
  h.feed(s3("PutBucketPolicy", R"({"bucketName":"x","bucketPolicy":{"Statement":"weird"}})"));
  h.feed(s3("PutBucketReplication", R"({"bucketName":"x","ReplicationConfiguration":"?"})"));
  h.feed(call("ec2.amazonaws.com", "ModifySnapshotAttribute", R"({"createVolumePermission":7})"));
  h.feed(s3("PutBucketAcl",
            R"({"bucketName":"x","AccessControlPolicy":{"AccessControlList":{"Grant":[1,2]}}})"));
  h.finish();
  EXPECT_TRUE(h.errors().empty());
  EXPECT_TRUE(h.findings().empty());
}

TEST(ExfilBucketPolicy, ElbLogDeliveryAccountIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::127311923021:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::prod-data/AWSLogs/111122223333/*"}])"));
  h.finish();
  EXPECT_EQ(h.count("s3-bucket-policy-external-account"), 0u);
}

TEST(ExfilBucketPolicy, ConsoleActionThroughAwsInternalStillCounts) {
  harness h(&th_module_entry_v1);
  h.feed(merge_json(
      policy(
          R"([{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*"}])"),
      R"({"sourceIPAddress":"AWS Internal","userAgent":"AWS Internal"})"));
  h.finish();
  EXPECT_EQ(h.count("s3-bucket-policy-public"), 1u);
}

TEST(ExfilBucketPolicy, AccountGrantLimitedToOrganizationIsSilent) {
  harness h(&th_module_entry_v1);
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/Reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}])"));
  h.feed(policy(
      R"([{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:role/Reader"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::prod-data/*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-abc123"}}}])"));
  h.finish();
  ASSERT_EQ(h.count("s3-bucket-policy-external-account"), 1u);
}

// ---------------------------------------------------------------- DataSync, reversed order
namespace {
constexpr const char *kExtLoc = "arn:aws:datasync:us-east-1:111122223333:location/loc-ext";
constexpr const char *kTask = "arn:aws:datasync:us-east-1:111122223333:task/task-9";
std::string at_time(std::string record, std::string_view time) {
  return merge_json(record, R"({"eventTime":")" + std::string(time) + R"("})");
}
std::string external_location(std::string_view time = "2026-11-20T10:00:00Z") {
  return at_time(
      call("datasync.amazonaws.com", "CreateLocationObjectStorage",
           R"({"serverHostname":"s3.eu-central-003.backblazeb2.com","bucketName":"loot"})",
           R"("responseElements":{"locationArn":")" + std::string(kExtLoc) + R"("})"),
      time);
}
std::string create_task(std::string_view dst, std::string_view time = "2026-11-20T10:00:20Z") {
  return at_time(
      call(
          "datasync.amazonaws.com", "CreateTask",
          R"({"sourceLocationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-s3","destinationLocationArn":")" +
              std::string(dst) + R"("})",
          R"("responseElements":{"taskArn":")" + std::string(kTask) + R"("})"),
      time);
}
std::string start_task(std::string_view time = "2026-11-20T10:01:00Z") {
  return at_time(call("datasync.amazonaws.com", "StartTaskExecution",
                      R"({"taskArn":")" + std::string(kTask) + R"("})"),
                 time);
}
}  // namespace

TEST(ExfilDataSync, TaskReadBeforeItsExternalLocationStillFires) {
  harness h(&th_module_entry_v1);
  h.feed(create_task(kExtLoc));  // the CreateTask record comes first in the file
  h.feed(external_location());   // then the location it copies to
  h.finish();
  EXPECT_EQ(h.count("datasync-external-location"), 1u);
  auto fs = h.findings("datasync-task-to-external-location");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].event_names[0], "CreateTask");
  EXPECT_EQ(fs[0].evidence("destinationLocationArn"), kExtLoc);
  EXPECT_EQ(fs[0].evidence("destinationType"), "CreateLocationObjectStorage");
  EXPECT_EQ(fs[0].evidence("taskArn"), kTask);
}

TEST(ExfilDataSync, AllThreeStepsFullyReversedStillFire) {
  harness h(&th_module_entry_v1);
  h.feed(start_task());
  h.feed(create_task(kExtLoc));
  h.feed(external_location());
  h.finish();
  auto fs = h.findings("datasync-task-to-external-location");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].event_names[0], "CreateTask");
  EXPECT_EQ(fs[1].event_names[0], "StartTaskExecution");
  EXPECT_EQ(fs[1].evidence("destinationLocationArn"), kExtLoc);
}

TEST(ExfilDataSync, ReversedInternalTaskAndLateLocationStaySilent) {
  {
    harness h(&th_module_entry_v1);  // reversed, but the destination is an S3 location
    h.feed(create_task("arn:aws:datasync:us-east-1:111122223333:location/loc-s3b"));
    h.feed(at_time(
        call(
            "datasync.amazonaws.com", "CreateLocationS3", R"({"s3BucketArn":"arn:aws:s3:::b"})",
            R"("responseElements":{"locationArn":"arn:aws:datasync:us-east-1:111122223333:location/loc-s3b"})"),
        "2026-11-20T10:00:00Z"));
    h.finish();
    EXPECT_TRUE(h.findings().empty());
  }
  {
    harness h(&th_module_entry_v1);  // the location shows up far outside the reorder window
    h.feed(create_task(kExtLoc, "2026-11-20T10:00:20Z"));
    for (int m = 1; m <= 50; ++m) {  // time goes on
      char t[32];
      std::snprintf(t, sizeof t, "2026-11-20T10:%02d:30Z", m);
      h.feed(at_time(s3("GetBucketAcl", R"({"bucketName":"x"})"), t));
    }
    h.feed(external_location("2026-11-20T10:55:00Z"));
    h.finish();
    EXPECT_EQ(h.count("datasync-external-location"), 1u);
    EXPECT_EQ(h.count("datasync-task-to-external-location"), 0u);
  }
}

// ---------------------------------------------------------------- habits
namespace {
// The corpus's nightly backup: role NightlyBackup (a Lambda) shares the night's snapshot with
// the org backup account at 01:15 on day `day` (0 = 2026-11-01).
std::string nightly(const std::string &name, int day, std::string_view request,
                    std::string_view role = "NightlyBackup") {
  char when[32], created[32];
  std::snprintf(when, sizeof when, "2026-11-%02dT01:15:01Z", 1 + day);
  std::snprintf(created, sizeof created, "2026-11-%02dT01:05:00Z", 1 + day);
  const std::string r(role);
  return merge_json(
      records::assumed_role("ec2.amazonaws.com", name),
      R"({"eventID":")" + unique_id() + R"(","eventTime":")" + when +
          R"(","userIdentity":{"type":"AssumedRole","principalId":"AROA6MA7ZG6U42S3V4IK:nightly-backup","arn":"arn:aws:sts::111122223333:assumed-role/)" +
          r +
          R"(/nightly-backup","accountId":"111122223333","accessKeyId":"ASIA7AKGLMJJ4VANAFLR","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA6MA7ZG6U42S3V4IK","arn":"arn:aws:iam::111122223333:role/)" +
          r + R"(","accountId":"111122223333","userName":")" + r +
          R"("},"webIdFederationData":{},"attributes":{"creationDate":")" + created +
          R"(","mfaAuthenticated":"false"}}},"sourceIPAddress":"18.66.120.96","userAgent":"Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.11 exec-env/AWS_Lambda_python3.11","requestParameters":)" +
          std::string(request) +
          R"(,"responseElements":{"requestId":"7a53c29e-7915-4848-adf3-216ecd8837f9","_return":true}})");
}
std::string snapshot_items(int day, std::string_view items) {
  char req[512];
  std::snprintf(
      req, sizeof req,
      R"({"snapshotId":"snap-36b9c8de78efcf%03d","createVolumePermission":{"add":{"items":%.*s}},"attributeType":"CREATE_VOLUME_PERMISSION"})",
      day, static_cast<int>(items.size()), items.data());
  return req;
}
std::string nightly_share(int day, std::string_view account = "777788889999",
                          std::string_view role = "NightlyBackup") {
  return nightly("ModifySnapshotAttribute", day,
                 snapshot_items(day, R"([{"userId":")" + std::string(account) + R"("}])"), role);
}
}  // namespace

TEST(ExfilHabit, NightlyBackupShareIsInfoFromItsFourthNight) {
  harness h(&th_module_entry_v1);
  h.feed(activity_in("777788889999"));  // the org backup account works in these logs
  for (int day = 0; day < 5; ++day) h.feed(nightly_share(day));
  h.finish();
  auto fs = h.findings("ebs-snapshot-shared");
  ASSERT_EQ(fs.size(), 5u);
  for (int day = 0; day < 3; ++day) {
    EXPECT_EQ(fs[day].severity, "low") << day;
    EXPECT_EQ(fs[day].evidence("accountClass"), "seen-in-logs");
    EXPECT_EQ(fs[day].evidence("habitual"), "") << day;
  }
  EXPECT_EQ(fs[3].severity, "info");
  EXPECT_EQ(fs[3].evidence("snapshotId"), "snap-36b9c8de78efcf003");
  EXPECT_EQ(fs[3].evidence("addedAccounts"), R"(["777788889999"])");
  EXPECT_EQ(
      fs[3].evidence("habitual"),
      R"({"earlier_days":3,"first_seen":"2026-11-01T01:15:01Z","min_days":3,"lookback_days":30})");
  EXPECT_NE(fs[3].summary.find("3 earlier days"), std::string::npos) << fs[3].summary;
  EXPECT_EQ(fs[4].severity, "info");
  EXPECT_NE(fs[4].evidence("habitual").find(R"("earlier_days":4)"), std::string::npos);
}

TEST(ExfilHabit, NewAccountNewPrincipalAndPublicShareAreReportedAsBefore) {
  harness h(&th_module_entry_v1);
  h.feed(activity_in("777788889999"));
  for (int day = 0; day < 3; ++day) h.feed(nightly_share(day));
  // Day 4, same role: an account seen nowhere else; both accounts at once; public.
  h.feed(nightly_share(3, "999988887777"));
  h.feed(nightly("ModifySnapshotAttribute", 3,
                 snapshot_items(3, R"([{"userId":"777788889999"},{"userId":"999988887777"}])")));
  h.feed(nightly("ModifySnapshotAttribute", 3, snapshot_items(3, R"([{"group":"all"}])")));
  // Day 4, another principal sharing with the backup account for the first time.
  h.feed(nightly_share(3, "777788889999", "DataMigration"));
  h.finish();
  auto fs = h.findings("ebs-snapshot-shared");
  ASSERT_EQ(fs.size(), 7u);
  EXPECT_EQ(fs[3].severity, "high");
  EXPECT_EQ(fs[3].evidence("accountClass"), "never-seen");
  EXPECT_EQ(fs[3].evidence("habitual"), "");
  EXPECT_EQ(fs[4].severity, "high");  // one new account among them: as before
  EXPECT_EQ(fs[4].evidence("addedAccounts"), R"(["777788889999","999988887777"])");
  EXPECT_EQ(fs[4].evidence("habitual"), "");
  EXPECT_EQ(fs[5].severity, "critical");
  EXPECT_EQ(fs[5].evidence("public"), "true");
  EXPECT_EQ(fs[5].evidence("habitual"), "");
  EXPECT_EQ(fs[6].severity, "low");
  EXPECT_EQ(fs[6].principal, "arn:aws:sts::111122223333:assumed-role/DataMigration/nightly-backup");
  EXPECT_EQ(fs[6].evidence("habitual"), "");
}

TEST(ExfilHabit, AmiSharingLearnsItsOwnHabit) {
  auto ami = [](int day, std::string_view account) {
    char req[256];
    std::snprintf(
        req, sizeof req,
        R"({"imageId":"ami-0a1b2c3d4e5f6%03d","launchPermission":{"add":{"items":[{"userId":"%.*s"}]}},"attributeType":"launchPermission"})",
        day, static_cast<int>(account.size()), account.data());
    return nightly("ModifyImageAttribute", day, req, "GoldenImagePipeline");
  };
  harness h(&th_module_entry_v1);
  h.config(ORG);
  for (int day = 0; day < 4; ++day) h.feed(ami(day, "999988887777"));  // a partner account
  h.feed(ami(4, "555566667777"));
  // Snapshots shared by that role with the partner: the AMI habit does not carry over.
  h.feed(nightly_share(4, "999988887777", "GoldenImagePipeline"));
  h.finish();
  auto fs = h.findings("ami-shared");
  ASSERT_EQ(fs.size(), 5u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[2].severity, "high");
  EXPECT_EQ(fs[3].severity, "info");
  EXPECT_NE(fs[3].evidence("habitual").find(R"("earlier_days":3)"), std::string::npos);
  EXPECT_EQ(fs[4].severity, "high");
  ASSERT_EQ(h.count("ebs-snapshot-shared"), 1u);
  EXPECT_EQ(h.findings("ebs-snapshot-shared")[0].severity, "high");
}

TEST(ExfilHabit, HabitSurvivesARestoreCorruptStateStartsFresh) {
  harness first(&th_module_entry_v1);
  first.feed(activity_in("777788889999"));
  for (int day = 0; day < 3; ++day) first.feed(nightly_share(day));
  first.finish();
  const std::string bytes = first.snapshot("exfiltration-config");
  ASSERT_FALSE(bytes.empty());

  harness second(&th_module_entry_v1);
  second.start();
  second.restore("exfiltration-config", bytes);
  EXPECT_EQ(second.snapshot("exfiltration-config"), bytes);  // nothing lost on the way
  second.feed(activity_in("777788889999"));
  second.feed(nightly_share(3));
  second.finish();
  ASSERT_EQ(second.count("ebs-snapshot-shared"), 1u);
  EXPECT_EQ(second.findings("ebs-snapshot-shared")[0].severity, "info");

  harness third(&th_module_entry_v1);
  third.start();
  EXPECT_THROW(third.restore("exfiltration-config", "nonsense"), std::runtime_error);
  EXPECT_THROW(third.restore("exfiltration-config", ""), std::runtime_error);
  EXPECT_THROW(third.restore("exfiltration-config", bytes.substr(0, bytes.size() - 2)),
               std::runtime_error);
  EXPECT_THROW(third.restore("exfiltration-config", bytes + "x"), std::runtime_error);
  // Another version of the habit section, and a huge count: refused without allocating.
  std::string other = bytes;
  other[bytes.find("HABIT") + 5] = '\x02';
  EXPECT_THROW(third.restore("exfiltration-config", other), std::runtime_error);
  EXPECT_THROW(third.restore("exfiltration-config",
                             std::string("THEX\x01HABIT\x01\xff\xff\xff\xff\x0f", 15)),
               std::runtime_error);
  bool said_so = false;
  for (auto &m : third.errors()) said_so |= m.find("restore_state failed") != std::string::npos;
  EXPECT_TRUE(said_so);
  third.feed(activity_in("777788889999"));
  third.feed(nightly_share(3));
  third.finish();
  ASSERT_EQ(third.count("ebs-snapshot-shared"), 1u);
  EXPECT_EQ(third.findings("ebs-snapshot-shared")[0].severity, "low");  // fresh
}

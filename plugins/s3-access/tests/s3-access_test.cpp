// SPDX-License-Identifier: Apache-2.0
// Tests of the s3-access detector: days of benign history, then the anomaly fires; the same
// history with a benign change (a documented nightly backup job, a new bucket during warm-up, a
// trusted office network) stays quiet; the learned state survives a snapshot/restore.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <string>
#include <trailhound/testing.hpp>
#include <vector>

using namespace trailhound::testing;

namespace {

int seq = 0;

// 2026-11-01 (a Sunday) plus `day` days, at hh:mm:ss (UTC).
std::string ts(int day, int hour, int minute = 0, int second = 0) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-11-%02dT%02d:%02d:%02dZ", 1 + day, hour, minute, second);
  return buf;
}

std::string user(const std::string& name) {
  return R"({"type":"IAMUser","principalId":"AIDA)" + name +
         R"(","arn":"arn:aws:iam::111122223333:user/)" + name +
         R"(","accountId":"111122223333","accessKeyId":"AKIA)" + name + R"(","userName":")" + name +
         R"("})";
}
std::string role(const std::string& name) {
  return R"({"type":"AssumedRole","principalId":"AROA)" + name +
         R"(:s","arn":"arn:aws:sts::111122223333:assumed-role/)" + name +
         R"(/s","accountId":"111122223333","accessKeyId":"ASIA)" + name +
         R"(","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA)" + name +
         R"(","arn":"arn:aws:iam::111122223333:role/)" + name +
         R"(","accountId":"111122223333","userName":")" + name + R"("}}})";
}
const std::string kAlice = user("alice");
const std::string kBackup = role("Backup");

// An S3 data event (or ListBuckets/CreateBucket, which are management events).
std::string s3(const std::string& ident, const std::string& name, const std::string& bucket,
               const std::string& time, long long bytes_out = 2048,
               const std::string& ip = "198.51.100.10", const std::string& extra = "{}") {
  bool mgmt = name == "ListBuckets" || name == "CreateBucket";
  bool ro = name.rfind("Get", 0) == 0 || name.rfind("List", 0) == 0 || name == "HeadObject";
  std::string req = bucket.empty() ? R"({"Host":"s3.amazonaws.com"})"
                                   : R"({"bucketName":")" + bucket + R"(","Host":")" + bucket +
                                         R"(.s3.us-east-1.amazonaws.com","key":"data/part-)" +
                                         std::to_string(seq + 1) + R"(.parquet"})";
  std::string patch =
      R"({"userIdentity":)" + ident + R"(,"sourceIPAddress":")" + ip + R"(","eventCategory":")" +
      (mgmt ? "Management" : "Data") + R"(","managementEvent":)" + (mgmt ? "true" : "false") +
      R"(,"readOnly":)" + (ro ? "true" : "false") + R"(,"requestParameters":)" + req +
      R"(,"additionalEventData":{"SignatureVersion":"SigV4","bytesTransferredIn":0,"bytesTransferredOut":)" +
      std::to_string(mgmt ? 0 : bytes_out) + R"(},"eventTime":")" + time +
      R"(","eventID":"s3-test-)" + std::to_string(++seq) + R"("})";
  return merge_json(merge_json(records::iam_user("s3.amazonaws.com", name), patch), extra);
}

// Ten days of ordinary work: alice reads 20 small objects from "reports" every weekday morning
// and lists buckets; the Backup role reads 300 objects of "prod-data" every night at 02:00.
// `extra` adds events to each day, in time order.
void history(harness& h, int days = 10, const std::function<void(int)>& extra = {}) {
  for (int d = 0; d < days; ++d) {
    for (int k = 0; k < 300; ++k)
      h.feed(s3(kBackup, "GetObject", "prod-data", ts(d, 2, k / 10, k % 60), 50000, "10.0.8.15"));
    if (extra) extra(d);
    h.feed(s3(kAlice, "ListBuckets", "", ts(d, 9)));
    for (int k = 0; k < 20; ++k) h.feed(s3(kAlice, "GetObject", "reports", ts(d, 9, 1 + k)));
  }
}

const char* kSmallFloors = R"([detectors.s3-access.params]
floor_objects = 100
floor_deletes = 50
floor_delete_batches = 5
ssec_threshold = 10)";

}  // namespace

// ------------------------------------------------------------------------------------------
// first-list-buckets

TEST(S3Access, FirstListBucketsAfterWarmupFires) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(s3(kAlice, "ListBuckets", "", ts(10, 9)));  // usual
  h.feed(s3(user("mallory"), "ListBuckets", "", ts(10, 10), 0, "203.0.113.9"));
  h.feed(s3(user("erin"), "ListBuckets", "", ts(10, 11), 0, "198.51.100.10",
            R"({"userAgent":"AWS Internal","sourceIPAddress":"AWS Internal"})"));
  h.finish();
  auto fs = h.findings("first-list-buckets");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("identity"), "arn:aws:iam::111122223333:user/mallory");
  EXPECT_EQ(fs[0].evidence("sourceIPAddress"), "203.0.113.9");
  EXPECT_EQ(fs[1].severity, "low");  // console
  EXPECT_EQ(fs[1].evidence("consoleSession"), "true");
  EXPECT_EQ(h.findings().size(), 2u);
}

TEST(S3Access, DeniedListBucketsDuringWarmupIsLearnedNotReported) {
  harness h(&th_module_entry_v1);
  h.feed(s3(user("mallory"), "ListBuckets", "", ts(0, 10), 0, "203.0.113.9",
            R"({"errorCode":"AccessDenied"})"));
  h.feed(s3(user("mallory"), "ListBuckets", "", ts(8, 10), 0, "203.0.113.9",
            R"({"errorCode":"AccessDenied"})"));
  h.feed(s3(user("oscar"), "ListBuckets", "", ts(8, 11), 0, "203.0.113.9",
            R"({"errorCode":"AccessDenied"})"));
  h.finish();
  ASSERT_EQ(h.count("first-list-buckets"), 1u);
  EXPECT_EQ(h.findings()[0].evidence("errorCode"), "AccessDenied");
  EXPECT_EQ(h.findings()[0].evidence("identity"), "arn:aws:iam::111122223333:user/oscar");
}

// ------------------------------------------------------------------------------------------
// new-bucket-access

TEST(S3Access, NewBucketAfterWarmupFiresOncePerIdentityAndBucket) {
  harness h(&th_module_entry_v1);
  history(h);
  for (int k = 0; k < 3; ++k) h.feed(s3(kAlice, "GetObject", "finance-ledger", ts(10, 14, k)));
  h.feed(s3(kAlice, "GetObject", "reports", ts(10, 14, 5)));  // usual
  h.finish();
  ASSERT_EQ(h.count("new-bucket-access"), 1u);
  auto f = h.findings("new-bucket-access")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("bucketName"), "finance-ledger");
  EXPECT_EQ(f.evidence("eventName"), "GetObject");
  EXPECT_EQ(f.evidence("identity"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("knownBuckets"), "1");
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(S3Access, SensitiveBucketIsOneStepHigher) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
sensitive_bucket_patterns = ["finance-*", "*-pii"])");
  history(h);
  h.feed(s3(kAlice, "GetObject", "Finance-Ledger", ts(10, 14)));
  h.feed(s3(kAlice, "PutObject", "scratch", ts(10, 15)));
  h.finish();
  auto fs = h.findings("new-bucket-access");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("sensitiveBucket"), "true");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("sensitiveBucket"), "");
}

TEST(S3Access, AnalystWithNewBucketDuringWarmupAndOwnNewBucketAreQuiet) {
  harness h(&th_module_entry_v1);
  history(h, 10, [&](int d) {
    if (d >= 3) h.feed(s3(kAlice, "GetObject", "marketing", ts(d, 3)));  // benign change
  });
  h.feed(s3(kAlice, "GetObject", "marketing", ts(10, 14)));
  // alice creates a bucket after warm-up and fills it
  h.feed(s3(kAlice, "CreateBucket", "alice-new", ts(10, 15)));
  h.feed(s3(kAlice, "PutObject", "alice-new", ts(10, 15, 1), 0));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(S3Access, BucketSetUpTodayIsLow) {
  harness h(&th_module_entry_v1);
  history(h);
  h.feed(s3(role("Deploy"), "CreateBucket", "new-app", ts(10, 10)));
  h.feed(s3(role("Deploy"), "PutObject", "new-app", ts(10, 10, 5), 0));
  h.feed(s3(kAlice, "GetObject", "new-app", ts(10, 11)));
  h.finish();
  ASSERT_EQ(h.count("new-bucket-access"), 1u);  // the creator's own objects are not news
  auto f = h.findings("new-bucket-access")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("bucketNewInAccount"), "true");
  EXPECT_EQ(f.evidence("identity"), "arn:aws:iam::111122223333:user/alice");
}

TEST(S3Access, CrossAccountCopiesAreCountedOnce) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  history(h);
  for (int k = 0; k < 60; ++k)
    for (const char* acct : {"111122223333", "444455556666"})
      h.feed(s3(kAlice, "GetObject", "reports", ts(10, 11, k), 4096, "198.51.100.10",
                R"({"sharedEventID":"shared-)" + std::to_string(k) + R"(","recipientAccountId":")" +
                    acct + R"("})"));
  h.finish();
  EXPECT_EQ(h.count("mass-read"), 0u);  // 60 reads, not 120
}

TEST(S3Access, AwsServiceLogDeliveryIsIgnored) {
  harness h(&th_module_entry_v1);
  history(h);
  std::string ld = records::aws_service("s3.amazonaws.com", "PutObject");
  h.feed(merge_json(
      ld,
      R"({"eventTime":")" + ts(10, 3) +
          R"(","eventID":"ld-1","eventCategory":"Data","requestParameters":{"bucketName":"cloudtrail-logs","key":"AWSLogs/x.json.gz"}})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// mass-read

TEST(S3Access, MassReadBeyondHistoryFires) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  history(h);
  for (int k = 0; k < 150; ++k)
    h.feed(s3(kAlice, "GetObject", "reports", ts(10, 11, k / 10, k % 60), 4096));
  h.finish();
  ASSERT_EQ(h.count("mass-read"), 1u);
  auto f = h.findings("mass-read")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("bucketName"), "reports");
  EXPECT_EQ(f.evidence("objectsRead"), "101");  // reported as the threshold is crossed
  EXPECT_EQ(f.evidence("historyMaxObjects"), "20");
  EXPECT_EQ(f.evidence("thresholdObjects"), "100");
  EXPECT_EQ(f.evidence("absoluteThreshold"), "false");
  EXPECT_EQ(f.event_ids.size(), 6u);  // the first five of the window and the crossing one
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(S3Access, MassReadByBytesFires) {
  harness h(&th_module_entry_v1);
  history(h);
  for (int k = 0; k < 5; ++k)
    h.feed(s3(kAlice, "GetObject", "reports", ts(10, 11, k), 300LL * 1024 * 1024));
  h.finish();
  ASSERT_EQ(h.count("mass-read"), 1u);
  auto f = h.findings("mass-read")[0];
  EXPECT_EQ(f.evidence("objectsRead"), "4");
  EXPECT_EQ(f.evidence("bytesTransferredOut"), std::to_string(4LL * 300 * 1024 * 1024));
}

TEST(S3Access, DocumentedNightlyBackupJobDoesNotFire) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  // 7 nights of backup history (in history()), then the 8th night reads the whole bucket again
  history(h, 7);
  for (int k = 0; k < 300; ++k)
    h.feed(s3(kBackup, "GetObject", "prod-data", ts(7, 2, k / 10, k % 60), 50000, "10.0.8.15"));
  h.finish();
  EXPECT_EQ(h.count("mass-read"), 0u);
  EXPECT_TRUE(h.findings().empty());
}

TEST(S3Access, SameNightlyVolumeByAnotherIdentityFires) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  history(h, 7);
  for (int k = 0; k < 300; ++k)
    h.feed(s3(role("Intruder"), "GetObject", "prod-data", ts(7, 2, k / 10, k % 60), 50000,
              "10.0.8.99"));
  h.finish();
  EXPECT_EQ(h.count("mass-read"), 1u);
  EXPECT_EQ(h.count("new-bucket-access"), 1u);
  EXPECT_EQ(h.findings("mass-read")[0].evidence("historyWindows"), "0");
}

TEST(S3Access, AbsoluteThresholdFiresEvenDuringWarmup) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
absolute_objects = 50)");
  for (int k = 0; k < 60; ++k) h.feed(s3(kAlice, "GetObject", "reports", ts(0, 9, k)));
  h.finish();
  ASSERT_EQ(h.count("mass-read"), 1u);
  EXPECT_EQ(h.findings("mass-read")[0].severity, "high");
  EXPECT_EQ(h.findings("mass-read")[0].evidence("absoluteThreshold"), "true");
}

// ------------------------------------------------------------------------------------------
// mass-delete

TEST(S3Access, MassDeleteFiresAndCleanupJobDoesNot) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  // a cleanup job deletes 60 temp objects every night: history makes it normal
  history(h, 10, [&](int d) {
    for (int k = 0; k < 60; ++k) h.feed(s3(role("Cleanup"), "DeleteObject", "tmp", ts(d, 4, k)));
  });
  for (int k = 0; k < 60; ++k) h.feed(s3(role("Cleanup"), "DeleteObject", "tmp", ts(10, 4, k)));
  for (int k = 0; k < 55; ++k) h.feed(s3(kAlice, "DeleteObject", "reports", ts(10, 13, k)));
  h.finish();
  ASSERT_EQ(h.count("mass-delete"), 1u);
  auto f = h.findings("mass-delete")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("identity"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(f.evidence("deleteObjectCalls"), "51");
  EXPECT_EQ(f.evidence("bucketName"), "reports");
}

TEST(S3Access, BatchDeletesOnSensitiveBucketAreCritical) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
floor_delete_batches = 5
sensitive_bucket_patterns = ["reports"])");
  history(h);
  for (int k = 0; k < 6; ++k) h.feed(s3(kAlice, "DeleteObjects", "reports", ts(10, 13, k)));
  h.finish();
  ASSERT_EQ(h.count("mass-delete"), 1u);
  EXPECT_EQ(h.findings("mass-delete")[0].severity, "critical");
  EXPECT_EQ(h.findings("mass-delete")[0].evidence("deleteObjectsCalls"), "6");
}

// ------------------------------------------------------------------------------------------
// sse-c-rewrite

TEST(S3Access, SseCRewritesAreCriticalEvenDuringWarmup) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  const std::string ssec =
      R"({"requestParameters":{"x-amz-server-side-encryption-customer-algorithm":"AES256","x-amz-copy-source":"prod-data/x"}})";
  for (int k = 0; k < 12; ++k)
    h.feed(s3(user("mallory"), "CopyObject", "prod-data", ts(0, 5, k), 0, "203.0.113.9", ssec));
  h.finish();
  ASSERT_EQ(h.count("sse-c-rewrite"), 1u);
  auto f = h.findings("sse-c-rewrite")[0];
  EXPECT_EQ(f.severity, "critical");
  EXPECT_EQ(f.evidence("sseCustomerKeyWrites"), "10");
  EXPECT_EQ(f.evidence("x-amz-server-side-encryption-customer-algorithm"), "AES256");
  EXPECT_EQ(f.event_ids.size(), 6u);
}

TEST(S3Access, OccasionalSseCUseAndPlainRewritesDoNotFire) {
  harness h(&th_module_entry_v1);
  h.config(kSmallFloors);
  const std::string ssec =
      R"({"requestParameters":{"x-amz-server-side-encryption-customer-algorithm":"AES256"}})";
  history(h, 10, [&](int d) {
    for (int k = 0; k < 3; ++k)
      h.feed(s3(role("Vault"), "PutObject", "vault", ts(d, 6, k), 0, "10.0.1.1", ssec));
  });
  for (int k = 0; k < 30; ++k) h.feed(s3(kAlice, "PutObject", "reports", ts(10, 11, k), 0));
  h.finish();
  EXPECT_EQ(h.count("sse-c-rewrite"), 0u);
}

// ------------------------------------------------------------------------------------------
// off-hours-access

namespace {
// An analyst working weekdays 09:00-17:00 at UTC+1 (08:00-16:00 UTC) for two weeks.
void office_history(harness& h, int days = 13) {
  for (int d = 0; d < days; ++d) {
    if (d % 7 == 0 || d % 7 == 6) continue;  // Sunday, Saturday
    for (int hour = 8; hour < 16; ++hour)
      h.feed(s3(kAlice, "GetObject", "reports", ts(d, hour, 5)));
    for (int k = 0; k < 5; ++k)  // the nightly backup (outside hours, but that's its normal)
      h.feed(s3(kBackup, "GetObject", "prod-data", ts(d, 23, k), 100, "10.0.8.15"));
  }
}
}  // namespace

TEST(S3Access, OffHoursAccessByBusinessHoursIdentityFires) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
business_hours = "08:00-19:00"
timezone = "+01:00")");
  office_history(h);
  h.feed(s3(kAlice, "GetObject", "reports", ts(13, 2)));      // Sat 03:00 local
  h.feed(s3(kAlice, "GetObject", "reports", ts(13, 2, 30)));  // same night: once
  h.feed(s3(kBackup, "GetObject", "prod-data", ts(13, 23), 100, "10.0.8.15"));
  h.finish();
  ASSERT_EQ(h.count("off-hours-access"), 1u);
  auto f = h.findings("off-hours-access")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("localTime"), "Sat 03:00");
  EXPECT_EQ(f.evidence("historyInHoursPercent"), "100");
  EXPECT_EQ(f.evidence("historyActiveHours"), "80");  // 10 weekdays x 8 hours
  EXPECT_EQ(f.evidence("timezone"), "+01:00");
  EXPECT_EQ(h.findings().size(), 1u);
}

TEST(S3Access, OffHoursWithIanaZoneAndInsideHoursAccess) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
business_hours = "08:00-19:00"
timezone = "Europe/Berlin")");
  office_history(h);
  h.feed(s3(kAlice, "GetObject", "reports", ts(15, 17, 30)));  // Mon 18:30 Berlin: inside
  h.feed(s3(kAlice, "GetObject", "reports", ts(15, 18, 30)));  // Mon 19:30 Berlin: outside
  h.finish();
  ASSERT_EQ(h.count("off-hours-access"), 1u);
  EXPECT_EQ(h.findings("off-hours-access")[0].evidence("localTime"), "Mon 19:30");
}

TEST(S3Access, OffHoursRuleIsInactiveWithoutBusinessHours) {
  harness h(&th_module_entry_v1);
  office_history(h);
  h.feed(s3(kAlice, "GetObject", "reports", ts(13, 2)));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(S3Access, BadTimezoneIsAConfigError) {
  harness h(&th_module_entry_v1);
  h.config(R"([detectors.s3-access.params]
business_hours = "08:00-19:00"
timezone = "Mars/Olympus_Mons")");
  EXPECT_THROW(h.start(), std::runtime_error);
}

// ------------------------------------------------------------------------------------------
// large-transfer-external

TEST(S3Access, LargeTransferToOutsideAddressFires) {
  harness h(&th_module_entry_v1);
  h.config(R"(trusted_cidrs = ["198.51.100.0/24"])");
  const long long chunk = 400LL * 1024 * 1024;
  for (int k = 0; k < 4; ++k)  // office: trusted
    h.feed(s3(kAlice, "GetObject", "reports", ts(0, 9, k), chunk, "198.51.100.10"));
  for (int k = 0; k < 4; ++k)  // VPC endpoint: private
    h.feed(s3(kBackup, "GetObject", "prod-data", ts(0, 9, k), chunk, "10.0.8.15"));
  for (int k = 0; k < 4; ++k)
    h.feed(s3(kAlice, "GetObject", "reports", ts(0, 10, k), chunk, "203.0.113.50"));
  h.finish();
  ASSERT_EQ(h.count("large-transfer-external"), 1u);
  auto f = h.findings("large-transfer-external")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("sourceIPAddress"), "203.0.113.50");
  EXPECT_EQ(f.evidence("requests"), "3");
  EXPECT_EQ(f.evidence("bytesTransferredOut"), std::to_string(3 * chunk));
  EXPECT_EQ(f.evidence("bucketNames"), R"(["reports"])");
  EXPECT_EQ(h.findings().size(), 1u);  // warm-up: no mass-read yet
}

TEST(S3Access, LargeTransferWithoutTrustedCidrsIsMediumAndLearnsThePartnerSite) {
  harness h(&th_module_entry_v1);
  const long long chunk = 400LL * 1024 * 1024;
  // a partner site pulls 1.6 GiB every night: reported the first night, its history then covers it
  for (int d = 0; d < 3; ++d)
    for (int k = 0; k < 4; ++k)
      h.feed(s3(role("Partner"), "GetObject", "exports", ts(d, 1, k), chunk, "192.0.2.80"));
  h.finish();
  ASSERT_EQ(h.count("large-transfer-external"), 1u);
  EXPECT_EQ(h.findings("large-transfer-external")[0].severity, "medium");
  EXPECT_EQ(h.findings("large-transfer-external")[0].evidence("trustedCidrsKnown"), "false");
}

// ------------------------------------------------------------------------------------------
// state

namespace {
void anomalies(harness& h) {
  seq = 500000;  // the same eventIDs in every run: the same finding ids
  h.feed(s3(user("mallory"), "ListBuckets", "", ts(10, 10), 0, "203.0.113.9"));
  h.feed(s3(kAlice, "GetObject", "finance-ledger", ts(10, 14)));
  for (int k = 0; k < 150; ++k)
    h.feed(s3(kAlice, "GetObject", "reports", ts(10, 15, k / 10, k % 60), 4096));
  for (int k = 0; k < 300; ++k)  // the backup job again: quiet in both runs
    h.feed(s3(kBackup, "GetObject", "prod-data", ts(11, 2, k / 10, k % 60), 50000, "10.0.8.15"));
}
std::vector<std::string> summary(const harness& h) {
  std::vector<std::string> out;
  for (auto& f : h.findings())
    out.push_back(f.rule + "|" + f.severity + "|" + f.evidence_json + "|" + f.finding_id);
  return out;
}
}  // namespace

TEST(S3Access, StateRoundTripGivesTheSameFindings) {
  harness single(&th_module_entry_v1);
  single.config(kSmallFloors);
  history(single);
  anomalies(single);
  single.finish();
  ASSERT_EQ(single.findings().size(), 3u);

  harness first(&th_module_entry_v1);
  first.config(kSmallFloors);
  history(first);
  first.finish();
  EXPECT_TRUE(first.findings().empty());
  std::string bytes = first.snapshot("s3-access");
  EXPECT_GT(bytes.size(), 20u);

  harness second(&th_module_entry_v1);
  second.config(kSmallFloors);
  second.start();
  second.restore("s3-access", bytes);
  anomalies(second);
  second.finish();
  EXPECT_EQ(summary(second), summary(single));
  EXPECT_TRUE(second.errors().empty());

  // a snapshot of the restored instance is the same baseline again
  harness third(&th_module_entry_v1);
  third.start();
  third.restore("s3-access", bytes);
  EXPECT_EQ(third.snapshot("s3-access").size(), bytes.size());
}

TEST(S3Access, CorruptStateIsRefused) {
  harness h(&th_module_entry_v1);
  h.start();
  EXPECT_THROW(h.restore("s3-access", "THS3"), std::runtime_error);
  EXPECT_THROW(h.restore("s3-access", std::string("\x04THS3\x01\x05", 7)), std::runtime_error);
}

// SPDX-License-Identifier: Apache-2.0
// Tests of the defense-evasion detector family: positives and benign look-alikes per rule.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <trailhound/testing.hpp>

using namespace trailhound::testing;

namespace {

int g_seq = 0;

// A record of source/name by IAM user alice with the given requestParameters/responseElements and
// an extra patch. Every record gets its own eventID.
std::string rec(std::string_view source, std::string_view name, std::string_view request,
                std::string_view response = "null", std::string_view extra = "{}",
                std::string_view base = "") {
  std::string b = base.empty() ? records::iam_user(source, name) : std::string(base);
  std::string patch = std::string(R"({"requestParameters":)") + std::string(request) +
                      R"(,"responseElements":)" + std::string(response) +
                      R"(,"eventID":"de-test-)" + std::to_string(++g_seq) + R"("})";
  return merge_json(
      merge_json(merge_json(b, R"({"requestParameters":null,"responseElements":null})"), patch),
      extra);
}

std::string at(std::string_view t) {
  return std::string(R"({"eventTime":")") + std::string(t) + "\"}";
}

const char* kCt = "cloudtrail.amazonaws.com";
const char* kGd = "guardduty.amazonaws.com";
const char* kTrailArn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail";
const char* kDenied =
    R"({"errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::111122223333:user/alice is not authorized to perform: cloudtrail:StopLogging"})";

std::string create_trail(std::string_view time, std::string_view extra_fields = "",
                         std::string_view base = "") {
  std::string fields =
      R"("name":"org-trail","s3BucketName":"acme-org-logs","isMultiRegionTrail":true,)"
      R"("includeGlobalServiceEvents":true,"enableLogFileValidation":true)";
  std::string resp =
      R"({"name":"org-trail","s3BucketName":"acme-org-logs","isMultiRegionTrail":true,)"
      R"("includeGlobalServiceEvents":true,"logFileValidationEnabled":true,)"
      R"("trailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail")";
  if (!extra_fields.empty()) {
    fields += "," + std::string(extra_fields);
    resp += "," + std::string(extra_fields);
  }
  return rec(kCt, "CreateTrail", "{" + fields + "}", resp + "}", at(time), base);
}

std::string stop_logging(std::string_view extra = "{}") {
  return rec(kCt, "StopLogging", std::string(R"({"name":")") + kTrailArn + "\"}", "null", extra);
}

const char* kParams = "[detectors.defense-evasion.params]\n";

}  // namespace

// ------------------------------------------------------------------------------------------
// cloudtrail-logging-stopped / cloudtrail-trail-deleted
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, StopLoggingIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(stop_logging());
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-logging-stopped"), 1u);
  auto f = h.findings("cloudtrail-logging-stopped")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("name"), kTrailArn);
  EXPECT_EQ(f.evidence("callerArn"), "arn:aws:iam::111122223333:user/alice");
  EXPECT_NE(f.summary.find("org-trail"), std::string::npos);
  EXPECT_NE(std::find(f.mitre.begin(), f.mitre.end(), "T1562.008"), f.mitre.end());
}

TEST(DefenseEvasion, StopLoggingIncludesKnownBucket) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(stop_logging());
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-logging-stopped"), 1u);
  auto f = h.findings("cloudtrail-logging-stopped")[0];
  EXPECT_EQ(f.evidence("s3BucketName"), "acme-org-logs");
  EXPECT_EQ(f.evidence("isMultiRegionTrail"), "true");
}

TEST(DefenseEvasion, StopEventDataStoreIngestionIsLoggingStopped) {
  harness h(&th_module_entry_v1);
  h.feed(
      rec(kCt, "StopEventDataStoreIngestion",
          R"({"eventDataStore":"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds1"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-logging-stopped"), 1u);
  EXPECT_NE(h.findings("cloudtrail-logging-stopped")[0].evidence("eventDataStore").find("eds1"),
            std::string::npos);
}

TEST(DefenseEvasion, AwsServiceAndCloudFormationAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "StopLogging", R"({"name":"org-trail"})", "null", "{}",
             records::aws_service(kCt, "StopLogging")));
  std::string cfn = merge_json(records::assumed_role(kCt, "DeleteTrail"),
                               R"({"userIdentity":{"invokedBy":"cloudformation.amazonaws.com"},
                                   "sourceIPAddress":"cloudformation.amazonaws.com"})");
  h.feed(rec(kCt, "DeleteTrail", R"({"name":"stack-trail"})", "null", "{}", cfn));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, BreakGlassLowersByOne) {
  harness h(&th_module_entry_v1);
  h.config("break_glass_principals = [\"arn:aws:iam::111122223333:user/alice\"]\n");
  h.feed(stop_logging());
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-logging-stopped"), 1u);
  auto f = h.findings("cloudtrail-logging-stopped")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("breakGlass"), "true");
}

TEST(DefenseEvasion, DeleteTrailIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "DeleteTrail", R"({"name":"org-trail"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-deleted"), 1u);
  auto f = h.findings("cloudtrail-trail-deleted")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("name"), "org-trail");
}

TEST(DefenseEvasion, DeleteEventDataStoreIsTrailDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(
      rec(kCt, "DeleteEventDataStore",
          R"({"eventDataStore":"arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds1"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-deleted"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-deleted")[0].severity, "high");
}

TEST(DefenseEvasion, TrailCreatedAndDeletedByItsCreatorIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-20T09:50:00Z"));
  h.feed(rec(kCt, "DeleteTrail", R"({"name":"org-trail"})", "null", at("2026-11-20T10:00:00Z")));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-deleted"), 1u);
  auto f = h.findings("cloudtrail-trail-deleted")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("secondsAfterCreation"), "600");
}

TEST(DefenseEvasion, TrailDeletedByAnotherPrincipalStaysHigh) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-20T09:50:00Z"));
  h.feed(rec(kCt, "DeleteTrail", R"({"name":"org-trail"})", "null", at("2026-11-20T10:00:00Z"),
             records::assumed_role(kCt, "DeleteTrail")));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-deleted"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-deleted")[0].severity, "high");
}

// ------------------------------------------------------------------------------------------
// defense-evasion-attempt-denied
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, DeniedStopLoggingIsAttempt) {
  harness h(&th_module_entry_v1);
  h.feed(stop_logging(kDenied));
  h.finish();
  EXPECT_EQ(h.count("cloudtrail-logging-stopped"), 0u);
  ASSERT_EQ(h.count("defense-evasion-attempt-denied"), 1u);
  auto f = h.findings("defense-evasion-attempt-denied")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("attemptedRule"), "cloudtrail-logging-stopped");
  EXPECT_EQ(f.evidence("errorCode"), "AccessDenied");
  EXPECT_EQ(f.evidence("eventName"), "StopLogging");
  EXPECT_EQ(f.evidence("accessKeyId"), "AKIAEXAMPLEALICE0001");
  EXPECT_NE(f.evidence("attempt").find("org-trail"), std::string::npos);
}

TEST(DefenseEvasion, DeniedAttemptsAreReportedOncePerWindow) {
  harness h(&th_module_entry_v1);
  h.feed(stop_logging(merge_json(kDenied, at("2026-11-20T10:00:00Z"))));
  h.feed(stop_logging(merge_json(kDenied, at("2026-11-20T10:05:00Z"))));
  h.feed(stop_logging(merge_json(kDenied, at("2026-11-20T10:10:00Z"))));
  h.feed(rec(kCt, "DeleteTrail", R"({"name":"org-trail"})", "null",
             merge_json(R"({"errorCode":"AccessDeniedException"})", at("2026-11-20T10:11:00Z"))));
  h.feed(stop_logging(merge_json(kDenied, at("2026-11-20T12:30:00Z"))));
  h.finish();
  EXPECT_EQ(h.count("defense-evasion-attempt-denied"), 3u);
}

TEST(DefenseEvasion, NonPermissionErrorsAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(stop_logging(R"({"errorCode":"TrailNotFoundException","errorMessage":"Unknown trail"})"));
  h.feed(rec(kGd, "DeleteDetector", R"({"detectorId":"12abc"})", "null",
             R"({"errorCode":"BadRequestException"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, DeniedBenignActionIsNotAnAttempt) {
  harness h(&th_module_entry_v1);
  // Re-enabling things or deleting a Lambda log group is not evasion, denied or not.
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup", R"({"logGroupName":"/aws/lambda/resize"})",
             "null", kDenied));
  h.feed(rec(kGd, "UpdateDetector", R"({"detectorId":"12abc","enable":true})", "null", kDenied));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// cloudtrail-trail-weakened
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, UpdateTrailDisablesMultiRegionKnownIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"org-trail","isMultiRegionTrail":false})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  auto f = h.findings("cloudtrail-trail-weakened")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("isMultiRegionTrail"), "false");
  EXPECT_NE(f.summary.find("multi-region"), std::string::npos);
}

TEST(DefenseEvasion, UpdateTrailByArnMatchesKnownTrail) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(rec(kCt, "UpdateTrail",
             std::string(R"({"name":")") + kTrailArn + R"(","isMultiRegionTrail":false})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-weakened")[0].severity, "high");
}

TEST(DefenseEvasion, DeniedAttemptByBreakGlassIsLow) {
  harness h(&th_module_entry_v1);
  h.config("break_glass_principals = [\"arn:aws:iam::111122223333:role/Deploy\"]\n");
  h.feed(rec(kGd, "DeleteDetector", R"({"detectorId":"12abc"})", "null", kDenied,
             records::assumed_role(kGd, "DeleteDetector")));
  h.finish();
  ASSERT_EQ(h.count("defense-evasion-attempt-denied"), 1u);
  auto f = h.findings("defense-evasion-attempt-denied")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("attemptedRule"), "guardduty-detector-deleted");
}

TEST(DefenseEvasion, UpdateTrailDisablesMultiRegionUnknownIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"org-trail","isMultiRegionTrail":false})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-weakened")[0].severity, "medium");
}

TEST(DefenseEvasion, UpdateTrailKeepingSingleRegionIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "CreateTrail",
             R"({"name":"dev-trail","s3BucketName":"dev-logs","isMultiRegionTrail":false})",
             R"({"name":"dev-trail","s3BucketName":"dev-logs","isMultiRegionTrail":false,
                 "trailARN":"arn:aws:cloudtrail:us-east-1:111122223333:trail/dev-trail"})",
             at("2026-11-18T10:00:00Z")));
  h.feed(rec(kCt, "UpdateTrail",
             R"({"name":"dev-trail","isMultiRegionTrail":false,"s3BucketName":"dev-logs"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, UpdateTrailDisablesValidationAndGlobalEvents) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(rec(
      kCt, "UpdateTrail",
      R"({"name":"org-trail","enableLogFileValidation":false,"includeGlobalServiceEvents":"false"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  auto f = h.findings("cloudtrail-trail-weakened")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("enableLogFileValidation"), "false");
  EXPECT_EQ(f.evidence("includeGlobalServiceEvents"), "false");
}

TEST(DefenseEvasion, UpdateTrailValidationOffUnknownPriorIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"org-trail","enableLogFileValidation":false})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-weakened")[0].severity, "low");
}

TEST(DefenseEvasion, UpdateTrailMovesBucket) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"org-trail","s3BucketName":"attacker-bucket-9"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  auto f = h.findings("cloudtrail-trail-weakened")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("s3BucketName"), "attacker-bucket-9");
  EXPECT_EQ(f.evidence("previousS3BucketName"), "acme-org-logs");
}

TEST(DefenseEvasion, UpdateTrailBucketUnknownPriorIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"org-trail","s3BucketName":"other-logs"})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-weakened")[0].severity, "low");
}

TEST(DefenseEvasion, UpdateTrailBenignChangesAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  // Same bucket re-applied, hardening flags on, SNS topic changed.
  h.feed(rec(kCt, "UpdateTrail",
             R"({"name":"org-trail","s3BucketName":"acme-org-logs","isMultiRegionTrail":true,
                 "enableLogFileValidation":true,"includeGlobalServiceEvents":true,"snsTopicName":"t"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, UpdateTrailRemovesCloudWatchLogs) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "UpdateTrail",
             R"({"name":"org-trail","cloudWatchLogsLogGroupArn":"","cloudWatchLogsRoleArn":""})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-trail-weakened"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-trail-weakened")[0].severity, "medium");
}

// ------------------------------------------------------------------------------------------
// cloudtrail-event-selectors-reduced
// ------------------------------------------------------------------------------------------
namespace {
std::string selectors(std::string_view body, std::string_view extra = "{}",
                      std::string_view trail = "org-trail") {
  return rec(
      kCt, "PutEventSelectors",
      std::string(R"({"trailName":")") + std::string(trail) + "\"," + std::string(body) + "}",
      "null", extra);
}
}  // namespace

TEST(DefenseEvasion, SelectorsWithoutAnyEventsAreHigh) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(R"("eventSelectors":[{"readWriteType":"All","includeManagementEvents":false,
                       "dataResources":[],"excludeManagementEventSources":[]}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("trailName"), "org-trail");
  EXPECT_EQ(f.evidence("includesManagementEvents"), "false");
  EXPECT_NE(f.evidence("eventSelectors").find("includeManagementEvents"), std::string::npos);
}

TEST(DefenseEvasion, ReadOnlyManagementEventsAreHigh) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(
      R"("eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("readWriteType"), "ReadOnly");
}

TEST(DefenseEvasion, WriteOnlyOrAllManagementEventsAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(
      R"("eventSelectors":[{"readWriteType":"WriteOnly","includeManagementEvents":true}])"));
  h.feed(selectors(R"("eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,
      "dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3:::bucket/"]}]}])"));
  h.feed(selectors(R"("eventSelectors":[{"readWriteType":"ReadOnly","includeManagementEvents":true},
                                         {"readWriteType":"WriteOnly","includeManagementEvents":true}])"));
  h.feed(selectors(R"("eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,
                       "excludeManagementEventSources":["kms.amazonaws.com"]}])"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, DataOnlySelectorsDependOnWhatWeKnow) {
  const char* data_only =
      R"("eventSelectors":[{"readWriteType":"All","includeManagementEvents":false,
      "dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3:::secret-bucket/"]}]}])";
  {  // unknown trail: could be a dedicated data-events trail
    harness h(&th_module_entry_v1);
    h.feed(selectors(data_only));
    h.finish();
    ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
    EXPECT_EQ(h.findings("cloudtrail-event-selectors-reduced")[0].severity, "low");
  }
  {  // established trail that logged management events
    harness h(&th_module_entry_v1);
    h.feed(create_trail("2026-11-18T10:00:00Z"));
    h.feed(selectors(data_only));
    h.finish();
    ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
    auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
    EXPECT_EQ(f.severity, "high");
    EXPECT_EQ(f.evidence("includesDataEvents"), "true");
  }
  {  // a data-events trail being set up
    harness h(&th_module_entry_v1);
    h.feed(create_trail("2026-11-20T09:58:00Z"));
    h.feed(selectors(data_only, at("2026-11-20T10:00:00Z")));
    h.finish();
    EXPECT_EQ(h.count("cloudtrail-event-selectors-reduced"), 0u);
  }
}

TEST(DefenseEvasion, AdvancedSelectorsWithoutManagement) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(selectors(R"("advancedEventSelectors":[{"name":"S3 data","fieldSelectors":[
      {"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_NE(f.evidence("advancedEventSelectors").find("Data"), std::string::npos);
}

TEST(DefenseEvasion, AdvancedSelectorsReadOnlyManagement) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(R"("advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[
      {"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-event-selectors-reduced")[0].severity, "high");
}

TEST(DefenseEvasion, AdvancedSelectorsSourceAllowListIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(R"("advancedEventSelectors":[{"name":"bedrock","fieldSelectors":[
      {"field":"eventCategory","equals":["Management"]},
      {"field":"eventSource","equals":["bedrock.amazonaws.com"]}]}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("eventSourceAllowList").find("bedrock.amazonaws.com"), std::string::npos);
}

TEST(DefenseEvasion, AdvancedSelectorsExcludingIamIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(R"("advancedEventSelectors":[{"name":"mgmt","fieldSelectors":[
      {"field":"eventCategory","equals":["Management"]},
      {"field":"eventSource","notEquals":["iam.amazonaws.com","kms.amazonaws.com"]}]}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-event-selectors-reduced"), 1u);
  auto f = h.findings("cloudtrail-event-selectors-reduced")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("excludedEventSources").find("iam.amazonaws.com"), std::string::npos);
  EXPECT_EQ(f.evidence("excludedEventSources").find("kms"), std::string::npos);
}

TEST(DefenseEvasion, AdvancedSelectorsBenignShapesAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(selectors(R"("advancedEventSelectors":[{"name":"Management events selector",
      "fieldSelectors":[{"field":"eventCategory","equals":["Management"]}]}])"));
  h.feed(selectors(R"("advancedEventSelectors":[
      {"name":"mgmt","fieldSelectors":[{"field":"eventCategory","equals":["Management"]},
        {"field":"eventSource","notEquals":["kms.amazonaws.com","rdsdata.amazonaws.com"]}]},
      {"name":"S3","fieldSelectors":[{"field":"eventCategory","equals":["Data"]},
        {"field":"resources.type","equals":["AWS::S3::Object"]}]}])"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// cloudtrail-log-bucket-short-expiration
// ------------------------------------------------------------------------------------------
namespace {
std::string lifecycle(std::string_view bucket, std::string_view rules) {
  return rec(
      "s3.amazonaws.com", "PutBucketLifecycle",
      std::string(R"({"bucketName":")") + std::string(bucket) +
          R"(","Host":"s3.amazonaws.com","lifecycle":"","LifecycleConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Rule":)" +
          std::string(rules) + "}}");
}
}  // namespace

TEST(DefenseEvasion, ShortExpirationOnKnownTrailBucketIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(lifecycle(
      "acme-org-logs",
      R"([{"ID":"purge","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":1}}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-log-bucket-short-expiration"), 1u);
  auto f = h.findings("cloudtrail-log-bucket-short-expiration")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("bucketName"), "acme-org-logs");
  EXPECT_EQ(f.evidence("expirationDays"), "1");
  EXPECT_EQ(f.evidence("ruleId"), "purge");
  EXPECT_EQ(f.evidence("knownLogBucketOfTrail"), "org-trail");
}

TEST(DefenseEvasion, ShortExpirationOnPatternBucketIsMedium) {
  harness h(&th_module_entry_v1);
  h.feed(lifecycle("corp-CloudTrail-archive",
                   R"({"ID":"r1","Status":"Enabled","Prefix":"","Expiration":{"Days":"3"}})"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-log-bucket-short-expiration"), 1u);
  auto f = h.findings("cloudtrail-log-bucket-short-expiration")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("matchedPattern"), "*cloudtrail*");
}

TEST(DefenseEvasion, BucketLearnedFromPolicyIsHigh) {
  harness h(&th_module_entry_v1);
  h.feed(rec("s3.amazonaws.com", "PutBucketPolicy",
             R"({"bucketName":"org-central-7","bucketPolicy":{"Version":"2012-10-17","Statement":[
                 {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
                  "Action":"s3:PutObject","Resource":"arn:aws:s3:::org-central-7/AWSLogs/*"}]},"policy":""})",
             "null", at("2026-11-19T10:00:00Z")));
  h.feed(lifecycle("org-central-7",
                   R"([{"ID":"x","Status":"Enabled","Filter":{},"Expiration":{"Days":2}}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-log-bucket-short-expiration"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-log-bucket-short-expiration")[0].severity, "high");
}

TEST(DefenseEvasion, LifecycleBenignLookAlikesAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  // Long retention, disabled rule, transitions only, and a short expiry on an unrelated bucket.
  h.feed(lifecycle(
      "acme-org-logs",
      R"([{"ID":"keep","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":365}},
                       {"ID":"off","Status":"Disabled","Filter":{"Prefix":""},"Expiration":{"Days":1}},
                       {"ID":"glacier","Status":"Enabled","Filter":{"Prefix":""},
                        "Transition":{"Days":30,"StorageClass":"GLACIER"}}])"));
  h.feed(lifecycle(
      "app-build-artifacts",
      R"([{"ID":"tmp","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":1}}])"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, ShortExpirationOnOtherPrefixIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail("2026-11-18T10:00:00Z"));
  h.feed(lifecycle(
      "acme-org-logs",
      R"([{"ID":"tmp","Status":"Enabled","Filter":{"Prefix":"tmp/"},"Expiration":{"Days":1}}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-log-bucket-short-expiration"), 1u);
  auto f = h.findings("cloudtrail-log-bucket-short-expiration")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("prefix"), "tmp/");
}

TEST(DefenseEvasion, LifecycleParamsAreHonoured) {
  harness h(&th_module_entry_v1);
  h.config(std::string(kParams) + "lifecycle_max_days = 30\nlog_bucket_patterns = [\"siem-*\"]\n");
  h.feed(lifecycle(
      "siem-ingest",
      R"([{"ID":"r","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":30}}])"));
  h.feed(lifecycle(
      "corp-cloudtrail-logs",
      R"([{"ID":"r","Status":"Enabled","Filter":{"Prefix":""},"Expiration":{"Days":1}}])"));
  h.finish();
  ASSERT_EQ(h.count("cloudtrail-log-bucket-short-expiration"), 1u);
  EXPECT_EQ(h.findings("cloudtrail-log-bucket-short-expiration")[0].evidence("bucketName"),
            "siem-ingest");
}

// ------------------------------------------------------------------------------------------
// cloudtrail-kms-key-disabled
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, TrailKmsKeyScheduledForDeletion) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail(
      "2026-11-18T10:00:00Z",
      R"("kmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")"));
  h.feed(rec("kms.amazonaws.com", "ScheduleKeyDeletion",
             R"({"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":7})"));
  h.feed(rec(
      "kms.amazonaws.com", "DisableKey",
      R"({"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab"})"));
  h.finish();
  auto fs = h.findings("cloudtrail-kms-key-disabled");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("trail"), "org-trail");
  EXPECT_EQ(fs[0].evidence("pendingWindowInDays"), "7");
}

TEST(DefenseEvasion, OtherKmsKeysAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec("kms.amazonaws.com", "ScheduleKeyDeletion",
             R"({"keyId":"99999999-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":30})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

// ------------------------------------------------------------------------------------------
// GuardDuty
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, GuardDutyDetectorDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "DeleteDetector", R"({"detectorId":"12abc34d567e8fa901bc2d34e56789f0"})"));
  h.finish();
  ASSERT_EQ(h.count("guardduty-detector-deleted"), 1u);
  auto f = h.findings("guardduty-detector-deleted")[0];
  EXPECT_EQ(f.severity, "high");
  EXPECT_EQ(f.evidence("detectorId"), "12abc34d567e8fa901bc2d34e56789f0");
}

TEST(DefenseEvasion, GuardDutyDetectorSuspended) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "UpdateDetector", R"({"detectorId":"12abc","enable":false})"));
  h.finish();
  ASSERT_EQ(h.count("guardduty-detector-suspended"), 1u);
  EXPECT_EQ(h.findings("guardduty-detector-suspended")[0].severity, "high");
}

TEST(DefenseEvasion, GuardDutyBenignUpdatesAreQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec(
      kGd, "UpdateDetector",
      R"({"detectorId":"12abc","enable":true,"findingPublishingFrequency":"FIFTEEN_MINUTES"})"));
  h.feed(rec(
      kGd, "UpdateDetector",
      R"({"detectorId":"12abc","features":[{"name":"RUNTIME_MONITORING","status":"ENABLED"}]})"));
  h.feed(rec(kGd, "CreateFilter",
             R"({"detectorId":"12abc","name":"notify-only","action":"NOOP",
                 "findingCriteria":{"criterion":{"severity":{"gte":7}}}})"));
  h.feed(rec(
      kGd, "CreateIPSet",
      R"({"detectorId":"12abc","name":"staged","format":"TXT","location":"s3://b/ips.txt","activate":false})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, GuardDutyProtectionDisabledIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "UpdateDetector",
             R"({"detectorId":"12abc","dataSources":{"s3Logs":{"enable":false}},
                 "features":[{"name":"EKS_AUDIT_LOGS","status":"DISABLED"}]})"));
  h.finish();
  ASSERT_EQ(h.count("guardduty-protection-disabled"), 1u);
  auto f = h.findings("guardduty-protection-disabled")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_NE(f.evidence("disabledFeatures").find("S3_DATA_EVENTS"), std::string::npos);
  EXPECT_NE(f.evidence("disabledFeatures").find("EKS_AUDIT_LOGS"), std::string::npos);
}

TEST(DefenseEvasion, GuardDutyMemberLeavesAdministrator) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "DisassociateFromAdministratorAccount", R"({"detectorId":"12abc"})"));
  h.feed(rec(kGd, "DisassociateFromMasterAccount", R"({"detectorId":"12abc"})"));
  h.finish();
  auto fs = h.findings("guardduty-disassociated-from-administrator");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
}

TEST(DefenseEvasion, GuardDutyMembersRemoved) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "DeleteMembers", R"({"detectorId":"12abc","accountIds":["444455556666"]})"));
  h.feed(
      rec(kGd, "StopMonitoringMembers", R"({"detectorId":"12abc","accountIds":["777788889999"]})"));
  h.finish();
  auto fs = h.findings("guardduty-members-removed");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_NE(fs[0].evidence("accountIds").find("444455556666"), std::string::npos);
}

TEST(DefenseEvasion, GuardDutyArchiveFilter) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kGd, "CreateFilter",
             R"({"detectorId":"12abc","name":"hide-recon","action":"ARCHIVE","rank":1,
                 "findingCriteria":{"criterion":{"type":{"eq":["Recon:IAMUser/MaliciousIPCaller"]}}}})"));
  h.feed(rec(
      kGd, "UpdateFilter",
      R"({"detectorId":"12abc","filterName":"hide-all","action":"archive","findingCriteria":{"criterion":{}}})"));
  h.finish();
  auto fs = h.findings("guardduty-findings-auto-archived");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("name"), "hide-recon");
  EXPECT_NE(fs[0].evidence("findingCriteria").find("Recon:IAMUser"), std::string::npos);
  EXPECT_EQ(fs[1].severity, "high");
  EXPECT_EQ(fs[1].evidence("name"), "hide-all");
}

TEST(DefenseEvasion, GuardDutyIpListChanges) {
  harness h(&th_module_entry_v1);
  h.feed(rec(
      kGd, "CreateIPSet",
      R"({"detectorId":"12abc","name":"trusted","format":"TXT","location":"https://s3.amazonaws.com/b/ips.txt","activate":true})",
      R"({"ipSetId":"ips-1"})"));
  h.feed(rec(kGd, "DeleteIPSet", R"({"detectorId":"12abc","ipSetId":"ips-1"})"));
  h.feed(rec(kGd, "DeleteThreatIntelSet", R"({"detectorId":"12abc","threatIntelSetId":"tis-1"})"));
  h.finish();
  auto fs = h.findings("guardduty-ip-list-changed");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("location"), "https://s3.amazonaws.com/b/ips.txt");
  EXPECT_EQ(fs[0].evidence("ipSetId"), "ips-1");
  EXPECT_EQ(fs[1].severity, "low");
  EXPECT_EQ(fs[2].severity, "medium");
}

// ------------------------------------------------------------------------------------------
// Config, flow logs, log groups, DNS logs, Security Hub, Access Analyzer, organizations, alarms
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, ConfigRecordingDisabled) {
  harness h(&th_module_entry_v1);
  h.feed(rec("config.amazonaws.com", "StopConfigurationRecorder",
             R"({"configurationRecorderName":"default"})"));
  h.feed(
      rec("config.amazonaws.com", "DeleteDeliveryChannel", R"({"deliveryChannelName":"default"})"));
  h.feed(rec("config.amazonaws.com", "DeleteConfigurationRecorder",
             R"({"configurationRecorderName":"default"})"));
  h.finish();
  auto fs = h.findings("config-recording-disabled");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[0].evidence("configurationRecorderName"), "default");
  EXPECT_EQ(fs[1].evidence("deliveryChannelName"), "default");
}

TEST(DefenseEvasion, FlowLogsDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(rec("ec2.amazonaws.com", "DeleteFlowLogs",
             R"({"DeleteFlowLogsRequest":{"FlowLogId":{"content":"fl-0a1b2c3d4e5f","tag":1}}})"));
  h.feed(rec(
      "ec2.amazonaws.com", "DeleteFlowLogs",
      R"({"DeleteFlowLogsRequest":{"FlowLogId":[{"content":"fl-1","tag":1},{"content":"fl-2","tag":2}]}})"));
  h.finish();
  auto fs = h.findings("vpc-flow-logs-deleted");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_NE(fs[0].evidence("flowLogIds").find("fl-0a1b2c3d4e5f"), std::string::npos);
  EXPECT_NE(fs[1].evidence("flowLogIds").find("fl-2"), std::string::npos);
}

TEST(DefenseEvasion, LogGroupDeletionGraded) {
  harness h(&th_module_entry_v1);
  h.feed(create_trail(
      "2026-11-18T10:00:00Z",
      R"("cloudWatchLogsLogGroupArn":"arn:aws:logs:us-east-1:111122223333:log-group:OrgTrail/Events:*")"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup", R"({"logGroupName":"OrgTrail/Events"})"));
  h.feed(
      rec("logs.amazonaws.com", "DeleteLogGroup", R"({"logGroupName":"/aws/vpc/flowlogs-prod"})"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup", R"({"logGroupName":"orders-service"})"));
  h.finish();
  auto fs = h.findings("log-group-deleted");
  ASSERT_EQ(fs.size(), 3u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("trail"), "org-trail");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("matchedPattern"), "*flowlog*");
  EXPECT_EQ(fs[2].severity, "low");
}

TEST(DefenseEvasion, LambdaLogGroupCleanupIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup",
             R"({"logGroupName":"/aws/lambda/security-notifier"})"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup",
             R"({"logGroupName":"/aws/codebuild/audit-build"})"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogStream",
             R"({"logGroupName":"/aws/lambda/x","logStreamName":"2026/11/20/[$LATEST]abc"})"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogStream",
             R"({"logGroupName":"orders-service","logStreamName":"i-0abc"})"));
  h.finish();
  EXPECT_TRUE(h.findings().empty());
}

TEST(DefenseEvasion, SecurityLogStreamDeletedIsLow) {
  harness h(&th_module_entry_v1);
  h.feed(rec("logs.amazonaws.com", "DeleteLogStream",
             R"({"logGroupName":"guardduty-findings","logStreamName":"2026-11-20"})"));
  h.finish();
  ASSERT_EQ(h.count("log-group-deleted"), 1u);
  auto f = h.findings("log-group-deleted")[0];
  EXPECT_EQ(f.severity, "low");
  EXPECT_EQ(f.evidence("logStreamName"), "2026-11-20");
}

TEST(DefenseEvasion, DnsQueryLoggingRemoved) {
  harness h(&th_module_entry_v1);
  h.feed(rec("route53resolver.amazonaws.com", "DeleteResolverQueryLogConfig",
             R"({"resolverQueryLogConfigId":"rqlc-8ca61fe7c055415a"})"));
  h.feed(rec("route53resolver.amazonaws.com", "DisassociateResolverQueryLogConfig",
             R"({"resolverQueryLogConfigId":"rqlc-8ca61fe7c055415a","resourceId":"vpc-0abc"})"));
  h.finish();
  auto fs = h.findings("dns-query-logging-disabled");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "medium");
  EXPECT_EQ(fs[1].evidence("resourceId"), "vpc-0abc");
}

TEST(DefenseEvasion, SecurityHubDisabled) {
  harness h(&th_module_entry_v1);
  h.feed(rec("securityhub.amazonaws.com", "DisableSecurityHub", "{}"));
  h.feed(rec(
      "securityhub.amazonaws.com", "BatchDisableStandards",
      R"({"standardsSubscriptionArns":["arn:aws:securityhub:us-east-1:111122223333:subscription/cis-aws-foundations-benchmark/v/1.2.0"]})"));
  h.finish();
  auto fs = h.findings("security-hub-disabled");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_NE(fs[1].evidence("standardsSubscriptionArns").find("cis-aws"), std::string::npos);
}

TEST(DefenseEvasion, AccessAnalyzerDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(
      rec("access-analyzer.amazonaws.com", "DeleteAnalyzer", R"({"analyzerName":"org-analyzer"})"));
  h.finish();
  ASSERT_EQ(h.count("access-analyzer-deleted"), 1u);
  auto f = h.findings("access-analyzer-deleted")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_EQ(f.evidence("analyzerName"), "org-analyzer");
}

TEST(DefenseEvasion, LeftOrganization) {
  harness h(&th_module_entry_v1);
  h.feed(rec("organizations.amazonaws.com", "LeaveOrganization", "null"));
  h.feed(rec("organizations.amazonaws.com", "RemoveAccountFromOrganization",
             R"({"accountId":"444455556666"})"));
  h.finish();
  auto fs = h.findings("left-organization");
  ASSERT_EQ(fs.size(), 2u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_NE(std::find(fs[0].mitre.begin(), fs[0].mitre.end(), "T1666"), fs[0].mitre.end());
  EXPECT_EQ(fs[1].severity, "medium");
  EXPECT_EQ(fs[1].evidence("accountId"), "444455556666");
}

TEST(DefenseEvasion, SecurityAlarmsDeleted) {
  harness h(&th_module_entry_v1);
  h.feed(rec("monitoring.amazonaws.com", "DeleteAlarms",
             R"({"alarmNames":["CIS-3.1-UnauthorizedAPICalls","orders-cpu-high"]})"));
  h.feed(rec("monitoring.amazonaws.com", "DeleteAlarms", R"({"alarmNames":["orders-cpu-high"]})"));
  h.finish();
  ASSERT_EQ(h.count("security-alarms-deleted"), 1u);
  auto f = h.findings("security-alarms-deleted")[0];
  EXPECT_EQ(f.severity, "medium");
  EXPECT_NE(f.evidence("alarmNames").find("UnauthorizedAPICalls"), std::string::npos);
  EXPECT_EQ(f.evidence("alarmNames").find("orders-cpu-high"), std::string::npos);
}

// ------------------------------------------------------------------------------------------
// Robustness: malformed shapes neither crash, nor raise errors, nor fire
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, MalformedRequestsAreIgnored) {
  harness h(&th_module_entry_v1);
  h.feed(rec(kCt, "UpdateTrail", R"("string")"));
  h.feed(rec(kCt, "UpdateTrail", R"({"name":"t","isMultiRegionTrail":"maybe"})"));
  h.feed(rec(kCt, "PutEventSelectors", R"({"trailName":"t"})"));
  h.feed(rec(kCt, "CreateTrail", R"({"name":7})", R"({"trailARN":["x"]})"));
  h.feed(rec("s3.amazonaws.com", "PutBucketLifecycle",
             R"({"bucketName":"corp-cloudtrail","LifecycleConfiguration":{"Rule":"x"}})"));
  h.feed(rec(
      "s3.amazonaws.com", "PutBucketLifecycle",
      R"({"bucketName":"corp-cloudtrail","LifecycleConfiguration":{"Rule":[{"Expiration":{"Days":"soon"}}]}})"));
  h.feed(rec(kGd, "UpdateDetector", R"({"detectorId":"d","features":"all"})"));
  h.feed(rec("logs.amazonaws.com", "DeleteLogGroup", R"({"logGroupName":["x"]})"));
  h.feed(rec("kms.amazonaws.com", "DisableKey", "{}"));
  h.feed(rec("monitoring.amazonaws.com", "DeleteAlarms", R"({"alarmNames":"security"})"));
  h.finish();
  EXPECT_TRUE(h.errors().empty());
  // The single-string alarm list is still a list of one security alarm.
  EXPECT_EQ(h.count("security-alarms-deleted"), 1u);
  EXPECT_EQ(h.findings().size(), 1u);
}

// ------------------------------------------------------------------------------------------
// order independence: records of one file are unordered, files arrive minutes apart
// ------------------------------------------------------------------------------------------
TEST(DefenseEvasion, KeyDeletionReadBeforeTheTrailSettingThatNamesIt) {
  harness h(&th_module_entry_v1);
  h.feed(rec(
      "kms.amazonaws.com", "ScheduleKeyDeletion",
      R"({"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":7})",
      "null", at("2026-11-20T10:02:30Z")));
  // the UpdateTrail whose response names the key, 2.5 minutes earlier, read afterwards
  h.feed(rec(
      kCt, "UpdateTrail",
      std::string(R"({"name":")") + kTrailArn + R"(","isMultiRegionTrail":false})",
      R"({"name":"org-trail","s3BucketName":"acme-org-logs","isMultiRegionTrail":false,"kmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"})",
      at("2026-11-20T10:00:00Z")));
  h.finish();
  auto fs = h.findings("cloudtrail-kms-key-disabled");
  ASSERT_EQ(fs.size(), 1u);
  EXPECT_EQ(fs[0].severity, "high");
  EXPECT_EQ(fs[0].evidence("trail"), "org-trail");
  EXPECT_EQ(fs[0].evidence("pendingWindowInDays"), "7");
  EXPECT_EQ(fs[0].evidence("eventName"), "ScheduleKeyDeletion");
  EXPECT_EQ(fs[0].event_names[0], "ScheduleKeyDeletion");
}

TEST(DefenseEvasion, KeyDeletionLongBeforeTheKeyBecameATrailKeyIsQuiet) {
  harness h(&th_module_entry_v1);
  h.feed(rec("kms.amazonaws.com", "ScheduleKeyDeletion",
             R"({"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","pendingWindowInDays":30})", "null",
             at("2026-11-20T08:00:00Z")));
  h.feed(rec("s3.amazonaws.com", "PutBucketLifecycle", R"({"bucketName":"x"})", "null",
             at("2026-11-20T09:00:00Z")));  // event time moves on
  h.feed(create_trail(
      "2026-11-20T09:30:00Z",
      R"("kmsKeyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")"));
  h.finish();
  EXPECT_EQ(h.count("cloudtrail-kms-key-disabled"), 0u);
}

# SPDX-License-Identifier: Apache-2.0
"""Bulk benign traffic from pre-rendered templates (the fast path).

Every (actor, API call variant, region) is rendered once, at start-up, into a %-format string
whose holes are the actor's userIdentity JSON, eventTime, sourceIPAddress, requestID and eventID.
Per day only the actors' userIdentity strings (session keys, creation dates) and addresses
change; per event the generator picks a template with one bisect and fills five strings.
"""

import bisect
import json
import re
import zlib

from . import records as R
from . import util

M_UI = "@@U@@"
M_IP = "@@I@@"

FLAT = 0       # steady all day: applications, AWS services
BUSINESS = 1   # follows office hours and weekdays: humans, CI

_MARK_RE = re.compile(r'"@@U@@"|@@T@@|@@I@@|@@R@@|@@E@@')
_MARK_IDX = {'"@@U@@"': 0, "@@T@@": 1, "@@I@@": 2, "@@R@@": 3, "@@E@@": 4}
STD_ORDER = (0, 1, 2, 3, 4)


def compile_template(rec):
    """Rendered record with markers -> (%-format string, order of value indices)."""
    s = R.dumps(rec).replace("%", "%%")
    order = tuple(_MARK_IDX[m.group(0)] for m in _MARK_RE.finditer(s))
    return _MARK_RE.sub("%s", s), order


def is_read_only(name):
    return name.startswith(("Describe", "List", "Get", "Head", "Lookup", "BatchGet", "Search",
                            "Query", "Scan", "Decrypt", "AssumeRole", "Receive", "Filter", "GenerateDataKey",
                            "Select", "Check", "Estimate", "BatchCheck"))


class Spec:
    """One API call variant of an actor."""
    __slots__ = ("svc", "name", "req", "resp", "w", "ro", "cat", "extra", "res", "err", "s3rid",
                 "ua", "lookalike", "tls_host", "ip", "region_only", "no_tls", "version")

    def __init__(self, svc, name, req=None, resp=None, w=1.0, ro=None, cat="Management",
                 extra=None, res=None, err=None, s3rid=False, ua=None, lookalike=None,
                 tls_host=None, ip=None, region_only=None, no_tls=False, version="1.09"):
        self.svc, self.name, self.req, self.resp, self.w = svc, name, req, resp, w
        self.ro = is_read_only(name) if ro is None else ro
        self.cat, self.extra, self.res, self.err, self.s3rid = cat, extra, res, err, s3rid
        self.ua, self.lookalike, self.tls_host, self.ip = ua, lookalike, tls_host, ip
        self.region_only, self.no_tls, self.version = region_only, no_tls, version


class Actor:
    """A principal of the bulk traffic; its userIdentity/IP strings are set per day."""
    __slots__ = ("idx", "acct", "name", "cls", "share", "regions", "console", "ua_fn", "specs",
                 "principal", "day_ui", "tag")

    def __init__(self, acct, name, cls, share, regions, ua_fn, console=False, tag=None):
        self.acct, self.name, self.cls, self.share = acct, name, cls, share
        self.regions = regions      # [(region, weight)]
        self.ua_fn = ua_fn          # (svc, name) -> userAgent
        self.console = console
        self.specs = []
        self.principal = ""
        self.day_ui = None          # callable(day_ctx) -> (ui dict, ip) or None when idle
        self.tag = tag
        self.idx = -1


# ------------------------------------------------------------------------------- catalogues

def _ec2_items(key, ids):
    return {"items": [{key: i} for i in ids]}


def console_reads(a, rng):
    """What the console asks for when a person browses (read-only, many services)."""
    e = a.instances["us-east-1"]
    s = [
        Spec("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}, "maxResults": 1000}, w=4),
        Spec("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {},
                                               "filterSet": {}}, w=2),
        Spec("ec2", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}),
        Spec("ec2", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}),
        Spec("ec2", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}),
        Spec("ec2", "DescribeInstanceStatus", {"instancesSet": {}, "filterSet": {},
                                               "includeAllInstances": True}, w=2),
        Spec("ec2", "DescribeAddresses", {"publicIpsSet": {}, "allocationIdsSet": {},
                                          "filterSet": {}}),
        Spec("ec2", "DescribeInstanceTypes", {"instanceTypeSet": {}, "filterSet": {}}),
        Spec("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}, s3rid=True, w=2,
             extra=R.s3_extra(rng), tls_host="s3.amazonaws.com", version="1.08"),
        Spec("s3", "GetBucketLocation", {"bucketName": a.buckets["app"], "Host":
                                         "%s.s3.amazonaws.com" % a.buckets["app"], "location": ""},
             s3rid=True, extra=R.s3_extra(rng), version="1.08"),
        Spec("lambda", "ListFunctions20150331", None, w=2),
        Spec("lambda", "GetFunction20150331v2", {"functionName": "orders-api"}),
        Spec("logs", "DescribeLogGroups", {"limit": 50}, w=2),
        Spec("logs", "FilterLogEvents", {"logGroupName": "/aws/lambda/orders-api", "limit": 100,
                                         "interleaved": True}, w=2),
        Spec("monitoring", "GetMetricData", {"metricDataQueries": [
            {"id": "m1", "metricStat": {"metric": {"namespace": "AWS/EC2", "metricName":
                                                   "CPUUtilization", "dimensions": [
                                                       {"name": "InstanceId", "value": e[0]}]},
                                        "period": 300, "stat": "Average"}, "returnData": True}],
            "startTime": "Oct 31, 2026, 10:00:00 PM", "endTime": "Nov 1, 2026, 1:00:00 AM"}, w=3),
        Spec("monitoring", "DescribeAlarms", {"maxRecords": 100}),
        Spec("cloudformation", "DescribeStacks", None, w=2),
        Spec("iam", "ListRoles", {"maxItems": 1000}),
        Spec("iam", "GetRole", {"roleName": "app-orders"}),
        Spec("iam", "GetAccountSummary", None),
        Spec("rds", "DescribeDBInstances", {"maxRecords": 100}),
        Spec("dynamodb", "ListTables", {"limit": 100}),
        Spec("dynamodb", "DescribeTable", {"tableName": "orders"}),
        Spec("cloudtrail", "LookupEvents", {"maxResults": 50}),
        Spec("kms", "ListAliases", {"limit": 100}),
        Spec("ssm", "DescribeInstanceInformation", {"maxResults": 50}),
        Spec("ecs", "ListClusters", None),
        Spec("elasticloadbalancing", "DescribeLoadBalancers", {"pageSize": 400}),
        Spec("health", "DescribeEventAggregates", {"aggregateField": "eventTypeCategory",
                                                   "filter": {"eventStatusCodes": ["open",
                                                                                   "upcoming"]}}),
        Spec("ce", "GetCostAndUsage", {"timePeriod": {"start": "2026-10-01", "end": "2026-11-01"},
                                       "granularity": "MONTHLY", "metrics": ["UnblendedCost"]},
             w=0.5),
        Spec("ec2", "CreateTags", {"resourcesSet": _ec2_items("resourceId", [e[2]]), "tagSet": {
            "items": [{"key": "owner", "value": "platform"}]}},
             resp={"requestId": R.M_RID, "_return": True}, w=0.3),
        Spec("ec2", "StopInstances", {"instancesSet": _ec2_items("instanceId", [e[5]]),
                                      "force": False},
             resp={"requestId": R.M_RID, "instancesSet": {"items": [
                 {"instanceId": e[5], "currentState": {"code": 64, "name": "stopping"},
                  "previousState": {"code": 16, "name": "running"}}]}}, w=0.1),
        Spec("ec2", "StartInstances", {"instancesSet": _ec2_items("instanceId", [e[5]])},
             resp={"requestId": R.M_RID, "instancesSet": {"items": [
                 {"instanceId": e[5], "currentState": {"code": 0, "name": "pending"},
                  "previousState": {"code": 80, "name": "stopped"}}]}}, w=0.1),
    ]
    return s


def cli_ops(a, rng, user):
    f = a.functions
    return [
        Spec("sts", "GetCallerIdentity", None, w=1.5),
        Spec("s3", "ListBuckets", {"Host": "s3.amazonaws.com"}, s3rid=True, extra=R.s3_extra(rng),
             tls_host="s3.amazonaws.com", version="1.08"),
        Spec("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {"items": [
            {"name": "tag:Name", "valueSet": {"items": [{"value": "orders-*"}]}}]}}, w=2),
        Spec("logs", "FilterLogEvents", {"logGroupName": "/aws/lambda/%s" % f[0],
                                         "startTime": 1793520000000, "interleaved": True}, w=2),
        Spec("logs", "DescribeLogStreams", {"logGroupName": "/aws/lambda/%s" % f[1],
                                            "orderBy": "LastEventTime", "descending": True}),
        Spec("ecr", "DescribeRepositories", None),
        Spec("cloudformation", "DescribeStacks", {"stackName": "orders-service"}),
        Spec("lambda", "GetFunction20150331v2", {"functionName": f[1]}),
        Spec("ssm", "StartSession", {"target": a.instances["us-east-1"][1]},
             resp={"sessionId": "%s-%s" % (user, util.hexs(rng, 17)),
                   "tokenValue": "Value hidden due to security reasons.",
                   "streamUrl": "wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/"
                                "%s-%s?role=publish_subscribe" % (user, util.hexs(rng, 17))},
             w=0.3),
        Spec("eks", "DescribeCluster", {"name": "%s-eks" % a.env}),
        Spec("dynamodb", "DescribeTable", {"tableName": "orders"}),
        Spec("sqs", "GetQueueAttributes", {"queueUrl": "https://sqs.us-east-1.amazonaws.com/%s/orders"
                                           % a.id, "attributeNames": ["All"]}),
    ]


def app_ops(a, rng, role_name, session):
    """An EC2-hosted application: its own bucket, its own secret, its own parameters."""
    b = a.buckets["app"]
    specs = []
    for k in range(6):
        key = "orders/2026/11/%02d/batch-%04d.json" % (k + 1, rng.randrange(10000))
        specs.append(Spec("s3", "GetObject", {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b,
                                              "key": key},
                          cat="Data", s3rid=True, w=2.0, extra=R.s3_extra(rng, rng.randrange(900, 90000)),
                          res=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                               {"accountId": a.id, "type": "AWS::S3::Bucket",
                                "ARN": "arn:aws:s3:::%s" % b}], version="1.09"))
    for k in range(3):
        key = "receipts/%s.pdf" % util.uuid4(rng)
        specs.append(Spec("s3", "PutObject", {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b,
                                              "key": key, "x-amz-server-side-encryption": "aws:kms"},
                          resp={"x-amz-server-side-encryption": "aws:kms",
                                "x-amz-server-side-encryption-aws-kms-key-id":
                                    "arn:aws:kms:us-east-1:%s:key/%s" % (a.id, a.kms_key["us-east-1"])},
                          cat="Data", s3rid=True, w=1.0, ro=False,
                          extra=R.s3_extra(rng, 0, rng.randrange(2000, 200000)),
                          res=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                               {"accountId": a.id, "type": "AWS::S3::Bucket",
                                "ARN": "arn:aws:s3:::%s" % b}]))
    sec = a.secret_arns["%s/orders/db" % a.env]
    specs.append(Spec("secretsmanager", "GetSecretValue", {"secretId": sec}, w=2.0,
                      lookalike="app-same-secret-repeated"))
    for p in a.params:
        specs.append(Spec("ssm", "GetParameter", {"name": p, "withDecryption": True}, w=0.8,
                          lookalike="app-own-parameters-decrypted"))
    kms = "arn:aws:kms:us-east-1:%s:key/%s" % (a.id, a.kms_key["us-east-1"])
    specs.append(Spec("kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                         "encryptionContext": {"aws:s3:arn": "arn:aws:s3:::%s" % b}},
                      res=[{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": kms}], w=2.0))
    for op, req, ro in (("GetItem", {"tableName": "orders", "key": {"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                                     "consistentRead": False}, True),
                        ("PutItem", {"tableName": "orders", "key": {"pk": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
                         False),
                        ("Query", {"tableName": "orders", "indexName": "by-customer",
                                   "keyConditionExpression": "customer_id = :c", "limit": 50}, True)):
        specs.append(Spec("dynamodb", op, req, cat="Data", ro=ro, w=1.5,
                          res=[{"accountId": a.id, "type": "AWS::DynamoDB::Table",
                                "ARN": "arn:aws:dynamodb:us-east-1:%s:table/orders" % a.id}]))
    q = "https://sqs.us-east-1.amazonaws.com/%s/orders" % a.id
    specs.append(Spec("sqs", "ReceiveMessage", {"queueUrl": q, "maxNumberOfMessages": 10,
                                                "waitTimeSeconds": 20}, cat="Data", w=2.0,
                      res=[{"accountId": a.id, "type": "AWS::SQS::Queue",
                            "ARN": "arn:aws:sqs:us-east-1:%s:orders" % a.id}]))
    specs.append(Spec("sqs", "DeleteMessage", {"queueUrl": q, "receiptHandle": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                      cat="Data", ro=False, w=1.0,
                      res=[{"accountId": a.id, "type": "AWS::SQS::Queue",
                            "ARN": "arn:aws:sqs:us-east-1:%s:orders" % a.id}]))
    specs.append(Spec("sts", "GetCallerIdentity", None, w=0.05))
    # The one API this application is not allowed (a misconfigured feature flag read).
    denied = "/app/%s/shared/feature-flags" % a.env
    specs.append(Spec("ssm", "GetParameter", {"name": denied, "withDecryption": False}, w=0.04,
                      err=("AccessDeniedException",
                           "User: arn:aws:sts::%s:assumed-role/%s/%s is not authorized to perform: "
                           "ssm:GetParameter on resource: arn:aws:ssm:us-east-1:%s:parameter%s "
                           "because no identity-based policy allows the ssm:GetParameter action"
                           % (a.id, role_name, session, a.id, denied)),
                      lookalike="app-single-api-access-denied"))
    return specs


def payments_ops(a, rng):
    sec = a.secret_arns["%s/payments/stripe-api-key" % a.env]
    kms = "arn:aws:kms:us-east-1:%s:key/%s" % (a.id, a.kms_key["us-east-1"])
    return [
        Spec("secretsmanager", "GetSecretValue", {"secretId": sec}, w=2,
             lookalike="app-same-secret-repeated"),
        Spec("kms", "GenerateDataKey", {"keyId": kms, "keySpec": "AES_256",
                                        "encryptionContext": {"service": "payments"}},
             res=[{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": kms}], w=2),
        Spec("kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                                "encryptionContext": {"service": "payments"}},
             res=[{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": kms}], w=3),
        Spec("dynamodb", "GetItem", {"tableName": "payments", "key": {"id": "HIDDEN_DUE_TO_SECURITY_REASONS"}},
             cat="Data", w=3, res=[{"accountId": a.id, "type": "AWS::DynamoDB::Table",
                                    "ARN": "arn:aws:dynamodb:us-east-1:%s:table/payments" % a.id}]),
        Spec("dynamodb", "UpdateItem", {"tableName": "payments", "key": {"id": "HIDDEN_DUE_TO_SECURITY_REASONS"},
                                        "updateExpression": "SET #s = :s"},
             cat="Data", ro=False, w=2, res=[{"accountId": a.id, "type": "AWS::DynamoDB::Table",
                                              "ARN": "arn:aws:dynamodb:us-east-1:%s:table/payments" % a.id}]),
        Spec("sqs", "SendMessage", {"queueUrl": "https://sqs.us-east-1.amazonaws.com/%s/payments-events" % a.id,
                                    "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"},
             cat="Data", ro=False, w=2, res=[{"accountId": a.id, "type": "AWS::SQS::Queue",
                                              "ARN": "arn:aws:sqs:us-east-1:%s:payments-events" % a.id}]),
    ]


def reports_ops(a, rng):
    b = a.buckets["reports"]
    sec = a.secret_arns["%s/reports/warehouse" % a.env]
    specs = [Spec("secretsmanager", "GetSecretValue", {"secretId": sec}, w=1,
                  lookalike="app-same-secret-repeated"),
             Spec("athena", "StartQueryExecution", {"queryString": "SELECT date, sum(total) FROM orders "
                                                    "WHERE date > date_add('day', -1, current_date) "
                                                    "GROUP BY 1", "workGroup": "reports",
                                                    "clientRequestToken": util.uuid4(rng)},
                  resp={"queryExecutionId": util.uuid4(rng)}, ro=False, w=1),
             Spec("athena", "GetQueryExecution", {"queryExecutionId": util.uuid4(rng)}, w=3),
             Spec("athena", "GetQueryResults", {"queryExecutionId": util.uuid4(rng), "maxResults": 1000}, w=1),
             Spec("glue", "GetTable", {"databaseName": "analytics", "name": "orders"}, w=1)]
    for k in range(3):
        key = "daily/2026-11-%02d/summary-%d.csv" % (k + 1, k)
        specs.append(Spec("s3", "PutObject", {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b,
                                              "key": key},
                          cat="Data", ro=False, s3rid=True, extra=R.s3_extra(rng, 0, 40000),
                          res=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                               {"accountId": a.id, "type": "AWS::S3::Bucket",
                                "ARN": "arn:aws:s3:::%s" % b}]))
    return specs


def ci_ops(a, rng):
    stack = "orders-service"
    cs = "arn:aws:cloudformation:us-east-1:%s:changeSet/deploy-%s/%s" % (a.id, util.hexs(rng, 8),
                                                                          util.uuid4(rng))
    st = "arn:aws:cloudformation:us-east-1:%s:stack/%s/%s" % (a.id, stack, util.uuid4(rng))
    repo = "%s.dkr.ecr.us-east-1.amazonaws.com/orders-api" % a.id
    specs = [
        Spec("cloudformation", "DescribeStacks", {"stackName": stack}, w=3),
        Spec("cloudformation", "DescribeStackEvents", {"stackName": stack}, w=3),
        Spec("cloudformation", "GetTemplateSummary", {"stackName": stack}),
        Spec("cloudformation", "CreateChangeSet", {"stackName": stack, "changeSetName": "deploy-%s" % util.hexs(rng, 8),
                                                   "changeSetType": "UPDATE", "capabilities": ["CAPABILITY_IAM"],
                                                   "templateURL": "https://%s.s3.amazonaws.com/cfn/orders.yaml"
                                                   % a.buckets["artifacts"]},
             resp={"id": cs, "stackId": st}, w=0.6),
        Spec("cloudformation", "DescribeChangeSet", {"changeSetName": cs, "stackName": stack}, w=1.2),
        Spec("cloudformation", "ExecuteChangeSet", {"changeSetName": cs, "stackName": stack}, resp=None, w=0.5),
        Spec("ecr", "GetAuthorizationToken", None, w=1),
        Spec("ecr", "BatchCheckLayerAvailability", {"repositoryName": "orders-api", "registryId": a.id,
                                                    "layerDigests": ["sha256:" + util.hexs(rng, 64)]}, w=1.5),
        Spec("ecr", "InitiateLayerUpload", {"repositoryName": "orders-api", "registryId": a.id},
             resp={"uploadId": util.uuid4(rng), "partSize": 10485760}, w=0.8),
        Spec("ecr", "CompleteLayerUpload", {"repositoryName": "orders-api", "registryId": a.id,
                                            "uploadId": util.uuid4(rng),
                                            "layerDigests": ["sha256:" + util.hexs(rng, 64)]},
             resp={"registryId": a.id, "repositoryName": "orders-api", "uploadId": util.uuid4(rng),
                   "layerDigest": "sha256:" + util.hexs(rng, 64)}, w=0.8),
        Spec("ecr", "PutImage", {"repositoryName": "orders-api", "registryId": a.id, "imageTag": "sha-" + util.hexs(rng, 7),
                                 "imageManifest": "HIDDEN_DUE_TO_SECURITY_REASONS"},
             resp={"image": {"registryId": a.id, "repositoryName": "orders-api",
                             "imageId": {"imageDigest": "sha256:" + util.hexs(rng, 64),
                                         "imageTag": "sha-" + util.hexs(rng, 7)},
                             "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}},
             w=0.5, res=[{"accountId": a.id, "ARN": "arn:aws:ecr:us-east-1:%s:repository/orders-api" % a.id}]),
        Spec("lambda", "GetFunction20150331v2", {"functionName": a.functions[1]}, w=1),
    ]
    for fn in a.functions[:3]:
        specs.append(Spec("lambda", "UpdateFunctionCode20150331v2", {
            "functionName": fn, "s3Bucket": a.buckets["artifacts"], "s3Key": "lambda/%s/%s.zip" % (fn, util.hexs(rng, 40)),
            "publish": True, "dryRun": False},
            resp={"functionName": fn, "functionArn": "arn:aws:lambda:us-east-1:%s:function:%s:%d" % (a.id, fn, rng.randrange(20, 400)),
                  "runtime": "python3.11", "role": "arn:aws:iam::%s:role/service-role/reports-builder" % a.id,
                  "handler": "app.handler", "codeSize": rng.randrange(100000, 9000000), "timeout": 30,
                  "memorySize": 512, "lastModified": "2026-11-01T12:00:00.000+0000",
                  "codeSha256": util.b64(rng, 43) + "=", "version": str(rng.randrange(20, 400)),
                  "state": "Active", "lastUpdateStatus": "InProgress", "packageType": "Zip",
                  "architectures": ["x86_64"]},
            ro=False, w=0.4, lookalike="ci-lambda-code-deploy"))
    for k in range(3):
        key = "builds/%s/orders-api-%s.zip" % (util.hexs(rng, 40), k)
        b = a.buckets["artifacts"]
        specs.append(Spec("s3", "PutObject", {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b, "key": key},
                          cat="Data", ro=False, s3rid=True, extra=R.s3_extra(rng, 0, rng.randrange(10 ** 5, 10 ** 7)),
                          res=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                               {"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}]))
    return specs


def config_ops(a, rng):
    specs = []
    for svc, name, req in (
            ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
            ("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}),
            ("ec2", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}),
            ("ec2", "DescribeNetworkInterfaces", {"networkInterfaceIdSet": {}, "filterSet": {}}),
            ("ec2", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}),
            ("ec2", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}),
            ("ec2", "DescribeRouteTables", {"routeTableIdSet": {}, "filterSet": {}}),
            ("iam", "GetRole", {"roleName": "app-orders"}),
            ("iam", "ListAttachedRolePolicies", {"roleName": "app-orders"}),
            ("iam", "GetPolicy", {"policyArn": "arn:aws:iam::%s:policy/orders-data-access" % a.id}),
            ("s3", "GetBucketAcl", {"bucketName": a.buckets["app"], "Host": "%s.s3.amazonaws.com" % a.buckets["app"], "acl": ""}),
            ("s3", "GetBucketPolicy", {"bucketName": a.buckets["app"], "Host": "%s.s3.amazonaws.com" % a.buckets["app"], "policy": ""}),
            ("s3", "GetBucketVersioning", {"bucketName": a.buckets["logs"], "Host": "%s.s3.amazonaws.com" % a.buckets["logs"], "versioning": ""}),
            ("s3", "GetBucketEncryption", {"bucketName": a.buckets["customer"], "Host": "%s.s3.amazonaws.com" % a.buckets["customer"], "encryption": ""}),
            ("lambda", "GetFunction20150331v2", {"functionName": a.functions[0]}),
            ("rds", "DescribeDBInstances", {"maxRecords": 100}),
            ("config", "PutEvaluations", {"evaluations": [{"complianceResourceType": "AWS::EC2::SecurityGroup",
                                                           "complianceResourceId": a.sgs["us-east-1"][0],
                                                           "complianceType": "COMPLIANT",
                                                           "orderingTimestamp": "Nov 1, 2026, 1:00:00 AM"}],
                                          "resultToken": "HIDDEN_DUE_TO_SECURITY_REASONS"})):
        s3 = svc == "s3"
        specs.append(Spec(svc, name, req, s3rid=s3, extra=R.s3_extra(rng) if s3 else None,
                          w=3 if name == "GetBucketAcl" else 1, ro=name != "PutEvaluations",
                          lookalike="config-service-describe", no_tls=True, version="1.08"))
    return specs


def autoscaling_ops(a, rng):
    return [Spec("ec2", "DescribeInstanceStatus", {"instancesSet": {}, "filterSet": {}, "includeAllInstances": False},
                 w=3, no_tls=True),
            Spec("ec2", "DescribeInstances", {"instancesSet": _ec2_items("instanceId", a.instances["us-east-1"][:3]),
                                              "filterSet": {}}, no_tls=True),
            Spec("elasticloadbalancing", "DescribeTargetHealth",
                 {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:%s:targetgroup/orders/%s"
                                    % (a.id, util.hexs(rng, 16))}, no_tls=True)]


def elb_ops(a, rng):
    return [Spec("ec2", "DescribeNetworkInterfaces", {"networkInterfaceIdSet": {}, "filterSet": {"items": [
        {"name": "description", "valueSet": {"items": [{"value": "ELB app/orders-alb/*"}]}}]}}, w=2, no_tls=True),
            Spec("ec2", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}, no_tls=True),
            Spec("ec2", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}, no_tls=True)]


def monitoring_ops(a, rng):
    return [Spec("monitoring", "GetMetricData", {"metricDataQueries": [{"id": "q%d" % k, "expression":
                                                 "SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 60)",
                                                 "period": 60} for k in range(3)],
                                                 "startTime": "Nov 1, 2026, 12:00:00 AM",
                                                 "endTime": "Nov 1, 2026, 12:10:00 AM"}, w=6),
            Spec("monitoring", "ListMetrics", {"namespace": "AWS/EC2"}, w=2),
            Spec("monitoring", "DescribeAlarms", {"maxRecords": 100}),
            Spec("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
            Spec("tagging", "GetResources", {"resourcesPerPage": 100, "resourceTypeFilters": ["ec2:instance"]}),
            Spec("elasticloadbalancing", "DescribeLoadBalancers", {"pageSize": 400}),
            Spec("rds", "DescribeDBInstances", {"maxRecords": 100}),
            Spec("lambda", "ListFunctions20150331", None)]


def service_assume(a, rng, role, session, invoked_by):
    """sts:AssumeRole performed by an AWS service (userIdentity type AWSService)."""
    arn = R.role_arn(a.id, role)
    specs = []
    for _ in range(3):
        specs.append(Spec("sts", "AssumeRole", {"roleArn": arn, "roleSessionName": session},
                          resp={"credentials": {"accessKeyId": util.key_id(rng, "ASIA"),
                                                "sessionToken": util.session_token(rng),
                                                "expiration": "Nov 1, 2026, 11:00:00 PM"},
                                "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.rid, session),
                                                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s"
                                                    % (a.id, role.name, session)}},
                          res=[{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": arn}],
                          ip=invoked_by, ua=invoked_by, no_tls=True, version="1.08"))
    return specs


def web_identity_assume(a, rng, world):
    role = a.roles["GitHubActions-Deploy"]
    arn = R.role_arn(a.id, role)
    prov = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % a.id
    specs = []
    for branch in ("main", "main", "release"):
        sub = "repo:%s/orders-service:ref:refs/heads/%s" % (world.github_org, branch)
        specs.append(Spec("sts", "AssumeRoleWithWebIdentity",
                          {"roleArn": arn, "roleSessionName": "GitHubActions", "durationSeconds": 3600},
                          resp={"credentials": {"accessKeyId": util.key_id(rng, "ASIA"),
                                                "sessionToken": util.session_token(rng),
                                                "expiration": "Nov 1, 2026, 3:00:00 PM"},
                                "subjectFromWebIdentityToken": sub,
                                "assumedRoleUser": {"assumedRoleId": "%s:GitHubActions" % role.rid,
                                                    "arn": "arn:aws:sts::%s:assumed-role/%s/GitHubActions"
                                                    % (a.id, role.name)},
                                "provider": prov, "audience": "sts.amazonaws.com"},
                          extra={"identityProviderConnectionVerificationMethod": "IAMTrustStore"},
                          res=[{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": arn}],
                          lookalike="ci-web-identity-assume", ua=R.GITHUB_STS_UA))
    return specs


# ---------------------------------------------------------------------------------- builder

class Routine:
    """All actors and templates; per-day tables of cumulative weights."""

    def __init__(self, world):
        self.world = world
        self.actors = []
        self.t_fmt = []        # template -> format string
        self.t_order = []      # template -> value order (STD_ORDER mostly)
        self.t_actor = []      # template -> actor index
        self.t_key = []        # template -> (account, region)
        self.t_s3 = []         # template -> requestID is S3 style (16 upper hex)
        self.t_w = []          # template -> base weight within its actor
        self.t_lookalike = []  # template -> benign look-alike kind or None
        self.t_name = []
        self.t_keyidx = []     # template -> index into self.keys
        self.keys = []         # (account, region) in first-use order
        self._key_index = {}
        rng = util.sub_rng(world.rng.random(), "templates")
        self._build(rng)

    # -- actors ---------------------------------------------------------------------------
    def _add(self, actor, rng):
        actor.idx = len(self.actors)
        self.actors.append(actor)
        tot_spec = sum(s.w for s in actor.specs)
        for spec in actor.specs:
            regions = actor.regions
            if spec.svc in R.GLOBAL_SERVICES or spec.svc == "s3":
                # Global services log in us-east-1; S3 logs in the bucket's region (ours are
                # all in us-east-1).
                regions = [(R.GLOBAL_REGION, 1.0)]
            elif spec.region_only:
                regions = [(spec.region_only, 1.0)]
            for region, rw in regions:
                ua = spec.ua or actor.ua_fn(spec.svc, spec.name)
                ip = spec.ip or M_IP
                rec = R.record(M_UI, R.M_TIME, spec.svc, spec.name, region, ip, ua,
                               _regionalize(spec.req, region), _regionalize(spec.resp, region),
                               rid=R.M_RID, eid=R.M_EID, read_only=spec.ro, acct=actor.acct,
                               category=spec.cat, error=spec.err, extra=spec.extra,
                               resources=_regionalize(spec.res, region), tls_host=spec.tls_host,
                               no_tls=spec.no_tls, console=actor.console, version=spec.version)
                fmt, order = compile_template(rec)
                reg = R.GLOBAL_REGION if spec.svc in R.GLOBAL_SERVICES else region
                self.t_fmt.append(fmt)
                self.t_order.append(order)
                self.t_actor.append(actor.idx)
                self.t_key.append((actor.acct, reg))
                kk = (actor.acct, reg)
                if kk not in self._key_index:
                    self._key_index[kk] = len(self.keys)
                    self.keys.append(kk)
                self.t_keyidx.append(self._key_index[kk])
                self.t_s3.append(spec.s3rid)
                self.t_w.append(actor.share * spec.w / tot_spec * rw)
                self.t_lookalike.append(spec.lookalike)
                self.t_name.append(spec.name)

    def _build(self, rng):
        w = self.world
        acct_factor = {0: 1.0, 1: 0.55, 2: 0.3}
        for a in w.accounts:
            f = acct_factor.get(a.index, 0.4)
            is_sec = a is w.security and a.index == 2
            main_regions = [("us-east-1", 0.72), ("eu-west-1", 0.28)]
            # --- humans with IAM users
            for u in a.users.values():
                if u.kind == "console":
                    act = Actor(a.id, u.name, BUSINESS, 5 * f, main_regions,
                                _console_ua(u.console_ua), console=True, tag=("user", u.name))
                    act.specs = console_reads(a, rng)
                elif u.kind == "cli":
                    plat = u.platform
                    act = Actor(a.id, u.name, BUSINESS, 4 * f, main_regions,
                                lambda svc, name, p=plat: R.cli_ua(svc, name, p), tag=("user", u.name))
                    act.specs = cli_ops(a, rng, u.name)
                elif u.name == "svc-monitoring":
                    act = Actor(a.id, u.name, FLAT, 3 * f, main_regions,
                                lambda svc, name: R.go_ua("cloudwatch"), tag=("user", u.name))
                    act.specs = monitoring_ops(a, rng)
                else:
                    continue
                act.principal = "arn:aws:iam::%s:user/%s" % (a.id, u.name)
                self._add(act, rng)
            # --- SSO sessions (people signing in through IAM Identity Center)
            people = w.sso_people[:3] if a.index != 2 else w.sso_people[3:5]
            for k, person in enumerate(people):
                perm = "AdministratorAccess" if k == 0 else "ReadOnlyAccess"
                role = a.roles["AWSReservedSSO_%s_%s" % (perm, a.sso_suffix[perm])]
                act = Actor(a.id, person, BUSINESS, 3 * f, main_regions,
                            _console_ua(R.CONSOLE_UAS[k % len(R.CONSOLE_UAS)]), console=True,
                            tag=("sso", role.name, person))
                act.specs = [s for s in console_reads(a, rng) if s.ro or perm == "AdministratorAccess"]
                act.principal = "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, person)
                self._add(act, rng)
            # --- AWS Config, Auto Scaling, ELB service-linked roles
            for rname, session, inv, ops, share in (
                    ("AWSServiceRoleForConfig", "AWSConfig-Describe", "config.amazonaws.com", config_ops, 5),
                    ("AWSServiceRoleForAutoScaling", "AutoScaling", "autoscaling.amazonaws.com", autoscaling_ops, 2),
                    ("AWSServiceRoleForElasticLoadBalancing", "ElasticLoadBalancing",
                     "elasticloadbalancing.amazonaws.com", elb_ops, 1.5)):
                if is_sec and rname != "AWSServiceRoleForConfig":
                    continue
                act = Actor(a.id, rname, FLAT, share * f, main_regions, lambda svc, name, i=inv: i,
                            tag=("svcrole", rname, session, inv))
                act.specs = ops(a, rng)
                for s in act.specs:
                    s.ip = inv
                act.principal = "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, rname, session)
                self._add(act, rng)
            # --- CloudTrail's delivery role, assumed by the service
            act = Actor(a.id, "cloudtrail.amazonaws.com", FLAT, 0.4 * f, [("us-east-1", 1.0)],
                        lambda svc, name: "cloudtrail.amazonaws.com", tag=("service", "cloudtrail.amazonaws.com"))
            act.specs = service_assume(a, rng, a.roles["CloudTrail_CloudWatchLogs_Role"],
                                       "CloudTrail_CloudWatchLogs_Session", "cloudtrail.amazonaws.com")
            act.principal = "cloudtrail.amazonaws.com"
            self._add(act, rng)
            if is_sec:
                continue
            # --- applications
            for k in range(2):
                inst = a.instances["us-east-1"][k]
                role = a.roles["app-orders"]
                act = Actor(a.id, "app-orders/%s" % inst, FLAT, 14 * f, [("us-east-1", 0.8), ("eu-west-1", 0.2)],
                            (lambda svc, name: R.BOTO3_APP_UA) if k == 0 else (lambda svc, name: R.JAVA_UA),
                            tag=("role", "app-orders", inst, True))
                act.specs = app_ops(a, rng, "app-orders", inst)
                act.principal = "arn:aws:sts::%s:assumed-role/app-orders/%s" % (a.id, inst)
                self._add(act, rng)
                ec2svc = Actor(a.id, "ec2.amazonaws.com/%s" % inst, FLAT, 0.3 * f, [("us-east-1", 1.0)],
                               lambda svc, name: "ec2.amazonaws.com", tag=("service", "ec2.amazonaws.com"))
                ec2svc.specs = service_assume(a, rng, role, inst, "ec2.amazonaws.com")
                ec2svc.principal = "ec2.amazonaws.com"
                self._add(ec2svc, rng)
            task = util.hexs(rng, 32)
            act = Actor(a.id, "app-payments/%s" % task, FLAT, 9 * f, [("us-east-1", 1.0)],
                        lambda svc, name: R.go_ua(svc), tag=("role", "app-payments", task, False))
            act.specs = payments_ops(a, rng)
            act.principal = "arn:aws:sts::%s:assumed-role/app-payments/%s" % (a.id, task)
            self._add(act, rng)
            act = Actor(a.id, "reports-builder", FLAT, 4 * f, [("us-east-1", 1.0)],
                        lambda svc, name: R.BOTO3_APP_UA + " exec-env/AWS_Lambda_python3.11",
                        tag=("role", "reports-builder", "reports-builder", False))
            act.specs = reports_ops(a, rng)
            act.principal = "arn:aws:sts::%s:assumed-role/reports-builder/reports-builder" % a.id
            self._add(act, rng)
            act = Actor(a.id, "lambda.amazonaws.com", FLAT, 1.5 * f, [("us-east-1", 1.0)],
                        lambda svc, name: "lambda.amazonaws.com", tag=("service", "lambda.amazonaws.com"))
            act.specs = service_assume(a, rng, a.roles["reports-builder"], "reports-builder", "lambda.amazonaws.com")
            act.principal = "lambda.amazonaws.com"
            self._add(act, rng)
            # --- CI: GitHub Actions runners (one actor per runner address of the day)
            for k in range(3):
                act = Actor(a.id, "GitHubActions-Deploy#%d" % k, BUSINESS, 3 * f, [("us-east-1", 1.0)],
                            lambda svc, name: R.cli_ua(svc, name, "ci"), tag=("ci", k))
                act.specs = ci_ops(a, rng)
                act.principal = "arn:aws:sts::%s:assumed-role/GitHubActions-Deploy/GitHubActions" % a.id
                self._add(act, rng)
            act = Actor(a.id, "token.actions.githubusercontent.com", BUSINESS, 0.8 * f, [("us-east-1", 1.0)],
                        lambda svc, name: R.GITHUB_STS_UA, tag=("webid",))
            act.specs = web_identity_assume(a, rng, w)
            act.principal = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % a.id
            self._add(act, rng)

    # -- per day --------------------------------------------------------------------------
    def day_tables(self, day_ui, day_ip, active):
        """Cumulative weight tables (flat, business) for one day.

        day_ui/day_ip: per actor JSON string / address; active: per actor weight multiplier."""
        tables = []
        for cls in (FLAT, BUSINESS):
            idx, cum, tot = [], [], 0.0
            for i, w in enumerate(self.t_w):
                a = self.actors[self.t_actor[i]]
                if a.cls != cls:
                    continue
                m = active[a.idx]
                if m <= 0:
                    continue
                tot += w * m
                idx.append(i)
                cum.append(tot)
            tables.append((idx, cum, tot))
        return tables


def _console_ua(ua):
    # Most console calls carry the browser's agent, some "AWS Internal" (deterministic per API).
    return lambda svc, name: ua if zlib.crc32(name.encode()) % 4 else R.AWS_INTERNAL_UA


def _regionalize(obj, region):
    """Swap the us-east-1 placeholders of a catalogue entry for the template's region."""
    if obj is None or region == "us-east-1":
        return obj
    s = json.dumps(obj)
    s = s.replace(".us-east-1.", ".%s." % region).replace(":us-east-1:", ":%s:" % region)
    return json.loads(s)


def prepare_table(routine, table, day_la):
    """Per-day table entries: (format, actor, key index, S3 request id, standard order, order,
    look-alike kind), one tuple per template, with the last repeated as a rounding guard."""
    idx, cum, tot = table
    ents = [(routine.t_fmt[i], routine.t_actor[i], routine.t_keyidx[i], routine.t_s3[i],
             routine.t_order[i] == STD_ORDER, routine.t_order[i], day_la[i], i) for i in idx]
    if ents:
        ents.append(ents[-1])
    return ents, cum, tot


def gen_events(ptable, n, w0, times, rng, aui, aip, out, lookalike_sink):
    """n events of one prepared table inside the 300 s window starting at second-of-day w0.

    times: eventTime string per second of the day. Appends (second_of_day, record string) to
    out[key index]."""
    ents, cum, tot = ptable
    if n <= 0 or tot <= 0:
        return
    rnd = rng.random
    grb = rng.getrandbits
    bis = bisect.bisect_right
    var = _VARIANT
    for _ in range(n):
        fmt, a, k, s3, std, o, la, i = ents[bis(cum, rnd() * tot)]
        s = w0 + int(rnd() * 300)
        h = "%064x" % grb(256)
        eid = "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], var[h[16]], h[17:20], h[20:32])
        if s3:
            rid = h[32:48].upper()
        else:
            rid = "%s-%s-4%s-%s%s-%s" % (h[32:40], h[40:44], h[45:48], var[h[48]], h[49:52], h[52:64])
        if std:
            out[k].append((s, fmt % (aui[a], times[s], aip[a], rid, eid)))
        else:
            vals = (aui[a], times[s], aip[a], rid, eid)
            out[k].append((s, fmt % tuple([vals[x] for x in o])))
        if la is not None:
            lookalike_sink(i, eid)


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}

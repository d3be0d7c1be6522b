# SPDX-License-Identifier: Apache-2.0
"""Scripted benign activity, including the look-alikes listed in the benign manifest.

Each look-alike resembles an attack step but is normal here: own-key rotation, snapshot sharing
with the org backup account, replication to the org DR bucket, SSH opened to the office only,
the nightly security scanner's enumeration, a mistyped password followed by an MFA sign-in...
"""

import json

from . import records as R
from . import util
from .world import BACKUP_ACCOUNT, OFFICE_CIDR, TRAVEL_NET


def user_arn(a, name):
    return "arn:aws:iam::%s:user/%s" % (a.id, name)


def login_ui(a, u):
    return {"type": "IAMUser", "principalId": u.uid, "arn": user_arn(a, u.name),
            "accountId": a.id, "userName": u.name}


def console_login(E, a, u, sec, ip, ua, mfa=True, success=True, rng=None):
    extra = {"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%%23&isauthcode=true"
                        "&state=hashArgsFromTB_us-east-1_%s" % util.hexs(rng, 16),
             "MobileVersion": "No"}
    if success and mfa:
        extra["MFAIdentifier"] = "arn:aws:iam::%s:mfa/%s" % (a.id, u.name)
    extra["MFAUsed"] = "Yes" if (success and mfa) else "No"
    return E(a.id, sec, login_ui(a, u), "signin", "ConsoleLogin", "us-east-1", ip, ua, None,
             {"ConsoleLogin": "Success" if success else "Failure"}, ro=False,
             event_type="AwsConsoleSignIn", extra=extra, no_rid=True,
             error=None if success else (None, "Failed authentication"), version="1.09")


def policy_doc(statements):
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, indent=4)


# Read-only calls of the nightly CSPM scanner (SecurityAudit), per account and region.
def scanner_calls(a):
    users = [u for u in a.users]
    calls = [("iam", "GetAccountPasswordPolicy", None), ("iam", "GetAccountSummary", None),
             ("iam", "ListUsers", None), ("iam", "ListRoles", None),
             ("iam", "ListPolicies", {"scope": "Local", "onlyAttached": False}),
             ("iam", "ListGroups", None), ("iam", "GetCredentialReport", None),
             ("iam", "GetAccountAuthorizationDetails", {"filter": ["User", "Role", "Group",
                                                                   "LocalManagedPolicy"]}),
             ("iam", "ListVirtualMFADevices", None), ("iam", "ListSAMLProviders", None),
             ("iam", "ListOpenIDConnectProviders", None), ("iam", "ListServerCertificates", None)]
    for u in users:
        calls.append(("iam", "ListAccessKeys", {"userName": u}))
        calls.append(("iam", "ListMFADevices", {"userName": u}))
        calls.append(("iam", "ListAttachedUserPolicies", {"userName": u}))
    calls += [("s3", "ListBuckets", {"Host": "s3.amazonaws.com"})]
    for b in a.buckets.values():
        host = "%s.s3.amazonaws.com" % b
        calls += [("s3", "GetBucketAcl", {"bucketName": b, "Host": host, "acl": ""}),
                  ("s3", "GetBucketPolicyStatus", {"bucketName": b, "Host": host, "policyStatus": ""}),
                  ("s3", "GetBucketPublicAccessBlock", {"bucketName": b, "Host": host,
                                                        "publicAccessBlock": ""}),
                  ("s3", "GetBucketEncryption", {"bucketName": b, "Host": host, "encryption": ""}),
                  ("s3", "GetBucketLogging", {"bucketName": b, "Host": host, "logging": ""})]
    regional = [("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
                ("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {},
                                                   "filterSet": {}}),
                ("ec2", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}),
                ("ec2", "DescribeSnapshots", {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]},
                                              "filterSet": {}}),
                ("ec2", "DescribeImages", {"executableBySet": {}, "imagesSet": {},
                                           "ownersSet": {"items": [{"owner": "self"}]}, "filterSet": {}}),
                ("ec2", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}),
                ("ec2", "DescribeFlowLogs", {"flowLogIdSet": {}, "filterSet": {}}),
                ("ec2", "DescribeNetworkAcls", {"networkAclIdSet": {}, "filterSet": {}}),
                ("ec2", "GetEbsEncryptionByDefault", {}),
                ("cloudtrail", "DescribeTrails", {"includeShadowTrails": True}),
                ("cloudtrail", "GetTrailStatus", {"name": "org-trail"}),
                ("cloudtrail", "GetEventSelectors", {"trailName": "org-trail"}),
                ("config", "DescribeConfigurationRecorders", None),
                ("config", "DescribeConfigurationRecorderStatus", None),
                ("guardduty", "ListDetectors", None),
                ("kms", "ListKeys", {"limit": 1000}),
                ("rds", "DescribeDBInstances", {"maxRecords": 100}),
                ("rds", "DescribeDBSnapshots", {"includeShared": False, "includePublic": False}),
                ("lambda", "ListFunctions20150331", None),
                ("logs", "DescribeLogGroups", None),
                ("logs", "DescribeMetricFilters", None),
                ("securityhub", "DescribeHub", None),
                ("secretsmanager", "ListSecrets", {"maxResults": 100}),
                ("ssm", "DescribeParameters", {"maxResults": 50}),
                ("sns", "ListTopics", None),
                ("access-analyzer", "ListAnalyzers", None)]
    return calls, regional


SCANNER_DENIED = [("macie2", "GetMacieSession", "AccessDeniedException"),
                  ("organizations", "DescribeOrganization", "AccessDeniedException")]


def terraform_refresh(a):
    return [("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {
        "items": [{"groupId": g} for g in a.sgs["us-east-1"][:3]]}, "filterSet": {}}),
            ("ec2", "DescribeSecurityGroupRules", {"filterSet": {"items": [
                {"name": "group-id", "valueSet": {"items": [{"value": a.sgs["us-east-1"][0]}]}}]}}),
            ("ec2", "DescribeVpcs", {"vpcSet": {"items": [{"vpcId": a.vpc["us-east-1"]}]}, "filterSet": {}}),
            ("ec2", "DescribeVpcAttribute", {"vpcId": a.vpc["us-east-1"], "attribute": "enableDnsSupport"}),
            ("ec2", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}),
            ("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
            ("ec2", "DescribeLaunchTemplates", {"launchTemplateIdSet": {}}),
            ("iam", "GetRole", {"roleName": "app-orders"}),
            ("iam", "GetRolePolicy", {"roleName": "app-orders", "policyName": "orders-data"}),
            ("iam", "ListAttachedRolePolicies", {"roleName": "app-orders"}),
            ("iam", "ListRolePolicies", {"roleName": "app-orders"}),
            ("iam", "GetInstanceProfile", {"instanceProfileName": "app-orders"}),
            ("iam", "GetPolicy", {"policyArn": "arn:aws:iam::%s:policy/orders-data-access" % a.id}),
            ("iam", "GetPolicyVersion", {"policyArn": "arn:aws:iam::%s:policy/orders-data-access" % a.id,
                                         "versionId": "v3"}),
            ("s3", "GetBucketVersioning", {"bucketName": a.buckets["app"], "Host": "%s.s3.amazonaws.com"
                                           % a.buckets["app"], "versioning": ""}),
            ("s3", "GetBucketPolicy", {"bucketName": a.buckets["app"], "Host": "%s.s3.amazonaws.com"
                                       % a.buckets["app"], "policy": ""}),
            ("lambda", "GetFunction20150331v2", {"functionName": "orders-api"}),
            ("lambda", "ListVersionsByFunction20150331", {"functionName": "orders-api"}),
            ("logs", "DescribeLogGroups", {"logGroupNamePrefix": "/aws/lambda/"}),
            ("logs", "ListTagsLogGroup", {"logGroupName": "/aws/lambda/orders-api"})]


class Scenarios:
    def __init__(self, world, seed, ndays):
        self.w = world
        self.seed = seed
        self.ndays = ndays
        # Which day each one-off scenario happens on (0-based).
        self.rotation_day = min(1, ndays - 1)
        self.travel_day = min(1, ndays - 1)
        self.typo_day = 0
        self.log_group_day = min(1, ndays - 1)
        self.sg_days = sorted({0, ndays - 1})
        self.replication_days = sorted({0, ndays - 1})
        self.rotation_sec = 13 * 3600 + 2 * 60 + 11
        self.travel_ip = TRAVEL_NET + "142"

    # ------------------------------------------------------------------------------------
    def run_day(self, d, weekday, E, ids, rng, manifest, gh_ip):
        """Emit the day's scripted benign events. Returns routine actor switches."""
        w = self.w
        switches = []
        for a in w.accounts:
            self._logins(d, weekday, E, ids, rng, manifest, a)
            self._scanner(d, E, ids, rng, manifest, a)
            if a.index == 2:
                continue
            self._kms_rotation(d, E, rng, manifest, a)
            self._app_denied(d, E, ids, rng, manifest, a)
            self._backup(d, E, ids, rng, manifest, a)
            if weekday < 5 or d in self.sg_days:
                self._terraform(d, E, ids, rng, manifest, a, gh_ip)
        p = w.prod
        if "svc-reporting" in p.users:
            self._reporting(d, E, rng, manifest, p)
        if d == self.rotation_day and "dave" in p.users:
            switches += self._rotation(E, rng, manifest, p)
        if d == self.typo_day and "bob" in p.users:
            u = p.users["bob"]
            t = 14 * 3600 + 7 * 60 + 3
            e1 = console_login(E, p, u, t, u.ip, u.console_ua, success=False, rng=rng)
            e2 = console_login(E, p, u, t + 41, u.ip, u.console_ua, mfa=True, rng=rng)
            for e in (e1, e2):
                manifest("typo-then-mfa-login", e, user_arn(p, "bob"))
        return switches

    # ------------------------------------------------------------------------------------
    def _logins(self, d, weekday, E, ids, rng, manifest, a):
        w = self.w
        for u in a.users.values():
            if u.kind != "console":
                continue
            if weekday >= 5 and rng.random() > 0.3:
                continue
            ip = u.ip
            if a is w.prod and u.name == "carol" and d == self.travel_day:
                ip = self.travel_ip
            t = 13 * 3600 + rng.randrange(0, 5400)
            e = console_login(E, a, u, t, ip, u.console_ua, mfa=u.mfa, rng=rng)
            kind = "travel-new-ip" if ip == self.travel_ip else "console-login-with-mfa"
            manifest(kind, e, user_arn(a, u.name))
        people = w.sso_people[:3] if a.index != 2 else w.sso_people[3:5]
        for k, person in enumerate(people):
            if weekday >= 5 and rng.random() > 0.3:
                continue
            perm = "AdministratorAccess" if k == 0 else "ReadOnlyAccess"
            role = a.roles["AWSReservedSSO_%s_%s" % (perm, a.sso_suffix[perm])]
            asia, created = ids.session(a.id, role.name, person)
            ui = R.ui_assumed(a.id, role, person, asia, created)
            t = 13 * 3600 + rng.randrange(0, 7200)
            e = E(a.id, t, ui, "signin", "ConsoleLogin", "us-east-1", w.sso_ip[person],
                  R.CONSOLE_UAS[k % len(R.CONSOLE_UAS)], None, {"ConsoleLogin": "Success"}, ro=False,
                  event_type="AwsConsoleSignIn", no_rid=True,
                  extra={"MobileVersion": "No", "MFAUsed": "No"})
            manifest("sso-console-login", e, "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, person))

    def _scanner(self, d, E, ids, rng, manifest, a):
        w = self.w
        sec_acct = w.security
        role = a.roles["SecurityAuditScanner"]
        session = "prowler-%s" % util.hexs(rng, 8)
        asia, created = ids.session(a.id, role.name, "scanner", start=2 * 3600 + 10)
        ui = R.ui_assumed(a.id, role, session, asia, created)
        ip = sec_acct.nat_ip["us-east-1"]
        ua = R.BOTO3_SCANNER_UA
        principal = "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, session)
        runner = sec_acct.roles["SecurityAuditScanner"]
        r_asia, r_created = ids.session(sec_acct.id, "scanner-runner")
        runner_ui = R.ui_assumed(sec_acct.id, runner, "scheduled-scan", r_asia, r_created)
        t = 2 * 3600 + 10 + rng.randrange(0, 60)
        e = E(a.id, t, runner_ui, "sts", "AssumeRole", "us-east-1", ip, ua,
              {"roleArn": R.role_arn(a.id, role), "roleSessionName": session, "durationSeconds": 3600},
              {"credentials": {"accessKeyId": asia, "sessionToken": util.session_token(rng),
                               "expiration": util.aws_date(E.day_epoch + t + 3600)},
               "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.rid, session),
                                   "arn": principal}},
              resources=[{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": R.role_arn(a.id, role)}],
              shared=a is not sec_acct)
        manifest("security-scanner-daily", e, principal, "low")
        calls, regional = scanner_calls(a)
        seq = [(c, "us-east-1") for c in calls]
        for region in ("us-east-1", "eu-west-1"):
            seq += [(c, region) for c in regional]
        t += 2
        for (svc, name, req), region in seq:
            t += rng.choice((0, 1, 1, 2, 3))
            s3 = svc == "s3"
            e = E(a.id, t, ui, svc, name, region, ip, ua, req, None, ro=True, s3=s3,
                  extra=R.s3_extra(rng) if s3 else None)
            manifest("security-scanner-daily", e, principal, "low")
        for svc, name, code in SCANNER_DENIED:
            t += 1
            e = E(a.id, t, ui, svc, name, "us-east-1", ip, ua, None, None, ro=True,
                  error=(code, "User: %s is not authorized to perform: %s:%s because no "
                               "identity-based policy allows the %s:%s action"
                         % (principal, svc, name, svc, name)))
            manifest("security-scanner-daily", e, principal, "low")

    def _app_denied(self, d, E, ids, rng, manifest, a):
        """The orders app polls one parameter it is not allowed to read (same API every time)."""
        inst = a.instances["us-east-1"][0]
        role = a.roles["app-orders"]
        asia, created = ids.session(a.id, "app-orders", inst)
        ui = R.ui_assumed(a.id, role, inst, asia, created, ec2=True)
        principal = "arn:aws:sts::%s:assumed-role/app-orders/%s" % (a.id, inst)
        name = "/app/%s/shared/feature-flags" % a.env
        t = 15 * 3600 + rng.randrange(0, 3600)
        for _ in range(4):
            e = E(a.id, t, ui, "ssm", "GetParameter", "us-east-1", a.nat_ip["us-east-1"], R.BOTO3_APP_UA,
                  {"name": name, "withDecryption": False}, None, ro=True,
                  error=("AccessDeniedException",
                         "User: %s is not authorized to perform: ssm:GetParameter on resource: "
                         "arn:aws:ssm:us-east-1:%s:parameter%s because no identity-based policy "
                         "allows the ssm:GetParameter action" % (principal, a.id, name)))
            manifest("app-single-api-access-denied", e, principal)
            t += 300

    def _kms_rotation(self, d, E, rng, manifest, a):
        key = "arn:aws:kms:us-east-1:%s:key/%s" % (a.id, a.kms_key["us-east-1"])
        t = 3 * 3600 + rng.randrange(0, 3600)
        e = E(a.id, t, {"accountId": a.id, "invokedBy": "kms.amazonaws.com"}, "kms", "RotateKey",
              "us-east-1", "kms.amazonaws.com", "kms.amazonaws.com", None, None, ro=False,
              event_type="AwsServiceEvent", no_rid=True, version="1.08",
              resources=[{"accountId": a.id, "type": "AWS::KMS::Key", "ARN": key}],
              service_details={"keyId": a.kms_key["us-east-1"]})
        manifest("aws-service-event", e, "kms.amazonaws.com")

    def _backup(self, d, E, ids, rng, manifest, a):
        role = a.roles["NightlyBackup"]
        asia, created = ids.session(a.id, role.name, "nightly-backup", start=3600 + 300)
        ui = R.ui_assumed(a.id, role, "nightly-backup", asia, created)
        principal = "arn:aws:sts::%s:assumed-role/%s/nightly-backup" % (a.id, role.name)
        ip = a.nat_ip["us-east-1"]
        ua = R.BOTO3_APP_UA + " exec-env/AWS_Lambda_python3.11"
        t = 3600 + 600 + rng.randrange(0, 120)
        E(a.id, t, ui, "ec2", "DescribeVolumes", "us-east-1", ip, ua,
          {"volumeSet": {}, "filterSet": {"items": [{"name": "tag:backup", "valueSet": {"items": [{"value": "nightly"}]}}]}})
        for k, vol in enumerate(a.volumes["us-east-1"][:3]):
            t += rng.randrange(2, 20)
            snap = "snap-" + util.hexs(rng, 17)
            e = E(a.id, t, ui, "ec2", "CreateSnapshot", "us-east-1", ip, ua,
                  {"volumeId": vol, "description": "nightly backup %s" % vol,
                   "tagSpecificationSet": {"items": [{"resourceType": "snapshot", "tags": [
                       {"key": "backup", "value": "nightly"}]}]}},
                  {"requestId": R.M_RID, "snapshotId": snap, "volumeId": vol, "status": "pending",
                   "startTime": (E.day_epoch + t) * 1000, "progress": "", "ownerId": a.id,
                   "volumeSize": 100, "encrypted": True,
                   "kmsKeyId": "arn:aws:kms:us-east-1:%s:key/%s" % (a.id, a.kms_key["us-east-1"]),
                   "tagSet": {"items": [{"key": "backup", "value": "nightly"}]}})
            manifest("backup-snapshot", e, principal)
            t += rng.randrange(60, 240)
            e = E(a.id, t, ui, "ec2", "ModifySnapshotAttribute", "us-east-1", ip, ua,
                  {"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"userId": BACKUP_ACCOUNT}]}},
                   "attributeType": "CREATE_VOLUME_PERMISSION"},
                  {"requestId": R.M_RID, "_return": True}, ro=False)
            # Silent with org_account_ids; without it the backup account is merely "seen in
            # the logs", which exfiltration-config reports low (never silenced).
            manifest("backup-snapshot-share-org", e, principal, "low")
        old = a.snapshots[(d * 3) % len(a.snapshots)]
        t += 30
        E(a.id, t, ui, "ec2", "DeleteSnapshot", "us-east-1", ip, ua, {"snapshotId": old},
          {"requestId": R.M_RID, "_return": True})
        if d in self.replication_days:
            t += 45
            b = a.buckets["app"]
            dest = "arn:aws:s3:::org-dr-replica-%s" % a.id
            e = E(a.id, t, ui, "s3", "PutBucketReplication", "us-east-1", ip, ua, {
                "ReplicationConfiguration": {
                    "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                    "Role": R.role_arn(a.id, a.roles["s3-replication-role"]),
                    "Rule": {"ID": "dr-replication", "Priority": 1, "Status": "Enabled",
                             "Filter": {"Prefix": ""},
                             "DeleteMarkerReplication": {"Status": "Disabled"},
                             "Destination": {"Bucket": dest, "Account": BACKUP_ACCOUNT,
                                             "StorageClass": "STANDARD_IA",
                                             "AccessControlTranslation": {"Owner": "Destination"}}}},
                "bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "replication": ""},
                None, ro=False, s3=True, extra=R.s3_extra(rng), version="1.08",
                resources=[{"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}])
            manifest("dr-replication-org", e, principal, "low")

    def _terraform(self, d, E, ids, rng, manifest, a, gh_ip):
        ci_role = a.roles["GitHubActions-Deploy"]
        c_asia, c_created = ids.session(a.id, "ci")
        prov = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % a.id
        ci_ui = R.ui_assumed(a.id, ci_role, "GitHubActions", c_asia, c_created, web_provider=prov)
        role = a.roles["TerraformApply"]
        run = rng.randrange(10 ** 9, 10 ** 10)
        session = "terraform-%d" % run
        t = 16 * 3600 + rng.randrange(0, 1800)
        asia, created = ids.session(a.id, role.name, session, start=t)
        arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (a.id, role.name, session)
        ip = gh_ip
        e = E(a.id, t, ci_ui, "sts", "AssumeRole", "us-east-1", ip, R.terraform_ua("sts"),
              {"roleArn": R.role_arn(a.id, role), "roleSessionName": session, "durationSeconds": 3600},
              {"credentials": {"accessKeyId": asia, "sessionToken": util.session_token(rng),
                               "expiration": util.aws_date(E.day_epoch + t + 3600)},
               "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.rid, session), "arn": arn}},
              resources=[{"accountId": a.id, "type": "AWS::IAM::Role", "ARN": R.role_arn(a.id, role)}])
        ui = R.ui_assumed(a.id, role, session, asia, created)
        for svc, name, req in terraform_refresh(a):
            t += rng.choice((0, 0, 1, 1, 2))
            s3 = svc == "s3"
            e = E(a.id, t, ui, svc, name, "us-east-1", ip, R.terraform_ua(svc), req, None, ro=True,
                  s3=s3, extra=R.s3_extra(rng) if s3 else None)
            manifest("terraform-plan-refresh", e, arn)
        t += 20
        pol = policy_doc([{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                           "Resource": "arn:aws:s3:::%s/*" % a.buckets["app"]},
                          {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                           "Resource": a.secret_arns["%s/orders/db" % a.env]}])
        e = E(a.id, t, ui, "iam", "PutRolePolicy", "us-east-1", ip, R.terraform_ua("iam"),
              {"roleName": "app-orders", "policyName": "orders-data", "policyDocument": pol}, None, ro=False)
        manifest("terraform-scoped-role-policy", e, arn)
        t += 3
        E(a.id, t, ui, "ec2", "CreateTags", "us-east-1", ip, R.terraform_ua("ec2"),
          {"resourcesSet": {"items": [{"resourceId": a.instances["us-east-1"][0]}]},
           "tagSet": {"items": [{"key": "last-apply", "value": str(run)}]}},
          {"requestId": R.M_RID, "_return": True}, ro=False)
        if d in self.sg_days:
            sg = a.sgs["us-east-1"][1]
            t += 4
            e = E(a.id, t, ui, "ec2", "AuthorizeSecurityGroupIngress", "us-east-1", ip,
                  R.terraform_ua("ec2"), _ingress_req(sg, [("tcp", 22, 22, OFFICE_CIDR, "office ssh")]),
                  _ingress_resp(rng, a.id, sg, [("tcp", 22, 22, OFFICE_CIDR)]), ro=False)
            manifest("terraform-sg-office-ssh", e, arn)
            sg2 = a.sgs["us-east-1"][2]
            t += 2
            e = E(a.id, t, ui, "ec2", "AuthorizeSecurityGroupIngress", "us-east-1", ip,
                  R.terraform_ua("ec2"), _ingress_req(sg2, [("tcp", 443, 443, "0.0.0.0/0", "public https")]),
                  _ingress_resp(rng, a.id, sg2, [("tcp", 443, 443, "0.0.0.0/0")]), ro=False)
            manifest("terraform-sg-world-https", e, arn, "info")
        if d == self.log_group_day:
            t += 5
            e = E(a.id, t, ui, "logs", "DeleteLogGroup", "us-east-1", ip, R.terraform_ua("cloudwatchlogs"),
                  {"logGroupName": "/aws/lambda/old-fn"}, None, ro=False)
            manifest("terraform-delete-old-log-group", e, arn)

    def _reporting(self, d, E, rng, manifest, a):
        u = a.users["svc-reporting"]
        ui = R.ui_iam_user(a.id, u)
        ip = a.nat_ip["us-east-1"]
        ua = R.BOTO3_APP_UA
        arn = user_arn(a, u.name)
        t = 6 * 3600 + rng.randrange(0, 300)
        b = a.buckets["reports"]
        seq = []
        for k in range(3):
            qid = util.uuid4(rng)
            seq.append(("athena", "StartQueryExecution", {"queryString": "SELECT * FROM daily_revenue_%d" % k,
                                                          "workGroup": "reports"}, {"queryExecutionId": qid}))
            for _ in range(3):
                seq.append(("athena", "GetQueryExecution", {"queryExecutionId": qid}, None))
            seq.append(("athena", "GetQueryResults", {"queryExecutionId": qid, "maxResults": 1000}, None))
        seq.append(("ce", "GetCostAndUsage", {"timePeriod": {"start": "2026-10-01", "end": "2026-11-01"},
                                              "granularity": "DAILY", "metrics": ["UnblendedCost"]}, None))
        for svc, name, req, resp in seq:
            t += rng.randrange(1, 8)
            e = E(a.id, t, ui, svc, name, "us-east-1", ip, ua, req, resp,
                  ro=name not in ("StartQueryExecution",))
            manifest("svc-reporting-daily-job", e, arn)
        key = "exports/%s/revenue.csv" % E.dpre[:10]
        t += 5
        e = E(a.id, t, ui, "s3", "PutObject", "us-east-1", ip, ua,
              {"bucketName": b, "Host": "%s.s3.us-east-1.amazonaws.com" % b, "key": key}, None,
              ro=False, s3=True, category="Data", extra=R.s3_extra(rng, 0, 52311),
              resources=[{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (b, key)},
                         {"accountId": a.id, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}])
        manifest("svc-reporting-daily-job", e, arn)

    def _rotation(self, E, rng, manifest, a):
        """dave rotates his own key: create, verify, deactivate old, delete old."""
        u = a.users["dave"]
        arn = user_arn(a, "dave")
        old_ui = R.ui_iam_user(a.id, u, key=u.key)
        new_ui = R.ui_iam_user(a.id, u, key=u.new_key)
        t = self.rotation_sec
        ua = R.cli_ua("iam", "CreateAccessKey", u.platform)
        e1 = E(a.id, t, old_ui, "iam", "CreateAccessKey", "us-east-1", u.ip, ua, {"userName": "dave"},
               {"accessKey": {"userName": "dave", "accessKeyId": u.new_key, "status": "Active",
                              "createDate": util.aws_date(E.day_epoch + t)}}, ro=False)
        e2 = E(a.id, t + 95, new_ui, "sts", "GetCallerIdentity", "us-east-1", u.ip,
               R.cli_ua("sts", "GetCallerIdentity", u.platform), None, None)
        e3 = E(a.id, t + 160, new_ui, "iam", "UpdateAccessKey", "us-east-1", u.ip,
               R.cli_ua("iam", "UpdateAccessKey", u.platform),
               {"userName": "dave", "accessKeyId": u.key, "status": "Inactive"}, None, ro=False)
        e4 = E(a.id, t + 3700, new_ui, "iam", "DeleteAccessKey", "us-east-1", u.ip,
               R.cli_ua("iam", "DeleteAccessKey", u.platform),
               {"userName": "dave", "accessKeyId": u.key}, None, ro=False)
        for e in (e1, e2, e3, e4):
            manifest("own-key-rotation", e, arn)
        return [(t + 120, ("user", "dave", a.id), u.new_key)]


def _ingress_req(sg, perms):
    return {"groupId": sg, "ipPermissions": {"items": [
        {"ipProtocol": p, "fromPort": f, "toPort": to, "groups": {},
         "ipRanges": {"items": [{"cidrIp": cidr, "description": desc}]},
         "ipv6Ranges": {}, "prefixListIds": {}} for p, f, to, cidr, desc in perms]}}


def _ingress_resp(rng, acct, sg, perms):
    return {"requestId": R.M_RID, "_return": True, "securityGroupRuleSet": {"items": [
        {"groupOwnerId": acct, "groupId": sg, "securityGroupRuleId": "sgr-" + util.hexs(rng, 17),
         "isEgress": False, "ipProtocol": p, "fromPort": f, "toPort": to, "cidrIpv4": cidr}
        for p, f, to, cidr in perms]}}

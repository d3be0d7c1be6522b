# SPDX-License-Identifier: Apache-2.0
"""Injected malicious activity and its labels.

storyline: a stolen long-term key of svc-reporting used from a Tor exit with a Kali user agent,
recon, secret harvesting, persistence (a key for admin-backup, a new admin user), then with the
new key: a world-open security group, CloudTrail stopped, GuardDuty deleted, replication and a
snapshot share to an account seen nowhere else; plus a root console sign-in without MFA in dev.
all: the storyline plus a broad catalogue of single techniques, one or a few events each.

Each label names the detector expected to report it; `event_ids` lists every event of the step
and the check passes when any finding of that detector references any of them.
"""

import json

from . import records as R
from . import util
from .scenarios import console_login, policy_doc, _ingress_req, _ingress_resp
from .world import (ATTACKER_CLI_UA, ATTACKER_IP, ATTACKER_IP2, ATTACKER_UA, EXTRA_ATTACKER_IPS,
                    FOREIGN_ACCOUNT, ROOT_ATTACKER_IP)

SCRIPT_UA = ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15.0-91-generic "
             "lang/python#3.11.4")
TRUFFLEHOG_UA = "TruffleHog"


class Labels:
    def __init__(self, day):
        self.items = []
        self.day = day

    def add(self, label, detector, rule, eids, event_name, acct):
        eids = [e for e in eids if e]
        d = {"label": label, "detector": detector, "rule": rule, "event_id": eids[0],
             "event_name": event_name, "account": acct, "day": self.day}
        if len(eids) > 1:
            d["event_ids"] = eids
            d["match"] = "any"
        self.items.append(d)


def _denied(principal, svc, action, code):
    iam_svc = {"monitoring": "cloudwatch", "elasticloadbalancing": "elasticloadbalancing"}.get(svc, svc)
    act = action.replace("20150331", "")
    msg = ("User: %s is not authorized to perform: %s:%s on resource: * because no identity-based "
           "policy allows the %s:%s action" % (principal, iam_svc, act, iam_svc, act))
    if code == "Client.UnauthorizedOperation":
        msg = "You are not authorized to perform this operation. " + msg
    return (code, msg)


class Attacks:
    def __init__(self, world, mode, ndays):
        self.w = world
        self.mode = mode
        self.day = ndays - 1

    def run(self, E, ids, rng):
        """Emit the attack events of the last day; returns the labels."""
        L = Labels(self.day)
        if self.mode in ("storyline", "all"):
            self.storyline(E, ids, rng, L)
        if self.mode == "all":
            self.catalogue(E, ids, rng, L)
        return L.items

    # ----------------------------------------------------------------------------- storyline
    def storyline(self, E, ids, rng, L):
        w = self.w
        p = w.prod
        pid = p.id
        u = p.users["svc-reporting"]
        ui = R.ui_iam_user(pid, u)
        principal = "arn:aws:iam::%s:user/%s" % (pid, u.name)
        t = 9 * 3600 + 12 * 60 + rng.randrange(0, 900)
        self.t0 = t
        ip, ua = ATTACKER_IP, ATTACKER_UA
        kali = []

        def ev(svc, name, region="us-east-1", req=None, resp=None, **kw):
            kali.append(E(pid, t, ui, svc, name, region, ip, ua, req, resp, **kw))
            return kali[-1]

        whoami = ev("sts", "GetCallerIdentity")
        t += rng.randrange(8, 20)
        # --- recon, interleaved successes and denials
        recon_ok = [("iam", "ListUsers", "us-east-1", None), ("iam", "ListRoles", "us-east-1", None),
                    ("s3", "ListBuckets", "us-east-1", {"Host": "s3.amazonaws.com"}),
                    ("ec2", "DescribeInstances", "us-east-1", {"instancesSet": {}, "filterSet": {}}),
                    ("ec2", "DescribeInstances", "eu-west-1", {"instancesSet": {}, "filterSet": {}}),
                    ("ec2", "DescribeSecurityGroups", "us-east-1", {"securityGroupSet": {}, "securityGroupIdSet": {},
                                                                   "filterSet": {}}),
                    ("ec2", "DescribeVpcs", "us-east-1", {"vpcSet": {}, "filterSet": {}}),
                    ("s3", "GetBucketAcl", "us-east-1", {"bucketName": p.buckets["customer"], "Host":
                                                         "%s.s3.amazonaws.com" % p.buckets["customer"], "acl": ""})]
        denied_apis = [("iam", "GetAccountAuthorizationDetails", "AccessDenied"),
                       ("iam", "ListPolicies", "AccessDenied"),
                       ("secretsmanager", "ListSecrets", "AccessDeniedException"),
                       ("rds", "DescribeDBInstances", "AccessDenied"),
                       ("lambda", "ListFunctions20150331", "AccessDeniedException"),
                       ("dynamodb", "ListTables", "AccessDeniedException"),
                       ("kms", "ListKeys", "AccessDeniedException"),
                       ("ec2", "DescribeSnapshots", "Client.UnauthorizedOperation"),
                       ("organizations", "DescribeOrganization", "AccessDeniedException"),
                       ("guardduty", "ListDetectors", "AccessDeniedException"),
                       ("cloudtrail", "DescribeTrails", "AccessDeniedException"),
                       ("eks", "ListClusters", "AccessDeniedException")]
        denied_ids = []
        seq = [("ok", x) for x in recon_ok] + [("deny", x) for x in denied_apis]
        rng.shuffle(seq)
        for kind, x in seq:
            t += rng.randrange(1, 6)
            if kind == "ok":
                svc, name, region, req = x
                s3 = svc == "s3"
                ev(svc, name, region, req, None, s3=s3, extra=R.s3_extra(rng) if s3 else None)
            else:
                svc, name, code = x
                denied_ids.append(ev(svc, name, "us-east-1", None, None, ro=True,
                                     error=_denied(principal, svc, name, code)))
        L.add("storyline/recon-access-denied-burst", "recon-tooling", "access-denied-burst",
              denied_ids, "(12 distinct APIs)", pid)
        # --- access keys of every user
        lak = []
        for name in p.users:
            t += rng.randrange(1, 4)
            lak.append(ev("iam", "ListAccessKeys", "us-east-1", {"userName": name}, None))
        L.add("storyline/list-access-keys-burst", "iam-keys", "access-key-enumeration", lak,
              "ListAccessKeys", pid)
        # --- secrets harvesting
        sec = []
        for name in p.secret_names[:12]:
            t += rng.randrange(1, 5)
            sec.append(ev("secretsmanager", "GetSecretValue", "us-east-1", {"secretId": name}, None))
        L.add("storyline/secrets-harvest", "credential-access", "secrets-bulk-retrieval", sec,
              "GetSecretValue", pid)
        # --- persistence
        t += rng.randrange(30, 90)
        target = p.users["admin-backup"]
        new_key = util.key_id(rng, "AKIA")
        cak = ev("iam", "CreateAccessKey", "us-east-1", {"userName": "admin-backup"},
                 {"accessKey": {"userName": "admin-backup", "accessKeyId": new_key, "status": "Active",
                                "createDate": util.aws_date(E.day_epoch + t)}}, ro=False)
        L.add("storyline/key-for-other-user", "iam-keys", "access-key-created-for-other-user", [cak],
              "CreateAccessKey", pid)
        t += rng.randrange(20, 60)
        new_uid = util.key_id(rng, "AIDA")
        cu = ev("iam", "CreateUser", "us-east-1", {"userName": "support-sync"},
                {"user": {"path": "/", "userName": "support-sync", "userId": new_uid,
                          "arn": "arn:aws:iam::%s:user/support-sync" % pid,
                          "createDate": util.aws_date(E.day_epoch + t)}}, ro=False)
        t += rng.randrange(5, 20)
        aup = ev("iam", "AttachUserPolicy", "us-east-1",
                 {"userName": "support-sync", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                 None, ro=False)
        L.add("storyline/admin-policy-attached", "privilege-escalation", "admin-policy-attached", [aup],
              "AttachUserPolicy", pid)
        L.add("storyline/new-user-made-admin", "privilege-escalation", "new-user-granted-admin",
              [aup, cu], "CreateUser+AttachUserPolicy", pid)
        L.add("storyline/backdoor-chain", "iam-keys", "backdoor-user-chain", [cak, cu, aup],
              "CreateAccessKey+CreateUser+AttachUserPolicy", pid)
        L.add("storyline/attack-tool-user-agent", "recon-tooling", "attack-tool-user-agent", kali,
              "(Kali user agent)", pid)
        # --- the new key, from another address
        t += rng.randrange(120, 400)
        ui2 = R.ui_iam_user(pid, target, key=new_key)
        p2 = "arn:aws:iam::%s:user/admin-backup" % pid
        who2 = E(pid, t, ui2, "sts", "GetCallerIdentity", "us-east-1", ATTACKER_IP2, ATTACKER_CLI_UA)
        L.add("storyline/new-key-whoami", "iam-keys", "new-key-first-call-whoami", [who2],
              "GetCallerIdentity", pid)
        self.admin_ui, self.admin_principal = ui2, p2

        def ev2(svc, name, region, req, resp, **kw):
            return E(pid, t, ui2, svc, name, region, ATTACKER_IP2, SCRIPT_UA, req, resp, **kw)

        t += rng.randrange(30, 90)
        sg = "sg-" + util.hexs(rng, 17)
        csg = ev2("ec2", "CreateSecurityGroup", "us-east-1",
                  {"groupName": "maint-access", "groupDescription": "maintenance", "vpcId": p.vpc["us-east-1"]},
                  {"requestId": R.M_RID, "_return": True, "groupId": sg,
                   "securityGroupArn": "arn:aws:ec2:us-east-1:%s:security-group/%s" % (pid, sg)}, ro=False)
        t += rng.randrange(3, 15)
        perms = [("tcp", 22, 22, "0.0.0.0/0", ""), ("tcp", 3389, 3389, "0.0.0.0/0", "")]
        req = _ingress_req(sg, perms)
        for item in req["ipPermissions"]["items"]:
            del item["ipRanges"]["items"][0]["description"]
        asg = ev2("ec2", "AuthorizeSecurityGroupIngress", "us-east-1", req,
                  _ingress_resp(rng, pid, sg, [x[:4] for x in perms]), ro=False)
        L.add("storyline/sg-created-and-opened", "security-groups", "security-group-created-and-opened",
              [asg, csg], "AuthorizeSecurityGroupIngress", pid)
        t += rng.randrange(40, 120)
        trail = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % pid
        stop = ev2("cloudtrail", "StopLogging", "us-east-1", {"name": trail}, None, ro=False)
        L.add("storyline/stop-logging", "defense-evasion", "cloudtrail-logging-stopped", [stop], "StopLogging", pid)
        t += rng.randrange(10, 40)
        gd = ev2("guardduty", "DeleteDetector", "us-east-1", {"detectorId": p.guardduty_detector["us-east-1"]},
                 None, ro=False)
        L.add("storyline/guardduty-deleted", "defense-evasion", "guardduty-detector-deleted", [gd], "DeleteDetector", pid)
        t += rng.randrange(60, 200)
        b = p.buckets["customer"]
        repl = ev2("s3", "PutBucketReplication", "us-east-1", {
            "ReplicationConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "Role": R.role_arn(pid, p.roles["s3-replication-role"]),
                "Rule": {"ID": "sync", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                         "DeleteMarkerReplication": {"Status": "Disabled"},
                         "Destination": {"Bucket": "arn:aws:s3:::exfil-bucket-x", "Account": FOREIGN_ACCOUNT}}},
            "bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "replication": ""}, None,
            ro=False, s3=True, extra=R.s3_extra(rng), version="1.08",
            resources=[{"accountId": pid, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}])
        L.add("storyline/replication-to-foreign-account", "exfiltration-config", "s3-replication-to-external-account",
              [repl], "PutBucketReplication", pid)
        t += rng.randrange(30, 120)
        snap = p.snapshots[0]
        msa = ev2("ec2", "ModifySnapshotAttribute", "us-east-1",
                  {"snapshotId": snap, "createVolumePermission": {"add": {"items": [{"userId": FOREIGN_ACCOUNT}]}},
                   "attributeType": "CREATE_VOLUME_PERMISSION"},
                  {"requestId": R.M_RID, "_return": True}, ro=False)
        L.add("storyline/snapshot-shared-foreign", "exfiltration-config", "ebs-snapshot-shared", [msa],
              "ModifySnapshotAttribute", pid)
        self.t_end = t
        # --- root console sign-in without MFA in dev
        d = w.dev
        rt = self.t0 + 50 * 60 + rng.randrange(0, 300)
        root_login = E(d.id, rt, R.ui_root(d.id), "signin", "ConsoleLogin", "us-east-1", ROOT_ATTACKER_IP,
                       R.CONSOLE_UAS[2], None, {"ConsoleLogin": "Success"}, ro=False,
                       event_type="AwsConsoleSignIn", no_rid=True,
                       extra={"LoginTo": "https://console.aws.amazon.com/console/home?hashArgs=%%23&isauthcode=true"
                                         "&state=hashArgsFromTB_us-east-1_%s" % util.hexs(rng, 16),
                              "MobileVersion": "No", "MFAUsed": "No"})
        L.add("storyline/root-login-without-mfa", "root-account", "root-console-login-without-mfa",
              [root_login], "ConsoleLogin", d.id)
        self.root_t = rt

    # ----------------------------------------------------------------------------- catalogue
    def catalogue(self, E, ids, rng, L):
        w = self.w
        p, d = w.prod, w.dev
        pid, did = p.id, d.id
        ui2, p2 = self.admin_ui, self.admin_principal
        ip2 = ATTACKER_IP2

        def ev2(t, svc, name, region, req, resp=None, acct=pid, ui=None, ip=None, ua=None, **kw):
            return E(acct, t, ui or ui2, svc, name, region, ip or ip2, ua or SCRIPT_UA, req, resp,
                     ro=kw.pop("ro", False), **kw)

        # --- root in dev, continuing the storyline's root session
        t = self.root_t + 60
        r_asia, r_created = ids.session(did, "root-attacker", start=self.root_t)
        root_ui = R.ui_root(did, r_asia, mfa=False, created=r_created)
        rip, rua = ROOT_ATTACKER_IP, R.CONSOLE_UAS[2]
        root_key = util.key_id(rng, "AKIA")
        e = E(did, t, root_ui, "iam", "CreateAccessKey", "us-east-1", rip, rua, None,
              {"accessKey": {"accessKeyId": root_key, "status": "Active",
                             "createDate": util.aws_date(E.day_epoch + t)}}, ro=False, console=True)
        L.add("all/root-access-key-created", "root-account", "root-access-key-created", [e], "CreateAccessKey", did)
        # (iam-keys has access-key-created-for-root too, off by default in favour of root-account)
        t += 40
        serial = "arn:aws:iam::%s:mfa/root-account-mfa-device" % did
        e1 = E(did, t, root_ui, "iam", "DeactivateMFADevice", "us-east-1", rip, rua,
               {"serialNumber": serial}, None, ro=False, console=True)
        e2 = E(did, t + 5, root_ui, "iam", "DeleteVirtualMFADevice", "us-east-1", rip, rua,
               {"serialNumber": serial}, None, ro=False, console=True)
        L.add("all/root-mfa-deactivated", "mfa-and-signin", "mfa-removed-root", [e1, e2], "DeactivateMFADevice", did)
        L.add("all/root-mfa-deactivated-root", "root-account", "root-mfa-removed", [e1, e2],
              "DeactivateMFADevice", did)
        t += 60
        e = E(did, t, root_ui, "iam", "UpdateAccountPasswordPolicy", "us-east-1", rip, rua,
              {"minimumPasswordLength": 6, "requireSymbols": False, "requireNumbers": False,
               "requireUppercaseCharacters": False, "requireLowercaseCharacters": False,
               "allowUsersToChangePassword": True}, None, ro=False, console=True)
        L.add("all/password-policy-weakened", "root-account", "password-policy-weakened", [e],
              "UpdateAccountPasswordPolicy", did)
        # root long-term key used by API, two hours later, from elsewhere
        t += 7200
        kui = R.ui_root(did, root_key)
        kip = EXTRA_ATTACKER_IPS[2]
        used = []
        for svc, name, req in (("sts", "GetCallerIdentity", None),
                               ("ec2", "DescribeRegions", {"regionSet": {}, "allRegions": True}),
                               ("iam", "ListUsers", None),
                               ("s3", "ListBuckets", {"Host": "s3.amazonaws.com"})):
            t += rng.randrange(2, 9)
            used.append(E(did, t, kui, svc, name, "us-east-1", kip, SCRIPT_UA, req, None,
                          s3=svc == "s3", extra=R.s3_extra(rng) if svc == "s3" else None))
        L.add("all/root-access-key-used", "root-account", "root-access-key-used", used, "(root key API calls)", did)
        t += 30
        e = E(did, t, kui, "organizations", "LeaveOrganization", "us-east-1", kip, SCRIPT_UA, None, None, ro=False)
        L.add("all/leave-organization", "root-account", "leave-organization", [e], "LeaveOrganization", did)
        L.add("all/leave-organization-evasion", "defense-evasion", "left-organization", [e], "LeaveOrganization", did)

        # --- defense evasion with admin-backup's new key, prod
        t = self.t_end + 600
        trail = "arn:aws:cloudtrail:us-east-1:%s:trail/org-trail" % pid
        e = ev2(t, "cloudtrail", "UpdateTrail", "us-east-1", {"name": trail, "isMultiRegionTrail": False},
                {"name": "org-trail", "s3BucketName": "org-cloudtrail-logs", "includeGlobalServiceEvents": True,
                 "isMultiRegionTrail": False, "trailARN": trail, "logFileValidationEnabled": True,
                 "isOrganizationTrail": False,
                 "kmsKeyId": "arn:aws:kms:us-east-1:%s:key/%s" % (pid, p.kms_key["us-east-1"])})
        L.add("all/trail-single-region", "defense-evasion", "cloudtrail-trail-weakened", [e], "UpdateTrail", pid)
        t += 25
        e = ev2(t, "cloudtrail", "PutEventSelectors", "us-east-1",
                {"trailName": "org-trail", "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": False,
                                                               "dataResources": [], "excludeManagementEventSources": []}]},
                {"trailARN": trail, "eventSelectors": [{"readWriteType": "All", "includeManagementEvents": False,
                                                        "dataResources": [], "excludeManagementEventSources": []}]})
        L.add("all/event-selectors-no-management", "defense-evasion", "cloudtrail-event-selectors-reduced", [e],
              "PutEventSelectors", pid)
        t += 40
        e = ev2(t, "config", "StopConfigurationRecorder", "us-east-1", {"configurationRecorderName": "default"})
        L.add("all/config-recorder-stopped", "defense-evasion", "config-recording-disabled", [e],
              "StopConfigurationRecorder", pid)
        t += 30
        e = ev2(t, "ec2", "DeleteFlowLogs", "us-east-1",
                {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": "fl-" + util.hexs(rng, 17)}}},
                {"DeleteFlowLogsResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
                                            "requestId": R.M_RID, "unsuccessful": ""}})
        L.add("all/flow-logs-deleted", "defense-evasion", "vpc-flow-logs-deleted", [e], "DeleteFlowLogs", pid)
        t += 30
        e = ev2(t, "guardduty", "UpdateDetector", "eu-west-1",
                {"detectorId": p.guardduty_detector["eu-west-1"], "enable": False})
        L.add("all/guardduty-disabled-eu", "defense-evasion", "guardduty-detector-suspended", [e], "UpdateDetector", pid)
        t += 30
        e = ev2(t, "logs", "DeleteLogGroup", "us-east-1", {"logGroupName": "aws-cloudtrail-logs-org-trail"})
        L.add("all/cloudtrail-log-group-deleted", "defense-evasion", "log-group-deleted", [e], "DeleteLogGroup", pid)
        t += 30
        key = "arn:aws:kms:us-east-1:%s:key/%s" % (pid, p.kms_key["us-east-1"])
        e = ev2(t, "kms", "ScheduleKeyDeletion", "us-east-1", {"keyId": key, "pendingWindowInDays": 7},
                {"keyId": key, "deletionDate": "Nov 10, 2026, 12:00:00 AM", "keyState": "PendingDeletion",
                 "pendingWindowInDays": 7}, resources=[{"accountId": pid, "type": "AWS::KMS::Key", "ARN": key}])
        L.add("all/kms-key-deletion", "defense-evasion", "cloudtrail-kms-key-disabled", [e], "ScheduleKeyDeletion", pid)

        # --- exfiltration configuration
        t += 120
        b = p.buckets["reports"]
        pol = {"Version": "2012-10-17", "Statement": [{"Sid": "public", "Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::%s/*" % b}]}
        e = ev2(t, "s3", "PutBucketPolicy", "us-east-1",
                {"bucketPolicy": pol, "bucketName": b, "Host": "%s.s3.amazonaws.com" % b, "policy": ""},
                s3=True, extra=R.s3_extra(rng), version="1.08")
        L.add("all/bucket-policy-public", "exfiltration-config", "s3-bucket-policy-public", [e], "PutBucketPolicy", pid)
        t += 20
        b2 = p.buckets["logs"]
        acl = {"AccessControlList": {"Grant": [
            {"Grantee": {"xsi:type": "CanonicalUser", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                         "ID": p.canonical_id}, "Permission": "FULL_CONTROL"},
            {"Grantee": {"xsi:type": "Group", "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                         "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]},
               "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "Owner": {"ID": p.canonical_id}}
        e = ev2(t, "s3", "PutBucketAcl", "us-east-1",
                {"bucketName": b2, "Host": "%s.s3.amazonaws.com" % b2, "acl": "", "AccessControlPolicy": acl},
                s3=True, extra=R.s3_extra(rng), version="1.08")
        L.add("all/bucket-acl-public", "exfiltration-config", "s3-bucket-acl-public", [e], "PutBucketAcl", pid)
        t += 20
        e = ev2(t, "s3", "DeleteBucketPublicAccessBlock", "us-east-1",
                {"bucketName": b2, "Host": "%s.s3.amazonaws.com" % b2, "publicAccessBlock": ""},
                s3=True, extra=R.s3_extra(rng), version="1.08")
        L.add("all/public-access-block-deleted", "exfiltration-config", "s3-public-access-block-relaxed", [e],
              "DeleteBucketPublicAccessBlock", pid)
        t += 60
        src_loc = "arn:aws:datasync:us-east-1:%s:location/loc-%s" % (pid, util.hexs(rng, 17))
        dst_loc = "arn:aws:datasync:us-east-1:%s:location/loc-%s" % (pid, util.hexs(rng, 17))
        e_src = ev2(t, "datasync", "CreateLocationS3", "us-east-1",
                    {"s3BucketArn": "arn:aws:s3:::%s" % p.buckets["customer"], "subdirectory": "/",
                     "s3Config": {"bucketAccessRoleArn": R.role_arn(pid, p.roles["s3-replication-role"])}},
                    {"locationArn": src_loc})
        t += 15
        e_loc = ev2(t, "datasync", "CreateLocationObjectStorage", "us-east-1",
                    {"serverHostname": "s3.eu-central-003.backblazeb2.com", "serverProtocol": "HTTPS",
                     "serverPort": 443, "bucketName": "cold-archive-7731", "subdirectory": "/",
                     "accessKey": "HIDDEN_DUE_TO_SECURITY_REASONS", "secretKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
                     "agentArns": ["arn:aws:datasync:us-east-1:%s:agent/agent-%s" % (pid, util.hexs(rng, 17))]},
                    {"locationArn": dst_loc})
        L.add("all/datasync-external-location", "exfiltration-config", "datasync-external-location", [e_loc],
              "CreateLocationObjectStorage", pid)
        t += 20
        task = "arn:aws:datasync:us-east-1:%s:task/task-%s" % (pid, util.hexs(rng, 17))
        e_task = ev2(t, "datasync", "CreateTask", "us-east-1",
                     {"sourceLocationArn": src_loc, "destinationLocationArn": dst_loc, "name": "archive",
                      "options": {"verifyMode": "ONLY_FILES_TRANSFERRED", "overwriteMode": "ALWAYS"}},
                     {"taskArn": task})
        L.add("all/datasync-task", "exfiltration-config", "datasync-task-to-external-location", [e_task],
              "CreateTask", pid)
        t += 40
        e = ev2(t, "ec2", "ModifyImageAttribute", "us-east-1",
                {"imageId": p.amis[0], "launchPermission": {"add": {"items": [{"group": "all"}]}},
                 "attributeType": "launchPermission"}, {"requestId": R.M_RID, "_return": True})
        L.add("all/ami-public", "exfiltration-config", "ami-shared", [e], "ModifyImageAttribute", pid)
        t += 40
        e = ev2(t, "rds", "ModifyDBSnapshotAttribute", "us-east-1",
                {"dBSnapshotIdentifier": "orders-db-nightly-2026-11-01", "attributeName": "restore",
                 "valuesToAdd": ["all"]},
                {"dBSnapshotIdentifier": "orders-db-nightly-2026-11-01", "dBSnapshotAttributes": [
                    {"attributeName": "restore", "attributeValues": ["all"]}]})
        L.add("all/rds-snapshot-public", "exfiltration-config", "rds-snapshot-shared", [e],
              "ModifyDBSnapshotAttribute", pid)
        t += 40
        e = ev2(t, "dynamodb", "ExportTableToPointInTime", "us-east-1",
                {"tableArn": "arn:aws:dynamodb:us-east-1:%s:table/orders" % pid, "s3Bucket": "exfil-bucket-x",
                 "s3BucketOwner": FOREIGN_ACCOUNT, "exportFormat": "DYNAMODB_JSON"},
                {"exportDescription": {"exportArn": "arn:aws:dynamodb:us-east-1:%s:table/orders/export/%s"
                                       % (pid, util.hexs(rng, 30)), "exportStatus": "IN_PROGRESS",
                                       "tableArn": "arn:aws:dynamodb:us-east-1:%s:table/orders" % pid,
                                       "s3Bucket": "exfil-bucket-x", "s3BucketOwner": FOREIGN_ACCOUNT}})
        L.add("all/dynamodb-export-foreign", "exfiltration-config", "dynamodb-export-external-account", [e],
              "ExportTableToPointInTime", pid)

        # --- privilege escalation
        t += 90
        trust = policy_doc([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % FOREIGN_ACCOUNT},
                             "Action": "sts:AssumeRole"}])
        e = ev2(t, "iam", "UpdateAssumeRolePolicy", "us-east-1", {"roleName": "app-orders", "policyDocument": trust})
        L.add("all/role-trust-foreign", "privilege-escalation", "role-trust-external-account", [e],
              "UpdateAssumeRolePolicy", pid)
        t += 30
        stmt = json.dumps({"Sid": "public-invoke", "Effect": "Allow", "Principal": "*",
                           "Action": "lambda:InvokeFunction",
                           "Resource": "arn:aws:lambda:us-east-1:%s:function:orders-api" % pid})
        e = ev2(t, "lambda", "AddPermission20150331v2", "us-east-1",
                {"functionName": "orders-api", "statementId": "public-invoke", "action": "lambda:InvokeFunction",
                 "principal": "*"}, {"statement": stmt})
        L.add("all/lambda-public", "privilege-escalation", "lambda-permission-public", [e],
              "AddPermission20150331v2", pid)
        t += 30
        e = ev2(t, "iam", "CreateLoginProfile", "us-east-1", {"userName": "ops-legacy", "passwordResetRequired": False},
                {"loginProfile": {"userName": "ops-legacy", "createDate": util.aws_date(E.day_epoch + t),
                                  "passwordResetRequired": False}})
        L.add("all/login-profile-other-user", "privilege-escalation", "login-profile-for-other-user", [e],
              "CreateLoginProfile", pid)
        t += 30
        e = ev2(t, "iam", "PutUserPolicy", "us-east-1",
                {"userName": "support-sync", "policyName": "sync",
                 "policyDocument": policy_doc([{"Effect": "Allow", "Action": "*", "Resource": "*"}])})
        L.add("all/inline-star-policy", "privilege-escalation", "broad-inline-policy", [e], "PutUserPolicy", pid)
        t += 30
        e = ev2(t, "iam", "AddUserToGroup", "us-east-1", {"groupName": "Admins", "userName": "ci-legacy-deployer"})
        L.add("all/added-to-admins", "privilege-escalation", "added-to-admin-group", [e], "AddUserToGroup", pid)
        t += 30
        e = ev2(t, "iam", "UpdateAccessKey", "us-east-1",
                {"userName": "ci-legacy-deployer", "accessKeyId": p.users["ci-legacy-deployer"].new_key,
                 "status": "Active"})
        L.add("all/key-reactivated", "iam-keys", "access-key-reactivated", [e], "UpdateAccessKey", pid)

        # --- credential access
        t += 60
        ssm = []
        for k in range(15):
            t += rng.randrange(1, 3)
            ssm.append(ev2(t, "ssm", "GetParameters", "us-east-1",
                           {"names": ["/app/prod/%s/secret-%d" % (svc, k) for svc in ("orders", "billing")],
                            "withDecryption": True}, ro=True))
        L.add("all/ssm-bulk-decrypt", "credential-access", "ssm-secure-parameter-bulk-retrieval", ssm,
              "GetParameters", pid)
        t += 30
        pw = []
        for inst in p.instances["us-east-1"][:5]:
            t += rng.randrange(1, 4)
            pw.append(ev2(t, "ec2", "GetPasswordData", "us-east-1", {"instanceId": inst}, None, ro=True))
        L.add("all/ec2-password-data", "credential-access", "ec2-password-data-bulk", pw, "GetPasswordData", pid)

        # --- network exposure in dev
        t += 120
        dui = R.ui_root(did, root_key)
        dsg = d.sgs["us-east-1"][3]
        e = E(did, t, dui, "ec2", "ModifySecurityGroupRules", "us-east-1", kip, SCRIPT_UA,
              {"ModifySecurityGroupRulesRequest": {"GroupId": dsg, "SecurityGroupRule": {
                  "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                        "CidrIpv4": "0.0.0.0/0", "Description": ""},
                  "SecurityGroupRuleId": "sgr-" + util.hexs(rng, 17)}}},
              {"ModifySecurityGroupRulesResponse": {"xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
                                                    "requestId": R.M_RID, "return": True}}, ro=False)
        L.add("all/sg-modify-db-world", "security-groups", "security-group-ingress-world-open", [e],
              "ModifySecurityGroupRules", did)
        t += 20
        dsg2 = d.sgs["us-east-1"][4]
        e = E(did, t, dui, "ec2", "AuthorizeSecurityGroupIngress", "us-east-1", kip, SCRIPT_UA,
              {"groupId": dsg2, "ipPermissions": {"items": [
                  {"ipProtocol": "-1", "groups": {}, "ipRanges": {},
                   "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]}, "prefixListIds": {}}]}},
              {"requestId": R.M_RID, "_return": True, "securityGroupRuleSet": {"items": [
                  {"groupOwnerId": did, "groupId": dsg2, "securityGroupRuleId": "sgr-" + util.hexs(rng, 17),
                   "isEgress": False, "ipProtocol": "-1", "fromPort": -1, "toPort": -1, "cidrIpv6": "::/0"}]}},
              ro=False)
        L.add("all/sg-all-traffic-ipv6-world", "security-groups", "security-group-ingress-world-open", [e],
              "AuthorizeSecurityGroupIngress", did)
        t += 20
        e = E(did, t, dui, "ec2", "CreateNetworkAclEntry", "us-east-1", kip, SCRIPT_UA,
              {"networkAclId": "acl-" + util.hexs(rng, 17), "ruleNumber": 90, "egress": False,
               "ruleAction": "allow", "icmpTypeCode": {}, "ipProtocol": "6",
               "portRange": {"from": 22, "to": 22}, "cidrBlock": "0.0.0.0/0"},
              {"requestId": R.M_RID, "_return": True}, ro=False)
        L.add("all/nacl-ssh-world", "security-groups", "network-acl-world-open-ingress", [e],
              "CreateNetworkAclEntry", did)

        # --- sign-in attacks
        t = 19 * 3600 + rng.randrange(0, 1800)
        u = p.users["ops-legacy"]
        bip = EXTRA_ATTACKER_IPS[1]
        fails = []
        for k in range(8):
            fails.append(console_login(E, p, u, t, bip, R.CONSOLE_UAS[0], success=False, rng=rng))
            t += rng.randrange(12, 24)
        L.add("all/console-brute-force", "mfa-and-signin", "console-brute-force-user", fails, "ConsoleLogin", pid)
        t += 50
        ok = console_login(E, p, u, t, bip, R.CONSOLE_UAS[0], mfa=False, rng=rng)
        L.add("all/console-brute-force-succeeded", "mfa-and-signin", "console-brute-force-succeeded", [ok],
              "ConsoleLogin", pid)
        t += 1800
        adm = p.users["admin-backup"]
        e = console_login(E, p, adm, t, EXTRA_ATTACKER_IPS[0], R.CONSOLE_UAS[1], mfa=False, rng=rng)
        L.add("all/admin-login-without-mfa", "mfa-and-signin", "console-login-without-mfa", [e], "ConsoleLogin", pid)

        # --- a leaked dormant key verified by a secret scanner
        t += 600
        cu = p.users["ci-legacy-deployer"]
        e = E(pid, t, R.ui_iam_user(pid, cu), "sts", "GetCallerIdentity", "us-east-1", EXTRA_ATTACKER_IPS[3],
              TRUFFLEHOG_UA)
        L.add("all/trufflehog-key-check", "recon-tooling", "attack-tool-user-agent", [e], "GetCallerIdentity", pid)
        L.add("all/dormant-key-whoami", "iam-keys", "new-key-first-call-whoami", [e], "GetCallerIdentity", pid)

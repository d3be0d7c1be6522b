# SPDX-License-Identifier: Apache-2.0
"""`--attacks behavioural`: anomalies for the baseline-learning detectors, and their look-alikes.

The behavioural detectors (api-activity, new-source, key-lifecycle, assume-role, s3-access) learn
per-identity baselines during a 7-day warm-up of event time and report what an identity never
did. This mode adds, over a run of 12 or more days (16 recommended):

- benign activity that must stay quiet: a second office network (in `trusted_cidrs` of the test
  config) used by two CLI users from the warm-up's end on, the nightly backup role reading the
  whole orders bucket every night, CI runners on fresh addresses every day, a user travelling
  again to a hotel network she used during the warm-up, an own-key rotation after the warm-up,
  and a legacy job's key used on the first day only;
- labelled anomalies on the last two days, one (or a few) per rule of those detectors.

Everything here draws from its own random streams and is emitted after the day's benign
scripted events have been counted, so the rest of the corpus is the same events as with
`--attacks none` (only some addresses and keys of the actors named above differ, by design).
"""

from . import records as R
from . import util
from .world import ATTACKER_CLI_UA, EXTRA_ATTACKER_IPS, ATTACKER_IP2, TRAVEL_NET, public_ip
from .scenarios import console_login

WARMUP_DAYS = 7                  # the detectors' default warm-up, in days of event time
NEW_OFFICE_NET = "198.51.100."   # second office, opened after the warm-up (trusted_cidrs)
NEW_OFFICE_CIDR = NEW_OFFICE_NET + "0/24"
TRIP_IP = TRAVEL_NET + "157"     # carol's hotel network again (another address in that /24)
MIN_DAYS = 12

SCRIPT_UA = ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.15.0-91-generic "
             "lang/python#3.11.4")
RCLONE_UA = "rclone/v1.65.0"
EXFIL_IP = EXTRA_ATTACKER_IPS[3]   # 146.70.117.209
HOP_IP = EXTRA_ATTACKER_IPS[0]     # 193.142.146.21
REGION_IP = EXTRA_ATTACKER_IPS[1]  # 89.248.165.74
DORMANT_IP = EXTRA_ATTACKER_IPS[2]  # 5.188.206.14
NEW_REGIONS = ["ap-southeast-1", "sa-east-1", "ap-northeast-1"]


def s3_object_event(E, acct, t, ui, name, bucket, key, ip, ua, bytes_out=0, bytes_in=0, req_add=None,
                    resp=None, extra_add=None, ro=None, resources=None):
    """An S3 data event (eventCategory Data) as CloudTrail records it."""
    req = {"bucketName": bucket, "Host": "%s.s3.us-east-1.amazonaws.com" % bucket}
    if key is not None:
        req["key"] = key
    if req_add:
        req.update(req_add)
    extra = R.s3_extra(E.rng, bytes_out, bytes_in)
    if extra_add:
        extra.update(extra_add)
    if resources is None:
        resources = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::%s/%s" % (bucket, key)},
                     {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % bucket}]
    return E(acct, t, ui, "s3", name, "us-east-1", ip, ua, req, resp, ro=ro, s3=True, category="Data",
             extra=extra, resources=resources)


def list_buckets(E, acct, t, ui, ip, ua, error=None):
    return E(acct, t, ui, "s3", "ListBuckets", "us-east-1", ip, ua, {"Host": "s3.amazonaws.com"}, None,
             s3=True, extra=R.s3_extra(E.rng), tls_host="s3.amazonaws.com", version="1.08", error=error)


def denied(principal, svc, action, resource="*"):
    act = action.replace("20150331", "")
    code = "Client.UnauthorizedOperation" if svc == "ec2" else (
        "AccessDenied" if svc in ("iam", "sts", "rds", "s3") else "AccessDeniedException")
    msg = ("User: %s is not authorized to perform: %s:%s on resource: %s because no identity-based "
           "policy allows the %s:%s action" % (principal, svc, act, resource, svc, act))
    if code == "Client.UnauthorizedOperation":
        msg = "You are not authorized to perform this operation. " + msg
    return (code, msg)


class Labels:
    def __init__(self):
        self.items = []

    def add(self, label, detector, rule, eids, event_name, acct, day, **info):
        eids = [e for e in eids if e]
        d = {"label": label, "detector": detector, "rule": rule, "event_id": eids[0],
             "event_name": event_name, "account": acct, "day": day}
        d.update(info)
        if len(eids) > 1:
            d["event_ids"] = eids
            d["match"] = "any"
        self.items.append(d)


class Behavioural:
    def __init__(self, world, routine, seed, ndays, start_weekday):
        self.w = world
        self.seed = seed
        self.start_weekday = start_weekday
        self.rt = routine
        self.ndays = ndays
        self.last = ndays - 1
        self.office_day = WARMUP_DAYS + 2           # dave and kevin move to the new office
        self.rotation_day = WARMUP_DAYS + 3         # frank (prod) rotates his own key, a weekday
        while (start_weekday + self.rotation_day) % 7 >= 5:
            self.rotation_day += 1
        self.legacy_day = 0                         # ops-legacy's key: last benign use
        self.seen_runners = set()   # the /24 of every CI runner used so far
        p = world.prod
        self.frank_new_key = p.users["frank"].new_key
        self.actor_idx = {(a.acct, a.tag): a.idx for a in routine.actors}

    def trip_day(self):
        """A weekday after the warm-up and before the attack days for carol's second trip."""
        d = self.ndays - 4
        while d > WARMUP_DAYS and (self.start_weekday + d) % 7 >= 5:
            d -= 1
        return d

    # ------------------------------------------------------------------------- actor overrides
    def runner_ips(self, d):
        """GitHub-hosted runners get an address from a huge pool for every job: three fresh ones
        a day (the default pool of 24 repeats, which a week of warm-up would learn as few
        networks)."""
        rng = util.sub_rng(self.seed, "behavioural-runners", d)
        return [public_ip(rng, (4, 13, 20, 40, 52, 172)) for _ in range(3)]

    def adjust_actors(self, d, weekday, gh_ips, aui, aip, ala):
        """Per-day changes of the bulk actors: addresses, keys and look-alike kinds."""
        w = self.w
        p, dev = w.prod, w.dev
        # the second office (trusted_cidrs): dave (prod) and kevin (dev), weekdays
        if d >= self.office_day and weekday < 5:
            for a, name in ((p, "dave"), (dev, "kevin")):
                idx = self.actor_idx.get((a.id, ("user", name)))
                if idx is not None:
                    aip[idx] = NEW_OFFICE_NET + str(60 + a.index * 7 + (1 if name == "dave" else 2))
                    ala[idx] = "new-office-network"
        # frank (prod) works with his new key after his rotation
        if d > self.rotation_day:
            idx = self.actor_idx[(p.id, ("user", "frank"))]
            aui[idx] = R.dumps(R.ui_iam_user(p.id, p.users["frank"], key=self.frank_new_key))
        # carol travels again to the hotel network she used on day 1 (known: not news)
        if d == self.trip_day():
            idx = self.actor_idx[(p.id, ("user", "carol"))]
            aip[idx] = TRIP_IP
            ala[idx] = "travel-known-network"
        # CI runners on networks never used before (after the warm-up)
        new = [ip for ip in gh_ips if ip.rsplit(".", 1)[0] not in self.seen_runners]
        if d >= WARMUP_DAYS:
            for a in w.accounts:
                for k in range(3):
                    if gh_ips[k] in new:
                        idx = self.actor_idx.get((a.id, ("ci", k)))
                        if idx is not None:
                            ala[idx] = "ci-runner-new-network"
        for ip in gh_ips:
            self.seen_runners.add(ip.rsplit(".", 1)[0])

    # ------------------------------------------------------------------------- benign days
    def benign_day(self, d, weekday, E, ids, rng, man):
        """Scripted look-alikes of day d. Returns actor key switches like Scenarios.run_day."""
        w = self.w
        p = w.prod
        switches = []
        self._backup_full_read(d, E, ids, rng, man, p)
        if d == self.legacy_day:
            self._legacy_job(E, rng, man, p)
        if d == self.rotation_day:
            switches += self._rotation(E, rng, man, p)
        if d == self.trip_day():
            u = p.users["carol"]
            t = 14 * 3600 + 35 * 60 + rng.randrange(0, 900)
            e = console_login(E, p, u, t, TRIP_IP, u.console_ua, mfa=True, rng=rng)
            man("travel-known-network", e, "arn:aws:iam::%s:user/carol" % p.id)
        return switches

    def _backup_full_read(self, d, E, ids, rng, man, a):
        """NightlyBackup copies every object of <env>-orders-data each night (01:20-01:58)."""
        role = a.roles["NightlyBackup"]
        asia, created = ids.session(a.id, role.name, "nightly-backup", start=3600 + 300)
        ui = R.ui_assumed(a.id, role, "nightly-backup", asia, created)
        principal = "arn:aws:sts::%s:assumed-role/%s/nightly-backup" % (a.id, role.name)
        ip = a.nat_ip["us-east-1"]
        ua = R.BOTO3_APP_UA + " exec-env/AWS_Lambda_python3.11"
        b = a.buckets["app"]
        n = 1100 + 6 * d + rng.randrange(0, 40)       # the bucket grows a little every day
        t0 = 3600 + 20 * 60
        span = 37 * 60
        for k in range(n):
            t = t0 + (k * span) // n
            key = "orders/2026/%02d/%02d/batch-%04d.json" % (10 + k % 2, 1 + k % 28, k)
            e = s3_object_event(E, a.id, t, ui, "GetObject", b, key, ip, ua,
                                bytes_out=rng.randrange(120000, 700000), ro=True)
            man("backup-full-bucket-read", e, principal)

    def _legacy_job(self, E, rng, man, a):
        """ops-legacy's key, still used on the first day by an old export job (then never)."""
        u = a.users["ops-legacy"]
        ui = R.ui_iam_user(a.id, u)
        ip = a.nat_ip["us-east-1"]
        arn = "arn:aws:iam::%s:user/ops-legacy" % a.id
        t = 3 * 3600 + 30 * 60 + rng.randrange(0, 300)
        for svc, name, req in (("sts", "GetCallerIdentity", None),
                               ("ec2", "DescribeSnapshots", {"snapshotSet": {}, "ownersSet": {
                                   "items": [{"owner": "self"}]}, "filterSet": {}}),
                               ("rds", "DescribeDBSnapshots", {"dBInstanceIdentifier": "orders-db"})):
            t += rng.randrange(2, 9)
            e = E(a.id, t, ui, svc, name, "us-east-1", ip, R.cli_ua(svc, name), req, None)
            man("legacy-key-last-use", e, arn)

    def _rotation(self, E, rng, man, a):
        """frank rotates his own key after the warm-up (as dave did on day 1)."""
        u = a.users["frank"]
        arn = "arn:aws:iam::%s:user/frank" % a.id
        old_ui = R.ui_iam_user(a.id, u, key=u.key)
        new_ui = R.ui_iam_user(a.id, u, key=self.frank_new_key)
        t = 15 * 3600 + 41 * 60 + rng.randrange(0, 600)
        ip = u.ip
        e1 = E(a.id, t, old_ui, "iam", "CreateAccessKey", "us-east-1", ip,
               R.cli_ua("iam", "CreateAccessKey", u.platform), {"userName": "frank"},
               {"accessKey": {"userName": "frank", "accessKeyId": self.frank_new_key, "status": "Active",
                              "createDate": util.aws_date(E.day_epoch + t)}}, ro=False)
        e2 = E(a.id, t + 70, new_ui, "sts", "GetCallerIdentity", "us-east-1", ip,
               R.cli_ua("sts", "GetCallerIdentity", u.platform), None, None)
        e3 = E(a.id, t + 130, new_ui, "iam", "UpdateAccessKey", "us-east-1", ip,
               R.cli_ua("iam", "UpdateAccessKey", u.platform),
               {"userName": "frank", "accessKeyId": u.key, "status": "Inactive"}, None, ro=False)
        e4 = E(a.id, t + 3900, new_ui, "iam", "DeleteAccessKey", "us-east-1", ip,
               R.cli_ua("iam", "DeleteAccessKey", u.platform),
               {"userName": "frank", "accessKeyId": u.key}, None, ro=False)
        for e in (e1, e2, e3, e4):
            man("own-key-rotation", e, arn)
        return [(t + 100, ("user", "frank", a.id), self.frank_new_key)]

    # ------------------------------------------------------------------------- anomalies
    def attacks_day(self, d, E, ids, rng, gh_ip, aip):
        """Labelled anomalies of day d (the last two days); returns label dicts."""
        L = Labels()
        if d == self.last - 1:
            self._new_source_key(d, E, rng, L)
            self._dormant_key(d, E, rng, L)
        elif d == self.last:
            self._rate_spike(d, E, rng, L)
            self._error_burst(d, E, rng, L, aip)
            self._sprawl(d, E, rng, L)
            self._new_region(d, E, rng, L)
            self._new_key(d, E, ids, rng, L)
            self._new_role_for_caller(d, E, rng, L, aip)
            self._role_hopping(d, E, rng, L)
            self._session_novel_apis(d, E, ids, rng, L, gh_ip)
            self._s3(d, E, ids, rng, L)
        return L.items

    # --- new-source ----------------------------------------------------------------------
    def _new_source_key(self, d, E, rng, L):
        """prod svc-monitoring's long-term key (aws-sdk-go-v2 from the SaaS) used from a new /24
        with a boto3 script."""
        p = self.w.prod
        u = p.users["svc-monitoring"]
        ui = R.ui_iam_user(p.id, u)
        t = 14 * 3600 + 20 * 60 + rng.randrange(0, 600)
        evs = []
        for svc, name, region, req in (
                ("sts", "GetCallerIdentity", "us-east-1", None),
                ("monitoring", "DescribeAlarms", "us-east-1", {"maxRecords": 100}),
                ("ec2", "DescribeInstances", "us-east-1", {"instancesSet": {}, "filterSet": {}}),
                ("ec2", "DescribeInstances", "eu-west-1", {"instancesSet": {}, "filterSet": {}}),
                ("rds", "DescribeDBInstances", "us-east-1", {"maxRecords": 100}),
                ("lambda", "ListFunctions20150331", "us-east-1", None),
                ("monitoring", "ListMetrics", "us-east-1", {"namespace": "AWS/RDS"}),
                ("ec2", "DescribeSecurityGroups", "us-east-1", {"securityGroupSet": {},
                                                               "securityGroupIdSet": {}, "filterSet": {}})):
            t += rng.randrange(3, 20)
            evs.append(E(p.id, t, ui, svc, name, region, HOP_IP, SCRIPT_UA, req, None))
        L.add("behavioural/key-new-network", "new-source", "new-source-network", evs,
              "(svc-monitoring key from a new /24)", p.id, d)
        L.add("behavioural/key-new-client-family", "new-source", "new-user-agent-family", evs,
              "(boto3 instead of aws-sdk-go-v2)", p.id, d)

    # --- key-lifecycle -------------------------------------------------------------------
    def _dormant_key(self, d, E, rng, L):
        p = self.w.prod
        u = p.users["ops-legacy"]
        ui = R.ui_iam_user(p.id, u)
        t = 16 * 3600 + 40 * 60 + rng.randrange(0, 600)
        evs = []
        for svc, name, req in (("sts", "GetCallerIdentity", None),
                               ("iam", "ListAttachedUserPolicies", {"userName": "ops-legacy"}),
                               ("ec2", "DescribeSnapshots", {"snapshotSet": {}, "ownersSet": {
                                   "items": [{"owner": "self"}]}, "filterSet": {}})):
            t += rng.randrange(4, 30)
            evs.append(E(p.id, t, ui, svc, name, "us-east-1", DORMANT_IP, ATTACKER_CLI_UA, req, None))
        L.add("behavioural/dormant-key-used", "key-lifecycle", "dormant-key-used", evs,
              "GetCallerIdentity", p.id, d, idle_days=d - self.legacy_day,
              note="needs key-lifecycle dormancy <= idle_days (default 30d)")

    def _new_key(self, d, E, ids, rng, L):
        """dev lena's console session creates a key for test-user (never had one); the key is
        used two hours later from another network with a script."""
        dev = self.w.dev
        lena = dev.users["lena"]
        ui = R.ui_iam_user(dev.id, lena, console=ids.session(dev.id, "console", "lena"), mfa=lena.mfa)
        t = 13 * 3600 + 20 * 60 + rng.randrange(0, 600)
        key = util.key_id(rng, "AKIA")
        cak = E(dev.id, t, ui, "iam", "CreateAccessKey", "us-east-1", lena.ip, lena.console_ua,
                {"userName": "test-user"},
                {"accessKey": {"userName": "test-user", "accessKeyId": key, "status": "Active",
                               "createDate": util.aws_date(E.day_epoch + t)}}, ro=False, console=True)
        L.add("behavioural/first-key-for-user", "key-lifecycle", "first-key-for-user", [cak],
              "CreateAccessKey", dev.id, d)
        tu = dev.users["test-user"]
        kui = R.ui_iam_user(dev.id, tu, key=key)
        t += 6300 + rng.randrange(0, 900)
        evs = []
        for svc, name, req in (("sts", "GetCallerIdentity", None), ("iam", "ListUsers", None),
                               ("iam", "ListRoles", None), ("ec2", "DescribeInstances",
                                                            {"instancesSet": {}, "filterSet": {}})):
            t += rng.randrange(3, 15)
            evs.append(E(dev.id, t, kui, svc, name, "us-east-1", ATTACKER_IP2, SCRIPT_UA, req, None))
        L.add("behavioural/new-key-used-from-elsewhere", "key-lifecycle", "new-key-used-from-elsewhere",
              evs, "GetCallerIdentity", dev.id, d)

    # --- api-activity --------------------------------------------------------------------
    def _rate_spike(self, d, E, rng, L):
        """prod frank's key makes ~420 management calls in 45 minutes (his norm: a few dozen)."""
        p = self.w.prod
        u = p.users["frank"]
        ui = R.ui_iam_user(p.id, u, key=self.frank_new_key if d > self.rotation_day else u.key)
        calls = [("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
                 ("ec2", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}),
                 ("ec2", "DescribeSnapshots", {"snapshotSet": {}, "ownersSet": {"items": [{"owner": "self"}]},
                                               "filterSet": {}}),
                 ("ec2", "DescribeSecurityGroups", {"securityGroupSet": {}, "securityGroupIdSet": {},
                                                    "filterSet": {}}),
                 ("ec2", "DescribeNetworkInterfaces", {"networkInterfaceIdSet": {}, "filterSet": {}}),
                 ("logs", "DescribeLogGroups", {"limit": 50}),
                 ("logs", "DescribeLogStreams", {"logGroupName": "/aws/lambda/orders-api"}),
                 ("cloudformation", "DescribeStacks", None),
                 ("cloudformation", "ListStackResources", {"stackName": "orders-service"}),
                 ("lambda", "GetFunction20150331v2", {"functionName": "orders-api"})]
        t = 9 * 3600 + 2 * 60 + rng.randrange(0, 120)
        evs = []
        for k in range(420):
            svc, name, req = calls[rng.randrange(len(calls))]
            region = "us-east-1" if rng.random() < 0.7 else "eu-west-1"
            t += rng.choice((4, 5, 6, 7, 7, 8))
            evs.append(E(p.id, t, ui, svc, name, region, u.ip, R.cli_ua(svc, name, u.platform), req, None))
        L.add("behavioural/api-call-rate-spike", "api-activity", "api-call-rate-spike", evs,
              "(420 management calls in one hour)", p.id, d)

    def _error_burst(self, d, E, rng, L, aip):
        """dev kevin's key is denied 34 times on 12 actions across 6 services within minutes."""
        dev = self.w.dev
        u = dev.users["kevin"]
        ui = R.ui_iam_user(dev.id, u)
        ip = aip[self.actor_idx[(dev.id, ("user", "kevin"))]]
        principal = "arn:aws:iam::%s:user/kevin" % dev.id
        probes = [("iam", "ListUsers"), ("iam", "GetAccountAuthorizationDetails"), ("iam", "ListPolicies"),
                  ("secretsmanager", "ListSecrets"), ("secretsmanager", "GetSecretValue"),
                  ("kms", "ListKeys"), ("kms", "Decrypt"), ("rds", "DescribeDBSnapshots"),
                  ("organizations", "ListAccounts"), ("organizations", "DescribeOrganization"),
                  ("guardduty", "ListDetectors"), ("iam", "ListAccessKeys")]
        t = 10 * 3600 + 10 * 60 + rng.randrange(0, 300)
        evs = []
        for k in range(34):
            svc, name = probes[k % len(probes)]
            t += rng.randrange(3, 12)
            evs.append(E(dev.id, t, ui, svc, name, "us-east-1", ip, R.cli_ua(svc, name, u.platform),
                         None, None, ro=True, error=denied(principal, svc, name)))
        L.add("behavioural/api-error-burst", "api-activity", "api-error-burst", evs,
              "(34 denied calls, 12 actions)", dev.id, d)

    def _sprawl(self, d, E, rng, L):
        """prod svc-reporting (Athena and Cost Explorer only) reads 14 services in half an hour,
        from its usual host and client."""
        p = self.w.prod
        u = p.users["svc-reporting"]
        ui = R.ui_iam_user(p.id, u)
        ip = p.nat_ip["us-east-1"]
        calls = [("ec2", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}),
                 ("rds", "DescribeDBInstances", {"maxRecords": 100}),
                 ("lambda", "ListFunctions20150331", None),
                 ("dynamodb", "ListTables", {"limit": 100}),
                 ("sqs", "ListQueues", None),
                 ("sns", "ListTopics", None),
                 ("ecs", "ListClusters", None),
                 ("eks", "ListClusters", None),
                 ("elasticloadbalancing", "DescribeLoadBalancers", {"pageSize": 400}),
                 ("cloudformation", "DescribeStacks", None),
                 ("logs", "DescribeLogGroups", None),
                 ("ssm", "DescribeParameters", {"maxResults": 50}),
                 ("kms", "ListAliases", {"limit": 100}),
                 ("glue", "GetDatabases", None)]
        t = 11 * 3600 + 5 * 60 + rng.randrange(0, 300)
        evs = []
        for svc, name, req in calls:
            for _ in range(rng.randrange(1, 4)):
                t += rng.randrange(5, 40)
                evs.append(E(p.id, t, ui, svc, name, "us-east-1", ip, R.BOTO3_APP_UA, req, None))
        L.add("behavioural/service-sprawl", "api-activity", "service-sprawl", evs,
              "(14 services in one hour)", p.id, d)

    def _new_region(self, d, E, rng, L):
        """dev frank's key launches instances in three regions the dev account never used."""
        dev = self.w.dev
        u = dev.users["frank"]
        ui = R.ui_iam_user(dev.id, u)
        t = 12 * 3600 + 30 * 60 + rng.randrange(0, 300)
        evs = []
        for region in NEW_REGIONS:
            t += rng.randrange(20, 60)
            evs.append(E(dev.id, t, ui, "ec2", "DescribeImages", region, REGION_IP,
                         R.cli_ua("ec2", "DescribeImages"),
                         {"executableBySet": {}, "imagesSet": {}, "ownersSet": {"items": [{"owner": "amazon"}]},
                          "filterSet": {"items": [{"name": "name", "valueSet": {"items": [
                              {"value": "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"}]}}]}},
                         None))
            t += rng.randrange(10, 40)
            inst = "i-" + util.hexs(rng, 17)
            evs.append(E(dev.id, t, ui, "ec2", "RunInstances", region, REGION_IP,
                         R.cli_ua("ec2", "RunInstances"),
                         {"instancesSet": {"items": [{"imageId": "ami-" + util.hexs(rng, 17), "minCount": 8,
                                                      "maxCount": 8}]},
                          "instanceType": "c5.4xlarge", "blockDeviceMapping": {}, "monitoring": {"enabled": False},
                          "disableApiTermination": False, "disableApiStop": False, "clientToken": util.uuid4(rng)},
                         {"requestId": R.M_RID, "reservationId": "r-" + util.hexs(rng, 17), "ownerId": dev.id,
                          "groupSet": {}, "instancesSet": {"items": [
                              {"instanceId": inst, "instanceType": "c5.4xlarge",
                               "instanceState": {"code": 0, "name": "pending"}}]}}, ro=False))
        L.add("behavioural/new-region-for-account", "api-activity", "new-region-for-account", evs,
              "RunInstances", dev.id, d)

    # --- assume-role ---------------------------------------------------------------------
    def _assume(self, E, acct, t, ui, ip, ua, role_acct, role, session, rng, error=None,
                shared=False):
        arn = R.role_arn(role_acct, role)
        req = {"roleArn": arn, "roleSessionName": session, "durationSeconds": 3600}
        if error:
            return E(acct, t, ui, "sts", "AssumeRole", "us-east-1", ip, ua, req, None, error=error), None
        asia = util.key_id(rng, "ASIA")
        resp = {"credentials": {"accessKeyId": asia, "sessionToken": util.session_token(rng),
                                "expiration": util.aws_date(E.day_epoch + t + 3600)},
                "assumedRoleUser": {"assumedRoleId": "%s:%s" % (role.rid, session),
                                    "arn": "arn:aws:sts::%s:assumed-role/%s/%s" % (role_acct, role.name, session)}}
        e = E(acct, t, ui, "sts", "AssumeRole", "us-east-1", ip, ua, req, resp,
              resources=[{"accountId": role_acct, "type": "AWS::IAM::Role", "ARN": arn}], shared=shared)
        return e, asia

    def _new_role_for_caller(self, d, E, rng, L, aip):
        """prod dave (never assumed a role) assumes NightlyBackup and looks at the volumes."""
        p = self.w.prod
        u = p.users["dave"]
        ui = R.ui_iam_user(p.id, u, key=u.new_key)
        ip = aip[self.actor_idx[(p.id, ("user", "dave"))]]
        role = p.roles["NightlyBackup"]
        t = 13 * 3600 + 40 * 60 + rng.randrange(0, 300)
        e, asia = self._assume(E, p.id, t, ui, ip, R.cli_ua("sts", "AssumeRole", u.platform), p.id, role,
                               "dave-cli", rng)
        L.add("behavioural/new-role-for-caller", "assume-role", "new-role-for-caller", [e], "AssumeRole",
              p.id, d)
        sui = R.ui_assumed(p.id, role, "dave-cli", asia, util.iso(E.day_epoch + t))
        E(p.id, t + 25, sui, "ec2", "DescribeVolumes", "us-east-1", ip,
          R.cli_ua("ec2", "DescribeVolumes", u.platform), {"volumeSet": {}, "filterSet": {}}, None)

    def _role_hopping(self, d, E, rng, L):
        """dev svc-monitoring's key tries seven roles in 20 minutes; six are denied."""
        w = self.w
        dev, p = w.dev, w.prod
        u = dev.users["svc-monitoring"]
        ui = R.ui_iam_user(dev.id, u)
        principal = "arn:aws:iam::%s:user/svc-monitoring" % dev.id
        ua = SCRIPT_UA
        t = 14 * 3600 + 5 * 60 + rng.randrange(0, 300)
        targets = [(dev, "OrganizationAccountAccessRole", True), (dev, "TerraformApply", True),
                   (p, "OrganizationAccountAccessRole", True), (dev, "NightlyBackup", True),
                   (p, "TerraformApply", True), (dev, "SecurityAuditScanner", True),
                   (dev, "app-orders", False)]
        evs = []
        for a, rname, deny in targets:
            t += rng.randrange(60, 200)
            role = a.roles[rname]
            err = None
            if deny:
                err = ("AccessDenied", "User: %s is not authorized to perform: sts:AssumeRole on resource: %s"
                       % (principal, R.role_arn(a.id, role)))
            e, _ = self._assume(E, dev.id, t, ui, HOP_IP, ua, a.id, role, "probe", rng, error=err)
            evs.append(e)
        L.add("behavioural/role-hopping", "assume-role", "role-hopping", evs, "AssumeRole", dev.id, d)

    def _session_novel_apis(self, d, E, ids, rng, L, gh_ip):
        """A CI run (the deploy role) assumes TerraformApply, whose sessions only refresh and tag,
        and creates an admin user and reads secrets."""
        p = self.w.prod
        ci_role = p.roles["GitHubActions-Deploy"]
        c_asia, c_created = ids.session(p.id, "ci")
        prov = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % p.id
        ci_ui = R.ui_assumed(p.id, ci_role, "GitHubActions", c_asia, c_created, web_provider=prov)
        role = p.roles["TerraformApply"]
        session = "terraform-%d" % rng.randrange(10 ** 9, 10 ** 10)
        t = 20 * 3600 + 40 * 60 + rng.randrange(0, 300)
        e, asia = self._assume(E, p.id, t, ci_ui, gh_ip, R.terraform_ua("sts"), p.id, role, session, rng)
        sui = R.ui_assumed(p.id, role, session, asia, util.iso(E.day_epoch + t))
        evs = [e]
        ua = SCRIPT_UA
        t += rng.randrange(20, 60)
        evs.append(E(p.id, t, sui, "sts", "GetCallerIdentity", "us-east-1", gh_ip, ua, None, None))
        t += rng.randrange(10, 30)
        uid = util.key_id(rng, "AIDA")
        evs.append(E(p.id, t, sui, "iam", "CreateUser", "us-east-1", gh_ip, ua, {"userName": "tf-state-sync"},
                     {"user": {"path": "/", "userName": "tf-state-sync", "userId": uid,
                               "arn": "arn:aws:iam::%s:user/tf-state-sync" % p.id,
                               "createDate": util.aws_date(E.day_epoch + t)}}, ro=False))
        t += rng.randrange(5, 20)
        evs.append(E(p.id, t, sui, "iam", "AttachUserPolicy", "us-east-1", gh_ip, ua,
                     {"userName": "tf-state-sync", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
                     None, ro=False))
        for name in p.secret_names[:3]:
            t += rng.randrange(2, 8)
            evs.append(E(p.id, t, sui, "secretsmanager", "GetSecretValue", "us-east-1", gh_ip, ua,
                         {"secretId": p.secret_arns[name]}, None))
        L.add("behavioural/session-novel-apis", "assume-role", "session-novel-apis", evs,
              "(TerraformApply session: CreateUser, AttachUserPolicy, GetSecretValue)", p.id, d)

    # --- s3-access -----------------------------------------------------------------------
    def _s3(self, d, E, ids, rng, L):
        w = self.w
        p = w.prod
        pid = p.id
        # app-payments (ECS; no S3 at all) lists the buckets, then reads the customer bucket
        task = next(a.tag[2] for a in self.rt.actors if a.acct == pid and a.tag[:2] == ("role", "app-payments"))
        role = p.roles["app-payments"]
        asia, created = ids.session(pid, "app-payments", task)
        ui = R.ui_assumed(pid, role, task, asia, created)
        ip = p.nat_ip["us-east-1"]
        ua = R.go_ua("s3")
        t = 10 * 3600 + 20 * 60 + rng.randrange(0, 300)
        lb = list_buckets(E, pid, t, ui, ip, ua)
        L.add("behavioural/first-list-buckets", "s3-access", "first-list-buckets", [lb], "ListBuckets", pid, d)
        b = p.buckets["customer"]
        evs = []
        for k in range(4):
            t += rng.randrange(5, 30)
            evs.append(s3_object_event(E, pid, t, ui, "GetObject", b, "exports/customers-%04d.csv.gz" % k, ip, ua,
                                       bytes_out=rng.randrange(2 * 10 ** 6, 9 * 10 ** 6), ro=True))
        L.add("behavioural/new-bucket-access", "s3-access", "new-bucket-access", evs, "GetObject", pid, d)

        # app-orders' instance credentials, stolen, used from outside: mass read of its bucket
        inst = p.instances["us-east-1"][0]
        role = p.roles["app-orders"]
        asia, created = ids.session(pid, "app-orders", inst)
        oui = R.ui_assumed(pid, role, inst, asia, created, ec2=True)
        b = p.buckets["app"]
        t = 11 * 3600 + 3 * 60 + rng.randrange(0, 120)
        evs = []
        n = 1250
        for k in range(n):
            t1 = t + (k * 2880) // n
            key = "orders/2026/%02d/%02d/batch-%04d.json" % (10 + k % 2, 1 + k % 28, k)
            evs.append(s3_object_event(E, pid, t1, oui, "GetObject", b, key, EXFIL_IP, RCLONE_UA,
                                       bytes_out=rng.randrange(2 * 10 ** 6, 4 * 10 ** 6), ro=True))
        L.add("behavioural/mass-read", "s3-access", "mass-read", evs, "(1250 GetObject, ~3.7 GB)", pid, d)
        L.add("behavioural/large-transfer-external", "s3-access", "large-transfer-external", evs,
              "(~3.7 GB to one outside address)", pid, d)

        # ... then an SSE-C rewrite of its objects (Codefinger-style ransom encryption)
        t = 14 * 3600 + 25 * 60 + rng.randrange(0, 120)
        md5 = util.b64(rng, 22) + "=="
        evs = []
        for k in range(40):
            t += rng.randrange(3, 12)
            key = "orders/2026/11/%02d/batch-%04d.json" % (1 + k % 28, k)
            evs.append(s3_object_event(
                E, pid, t, oui, "PutObject", b, key, EXFIL_IP, SCRIPT_UA, bytes_in=rng.randrange(200000, 900000),
                req_add={"x-amz-server-side-encryption-customer-algorithm": "AES256",
                         "x-amz-server-side-encryption-customer-key-MD5": md5},
                resp={"x-amz-server-side-encryption-customer-algorithm": "AES256",
                      "x-amz-server-side-encryption-customer-key-MD5": md5},
                extra_add={"SSEApplied": "SSE_C"}, ro=False))
        L.add("behavioural/sse-c-rewrite", "s3-access", "sse-c-rewrite", evs, "PutObject (SSE-C)", pid, d)

        # reports-builder's Lambda credentials, stolen: mass deletion of the reports bucket
        role = p.roles["reports-builder"]
        asia, created = ids.session(pid, "reports-builder", "reports-builder")
        rui = R.ui_assumed(pid, role, "reports-builder", asia, created)
        b = p.buckets["reports"]
        t = 15 * 3600 + 10 * 60 + rng.randrange(0, 120)
        evs = []
        for k in range(32):
            t += rng.randrange(4, 15)
            evs.append(s3_object_event(
                E, pid, t, rui, "DeleteObjects", b, None, EXFIL_IP, SCRIPT_UA, bytes_in=rng.randrange(30000, 90000),
                req_add={"delete": ""}, ro=False,
                resources=[{"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::%s/" % b},
                           {"accountId": pid, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::%s" % b}]))
        L.add("behavioural/mass-delete", "s3-access", "mass-delete", evs, "DeleteObjects", pid, d)

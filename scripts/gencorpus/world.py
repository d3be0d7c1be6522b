# SPDX-License-Identifier: Apache-2.0
"""The simulated organization: accounts, IAM users, roles, resources and network addresses.

Built once from its own random stream (util.sub_rng(seed, "world")), so the attack options never
change the benign world.
"""

from . import util

REGIONS = ["us-east-1", "eu-west-1"]
OFFICE_CIDR = "203.0.113.0/24"
TRAVEL_NET = "81.2.69."          # the travelling user's hotel network (one day)
BACKUP_ACCOUNT = "777788889999"  # org security/backup account: snapshot shares, DR replication
FOREIGN_ACCOUNT = "999988887777"  # the exfiltration account: appears nowhere but in attacks
ATTACKER_IP = "185.220.101.34"
ATTACKER_IP2 = "45.155.205.99"
ROOT_ATTACKER_IP = "102.165.16.88"
EXTRA_ATTACKER_IPS = ["193.142.146.21", "89.248.165.74", "5.188.206.14", "146.70.117.209"]
ATTACKER_UA = ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.5.0-kali3-amd64 "
               "lang/python#3.11.8")
ATTACKER_CLI_UA = ("aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0-91-generic exe/x86_64.ubuntu.22 "
                   "prompt/off command/sts.get-caller-identity")

DEFAULT_ACCOUNTS = [("111122223333", "prod"), ("444455556666", "dev"),
                    ("777788889999", "security")]

# Attack infrastructure must never appear in benign traffic.
RESERVED_FIRST_OCTETS = {185, 45, 102, 193, 89, 5, 146, 81, 203, 198}


class User:
    __slots__ = ("name", "uid", "key", "new_key", "mfa", "kind", "platform", "ip", "home_ip",
                 "console_ua", "admin")

    def __init__(self, rng, name, kind, mfa=True, platform="linux", admin=False):
        self.name = name
        self.uid = util.key_id(rng, "AIDA")
        self.key = util.key_id(rng, "AKIA")
        self.new_key = util.key_id(rng, "AKIA")  # used after a rotation
        self.mfa = mfa
        self.kind = kind          # console | cli | service | dormant
        self.platform = platform
        self.ip = None
        self.home_ip = None
        self.console_ua = None
        self.admin = admin


class Role:
    __slots__ = ("name", "rid", "path")

    def __init__(self, rng, name, path="/"):
        self.name = name
        self.rid = util.key_id(rng, "AROA")
        self.path = path


def public_ip(rng, first_octets=(3, 18, 34, 35, 44, 52, 54)):
    while True:
        a = rng.choice(first_octets)
        if a not in RESERVED_FIRST_OCTETS:
            return "%d.%d.%d.%d" % (a, rng.randrange(1, 255), rng.randrange(0, 255),
                                    rng.randrange(1, 255))


class Account:
    def __init__(self, rng, acct_id, name, index):
        self.id = acct_id
        self.name = name
        self.index = index
        self.users = {}
        self.roles = {}
        self.nat_ip = {r: public_ip(rng) for r in util_regions()}
        self.vpc = {r: "vpc-" + util.hexs(rng, 17) for r in util_regions()}
        self.subnets = {r: ["subnet-" + util.hexs(rng, 17) for _ in range(3)]
                        for r in util_regions()}
        self.sgs = {r: ["sg-" + util.hexs(rng, 17) for _ in range(6)] for r in util_regions()}
        self.instances = {r: ["i-" + util.hexs(rng, 17) for _ in range(8)] for r in util_regions()}
        self.volumes = {r: ["vol-" + util.hexs(rng, 17) for _ in range(6)] for r in util_regions()}
        self.kms_key = {r: util.uuid4(rng) for r in util_regions()}
        self.canonical_id = util.hexs(rng, 64)
        self.guardduty_detector = {r: util.hexs(rng, 32) for r in util_regions()}
        self.sso_suffix = {"AdministratorAccess": util.hexs(rng, 16),
                           "ReadOnlyAccess": util.hexs(rng, 16),
                           "PowerUserAccess": util.hexs(rng, 16)}
        env = name if name in ("prod", "dev") else name.split("-")[0]
        self.env = env
        self.buckets = {
            "app": "%s-orders-data" % env,
            "artifacts": "%s-ci-artifacts-%s" % (env, acct_id),
            "reports": "%s-reports" % env,
            "logs": "%s-app-logs-%s" % (env, acct_id),
            "customer": "%s-customer-data" % env,
        }
        self.secret_names = ["%s/orders/db" % env, "%s/payments/stripe-api-key" % env,
                             "%s/reports/warehouse" % env, "%s/billing/db" % env,
                             "%s/auth/jwt-signing-key" % env, "%s/crm/salesforce-token" % env,
                             "%s/analytics/snowflake" % env, "%s/mail/sendgrid" % env,
                             "%s/search/elastic" % env, "%s/ledger/db" % env,
                             "%s/partners/api-keys" % env, "%s/shipping/fedex-api" % env,
                             "%s/support/zendesk-token" % env, "%s/legacy/ftp-password" % env]
        self.secret_arns = {
            n: "arn:aws:secretsmanager:us-east-1:%s:secret:%s-%s" % (acct_id, n, util.alnum(rng, 6))
            for n in self.secret_names}
        self.params = ["/app/%s/orders/db-url" % env, "/app/%s/orders/api-token" % env,
                       "/app/%s/orders/queue-url" % env]
        self.snapshots = ["snap-" + util.hexs(rng, 17) for _ in range(12)]
        self.amis = ["ami-" + util.hexs(rng, 17) for _ in range(3)]
        self.functions = ["orders-api", "orders-worker", "reports-builder", "thumbnailer"]


def util_regions():
    return REGIONS


# (name, kind, mfa, platform, admin)
PROD_USERS = [("alice", "console", True, "mac", True), ("bob", "console", True, "mac", False),
              ("carol", "console", True, "linux", False), ("dave", "cli", True, "linux", True),
              ("erin", "console", True, "mac", False), ("frank", "cli", True, "mac", False),
              ("grace", "dormant", True, "linux", False), ("heidi", "dormant", True, "linux", False),
              ("ivan", "dormant", True, "linux", False), ("judy", "dormant", True, "linux", False),
              ("svc-reporting", "service", False, "linux", False),
              ("svc-monitoring", "service", False, "linux", False),
              ("admin-backup", "dormant", False, "linux", True),
              ("ops-legacy", "dormant", False, "linux", False),
              ("ci-legacy-deployer", "dormant", False, "linux", False)]
DEV_USERS = [("bob", "console", True, "mac", False), ("erin", "console", True, "mac", False),
             ("frank", "cli", True, "mac", False), ("kevin", "cli", True, "linux", False),
             ("lena", "console", True, "linux", True), ("svc-monitoring", "service", False, "linux", False),
             ("test-user", "dormant", False, "linux", False)]
SEC_USERS = [("secops-jane", "console", True, "mac", True), ("secops-omar", "cli", True, "linux", False),
             ("svc-monitoring", "service", False, "linux", False)]
OTHER_USERS = [("ops-admin", "console", True, "linux", True), ("dev-1", "cli", True, "linux", False),
               ("svc-monitoring", "service", False, "linux", False)]

COMMON_ROLES = [("GitHubActions-Deploy", "/"), ("TerraformApply", "/"), ("app-orders", "/"),
                ("app-payments", "/"), ("reports-builder", "/service-role/"),
                ("SecurityAuditScanner", "/"), ("NightlyBackup", "/"),
                ("s3-replication-role", "/service-role/"),
                ("AWSServiceRoleForConfig", "/aws-service-role/config.amazonaws.com/"),
                ("AWSServiceRoleForAutoScaling", "/aws-service-role/autoscaling.amazonaws.com/"),
                ("AWSServiceRoleForElasticLoadBalancing",
                 "/aws-service-role/elasticloadbalancing.amazonaws.com/"),
                ("CloudTrail_CloudWatchLogs_Role", "/service-role/"),
                ("OrganizationAccountAccessRole", "/")]


class World:
    def __init__(self, seed, n_accounts):
        rng = util.sub_rng(seed, "world")
        self.rng = rng
        ids = list(DEFAULT_ACCOUNTS)
        i = 0
        while len(ids) < n_accounts:
            i += 1
            ids.append(("3%03d%08d" % (i, 12345678 + i * 1111), "workload-%d" % i))
        self.accounts = []
        for idx, (aid, name) in enumerate(ids[:n_accounts]):
            a = Account(rng, aid, name, idx)
            spec = {0: PROD_USERS, 1: DEV_USERS, 2: SEC_USERS}.get(idx, OTHER_USERS)
            office_hosts = rng.sample(range(10, 250), len(spec))
            for j, (uname, kind, mfa, plat, admin) in enumerate(spec):
                u = User(rng, uname, kind, mfa, plat, admin)
                u.ip = "203.0.113.%d" % office_hosts[j]
                u.home_ip = public_ip(rng, (24, 47, 67, 73, 98, 174))
                u.console_ua = rng.choice(_console_uas())
                a.users[uname] = u
            for rname, path in COMMON_ROLES:
                a.roles[rname] = Role(rng, rname, path)
            for perm, suffix in a.sso_suffix.items():
                rn = "AWSReservedSSO_%s_%s" % (perm, suffix)
                a.roles[rn] = Role(rng, rn, "/aws-reserved/sso.amazonaws.com/")
            self.accounts.append(a)
        # The same human is the same person in every account (for the SSO sessions).
        self.sso_people = ["alice@example.com", "bob@example.com", "carol@example.com",
                           "erin@example.com", "jane.secops@example.com", "kevin@example.com"]
        self.sso_ip = {p: "203.0.113.%d" % (200 + k) for k, p in enumerate(self.sso_people)}
        self.gh_runner_ips = [public_ip(rng, (4, 13, 20, 40, 52, 172)) for _ in range(24)]
        self.security = self.accounts[2] if len(self.accounts) > 2 else self.accounts[-1]
        self.prod = self.accounts[0]
        self.dev = self.accounts[1] if len(self.accounts) > 1 else self.accounts[0]
        self.org_ids = [a.id for a in self.accounts]
        self.github_org = "acme-corp"
        self.saas_ip = public_ip(rng, (3, 34, 52, 54))      # the monitoring SaaS polling CloudWatch
        self.lambda_ips = [public_ip(rng, (3, 18, 44, 52, 54)) for _ in range(8)]
        self.by_id = {a.id: a for a in self.accounts}


def _console_uas():
    from .records import CONSOLE_UAS
    return CONSOLE_UAS

# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the trailhound binary: commands, input formats, bad input, exit codes."""
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest

BIN = os.environ.get("TRAILHOUND_BIN", "build/bin/trailhound")
SRC = os.environ.get("TRAILHOUND_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP_ROOT = os.environ.get("TRAILHOUND_TEST_TMP", tempfile.gettempdir())

FINDING_FIELDS = [
    "finding_id", "detector", "rule", "severity", "title", "summary", "environment", "account_id",
    "region", "principal", "source_ip", "user_agent", "event_ids", "event_names", "first_seen",
    "last_seen", "mitre", "evidence", "detector_version", "host_version",
]


def record(event_id, name="ListUsers", source="iam.amazonaws.com", identity=None, time="2026-11-20T10:00:00Z",
           **extra):
    """A realistic CloudTrail record."""
    r = {
        "eventVersion": "1.09",
        "userIdentity": identity or {
            "type": "IAMUser", "principalId": "AIDAEXAMPLEALICE00001",
            "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.10",
        "userAgent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12",
        "requestParameters": None, "responseElements": None,
        "requestID": "6f1c1e2a-3b4d-4e5f-8a9b-0c1d2e3f4a5b", "eventID": event_id, "readOnly": True,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }
    r.update(extra)
    return r


ROOT_IDENTITY = {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
                 "accountId": "111122223333", "accessKeyId": "AKIAROOTEXAMPLE00001"}


def world_open_ssh(event_id):
    return record(event_id, name="AuthorizeSecurityGroupIngress", source="ec2.amazonaws.com",
                  readOnly=False,
                  requestParameters={"groupId": "sg-0123456789abcdef0", "ipPermissions": {"items": [
                      {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                       "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
                  responseElements={"requestId": "x", "_return": True})


def run(*args, stdin=None):
    p = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=300)
    findings = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    return p.returncode, findings, p.stderr, p.stdout


class CliTest(unittest.TestCase):
    def setUp(self):
        os.makedirs(TMP_ROOT, exist_ok=True)
        self.dir = tempfile.mkdtemp(dir=TMP_ROOT)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *parts):
        p = os.path.join(self.dir, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def write_records_gz(self, rel, records):
        with gzip.open(self.path(rel), "wt") as f:
            json.dump({"Records": records}, f)

    # --- commands -------------------------------------------------------------------------

    def test_version_and_usage(self):
        rc, _, _, out = run("version")
        self.assertEqual(rc, 0)
        self.assertIn("plugin ABI 1.", out)
        rc, _, err, _ = run("no-such-command")
        self.assertEqual(rc, 1)
        self.assertIn("unknown command", err)

    def test_plugins_list_finds_builtin_plugins_without_configuration(self):
        rc, _, err, out = run("plugins", "list")
        self.assertEqual(rc, 0, err)
        for family in ["root-account", "iam-keys", "security-groups", "defense-evasion", "mfa-and-signin",
                       "privilege-escalation", "exfiltration-config", "credential-access", "recon-tooling"]:
            self.assertIn(family, out)
        self.assertIn("lib/trailhound/plugins/th-root-account.so", out)

    def test_plugins_describe_documents_rules_and_params(self):
        rc, _, _, out = run("plugins", "describe", "iam-keys")
        self.assertEqual(rc, 0)
        self.assertIn("access-key-created-for-other-user", out)
        self.assertIn("enumeration_threshold", out)
        self.assertIn("T1098.001", out)
        rc, _, err, _ = run("plugins", "describe", "nope")
        self.assertEqual(rc, 1)
        self.assertIn("no detector 'nope'", err)

    def test_config_show_and_check_with_environment_overlay(self):
        base = os.path.join(SRC, "configs", "base.toml")
        rc, _, err, out = run("config", "show", "-c", base, "-e", "prod")
        self.assertEqual(rc, 0, err)
        self.assertIn("environments/prod.toml:", out)
        self.assertIn("base.toml:", out)
        for env in ["dev", "staging", "prod", "demo"]:
            rc, _, err, out = run("config", "check", "-c", base, "-e", env)
            self.assertEqual(rc, 0, f"{env}: {err}{out}")

    def test_config_errors_name_file_line_and_column(self):
        cfg = self.path("bad.toml")
        with open(cfg, "w") as f:
            f.write('[detectors.iam-keys.params]\nenumeration_threshold = "ten"\n')
        rc, _, err, _ = run("config", "check", "-c", cfg)
        self.assertEqual(rc, 1)
        self.assertIn("bad.toml:2:", err)
        with open(cfg, "w") as f:
            f.write('[detectors.no-such-detector]\nenabled = true\n')
        rc, _, err, _ = run("scan", "-c", cfg, self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("bad.toml:1:", err)
        self.assertIn("no-such-detector", err)

    # --- scanning -------------------------------------------------------------------------

    def test_scan_s3_layout_tree_emits_every_schema_field(self):
        self.write_records_gz(
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/"
            "111122223333_CloudTrail_us-east-1_20261120T1005Z_AbCdEf012345.json.gz",
            [record("e-1"), world_open_ssh("e-2")])
        rc, findings, err, _ = run("scan", self.path("AWSLogs"))
        self.assertEqual(rc, 0, err)
        sg = [f for f in findings if f["detector"] == "security-groups"]
        self.assertEqual(len(sg), 1, findings)
        self.assertEqual(list(sg[0].keys()), FINDING_FIELDS)
        self.assertEqual(sg[0]["event_ids"], ["e-2"])
        self.assertEqual(sg[0]["severity"], "high")
        self.assertIn("trailhound summary", err)
        self.assertIn("2 processed", err)

    def test_scan_reads_ndjson_json_array_lookup_events_and_stdin(self):
        with open(self.path("events.ndjson"), "w") as f:
            f.write("\ufeff" + json.dumps(world_open_ssh("n-1")) + "\r\n\r\n")
        with open(self.path("array.json"), "w") as f:
            json.dump([world_open_ssh("a-1")], f)
        with open(self.path("lookup.json"), "w") as f:
            json.dump({"Events": [{"EventId": "l-1", "CloudTrailEvent": json.dumps(world_open_ssh("l-1"))}]}, f)
        rc, findings, err, _ = run("scan", self.dir)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(f["event_ids"][0] for f in findings if f["detector"] == "security-groups"),
                         ["a-1", "l-1", "n-1"])
        rc, findings, err, _ = run("scan", "-", stdin=json.dumps(world_open_ssh("s-1")) + "\n")
        self.assertEqual(rc, 0, err)
        self.assertEqual([f["event_ids"] for f in findings if f["detector"] == "security-groups"], [["s-1"]])

    def test_duplicate_deliveries_are_processed_once(self):
        self.write_records_gz("a/111122223333_CloudTrail_us-east-1_20261120T1005Z_a.json.gz", [world_open_ssh("d-1")])
        self.write_records_gz("a/111122223333_CloudTrail_us-east-1_20261120T1010Z_b.json.gz", [world_open_ssh("d-1")])
        rc, findings, err, _ = run("scan", self.dir)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len([f for f in findings if f["detector"] == "security-groups"]), 1)
        self.assertIn("1 duplicate", err)

    def test_digest_files_are_skipped_not_failed(self):
        digest = self.path("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/"
                           "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261120T1005Z.json.gz")
        with gzip.open(digest, "wt") as f:
            json.dump({"awsAccountId": "111122223333", "digestStartTime": "2026-11-20T09:05:00Z",
                       "digestEndTime": "2026-11-20T10:05:00Z", "logFiles": []}, f)
        rc, _, err, _ = run("scan", self.dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("digest: 1", err)

    def test_bad_input_never_crashes_and_loses_nothing_else(self):
        good = [world_open_ssh("g-1"), record("g-2")]
        # A truncated gzip: the complete records before the cut are still processed.
        blob = gzip.compress(json.dumps({"Records": [world_open_ssh("t-1")] + [record(f"t-{i}") for i in range(2, 400)]}).encode())
        with open(self.path("truncated.json.gz"), "wb") as f:
            f.write(blob[: len(blob) * 2 // 3])
        with open(self.path("garbage.json.gz"), "wb") as f:
            f.write(os.urandom(4096))
        # One malformed record among valid ones.
        with open(self.path("mixed.json"), "w") as f:
            f.write('{"Records":[' + json.dumps(good[0]) + ',{"eventName": , "x": 1},' + json.dumps(good[1]) + "]}")
        # 100 000 levels of nesting.
        with open(self.path("deep.json"), "w") as f:
            f.write('{"Records":[{"eventName":"X","eventTime":"2026-11-20T10:00:00Z","a":' + "[" * 100000 + "]" * 100000 + "}]}")
        rc, findings, err, _ = run("scan", self.dir)
        self.assertEqual(rc, 2, err)  # input problems are reported through the exit code
        self.assertGreater(rc, -1, "crashed")
        ids = {i for f in findings for i in f["event_ids"]}
        self.assertIn("g-1", ids)
        self.assertIn("t-1", ids)
        self.assertIn("mixed.json: record 1", err)
        self.assertIn("truncated.json.gz", err)
        self.assertIn("deep.json: record 0", err)
        self.assertIn("nesting deeper than 64", err)
        self.assertIn("garbage.json.gz", err)
        self.assertIn("malformed", err)

    def test_fail_on_sets_exit_code_three(self):
        self.write_records_gz("x/111122223333_CloudTrail_us-east-1_20261120T1005Z_a.json.gz", [world_open_ssh("f-1")])
        rc, _, _, _ = run("scan", "--quiet", "--fail-on", "high", self.dir)
        self.assertEqual(rc, 3)
        rc, _, _, _ = run("scan", "--quiet", "--fail-on", "critical", self.dir)
        self.assertEqual(rc, 0)
        rc, _, err, _ = run("scan", "--fail-on", "bogus", self.dir)
        self.assertEqual(rc, 1)

    def test_output_file_sink_and_environment_stamp(self):
        self.write_records_gz("x/111122223333_CloudTrail_us-east-1_20261120T1005Z_a.json.gz",
                              [record("r-1", identity=ROOT_IDENTITY, name="GetAccountSummary")])
        out = self.path("findings.jsonl")
        base = os.path.join(SRC, "configs", "base.toml")
        rc, stdout_findings, err, _ = run("scan", "-q", "-c", base, "-e", "prod", "-o", f"jsonl:{out}", self.path("x"))
        self.assertEqual(rc, 0, err)
        self.assertEqual(stdout_findings, [])
        with open(out) as f:
            findings = [json.loads(line) for line in f]
        root = [f for f in findings if f["detector"] == "root-account"]
        self.assertTrue(root)
        self.assertTrue(all(f["environment"] == "prod" for f in findings))

    def test_disabled_detector_and_plugin_dir(self):
        cfg = self.path("off.toml")
        with open(cfg, "w") as f:
            f.write("[detectors.security-groups]\nenabled = false\n")
        self.write_records_gz("x/111122223333_CloudTrail_us-east-1_20261120T1005Z_a.json.gz", [world_open_ssh("o-1")])
        rc, findings, err, _ = run("scan", "-c", cfg, self.path("x"))
        self.assertEqual(rc, 0, err)
        self.assertFalse([f for f in findings if f["detector"] == "security-groups"])
        rc, _, err, _ = run("scan", "--plugin-dir", self.path("missing-dir"), self.path("x"))
        self.assertIn("missing-dir: plugin directory does not exist", err)

    def test_parallel_pipeline_gives_the_same_findings_as_one_thread(self):
        samples = os.path.join(SRC, "samples")
        base = os.path.join(SRC, "configs", "base.toml")
        outputs = []
        for threads in ["1", "2", "4"]:
            rc, findings, err, stdout = run("scan", "-q", "--threads", threads, "-c", base, "-e", "demo", samples)
            self.assertIn(rc, (0, 2), err)
            outputs.append(stdout)
        self.assertGreater(len(outputs[0].splitlines()), 5)
        self.assertEqual(outputs[0], outputs[1])
        self.assertEqual(outputs[0], outputs[2])

    # --- plugin trust ---------------------------------------------------------------------

    def copy_plugin(self, sub):
        src = os.path.join(os.path.dirname(BIN), "..", "lib", "trailhound", "plugins", "th-root-account.so")
        d = self.path(sub, "x")
        d = os.path.dirname(d)
        os.chmod(d, 0o755)
        dst = os.path.join(d, "th-root-account.so")
        shutil.copy(src, dst)
        os.chmod(dst, 0o755)
        return d, dst

    def test_world_writable_plugin_is_refused_unless_allowed(self):
        d, so = self.copy_plugin("ww")
        os.chmod(so, 0o777)
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "--plugin-dir", d)
        self.assertIn("th-root-account.so: plugin file is world-writable", err)
        self.assertNotIn("root-account", out)
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "--allow-insecure-plugins", "--plugin-dir", d)
        self.assertIn("root-account", out)
        os.chmod(so, 0o755)
        os.chmod(d, 0o777)
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "--plugin-dir", d)
        self.assertIn("plugin directory is world-writable", err)
        os.chmod(d, 0o755)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give the file to another user")
    def test_plugin_owned_by_another_user_is_refused(self):
        d, so = self.copy_plugin("other")
        os.chown(so, 65534, 65534)
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "--plugin-dir", d)
        self.assertIn("owned by uid 65534, neither root nor the current user", err)
        self.assertNotIn("root-account ", out)

    def test_sha256_pinning(self):
        import hashlib
        d, so = self.copy_plugin("pin")
        with open(so, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        cfg = self.path("pin.toml")
        with open(cfg, "w") as f:
            f.write('[plugin_sha256]\n"th-root-account.so" = "%s"\n' % digest)
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "-c", cfg, "--plugin-dir", d)
        self.assertIn("root-account", out, err)
        with open(cfg, "w") as f:
            f.write('[plugin_sha256]\n"th-root-account.so" = "%s"\n' % ("0" * 64))
        rc, _, err, out = run("plugins", "list", "--no-builtin-plugins", "-c", cfg, "--plugin-dir", d)
        self.assertIn("does not match the pinned", err)
        self.assertNotIn("root-account ", out)

    def test_plugins_are_never_loaded_from_the_current_directory(self):
        d, so = self.copy_plugin("cwd")
        p = subprocess.run([os.path.abspath(BIN), "plugins", "list", "--no-builtin-plugins"], cwd=d,
                           capture_output=True, text=True, timeout=60)
        self.assertNotIn("root-account", p.stdout)


if __name__ == "__main__":
    unittest.main()

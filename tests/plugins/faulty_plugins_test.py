# SPDX-License-Identifier: Apache-2.0
"""End to end: the trailhound binary on samples/ with each faulty plugin (tests/plugins/faulty/)
beside the bundled ones. Each run completes, the faulty detector is quarantined after the documented
limit (or its malformed findings are rejected and counted), a trailhound/detector-quarantined
finding names it and the reason, and every other detector's findings are identical to a run
without it."""
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("TRAILHOUND_BIN", "build/bin/trailhound")
SRC = os.environ.get("TRAILHOUND_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
FAULTY_DIR = os.environ.get("TRAILHOUND_FAULTY_PLUGIN_DIR", "build/tests/plugins/faulty")
TMP_ROOT = os.environ.get("TRAILHOUND_TEST_TMP", tempfile.gettempdir())

SAMPLES = os.path.join(SRC, "samples", "AWSLogs")
CONFIG = ["-c", os.path.join(SRC, "configs", "base.toml"), "-e", "demo"]

# Detector id -> the summary status it must end with (default policy: 100 errors, 20 calls over
# 250 ms, a fatal status or an exception at once). The slow one (about 5 s) runs only once, in the
# all-at-once run.
EXPECTED = {
    "faulty-error-storm": "quarantined: 100 errors, last: error storm: event 100 refused",
    "faulty-fatal-status": "quarantined: on_event returned a fatal status: internal state corrupted",
    "faulty-throw-create": "quarantined: create failed: create threw an exception across the ABI",
    "faulty-throw-event":
        "quarantined: on_event returned a fatal status: on_event threw an exception across the ABI",
    "faulty-throw-tick":
        "quarantined: on_tick returned a fatal status: on_tick threw an exception across the ABI",
    "faulty-ctor-throws": "quarantined: create failed: create: constructor refuses to run",
    "faulty-unregistered-field":
        "quarantined: 100 errors, last: get_field: field id was never registered",
    "faulty-bad-findings": "ok, 48 findings rejected",
}
SLOW = {"faulty-slow": "quarantined: 20 calls over the 250 ms per-call budget"}

ROW = re.compile(r"^    (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)  (.*)$")


class Run:
    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.stderr = proc.stderr
        self.seconds = seconds
        self.lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        self.findings = [json.loads(line) for line in self.lines]
        self.rows = {}
        in_detectors = False
        for line in self.stderr.splitlines():
            if line.startswith("  detectors:"):
                in_detectors = True
                continue
            if in_detectors:
                m = ROW.match(line)
                if not m:
                    in_detectors = line.startswith("    ID ")
                    continue
                self.rows[m.group(1)] = {"events": int(m.group(2)), "findings": int(m.group(3)),
                                         "errors": int(m.group(4)), "status": m.group(6)}

    def others(self, exclude):
        """finding_id -> exact JSON line, for detectors not in `exclude` and not the host."""
        out = {}
        for line, f in zip(self.lines, self.findings):
            if f["detector"] != "trailhound" and f["detector"] not in exclude:
                out[f["finding_id"]] = line
        return out

    def health(self):
        return [f for f in self.findings if f["detector"] == "trailhound"]


class FaultyPluginsEndToEnd(unittest.TestCase):
    runs = {}

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_ROOT, exist_ok=True)
        cls.tmp = tempfile.mkdtemp(dir=TMP_ROOT)
        for name in list(EXPECTED) + list(SLOW):
            if not os.path.exists(os.path.join(FAULTY_DIR, name + ".so")):
                raise unittest.SkipTest("faulty plugin %s.so not built in %s" % (name, FAULTY_DIR))
        jobs = {"baseline": []}
        for name in EXPECTED:
            jobs[name] = [name]
        jobs["all"] = list(EXPECTED) + list(SLOW)
        # The slow run mostly sleeps: start it first, run the others beside it.
        order = ["all"] + [k for k in jobs if k != "all"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            futures = {key: pool.submit(cls.scan, key, jobs[key]) for key in order}
            cls.runs = {key: f.result() for key, f in futures.items()}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def scan(cls, key, names):
        cmd = [BIN, "scan", *CONFIG, "--threads", "1"]
        if names:
            plugin_dir = os.path.join(cls.tmp, "plugins-" + key)
            os.makedirs(plugin_dir)
            for name in names:
                os.symlink(os.path.abspath(os.path.join(FAULTY_DIR, name + ".so")),
                           os.path.join(plugin_dir, name + ".so"))
            cmd += ["--plugin-dir", plugin_dir]
        cmd.append(SAMPLES)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        return Run(proc, time.monotonic() - t0)

    def check_contained(self, run, expected):
        base = self.runs["baseline"]
        self.assertEqual(run.rc, base.rc, run.stderr)
        self.assertNotIn("plugin refused", run.stderr)
        # Every other detector: the same finding ids with the same JSON.
        others, base_others = run.others(expected), base.others(set())
        self.assertEqual(sorted(others), sorted(base_others))
        for fid, line in base_others.items():
            self.assertEqual(others[fid], line)
        for det, row in base.rows.items():
            self.assertEqual(run.rows.get(det, {}).get("status"), "ok", det)
            self.assertEqual(run.rows[det]["events"], row["events"], det)
        # Each faulty one: its status in the summary, and a health finding when quarantined.
        health = {f["evidence"]["detector"]: f for f in run.health()}
        for det, status in expected.items():
            self.assertIn(det, run.rows, run.stderr)
            self.assertEqual(run.rows[det]["status"], status)
            if not status.startswith("quarantined: "):
                self.assertNotIn(det, health)
                continue
            reason = status[len("quarantined: "):]
            f = health.get(det)
            self.assertIsNotNone(f, "no health finding for " + det)
            self.assertEqual(f["rule"], "detector-quarantined")
            self.assertEqual(f["title"], "Detector %s was quarantined" % det)
            self.assertEqual(f["evidence"]["reason"], reason)
            self.assertTrue(f["evidence"]["file"].endswith("/" + det + ".so"), f["evidence"])
            self.assertIn(reason, f["summary"])
            if reason.startswith("create failed: "):
                line = "trailhound: %s: not started: %s" % (det, reason[len("create failed: "):])
            else:
                line = "trailhound: %s: quarantined: %s" % (det, reason)
            self.assertIn(line, run.stderr)
        self.assertEqual(sorted(health), sorted(d for d, s in expected.items()
                                                if s.startswith("quarantined: ")))

    def test_baseline_is_healthy(self):
        base = self.runs["baseline"]
        self.assertEqual(base.rc, 0, base.stderr)
        self.assertGreater(len(base.findings), 10)
        self.assertEqual(base.health(), [])
        self.assertGreaterEqual(len(base.rows), 10)
        for det, row in base.rows.items():
            self.assertEqual(row["status"], "ok", det)

    def test_each_faulty_plugin_is_contained(self):
        for name, status in EXPECTED.items():
            with self.subTest(plugin=name):
                self.check_contained(self.runs[name], {name: status})

    def test_all_faulty_plugins_at_once_including_the_slow_one(self):
        run = self.runs["all"]
        self.check_contained(run, {**EXPECTED, **SLOW})
        self.assertEqual(run.rows["faulty-slow"]["events"], 20)
        self.assertEqual(run.rows["faulty-error-storm"]["events"], 100)
        self.assertEqual(run.rows["faulty-error-storm"]["errors"], 100)
        self.assertEqual(run.rows["faulty-unregistered-field"]["events"], 100)
        self.assertEqual(run.rows["faulty-bad-findings"]["findings"], 2)
        # 20 calls of 260 ms, then no more: the run is not held up by the rest of its calls.
        self.assertLess(run.seconds, 60)


class HungPluginTest(unittest.TestCase):
    """A call that never returns cannot be interrupted: the watchdog reports it and ends the scan
    with exit code 4, and the findings written before it are complete in the output file."""

    def test_hung_plugin_stops_the_scan_with_a_report(self):
        hang = os.path.join(FAULTY_DIR, "faulty-hang.so")
        if not os.path.exists(hang):
            self.skipTest("faulty-hang.so not built")
        os.makedirs(TMP_ROOT, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=TMP_ROOT)
        self.addCleanup(shutil.rmtree, tmp, True)
        plugin_dir = os.path.join(tmp, "plugins")
        os.makedirs(plugin_dir)
        os.symlink(os.path.abspath(hang), os.path.join(plugin_dir, "faulty-hang.so"))
        out = os.path.join(tmp, "findings.jsonl")
        # Late enough that the bundled detectors have reported something before it.
        hang_at = 400
        cfg = os.path.join(tmp, "hang.toml")
        with open(cfg, "w") as f:
            f.write("[detectors.faulty-hang.params]\nhang_at = %d\n" % hang_at)
        cmd = [BIN, "scan", *CONFIG, "-c", cfg, "--threads", "1", "--plugin-dir", plugin_dir,
               "--hang-timeout", "2", "-o", "jsonl:" + out, SAMPLES]
        t0 = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        seconds = time.monotonic() - t0
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertLess(seconds, 60)
        self.assertRegex(proc.stderr, r"trailhound: error: detector faulty-hang \(.*faulty-hang\.so\) "
                                      r"has not returned from on_event for [2-9] s \(event [^,]+, "
                                      r"[a-z0-9-]+\.amazonaws\.com \w+\)")
        self.assertIn("disable the detector", proc.stderr)
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertGreater(len(lines), 0, "findings before the hang were not written")
        for line in lines:
            finding = json.loads(line)  # every line complete
            self.assertNotEqual(finding["detector"], "faulty-hang")

    def test_hang_timeout_zero_disables_the_watchdog(self):
        # Only the option's parsing: with 0 a healthy scan is unaffected.
        proc = subprocess.run([BIN, "scan", *CONFIG, "-q", "--hang-timeout", "0", SAMPLES],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertGreater(len(proc.stdout.splitlines()), 10)


if __name__ == "__main__":
    unittest.main()

# SPDX-License-Identifier: Apache-2.0
"""Hostile input: the built binary on the tree written by scripts/gen-hostile, checked against its
manifest. Whatever the input, a scan never crashes, ends in time, names the file, the record index
and the reason of each problem on stderr, processes every valid record (one security-groups
finding each: every valid record opens tcp/22 to the world) and counts what it skipped."""
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("TRAILHOUND_BIN", "build/bin/trailhound")
SRC = os.environ.get("TRAILHOUND_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP_ROOT = os.environ.get("TRAILHOUND_TEST_TMP", tempfile.gettempdir())
GEN = os.path.join(SRC, "scripts", "gen-hostile")
# 0 (default) skips the 100 000 tiny files test; CTest's hostile.tiny_files sets it.
TINY_FILES = int(os.environ.get("TRAILHOUND_TINY_FILES", "0"))

TREE_TIMEOUT = 180  # seconds for a scan of the whole tree (about 1 s here)
FILE_TIMEOUT = 60   # seconds for a scan of one file
TINY_TIMEOUT = 300

SUMMARY_FILES = re.compile(
    r"files:\s+(\d+) found, (\d+) read, (\d+) skipped(?: \(([^)]*)\))?, (\d+) failed, "
    r"(\d+) path problems")
SUMMARY_RECORDS = re.compile(r"records:\s+(\d+) read, (\d+) malformed, (\d+) duplicate, (\d+) processed")


def tiny_tmp_root():
    """Where to write the tiny files: TRAILHOUND_TINY_TMP, else /dev/shm when it is a roomy
    tmpfs (creating and deleting 10^5 files on a busy disk took 20 s to 3 minutes here, on
    tmpfs 15 s; the scan itself takes 4 s either way), else TMP_ROOT."""
    if os.environ.get("TRAILHOUND_TINY_TMP"):
        return os.environ["TRAILHOUND_TINY_TMP"]
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize >= 2 << 30 and os.access("/dev/shm", os.W_OK):
            return "/dev/shm"
    except OSError:
        pass
    return TMP_ROOT


def generate(out, *args):
    p = subprocess.run([sys.executable, GEN, *args, out], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("gen-hostile failed: " + p.stderr)
    with open(os.path.join(out, "manifest.json")) as f:
        return json.load(f)


class Scan:
    """One run of `trailhound scan`: exit code, security-groups finding ids, stderr, summary."""

    def __init__(self, args, timeout):
        t0 = time.monotonic()
        # Bytes: invalid UTF-8 and NUL bytes may reach stderr and the findings.
        p = subprocess.run([BIN, "scan", *args], capture_output=True, timeout=timeout)
        self.seconds = time.monotonic() - t0
        self.args = args
        self.rc = p.returncode
        self.err = p.stderr.decode("utf-8", "replace")
        self.findings = [json.loads(line) for line in p.stdout.splitlines() if line.startswith(b"{")]
        sg = [f for f in self.findings if f["detector"] == "security-groups"]
        self.sg_ids = sorted(i for f in sg for i in f["event_ids"])
        self.first_seen = {f["event_ids"][0]: f["first_seen"] for f in sg if len(f["event_ids"]) == 1}
        self.problem_lines = [ln[len("trailhound: "):] for ln in self.err.splitlines()
                              if ln.startswith("trailhound: ")]
        m = SUMMARY_FILES.search(self.err)
        self.files = None
        if m:
            reasons = {}
            for part in filter(None, (m.group(4) or "").split(", ")):
                k, _, v = part.rpartition(": ")
                reasons[k] = int(v)
            self.files = {"found": int(m.group(1)), "read": int(m.group(2)),
                          "skipped": int(m.group(3)), "skipped_by_reason": reasons,
                          "failed": int(m.group(5)), "path_problems": int(m.group(6))}
        m = SUMMARY_RECORDS.search(self.err)
        self.records = None
        if m:
            self.records = {"read": int(m.group(1)), "malformed": int(m.group(2)),
                            "duplicate": int(m.group(3)), "processed": int(m.group(4))}

    def lines_for(self, path):
        """Problem lines about one path (without the 'trailhound: PATH: ' prefix)."""
        prefix = path + ": "
        return [ln[len(prefix):] for ln in self.problem_lines if ln.startswith(prefix)]


def expect(entry, variant=None):
    """What a scan must show for one manifest file entry (or one of its variants)."""
    e = dict(entry)
    if variant is not None:
        e.update(variant)
    return e


class HostileTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_ROOT, exist_ok=True)
        cls.dir = tempfile.mkdtemp(prefix="hostile-", dir=TMP_ROOT)
        cls.manifest = generate(cls.dir)
        cls.root = os.path.join(cls.dir, "inputs")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)  # ~180 MB, mostly the two big cases

    def abspath(self, rel):
        return os.path.join(self.dir, rel)

    def scan(self, *args, timeout=FILE_TIMEOUT):
        try:
            s = Scan(list(args), timeout)
        except subprocess.TimeoutExpired:
            self.fail(f"scan {' '.join(args)} did not finish within {timeout} s")
        self.assertGreaterEqual(s.rc, 0, f"killed by signal {-s.rc}: {args}\n{s.err[-3000:]}")
        self.assertIsNotNone(s.records, f"no run summary: {args}\n{s.err[-3000:]}")
        return s

    # --- checks -------------------------------------------------------------------------------

    def check_file(self, s, e):
        """The problems of one file: each reported once, with path, record index and reason."""
        path = self.abspath(e["path"])
        lines = s.lines_for(path)
        if e["fatal"]:
            self.assertTrue(any(e["fatal"] in ln for ln in lines), f"{path}: no '{e['fatal']}' in {lines}")
            self.assertEqual(len(lines), 1, lines)
            return
        unexplained = list(lines)
        for p in e["problems"]:
            if p["record"] is None:
                # File-level: "(line L, byte B): reason", no record index.
                pat = re.compile(r"^\(line \d+, byte \d+\): .*" + re.escape(p["reason"]))
            else:
                pat = re.compile(r"^record %d \((?:line \d+, )?byte \d+\): .*" % p["record"]
                                 + re.escape(p["reason"]))
            hits = [ln for ln in unexplained if pat.search(ln)]
            self.assertTrue(hits, f"{path}: expected {p} on stderr, got {lines}")
            unexplained.remove(hits[0])
        self.assertEqual(unexplained, [], f"{path}: unexpected problems")

    def check_run(self, s, entries, paths=()):
        """A scan of the given manifest entries (files and discovery paths) and nothing else."""
        valid = [i for e in entries for i in e["valid"]]
        findings = sorted(i for e in entries for i in e["findings"])
        record_problems = sum(1 for e in entries for p in e["problems"] if p["record"] is not None)
        file_problems = sum(1 for e in entries for p in e["problems"] if p["record"] is None)
        fatal = sum(1 for e in entries if e["fatal"])
        path_problems = [p for p in paths if "problem" in p]
        skipped = collections.Counter(e["skipped"] for e in entries if e["skipped"])
        skipped.update(p["skipped"] for p in paths if "skipped" in p)

        self.assertEqual(s.rc, 2 if record_problems + file_problems + fatal + len(path_problems) else 0,
                         s.err[-3000:])
        self.assertEqual(s.sg_ids, findings, "security-groups findings != valid records")
        self.assertEqual(s.records["processed"], len(valid), s.err[-3000:])
        self.assertEqual(s.records["malformed"], record_problems, s.err[-3000:])
        self.assertEqual(s.records["duplicate"], 0)
        self.assertEqual(s.files["failed"], fatal)
        self.assertEqual(s.files["path_problems"], len(path_problems))
        self.assertEqual(s.files["skipped_by_reason"], dict(skipped))
        problem_paths = {p["path"] for p in path_problems}
        self.assertEqual(s.files["found"], sum(1 for e in entries if e["path"] not in problem_paths))
        self.assertEqual(s.files["skipped"], sum(skipped.values()))
        for e in entries:
            with self.subTest(path=e["path"]):
                self.check_file(s, e)
                for eid, utc in e.get("first_seen", {}).items():
                    self.assertEqual(s.first_seen.get(eid), utc, f"{eid}: event time")
        for p in path_problems:
            lines = s.lines_for(self.abspath(p["path"]))
            self.assertTrue(any(p["problem"] in ln for ln in lines), f"{p}: {lines}")
        # Nothing reported about a path outside the manifest (detectors' own messages, which
        # start with their id, are not input problems).
        known = {self.abspath(e["path"]) for e in entries} | {self.abspath(p["path"]) for p in paths}
        for ln in s.problem_lines:
            if ln.startswith(self.dir):
                self.assertIn(ln.split(": ", 1)[0], known, ln)
        self.assertNotIn("quarantined", s.err)

    # --- tests --------------------------------------------------------------------------------

    def test_whole_tree_default_threads(self):
        s = self.scan(self.root, timeout=TREE_TIMEOUT)
        self.check_run(s, self.manifest["files"], self.manifest["paths"])
        self.assertEqual(s.records["processed"], self.manifest["totals"]["valid"])

    def test_whole_tree_one_thread(self):
        s = self.scan("--threads", "1", self.root, timeout=TREE_TIMEOUT)
        self.check_run(s, self.manifest["files"], self.manifest["paths"])

    def test_each_file_alone(self):
        for e in self.manifest["files"]:
            with self.subTest(path=e["path"]):
                s = self.scan("--threads", "1", self.abspath(e["path"]))
                self.check_run(s, [e])

    def test_discovery_problems_in_a_directory(self):
        d = self.abspath("inputs/dirs")
        entries = [e for e in self.manifest["files"] if e["path"].startswith("inputs/dirs/")]
        paths = [p for p in self.manifest["paths"] if p["path"].startswith("inputs/dirs/")]
        self.assertTrue(paths)
        self.check_run(self.scan(d), entries, paths)

    def test_limits_can_be_changed_in_the_config(self):
        variants = [(e, v) for e in self.manifest["files"] for v in e["variants"]]
        configs = {v["config"] for _, v in variants}
        texts = []
        for c in configs:
            with open(self.abspath(c)) as f:
                texts.append(f.read())
        for key in ("max_record_bytes", "max_depth", "max_file_bytes"):
            self.assertTrue(any(key in t for t in texts), key)
        for e, v in variants:
            with self.subTest(path=e["path"], config=v["config"]):
                s = self.scan("--threads", "1", "-c", self.abspath(v["config"]), self.abspath(e["path"]))
                self.check_run(s, [expect(e, v)])

    def test_invalid_limits_are_configuration_errors(self):
        cfg = os.path.join(self.dir, "bad-limits.toml")
        for body, where in [("[input]\nmax_depth = 0\n", ":2:"), ("[input]\nmax_depth = 100000\n", ":2:"),
                            ("[input]\nmax_record_bytes = -1\n", ":2:"),
                            ("[input]\n\nmax_file_bytes = \"big\"\n", ":3:"),
                            ("[input]\nmax_record_size = 10\n", ":2:")]:
            with self.subTest(body=body):
                with open(cfg, "w") as f:
                    f.write(body)
                p = subprocess.run([BIN, "scan", "-c", cfg, self.abspath("inputs/dirs/ok.json")],
                                   capture_output=True, text=True, timeout=FILE_TIMEOUT)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("bad-limits.toml" + where, p.stderr)
                self.assertEqual(p.stdout, "")

    def test_error_storm_is_capped_and_counted(self):
        for e in self.manifest["extra"]:
            with self.subTest(path=e["path"]):
                s = self.scan(self.abspath(e["path"]))
                self.assertEqual(s.rc, 2)
                self.assertEqual(s.sg_ids, sorted(e["findings"]))
                self.assertEqual(s.records["processed"], len(e["valid"]))
                # Every lost record counted, though only the first ones are kept and printed.
                self.assertEqual(s.records["malformed"], e["record_problems"], s.err[-2000:])
                printed = s.lines_for(self.abspath(e["path"]))
                self.assertTrue(0 < len(printed) < e["record_problems"])
                self.assertRegex(s.err, r"; \d+ more problems not shown")

    @unittest.expectedFailure  # pipeline/scan.cpp keys reasons with their "at offset N"
    def test_error_storm_summary_groups_reasons(self):
        e = self.manifest["extra"][0]
        s = self.scan(self.abspath(e["path"]))
        skipped = [ln for ln in s.err.splitlines() if ln.lstrip().startswith("skipped (")]
        self.assertEqual(len(skipped), 1)
        self.assertLess(len(skipped[0]), 500, "one summary entry per distinct offset")

    def test_stdin_gets_the_same_treatment(self):
        e = next(e for e in self.manifest["files"] if e["path"].endswith("malformed-among-valid.ndjson"))
        with open(self.abspath(e["path"]), "rb") as f:
            p = subprocess.run([BIN, "scan", "-"], input=f.read(), capture_output=True, timeout=FILE_TIMEOUT)
        self.assertEqual(p.returncode, 2)
        err = p.stderr.decode()
        for prob in e["problems"]:
            self.assertRegex(err, r"trailhound: -: record %d \(.*%s"
                             % (prob["record"], re.escape(prob["reason"])))
        self.assertIn("%d processed" % len(e["valid"]), err)


class GeneratorTest(unittest.TestCase):
    def test_deterministic(self):
        os.makedirs(TMP_ROOT, exist_ok=True)
        dirs = [tempfile.mkdtemp(prefix="hostile-det-", dir=TMP_ROOT) for _ in range(2)]
        try:
            manifests = [generate(os.path.join(d, "out"), "--no-big") for d in dirs]
            self.assertEqual(manifests[0], manifests[1])
            for e in manifests[0]["files"]:
                a, b = (os.path.join(d, "out", e["path"]) for d in dirs)
                with open(a, "rb") as fa, open(b, "rb") as fb:
                    self.assertEqual(fa.read(), fb.read(), e["path"])
            self.assertFalse(any(e["path"].startswith("inputs/big/") for e in manifests[0]["files"]))
        finally:
            for d in dirs:
                shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(TINY_FILES, "set TRAILHOUND_TINY_FILES=100000 (CTest: hostile.tiny_files)")
class TinyFilesTest(unittest.TestCase):
    def test_many_tiny_files(self):
        root = tiny_tmp_root()
        os.makedirs(root, exist_ok=True)
        d = tempfile.mkdtemp(prefix="trailhound-tiny-", dir=root)
        try:
            t0 = time.monotonic()
            m = generate(d, "--tiny", str(TINY_FILES))
            t1 = time.monotonic()
            try:
                p = subprocess.run([BIN, "scan", os.path.join(d, "tiny")], capture_output=True,
                                   timeout=TINY_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.fail(f"scan of {TINY_FILES} files did not finish within {TINY_TIMEOUT} s")
            t2 = time.monotonic()
            err = p.stderr.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, err[-3000:])
            self.assertIn("%d found, %d read" % (TINY_FILES, TINY_FILES), err)
            self.assertIn("%d processed" % TINY_FILES, err)
            ids = sorted(i for line in p.stdout.splitlines() if line.startswith(b"{")
                         for f in [json.loads(line)] if f["detector"] == "security-groups"
                         for i in f["event_ids"])
            self.assertEqual(ids, sorted(i for e in m["files"] for i in e["findings"]))
        finally:
            shutil.rmtree(d, ignore_errors=True)
        t3 = time.monotonic()
        print(f"\n{TINY_FILES} tiny files in {root}: generate {t1 - t0:.1f} s, scan {t2 - t1:.1f} s, "
              f"delete {t3 - t2:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    unittest.main()

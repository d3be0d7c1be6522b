# SPDX-License-Identifier: Apache-2.0
"""Crash-safe runs: a scan killed with SIGKILL mid-way and resumed gives exactly the findings of an
uninterrupted scan: no file processed twice, no finding lost or duplicated."""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("TRAILHOUND_BIN", "build/bin/trailhound")
SRC = os.environ.get("TRAILHOUND_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
TMP_ROOT = os.environ.get("TRAILHOUND_TEST_TMP", tempfile.gettempdir())


def findings(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def ledger_size(db):
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT count(*) FROM file_ledger").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


class ResumeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP_ROOT, exist_ok=True)
        cls.dir = tempfile.mkdtemp(dir=TMP_ROOT)
        cls.corpus = os.path.join(cls.dir, "corpus")
        subprocess.run([os.path.join(SRC, "scripts", "gen-corpus"), "--out", cls.corpus, "--days", "3",
                        "--events-per-day", "20000", "--seed", "11", "--attacks", "all"],
                       check=True, stdout=subprocess.DEVNULL, timeout=600)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def scan(self, state, out, *extra):
        return subprocess.run([BIN, "scan", "-q", "--threads", "1", "--state", state, "-o", f"jsonl:{out}",
                               "--checkpoint-files", "16", *extra, self.corpus],
                              capture_output=True, text=True, timeout=600)

    def test_killed_scan_resumes_to_the_same_findings(self):
        ref_out = os.path.join(self.dir, "reference.jsonl")
        p = self.scan(os.path.join(self.dir, "reference.db"), ref_out)
        self.assertEqual(p.returncode, 0, p.stderr)
        reference = {f["finding_id"]: f for f in findings(ref_out)}
        self.assertGreater(len(reference), 10)

        state = os.path.join(self.dir, "killed.db")
        out = os.path.join(self.dir, "killed.jsonl")
        proc = subprocess.Popen([BIN, "scan", "-q", "--threads", "1", "--state", state, "-o", f"jsonl:{out}",
                                 "--checkpoint-files", "16", self.corpus],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while ledger_size(state) < 32 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "the scan finished before it could be killed: make the corpus bigger")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_before = ledger_size(state)
        total_files = sum(len(files) for _, _, files in os.walk(self.corpus))
        self.assertLess(done_before, total_files)

        p = self.scan(state, out, "--resume")
        self.assertEqual(p.returncode, 0, p.stderr)
        resumed = findings(out)
        ids = [f["finding_id"] for f in resumed]
        self.assertEqual(len(ids), len(set(ids)), "a finding was written twice")
        self.assertEqual(set(ids), set(reference), "findings differ from the uninterrupted run")
        for f in resumed:
            self.assertEqual(f, reference[f["finding_id"]])

        # Resuming a completed run processes nothing again.
        p = self.scan(state, out, "--resume")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(findings(out)), len(ids))

    def test_resume_needs_a_state_store(self):
        p = subprocess.run([BIN, "scan", "--resume", self.corpus], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--resume needs --state", p.stderr)


if __name__ == "__main__":
    unittest.main()

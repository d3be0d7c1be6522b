#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Corpus check: runs `trailhound scan` over a generated corpus (scripts/gen-corpus) and compares
# the findings with the corpus's labels (every injected attack step must be reported by its
# detector) and benign manifest (no benign look-alike may be reported).
#
#   tests/integration/check_corpus.py build/bin/trailhound samples
#   tests/integration/check_corpus.py build/bin/trailhound /tmp/corpus -- -c configs/base.toml
#
# Exit 0 when everything passes, 1 otherwise (2 for usage or scan errors). The last line is
# "N passed, M failed": one check per label, plus one per benign look-alike kind.
import argparse
import collections
import json
import os
import subprocess
import sys

SEVERITIES = ["info", "low", "medium", "high", "critical"]


def load_jsonl(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise SystemExit("%s:%d: invalid JSON: %s" % (path, n, e))
    return out


def scan_target(corpus):
    """What to scan: the S3 tree if present, else events.ndjson, else the directory itself."""
    aws = os.path.join(corpus, "AWSLogs")
    if os.path.isdir(aws):
        return aws
    nd = os.path.join(corpus, "events.ndjson")
    if os.path.isfile(nd):
        return nd
    return corpus


def run_scan(binary, target, extra, timeout):
    cmd = [binary, "scan", "--quiet"] + extra + [target]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        print("error: cannot run %s: %s" % (" ".join(cmd), e))
        sys.exit(2)
    # 0 = ok, 3 = --fail-on threshold reached; anything else is a failed scan.
    if p.returncode not in (0, 3):
        print("error: %s exited with %d" % (" ".join(cmd), p.returncode))
        sys.stdout.write(p.stderr.decode("utf-8", "replace")[-4000:])
        sys.exit(2)
    findings = []
    for n, line in enumerate(p.stdout.decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            findings.append(json.loads(line))
        except json.JSONDecodeError as e:
            print("error: finding line %d is not JSON (%s): %.200s" % (n, e, line))
            sys.exit(2)
    return cmd, findings


def describe(f):
    return "%s/%s [%s] %s" % (f.get("detector"), f.get("rule"), f.get("severity"),
                              f.get("title", ""))


def main():
    ap = argparse.ArgumentParser(
        description="Scan a generated corpus with trailhound and check the findings against its "
                    "labels (attacks that must be reported) and benign manifest (look-alikes that "
                    "must not be).")
    ap.add_argument("binary", help="path to the trailhound executable")
    ap.add_argument("corpus", help="corpus directory (AWSLogs/ or events.ndjson, labels.jsonl, benign.jsonl)")
    ap.add_argument("--labels", help="labels file (default CORPUS/labels.jsonl)")
    ap.add_argument("--benign", help="benign manifest (default CORPUS/benign.jsonl, optional)")
    ap.add_argument("--scan-path", help="what to scan (default: CORPUS/AWSLogs, else CORPUS/events.ndjson)")
    ap.add_argument("--findings", help="read findings from this JSONL file instead of running a scan")
    ap.add_argument("--timeout", type=float, default=1800, help="scan timeout in seconds")
    ap.add_argument("--verbose", "-v", action="store_true", help="also list the passing checks")
    ap.add_argument("--expect-fail", action="append", default=[], metavar="NAME",
                    help="a label name or benign kind known to fail for now: reported, counted as "
                         "skipped instead of failed (repeatable)")
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:   # everything after -- goes to `trailhound scan`
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    ap.epilog = "Arguments after -- are passed to `trailhound scan` before the path."
    args = ap.parse_args(argv)
    args.extra = extra

    labels_path = args.labels or os.path.join(args.corpus, "labels.jsonl")
    benign_path = args.benign or os.path.join(args.corpus, "benign.jsonl")
    if not os.path.isfile(labels_path):
        print("error: no labels file %s" % labels_path)
        return 2
    labels = load_jsonl(labels_path)
    benign = load_jsonl(benign_path) if os.path.isfile(benign_path) else []

    if args.findings:
        findings = load_jsonl(args.findings)
        print("findings: %d read from %s" % (len(findings), args.findings))
    else:
        target = args.scan_path or scan_target(args.corpus)
        cmd, findings = run_scan(args.binary, target, args.extra, args.timeout)
        print("scan: %s -> %d findings" % (" ".join(cmd), len(findings)))

    by_event = collections.defaultdict(list)   # eventID -> findings that reference it
    for f in findings:
        for eid in f.get("event_ids") or []:
            by_event[eid].append(f)

    passed = failed = skipped = 0
    xfail = set(args.expect_fail)
    print("\n== labels (%d): each must be reported by its detector" % len(labels))
    for lab in labels:
        ids = [lab["event_id"]] + [e for e in lab.get("event_ids", []) if e != lab["event_id"]]
        det = lab["detector"]
        hits = [f for e in ids for f in by_event.get(e, []) if f.get("detector") == det]
        name = "%s (%s, account %s, day %s)" % (lab["label"], lab.get("event_name", "?"),
                                               lab.get("account", "?"), lab.get("day", "?"))
        if hits:
            passed += 1
            if args.verbose:
                rules = sorted({"%s/%s" % (h.get("detector"), h.get("rule")) for h in hits})
                print("PASS %s -> %s" % (name, ", ".join(rules)))
            continue
        if lab["label"] in xfail:
            skipped += 1
            print("XFAIL (expected) %s" % name)
        else:
            failed += 1
            print("FAIL %s" % name)
        other = {}
        for e in ids:
            for f in by_event.get(e, []):
                other[f.get("finding_id") or id(f)] = f
        print("     expected detector %s (rule %s) on %s"
              % (det, lab.get("rule", "?"),
                 ids[0] if len(ids) == 1 else "any of %d events, first %s" % (len(ids), ids[0])))
        if other:
            for f in other.values():
                print("     found instead: %s" % describe(f))
        else:
            print("     found: no finding references these events")

    print("\n== benign look-alikes (%d events, %d kinds): none may be reported above its tolerance"
          % (len(benign), len({b["kind"] for b in benign})))
    kinds = collections.OrderedDict()
    for b in benign:
        kinds.setdefault(b["kind"], []).append(b)
    for kind, entries in kinds.items():
        violations = []
        for b in entries:
            tol = b.get("max_severity")
            tol_rank = SEVERITIES.index(tol) if tol in SEVERITIES else -1
            for f in by_event.get(b["event_id"], []):
                sev = f.get("severity")
                rank = SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)
                if rank > tol_rank:
                    violations.append((b, f))
        if not violations:
            passed += 1
            if args.verbose:
                print("PASS %s (%d events)" % (kind, len(entries)))
            continue
        if kind in xfail:
            skipped += 1
            verdict = "XFAIL (expected)"
        else:
            failed += 1
            verdict = "FAIL"
        tol = entries[0].get("max_severity")
        flagged = {v[0]["event_id"] for v in violations}
        print("%s %s: %d of %d events flagged%s" % (verdict, kind, len(flagged), len(entries),
                                                      " (tolerated up to %s)" % tol if tol else ""))
        by_rule = collections.OrderedDict()
        for b, f in violations:
            by_rule.setdefault((f.get("detector"), f.get("rule"), f.get("severity")), []).append((b, f))
        for (det, rule, sev), items in by_rule.items():
            b, f = items[0]
            print("     %s/%s [%s] on %d event(s), e.g. %s by %s: %s"
                  % (det, rule, sev, len({x[0]["event_id"] for x in items}), b["event_id"],
                     b.get("principal", "?"), f.get("title", "")))

    stale = sorted(xfail - {lab["label"] for lab in labels} - set(kinds))
    if stale:
        print("\nnote: --expect-fail names matching no label or kind: %s" % ", ".join(stale))
    print()
    print("%d passed, %d failed" % (passed, failed) + (", %d skipped" % skipped if skipped else ""))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

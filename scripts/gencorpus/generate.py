# SPDX-License-Identifier: Apache-2.0
"""The day loop, the volume model and the writers (S3 layout, NDJSON, digests)."""

import argparse
import collections
import concurrent.futures
import datetime as _dt
import hashlib
import json
import os
import sys
import time
import zlib

from . import records as R
from . import util
from .attacks import Attacks
from .behavioural import MIN_DAYS as BEHAVIOURAL_MIN_DAYS, Behavioural
from .emit import DayIds, Emitter
from .routine import BUSINESS, FLAT, Routine, gen_events, prepare_table
from .scenarios import Scenarios
from .world import World

LOCAL_UTC_OFFSET = -5          # the company's office hours are in UTC-5
WINDOW = 300                   # seconds per delivered log file (one account + region)
WINDOWS = 86400 // WINDOW
BULK_LOOKALIKE_CAP = 100       # manifest entries per (kind, account, day) from the bulk traffic
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def business_weight(local_hour):
    if 8 <= local_hour < 19:
        return 0.8 if 12 <= local_hour < 13 else 1.0
    if 7 <= local_hour < 8 or 19 <= local_hour < 21:
        return 0.35
    return 0.04


def allocate(total, weights):
    """Largest-remainder split of an integer total by weights (deterministic)."""
    s = float(sum(weights))
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    exact = [total * x / s for x in weights]
    out = [int(x) for x in exact]
    rem = total - sum(out)
    order = sorted(range(len(weights)), key=lambda i: out[i] - exact[i])
    for i in order[:rem]:
        out[i] += 1
    return out


# ------------------------------------------------------------------------------------ writer

class Writer:
    def __init__(self, out_dir, fmt, level, seed, threads):
        self.out = out_dir
        self.s3 = fmt in ("s3", "both")
        self.nd = fmt in ("ndjson", "both")
        self.level = level
        self.seed = seed
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, threads))
        self.pending = collections.deque()
        self.max_pending = 16 * max(1, threads)
        self.dirs = set()
        self.ndf = open(os.path.join(out_dir, "events.ndjson"), "w", encoding="utf-8",
                        newline="\n") if self.nd else None
        self.digest_src = {}
        self.files = self.events = self.raw_bytes = 0

    def _mkdir(self, d):
        if d not in self.dirs:
            os.makedirs(d, exist_ok=True)
            self.dirs.add(d)

    @staticmethod
    def _write(path, data, level):
        blob = zlib.compress(data, level, 31)   # gzip container; header mtime 0, no file name
        with open(path, "wb") as f:
            f.write(blob)
        return len(blob)

    def _submit(self, path, data):
        self.pending.append(self.pool.submit(self._write, path, data, self.level))
        while len(self.pending) > self.max_pending:
            self.pending.popleft().result()

    def window(self, day_epoch, w, buckets, rng):
        for key in sorted(buckets):
            lst = buckets[key]
            lst.sort(key=_first)
            n = len(lst)
            if n > 1:   # AWS does not sort the records of a file: swap some neighbours
                for _ in range(n // 4 + 1):
                    i = rng.randrange(n - 1)
                    lst[i], lst[i + 1] = lst[i + 1], lst[i]
            recs = [r for _, r in lst]
            self.events += n
            if self.s3:
                data = ('{"Records":[' + ",".join(recs) + "]}").encode("ascii")
                self.raw_bytes += len(data)
                acct, region = key
                h = hashlib.sha256(("%s|%s|%s|%d|%d" % (self.seed, acct, region, day_epoch, w)).encode()).digest()
                deliver = day_epoch + (w + 1) * WINDOW + 60 + h[0] % 240
                dt = _dt.datetime.fromtimestamp(deliver, util.UTC)
                suffix = "".join(_ALNUM[b % 62] for b in h[1:17])
                rel_dir = "AWSLogs/%s/CloudTrail/%s/%s" % (acct, region, dt.strftime("%Y/%m/%d"))
                name = "%s_CloudTrail_%s_%s_%s.json.gz" % (acct, region, dt.strftime("%Y%m%dT%H%MZ"), suffix)
                d = os.path.join(self.out, rel_dir)
                self._mkdir(d)
                self._submit(os.path.join(d, name), data)
                self.files += 1
                if w < 3600 // WINDOW:   # the first hour of each day is covered by a digest
                    lst_d = self.digest_src.setdefault((acct, region, day_epoch), [])
                    lst_d.append((rel_dir + "/" + name, hashlib.sha256(data).hexdigest(),
                                  util.HMS[lst[0][0]], util.HMS[lst[-1][0]]))
            if self.nd:
                self.ndf.write("\n".join(recs))
                self.ndf.write("\n")

    def finish(self, rng):
        if self.s3:
            self._digests(rng)
        while self.pending:
            self.pending.popleft().result()
        self.pool.shutdown()
        if self.ndf:
            self.ndf.close()

    def _digests(self, rng):
        """One digest per account, region and day (the first hour), chained like CloudTrail's."""
        prev = {}
        for (acct, region, day_epoch) in sorted(self.digest_src, key=lambda k: (k[2], k[0], k[1])):
            files = self.digest_src[(acct, region, day_epoch)]
            start, end = day_epoch + 31, day_epoch + 3600 + 31
            dt = _dt.datetime.fromtimestamp(end, util.UTC)
            rel_dir = "AWSLogs/%s/CloudTrail-Digest/%s/%s" % (acct, region, dt.strftime("%Y/%m/%d"))
            name = "%s_CloudTrail-Digest_%s_org-trail_%s_%s.json.gz" % (acct, region, region,
                                                                       dt.strftime("%Y%m%dT%H%M%SZ"))
            p = prev.get((acct, region))
            day = dt.strftime("%Y-%m-%dT")
            doc = {"awsAccountId": acct, "digestStartTime": util.iso(start), "digestEndTime": util.iso(end),
                   "digestS3Bucket": "org-cloudtrail-logs", "digestS3Object": rel_dir + "/" + name,
                   "digestPublicKeyFingerprint": util.hexs(rng, 32),
                   "digestSignatureAlgorithm": "SHA256withRSA",
                   "newestEventTime": day + max(f[3] for f in files) if files else None,
                   "oldestEventTime": day + min(f[2] for f in files) if files else None,
                   "previousDigestS3Bucket": "org-cloudtrail-logs" if p else None,
                   "previousDigestS3Object": p[0] if p else None,
                   "previousDigestHashValue": p[1] if p else None,
                   "previousDigestHashAlgorithm": "SHA-256" if p else None,
                   "previousDigestSignature": util.hexs(rng, 512) if p else None,
                   "logFiles": [{"s3Bucket": "org-cloudtrail-logs", "s3Object": f[0], "hashValue": f[1],
                                 "hashAlgorithm": "SHA-256", "newestEventTime": day + f[3],
                                 "oldestEventTime": day + f[2]} for f in files]}
            data = json.dumps(doc, separators=(",", ":")).encode("ascii")
            d = os.path.join(self.out, rel_dir)
            self._mkdir(d)
            self._submit(os.path.join(d, name), data)
            prev[(acct, region)] = (rel_dir + "/" + name, hashlib.sha256(data).hexdigest())


def _first(x):
    return x[0]


# -------------------------------------------------------------------------------- manifests

class Manifest:
    def __init__(self, path):
        self.f = open(path, "w", encoding="ascii", newline="\n") if path else None
        self.counts = collections.Counter()
        self.kinds = collections.Counter()

    def add(self, kind, eid, principal, max_severity=None, cap_key=None):
        if self.f is None:
            return
        if cap_key is not None:
            self.counts[cap_key] += 1
            if self.counts[cap_key] > BULK_LOOKALIKE_CAP:
                return
        d = {"kind": kind, "event_id": eid, "principal": principal}
        if max_severity:
            d["max_severity"] = max_severity
        self.f.write(json.dumps(d, separators=(",", ":")) + "\n")
        self.kinds[kind] += 1

    def close(self):
        if self.f:
            self.f.close()


# ------------------------------------------------------------------------------------ driver

class Generator:
    def __init__(self, args):
        self.args = args
        self.world = World(args.seed, args.accounts)
        self.routine = Routine(self.world)
        self.scen = Scenarios(self.world, args.seed, args.days)
        self.attacks = (Attacks(self.world, args.attacks, args.days)
                        if args.attacks in ("storyline", "all") else None)
        self.behav = (Behavioural(self.world, self.routine, args.seed, args.days,
                                  _dt.date.fromisoformat(args.start).weekday())
                      if args.attacks == "behavioural" else None)
        self.actor_by_tag = {(a.acct, a.tag): a.idx for a in self.routine.actors}

    def actor_state(self, d, weekday, ids, gh_ips, travel):
        w, rt = self.world, self.routine
        aui, aip, active, ala = [], [], [], []
        for act in rt.actors:
            a = w.by_id[act.acct]
            tag = act.tag
            kind = tag[0]
            ip, la = None, None
            if kind == "user":
                u = a.users[tag[1]]
                if u.kind == "console":
                    ui = R.ui_iam_user(a.id, u, console=ids.session(a.id, "console", u.name), mfa=u.mfa)
                    ip = u.ip
                    if travel and travel == (a.id, u.name):
                        ip, la = self.scen.travel_ip, "travel-new-ip"
                elif u.kind == "cli":
                    key = u.new_key if (a is w.prod and u.name == "dave" and d > self.scen.rotation_day) else u.key
                    ui = R.ui_iam_user(a.id, u, key=key)
                    ip = u.ip if weekday < 5 else u.home_ip
                else:
                    ui = R.ui_iam_user(a.id, u)
                    ip = w.saas_ip
            elif kind == "sso":
                role = a.roles[tag[1]]
                asia, created = ids.session(a.id, tag[1], tag[2])
                ui = R.ui_assumed(a.id, role, tag[2], asia, created)
                ip = w.sso_ip[tag[2]]
            elif kind == "svcrole":
                role = a.roles[tag[1]]
                asia, created = ids.session(a.id, tag[1], tag[2])
                ui = R.ui_assumed(a.id, role, tag[2], asia, created, invoked_by=tag[3])
                ip = tag[3]
            elif kind == "service":
                ui = R.ui_service(tag[1])
                ip = tag[1]
            elif kind == "role":
                role = a.roles[tag[1]]
                asia, created = ids.session(a.id, tag[1], tag[2])
                ui = R.ui_assumed(a.id, role, tag[2], asia, created, ec2=tag[3])
                ip = a.nat_ip["us-east-1"] if tag[1] != "reports-builder" else w.lambda_ips[(d + a.index) % 8]
            elif kind == "ci":
                role = a.roles["GitHubActions-Deploy"]
                asia, created = ids.session(a.id, "ci")
                prov = "arn:aws:iam::%s:oidc-provider/token.actions.githubusercontent.com" % a.id
                ui = R.ui_assumed(a.id, role, "GitHubActions", asia, created, web_provider=prov)
                ip = gh_ips[tag[1]]
            elif kind == "webid":
                ui = R.ui_web_identity(a.id, "token.actions.githubusercontent.com",
                                       "repo:%s/orders-service:ref:refs/heads/main" % w.github_org)
                ip = gh_ips[0]
            else:
                raise AssertionError(tag)
            aui.append(R.dumps(ui))
            aip.append(ip)
            active.append(1.0)
            ala.append(la)
        return aui, aip, active, ala

    def run(self):
        args = self.args
        t_start = time.perf_counter()
        os.makedirs(args.out, exist_ok=True)
        writer = Writer(args.out, args.format, args.gzip_level, args.seed, args.threads)
        manifest = Manifest(args.benign_manifest)
        labels = []
        start = _dt.date.fromisoformat(args.start)
        days = [start + _dt.timedelta(days=k) for k in range(args.days)]
        dw = [1.0 if x.weekday() < 5 else 0.575 for x in days]
        totals = allocate(args.events_per_day * args.days, dw)
        rt = self.routine
        n_templates = len(rt.t_fmt)
        for d, date in enumerate(days):
            weekday = date.weekday()
            day_epoch = util.epoch(date)
            dpre = date.strftime("%Y-%m-%dT")
            ids = DayIds(args.seed, d, day_epoch)
            rng_scen = util.sub_rng(args.seed, "scenarios", d)
            rng_bulk = util.sub_rng(args.seed, "bulk", d)
            rng_files = util.sub_rng(args.seed, "files", d)
            gh_ips = rng_scen.sample(self.world.gh_runner_ips, 3)
            if self.behav:
                gh_ips = self.behav.runner_ips(d)
            travel = (self.world.prod.id, "carol") if d == self.scen.travel_day else None
            aui, aip, active, ala = self.actor_state(d, weekday, ids, gh_ips, travel)
            if self.behav:
                self.behav.adjust_actors(d, weekday, gh_ips, aui, aip, ala)
            # --- scripted events
            sink = []
            E = Emitter(rng_scen, d, day_epoch, dpre, sink)

            def man(kind, eid, principal, max_severity=None):
                manifest.add(kind, eid, principal, max_severity)

            switches = self.scen.run_day(d, weekday, E, ids, rng_scen, man, gh_ips[0])
            n_scripted = len(sink)
            if self.attacks and d == args.days - 1:
                EA = Emitter(util.sub_rng(args.seed, "attacks"), d, day_epoch, dpre, sink)
                labels += self.attacks.run(EA, ids, util.sub_rng(args.seed, "attack-plan"))
            if self.behav:   # after n_scripted: the bulk volume stays that of --attacks none
                EB = Emitter(util.sub_rng(args.seed, "behavioural-benign", d), d, day_epoch, dpre, sink)
                switches += self.behav.benign_day(d, weekday, EB, ids,
                                                  util.sub_rng(args.seed, "behavioural-benign-plan", d), man)
                EA = Emitter(util.sub_rng(args.seed, "behavioural-attacks", d), d, day_epoch, dpre, sink)
                labels += self.behav.attacks_day(d, EA, ids, util.sub_rng(args.seed, "behavioural-plan", d),
                                                 gh_ips[0], aip)
            # --- volume model
            bulk = max(totals[d] - n_scripted, int(totals[d] * 0.3))
            flat_n = int(round(bulk * 0.5 / dw[d]))
            flat_n = min(flat_n, bulk)
            bus_n = bulk - flat_n
            biz = [business_weight(((w * WINDOW / 3600.0) + LOCAL_UTC_OFFSET) % 24) for w in range(WINDOWS)]
            flat_alloc = allocate(flat_n, [1.0 + 0.25 * b for b in biz])
            bus_alloc = allocate(bus_n, biz)
            day_la = [rt.t_lookalike[i] or ala[rt.t_actor[i]] for i in range(n_templates)]
            tables = [prepare_table(rt, t, day_la) for t in rt.day_tables(aui, aip, active)]
            times = [dpre + x for x in util.HMS]
            nkeys = len(rt.keys)
            scripted = collections.defaultdict(list)
            for sec, key, s, eid in sink:
                scripted[sec // WINDOW].append((sec, key, s))
            pending_sw = sorted(switches)

            def la_sink(i, eid, _d=d):
                kind = day_la[i]
                act = rt.actors[rt.t_actor[i]]
                manifest.add(kind, eid, act.principal, None, cap_key=(kind, act.acct, _d))

            for w in range(WINDOWS):
                w0 = w * WINDOW
                while pending_sw and pending_sw[0][0] <= w0:
                    _, tag_key, new_key = pending_sw.pop(0)
                    idx = self.actor_by_tag[(tag_key[2], tag_key[:2])]
                    a = self.world.by_id[tag_key[2]]
                    aui[idx] = R.dumps(R.ui_iam_user(a.id, a.users[tag_key[1]], key=new_key))
                lists = [[] for _ in range(nkeys)]
                gen_events(tables[FLAT], flat_alloc[w], w0, times, rng_bulk, aui, aip, lists, la_sink)
                gen_events(tables[BUSINESS], bus_alloc[w], w0, times, rng_bulk, aui, aip, lists, la_sink)
                out = {rt.keys[k]: lst for k, lst in enumerate(lists) if lst}
                for sec, key, s in scripted.get(w, ()):
                    lst = out.get(key)
                    if lst is None:
                        lst = out[key] = []
                    lst.append((sec, s))
                writer.window(day_epoch, w, out, rng_files)
        writer.finish(util.sub_rng(args.seed, "digests"))
        manifest.close()
        if args.labels:
            with open(args.labels, "w", encoding="ascii", newline="\n") as f:
                for lab in labels:
                    f.write(json.dumps(lab, separators=(",", ":")) + "\n")
        secs = time.perf_counter() - t_start
        if not args.quiet:
            print("gen-corpus: %d events, %d log files (%.1f MB uncompressed), %d labels, "
                  "%d benign manifest entries in %.1f s (%.0f events/s)"
                  % (writer.events, writer.files, writer.raw_bytes / 1e6, len(labels),
                     sum(manifest.kinds.values()), secs, writer.events / secs if secs else 0),
                  file=sys.stderr)
        return 0


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="gen-corpus",
        description="Write a deterministic, realistic multi-account CloudTrail log tree with "
                    "labelled attacks and benign look-alikes (see docs/corpus.md).")
    p.add_argument("--out", required=True, help="output directory (created)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--start", default="2026-11-01", help="first day, YYYY-MM-DD (default 2026-11-01)")
    p.add_argument("--days", type=int, default=3, help="number of days (default 3)")
    p.add_argument("--accounts", type=int, default=3,
                   help="accounts: 111122223333 prod, 444455556666 dev, 777788889999 security, "
                        "then generated workload accounts (default 3)")
    p.add_argument("--events-per-day", type=int, default=20000,
                   help="average events per day across all accounts (default 20000); weekdays get "
                        "more, weekends fewer; the total is events-per-day x days plus attacks")
    p.add_argument("--format", choices=("s3", "ndjson", "both"), default="s3",
                   help="s3: AWSLogs/... .json.gz tree; ndjson: OUT/events.ndjson; both")
    p.add_argument("--attacks", choices=("none", "storyline", "all", "behavioural"), default="storyline",
                   help="storyline (default), all (storyline + catalogue), behavioural (anomalies for the "
                        "baseline detectors on the last two days, after a 7-day warm-up; needs --days >= %d, "
                        "16 recommended), none" % BEHAVIOURAL_MIN_DAYS)
    p.add_argument("--labels", help="write the labels of injected malicious events (JSONL) here")
    p.add_argument("--benign-manifest", help="write the benign look-alike events (JSONL) here")
    p.add_argument("--gzip-level", type=int, default=1, choices=range(0, 10), metavar="0-9",
                   help="gzip compression level of the log files (default 1, the fastest; "
                        "6 compresses ~30%% smaller at half the speed)")
    p.add_argument("--threads", type=int, default=2,
                   help="compression threads (default 2; zlib releases the GIL)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")
    a = p.parse_args(argv)
    if a.days < 1 or a.accounts < 1 or a.events_per_day < 0:
        p.error("--days and --accounts must be >= 1, --events-per-day >= 0")
    try:
        _dt.date.fromisoformat(a.start)
    except ValueError:
        p.error("--start must be YYYY-MM-DD")
    if a.attacks != "none" and a.accounts < 2:
        p.error("--attacks needs at least 2 accounts (prod and dev)")
    if a.attacks == "behavioural" and a.days < BEHAVIOURAL_MIN_DAYS:
        p.error("--attacks behavioural needs --days >= %d (a 7-day warm-up, then the anomalies; 16 "
                "recommended)" % BEHAVIOURAL_MIN_DAYS)
    return a


def main(argv=None):
    return Generator(parse_args(sys.argv[1:] if argv is None else argv)).run()

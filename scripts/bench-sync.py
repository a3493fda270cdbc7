#!/usr/bin/env python3
"""Sync benchmark on the local provider: crabbox against plain OpenSSH tools in the same run.

Generates a synthetic git repository (default 50,000 files), warms a `local` lease and
times four pairs, each baseline over the lease's own ControlMaster and sshd:

  no-change sync    crabbox run --sync-only        vs  rsync -a of the tree
  one changed file  crabbox run --sync-only        vs  rsync --files-from with that file
  first sync        crabbox run --sync-only        vs  tar c | ssh tar x
  warm run          crabbox run -- true            vs  ssh -S <master> host true

Prints a table, writes JSON (--json-out) and an SVG chart (--chart-out). Standard
library only; needs git, ssh, rsync and tar, and ~4 GB free in /tmp at the default
size (the first-sync trees are kept until the end, see first_sync).
Usage: python3 scripts/bench-sync.py [--runs 7] [--files 50000]

As root it re-runs itself as a fresh unprivileged user `crabbox-bench`: the local
provider logs in as the invoking user, and root's shell startup files on the
development machines (pyenv) cost ~80 ms per remote shell. CRABBOX_BENCH_AS_ROOT=1
measures as root anyway.
"""

import argparse
import datetime
import json
import math
import os
import platform
import pwd
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape

BENCH_USER = "crabbox-bench"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES_PER_DIR = 100
WARMUP_ITERATIONS = 1
COMMAND_TIMEOUT = 900
STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per benchmark")
    parser.add_argument("--files", type=int, default=50_000, help="files in the synthetic repo")
    parser.add_argument("--json-out", default="/tmp/crabbox-bench-sync.json")
    parser.add_argument("--chart-out", default=os.path.join(REPO_ROOT, "docs", "bench-sync.svg"))
    args = parser.parse_args()
    if args.runs < 1 or args.files < 1:
        parser.error("--runs and --files must be positive")
    args.json_out = os.path.abspath(args.json_out)
    args.chart_out = os.path.abspath(args.chart_out)
    return args


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(argv, **kwargs):
    """Runs a command with captured output; fails with its output on a non-zero exit."""
    result = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, **kwargs)
    if result.returncode != 0:
        shown = argv if isinstance(argv, str) else shlex.join(argv)
        raise RuntimeError(
            f"command failed (exit {result.returncode}): {shown}\n"
            f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        )
    return result


def timed(argv, **kwargs):
    """Wall time of one command in ms, and its completed process."""
    started = time.perf_counter()
    result = run(argv, **kwargs)
    return (time.perf_counter() - started) * 1000, result


# --- running as the bench user ---------------------------------------------------


def bench_user_path():
    # Root's own tool directories (pyenv shims, cargo) are unreadable for the bench user.
    extra = [p for p in os.environ.get("PATH", "").split(":") if p and not p.startswith("/root")]
    entries = []
    for entry in STANDARD_PATH.split(":") + extra:
        if entry not in entries:
            entries.append(entry)
    return ":".join(entries)


def as_bench_user(argv, env):
    return ["runuser", "-u", BENCH_USER, "--", "env", "-i"] + [f"{k}={v}" for k, v in env.items()] + argv


def bench_python(env):
    candidates = ["/usr/bin/python3"]
    found = shutil.which("python3", path=env["PATH"])
    if found:
        candidates.append(found)
    check = "import sys; sys.exit(sys.version_info < (3, 9))"
    for python in candidates:
        if os.path.exists(python):
            probe = subprocess.run(as_bench_user([python, "-c", check], env), capture_output=True)
            if probe.returncode == 0:
                return python
    log(f"no python3 usable by {BENCH_USER}; installing python3 with apt-get")
    if subprocess.run(["apt-get", "install", "-y", "-q", "python3"]).returncode != 0:
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", "python3"])
    return "/usr/bin/python3"


def reexec_as_bench_user(args, binary):
    try:
        pwd.getpwnam(BENCH_USER)
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/bash", BENCH_USER])
    home = pwd.getpwnam(BENCH_USER).pw_dir
    copy = tempfile.mkdtemp(prefix="cbx-bench-bin-")
    try:
        os.chmod(copy, 0o755)
        shutil.copy2(binary, os.path.join(copy, "crabbox"))
        script = os.path.join(copy, "bench-sync.py")
        shutil.copy2(os.path.abspath(__file__), script)
        for name in ("crabbox", "bench-sync.py"):
            os.chmod(os.path.join(copy, name), 0o755)
        out = os.path.join(copy, "out")
        os.mkdir(out)
        shutil.chown(out, BENCH_USER, BENCH_USER)
        env = {
            "PATH": bench_user_path(),
            "HOME": home,
            "USER": BENCH_USER,
            "LOGNAME": BENCH_USER,
            "LANG": "C.UTF-8",
            "CRABBOX_BENCH_BINARY": os.path.join(copy, "crabbox"),
        }
        missing = [
            tool
            for tool in ("git", "ssh", "rsync", "tar")
            if subprocess.run(
                as_bench_user(["sh", "-c", f"command -v {tool}"], env), capture_output=True
            ).returncode
            != 0
        ]
        if missing:
            sys.exit(f"error: {BENCH_USER} cannot run {', '.join(missing)} (PATH={env['PATH']})")
        python = bench_python(env)
        json_out = os.path.join(out, "result.json")
        chart_out = os.path.join(out, "chart.svg")
        command = [python, script, "--runs", str(args.runs), "--files", str(args.files),
                   "--json-out", json_out, "--chart-out", chart_out]
        log(f"measuring as {BENCH_USER} with {python}")
        code = subprocess.run(as_bench_user(command, env)).returncode
        if code == 0:
            for produced, wanted in ((json_out, args.json_out), (chart_out, args.chart_out)):
                os.makedirs(os.path.dirname(wanted), exist_ok=True)
                shutil.copyfile(produced, wanted)
            print(f"copied to {args.json_out} and {args.chart_out}")
        return code
    finally:
        shutil.rmtree(copy, ignore_errors=True)


# --- the synthetic repository ----------------------------------------------------


def generate_repo(root, files, seed=20261122):
    """`files` text files of 100-2000 bytes, 100 per directory; returns total bytes."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(4000)]
    vocabulary += ["fn", "let", "mut", "return", "if", "else", "{", "}", "(", ")", "=", ";"]
    total = 0
    for index in range(files):
        directory = os.path.join(root, "src", f"d{index // FILES_PER_DIR:03d}")
        if index % FILES_PER_DIR == 0:
            os.makedirs(directory, exist_ok=True)
        size = rng.randint(100, 2000)
        words = rng.choices(vocabulary, k=size // 4 + 16)
        lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        text = ("\n".join(lines))[: size - 1] + "\n"
        with open(os.path.join(directory, f"f{index % FILES_PER_DIR:03d}.txt"), "w") as handle:
            handle.write(text)
        total += len(text)
    return total


def git(repo, *argv):
    identity = ["-c", "user.email=bench@crabbox.invalid", "-c", "user.name=crabbox bench"]
    return run(["git", "-c", "init.defaultBranch=main", "-c", "gc.auto=0", *identity, *argv], cwd=repo)


# --- measurement ------------------------------------------------------------------


def summary(samples):
    return {
        "samplesMs": [round(s, 2) for s in samples],
        "medianMs": round(statistics.median(samples), 2),
        "minMs": round(min(samples), 2),
        "maxMs": round(max(samples), 2),
    }


def timing_json(result):
    lines = result.stderr.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"no --timing-json object on stderr's last line:\n{result.stderr}") from None


class Bench:
    def __init__(self, binary, work, runs):
        self.binary = binary
        self.work = work
        self.runs = runs
        self.home = os.path.join(work, "home")
        self.env = dict(os.environ, HOME=self.home)
        for name in ("XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            self.env.pop(name, None)
        self.lease = None
        self.notes = []

    def crabbox(self, *argv, cwd):
        return [self.binary, *argv], {"cwd": cwd, "env": self.env}

    def timed_crabbox(self, cwd, *argv):
        command, kwargs = self.crabbox(*argv, cwd=cwd)
        return timed(command, **kwargs)

    def warmup(self, repo):
        command, kwargs = self.crabbox("warmup", cwd=repo)
        first = run(command, **kwargs).stdout.splitlines()[0]
        match = re.match(r"leased (\S+) ", first)
        if not match:
            raise RuntimeError(f"unexpected warmup output: {first!r}")
        self.lease = match.group(1)
        command, kwargs = self.crabbox("ssh", self.lease, cwd=repo)
        self.ssh = shlex.split(run(command, **kwargs).stdout.strip())
        self.destination = self.ssh[-1]
        if "@" not in self.destination:
            raise RuntimeError(f"unexpected ssh line: {shlex.join(self.ssh)}")
        self.ssh_options = shlex.join(self.ssh[:-1])  # rsync -e; rsync adds the host itself

    def stop(self):
        if self.lease:
            result = subprocess.run([self.binary, "stop", self.lease], cwd=self.work,
                                    env=self.env, capture_output=True, text=True, timeout=120)
            if result.returncode != 0:
                log(f"crabbox stop {self.lease} failed:\n{result.stderr}")

    def remote(self, script):
        return run(self.ssh + [script])

    def handshakes(self):
        path = os.path.join(self.home, ".config/crabbox/state/local", self.lease, "sshd.log")
        if not os.path.exists(path):
            return None
        with open(path, errors="replace") as handle:
            return sum("Accepted publickey" in line for line in handle)

    def pair(self, prepare_crabbox, crabbox_argv, prepare_baseline, baseline, check, cwd):
        """Alternates crabbox and baseline; the first WARMUP_ITERATIONS are discarded.

        `baseline` and `cwd` are called per iteration (the checkout may have moved); a
        baseline given as a string runs in a shell. Dirty pages are flushed before each
        timed command: writeback left over from writing 50k files otherwise lands in
        whichever command runs next.
        """
        crabbox_ms, baseline_ms, reports = [], [], []
        for iteration in range(WARMUP_ITERATIONS + self.runs):
            prepare_crabbox(iteration)
            os.sync()
            ms, result = self.timed_crabbox(cwd(), "run", "--id", self.lease, "--timing-json",
                                            *crabbox_argv)
            report = timing_json(result)
            check(report, result)
            prepare_baseline(iteration)
            command = baseline()
            os.sync()
            base_ms, _ = timed(command, shell=isinstance(command, str))
            if iteration >= WARMUP_ITERATIONS:
                crabbox_ms.append(ms)
                baseline_ms.append(base_ms)
                reports.append({k: report.get(k) for k in
                                ("syncMs", "syncSkipped", "syncFiles", "syncBytes", "syncPhases",
                                 "commandMs", "totalMs")})
        return crabbox_ms, baseline_ms, reports


def machine():
    def first_line(argv):
        result = subprocess.run(argv, capture_output=True, text=True)
        return (result.stdout or result.stderr).splitlines()[0].strip()

    memory_kib = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    debian = ""
    if os.path.exists("/etc/debian_version"):
        with open("/etc/debian_version") as handle:
            debian = handle.read().strip()
    return {
        "cpus": os.cpu_count(),
        "memoryGiB": round(memory_kib / 1024 / 1024, 1),
        "debian": debian,
        "kernel": platform.release(),
        "ssh": first_line(["ssh", "-V"]),
        "rsync": first_line(["rsync", "--version"]),
        "user": pwd.getpwuid(os.getuid()).pw_name,
    }


def measure(args, binary):
    work = tempfile.mkdtemp(prefix="cbx-bench-sync-")
    bench = Bench(binary, work, args.runs)
    try:
        os.makedirs(bench.home)
        repo = os.path.join(work, "repo-00")
        os.makedirs(repo)
        log(f"generating {args.files} files in {repo}")
        repo_bytes = generate_repo(repo, args.files)
        git(repo, "init", "-q")
        log("git add + commit")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "synthetic tree")
        bench.warmup(repo)
        log(f"leased {bench.lease}; initial sync")
        command, kwargs = bench.crabbox("run", "--id", bench.lease, "--sync-only", cwd=repo)
        run(command, **kwargs)
        baseline_root = os.path.join(bench.home, "bench-baseline")
        tree = os.path.join(baseline_root, "tree")
        bench.remote(f"mkdir -p {shlex.quote(baseline_root)}")
        run(["rsync", "-a", "--exclude=.git", "-e", bench.ssh_options, repo + "/",
             f"{bench.destination}:{tree}/"])
        no_change = no_change_sync(bench, repo, tree)
        one_file = one_changed_file(bench, repo, tree)
        warm = warm_run(bench, repo)
        # Last: it renames the checkout and leaves 2 × (runs + 1) trees behind.
        first = first_sync(bench, repo, baseline_root, args.files)
        results = [no_change, one_file, first, warm]
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "files": args.files,
            "repoBytes": repo_bytes,
            "runs": args.runs,
            "warmupIterations": WARMUP_ITERATIONS,
            "lease": bench.lease,
            "sshdAcceptedPublickey": bench.handshakes(),
            "benchmarks": evaluate(results),
            "notes": bench.notes,
        }
    finally:
        bench.stop()
        shutil.rmtree(work, ignore_errors=True)


def nothing(_iteration):
    return None


def no_change_sync(bench, repo, tree):
    def check_skipped(report, _result):
        if not report["syncSkipped"] or report["syncBytes"] != 0 or report["syncFiles"] != 0:
            raise RuntimeError(f"no-change sync was not skipped with 0 bytes: {report}")

    rsync_tree = ["rsync", "-a", "--exclude=.git", "-e", bench.ssh_options, repo + "/",
                  f"{bench.destination}:{tree}/"]
    log("no-change sync")
    crabbox_ms, baseline_ms, reports = bench.pair(
        nothing, ["--sync-only"], nothing, lambda: rsync_tree, check_skipped, lambda: repo)
    # The human run summary must say what --timing-json says.
    command, kwargs = bench.crabbox("run", "--id", bench.lease, "--sync-only", cwd=repo)
    summary_line = next((line for line in run(command, **kwargs).stderr.splitlines()
                         if line.startswith("run summary")), "")
    if not {"sync_skipped=true", "sync_bytes=0"} <= set(summary_line.split()):
        raise RuntimeError(f"no-change run summary does not report a skip: {summary_line!r}")
    result = entry("no_change", "No-change sync", "crabbox run --id L --sync-only",
                   "rsync -a --exclude=.git -e <ssh -S master> repo/ host:baseline/",
                   crabbox_ms, baseline_ms, reports)
    result["runSummary"] = summary_line
    return result


def one_changed_file(bench, repo, tree):
    changed = os.path.join("src", "d000", "f042.txt")
    files_from = os.path.join(bench.work, "files-from.txt")
    with open(files_from, "w") as handle:
        handle.write(changed + "\n")

    def append_line(iteration):
        with open(os.path.join(repo, changed), "a") as handle:
            handle.write(f"benchmark change {iteration} {time.time_ns()}\n")

    def check_sent(report, _result):
        if report["syncSkipped"]:
            raise RuntimeError(f"a changed file was not synced: {report}")

    rsync_one = ["rsync", "-a", f"--files-from={files_from}", "-e", bench.ssh_options,
                 repo + "/", f"{bench.destination}:{tree}/"]
    log("one changed file")
    crabbox_ms, baseline_ms, reports = bench.pair(
        append_line, ["--sync-only"], append_line, lambda: rsync_one, check_sent, lambda: repo)
    if any(r["syncFiles"] != 1 for r in reports):
        bench.notes.append(f"one changed file: crabbox syncFiles={[r['syncFiles'] for r in reports]}")
    return entry("one_file", "One changed file", "crabbox run --id L --sync-only",
                 "rsync -a --files-from=<that path> -e <ssh -S master> repo/ host:baseline/",
                 crabbox_ms, baseline_ms, reports)


def first_sync(bench, repo, baseline_root, files):
    """A new checkout directory name is a new remote workdir, so every sync is a first one.

    Old trees are only deleted at the end: right after `rm -rf` of a 50k-file tree, this
    machine creates files much slower for a while (local `tar x` of the same archive:
    1.5-8.0 s without a delete before it, 17-18 s right after one), which would time the
    deletion instead.
    The lease is claimed by the previous directory name, hence --reclaim.
    """
    state = {"repo": repo, "target": None}

    def rename_checkout(iteration):
        renamed = os.path.join(bench.work, f"repo-{iteration + 1:02d}")
        os.rename(state["repo"], renamed)
        state["repo"] = renamed

    def new_target(iteration):
        state["target"] = os.path.join(baseline_root, f"first-{iteration:02d}")

    def check_first(report, result):
        workdir = result.stdout.strip().removeprefix("synced ").strip()
        if not workdir.endswith("/" + os.path.basename(state["repo"])):
            raise RuntimeError(f"first sync went to an unexpected workdir: {result.stdout}")
        if report["syncSkipped"] or report["syncFiles"] != files:
            raise RuntimeError(f"first sync did not send every file: {report}")

    def tar_pipe():
        target = shlex.quote(state["target"])
        unpack = f"mkdir -p {target} && tar x -C {target}"
        return (f"tar c --exclude=.git -C {shlex.quote(state['repo'])} . | "
                f"{shlex.join(bench.ssh)} {shlex.quote(unpack)}")

    log("first sync")
    crabbox_ms, baseline_ms, reports = bench.pair(
        rename_checkout, ["--sync-only", "--reclaim"], new_target, tar_pipe, check_first,
        lambda: state["repo"])
    return entry("first_sync", "First sync",
                 "crabbox run --id L --reclaim --sync-only (new checkout directory name)",
                 "tar c --exclude=.git -C repo . | ssh -S master host 'mkdir -p D && tar x -C D'",
                 crabbox_ms, baseline_ms, reports)


def warm_run(bench, repo):
    # The first (discarded) iteration syncs the baseline's last edit of the changed file.
    log("warm run -- true")
    crabbox_ms, baseline_ms, reports = bench.pair(
        nothing, ["--", "true"], nothing, lambda: bench.ssh + ["true"], lambda *_: None,
        lambda: repo)
    if not all(r["syncSkipped"] for r in reports):
        bench.notes.append(f"warm run: syncSkipped={[r['syncSkipped'] for r in reports]}")
    return entry("warm_run", "Warm run -- true", "crabbox run --id L -- true",
                 "ssh -S master host true", crabbox_ms, baseline_ms, reports)


def entry(key, title, crabbox_command, baseline_command, crabbox_ms, baseline_ms, reports):
    return {
        "key": key,
        "title": title,
        "crabbox": dict(command=crabbox_command, **summary(crabbox_ms)),
        "baseline": dict(command=baseline_command, **summary(baseline_ms)),
        "crabboxReports": reports,
    }


TARGETS = {
    "no_change": "0 bytes sent; ≥ 10× faster than rsync -a",
    "one_file": "≤ 1.3× rsync --files-from",
    "first_sync": "≤ 1.3× tar c | ssh tar x",
    "warm_run": "overhead over ssh -S master true ≤ 30 ms",
}


def evaluate(results):
    for result in results:
        crabbox = result["crabbox"]["medianMs"]
        baseline = result["baseline"]["medianMs"]
        result["ratio"] = round(crabbox / baseline, 3)
        result["target"] = TARGETS[result["key"]]
        if result["key"] == "no_change":
            result["speedup"] = round(baseline / crabbox, 1)
            result["bytesSent"] = [r["syncBytes"] for r in result["crabboxReports"]]
            result["met"] = result["speedup"] >= 10 and not any(result["bytesSent"])
        elif result["key"] == "warm_run":
            result["overheadMs"] = round(crabbox - baseline, 1)
            result["met"] = result["overheadMs"] <= 30
        else:
            result["met"] = result["ratio"] <= 1.3
    return results


def comparison(result):
    if result["key"] == "no_change":
        return f"{result['speedup']}× faster, {max(result['bytesSent'])} bytes sent"
    if result["key"] == "warm_run":
        return f"{result['ratio']:.2f}×, overhead {result['overheadMs']:+.1f} ms"
    return f"{result['ratio']:.2f}× baseline"


def print_table(report):
    print(f"\n{report['files']} files, {report['repoBytes'] / 1e6:.1f} MB; medians of "
          f"{report['runs']} runs (min–max) in ms\n")
    header = f"{'benchmark':18} {'crabbox':>24} {'baseline':>24}  {'comparison':32} target"
    print(header)
    print("-" * len(header))
    for result in report["benchmarks"]:
        cells = []
        for side in ("crabbox", "baseline"):
            s = result[side]
            cells.append(f"{s['medianMs']:9.1f} ({s['minMs']:.1f}–{s['maxMs']:.1f})")
        verdict = "met" if result["met"] else "NOT met"
        print(f"{result['title']:18} {cells[0]:>24} {cells[1]:>24}  {comparison(result):32} "
              f"{verdict} ({result['target']})")
    print(f"\nsshd accepted publickey handshakes for the lease: {report['sshdAcceptedPublickey']}")
    for note in report["notes"]:
        print(f"note: {note}")


# --- chart ------------------------------------------------------------------------

BASELINE_LABELS = {
    "no_change": ["rsync -a"],
    "one_file": ["rsync", "--files-from"],
    "first_sync": ["tar c |", "ssh tar x"],
    "warm_run": ["ssh -S master", "true"],
}
CRABBOX_COLOR = "#d9480f"
BASELINE_COLOR = "#868e96"


def nice_axis(value):
    """An axis top and tick step (1, 2, 2.5 or 5 × 10^k) covering value in ~4 steps."""
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            break
    top = step * -(-value // step)
    return top, step


def format_ms(value):
    return f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"


def text(x, y, content, size=12, anchor="middle", weight="normal", color="#212529"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" fill="{color}">{escape(content)}</text>')


def render_chart(report):
    panel_width, plot_height = 250, 230
    left, top = 20, 96
    width = left * 2 + panel_width * len(report["benchmarks"])
    height = top + 40 + plot_height + 110
    machine_info = report["machine"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">',
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        text(left, 28, f"Crabbox sync vs plain OpenSSH tools — {report['files']:,}-file repository",
             17, "start", "bold"),
        text(left, 50, f"local provider over loopback, baselines on the lease's ControlMaster; bars: "
             f"median of {report['runs']} runs, lines: min–max", 12, "start", color="#495057"),
        text(left, 68, f"{report['date'][:10]} · {machine_info['cpus']} vCPUs, {machine_info['memoryGiB']} GiB RAM, "
             f"Debian {machine_info['debian']}, kernel {machine_info['kernel']}, "
             f"{machine_info['ssh'].split(',')[0]}, {' '.join(machine_info['rsync'].split()[:3])}",
             12, "start", color="#495057"),
    ]
    legend_x = width - left - 190
    for offset, (label, color) in enumerate((("crabbox", CRABBOX_COLOR), ("baseline", BASELINE_COLOR))):
        x = legend_x + offset * 100
        out.append(f'<rect x="{x}" y="17" width="13" height="13" fill="{color}"/>')
        out.append(text(x + 19, 28, label, 13, "start"))
    for index, result in enumerate(report["benchmarks"]):
        x0 = left + index * panel_width
        plot_left, plot_right = x0 + 62, x0 + panel_width - 14
        plot_top = top + 40
        plot_bottom = plot_top + plot_height
        out.append(text(x0 + panel_width / 2, top + 16, result["title"], 14, weight="bold"))
        sides = (("crabbox", ["crabbox"], CRABBOX_COLOR),
                 ("baseline", BASELINE_LABELS[result["key"]], BASELINE_COLOR))
        axis_top, step = nice_axis(max(result[side]["maxMs"] for side, _, _ in sides))

        def y(value):
            return plot_bottom - value / axis_top * plot_height

        tick = 0.0
        while tick <= axis_top + step / 1000:
            out.append(f'<line x1="{plot_left}" x2="{plot_right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                       f'stroke="{"#adb5bd" if tick == 0 else "#e9ecef"}" stroke-width="1"/>')
            label = f"{tick:,.0f}" if step >= 1 else f"{tick:,.1f}"
            out.append(text(plot_left - 6, y(tick) + 4, label, 11, "end", color="#495057"))
            tick += step
        out.append(f'<text x="{x0 + 14}" y="{(plot_top + plot_bottom) / 2:.1f}" font-size="11" '
                   f'fill="#495057" text-anchor="middle" transform="rotate(-90 {x0 + 14} '
                   f'{(plot_top + plot_bottom) / 2:.1f})">ms</text>')
        slot = (plot_right - plot_left) / 2
        bar_width = slot * 0.56
        for position, (side, labels, color) in enumerate(sides):
            center = plot_left + slot * (position + 0.5)
            stats = result[side]
            bar_top = y(stats["medianMs"])
            out.append(f'<rect x="{center - bar_width / 2:.1f}" y="{bar_top:.1f}" width="{bar_width:.1f}" '
                       f'height="{max(plot_bottom - bar_top, 0.8):.1f}" fill="{color}"/>')
            low, high = y(stats["minMs"]), y(stats["maxMs"])
            out.append(f'<line x1="{center:.1f}" x2="{center:.1f}" y1="{low:.1f}" y2="{high:.1f}" '
                       f'stroke="#212529" stroke-width="1.2"/>')
            for whisker in (low, high):
                out.append(f'<line x1="{center - 6:.1f}" x2="{center + 6:.1f}" y1="{whisker:.1f}" '
                           f'y2="{whisker:.1f}" stroke="#212529" stroke-width="1.2"/>')
            out.append(text(center, min(bar_top, high) - 7, format_ms(stats["medianMs"]), 12, weight="bold"))
            for line_index, label in enumerate(labels):
                out.append(text(center, plot_bottom + 17 + line_index * 14, label, 11, color="#343a40"))
        verdict_color = "#2b8a3e" if result["met"] else "#c92a2a"
        out.append(text(x0 + panel_width / 2, plot_bottom + 62, comparison(result), 12, weight="bold"))
        out.append(text(x0 + panel_width / 2, plot_bottom + 80, f"target: {result['target']}", 10.5,
                        color="#495057"))
        out.append(text(x0 + panel_width / 2, plot_bottom + 97,
                        "target met" if result["met"] else "target not met", 12, weight="bold",
                        color=verdict_color))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --- entry point ------------------------------------------------------------------


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = os.environ.get("CRABBOX_BENCH_BINARY")
    if not binary:
        log("cargo build --release -p crabbox-cli")
        subprocess.run(["cargo", "build", "--release", "-q", "--manifest-path",
                        os.path.join(REPO_ROOT, "Cargo.toml"), "-p", "crabbox-cli"], check=True)
        binary = os.path.join(REPO_ROOT, "target", "release", "crabbox")
        if os.getuid() == 0 and not os.environ.get("CRABBOX_BENCH_AS_ROOT"):
            sys.exit(reexec_as_bench_user(args, binary))
    report = measure(args, os.path.abspath(binary))
    print_table(report)
    os.makedirs(os.path.dirname(args.json_out), exist_ok=True)
    with open(args.json_out, "w") as handle:
        json.dump(report, handle, indent=2, ensure_ascii=False)
        handle.write("\n")
    os.makedirs(os.path.dirname(args.chart_out), exist_ok=True)
    with open(args.chart_out, "w") as handle:
        handle.write(render_chart(report))
    print(f"\nwrote {args.json_out} and {args.chart_out}")


if __name__ == "__main__":
    main()

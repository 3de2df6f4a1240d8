#!/usr/bin/env python3
"""baton's benchmark harness (Python 3, stdlib only). Run it through scripts/bench.

Measures handoff latency, wrapper overhead, memory, size, idle cost, signal
forwarding latency and output capture throughput, next to tini, dumb-init and
catatonit, and writes a Markdown report. How each figure is measured, and what
it includes or excludes: bench/README.md.

Exit status: 0 when every benchmark ran (whether or not targets were met),
1 when a benchmark could not run (the harness is broken), 2 on usage errors.
A missing peer (tini, dumb-init, catatonit, hyperfine) is reported in its row,
not treated as an error.
"""

import argparse
import datetime
import json
import math
import os
import platform
import random
import select
import shlex
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The targets (issue 11's budget, with clap, tracing-subscriber and serde_json).
HANDOFF_LIMIT = 0.001  # s added per step of a chain
WRAPPER_LIMIT = 1.15  # paired wall ratio of `baton -- true` to `tini -s -- true`
MEMORY_LIMIT = 1.6 * 1024 * 1024  # VmHWM
SIZE_LIMIT = 1.75 * 1024 * 1024  # static, stripped
WORK = ROOT / "target" / "bench"

MODES = {
    "full": {
        "chain_n": 100, "chain_runs": 10, "chain_diag_n": 10,
        "hf_runs": 1000, "hf_rounds": 200, "hf_warmup": 1,
        "mem_runs": 10,
        "idle_n": 100, "idle_s": 10.0, "idle_runs": 3, "idle_peer_runs": 1,
        "sig_runs": 50,
        "stream_bytes": 1 << 30, "stream_runs": 5,
    },
    "quick": {
        "chain_n": 10, "chain_runs": 3,
        "hf_runs": 10, "hf_rounds": 1, "hf_warmup": 2,
        "mem_runs": 2,
        "idle_n": 20, "idle_s": 1.0, "idle_runs": 1, "idle_peer_runs": 1,
        "sig_runs": 10,
        "stream_bytes": 100 << 20, "stream_runs": 2,
    },
}

MIB = 1024 * 1024
CLK_TCK = os.sysconf("SC_CLK_TCK")
TEKTON_STEP_S = 0.5     # documented: the entrypoint polls once a second, 0.5 s on average
TEKTON_SIZE = 28e6      # documented size of Tekton's entrypoint binary


class HarnessError(Exception):
    """A benchmark could not run: the harness (or baton) is broken."""


# ---------------------------------------------------------------- helpers

def now():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def stats(values):
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": len(values)}


def fmt_num(x, digits=3):
    """A number with about `digits` significant digits, no exponent."""
    if x == 0:
        return "0"
    exp = math.floor(math.log10(abs(x)))
    return f"{x:.{max(0, digits - 1 - exp)}f}"


def fmt_s(seconds, unit="ms"):
    scale = {"s": 1, "ms": 1e3, "us": 1e6}[unit]
    label = {"s": "s", "ms": "ms", "us": "µs"}[unit]
    return f"{fmt_num(seconds * scale)} {label}"


def fmt_ratio(a, b):
    if a is None or not b:
        return "—"
    return f"{a / b:.2f}×"


def md_table(headers, rows):
    out = ["| " + " | ".join(headers) + " |",
           "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
        cells += [""] * (len(headers) - len(cells))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def stat_cells(st, fmt):
    return [fmt(st["median"]), fmt(st["min"]), fmt(st["max"]), str(st["runs"])]


def verdict(ok):
    return "met" if ok else "**MISSED**"


def read_proc_stat(pid):
    """(state, ppid, utime+stime ticks) of a process, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rest = data.rsplit(")", 1)[1].split()
    return rest[0], int(rest[1]), int(rest[11]) + int(rest[12])


def children_of(pid):
    """Pids whose parent is pid (this kernel may lack /proc/PID/task/PID/children)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = read_proc_stat(int(entry))
            if st and st[1] == pid:
                found.append(int(entry))
    return found


def comm(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def has_inotify(pid):
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:inotify":
                    return True
            except OSError:
                pass
    except OSError:
        pass
    return False


def proc_status(pid):
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def cpu_sample(pid):
    """(utime+stime ticks, on-CPU ns summed over threads, context switches summed over threads)."""
    st = read_proc_stat(pid)
    if st is None:
        return None
    sched_ns = 0
    switches = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            sched_ns += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            for line in Path(f"/proc/{pid}/task/{tid}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        except (OSError, IndexError):
            pass
    return st[2], sched_ns, switches


def wait_until(cond, timeout, what, proc=None):
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise HarnessError(f"{what}: process exited with {proc.returncode} first {err!r}")
        if time.monotonic() > deadline:
            raise HarnessError(f"{what}: not reached in {timeout} s")
        time.sleep(0.002)


def supervising(pid, comm_name):
    """The wrapper pid has a child that has exec'd comm_name."""
    return any(comm(c) == comm_name for c in children_of(pid))


def stop(procs, grace=5.0):
    """End processes this harness started (by pid), and their direct children: SIGTERM, then SIGKILL."""
    kids = {}
    for p in procs:
        if p.poll() is None:
            kids[p.pid] = children_of(p.pid)
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for pid in [p.pid] + kids.get(p.pid, []):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait()
    for pids in kids.values():
        for pid in pids:
            if read_proc_stat(pid) is not None and read_proc_stat(pid)[0] != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def read_line(fd, timeout, what):
    """One line from a raw pipe fd, with a time limit."""
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise HarnessError(f"{what}: no line within {timeout} s (got {buf!r})")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 1)
            if not chunk:
                raise HarnessError(f"{what}: end of output (got {buf!r})")
            buf += chunk
    return buf.decode()


def elf_info(path):
    """(static, stripped) from the ELF headers: no PT_INTERP, no .symtab."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        return None, None
    (e_phoff, e_shoff) = struct.unpack_from("<QQ", data, 0x20)
    (e_phentsize, e_phnum, e_shentsize, e_shnum) = struct.unpack_from("<HHHH", data, 0x36)
    static = all(struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] != 3
                 for i in range(e_phnum))
    stripped = all(struct.unpack_from("<I", data, e_shoff + i * e_shentsize + 4)[0] != 2
                   for i in range(e_shnum))
    return static, stripped


# ---------------------------------------------------------------- context

class Ctx:
    def __init__(self, mode, baton):
        self.mode = mode
        self.cfg = MODES[mode]
        self.baton = baton
        self.true = shutil.which("true") or "/bin/true"
        self.sleep = shutil.which("sleep") or "/bin/sleep"
        tini = shutil.which("tini-static") or shutil.which("tini")
        self.peers = {
            "tini": tini,
            "dumb-init": shutil.which("dumb-init"),
            "catatonit": shutil.which("catatonit"),
        }
        self.peer_label = {
            "tini": f"tini ({os.path.basename(tini)})" if tini else "tini",
            "dumb-init": "dumb-init",
            "catatonit": "catatonit",
        }
        self.hyperfine = shutil.which("hyperfine")
        WORK.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix="run-", dir=WORK))

    def wrap(self, name, command, group=False):
        """argv of wrapper `name` running command (a list)."""
        if name == "baton":
            return [self.baton, "--"] + command
        path = self.peers[name]
        if name == "tini":
            return [path, "-s"] + (["-g"] if group else []) + ["--"] + command
        if name == "dumb-init":
            return [path] + command          # forwards to the child's group (setsid mode)
        if name == "catatonit":
            return [path] + (["-g"] if group else []) + ["--"] + command
        raise KeyError(name)

    def missing(self, name):
        return name != "baton" and not self.peers.get(name)

    def fresh_dir(self, name):
        d = Path(tempfile.mkdtemp(prefix=name + "-", dir=self.tmp))
        return d


# ---------------------------------------------------------------- 1. handoff latency

CHAIN_SH = r'''b=$1 d=$2 n=$3 t=$4
i=$n
while [ "$i" -gt 1 ]; do
  "$b" --wait-file "$d/$((i - 1))" --post-file "$d/$i" -- "$t" &
  i=$((i - 1))
done
"$b" --post-file "$d/1" -- "$t" &
wait
'''

FLOOR_SH = r'''t=$1 n=$2 i=0
while [ "$i" -lt "$n" ]; do "$t"; i=$((i + 1)); done
'''


def run_timed_sh(script, args, timeout, what):
    t0 = now()
    p = subprocess.Popen(["sh", "-c", script, "sh"] + [str(a) for a in args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)   # the group of the shell this harness started
        p.wait()
        raise HarnessError(f"{what}: not finished within {timeout} s")
    t1 = now()
    if p.returncode != 0 or err.strip():
        raise HarnessError(f"{what}: exit {p.returncode}, stderr {err.decode(errors='replace')!r}")
    return (t1 - t0) / 1e9


def chain_series(ctx, n, runs):
    """Runs the floor and a chain of n, runs times: stats of per-step, marker-to-marker, chain, floor."""
    chains, floors, per_step, steady = [], [], [], []

    def chain_once():
        d = ctx.fresh_dir("chain")
        wall = run_timed_sh(CHAIN_SH, [ctx.baton, d, n, ctx.true], 120, f"chain of {n}")
        missing = [i for i in range(1, n + 1) if not (d / str(i)).exists()]
        errs = [i for i in range(1, n + 1) if (d / f"{i}.err").exists()]
        if missing or errs:
            raise HarnessError(f"chain of {n}: markers missing {missing[:5]}, .err {errs[:5]}")
        mtimes = [(d / str(i)).stat().st_mtime_ns for i in range(1, n + 1)]
        if mtimes != sorted(mtimes):
            raise HarnessError(f"chain of {n}: markers written out of order")
        shutil.rmtree(d)
        return wall, (mtimes[-1] - mtimes[0]) / 1e9 / (n - 1)

    chain_once()                                         # warm-up (page cache), not counted
    run_timed_sh(FLOOR_SH, [ctx.true, n], 60, "floor")
    for _ in range(runs):
        floor = run_timed_sh(FLOOR_SH, [ctx.true, n], 60, "floor")
        chain, marker_step = chain_once()
        floors.append(floor)
        chains.append(chain)
        per_step.append((chain - floor) / n)
        steady.append(marker_step - floor / n)
    return stats(per_step), stats(steady), stats(chains), stats(floors)


def bench_handoff(ctx):
    n, runs = ctx.cfg["chain_n"], ctx.cfg["chain_runs"]
    st_step, st_steady, st_chain, st_floor = chain_series(ctx, n, runs)
    ok = st_step["median"] <= HANDOFF_LIMIT
    rows = [
        [f"**baton**: added latency per step = (chain − floor) / {n}"] + stat_cells(st_step, fmt_s)
        + ["—", "≤ 1 ms per step (median)", verdict(ok)],
        [f"baton, for diagnosis: marker to marker = (mtime of marker {n} − mtime of marker 1) / {n - 1} "
         f"− floor / {n} (launch excluded)"] + stat_cells(st_steady, fmt_s) + ["—", "", ""],
        [f"baton: chain of {n}, wall time"] + stat_cells(st_chain, fmt_s)
        + [fmt_ratio(st_chain["median"], st_floor["median"]), "", ""],
        [f"floor: {n} × `{ctx.true}` run back to back by one shell loop"] + stat_cells(st_floor, fmt_s)
        + ["1.00×", "", ""],
    ]
    small = ctx.cfg.get("chain_diag_n")
    if small:
        d_step, d_steady, d_chain, d_floor = chain_series(ctx, small, runs)
        rows += [
            [f"for diagnosis, chain of {small}: added latency per step"] + stat_cells(d_step, fmt_s)
            + ["—", "", ""],
            [f"for diagnosis, chain of {small}: marker to marker"] + stat_cells(d_steady, fmt_s)
            + ["—", "", ""],
            [f"for diagnosis, chain of {small}: wall time (floor {fmt_s(d_floor['median'])})"]
            + stat_cells(d_chain, fmt_s) + [fmt_ratio(d_chain["median"], d_floor["median"]), "", ""],
        ]
    rows += [
        ["tini, dumb-init, catatonit"] + ["n/a: no wait mode"] + [""] * 6,
        ["Tekton entrypoint (Go, built with ko; not built here)", "≈ 500 ms per step", "", "", "",
         f"{TEKTON_STEP_S / st_step['median']:.0f}× baton's per-step figure" if st_step["median"] > 0 else "—",
         "", "quoted, not measured: polls once a second, 0.5 s on average"],
    ]
    body = (
        f"{n} `baton --wait-file DIR/i-1 --post-file DIR/i -- {ctx.true}` started at once by one shell "
        f"(last step first, so that every step is already waiting; step 1 has no `--wait-file`), timed "
        f"from just before the shell starts until every baton has exited; the start-up of the {n} "
        f"processes is included. Floor: the same shell running `{ctx.true}` {n} times, fork+exec each. "
        f"Each run times the floor, then the chain; per-step figures pair the two of one run. "
        f"One warm-up run of each is not counted. Every run checks that all {n} markers exist, "
        f"no `.err`, written in order. The marker-to-marker row leaves out the launch and the last "
        f"exit: it is the handoff once every step is waiting (file times, coarse to a few ms, "
        f"spread over {n - 1} steps)."
        + (f" The chain of {small} rows, same method, show how the figures depend on the length of "
           f"the chain (fixed costs such as the last exit weigh more in a short chain; costs that grow "
           f"with the number of waiters weigh more in a long one)." if small else "")
        + "\n\n"
        + md_table(["", "median", "min", "max", "runs", "ratio to floor", "target", "result"], rows)
    )
    summary = [("1. Handoff latency, added per step", fmt_s(st_step["median"]), "≤ 1 ms", ok)]
    return body, summary


# ---------------------------------------------------------------- 2. wrapper overhead

def bench_overhead(ctx):
    cfg = ctx.cfg
    entries = [("baton", ctx.wrap("baton", [ctx.true]))]
    missing = []
    for name in ("tini", "dumb-init", "catatonit"):
        if ctx.missing(name):
            missing.append(name)
        else:
            entries.append((name, ctx.wrap(name, [ctx.true])))
    entries.append(("bare true", [ctx.true]))
    times = {name: [] for name, _ in entries}
    # Per round, each command's median: the ratio of two commands within one
    # round is free of the machine's drift between rounds.
    rounds = {name: [] for name, _ in entries}
    how = ""
    if ctx.hyperfine:
        per_round = max(1, cfg["hf_runs"] // cfg["hf_rounds"])
        for r in range(cfg["hf_rounds"]):
            order = entries if r % 2 == 0 else list(reversed(entries))
            out = ctx.tmp / f"hyperfine-{r}.json"
            cmd = [ctx.hyperfine, "-N", "--style", "none", "--warmup", str(cfg["hf_warmup"]),
                   "--runs", str(per_round), "--export-json", str(out)]
            for name, argv in order:
                cmd += ["-n", name, shlex.join(argv)]
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=600)
            if p.returncode != 0:
                raise HarnessError(f"hyperfine exited {p.returncode}: {p.stdout.decode(errors='replace')[-2000:]}")
            for res in json.loads(out.read_text())["results"]:
                times[res["command"]] += res["times"]
                rounds[res["command"]].append(statistics.median(res["times"]))
        how = (f"hyperfine {hyperfine_version(ctx)} `-N` (no shell), {cfg['hf_warmup']} warm-up runs, "
               f"{cfg['hf_rounds']} round(s) of {per_round} runs per command, the order reversed every "
               f"other round; figures over all rounds.")
    else:
        how = ("**hyperfine not installed**: measured by this harness instead "
               "(posix_spawn + waitpid, commands interleaved).")
        for _ in range(cfg["hf_warmup"]):
            for name, argv in entries:
                spawn_wait(argv)
        for _ in range(cfg["hf_runs"]):
            for name, argv in entries:
                t = spawn_wait(argv)
                times[name].append(t)
                rounds[name].append(t)
    st = {name: stats(v) for name, v in times.items()}
    tini = st.get("tini", {}).get("median")
    bare = st["bare true"]["median"]

    def paired(name):
        """Median over rounds of (this command's median / tini's median)."""
        if "tini" not in rounds or not rounds["tini"]:
            return None
        return statistics.median(a / b for a, b in zip(rounds[name], rounds["tini"]))

    def paired_ci(name):
        """95 % interval of `paired`, by resampling the rounds (bootstrap)."""
        if "tini" not in rounds or len(rounds["tini"]) < 10:
            return None
        ratios = [a / b for a, b in zip(rounds[name], rounds["tini"])]
        rng = random.Random(1)
        meds = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(1000))
        return meds[25], meds[974]

    ok = tini is not None and paired("baton") <= WRAPPER_LIMIT
    rows = []
    for name, argv in entries:
        label = "**baton**" if name == "baton" else (ctx.peer_label.get(name, name))
        target = result = ""
        if name == "baton":
            target = f"paired ratio to tini ≤ {WRAPPER_LIMIT:.2f}"
            result = verdict(ok) if tini is not None else "not judged: tini not installed"
        pr = paired(name)
        ci = paired_ci(name) if name != "tini" else None
        pr_cell = "" if pr is None else f"{pr:.3f}" + (f" ({ci[0]:.3f}–{ci[1]:.3f})" if ci else "")
        rows.append([f"{label}: `{shlex.join([os.path.basename(argv[0])] + argv[1:])}`"]
                    + stat_cells(st[name], fmt_s)
                    + [fmt_s(st[name]["median"] - bare) if name != "bare true" else "—",
                       fmt_ratio(st[name]["median"], tini), pr_cell, target, result])
    for name in missing:
        rows.append([ctx.peer_label[name], f"not measured: {name} not installed"] + [""] * 8)
    body = (
        "Each command as a whole process, from spawn to exit: the wrapper starts, spawns "
        f"`{ctx.true}`, reaps it and exits. {how}\n\n"
        + md_table(["command", "median", "min", "max", "runs", "added to bare `true` (median)",
                    "ratio of medians to tini", "paired ratio to tini (median over rounds; 95 % interval)",
                    "target", "result"], rows)
        + "\n\nThe target is judged on the paired ratio: in each round, this command's median "
        "over tini's, then the median over the rounds. Commands of one round ran within a "
        "fraction of a second of each other, so the ratio is free of the machine's drift "
        "between rounds, which moves the pooled medians by several per cent from run to run. "
        "The interval comes from resampling the rounds (bootstrap, 1000 draws); an interval "
        "that contains the limit is a tie that a run can tip either way.\n"
    )
    pr = paired("baton")
    summary = [("2. Wrapper overhead, `baton -- true`",
                f"{fmt_s(st['baton']['median'])}, paired ratio to tini {pr:.3f}" if pr is not None
                else f"{fmt_s(st['baton']['median'])} (tini n/a)",
                f"paired ratio to tini ≤ {WRAPPER_LIMIT:.2f}", ok if tini is not None else None)]
    return body, summary


def hyperfine_version(ctx):
    try:
        return subprocess.run([ctx.hyperfine, "--version"], capture_output=True, text=True).stdout.split()[-1]
    except Exception:
        return "?"


def spawn_wait(argv):
    t0 = now()
    pid = os.posix_spawn(argv[0], argv, os.environ)
    _, status = os.waitpid(pid, 0)
    t1 = now()
    if os.waitstatus_to_exitcode(status) != 0:
        raise HarnessError(f"{argv}: exit status {status}")
    return (t1 - t0) / 1e9


# ---------------------------------------------------------------- 3. memory

def measure_rss(argv, settled, what):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_until(lambda: settled(p.pid), 10, what, p)
        time.sleep(0.2)
        status = proc_status(p.pid)
        if p.poll() is not None:
            raise HarnessError(f"{what}: exited while measured")
        return int(status["VmHWM"].split()[0]) * 1024, int(status["VmRSS"].split()[0]) * 1024
    finally:
        stop([p])


def bench_memory(ctx):
    runs = ctx.cfg["mem_runs"]
    sleeping = [ctx.sleep, "1000"]
    results = {}
    waitdir = ctx.fresh_dir("mem-wait")

    def run(key, argv, settled):
        hwm, rss = [], []
        for _ in range(runs):
            a, b = measure_rss(argv, settled, key)
            hwm.append(a)
            rss.append(b)
        results[key] = (stats(hwm), stats(rss))

    run("baton supervising", ctx.wrap("baton", sleeping), lambda pid: supervising(pid, "sleep"))
    run("baton waiting", [ctx.baton, "--wait-file", str(waitdir / "never"), "--", ctx.true], has_inotify)
    # As in a pod: the copy the initContainer's `baton install` made, run at once.
    installed = ctx.fresh_dir("mem-install") / "baton"
    subprocess.run([ctx.baton, "install", str(installed)], check=True, capture_output=True)
    run("baton installed", [str(installed), "--wait-file", str(waitdir / "never"), "--", ctx.true], has_inotify)
    for name in ("tini", "dumb-init", "catatonit"):
        if not ctx.missing(name):
            run(f"{name} supervising", ctx.wrap(name, sleeping), lambda pid: supervising(pid, "sleep"))
    tini = results.get("tini supervising", (None,))[0]
    tini_med = tini["median"] if tini else None
    limit = MEMORY_LIMIT
    rows = []
    summary = []
    fmt_mib = lambda b: f"{b / MIB:.2f} MiB"
    for key, label, argv_note in [
        ("baton supervising", "**baton** supervising", "`baton -- sleep 1000`"),
        ("baton waiting", "**baton** waiting", "`baton --wait-file MISSING -- true`"),
        ("baton installed", "**baton** waiting, installed", "the same, run from the copy `baton install` just made, as in a pod"),
        ("tini supervising", f"{ctx.peer_label['tini']} supervising", "`tini -s -- sleep 1000`"),
        ("dumb-init supervising", "dumb-init supervising", "`dumb-init sleep 1000`"),
        ("catatonit supervising", "catatonit supervising", "`catatonit -- sleep 1000`"),
    ]:
        if key not in results:
            rows.append([label, argv_note, f"not measured: {key.split()[0]} not installed"] + [""] * 6)
            continue
        hwm, rss = results[key]
        target = result = ""
        if key.startswith("baton"):
            ok = hwm["median"] <= limit
            target, result = "≤ 1.6 MiB (median VmHWM)", verdict(ok)
            what = {"installed": "waiting, installed copy"}.get(key.split()[1], key.split()[1])
            summary.append((f"3. Memory, baton {what} (VmHWM)", fmt_mib(hwm["median"]), "≤ 1.6 MiB", ok))
        rows.append([label, argv_note] + stat_cells(hwm, fmt_mib)
                    + [fmt_mib(rss["median"]), fmt_ratio(hwm["median"], tini_med), target, result])
    for name in ("tini", "dumb-init", "catatonit"):
        rows.append([f"{ctx.peer_label[name]} waiting", "", "n/a: no wait mode"] + [""] * 6)
    body = (
        "Peak resident set (`VmHWM` in `/proc/PID/status`) of the wrapper process itself, not of its "
        "child: read 200 ms after it settled (supervising: its child has exec'd `sleep`; waiting: it "
        "holds an inotify descriptor for a wait file that never appears). Shared pages of the binary "
        "and of libc count in full. `VmRSS` at the same moment for reference.\n\n"
        + md_table(["", "command", "VmHWM median", "min", "max", "runs", "VmRSS median",
                    "ratio to tini", "target", "result"], rows)
    )
    return body, summary


# ---------------------------------------------------------------- 4. size

def bench_size(ctx):
    limit = SIZE_LIMIT
    rows = []
    tini_static = shutil.which("tini-static")
    entries = [("**baton** (release, static)", ctx.baton), ("tini-static", tini_static),
               ("tini (dynamic)", shutil.which("tini")),
               ("dumb-init", ctx.peers["dumb-init"]), ("catatonit", ctx.peers["catatonit"])]
    sizes = {}
    for label, path in entries:
        if not path:
            rows.append([label, f"not measured: {label.split()[0]} not installed"] + [""] * 6)
            continue
        size = os.stat(path).st_size
        sizes[label] = size
        static, stripped = elf_info(path)
        yn = lambda v: "?" if v is None else ("yes" if v else "no")
        rows.append([label, f"`{path}`", f"{size:,} B", f"{size / MIB:.2f} MiB", yn(static), yn(stripped)])
    baton_size = sizes["**baton** (release, static)"]
    ref = sizes.get("tini-static")
    static, stripped = elf_info(ctx.baton)
    if static is None:
        raise HarnessError(f"{ctx.baton} is not a 64-bit ELF binary")
    ok = baton_size <= limit
    for row in rows:
        if len(row) == 6:
            label = row[0]
            row += [fmt_ratio(sizes[label], ref)]
            row += (["≤ 1.75 MiB", verdict(ok)] if label.startswith("**baton**") else ["", ""])
    rows.append(["Tekton entrypoint", "quoted, not measured", "≈ 28,000,000 B", f"{TEKTON_SIZE / MIB:.1f} MiB",
                 "", "", fmt_ratio(TEKTON_SIZE, ref), "", ""])
    note = ""
    if not (static and stripped):
        note = "\n\n**The baton binary measured is not both static and stripped.**"
    body = (
        "File size of each binary as installed (one measurement: sizes do not vary). Static: no "
        "`PT_INTERP` (no dynamic loader); stripped: no `.symtab`. A dynamic binary also needs libc "
        "(about 2 MiB) in the image.\n\n"
        + md_table(["binary", "path", "size", "MiB", "static", "stripped", "ratio to tini-static",
                    "target", "result"], rows) + note
    )
    return body, [("4. Size of the static, stripped binary", f"{baton_size / MIB:.2f} MiB", "≤ 1.75 MiB", ok)]


# ---------------------------------------------------------------- 5. idle cost

def idle_run(argvs, settled, secs, what, soft_settle=False):
    """Start argvs, let them settle, return (utime+stime ms, on-CPU ms, context switches, unsettled).

    soft_settle: a process that has not settled within 3 s is measured anyway and counted as
    unsettled (a baton that found no inotify instance polls instead)."""
    procs = []
    unsettled = 0
    try:
        for argv in argvs:
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.PIPE, start_new_session=True))
        for p in procs:
            try:
                wait_until(lambda: settled(p.pid), 3 if soft_settle else 30, what, p)
            except HarnessError:
                if not soft_settle or p.poll() is not None:
                    raise
                unsettled += 1
        time.sleep(0.3)
        before = {p.pid: cpu_sample(p.pid) for p in procs}
        time.sleep(secs)
        after = {p.pid: cpu_sample(p.pid) for p in procs}
        gone = [p.pid for p in procs if p.poll() is not None or after[p.pid] is None]
        if gone:
            raise HarnessError(f"{what}: {len(gone)} process(es) exited during the idle period")
        ticks = sum(after[p][0] - before[p][0] for p in before)
        sched = sum(after[p][1] - before[p][1] for p in before)
        switches = sum(after[p][2] - before[p][2] for p in before)
        return ticks * 1000.0 / CLK_TCK, sched / 1e6, switches, unsettled
    finally:
        stop(procs)


def bench_idle(ctx):
    cfg = ctx.cfg
    n, secs = cfg["idle_n"], cfg["idle_s"]
    target_ms = 10.0 * (n / 100) * (secs / 10)
    waitdir = ctx.fresh_dir("idle")
    rows, summary = [], []
    polling_note = ""

    def measure(label, argvs, settled, runs, judged):
        nonlocal polling_note
        tick_ms, sched_ms, sw = [], [], []
        for _ in range(runs):
            a, b, c, unsettled = idle_run(argvs, settled, secs, label, soft_settle=judged)
            if unsettled:
                polling_note += (f" **In one run, {unsettled} of the {n} waiting batons held no inotify "
                                 f"descriptor after 3 s** (inotify instance limit "
                                 f"`fs.inotify.max_user_instances` reached: they poll).")
            tick_ms.append(a)
            sched_ms.append(b)
            sw.append(c)
        st_t, st_s, st_w = stats(tick_ms), stats(sched_ms), stats(sw)
        fmt_ms = lambda v: f"{fmt_num(v)} ms"
        fmt_n = lambda v: f"{v:g}"
        target = result = ""
        if judged:
            ok = st_t["max"] < target_ms and st_s["max"] < target_ms
            target = f"< {fmt_num(target_ms)} ms in total (max over runs, both clocks)"
            result = verdict(ok)
            summary.append((f"5. Idle cost, {n} batons waiting {secs:g} s",
                            f"{fmt_ms(st_t['max'])} (ticks), {fmt_ms(st_s['max'])} (schedstat)",
                            f"< {fmt_num(target_ms)} ms", ok))
        rows.append([label, "utime+stime"] + stat_cells(st_t, fmt_ms) + [target, result])
        rows.append(["", "on-CPU time (schedstat)"] + stat_cells(st_s, fmt_ms) + ["", ""])
        rows.append(["", "context switches (wake-ups)"] + stat_cells(st_w, fmt_n) + ["", ""])

    settled_wait = lambda pid: has_inotify(pid)
    measure(f"**{n} batons waiting** on a missing file",
            [[ctx.baton, "--wait-file", str(waitdir / "never"), "--", ctx.true]] * n,
            settled_wait, cfg["idle_runs"], True)
    sup = [ctx.sleep, "1000"]
    measure(f"{n} batons supervising `sleep`", [ctx.wrap("baton", sup)] * n,
            lambda pid: supervising(pid, "sleep"), cfg["idle_peer_runs"], False)
    for name in ("tini", "dumb-init", "catatonit"):
        label = f"{n} × {ctx.peer_label[name]} supervising `sleep`"
        if ctx.missing(name):
            rows.append([label, f"not measured: {name} not installed"] + [""] * 6)
        else:
            measure(label, [ctx.wrap(name, sup)] * n, lambda pid: supervising(pid, "sleep"),
                    cfg["idle_peer_runs"], False)
    rows.append(["tini, dumb-init, catatonit waiting", "n/a: no wait mode"] + [""] * 6)
    body = (
        f"{n} processes started, each left until it has settled (waiting: holds an inotify "
        f"descriptor; supervising: its child has exec'd `sleep`) plus 300 ms; then CPU time is "
        f"sampled, again {secs:g} s later, and the processes are stopped (SIGTERM). Figures are the "
        f"sum over the {n} processes of the difference, so **start-up cost is excluded**; the "
        f"children (`sleep`) are not counted. utime+stime come from `/proc/PID/stat` in clock ticks "
        f"(1 tick = {1000 / CLK_TCK:g} ms, sampled by the scheduler tick); on-CPU time from "
        f"`/proc/PID/task/*/schedstat` (nanoseconds) and context switches from "
        f"`/proc/PID/task/*/status`, summed over threads. A process that polls shows up in the "
        f"context switches (one 100 ms poller: {10 * secs:g} per process). The target, 10 ms for "
        f"100 processes over 10 s, is scaled to the counts of this run.{polling_note}\n\n"
        + md_table(["", "figure (sum over processes)", "median", "min", "max", "runs", "target", "result"],
                   rows)
    )
    return body, summary


# ---------------------------------------------------------------- 6. signal forwarding

def build_probe(ctx):
    gcc = shutil.which("gcc") or shutil.which("cc")
    if not gcc:
        raise HarnessError("no C compiler (gcc) to build bench/sigprobe.c")
    out = ctx.tmp / "sigprobe"
    src = ROOT / "bench" / "sigprobe.c"
    subprocess.run([gcc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(out), str(src)], check=True)
    return str(out)


def signal_once(argv, target_is_wrapper, what):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, bufsize=0, start_new_session=True)
    try:
        fd = p.stdout.fileno()
        line = read_line(fd, 10, f"{what}: readiness")
        if line != "ready\n":
            raise HarnessError(f"{what}: unexpected {line!r}")
        time.sleep(0.02)                         # let the wrapper settle in its wait
        sent = now()
        os.kill(p.pid, signal.SIGTERM)
        arrival, sender = map(int, read_line(fd, 10, f"{what}: arrival").split())
        p.wait(10)
        if target_is_wrapper and sender == os.getpid():
            raise HarnessError(f"{what}: the signal reached the probe directly, not forwarded")
        return (arrival - sent) / 1e9
    finally:
        stop([p])


def bench_signal(ctx):
    probe = build_probe(ctx)
    runs = ctx.cfg["sig_runs"]
    entries = [("baton", ctx.wrap("baton", [probe]), "`baton -- probe`")]
    for name, note in (("tini", "`tini -s -g -- probe`"), ("dumb-init", "`dumb-init probe`"),
                       ("catatonit", "`catatonit -g -- probe`")):
        if not ctx.missing(name):
            entries.append((name, ctx.wrap(name, [probe], group=True), note))
    entries.append(("floor", [probe], "probe alone, signalled directly"))
    lat = {name: [] for name, _, _ in entries}
    signal_once(entries[0][1], True, "warm-up")
    for _ in range(runs):                        # interleaved, so noise hits every wrapper alike
        for name, argv, _ in entries:
            lat[name].append(signal_once(argv, name != "floor", name))
    st = {k: stats(v) for k, v in lat.items()}
    tini = st.get("tini", {}).get("median")
    ok = st["baton"]["median"] <= 0.001
    fmt_us = lambda s: fmt_s(s, "us")
    rows = []
    for name, _, note in entries:
        label = {"baton": "**baton**", "floor": "floor: no wrapper"}.get(name, ctx.peer_label.get(name))
        target, result = (["≤ 1 ms (median)", verdict(ok)] if name == "baton" else ["", ""])
        rows.append([label, note] + stat_cells(st[name], fmt_us)
                    + [fmt_ratio(st[name]["median"], tini), target, result])
    for name in ("tini", "dumb-init", "catatonit"):
        if ctx.missing(name):
            rows.append([ctx.peer_label[name], f"not measured: {name} not installed"] + [""] * 7)
    body = (
        "The command is `bench/sigprobe.c` (compiled into `target/bench/`): it blocks SIGTERM, says "
        "it is ready on stdout and waits in `sigwaitinfo`, then writes its CLOCK_MONOTONIC time of "
        "arrival. 20 ms after the probe is ready, the harness reads CLOCK_MONOTONIC and sends SIGTERM "
        "to the wrapper (not to the probe); latency = arrival − that reading. It includes the "
        "wrapper's wake-up, its `kill` to the child (baton, dumb-init and, with `-g`, tini and "
        "catatonit signal the child's process group), and the probe's wake-up. The floor row sends "
        "SIGTERM to the probe itself. Wrappers are interleaved run by run.\n\n"
        + md_table(["", "command", "median", "min", "max", "runs", "ratio to tini", "target", "result"], rows)
    )
    return body, [("6. Signal forwarding latency", fmt_s(st["baton"]["median"], "us"), "≤ 1 ms", ok)]


# ---------------------------------------------------------------- 7. output capture

TEE_SH = 'head -c "$1" /dev/zero | tee "$2" > "$3"\n'
CAPTURE_SH = '"$4" --stdout-path "$2" -- head -c "$1" /dev/zero > "$3"\n'


def bench_capture(ctx):
    help_text = subprocess.run([ctx.baton, "--help"], capture_output=True, text=True).stdout
    if "--stdout-path" not in help_text:
        body = ("| | result |\n|---|---|\n"
                "| baton `--stdout-path` against `tee` | not measured: --stdout-path not implemented yet |\n"
                "\nTarget once it exists: at least 80% of `tee`'s throughput on the same stream.")
        return body, [("7. Output capture throughput", "not measured", "≥ 80% of tee", None)]
    size, runs = ctx.cfg["stream_bytes"], ctx.cfg["stream_runs"]
    out = ctx.tmp / "capture.out"
    tp = {"tee": [], "baton": []}

    def once(kind, console="/dev/null"):
        args = [size, out, console] + ([ctx.baton] if kind == "baton" else [])
        wall = run_timed_sh(TEE_SH if kind == "tee" else CAPTURE_SH, args, 600, f"capture ({kind})")
        got = out.stat().st_size
        out.unlink()
        if got != size:
            raise HarnessError(f"capture ({kind}): wrote {got} bytes of {size} to the file")
        return size / wall / 1e6

    console = ctx.tmp / "capture.console"
    for kind in ("tee", "baton"):            # warm-up, and a check that both copies are whole
        once(kind, console)
        got = console.stat().st_size
        console.unlink()
        if got != size:
            raise HarnessError(f"capture ({kind}): wrote {got} bytes of {size} to stdout")
    for _ in range(runs):
        for kind in ("tee", "baton"):
            tp[kind].append(once(kind))
    st = {k: stats(v) for k, v in tp.items()}
    ratio = st["baton"]["median"] / st["tee"]["median"]
    ok = ratio >= 0.8
    fmt_mbs = lambda v: f"{v:.0f} MB/s"
    rows = [
        ["**baton**", "`baton --stdout-path FILE -- head -c N /dev/zero > /dev/null`"]
        + stat_cells(st["baton"], fmt_mbs) + [f"{ratio:.0%}", "≥ 80% of tee (medians)", verdict(ok)],
        ["tee", "`head -c N /dev/zero | tee FILE > /dev/null`"]
        + stat_cells(st["tee"], fmt_mbs) + ["100%", "", ""],
    ]
    body = (
        f"The same stream of {size / 1e6:.0f} MB (N = {size} bytes of zeros from `head`), written to "
        f"FILE (in `target/bench/`, on disk, removed after each run) and to `/dev/null`; throughput "
        f"= N / wall time of the whole pipeline, start-up included. One warm-up run of each is not "
        f"counted (it also checks that stdout and FILE both received all N bytes); runs alternate.\n\n"
        + md_table(["", "command", "median", "min", "max", "runs", "ratio to tee", "target", "result"], rows)
    )
    return body, [("7. Output capture throughput", f"{ratio:.0%} of tee", "≥ 80% of tee", ok)]


# ---------------------------------------------------------------- report

def machine(ctx):
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run([ctx.baton, "--version"], capture_output=True, text=True).stdout.strip()
    peers = []
    for name, path in list(ctx.peers.items()) + [("hyperfine", ctx.hyperfine)]:
        if not path:
            peers.append(f"{name}: not installed")
            continue
        flag = "-V" if name == "catatonit" else "--version"
        try:
            v = subprocess.run([path, flag], capture_output=True, text=True, timeout=5)
            text = (v.stdout or v.stderr).strip().splitlines()[0]
        except Exception:
            text = "?"
        peers.append(f"{os.path.basename(path)}: {text}")
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")),
        ("cores (`nproc`)", str(os.cpu_count() if not hasattr(os, "sched_getaffinity") else len(os.sched_getaffinity(0)))),
        ("kernel (`uname -r`)", platform.release()),
        ("CPU", cpu),
        ("baton", f"{version}, `{ctx.baton}`"),
        ("peers", "; ".join(peers)),
        ("load average at start", " ".join(Path("/proc/loadavg").read_text().split()[:3])),
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts, for CI")
    ap.add_argument("--baton", required=True, help="the static release binary")
    ap.add_argument("--out", help="report path (default: docs/benchmarks.md, or target/benchmarks-quick.md with --quick)")
    args = ap.parse_args()
    mode = "quick" if args.quick else "full"
    out = Path(args.out) if args.out else (ROOT / "target" / "benchmarks-quick.md" if args.quick
                                           else ROOT / "docs" / "benchmarks.md")
    ctx = Ctx(mode, os.path.abspath(args.baton))
    started = time.monotonic()
    header = machine(ctx)
    benches = [
        ("1. Handoff latency", bench_handoff),
        ("2. Wrapper overhead", bench_overhead),
        ("3. Memory", bench_memory),
        ("4. Size", bench_size),
        ("5. Idle cost", bench_idle),
        ("6. Signal forwarding latency", bench_signal),
        ("7. Output capture throughput", bench_capture),
    ]
    sections, summary, broken = [], [], []
    for title, fn in benches:
        t0 = time.monotonic()
        print(f"bench: {title} ...", file=sys.stderr, flush=True)
        try:
            body, summ = fn(ctx)
            summary += summ
        except Exception as e:  # noqa: BLE001 - any failure of a benchmark is reported, not fatal
            traceback.print_exc()
            broken.append(title)
            message = " ".join(f"{type(e).__name__}: {e}".split()).replace("`", "'")
            body = f"**ERROR: this benchmark could not run**: `{message}`"
            summary.append((title, "ERROR", "", None))
        took = time.monotonic() - t0
        print(f"bench: {title}: {took:.1f} s", file=sys.stderr, flush=True)
        sections.append(f"## {title}\n\n{body}\n")
    header.append(("load average at end", " ".join(Path("/proc/loadavg").read_text().split()[:3])))
    header.append(("run", f"`scripts/bench{' --quick' if args.quick else ''}`, {time.monotonic() - started:.0f} s"))

    def result_cell(ok):
        return "met" if ok is True else ("**MISSED**" if ok is False else "—")

    missed = [s[0] for s in summary if s[3] is False]
    lines = [
        "# Benchmarks" + (" (quick run: small counts, figures not comparable)" if args.quick else ""),
        "",
        "Written by `scripts/bench`" + (" --quick" if args.quick else "")
        + "; how each figure is measured: [bench/README.md](../bench/README.md). "
        "Release build of the static binary (`scripts/build-static`). Median, minimum and maximum "
        "over repeated runs; peers measured in the same run. Why the missed targets are missed, "
        "what was cut and what is left: [docs/performance.md](performance.md).",
        "",
        md_table(["machine", ""], header),
        "",
        "## Targets",
        "",
        md_table(["benchmark", "baton", "target", "result"],
                 [[a, b, c, result_cell(d)] for a, b, c, d in summary]),
        "",
        ("**Missed**: " + "; ".join(missed) + "." if missed
         else ("No target measured is missed." if broken else "Every target measured is met."))
        + (" **Could not run**: " + "; ".join(broken) + "." if broken else ""),
        "",
    ] + sections
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    shutil.rmtree(ctx.tmp, ignore_errors=True)
    print(f"bench: report written to {out}", file=sys.stderr)
    if broken:
        print(f"bench: could not run: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

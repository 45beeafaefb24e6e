#!/usr/bin/env python3
"""Runs every benchmark side by side and writes the CSV into a results folder.

    run.py --build BENCH_DIR [--quick] [--out DIR] [--only FAMILY ...]

BENCH_DIR is the bench folder ./scripts/bench builds: hilo installed in BENCH_DIR/prefix, the
benchmark programs built against it in BENCH_DIR/programs. <out> is BENCH_DIR/bench-results
unless given; ./scripts/bench --publish gives benchmarks/results.

Each comparison runs its systems interleaved: repetition 1 of every system, then repetition 2 of
every system, and so on, so that a noisy neighbour hurts all of them alike. Every program prints
rows `benchmark,system,transport,size_bytes,ranks,repetition,value,unit`; they are collected per
family into <out>/<family>.csv. A run that fails or overruns its time limit is killed, reported
on stderr and in <out>/failures.txt, and the others go on.
"""
import argparse
import contextlib
import datetime
import fcntl
import os
import pathlib
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import time

HEADER = "benchmark,system,transport,size_bytes,ranks,repetition,value,unit"
HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent

# Open MPI's TCP BTL on loopback only (no traffic leaves the machine).
TCP_BTL = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "lo",
           "--mca", "oob_tcp_if_include", "lo"]
SHM_BTL = ["--mca", "btl", "vader,self"]


class Runner:
    def __init__(self, build, quick, out):
        self.build = pathlib.Path(build).resolve()
        self.quick = quick
        self.out = pathlib.Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.failures = []
        self.env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1")
        self.env.pop("HILO_BACKEND", None)  # the launcher decides the backend
        # Every system that wants a thread level or a transport setting names it in its own
        # command (mpirun -x, env VAR=...); the defaults are measured with none set.
        for variable in ("HILO_MPI_THREADS", "HILO_TCP_SHM", "HILO_TCP_SINGLE_COPY"):
            self.env.pop(variable, None)
        # The installed launcher and the programs built against the installed package: what a
        # user runs.
        self.hilorun_path = self.build / "prefix/bin/hilorun"
        self.programs = self.build / "programs"

    def mpirun(self, ranks, btl, thread_level="single"):
        # --bind-to none, here and for hilorun (whose default binds a job of 2 ranks to cores):
        # both kinds of launch compete alike.
        # mpi_yield_when_idle: on a machine with more runnable processes than cores, a rank that
        # busy-polls without yielding holds the core for a whole time slice while its peer
        # waits; measured here, 8 B latency went from ~10 ms to ~6 us with it. Every MPI-based
        # system (raw, Boost.MPI, hilo-mpi) gets the same setting.
        # HILO_MPI_THREADS=single: hilo-mpi asks MPI for the thread level the anchors get from a
        # plain MPI_Init (raw MPI, Boost.MPI). hilo's default, MPI_THREAD_MULTIPLE, makes Open MPI
        # lock inside every call; PERFORMANCE.md says what that costs. Other programs ignore it.
        # thread_level=None: hilo-mpi at its default, as a user runs it (the ping-pong family).
        threads = ["-x", f"HILO_MPI_THREADS={thread_level}"] if thread_level else []
        return (["mpirun", "-n", str(ranks), "--bind-to", "none", "--mca", "mpi_yield_when_idle",
                 "1"] + threads + btl)

    def hilorun(self, ranks):
        return [str(self.hilorun_path), "--bind-to", "none", "-n", str(ranks)]

    def execute(self, label, command, limit):
        """Runs one program; returns its CSV rows, or [] after recording the failure."""
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=self.env, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and every rank it started
            process.communicate()
            return self.fail(label, command, f"killed after {limit} s (time limit)")
        seconds = time.monotonic() - started
        if process.returncode != 0:
            # The program's own error line says what went wrong; mpirun's banner does not.
            own = [l for l in stderr.splitlines() if l.startswith(("bench_", "terminate"))]
            why = "; ".join(own) if own else stderr.strip()[-600:]
            return self.fail(label, command, f"exit status {process.returncode}: {why}")
        rows = [l for l in stdout.splitlines() if l.count(",") == 7 and l != HEADER]
        if not rows:
            return self.fail(label, command, "printed no CSV rows")
        print(f"  {label:<34} {len(rows):3d} rows  {seconds:6.1f} s", flush=True)
        return rows

    def fail(self, label, command, why):
        message = f"{label}: {why}\n    command: {shlex.join(command)}"
        print("  FAILED " + message, file=sys.stderr, flush=True)
        self.failures.append(message)
        return []

    def compare(self, family, systems, repetitions, limit, alternate=False):
        """systems: (label, command-with-{rep}-placeholder). Interleaved repetitions; with
        `alternate`, even repetitions run the systems in the reverse order, so that no system
        always runs right after the same neighbour."""
        print(f"== {family}: {len(systems)} systems x {repetitions} repetitions", flush=True)
        rows = []
        for rep in range(1, repetitions + 1):
            for label, command in (systems[::-1] if alternate and rep % 2 == 0 else systems):
                with tempfile.TemporaryDirectory(prefix="hilo-gloo-") as store:
                    concrete = [a.replace("{rep}", str(rep)).replace("{store}", store)
                                for a in command]
                    rows += self.execute(f"{label} #{rep}", concrete, limit)
        with open(self.out / f"{family}.csv", "w") as f:
            f.write(HEADER + "\n" + "".join(r + "\n" for r in rows))

    # ---- the comparisons

    def p2p(self):
        program = str(self.programs / "bench_p2p")
        sizes = ["--max-bytes", str(1 << 20 if self.quick else 64 << 20)]
        scale = ["--scale", "0.1" if self.quick else "1"]
        args = lambda system, transport: [program, "--system", system, "--transport", transport,
                                          "--repetition", "{rep}"] + sizes + scale
        systems = [
            ("mpi shm", self.mpirun(2, SHM_BTL) + args("mpi", "shm")),
            ("hilo-mpi shm", self.mpirun(2, SHM_BTL) + args("hilo", "shm")),
            ("boost-mpi shm", self.mpirun(2, SHM_BTL) + args("boost", "shm")),
            ("mpi tcp", self.mpirun(2, TCP_BTL) + args("mpi", "tcp")),
            ("hilo-mpi tcp", self.mpirun(2, TCP_BTL) + args("hilo", "tcp")),
            # hilorun's default: ranks of one host through the shared-memory rings (its own line
            # in the plots), and the same program on loopback sockets.
            ("hilo-tcp (shared memory)", self.hilorun(2) + args("hilo", "shm")),
            ("hilo-tcp HILO_TCP_SHM=off",
             ["env", "HILO_TCP_SHM=off"] + self.hilorun(2) + args("hilo", "tcp")),
            # The rings at every size, without the single copy of large messages: the default
            # is judged against it in windows as in the ping-pong.
            ("hilo-tcp HILO_TCP_SINGLE_COPY=off",
             ["env", "HILO_TCP_SINGLE_COPY=off"] + self.hilorun(2) + args(
                 "hilo", "shm-no-single-copy")),
            # No library: one loopback TCP connection, the ceiling every TCP transport works under.
            ("sockets tcp", self.mpirun(2, SHM_BTL) + args("sockets", "tcp")),
            ("hilo-local", args("hilo-local", "threads")),
        ]
        self.compare("p2p", systems, 2 if self.quick else 5, 300)
        # hilo-mpi and raw MPI interleaved in one process: the ratio that judges hilo-mpi.
        paired = [("hilo-mpi+mpi shm", self.mpirun(2, SHM_BTL) + args("hilo+mpi", "shm")),
                  ("hilo-mpi+mpi tcp", self.mpirun(2, TCP_BTL) + args("hilo+mpi", "tcp"))]
        # Four processes of two measurements each: 8 ratios per size for the median.
        self.compare("p2p-paired", paired, 1 if self.quick else 4, 300)

    def allreduce(self):
        program = str(self.programs / "bench_allreduce")
        sizes = ["--max-bytes", str(1 << 20 if self.quick else 16 << 20)]
        scale = ["--scale", "0.1" if self.quick else "1"]
        systems = []
        for ranks in (2, 4):
            args = lambda system, transport: [program, "--system", system, "--transport",
                                              transport, "--repetition", "{rep}", "--ranks",
                                              str(ranks)] + sizes + scale
            systems += [
                (f"mpi shm p={ranks}", self.mpirun(ranks, SHM_BTL) + args("mpi", "shm")),
                (f"hilo-mpi shm p={ranks}", self.mpirun(ranks, SHM_BTL) + args("hilo", "shm")),
                (f"mpi tcp p={ranks}", self.mpirun(ranks, TCP_BTL) + args("mpi", "tcp")),
                (f"hilo-tcp p={ranks}", self.hilorun(ranks) + args("hilo", "tcp")),
                (f"gloo-ring p={ranks}", self.mpirun(ranks, SHM_BTL) + args("gloo-ring", "tcp")
                 + ["--store", "{store}"]),
                (f"gloo-hd p={ranks}", self.mpirun(ranks, SHM_BTL) + args("gloo-hd", "tcp")
                 + ["--store", "{store}"]),
                (f"hilo-local p={ranks}", args("hilo-local", "threads")),
            ]
        self.compare("allreduce", systems, 2 if self.quick else 5, 300)
        paired = []
        for ranks in (2, 4):
            paired.append((f"hilo-mpi+mpi shm p={ranks}", self.mpirun(ranks, SHM_BTL) + [
                program, "--system", "hilo+mpi", "--transport", "shm", "--repetition", "{rep}",
                "--ranks", str(ranks)] + sizes + scale))
        # Five processes: with 4 ranks on 2 cores one measurement of a large all-reduce varies by
        # +-10%, so 10 ratios per size for the median.
        self.compare("allreduce-paired", paired, 1 if self.quick else 5, 300)

    def pingpong(self):
        """One message in flight (OSU's osu_latency loop), 8 B to 64 MiB, for every system of the
        p2p family, hilo's at their defaults as users run them, and hilorun's same-host paths
        one by one: the shared-memory rings (default), the sockets (HILO_TCP_SHM=off), and the
        rings without single copy (HILO_TCP_SINGLE_COPY=off)."""
        program = str(self.programs / "bench_p2p")
        sizes = ["--max-bytes", str(1 << 20 if self.quick else 64 << 20)]
        scale = ["--scale", "0.1" if self.quick else "1"]
        args = lambda system, transport: [program, "--system", system, "--transport", transport,
                                          "--pattern", "pingpong", "--repetition", "{rep}"] + (
                                              sizes + scale)
        systems = [
            ("mpi shm", self.mpirun(2, SHM_BTL) + args("mpi", "shm")),
            ("hilo-mpi shm (default threads)",
             self.mpirun(2, SHM_BTL, thread_level=None) + args("hilo", "shm")),
            ("boost-mpi shm", self.mpirun(2, SHM_BTL) + args("boost", "shm")),
            ("mpi tcp", self.mpirun(2, TCP_BTL) + args("mpi", "tcp")),
            ("hilo-tcp (shared memory)", self.hilorun(2) + args("hilo", "shm")),
            ("hilo-tcp HILO_TCP_SHM=off",
             ["env", "HILO_TCP_SHM=off"] + self.hilorun(2) + args("hilo", "tcp")),
            ("hilo-tcp HILO_TCP_SINGLE_COPY=off",
             ["env", "HILO_TCP_SINGLE_COPY=off"] + self.hilorun(2) + args(
                 "hilo", "shm-no-single-copy")),
            ("sockets tcp", self.mpirun(2, SHM_BTL) + args("sockets", "tcp")),
            ("hilo-local", args("hilo-local", "threads")),
        ]
        self.compare("pingpong", systems, 2 if self.quick else 3, 300, alternate=True)

    def collective(self, pattern, gloo):
        """One of bench_collectives' patterns at p = 2 and 4: hilo on every backend beside the raw
        MPI call over vader and over the TCP BTL (and Gloo's), then hilo-mpi paired with it."""
        program = str(self.programs / "bench_collectives")
        sizes = ["--max-bytes", str(1 << 20)]  # per pair; quick runs keep every size
        scale = ["--scale", "0.1" if self.quick else "1"]
        systems, paired = [], []
        for ranks in (2, 4):
            args = lambda system, transport: [program, "--system", system, "--pattern", pattern,
                                              "--transport", transport, "--repetition", "{rep}",
                                              "--ranks", str(ranks)] + sizes + scale
            systems += [
                (f"mpi shm p={ranks}", self.mpirun(ranks, SHM_BTL) + args("mpi", "shm")),
                (f"hilo-mpi shm p={ranks}", self.mpirun(ranks, SHM_BTL) + args("hilo", "shm")),
                (f"mpi tcp p={ranks}", self.mpirun(ranks, TCP_BTL) + args("mpi", "tcp")),
                (f"hilo-tcp p={ranks}", self.hilorun(ranks) + args("hilo", "tcp")),
                (f"hilo-local p={ranks}", args("hilo-local", "threads")),
            ]
            if gloo:
                systems.append((f"gloo p={ranks}", self.mpirun(ranks, SHM_BTL) + args(
                    "gloo", "tcp") + ["--store", "{store}"]))
            paired.append((f"hilo-mpi+mpi shm p={ranks}",
                           self.mpirun(ranks, SHM_BTL) + args("hilo+mpi", "shm")))
        self.compare(pattern, systems, 2 if self.quick else 3, 300)
        # Two processes of two measurements each: 4 ratios per size and p for the median.
        self.compare(f"{pattern}-paired", paired, 1 if self.quick else 2, 300)

    def alltoall(self):
        self.collective("alltoall", gloo=True)

    def scan(self):
        self.collective("scan", gloo=False)

    def hostsapart(self):
        """Ranks on two hosts of the netns test bed (scripts/netns-hosts: network namespaces joined
        by veth): ping-pong with one rank per host, all-reduce with one and two per host, for
        hilo-tcp, Open MPI's TCP BTL and Gloo. Needs root; skipped with a line saying so
        otherwise."""
        if os.geteuid() != 0:
            print("== hostsapart: skipped: the netns test bed needs root (network namespaces)",
                  flush=True)
            return
        with netns_hosts(2) as hosts:
            if hosts is None:
                return
            run_inside = [str(NETNS_HOSTS), "exec", hosts[0]]
            agent = str(ROOT / "scripts/netns-agent")
            scale = ["--scale", "0.1" if self.quick else "1"]
            systems = []
            with tempfile.TemporaryDirectory(prefix="hilo-bench-hosts-") as folder:
                for per_host in (1, 2):
                    hostfile = pathlib.Path(folder) / f"hostfile{per_host}"
                    hostfile.write_text("".join(f"{h} slots={per_host}\n" for h in hosts))
                    ranks = 2 * per_host
                    mpirun = run_inside + self.mpirun(ranks, [
                        "--hostfile", str(hostfile), "--mca", "plm_rsh_agent", agent,
                        "--mca", "btl", "tcp,self"])
                    # Gloo's ranks run under the same mpirun: they only read their rank from it.
                    gloo = mpirun
                    hilorun = run_inside + [str(self.hilorun_path), "--hostfile", str(hostfile),
                                            "--launch-agent", agent, "--bind-to", "none",
                                            "-n", str(ranks)]
                    if per_host == 1:
                        p2p = [str(self.programs / "bench_p2p"), "--pattern", "pingpong",
                               "--transport", "veth", "--repetition", "{rep}", "--max-bytes",
                               str(1 << 20 if self.quick else 64 << 20)] + scale
                        systems += [
                            ("pingpong hilo-tcp", hilorun + p2p + ["--system", "hilo"]),
                            ("pingpong mpi tcp", mpirun + p2p + ["--system", "mpi"]),
                            ("pingpong gloo", gloo + p2p + [
                                "--system", "gloo", "--store", "{store}", "--gloo-address",
                                "hostname"]),
                        ]
                    allreduce = [str(self.programs / "bench_allreduce"), "--transport", "veth",
                                 "--repetition", "{rep}", "--max-bytes",
                                 str(1 << 20 if self.quick else 16 << 20)] + scale
                    systems += [
                        (f"allreduce hilo-tcp p={ranks}",
                         hilorun + allreduce + ["--system", "hilo"]),
                        (f"allreduce mpi tcp p={ranks}", mpirun + allreduce + ["--system", "mpi"]),
                    ] + [(f"allreduce {g} p={ranks}", gloo + allreduce + [
                        "--system", g, "--store", "{store}", "--gloo-address", "hostname"])
                         for g in ("gloo-ring", "gloo-hd")]
                self.compare("hostsapart", systems, 2 if self.quick else 3, 300)

    def userbuild(self):
        """One user program's all-reduce over hilo-tcp, built -O0 and Release (the same source),
        with a built-in operation and with a lambda: what the program's flags cost."""
        sizes = ["--min-bytes", str(1 << 20), "--max-bytes", str(16 << 20),
                 "--scale", "0.1" if self.quick else "1"]
        systems = []
        for ranks in ((2,) if self.quick else (2, 4)):
            for op in ("plus", "lambda"):
                for build, program in (("-O0", "bench_allreduce_user_o0"),
                                       ("Release", "bench_allreduce_user")):
                    systems.append((f"{op} {build} p={ranks}", self.hilorun(ranks) + [
                        str(self.programs / program), "--system", op, "--transport", "tcp",
                        "--repetition", "{rep}"] + sizes))
        self.compare("userbuild", systems, 2 if self.quick else 6, 300, alternate=True)

    def serialized(self):
        program = str(self.programs / "bench_serialized")
        # 10^6 records of 32 payload bytes; quick stops at 10^4.
        limit = ["--max-bytes", str(32 * (10**4 if self.quick else 10**6)),
                 "--scale", "0.1" if self.quick else "1"]
        args = lambda system: [program, "--system", system, "--transport", "shm",
                               "--repetition", "{rep}"] + limit
        systems = [("hilo-mpi", self.mpirun(2, SHM_BTL) + args("hilo")),
                   ("boost-mpi", self.mpirun(2, SHM_BTL) + args("boost"))]
        self.compare("serialized", systems, 2 if self.quick else 5, 300)
        paired = [("hilo-mpi+boost-mpi", self.mpirun(2, SHM_BTL) + args("hilo+boost"))]
        self.compare("serialized-paired", paired, 1 if self.quick else 3, 300)

    def sync(self):
        program = str(self.programs / "bench_sync")
        min_time = "0.02" if self.quick else "0.2"
        systems = [("sync", [program, f"--benchmark_min_time={min_time}", "--repetition", "{rep}"])]
        # An even count: the pairs run hilo first in odd repetitions, the anchor first in even.
        self.compare("sync", systems, 2 if self.quick else 4, 300)

    def seed(self):
        """The seed's Pool.map program (python3, as is) vs pool_sum: whole-process wall time."""
        print(f"== seed: python Pool.map vs pool_sum", flush=True)
        programs = [("python-pool", [sys.executable, str(HERE / "seed/pool_map.py")]),
                    ("hilo-pool_sum", [str(self.programs / "pool_sum")])]
        rows, outputs = [], {}
        for rep in range(1, (3 if self.quick else 7) + 1):
            for system, command in programs:
                started = time.monotonic()
                done = subprocess.run(command, capture_output=True, text=True, timeout=120)
                ms = (time.monotonic() - started) * 1e3
                if done.returncode != 0:
                    self.fail(system, command, f"exit status {done.returncode}: {done.stderr}")
                    continue
                outputs.setdefault(system, set()).add(done.stdout.strip())
                rows.append(f"seed_pool_map,{system},process,0,4,{rep},{ms:.3f},ms")
        printed = set().union(*outputs.values()) if outputs else set()
        if len(printed) != 1:
            self.fail("seed", [], f"the two programs printed different lists: {printed}")
        print(f"  both printed {printed}", flush=True)
        with open(self.out / "seed.csv", "w") as f:
            f.write(HEADER + "\n" + "".join(r + "\n" for r in rows))


NETNS_HOSTS = ROOT / "scripts/netns-hosts"


@contextlib.contextmanager
def netns_hosts(count):
    """The netns test bed with `count` hosts, up for the block and down after it; yields their
    names, or None (after saying why) where network namespaces cannot be made. The integration
    tests use the same namespaces, so the bed is taken under their lock (bounded wait)."""
    lock_path = os.environ.get("HILO_CLUSTER_LOCK", "/tmp/hilo-cluster.lock")
    with open(lock_path, "a") as lock:
        deadline = time.monotonic() + 300
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    print(f"== hostsapart: skipped: {lock_path} (the test bed's lock) stayed "
                          "taken for 5 minutes", flush=True)
                    yield None
                    return
                time.sleep(2)
        up = subprocess.run([str(NETNS_HOSTS), "up", str(count)], capture_output=True, text=True)
        try:
            if up.returncode != 0:
                why = (up.stderr or up.stdout).strip().splitlines()
                print(f"== hostsapart: skipped: scripts/netns-hosts up {count} failed "
                      f"(status {up.returncode}): {why[-1] if why else ''}", flush=True)
                yield None
                return
            state = pathlib.Path(os.environ.get("HILO_NETNS_DIR", "/tmp/hilo-netns"))
            yield [line.split()[0] for line in (state / "hosts").read_text().splitlines()]
        finally:
            subprocess.run([str(NETNS_HOSTS), "down"], capture_output=True)


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", required=True,
                        help="the bench folder ./scripts/bench built (prefix/, programs/)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repetitions")
    parser.add_argument("--out", help="results folder (default: BUILD/bench-results)")
    parser.add_argument("--only", nargs="*", help="families to run (default: all)")
    options = parser.parse_args()
    out = options.out or str(pathlib.Path(options.build) / "bench-results")
    runner = Runner(options.build, options.quick, out)
    load_before = open("/proc/loadavg").read().split()[0]
    started = time.monotonic()
    families = ["p2p", "pingpong", "allreduce", "alltoall", "scan", "hostsapart", "userbuild",
                "serialized", "sync", "seed"]
    unknown = [f for f in options.only or [] if f not in families]
    if unknown:
        parser.error(f"no family {', '.join(unknown)}; the families: {', '.join(families)}")
    for family in options.only or families:
        getattr(runner, family)()
    elapsed = time.monotonic() - started
    with open(runner.out / "failures.txt", "w") as f:
        f.write("".join(m + "\n" for m in runner.failures))
    # The machine is recorded with the run, so that a report redrawn later or elsewhere
    # (./scripts/bench --report) still names the machine the numbers come from.
    finished = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(runner.out / "run-info.txt", "w") as f:
        f.write(f"mode={'quick' if options.quick else 'full'}\nseconds={elapsed:.0f}\n"
                f"load_before={load_before}\n"
                f"load_after={open('/proc/loadavg').read().split()[0]}\n"
                f"finished={finished}\ncpu={cpu_model()}\nnproc={os.cpu_count()}\n"
                f"kernel={platform.release()}\n")
    print(f"benchmarks done in {elapsed:.0f} s, {len(runner.failures)} failures", flush=True)
    return 1 if runner.failures else 0


if __name__ == "__main__":
    sys.exit(main())

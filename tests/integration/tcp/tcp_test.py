#!/usr/bin/env python3
"""Integration tests of the TCP backend: one case per ctest test (integration.tcp.<case>).

Usage: tcp_test.py --hilorun PATH --probe PATH [--mpirun PATH] CASE

Each case starts real processes (through hilorun, or with srun's variables) running tcp_probe,
the rank program in this folder. Every process runs under a time limit and is killed at the end,
so a hang is a failure, never a stuck ctest.
"""
import argparse
import os
import re
import resource
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

LIMIT = 60  # seconds any single job may take


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def is_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Job:
    """A running hilorun whose output is collected line by line as it comes."""

    def __init__(self, command, env_extra=None, max_fds=None):
        env = dict(os.environ)
        env.update(env_extra or {})
        print("$ " + (f"(ulimit -n {max_fds}) " if max_fds else "") + " ".join(command), flush=True)

        def limit_fds():  # in the child only: hilorun and its ranks
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, start_new_session=True,
                                        preexec_fn=limit_fds if max_fds else None)
        self.stdout, self.stderr = [], []
        self.changed = threading.Condition()
        self.readers = [threading.Thread(target=self._collect, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.process.stdout, self.stdout),
                                              (self.process.stderr, self.stderr))]
        for reader in self.readers:
            reader.start()

    def _collect(self, stream, lines):
        for line in stream:
            with self.changed:
                lines.append(line.rstrip("\n"))
                self.changed.notify_all()

    def wait_for(self, pattern, count, limit=30):
        """The first `count` stdout lines matching `pattern`, waiting up to `limit` seconds."""
        deadline = time.monotonic() + limit
        with self.changed:
            while True:
                found = [m for m in (re.search(pattern, l) for l in self.stdout) if m]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None and len(found) < count and \
                        not self.changed.wait(0.5):
                    self.show()
                    raise Failure(f"{count} lines matching {pattern!r} did not come in {limit} s")
                self.changed.wait(min(left, 0.5))

    def finish(self, limit=LIMIT):
        try:
            code = self.process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            self.kill()
            self.show()
            raise Failure(f"the job did not end within {limit} s (a hang)")
        for reader in self.readers:
            reader.join(5)
        self.seconds = time.monotonic() - self.started
        self.show()
        return code

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def show(self):
        with self.changed:
            print("--- stdout\n" + "\n".join(self.stdout) + "\n--- stderr\n" +
                  "\n".join(self.stderr) + "\n---", flush=True)


class Harness:
    def __init__(self, hilorun, probe, workdir, mpirun=None):
        self.hilorun, self.probe, self.workdir, self.mpirun = hilorun, probe, workdir, mpirun
        self.jobs = []

    def start(self, ranks, args, env_extra=None, hilorun_flags=(), max_fds=None):
        env = {"HILO_TIMEOUT": "20"}
        env.update(env_extra or {})
        job = Job([self.hilorun, "-n", str(ranks), *hilorun_flags, self.probe, *args], env,
                  max_fds)
        self.jobs.append(job)
        return job

    def cleanup(self):
        for job in self.jobs:
            if job.process.poll() is None:
                job.kill()


def pids_of(job, count, word="ready"):
    return {int(m.group(1)): int(m.group(2))
            for m in job.wait_for(rf"^rank (\d+) pid (\d+) {word}$", count)}


def check_survivors_report_peer_lost(job, survivors, killed_at, lost_rank, operation):
    code = job.finish()
    lines = [l for l in job.stdout if l.startswith("PeerLost(")]
    check(len(lines) == survivors,
          f"expected {survivors} survivors to report PeerLost, saw {len(lines)}")
    check(any(f"rank {lost_rank}" in l for l in lines), f"no PeerLost names rank {lost_rank}")
    for line in lines:
        check("host localhost" in line, f"a PeerLost line does not name the host: {line}")
        # The message starts with the call that failed and the rank it failed on.
        check(re.match(rf"^PeerLost\(rank \d+, host [^)]*\): hilo: {operation} on rank \d+: ",
                       line), f"a PeerLost message does not start 'hilo: {operation} on rank R: ': "
                              f"{line}")
    # hilorun names the killed rank even when survivors that ended with PeerLost were reaped
    # first: their reports say whom they lost.
    check(code == 128 + 9, f"hilorun must exit with the killed rank's status 137, not {code}")
    check(any(f"rank {lost_rank} on host localhost killed by signal 9" in l for l in job.stderr),
          f"hilorun did not name rank {lost_rank}, the killed one")
    elapsed = time.monotonic() - killed_at
    check(elapsed < 15, f"the job took {elapsed:.1f} s to end after the kill")
    print(f"all {survivors} survivors reported PeerLost; job ended {elapsed:.2f} s after the kill")


def case_kill_during_recv(h):
    job = h.start(4, ["blocked_recv"])
    pids = pids_of(job, 4)
    job.wait_for(r"^rank \d+ waiting$", 3)
    time.sleep(0.2)  # they are inside recv() now
    killed_at = time.monotonic()
    os.kill(pids[3], signal.SIGKILL)
    check_survivors_report_peer_lost(job, 3, killed_at, 3, "recv")
    check(not any(is_alive(p) for p in pids.values()), "a rank survived the job")


def case_kill_during_allreduce(h):
    job = h.start(4, ["allreduce_loop"])
    pids = pids_of(job, 4)
    job.wait_for(r"^rank \d+ reducing$", 4)
    killed_at = time.monotonic()
    os.kill(pids[2], signal.SIGKILL)
    check_survivors_report_peer_lost(job, 3, killed_at, 2, "all_reduce")
    check(not any(is_alive(p) for p in pids.values()), "a rank survived the job")


def case_kill_during_alltoall(h):
    job = h.start(4, ["alltoall_loop"])
    pids = pids_of(job, 4)
    job.wait_for(r"^rank \d+ exchanging$", 4)
    killed_at = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    # The probe loops over all_to_all, all_to_all_v and iall_to_all.
    check_survivors_report_peer_lost(job, 3, killed_at, 1, "i?all_to_all(?:_v)?")
    check(not any(is_alive(p) for p in pids.values()), "a rank survived the job")


def case_stalled_peer(h):
    # A rank that is alive but silent (SIGSTOP): TCP sees nothing wrong, so the waiting ranks
    # must get hilo::Timeout naming it when HILO_TIMEOUT passes, not hang like Open MPI does.
    job = h.start(3, ["blocked_recv"], {"HILO_TIMEOUT": "2"})
    pids = pids_of(job, 3)
    job.wait_for(r"^rank \d+ waiting$", 2)
    os.kill(pids[2], signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        # The first rank to time out aborts, and tells the other why (PeerLost naming it), so
        # the second may report that instead of its own Timeout.
        lines = [m.group(0) for m in job.wait_for(r"^(Timeout|PeerLost).*", 2, limit=20)]
    finally:
        try:
            os.kill(pids[2], signal.SIGCONT)
        except ProcessLookupError:
            pass  # hilorun has already killed it
    code = job.finish()
    elapsed = time.monotonic() - stopped_at
    timeouts = [l for l in lines if l.startswith("Timeout")]
    check(timeouts, "no rank reported a Timeout")
    for line in timeouts:
        check("rank 2 (host localhost" in line, f"the Timeout does not name rank 2 and its host: {line}")
    check(code != 0, "hilorun exited 0 although ranks timed out")
    check(elapsed < 15, f"the job took {elapsed:.1f} s to end after the stall")


def stalled_large_send(h, single_copy):
    # A 32 MiB send (more than loopback's socket buffers hold) to a rank that is stopped
    # (SIGSTOP) before it can take it: the sender gets a Timeout naming the peer; the message
    # stays ready in a copy of the sender's own, since the caller's buffer is overwritten right
    # after; once the peer resumes it gets the message intact. By single copy (on, and the ranks
    # on sockets: HILO_TCP_SHM=off, since ranks that share a shared-memory ring never use it) the
    # message was only announced (ready-to-send); otherwise part of it is in the socket or ring.
    go = os.path.join(h.workdir, "go")
    job = h.start(2, ["stalled_large_send", go, "32"], {"HILO_TCP_SINGLE_COPY": single_copy})
    pids = pids_of(job, 2)
    os.kill(pids[1], signal.SIGSTOP)
    try:
        open(go, "w").close()
        timed_out = job.wait_for(r"^send timed out: .*", 1, limit=20)[0].group(0)
    finally:
        os.kill(pids[1], signal.SIGCONT)
    code = job.finish()
    check("rank 1 (host localhost" in timed_out, f"the Timeout does not name rank 1: {timed_out}")
    by_single_copy = single_copy == "on" and os.environ.get("HILO_TCP_SHM") == "off"
    expected = "it was announced" if by_single_copy else "the rest stays queued"
    check(expected in timed_out, f"the Timeout does not say '{expected}': {timed_out}")
    check("rank 1 got the message intact" in job.stdout, "rank 1 did not get the message intact")
    check(code == 0, f"the job failed (exit {code})")


def case_stalled_large_send_single_copy(h):
    stalled_large_send(h, "on")


def case_stalled_large_send_socket(h):
    stalled_large_send(h, "off")


def case_single_rank_tcp(h):
    # HILO_BACKEND=tcp with no launcher at all: one rank, no sockets.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HILO_", "OMPI_", "PMIX_", "SLURM_"))}
    env["HILO_BACKEND"] = "tcp"
    done = subprocess.run([h.probe, "collectives"], env=env, capture_output=True, text=True,
                          timeout=LIMIT)
    print(done.stdout + done.stderr)
    check(done.returncode == 0, f"a single tcp rank failed (exit {done.returncode})")
    check("collectives ok: sum 0 over 1 ranks" in done.stdout, "wrong or missing result")


def check_backend_refused(job, backend, launcher, variable):
    """The job of 2 ranks with HILO_BACKEND=`backend` under `launcher` failed with the error that
    names both, instead of running two one-rank jobs."""
    code = job.finish()
    expected = (f"Error: hilo: HILO_BACKEND={backend} does not work under {launcher} "
                f"({variable} is set)")
    refused = [l for l in job.stdout if l.startswith(expected)]
    # The launcher stops the other rank once one fails, maybe before it printed the error.
    check(len(refused) >= 1, f"no rank reported {expected!r}")
    check(all("leave HILO_BACKEND unset" in l for l in refused), "the error does not say what to do")
    check(not any("collectives ok" in l for l in job.stdout), "a rank ran as a one-rank job")
    check(code == 5, f"the launcher must exit with the ranks' status 5 (hilo::Error), not {code}")


def case_backend_contradicts_hilorun(h):
    # hilorun starts tcp ranks: the mpi and local backends would make each a one-rank job.
    for backend in ("mpi", "local"):
        job = h.start(2, ["collectives"], {"HILO_BACKEND": backend})
        check_backend_refused(job, backend, "hilorun", "HILO_LAUNCHER")
        check(any(re.search(r"hilorun: rank \d on host localhost exited with status 5", l)
                  for l in job.stderr), "hilorun did not name the failed rank")


def case_backend_contradicts_mpirun(h):
    # mpirun sets no variable the tcp backend could rendezvous with; local is one rank each.
    check(h.mpirun is not None, "this case needs --mpirun")
    for backend in ("tcp", "local"):
        job = Job([h.mpirun, "--oversubscribe", "-n", "2", h.probe, "collectives"],
                  {"HILO_BACKEND": backend, "HILO_TIMEOUT": "20"})
        h.jobs.append(job)
        check_backend_refused(job, backend, "mpirun", "OMPI_COMM_WORLD_SIZE")


def case_kill_during_rendezvous(h):
    # Rank 1 sleeps 4 s before starting its runtime; ranks 0 and 2 register and wait for the
    # table; rank 2 is killed meanwhile. Rank 0 must hear of it (PeerLost), not hang.
    job = h.start(3, ["slow_start", "1", "4"])
    pids = pids_of(job, 3, "starting")
    time.sleep(1.0)  # ranks 0 and 2 have registered by now
    killed_at = time.monotonic()
    os.kill(pids[2], signal.SIGKILL)
    code = job.finish()
    lines = [l for l in job.stdout if l.startswith("PeerLost(")]
    check(any("rank 2" in l for l in lines), "rank 0 did not report rank 2 lost during rendezvous")
    check(code != 0, "hilorun exited 0 although a rank was killed")
    check(time.monotonic() - killed_at < 15, "the job did not end promptly after the kill")
    check(not any(is_alive(p) for p in pids.values()), "a rank survived the job")


def listening_port_of(pid):
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if f"pid={pid}," in line:
            return int(line.split()[3].rsplit(":", 1)[1])
    raise Failure(f"no listening socket found for pid {pid}:\n{out}")


def closed_without_answer(port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        s.settimeout(5)
        try:
            return s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def case_bad_input(h):
    go = os.path.join(h.workdir, "go")
    job = h.start(3, ["wait_then_reduce", go])
    pids = pids_of(job, 3)
    port = listening_port_of(pids[1])
    version = 2  # protocol_version in runtime/src/backends/tcp/frame.hpp: only the token is wrong
    wrong_token = struct.pack("<IHH", 0x484c4853, version, 64) + b"x" * 64 + struct.pack("<ii", 0, 3)
    absurd_frame = struct.pack("<IHBBIiiIQQ", 0x484c464d, version, 0, 0, 1, 0, 1, 0, 0, 1 << 62)
    for name, payload in (("garbage", b"GET / HTTP/1.1\r\nHost: rank\r\n\r\n"),
                          ("a wrong token", wrong_token),
                          ("a frame header with a 2^62 length", absurd_frame)):
        check(closed_without_answer(port, payload), f"rank 1 did not close a connection sending {name}")
        print(f"rank 1 closed the connection that sent {name}")
    open(go, "w").close()
    code = job.finish()
    check(code == 0, f"the job failed after the bad clients (exit {code})")
    check("collectives ok: sum 3 over 3 ranks" in job.stdout, "the job's result is missing or wrong")
    refusals = [l for l in job.stderr if "refused a connection from 127.0.0.1" in l]
    check(len(refusals) == 1, f"expected one logged refusal (once per address), saw {len(refusals)}")


def listening_port_when_up(pid, limit=10):
    """The port of `pid`'s listener, waiting up to `limit` seconds for it to be opened."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return listening_port_of(pid)
        except Failure:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def case_strangers_during_setup(h):
    # Idle connections that never send a byte, 4x the fds a rank may open (ulimit -n 100),
    # queued at rank 2's listener before connection setup starts (rank 0 starts its runtime
    # 2 s late, so ranks 1 and 2 wait in the rendezvous with their listeners up). Setup must
    # cap and age them so that ranks 0 and 1 still get through, and must answer none of them.
    max_fds, strangers = 100, 400
    job = h.start(3, ["slow_start", "0", "2"], {"HILO_TIMEOUT": "15"}, max_fds=max_fds)
    pids = pids_of(job, 3, "starting")
    port = listening_port_when_up(pids[2])
    idle = []
    try:
        for _ in range(strangers):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        connected_at = time.monotonic()
        print(f"{strangers} idle connections open to rank 2's listener (port {port})", flush=True)
        code = job.finish()
        took = time.monotonic() - connected_at
        answered = 0
        for s in idle:
            s.setblocking(False)
            try:
                answered += len(s.recv(1)) > 0
            except (BlockingIOError, ConnectionResetError):
                pass
    finally:
        for s in idle:
            s.close()
    check(code == 0, f"the job failed with {strangers} idle connections at a listener (exit {code})")
    ready = [l for l in job.stdout if re.match(r"^rank \d+ pid \d+ ready$", l)]
    check(len(ready) == 3, f"{len(ready)} of 3 ranks came up")
    check(answered == 0, f"{answered} of the idle connections got an answer")
    refusals = [l for l in job.stderr if "refused a connection from 127.0.0.1" in l]
    check(len(refusals) == 1, f"expected one logged refusal (once per address), saw {len(refusals)}")
    # How long is for the reader, not an assertion: rank 0 slept 2 s of it on purpose.
    print(f"the job started and ended {took:.1f} s after the idle connections were open; "
          f"none of them was answered")


def case_soak(h):
    job = h.start(4, ["soak", "100000", "7"], {"HILO_TIMEOUT": "60"})
    code = job.finish(limit=110)
    check(code == 0, f"soak failed (exit {code})")
    check(any(re.match(r"^soak: 100008 messages checked$", l) for l in job.stdout),
          "soak did not report 100008 checked messages")
    print(f"soak took {job.seconds:.1f} s")


def hilo_segments_mapped(pid):
    """The hilo shared-memory segments `pid` has mapped: {name: (still linked?, mode, owner)}."""
    found = {}
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            fields = line.split(maxsplit=5)
            if len(fields) < 6 or not fields[5].startswith("/dev/shm/hilo-"):
                continue
            path = fields[5].strip()
            name = path.split()[0][len("/dev/shm/"):]
            status = os.stat(f"/proc/{pid}/map_files/{fields[0]}")
            found[name] = (not path.endswith("(deleted)"), status.st_mode & 0o777, status.st_uid)
    return found


def case_shm_private(h):
    # HILO_TCP_SHM=on: each pair of ranks on this host maps a segment of its own, readable by this
    # user only, whose name is gone from /dev/shm once the ranks are up (so a kill -9 leaves
    # nothing behind), and a killed rank is still PeerLost for the others.
    job = h.start(3, ["blocked_recv"], {"HILO_TCP_SHM": "on"})
    pids = pids_of(job, 3)
    job.wait_for(r"^rank \d+ waiting$", 2)
    names = set()
    for rank, pid in sorted(pids.items()):
        segments = hilo_segments_mapped(pid)
        check(len(segments) == 2, f"rank {rank} maps {len(segments)} hilo segments, not one per peer "
              f"(2): {sorted(segments)}")
        for name, (linked, mode, owner) in segments.items():
            check(not linked, f"rank {rank}: segment {name} is still linked in /dev/shm")
            check(mode == 0o600, f"rank {rank}: segment {name} has mode {mode:o}, not 600")
            check(owner == os.getuid(), f"rank {rank}: segment {name} belongs to uid {owner}")
        names.update(segments)
    check(len(names) == 3, f"3 ranks should share 3 pair segments, saw {sorted(names)}")
    killed_at = time.monotonic()
    os.kill(pids[2], signal.SIGKILL)
    check_survivors_report_peer_lost(job, 2, killed_at, 2, "recv")
    left = [n for n in names if os.path.exists("/dev/shm/" + n)]
    check(not left, f"segments left in /dev/shm after the job: {left}")
    print(f"segments {sorted(names)}: mode 600, unlinked while the job ran, none left after kill -9")


def case_scale(h):
    job = h.start(64, ["collectives"], {"HILO_TIMEOUT": "60"}, ["--oversubscribe"])
    code = job.finish(limit=110)
    check(code == 0, f"64 ranks failed (exit {code})")
    check("collectives ok: sum 2016 over 64 ranks" in job.stdout, "wrong or missing result")
    print(f"64 ranks started, reduced and exited in {job.seconds:.1f} s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def case_srun_mode(h):
    # What srun gives each task, without hilorun: rank 0 runs the rendezvous on HILO_PORT.
    ranks, port = 3, free_port()
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("HILO_", "OMPI_", "PMIX_", "SLURM_"))}
    base.update({"SLURM_NTASKS": str(ranks), "SLURM_JOB_NODELIST": "localhost",
                 "SLURM_JOB_ID": "42", "SLURM_STEP_ID": "0", "HILO_PORT": str(port),
                 "HILO_JOB_TOKEN": secrets.token_hex(32), "HILO_TIMEOUT": "20"})
    processes = []
    try:
        for r in range(ranks):
            env = dict(base, SLURM_PROCID=str(r), SLURM_LOCALID=str(r))
            processes.append(subprocess.Popen([h.probe, "collectives"], env=env,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True))
        results = [p.communicate(timeout=LIMIT) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for r, (out, err) in enumerate(results):
        print(f"--- rank {r} (exit {processes[r].returncode})\n{out}{err}")
        check(processes[r].returncode == 0, f"rank {r} failed")
    check("collectives ok: sum 3 over 3 ranks" in results[0][0], "rank 0 did not report the result")


def derived_slurm_port(job_id, step_id):
    """The rule of runtime/src/backends/tcp/slurm_port.hpp, restated as the test's oracle."""
    return 20000 + (job_id * 16 + step_id) % 12768


def case_srun_derived_port(h):
    # Without HILO_PORT, rank 0 serves the rendezvous on the port derived from the job and step
    # ids. The test holds that port itself, so rank 0's error names the port it tried.
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("HILO_", "OMPI_", "PMIX_", "SLURM_"))}
    for job_id in range(700000 + os.getpid() % 1000, 700000 + os.getpid() % 1000 + 50):
        port = derived_slurm_port(job_id, 3)
        holder = socket.socket()
        try:
            holder.bind(("127.0.0.1", port))
            break
        except OSError:
            holder.close()
    else:
        raise Failure("no derived port was free to hold")
    with holder:
        holder.listen(1)
        env = dict(base, SLURM_PROCID="0", SLURM_NTASKS="2", SLURM_JOB_NODELIST="localhost",
                   SLURM_JOB_ID=str(job_id), SLURM_STEP_ID="3", HILO_TIMEOUT="5")
        done = subprocess.run([h.probe, "collectives"], env=env, capture_output=True, text=True,
                              timeout=LIMIT)
    print(f"job {job_id} step 3 -> port {port}; rank 0 exit {done.returncode}\n"
          f"{done.stdout}{done.stderr}")
    check(f"cannot bind 127.0.0.1:{port}" in done.stdout,
          f"rank 0 did not try the derived port {port}")
    check(done.returncode == 5, "rank 0 must fail with a hilo::Error (exit 5)")


def case_network_choice(h):
    # HILO_TCP_PORTS confines the listeners; HILO_TCP_IF picks the interface (hilorun then leaves
    # the choice to the ranks); a HILO_TCP_IF that matches nothing is an error naming it.
    low = free_port() // 100 * 100
    low = 20000 + low % 30000
    go = os.path.join(h.workdir, "go")
    job = h.start(3, ["wait_then_reduce", go], {"HILO_TCP_PORTS": f"{low}-{low + 99}",
                                                "HILO_TCP_IF": "lo"})
    pids = pids_of(job, 3)
    ports = [listening_port_of(pid) for pid in pids.values()]
    open(go, "w").close()
    code = job.finish()
    check(code == 0, f"the job with HILO_TCP_PORTS and HILO_TCP_IF=lo failed (exit {code})")
    check(all(low <= p <= low + 99 for p in ports), f"listeners {ports} outside {low}-{low + 99}")
    print(f"ranks listened on {ports}, inside HILO_TCP_PORTS={low}-{low + 99}")

    job = h.start(2, ["collectives"], {"HILO_TCP_IF": "nosuchif0"})
    code = job.finish()
    check(code != 0, "a HILO_TCP_IF that matches nothing did not fail the job")
    check(any("HILO_TCP_IF='nosuchif0'" in l for l in job.stdout),
          "the error does not name the bad HILO_TCP_IF value")


def case_pingpong(h):
    # A smoke run of the latency probe (numbers are a benchmark's business, not a test's).
    job = h.start(2, ["pingpong", "2000"])
    code = job.finish()
    check(code == 0, f"ping-pong failed (exit {code})")
    check(any(l.startswith("one-way latency:") for l in job.stdout), "no latency line")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hilorun", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--mpirun", help="Open MPI's mpirun, for the cases that start ranks with it")
    parser.add_argument("case")
    args = parser.parse_args()
    case = globals().get("case_" + args.case)
    if case is None:
        print(f"unknown case {args.case}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as workdir:
        h = Harness(args.hilorun, args.probe, workdir, args.mpirun)
        try:
            case(h)
        except Failure as failure:
            print(f"FAILED: {failure}", flush=True)
            return 1
        finally:
            h.cleanup()
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())

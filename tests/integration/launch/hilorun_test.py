#!/usr/bin/env python3
"""Integration tests of hilorun: one case per ctest test (integration.hilorun.<case>).

Usage: hilorun_test.py --hilorun PATH --probe PATH --agent PATH CASE

Every hilorun started here runs under a time limit, so a hang is a failure, not a stuck ctest.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

LIMIT = 30  # seconds any single hilorun may take


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Harness:
    def __init__(self, hilorun, probe, agent, workdir):
        self.hilorun = hilorun
        self.probe = probe
        self.agent = agent
        self.workdir = workdir
        self.pid_dir = os.path.join(workdir, "pids")
        os.makedirs(self.pid_dir, exist_ok=True)

    def run(self, args, env_extra=None, limit=LIMIT, cpus=None):
        """Runs hilorun; with `cpus`, hilorun may only use those CPUs (as under taskset)."""
        env = dict(os.environ)
        env.update(env_extra or {})
        started = time.monotonic()
        restrict = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        done = subprocess.run([self.hilorun] + args, capture_output=True, text=True, env=env,
                              timeout=limit, preexec_fn=restrict)
        done.seconds = time.monotonic() - started
        print(f"$ hilorun {' '.join(args)}\n-> exit {done.returncode} "
              f"after {done.seconds:.2f} s\n--- stdout\n{done.stdout}--- stderr\n{done.stderr}---")
        return done

    def start(self, args, env_extra=None):
        env = dict(os.environ)
        env.update(env_extra or {})
        return subprocess.Popen([self.hilorun] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)

    def hostfile(self, text):
        path = os.path.join(self.workdir, "hosts.txt")
        with open(path, "w") as f:
            f.write(text)
        return path

    def recorded_pids(self):
        pids = []
        for name in os.listdir(self.pid_dir):
            if name.endswith(".pids"):
                with open(os.path.join(self.pid_dir, name)) as f:
                    pids += [int(line) for line in f.read().split()]
        return pids

    def wait_for_pid_files(self, count, limit=15):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if len([n for n in os.listdir(self.pid_dir) if n.endswith(".pids")]) >= count:
                return
            time.sleep(0.05)
        raise Failure(f"fewer than {count} ranks started within {limit} s")

    def check_no_survivors(self, expected_pids, limit=5):
        """Every recorded rank and child process is gone (a zombie counts as gone)."""
        pids = self.recorded_pids()
        check(len(pids) >= expected_pids,
              f"expected {expected_pids} recorded pids, found {len(pids)}")
        deadline = time.monotonic() + limit
        while True:
            alive = [pid for pid in pids if is_alive(pid)]
            if not alive:
                print(f"no survivors among {len(pids)} recorded processes")
                return
            if time.monotonic() > deadline:
                raise Failure(f"processes survived hilorun: {alive}")
            time.sleep(0.05)


def is_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False


def values(stdout, name):
    """{rank: value} for lines `rank R NAME=value`."""
    found = {}
    for m in re.finditer(rf"^rank (\d+) {name}=(.*)$", stdout, re.M):
        found[int(m.group(1))] = m.group(2)
    return found


# ---- cases ---------------------------------------------------------------------------------

def case_all_ranks_succeed(h):
    done = h.run(["-n", "3", h.probe, "env"])
    check(done.returncode == 0, "all ranks exited 0 but hilorun did not")
    check(done.stderr == "", "hilorun printed on stderr although nothing failed")


def exit_status_case(h, extra_args, env_extra, failing_host, status):
    """Rank 2 of 4 exits with `status`: hilorun exits with it, names it, stops the others."""
    done = h.run(extra_args + ["-n", "4", "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe, "exit",
                               "2", str(status)], env_extra)
    check(done.returncode == status, f"hilorun must exit with the failed rank's status {status}")
    check(f"hilorun: rank 2 on host {failing_host} exited with status {status}; stopped the "
          "other 3 ranks\n" in done.stderr, "no line naming rank 2, its host and status")
    for r in (0, 1, 3):
        check(f"rank {r} got signal 15" in done.stdout, f"rank {r} was not sent SIGTERM")
    h.check_no_survivors(6)


def case_rank_exit_status(h):
    exit_status_case(h, [], None, "localhost", 3)


def case_rank_killed_by_signal(h):
    done = h.run(["-n", "3", "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe, "kill", "1"])
    check(done.returncode == 128 + 9, "hilorun must exit 137 for a rank killed by SIGKILL")
    check("hilorun: rank 1 on host localhost killed by signal 9 (Killed); stopped the other 2 "
          "ranks" in done.stderr, "no line naming the killed rank")
    h.check_no_survivors(4)


def case_stubborn_rank_killed(h):
    """A rank that ignores SIGTERM gets SIGKILL after the 2 s grace, not a hang."""
    script = ('trap "" TERM; if [ "$HILO_RANK" = 0 ]; then sleep 0.5; exit 4; fi; '
              'echo $$ > "$PROBE_PID_DIR/rank$HILO_RANK.pids"; while :; do sleep 1; done')
    done = h.run(["-n", "2", "-x", f"PROBE_PID_DIR={h.pid_dir}", "sh", "-c", script])
    check(done.returncode == 4, "hilorun must exit with rank 0's status 4")
    check("hilorun: rank 0 on host localhost exited with status 4; stopped the other 1 rank\n"
          in done.stderr, "no line naming rank 0")
    check(done.seconds >= 2.0, "SIGKILL came before the 2 s grace period")
    h.check_no_survivors(1)


def rank_pids(h, ranks):
    """{rank: pid} from the pid files the probe ranks wrote."""
    pids = {}
    for r in range(ranks):
        with open(os.path.join(h.pid_dir, f"rank{r}.pids")) as f:
            pids[r] = int(f.read().split()[0])
    return pids


def wait_until_ended(pids, limit):
    """Waits until every pid in `pids` has ended (a zombie counts as ended), at most `limit` s."""
    deadline = time.monotonic() + limit
    while any(is_alive(pid) for pid in pids):
        alive = [pid for pid in pids if is_alive(pid)]
        check(time.monotonic() < deadline, f"processes {alive} did not end within {limit} s")
        time.sleep(0.05)


def case_first_failure_named(h):
    """Rank 2 of 4 is killed mid all-reduce; the others get PeerLost and exit 10 at once. hilorun
    is stopped meanwhile, so when it resumes every rank is a zombie and waitpid() hands it rank 0
    first: it must still name rank 2 (from the ranks' reports) and exit 137."""
    job = h.start(["-n", "4", "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe, "lose_peer"])
    try:
        h.wait_for_pid_files(4, limit=20)
        pids = rank_pids(h, 4)
        os.kill(job.pid, signal.SIGSTOP)
        os.kill(pids[2], signal.SIGKILL)
        # hilorun reaps nothing while stopped: all four stay zombies.
        wait_until_ended(pids.values(), 20)
        print("ranks 0, 1, 3 ended after rank 2 was killed; resuming hilorun")
        os.kill(job.pid, signal.SIGCONT)
        stdout, stderr = job.communicate(timeout=LIMIT)
    finally:
        if job.poll() is None:
            os.kill(job.pid, signal.SIGCONT)
            job.kill()
            job.communicate()
    print(f"-> exit {job.returncode}\n--- stdout\n{stdout}--- stderr\n{stderr}---")
    check("hilorun: rank 2 on host localhost killed by signal 9 (Killed)" in stderr,
          "hilorun did not name rank 2, the rank that failed first")
    check(job.returncode == 128 + 9, "hilorun must exit with rank 2's status 137")
    # Each survivor lost rank 2, or a survivor that failed (and said so) before rank 2's
    # connection broke: hilorun follows such chains back to rank 2.
    for r in (0, 1, 3):
        check(re.search(rf"^rank {r} PeerLost\(rank [0-3]\)", stdout, re.M),
              f"rank {r} did not end with PeerLost")


def expected_lines(ranks, count):
    lines = []
    for r in range(ranks):
        for i in range(count):
            lines.append(f"rank {r} line {i} " + "x" * (10 + (i * 37) % 200))
    return lines


def check_forwarded_output(done, ranks, count, tagged):
    out_lines = done.stdout.split("\n")
    check(out_lines[-1] == "", "stdout does not end with a newline")
    out_lines = out_lines[:-1]
    err_lines = done.stderr.split("\n")[:-1]
    if tagged:
        def untag(lines):
            plain = []
            for line in lines:
                m = re.match(r"^\[(\d+)\] (rank (\d+) .*)$", line)
                check(m is not None, f"line without a [rank] prefix: {line!r}")
                check(m.group(1) == m.group(3), f"prefix names the wrong rank: {line!r}")
                plain.append(m.group(2))
            return plain
        out_lines, err_lines = untag(out_lines), untag(err_lines)
    expected = expected_lines(ranks, count)
    last_lines = [f"rank {r} last line without newline" for r in range(ranks)]
    check(sorted(out_lines) == sorted(expected + last_lines), "stdout lines lost, split or mixed")
    check(sorted(err_lines) == sorted(expected), "stderr lines lost, split or mixed")
    for r in range(ranks):  # each rank's own lines keep their order
        mine = [line for line in out_lines if line.startswith(f"rank {r} line ")]
        check(mine == [line for line in expected if line.startswith(f"rank {r} line ")],
              f"rank {r}'s lines out of order")


def case_output_forwarding(h):
    done = h.run(["-n", "4", h.probe, "lines", "300"])
    check(done.returncode == 0, "hilorun failed")
    check_forwarded_output(done, 4, 300, tagged=False)


def case_output_tagged(h):
    done = h.run(["-n", "4", "--tag-output", h.probe, "lines", "300"])
    check(done.returncode == 0, "hilorun failed")
    check_forwarded_output(done, 4, 300, tagged=True)


def signal_case(h, sig, extra_args=(), env_extra=None, ranks=3):
    job = h.start(list(extra_args) + ["-n", str(ranks), "-x", f"PROBE_PID_DIR={h.pid_dir}",
                                      h.probe, "wait"], env_extra)
    try:
        h.wait_for_pid_files(ranks)
        job.send_signal(sig)
        stdout, stderr = job.communicate(timeout=LIMIT)
    finally:
        if job.poll() is None:
            job.kill()
    print(f"-> exit {job.returncode}\n--- stdout\n{stdout}--- stderr\n{stderr}---")
    check(job.returncode == 128 + sig, f"hilorun must exit {128 + sig} after signal {sig}")
    name = signal.Signals(sig).name
    check(f"hilorun: received {name}; forwarded it to the {ranks} running ranks" in stderr,
          "no line saying the signal was forwarded")
    for r in range(ranks):
        check(f"rank {r} got signal {sig}" in stdout, f"rank {r} did not get signal {sig}")
    h.check_no_survivors(2 * ranks)


def case_sigterm_forwarded(h):
    signal_case(h, signal.SIGTERM)


def case_sigint_forwarded(h):
    signal_case(h, signal.SIGINT)


def case_job_timeout(h):
    done = h.run(["--timeout", "1", "-n", "2", "-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe,
                  "wait"])
    check(done.returncode == 124, "a timed-out job must exit 124")
    check("hilorun: the job did not finish within 1 s (--timeout); stopping its 2 running ranks"
          in done.stderr, "no line saying the job timed out")
    check(done.seconds >= 1.0, "--timeout fired early")
    h.check_no_survivors(4)


def kill_hilorun_case(h, ranks, extra_args=(), env_extra=None):
    """SIGKILL hilorun once `ranks` ranks wait; every rank must end within 10 s."""
    job = h.start(list(extra_args) + ["-x", f"PROBE_PID_DIR={h.pid_dir}", h.probe, "wait"],
                  env_extra)
    h.wait_for_pid_files(ranks)
    job.kill()
    job.communicate(timeout=LIMIT)
    rank_pids = []
    for r in range(ranks):
        with open(os.path.join(h.pid_dir, f"rank{r}.pids")) as f:
            rank_pids.append(int(f.read().split()[0]))
    deadline = time.monotonic() + 10
    while any(is_alive(pid) for pid in rank_pids):
        alive = [pid for pid in rank_pids if is_alive(pid)]
        check(time.monotonic() < deadline, f"ranks {alive} survived the SIGKILL of hilorun")
        time.sleep(0.05)
    print(f"all {ranks} ranks ended after hilorun was killed")
    # A rank killed outright cannot stop its own `sleep` child, and nothing else can reach it
    # once hilorun is gone: tidy up after the test.
    for pid in h.recorded_pids():
        if is_alive(pid):
            os.kill(pid, signal.SIGKILL)


def case_hilorun_killed(h):
    """Even SIGKILL of hilorun leaves no rank behind (PR_SET_PDEATHSIG)."""
    kill_hilorun_case(h, 3, ["-n", "3"])


def case_agent_hilorun_killed(h):
    """Remote ranks that do not die with the agent (as under ssh) stop when hilorun is killed:
    --remote-exec sees EOF on its stdin."""
    path = h.hostfile(REMOTE_HOSTFILE)
    kill_hilorun_case(h, 4, ["--hostfile", path, "--launch-agent", h.agent],
                      dict(agent_env(h), FAKE_AGENT_DETACH="1"))


def case_environment_contract(h):
    done = h.run(["-n", "3", "-x", "PROBE_EXTRA=hello", h.probe, "env"],
                 {"HILO_TIMEOUT": "7", "PROBE_FROM_PARENT": "inherited"})
    check(done.returncode == 0, "hilorun failed")
    expect = {"HILO_LAUNCHER": "hilorun", "HILO_SIZE": "3", "HILO_LOCAL_SIZE": "3",
              "HILO_HOST": "localhost", "HILO_HOST_ADDR": "127.0.0.1", "HILO_TIMEOUT": "7",
              "PROBE_EXTRA": "hello", "PROBE_FROM_PARENT": "inherited",
              "token_is_64_hex": "yes", "token_on_command_lines": "0"}
    for name, value in expect.items():
        check(values(done.stdout, name) == {r: value for r in range(3)}, f"{name} is not {value}")
    check(values(done.stdout, "HILO_RANK") == {r: str(r) for r in range(3)}, "HILO_RANK wrong")
    check(values(done.stdout, "HILO_LOCAL_RANK") == {r: str(r) for r in range(3)},
          "HILO_LOCAL_RANK wrong")
    coords = set(values(done.stdout, "HILO_COORD").values())
    check(len(coords) == 1 and re.fullmatch(r"127\.0\.0\.1:\d+", coords.pop()),
          "HILO_COORD is not one 127.0.0.1:port")
    check(len(set(values(done.stdout, "token_fingerprint").values())) == 1,
          "ranks of one job have different tokens")
    again = h.run(["-n", "1", h.probe, "env"])
    check(values(again.stdout, "token_fingerprint")[0] != values(done.stdout,
                                                                "token_fingerprint")[0],
          "two launches got the same token")


def check_tables(done, ranks):
    tables = re.findall(r"^rank (\d+) table (\w+):(.*)$", done.stdout, re.M)
    check(len(tables) == ranks, f"{len(tables)} of {ranks} ranks printed a table")
    check(all(t[1] == "ok" for t in tables), "a rank found its table wrong")
    check(len({t[2] for t in tables}) == 1, "ranks got different tables")
    return tables[0][2]


def case_rendezvous(h):
    done = h.run(["-n", "4", h.probe, "rendezvous"])
    check(done.returncode == 0, "hilorun failed")
    check_tables(done, 4)


def case_rendezvous_64_ranks(h):
    done = h.run(["-n", "64", h.probe, "rendezvous"])
    check(done.returncode == 0, "hilorun failed")
    check_tables(done, 64)


def case_rendezvous_rejects_intruders(h):
    """Garbage and a wrong token sent to the coordinator are refused and logged once; the job's
    own registrations still complete."""
    job = h.start(["-n", "3", h.probe, "rendezvous"], {"PROBE_DELAY_MS": "1500"})
    try:
        first = job.stdout.readline()
        m = re.match(r"^rank 0 coord=([\d.]+):(\d+)$", first.strip())
        check(m is not None, f"no coordinator address printed: {first!r}")
        address = (m.group(1), int(m.group(2)))
        wrong_token = (b"HLRV\x00\x01\x00\x40" + b"f" * 64 + b"\x00\x00\x00\x01\x00\x00\x00\x03"
                       + b"\x00\x01h\x00\x09127.0.0.1\x00\x50")
        for payload in [b"garbage\r\n" * 10, wrong_token, b"HLRV\x00\x01\xff\xff", wrong_token]:
            with socket.create_connection(address, timeout=5) as intruder:
                intruder.sendall(payload)
                check(intruder.recv(1) == b"", "the coordinator answered an intruder")
        stdout, stderr = job.communicate(timeout=LIMIT)
    finally:
        if job.poll() is None:
            job.kill()
    print(f"-> exit {job.returncode}\n--- stdout\n{first}{stdout}--- stderr\n{stderr}---")
    check(job.returncode == 0, "the job failed after intruders")
    rejected = [line for line in stderr.splitlines() if "rejected a connection from 127.0.0.1" in line]
    check(len(rejected) == 1, f"{len(rejected)} rejection lines; expected 1 per address")
    check_tables(subprocess.CompletedProcess([], 0, stdout, stderr), 3)


def case_bad_hostfile(h):
    path = h.hostfile("# cluster\nnode1 slots=2\nnode2 slots=zero\n")
    done = h.run(["--hostfile", path, "-n", "2", h.probe, "env"])
    check(done.returncode == 1, "a bad hostfile must make hilorun exit 1")
    # The library's "hilo: " gives way to hilorun's own prefix (not "hilorun: hilo: hostfile").
    check(f"hilorun: hostfile {path}, line 3: slots must be a whole number >= 1, not 'zero'"
          in done.stderr, "the error does not name file, line and reason after 'hilorun: '")
    check(done.stdout == "", "a rank started despite the bad hostfile")
    path = h.hostfile("node1 slots=2 cpus=4\n")
    done = h.run(["--hostfile", path, h.probe, "env"])
    check(f"hostfile {path}, line 1: unknown keyword 'cpus'" in done.stderr, "cpus= accepted")
    done = h.run(["--hostfile", os.path.join(h.workdir, "missing"), h.probe, "env"])
    check(done.returncode == 1 and "hilorun: cannot open hostfile" in done.stderr,
          "missing hostfile")
    done = h.run(["--host", "localhost:2", "-n", "3", h.probe, "env"])
    check(done.returncode == 1 and "--oversubscribe" in done.stderr, "oversubscription accepted")
    done = h.run(["--host", "localhost:2", "-n", "3", "--oversubscribe", h.probe, "env"])
    check(done.returncode == 0, "--oversubscribe refused")


def case_hostfile_text(h):
    """A hostfile written on Windows works; a control character is named with its line, escaped."""
    path = h.hostfile("# from Windows\r\nlocalhost\tslots=2\r\n")
    done = h.run(["--hostfile", path, "-n", "2", h.probe, "env"])
    check(done.returncode == 0, "a hostfile with CRLF line endings was refused")
    check(values(done.stdout, "HILO_HOST") == {0: "localhost", 1: "localhost"},
          "the ranks did not run on localhost")
    path = h.hostfile("localhost slots=1\nnode\x00\x1b slots=1\n")
    done = h.run(["--hostfile", path, "-n", "2", h.probe, "env"])
    check(done.returncode == 1, "a hostfile with a NUL byte must make hilorun exit 1")
    check(f'hostfile {path}, line 2: control character \\x00 at column 5 of '
          f'"node\\x00\\x1b slots=1"; a hostfile is plain text (expected' in done.stderr,
          "the error does not name the line and show the bytes escaped")
    check(done.stdout == "", "a rank started despite the bad hostfile")


def case_bad_command_line(h):
    for args, message in [(["--frobnicate", h.probe], "unknown option '--frobnicate'"),
                          (["-n", "two", h.probe], "-n needs a number of ranks >= 1, not 'two'"),
                          (["-n", "2"], "no program to run"),
                          (["--timeout", "-3", "-n", "1", h.probe],
                           "--timeout needs a number of seconds > 0"),
                          (["-x", "1BAD", "-n", "1", h.probe], "not VAR or VAR=value"),
                          (["--coord-addr", "example.org", "-n", "1", h.probe],
                           "--coord-addr needs an IPv4 address"),
                          (["--hostfile", "a", "--host", "b", h.probe],
                           "use either --hostfile or --host, not both"),
                          (["--bind-to", "hwthread", "-n", "1", h.probe],
                           "--bind-to takes none, core or socket, not 'hwthread'"),
                          (["--map-by", "ppr:2:node", "-n", "1", h.probe],
                           "--map-by takes slot, node or core, not 'ppr:2:node'"),
                          (["-N", "0", h.probe], "-N needs a number of ranks per host >= 1"),
                          (["--output-filename", "", "-n", "1", h.probe],
                           "--output-filename needs a directory"),
                          (["--output-nocopy", "-n", "1", h.probe],
                           "--output-nocopy needs --output-filename DIR")]:
        done = h.run(args)
        check(done.returncode == 2, f"{args} must be a usage error (exit 2)")
        check(message in done.stderr, f"{args}: expected {message!r}")
    done = h.run(["-n", "1", "no-such-program-anywhere"])
    check(done.returncode == 1 and "not found in PATH" in done.stderr, "missing program")
    missing = os.path.join(h.workdir, "no-such-dir", "program")
    done = h.run(["-n", "1", missing])
    check(done.returncode == 1, "a missing program must make hilorun exit 1")
    check(f"cannot run '{missing}': No such file or directory (errno 2)" in done.stderr,
          f"the error does not give errno's words and number: {done.stderr!r}")
    done = h.run(["--help"])
    check(done.returncode == 0 and "Usage: hilorun" in done.stdout, "--help")


# Hosts 127.0.0.2 and 127.0.0.3 are not "this machine" to hilorun, so their ranks go through the
# launch agent, which here runs them locally and logs how it was called.
REMOTE_HOSTFILE = "localhost slots=1\n127.0.0.2 slots=2\n127.0.0.3 slots=1\n"


def agent_env(h):
    return {"FAKE_AGENT_LOG": os.path.join(h.workdir, "agent.log")}


def agent_log(h):
    with open(os.path.join(h.workdir, "agent.log")) as f:
        return f.read()


def case_agent_environment(h):
    path = h.hostfile(REMOTE_HOSTFILE)
    env = agent_env(h)
    env["PROBE_FROM_PARENT"] = "local only"
    env["HILO_TIMEOUT"] = "9"
    done = h.run(["--hostfile", path, "--launch-agent", h.agent, "-x", "PROBE_EXTRA=everywhere",
                  h.probe, "env"], env)
    check(done.returncode == 0, "hilorun failed")
    log = agent_log(h)
    calls = log.splitlines()
    check(len(calls) == 3, "the agent must be called once per remote rank")
    check(sorted(c.split()[0] for c in calls) == ["127.0.0.2", "127.0.0.2", "127.0.0.3"],
          "the agent was not called with the host first")
    check(all(c.endswith(" --remote-exec") for c in calls), "remote command is not --remote-exec")
    check(values(done.stdout, "HILO_HOST") == {0: "localhost", 1: "127.0.0.2", 2: "127.0.0.2",
                                               3: "127.0.0.3"}, "HILO_HOST wrong")
    addrs = values(done.stdout, "HILO_HOST_ADDR")
    check(addrs[1] == "127.0.0.2" and addrs[2] == "127.0.0.2" and addrs[3] == "127.0.0.3",
          "remote HILO_HOST_ADDR is not the host's address")
    coord_ip = values(done.stdout, "HILO_COORD")[0].split(":")[0]
    check(addrs[0] == coord_ip, "a local rank of a multi-host job must listen where hilorun does")
    check(values(done.stdout, "HILO_LOCAL_RANK") == {0: "0", 1: "0", 2: "1", 3: "0"},
          "HILO_LOCAL_RANK wrong")
    check(values(done.stdout, "HILO_LOCAL_SIZE") == {0: "1", 1: "2", 2: "2", 3: "1"},
          "HILO_LOCAL_SIZE wrong")
    check(values(done.stdout, "token_on_command_lines") == {r: "0" for r in range(4)},
          "the job token is on a command line")
    check(values(done.stdout, "token_is_64_hex") == {r: "yes" for r in range(4)},
          "a remote rank did not get the token")
    check(len(set(values(done.stdout, "token_fingerprint").values())) == 1, "tokens differ")
    check(values(done.stdout, "PROBE_EXTRA") == {r: "everywhere" for r in range(4)},
          "-x did not reach the remote ranks")
    check(values(done.stdout, "HILO_TIMEOUT") == {r: "9" for r in range(4)},
          "HILO_TIMEOUT was not passed through")
    remote_parent = values(done.stdout, "PROBE_FROM_PARENT")
    check(remote_parent[0] == "local only" and remote_parent[3] == "<unset>",
          "remote ranks must not inherit hilorun's whole environment")


def case_agent_rendezvous(h):
    path = h.hostfile(REMOTE_HOSTFILE)
    done = h.run(["--hostfile", path, h.probe, "rendezvous"],
                 dict(agent_env(h), HILO_LAUNCH_AGENT=h.agent))
    check(done.returncode == 0, "hilorun failed")
    table = check_tables(done, 4)
    check("1@127.0.0.2=127.0.0.2:" in table and "3@127.0.0.3=127.0.0.3:" in table,
          "the table does not hold the remote ranks' addresses")
    check(len(agent_log(h).splitlines()) == 3, "HILO_LAUNCH_AGENT was not used")


def case_agent_rank_fails(h):
    path = h.hostfile(REMOTE_HOSTFILE)
    exit_status_case(h, ["--hostfile", path, "--launch-agent", h.agent], agent_env(h),
                     "127.0.0.2", 5)


def case_agent_sigint_forwarded(h):
    path = h.hostfile(REMOTE_HOSTFILE)
    signal_case(h, signal.SIGINT, ["--hostfile", path, "--launch-agent", h.agent], agent_env(h),
                ranks=4)


# ---- binding, mapping and output files ------------------------------------------------------

def topology_value(cpu, name):
    try:
        with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/{name}") as f:
            return int(f.read())
    except (OSError, ValueError):
        return None


def allowed_cores(cpus=None):
    """The cores of the CPUs this process may use (or of `cpus`), as hilorun documents them:
    [(package, sorted cpus)], in the order of each core's lowest CPU."""
    cores = {}
    for cpu in sorted(cpus if cpus is not None else os.sched_getaffinity(0)):
        package = topology_value(cpu, "physical_package_id") or 0
        core_id = topology_value(cpu, "core_id")
        key = (package, core_id if core_id is not None else -1 - cpu)
        cores.setdefault(key, []).append(cpu)
    return [(key[0], cpus) for key, cpus in cores.items()]


def parse_cpu_list(text):
    cpus = set()
    for part in text.strip().split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


def affinities(done, ranks):
    """{rank: set of CPUs} from the probe's `affinity` mode; the thread it starts must agree."""
    cpus = {r: parse_cpu_list(v) for r, v in values(done.stdout, "cpus").items()}
    threads = {r: parse_cpu_list(v) for r, v in values(done.stdout, "thread_cpus").items()}
    check(sorted(cpus) == list(range(ranks)), f"not all {ranks} ranks printed their CPUs")
    check(threads == cpus, "a thread started by the rank has other CPUs than the rank")
    return cpus


def reported_bindings(done):
    """{rank: (host, pid, what, set of CPUs)} from the --report-bindings lines on stderr."""
    found = {}
    for m in re.finditer(r"^(?:\[\d+\] )?\[([^:\]]+):(\d+)\] rank (\d+) (.*): cpus ([\d,-]+)$",
                         done.stderr, re.M):
        found[int(m.group(3))] = (m.group(1), int(m.group(2)), m.group(4),
                                  parse_cpu_list(m.group(5)))
    return found


def case_bind_to_core(h):
    """--bind-to core: the i-th rank on a host gets the i-th core's CPUs, and the report says so;
    socket gives the CPUs of the core's package; none leaves the whole allowed set."""
    cores = allowed_cores()
    ranks = min(2, len(cores))
    done = h.run(["-n", str(ranks), "--bind-to", "core", "--report-bindings", h.probe, "affinity"])
    check(done.returncode == 0, "hilorun failed")
    got = affinities(done, ranks)
    report = reported_bindings(done)
    pids = {r: int(v) for r, v in values(done.stdout, "pid").items()}
    for r in range(ranks):
        check(got[r] == set(cores[r][1]), f"rank {r} has CPUs {got[r]}, not core {r}'s {cores[r]}")
        check(report.get(r) == ("localhost", pids[r], f"bound to core {r} (socket {cores[r][0]})",
                                got[r]), f"rank {r}'s --report-bindings line is wrong")
    for policy, expected in [("socket", lambda r: {c for p, cpus in cores if p == cores[r][0]
                                                   for c in cpus}),
                             ("none", lambda r: os.sched_getaffinity(0))]:
        done = h.run(["-n", str(ranks), "--bind-to", policy, h.probe, "affinity"])
        check(done.returncode == 0, f"--bind-to {policy} failed")
        got = affinities(done, ranks)
        for r in range(ranks):
            check(got[r] == set(expected(r)), f"--bind-to {policy}: rank {r} has CPUs {got[r]}")
        check("rank 0 bound" not in done.stderr, "a binding report without --report-bindings")


def case_bind_default(h):
    """Without --bind-to: core for a job of up to 2 ranks (if the host has the cores), and not
    bound at all on a host with more ranks than cores (an oversubscribed laptop)."""
    cores = allowed_cores()
    ranks = min(2, len(cores))
    done = h.run(["-n", str(ranks), h.probe, "affinity"])
    check(done.returncode == 0, "hilorun failed")
    got = affinities(done, ranks)
    for r in range(ranks):
        check(got[r] == set(cores[r][1]), f"default binding: rank {r} is not on core {r}")
    crowd = len(cores) + 1
    done = h.run(["-n", str(crowd), "--report-bindings", h.probe, "affinity"])
    check(done.returncode == 0, "an oversubscribed job without --bind-to failed")
    everything = os.sched_getaffinity(0)
    check(affinities(done, crowd) == {r: everything for r in range(crowd)},
          "ranks of an oversubscribed host were bound")
    check(all(what == "not bound" for _, _, what, _ in reported_bindings(done).values()),
          "the report does not say 'not bound'")


def case_bind_within_allowed_cpus(h):
    """hilorun binds within the CPUs it may use (sched_getaffinity), not all the machine's:
    started on one CPU, its one rank gets that CPU; two ranks bound to core are an error (exit 1,
    nothing started) unless --oversubscribe, which puts both there."""
    last = max(os.sched_getaffinity(0))
    done = h.run(["-n", "1", "--bind-to", "core", h.probe, "affinity"], cpus={last})
    check(done.returncode == 0, "hilorun failed")
    check(affinities(done, 1) == {0: {last}}, f"the rank is not on CPU {last}, hilorun's only one")
    done = h.run(["-n", "2", "--bind-to", "core", h.probe, "affinity"], cpus={last})
    check(done.returncode == 1, "binding 2 ranks to 1 core must fail (exit 1)")
    check("hilorun: --bind-to core: 2 ranks on host localhost but only 1 core is available to "
          "hilorun there (sched_getaffinity); pass --oversubscribe to share cores or --bind-to "
          "none" in done.stderr, "no clear error for more ranks than cores")
    check(done.stdout == "", "a rank started although the binding was impossible")
    done = h.run(["-n", "2", "--bind-to", "core", "--oversubscribe", h.probe, "affinity"],
                 cpus={last})
    check(done.returncode == 0, "--oversubscribe must let ranks share the core")
    check(affinities(done, 2) == {0: {last}, 1: {last}}, "oversubscribed ranks not on the core")


def case_agent_binding(h):
    """Remote ranks are bound by hilorun --remote-exec on their host, by their local rank there,
    and report it from there."""
    cores = allowed_cores()
    check(len(cores) >= 2, "this case needs 2 cores")  # 127.0.0.2 runs 2 ranks
    path = h.hostfile(REMOTE_HOSTFILE)
    done = h.run(["--hostfile", path, "--launch-agent", h.agent, "--bind-to", "core",
                  "--report-bindings", h.probe, "affinity"], agent_env(h))
    check(done.returncode == 0, "hilorun failed")
    got = affinities(done, 4)
    # Ranks: 0 on localhost, 1 and 2 on 127.0.0.2 (local ranks 0, 1), 3 on 127.0.0.3.
    expected_core = {0: 0, 1: 0, 2: 1, 3: 0}
    hosts = {0: "localhost", 1: "127.0.0.2", 2: "127.0.0.2", 3: "127.0.0.3"}
    report = reported_bindings(done)
    pids = {r: int(v) for r, v in values(done.stdout, "pid").items()}
    for r, c in expected_core.items():
        check(got[r] == set(cores[c][1]), f"rank {r} has CPUs {got[r]}, not core {c}'s")
        check(report.get(r) == (hosts[r], pids[r], f"bound to core {c} (socket {cores[c][0]})",
                                got[r]), f"rank {r}'s --report-bindings line is wrong")
    # More ranks than cores on a remote host: its hilorun --remote-exec refuses.
    crowded = h.hostfile(f"localhost slots=1\n127.0.0.2 slots={len(cores) + 1}\n")
    done = h.run(["--hostfile", crowded, "--launch-agent", h.agent, "--bind-to", "core",
                  h.probe, "affinity"], agent_env(h))
    check(done.returncode != 0, "binding more ranks than cores on a remote host must fail")
    check("--bind-to core: " + str(len(cores) + 1) + " ranks on host 127.0.0.2 but only"
          in done.stderr, "the remote host's error did not come back")


def case_map_by_and_npernode(h):
    """--map-by node deals ranks to hosts in turn; -N puts exactly N on each host (and sets
    -n); both through the launch agent for the 127.0.0.x hosts."""
    hosts = "localhost:2,127.0.0.2:2,127.0.0.3:2"
    common = ["--host", hosts, "--launch-agent", h.agent]
    done = h.run(common + ["-N", "1", h.probe, "env"], agent_env(h))
    check(done.returncode == 0, "hilorun -N 1 failed")
    check(values(done.stdout, "HILO_HOST") == {0: "localhost", 1: "127.0.0.2", 2: "127.0.0.3"},
          "-N 1 did not place one rank per host")
    check(values(done.stdout, "HILO_LOCAL_SIZE") == {r: "1" for r in range(3)},
          "-N 1: HILO_LOCAL_SIZE is not 1")
    done = h.run(common + ["-n", "4", "--map-by", "node", h.probe, "env"], agent_env(h))
    check(done.returncode == 0, "hilorun --map-by node failed")
    check(values(done.stdout, "HILO_HOST") == {0: "localhost", 1: "127.0.0.2", 2: "127.0.0.3",
                                               3: "localhost"}, "--map-by node: wrong hosts")
    check(values(done.stdout, "HILO_LOCAL_RANK") == {0: "0", 1: "0", 2: "0", 3: "1"},
          "--map-by node: wrong HILO_LOCAL_RANK")
    done = h.run(common + ["-n", "4", "--map-by", "slot", h.probe, "env"], agent_env(h))
    check(values(done.stdout, "HILO_HOST") == {0: "localhost", 1: "localhost", 2: "127.0.0.2",
                                               3: "127.0.0.2"}, "--map-by slot: wrong hosts")
    done = h.run(common + ["-n", "4", "-N", "1", h.probe, "env"], agent_env(h))
    check(done.returncode == 1, "-n 4 with -N 1 on 3 hosts must fail (exit 1)")
    check("asked for 4 ranks but -N 1 on 3 hosts places at most 3" in done.stderr,
          "no clear error for -n above -N times hosts")
    done = h.run(common + ["-N", "3", h.probe, "env"], agent_env(h))
    check(done.returncode == 1 and "-N 3: host localhost has only 2 slots" in done.stderr,
          "-N above a host's slots must fail without --oversubscribe")
    done = h.run(["-N", "3", h.probe, "env"])
    check(done.returncode == 0 and len(values(done.stdout, "HILO_RANK")) == 3,
          "-N 3 without hosts must run 3 local ranks")


def read_file(path):
    with open(path) as f:
        return f.read()


def expected_rank_output(rank, count):
    lines = [line + "\n" for line in expected_lines(rank + 1, count)[rank * count:]]
    return "".join(lines) + f"rank {rank} last line without newline", "".join(lines)


def case_output_filename(h):
    """--output-filename DIR: DIR/1/rank.N/stdout and stderr hold exactly what rank N wrote
    (no tag), while the terminal still gets it all; --output-nocopy keeps the terminal quiet;
    remote ranks' output lands there too."""
    out = os.path.join(h.workdir, "out")
    done = h.run(["-n", "3", "--tag-output", "--output-filename", out, h.probe, "lines", "50"])
    check(done.returncode == 0, "hilorun failed")
    check_forwarded_output(done, 3, 50, tagged=True)
    check(sorted(os.listdir(os.path.join(out, "1"))) == ["rank.0", "rank.1", "rank.2"],
          "not one directory per rank under DIR/1")
    for r in range(3):
        stdout, stderr = expected_rank_output(r, 50)
        check(read_file(os.path.join(out, "1", f"rank.{r}", "stdout")) == stdout,
              f"rank {r}'s stdout file differs from what it wrote")
        check(read_file(os.path.join(out, "1", f"rank.{r}", "stderr")) == stderr,
              f"rank {r}'s stderr file differs from what it wrote")

    quiet = os.path.join(h.workdir, "quiet")
    done = h.run(["-n", "11", "--output-filename", quiet, "--output-nocopy", "sh", "-c",
                  'echo "out $HILO_RANK"; echo "err $HILO_RANK" >&2'])
    check(done.returncode == 0, "hilorun failed")
    check(done.stdout == "" and done.stderr == "", "--output-nocopy still wrote the terminal")
    check(sorted(os.listdir(os.path.join(quiet, "1"))) == [f"rank.{r:02d}" for r in range(11)],
          "rank directories are not zero-padded to the width of the last rank")
    for r in range(11):
        check(read_file(os.path.join(quiet, "1", f"rank.{r:02d}", "stdout")) == f"out {r}\n" and
              read_file(os.path.join(quiet, "1", f"rank.{r:02d}", "stderr")) == f"err {r}\n",
              f"rank {r}'s files are wrong")

    remote = os.path.join(h.workdir, "remote")
    done = h.run(["--hostfile", h.hostfile(REMOTE_HOSTFILE), "--launch-agent", h.agent,
                  "--output-filename", remote, h.probe, "lines", "20"], agent_env(h))
    check(done.returncode == 0, "hilorun failed")
    for r in range(4):
        stdout, _ = expected_rank_output(r, 20)
        check(read_file(os.path.join(remote, "1", f"rank.{r}", "stdout")) == stdout,
              f"rank {r}'s stdout file (remote: {r > 0}) differs from what it wrote")

    blocker = os.path.join(h.workdir, "a-file")
    with open(blocker, "w") as f:
        f.write("not a directory\n")
    done = h.run(["-n", "1", "--output-filename", blocker, h.probe, "env"])
    check(done.returncode == 1, "an output directory that cannot be made must fail (exit 1)")
    check(f"--output-filename: cannot create directory {blocker}/1/rank.0" in done.stderr,
          "the error does not name the directory")
    check(done.stdout == "", "a rank ran although its output file could not be made")


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def run_case(case, harness):
    """Runs one case; prints "passed" or why it failed, and returns the exit status."""
    try:
        case(harness)
    except Failure as failure:
        print(f"FAILED: {failure}")
        return 1
    except subprocess.TimeoutExpired as expired:
        print(f"FAILED: hilorun did not end within {expired.timeout} s: {expired.cmd}")
        return 1
    print("passed")
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hilorun", required=True)
    parser.add_argument("--probe", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("case", choices=sorted(CASES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hilorun-test-") as workdir:
        harness = Harness(os.path.abspath(args.hilorun), os.path.abspath(args.probe),
                          os.path.abspath(args.agent), workdir)
        return run_case(CASES[args.case], harness)


if __name__ == "__main__":
    sys.exit(main())

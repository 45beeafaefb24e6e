"""The report's parts for the ping-pong family (one message in flight, same host), the exchange
collectives (all-to-all and scan) and the hosts-apart family (two netns hosts over veth): their
plots, tables and targets. report.py calls these; they use its helpers.

Rows of the hosts-apart family carry the transport `veth`; every other family's plots leave
them out (report.SAME_HOST).
"""
import statistics

import report_common as base

VETH = base.VETH  # the hosts-apart family's transport

# (system, transport, the anchor's (system, transport) or None) of the ping-pong tables. hilorun's
# three same-host paths are columns (and plot lines) of their own.
PINGPONG_COLUMNS = [
    ("mpi", "shm", None), ("hilo-mpi", "shm", ("mpi", "shm")),
    ("boost-mpi", "shm", ("mpi", "shm")), ("mpi", "tcp", None),
    ("hilo-tcp", "shm", ("mpi", "shm")), ("hilo-tcp", "tcp", ("mpi", "tcp")),
    ("hilo-tcp", "shm-no-single-copy", ("mpi", "shm")), ("sockets", "tcp", ("mpi", "tcp")),
    ("hilo-local", "threads", ("mpi", "shm")),
]
# The all-to-all's and the scan's: each hilo system in both forms, the into form's rows
# (benchmark `alltoall-into`, `scan-into`) beside the returning form's, against the same MPI call.
INTO = {"alltoall": "alltoall-into", "scan": "scan-into"}
# The into forms' names in the targets' and the plots' words.
INTO_CALL = {"alltoall": "all_to_all_into", "scan": "scan_into"}


def into_columns(benchmark):
    into = INTO[benchmark]
    return [
        ("mpi", "shm", None), ("hilo-mpi", "shm", ("mpi", "shm")),
        ("hilo-mpi", "shm", ("mpi", "shm"), into), ("mpi", "tcp", None),
        ("hilo-tcp", "tcp", ("mpi", "tcp")), ("hilo-tcp", "tcp", ("mpi", "tcp"), into),
        ("gloo", "tcp", ("mpi", "tcp")), ("hilo-local", "threads", ("mpi", "shm")),
        ("hilo-local", "threads", ("mpi", "shm"), into),
    ]


HOSTS_APART_PINGPONG = [("mpi", VETH, None), ("hilo-tcp", VETH, ("mpi", VETH)),
                        ("gloo", VETH, ("mpi", VETH))]
HOSTS_APART_ALLREDUCE = [("mpi", VETH, None), ("hilo-tcp", VETH, ("mpi", VETH)),
                         ("gloo-ring", VETH, ("mpi", VETH)), ("gloo-hd", VETH, ("mpi", VETH))]

# (plot name, benchmark, ranks, title, y label, transports kept: None = all but veth)
PLOTS = [
    ("pingpong-latency", "pingpong-latency", None, "Ping-pong, one message in flight: latency "
     "(one way)", "µs", None),
    ("pingpong-bandwidth", "pingpong-bandwidth", None, "Ping-pong, one message in flight: "
     "bandwidth", "MB/s", None),
    ("alltoall2", "alltoall", 2, "All-to-all, p = 2 (size per pair)", "µs per call", None),
    ("alltoall4", "alltoall", 4, "All-to-all, p = 4 (size per pair)", "µs per call", None),
    ("scan2", "scan", 2, "Scan (prefix sum) of floats, p = 2", "µs per call", None),
    ("scan4", "scan", 4, "Scan (prefix sum) of floats, p = 4", "µs per call", None),
    ("hostsapart-latency", "pingpong-latency", None, "Hosts apart (veth): ping-pong latency "
     "(one way)", "µs", {VETH}),
    ("hostsapart-bandwidth", "pingpong-bandwidth", None, "Hosts apart (veth): ping-pong "
     "bandwidth", "MB/s", {VETH}),
    ("hostsapart-allreduce2", "allreduce", 2, "Hosts apart (veth): allreduce of floats, "
     "p = 2, one rank per host", "µs per call", {VETH}),
    ("hostsapart-allreduce4", "allreduce", 4, "Hosts apart (veth): allreduce of floats, "
     "p = 4, two ranks per host", "µs per call", {VETH}),
]


def draw(stats, results, relative, plots):
    for name, benchmark, ranks, title, ylabel, transports in PLOTS:
        also = (INTO[benchmark], " into") if benchmark in INTO else None
        png = base.plot(stats, benchmark, ranks, results / f"{name}.png", title, ylabel,
                        transports=transports, also=also)
        plots[name] = f"{relative}/{png}" if png else ""


def columns_table(stats, benchmark, ranks, columns):
    """One row per size, one column per (system, transport) measured, with the ratio to its
    anchor. A column of four, (system, transport, anchor, other benchmark), shows that
    benchmark's rows (named in its heading) against the anchor of this one."""
    columns = [c if len(c) == 4 else c + (benchmark,) for c in columns]
    sizes = sorted({k[4] for k in stats.samples if k[3] == ranks
                    and any(k[:3] == (b, s, t) for s, t, _, b in columns)})
    present = [c for c in columns if any(stats.get(c[3], c[0], c[1], ranks, n) for n in sizes)]
    rows = [[base.human_size(n)] + [
        base.cell(stats, (b, s, t, ranks, n), (benchmark, a[0], a[1], ranks, n) if a else None)
        for s, t, a, b in present] for n in sizes]
    heading = lambda s, t, b: f"{s} ({t})" if b == benchmark else f"{s} {b} ({t})"
    return base.table(["size"] + [heading(s, t, b) for s, t, _, b in present],
                      rows) if rows else ""


# ---- targets

def evaluate_targets(stats, paired, add, ratio, hilo_mpi, judged):
    """Appends (through report.evaluate_targets' `add`) the targets of issue 19 (all-to-all,
    scan) and issue 21 (ping-pong and windows against the single-copy-off path, same-host
    all-reduce, hosts apart)."""
    pingpong = lambda system, transport, size: stats.median(
        "pingpong-bandwidth", system, transport, 2, size)
    sizes = stats.sizes("pingpong-bandwidth")

    def bandwidth_ratio(a, b, size):
        x, y = pingpong(*a, size), pingpong(*b, size)
        return x / y if x and y else None

    add("hilorun same-host 8 B ping-pong latency ≤ 2× raw MPI over vader",
        [ratio("pingpong-latency", ("hilo-tcp", "shm"), ("mpi", "shm"), 2, 8)],
        lambda v: v <= 2.0, lambda v: (f"×{v[0]:.2f}", v[0]))
    add("hilorun same-host 1 MiB and 16 MiB ping-pong bandwidth ≥ 0.9× vader",
        [bandwidth_ratio(("hilo-tcp", "shm"), ("mpi", "shm"), s) for s in (1 << 20, 16 << 20)],
        lambda v: v >= 0.9, lambda v: (f"worst ×{min(v):.2f} (over {len(v)} sizes)", min(v)))
    for other, name in ((("mpi", "tcp"), "the TCP BTL"),
                        (("hilo-tcp", "shm-no-single-copy"), "its own single-copy-off path")):
        add(f"hilorun same-host ping-pong at every size ≥ 1.0× {name} (bandwidth)",
            [bandwidth_ratio(("hilo-tcp", "shm"), other, s) for s in sizes],
            lambda v: v >= 1.0,
            lambda v: (f"worst ×{min(v):.2f}, median ×{statistics.median(v):.2f} "
                       f"(over {len(v)} sizes)", min(v)))
    add("hilorun same-host windowed bandwidth (p2p family) at every size ≥ 1.0× the TCP BTL",
        [ratio("bandwidth", ("hilo-tcp", "shm"), ("mpi", "tcp"), 2, s)
         for s in stats.sizes("bandwidth")],
        lambda v: v >= 1.0,
        lambda v: (f"worst ×{min(v):.2f}, median ×{statistics.median(v):.2f} "
                   f"(over {len(v)} sizes)", min(v)))
    # The allreduce family runs hilo-tcp under plain hilorun, so its ranks (all on this host)
    # use the same-host paths; its rows say transport "tcp" for the backend.
    add("allreduce among same-host hilorun ranks ≤ 1.0× MPI_Allreduce over vader (every size, "
        "p = 2 and 4)",
        [ratio("allreduce", ("hilo-tcp", "tcp"), ("mpi", "shm"), p, s)
         for p in (2, 4) for s in stats.sizes("allreduce", p)],
        lambda v: v <= 1.0,
        lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}", max(v)))
    # The windows (p2p family, 64 messages in flight) against the same single-copy-off path.
    add("hilorun same-host windows at every size ≥ 1.0× its own single-copy-off path "
        "(bandwidth)",
        [ratio("bandwidth", ("hilo-tcp", "shm"), ("hilo-tcp", "shm-no-single-copy"), 2, s)
         for s in stats.sizes("bandwidth")],
        lambda v: v >= 1.0,
        lambda v: (f"worst ×{min(v):.2f}, median ×{statistics.median(v):.2f} "
                   f"(over {len(v)} sizes)", min(v)))
    add("hilo-mpi at its default thread level: 8 B and 1 KiB ping-pong latency ≤ 1.05× raw MPI "
        "(vader; separate runs)",
        [ratio("pingpong-latency", ("hilo-mpi", "shm"), ("mpi", "shm"), 2, s) for s in (8, 1024)],
        lambda v: v <= 1.05, lambda v: (f"worst ×{max(v):.2f} (8 B and 1 KiB)", max(v)))

    # The all-to-all's and the scan's targets are judged on all_to_all_into and scan_into (rows
    # alltoall-into, scan-into), the forms with the MPI call's semantics: the result goes into a
    # buffer the program keeps.
    def versus(benchmark, hilo, p, s):
        x = stats.median(hilo, "hilo-tcp", "tcp", p, s)
        y = stats.median(benchmark, "mpi", "tcp", p, s)
        return x / y if x and y else None

    for benchmark, call in (("alltoall", "MPI_Alltoall"), ("scan", "MPI_Scan")):
        hilo = INTO[benchmark]
        every = [(p, s) for p in (2, 4) for s in stats.sizes(benchmark, p)]
        name = f"{benchmark} ({INTO_CALL[benchmark]})"
        add(f"hilo-tcp {name} ≤ 1.0× {call} over the TCP BTL (every size, p = 2 and 4)",
            [versus(benchmark, hilo, p, s) for p, s in every], lambda v: v <= 1.0,
            lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}", max(v)))
        v, how = judged([hilo_mpi(hilo, "shm", p, s, anchor=benchmark) for p, s in every])
        add(f"hilo-mpi {name} ≤ 1.05× {call} (every size, p = 2 and 4)", v,
            lambda v: v <= 1.05,
            lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}{how}", max(v)))

    apart = stats.sizes("pingpong-bandwidth")
    add("hosts apart (veth): hilo-tcp ping-pong ≥ 1.0× the TCP BTL at every size (bandwidth)",
        [ratio("pingpong-bandwidth", ("hilo-tcp", VETH), ("mpi", VETH), 2, s) for s in apart],
        lambda v: v >= 1.0,
        lambda v: (f"worst ×{min(v):.2f}, median ×{statistics.median(v):.2f}", min(v)))
    versus_btl, versus_gloo = [], []
    for p in (2, 4):
        for s in stats.sizes("allreduce", p):
            hilo = stats.median("allreduce", "hilo-tcp", VETH, p, s)
            gloo = [g for g in (stats.median("allreduce", g, VETH, p, s)
                                for g in ("gloo-ring", "gloo-hd")) if g]
            if hilo and gloo:
                versus_gloo.append(min(gloo) / hilo)
            versus_btl.append(ratio("allreduce", ("hilo-tcp", VETH), ("mpi", VETH), p, s))
    add("hosts apart (veth): hilo-tcp allreduce no slower than MPI_Allreduce over the TCP BTL, "
        "every size", versus_btl, lambda v: v <= 1.0,
        lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}", max(v)))
    add("hosts apart (veth): hilo-tcp allreduce ≥ 3× faster than Gloo (the faster of ring and "
        "halving-doubling), every size", versus_gloo, lambda v: v >= 3,
        lambda v: (f"worst {min(v):.2f}× faster, best {max(v):.2f}×", min(v)))


# ---- the document's sections

def pingpong_sections(stats, plots):
    if not stats.sizes("pingpong-latency"):
        return []
    return [
        "## Ping-pong: one message in flight (same host)", "",
        "The loop of OSU's osu_latency: rank 0 sends, rank 1 sends the message back, and only "
        "then the next one goes; no window hides a slow path. The latency is half the round "
        "trip; the bandwidth is the size over that one-way time. Every hilo system runs at its "
        "defaults: hilo-mpi at its default thread level (no HILO_MPI_THREADS), hilo-tcp "
        "under `hilorun` (`hilo-tcp (shm)`: ranks of one host through the shared-memory rings, "
        "single copy from 16 MiB), beside the same program with `HILO_TCP_SHM=off` "
        "(`hilo-tcp (tcp)`, loopback sockets) and with `HILO_TCP_SINGLE_COPY=off` "
        "(`hilo-tcp (shm-no-single-copy)`). Ratios are to raw MPI over vader for the shm "
        "columns and hilo-local, to the TCP BTL for the others.", "",
        "### Latency (µs, one way)", "",
        columns_table(stats, "pingpong-latency", 2, PINGPONG_COLUMNS), "",
        f"![ping-pong latency]({plots['pingpong-latency']})", "",
        "### Bandwidth (MB/s)", "",
        columns_table(stats, "pingpong-bandwidth", 2, PINGPONG_COLUMNS), "",
        f"![ping-pong bandwidth]({plots['pingpong-bandwidth']})", ""]


def collective_sections(stats, plots):
    out = []
    for benchmark, title, what in (
            ("alltoall", "All-to-all", "each rank sends a block of the size to every rank "
             "(hilo: a vector of `std::array<std::byte, size>`, by `out = all_to_all(mine)`, a "
             "new vector per call, and by `all_to_all_into(mine, out)` into a vector the program "
             "keeps, the columns marked alltoall-into, on which the targets are judged; "
             "`MPI_Alltoall` into a kept buffer; Gloo's `alltoall`)"),
            ("scan", "Scan", "inclusive prefix sum of a vector of floats of the size "
             "(hilo: by `out = scan(v, std::plus<>{})`, a new vector per call, and by "
             "`scan_into(v, out, std::plus<>{})` into a vector the program keeps, the columns "
             "marked scan-into, on which the targets are judged; `MPI_Scan` into a kept "
             "buffer)")):
        for p in (2, 4):
            if not stats.sizes(benchmark, p):
                continue
            out += [f"## {title}, p = {p} (µs per call, the slowest rank's)", "",
                    f"{what[0].upper() + what[1:]}. Anchors: the MPI call over vader for "
                    "hilo-mpi and hilo-local, over the TCP BTL for hilo-tcp and Gloo.", "",
                    columns_table(stats, benchmark, p, into_columns(benchmark)), "",
                    f"![{benchmark} p={p}]({plots[f'{benchmark}{p}']})", ""]
    return out


def hosts_apart_sections(stats, plots):
    latency = columns_table(stats, "pingpong-latency", 2, HOSTS_APART_PINGPONG)
    if not latency:
        return []
    out = ["## Hosts apart: two network namespaces over veth", "",
           "Ranks on two hosts of the netns test bed (`scripts/netns-hosts`: network namespaces "
           "on this machine, joined by veth through a bridge), so no rank can read another's "
           "memory: everything goes through TCP. Ping-pong with one rank per host; allreduce "
           "with one (p = 2) and two (p = 4) ranks per host. hilo-tcp under `hilorun "
           "--hostfile`, Open MPI's TCP BTL under `mpirun --hostfile`, Gloo listening on its "
           "host's address; the anchor is the TCP BTL.", "",
           "### Ping-pong latency (µs, one way)", "", latency, "",
           f"![hosts apart latency]({plots['hostsapart-latency']})", "",
           "### Ping-pong bandwidth (MB/s)", "",
           columns_table(stats, "pingpong-bandwidth", 2, HOSTS_APART_PINGPONG), "",
           f"![hosts apart bandwidth]({plots['hostsapart-bandwidth']})", ""]
    for p, per_host in ((2, "one rank"), (4, "two ranks")):
        text = columns_table(stats, "allreduce", p, HOSTS_APART_ALLREDUCE)
        if text:
            picture = plots[f"hostsapart-allreduce{p}"]
            out += [f"### Allreduce of floats, p = {p}, {per_host} per host (µs per call)", "",
                    text, "", f"![hosts apart allreduce p={p}]({picture})", ""]
    return out


def paired_tables(paired):
    """hilo-mpi ÷ the MPI call under it, paired in one process, for all-to-all and scan."""
    out = []
    for benchmark, title in (("paired-alltoall", "All-to-all, `out = all_to_all(mine)` "
                              "(shared memory)"),
                             ("paired-alltoall-into", "All-to-all, `all_to_all_into(mine, out)` "
                              "(shared memory)"),
                             ("paired-scan", "Scan of floats, `out = scan(v, op)` "
                              "(shared memory)"),
                             ("paired-scan-into", "Scan of floats, `scan_into(v, out, op)` "
                              "(shared memory)")):
        rows = [[base.human_size(size)] + [base.paired_cell(paired, (benchmark, "shm", p, size))
                                           for p in (2, 4)]
                for size in base.paired_sizes(paired, benchmark)]
        if rows:
            out += [f"{title}:", "", base.table(["size", "p = 2", "p = 4"], rows), ""]
    return out

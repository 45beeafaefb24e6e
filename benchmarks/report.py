#!/usr/bin/env python3
"""Turns a results folder's *.csv into PNG plots (gnuplot) and a PERFORMANCE.md.

    report.py --results DIR [--doc FILE]

The plots go into DIR, the document to FILE (default DIR/PERFORMANCE.md). ./scripts/bench
--publish passes benchmarks/results and docs/PERFORMANCE.md, the committed ones.

Per benchmark: the median over repetitions, the min-max spread, the ratio to the anchor (raw
MPI for hilo-mpi and Boost.MPI, MPI over the TCP BTL for hilo-tcp, Boost.MPI for serialized
data, std:: for the primitives, the seed's Python for the seed), the machine, and the project's
targets, met or missed; hilo-mpi's targets on the paired runs (hilo-mpi and its anchor
interleaved in one process) where present. benchmarks/performance_notes.md (written by hand,
after profiling: what the numbers mean, why a target is missed) is copied in. The development
history (benchmarks/analysis.md) is not: the document is for users.
"""
import argparse
import os
import pathlib
import statistics

from report_common import (Stats, cell, fmt, human_size, load, load_paired, paired_cell,
                           paired_sizes, plot, table)
import report_pingpong_exchange as families

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


# bench_serialized's two ways to receive (benchmark name, what the rows say).
SERIALIZED = [("serialized", "each receive builds a new vector"),
              ("serialized-into", "each receive overwrites the previous vector")]


# ---- targets

def paired_median(paired, benchmark, transport, ranks, size, invert=False):
    values = paired.get((benchmark, transport, ranks, size))
    if not values:
        return None
    return statistics.median([1 / v for v in values] if invert else values)


def user_build_ratio(stats, op, ranks, size):
    """bench_allreduce_user's -O0 build ÷ its Release build (medians), or None."""
    o0 = stats.median("allreduce-user-build", f"{op}-O0", "tcp", ranks, size)
    release = stats.median("allreduce-user-build", f"{op}-opt", "tcp", ranks, size)
    return o0 / release if o0 and release else None


def evaluate_targets(stats, paired):
    """(target, measured, status) rows for the project's targets. hilo-mpi's are judged on the
    paired runs (hilo-mpi and its anchor interleaved in one process) where there are any."""
    rows = []

    def ratio(benchmark, a, b, ranks, size):
        x, y = stats.median(benchmark, *a, ranks, size), stats.median(benchmark, *b, ranks, size)
        return x / y if x and y else None

    def add(target, values, good, describe):
        values = [v for v in values if v is not None]
        if not values:
            rows.append((target, "no data", "not measured"))
            return
        worst = describe(values)
        rows.append((target, worst[0], "met" if good(worst[1]) else "**missed**"))

    def hilo_mpi(benchmark, transport, ranks, size, invert=False, anchor=None):
        """The paired median if there is one, else the ratio of the separate runs' medians. The
        anchor's rows are `anchor`'s (default: the same benchmark's): an into form's hilo rows
        (scan-into) compare with the plain MPI call's rows (scan), which have no into form."""
        found = paired_median(paired, "paired-" + benchmark, transport, ranks, size, invert)
        if found is not None:
            return found, True
        a, b = ("boost-mpi", "hilo-mpi") if invert else ("hilo-mpi", "mpi")
        x = stats.median(benchmark, a, transport, ranks, size)
        y = stats.median(anchor or benchmark, b, transport, ranks, size)
        return (x / y if x and y else None), False

    def judged(results):
        values = [v for v, _ in results]
        how = " (paired)" if results and all(p for _, p in results) else " (separate runs)"
        return values, how

    for t in ("shm", "tcp"):
        v, how = judged([hilo_mpi("latency", t, 2, 8)])
        add(f"hilo-mpi ({t}) 8 B latency ≤ 1.05× raw MPI", v, lambda v: v <= 1.05,
            lambda v: (f"×{v[0]:.2f}{how}", v[0]))
        big = [s for s in stats.sizes("bandwidth") if s >= 1 << 20]
        v, how = judged([hilo_mpi("bandwidth", t, 2, s) for s in big])
        add(f"hilo-mpi ({t}) bandwidth ≥ 1 MiB ≥ 0.98× raw MPI", v, lambda v: v >= 0.98,
            lambda v: (f"worst ×{min(v):.2f} (over {len(v)} sizes){how}", min(v)))
    v, how = judged([hilo_mpi("allreduce", "shm", p, s)
                     for p in (2, 4) for s in stats.sizes("allreduce", p)])
    add("hilo-mpi allreduce ≤ 1.05× MPI_Allreduce (every size, p = 2 and 4)", v,
        lambda v: v <= 1.05,
        lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}{how}", max(v)))
    for benchmark, receive in SERIALIZED:
        v, how = judged([hilo_mpi(benchmark, "shm", 2, s, invert=True)
                         for s in stats.sizes(benchmark)])
        add(f"hilo-mpi serialized struct vector ≥ 2× faster than Boost.MPI ({receive})", v,
            lambda v: v >= 2,
            lambda v: (f"worst {min(v):.2f}× faster, best {max(v):.2f}×{how}", min(v)))
    add("hilo-tcp on sockets (HILO_TCP_SHM=off) 8 B latency ≤ 1.0× the TCP BTL",
        [ratio("latency", ("hilo-tcp", "tcp"), ("mpi", "tcp"), 2, 8)], lambda v: v <= 1.0,
        lambda v: (f"×{v[0]:.2f}", v[0]))
    add("hilo-tcp on sockets (HILO_TCP_SHM=off) 16 MiB bandwidth ≥ 1.5× the TCP BTL",
        [ratio("bandwidth", ("hilo-tcp", "tcp"), ("mpi", "tcp"), 2, 16 << 20)],
        lambda v: v >= 1.5, lambda v: (f"×{v[0]:.2f}", v[0]))
    speedups, versus_btl = [], []
    for p in (2, 4):
        for s in stats.sizes("allreduce", p):
            hilo = stats.median("allreduce", "hilo-tcp", "tcp", p, s)
            gloo = [stats.median("allreduce", g, "tcp", p, s) for g in ("gloo-ring", "gloo-hd")]
            gloo = [g for g in gloo if g]
            if hilo and gloo:
                speedups.append(min(gloo) / hilo)
            versus_btl.append(ratio("allreduce", ("hilo-tcp", "tcp"), ("mpi", "tcp"), p, s))
    add("hilo-tcp allreduce ≥ 3× faster than Gloo (the faster of ring and halving-doubling), "
        "every size", speedups, lambda v: v >= 3,
        lambda v: (f"worst {min(v):.2f}× faster, best {max(v):.2f}×", min(v)))
    add("hilo-tcp allreduce no slower than MPI_Allreduce over the TCP BTL, every size",
        versus_btl, lambda v: v <= 1.0,
        lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}", max(v)))
    v = [user_build_ratio(stats, "plus", p, s) for p in (2, 4) for s in (1 << 20, 16 << 20)]
    add("an unoptimised (-O0) user program's allreduce (std::plus<>) within 1.1× of its Release "
        "build at 1 MiB and 16 MiB (hilo-tcp, p = 2 and 4)", v, lambda v: v <= 1.1,
        lambda v: (f"worst ×{max(v):.2f}, median ×{statistics.median(v):.2f}", max(v)))
    add("hilo-local 8 B latency < 1 µs", [stats.median("latency", "hilo-local", "threads", 2, 8)],
        lambda v: v < 1.0, lambda v: (f"{v[0]:.2f} µs", v[0]))
    add("hilo-local 8 B–256 B window rate ≥ 1.0× MPI over shared memory (vader)",
        [ratio("bandwidth", ("hilo-local", "threads"), ("mpi", "shm"), 2, s)
         for s in stats.sizes("bandwidth") if 8 <= s <= 256],
        lambda v: v >= 1.0, lambda v: (f"worst ×{min(v):.2f} (over {len(v)} sizes)", min(v)))
    for name in ("mutex", "semaphore", "barrier"):
        r = []
        for benchmark in sorted({k[0] for k in stats.samples if k[0].startswith(name + "_")}):
            for (system, transport, threads) in stats.lines(benchmark):
                if system == "hilo":
                    r.append(ratio(benchmark, ("hilo", transport), ("std", transport), threads, 0))
        add(f"hilo::{name.capitalize()} within 1.1× of std:: (uncontended and contended)", r,
            lambda v: v <= 1.1, lambda v: (f"worst ×{max(v):.2f}", max(v)))
    families.evaluate_targets(stats, paired, add, ratio, hilo_mpi, judged)
    return rows


# ---- the document

def machine(results):
    """The machine and time of the run, as run.py recorded them in run-info.txt."""
    info = {}
    run_info = results / "run-info.txt"
    if run_info.exists():
        info = dict(l.strip().split("=", 1) for l in open(run_info) if "=" in l)
    return [("CPU", info.get("cpu", "?")), ("cores (nproc)", info.get("nproc", "?")),
            ("kernel", info.get("kernel", "?")), ("run finished", info.get("finished", "?")),
            ("mode", info.get("mode", "?") + f", {info.get('seconds', '?')} s"),
            ("load average (1 min) before / after",
             f"{info.get('load_before', '?')} / {info.get('load_after', '?')}"),
    ] + ([("note", info["note"])] if "note" in info else [])


def p2p_table(stats, benchmark):
    columns = [("mpi", "shm", None), ("hilo-mpi", "shm", ("mpi", "shm")),
               ("boost-mpi", "shm", ("mpi", "shm")), ("mpi", "tcp", None),
               ("hilo-mpi", "tcp", ("mpi", "tcp")), ("hilo-tcp", "shm", ("mpi", "shm")),
               ("hilo-tcp", "tcp", ("mpi", "tcp")),
               ("hilo-tcp", "shm-no-single-copy", ("mpi", "shm")),
               ("sockets", "tcp", ("mpi", "tcp")), ("hilo-local", "threads", ("mpi", "shm"))]
    columns = [c for c in columns if stats.get(benchmark, c[0], c[1], 2,
                                               (stats.sizes(benchmark) or [0])[0])]
    rows = []
    for size in stats.sizes(benchmark):
        rows.append([human_size(size)] + [
            cell(stats, (benchmark, s, t, 2, size),
                 (benchmark, a[0], a[1], 2, size) if a else None) for s, t, a in columns])
    return table(["size"] + [f"{s} ({t})" for s, t, _ in columns], rows)


def allreduce_table(stats, ranks):
    columns = [("mpi", "shm", None), ("hilo-mpi", "shm", ("mpi", "shm")), ("mpi", "tcp", None),
               ("hilo-tcp", "tcp", ("mpi", "tcp")), ("gloo-ring", "tcp", ("mpi", "tcp")),
               ("gloo-hd", "tcp", ("mpi", "tcp")), ("hilo-local", "threads", ("mpi", "shm"))]
    rows = []
    for size in stats.sizes("allreduce", ranks):
        rows.append([human_size(size)] + [
            cell(stats, ("allreduce", s, t, ranks, size),
                 ("allreduce", a[0], a[1], ranks, size) if a else None) for s, t, a in columns])
    return table(["size"] + [f"{s} ({t})" for s, t, _ in columns], rows)


def user_build_table(stats):
    """One user program built -O0 and Release: each op's medians and the ratio -O0 ÷ Release."""
    rows = []
    for ranks in (2, 4):
        for size in stats.sizes("allreduce-user-build", ranks):
            row = [str(ranks), human_size(size)]
            for op in ("plus", "lambda"):
                ratio = user_build_ratio(stats, op, ranks, size)
                row += [cell(stats, ("allreduce-user-build", f"{op}-{build}", "tcp", ranks, size))
                        for build in ("O0", "opt")]
                row.append(f"**×{ratio:.2f}**" if ratio else "–")
            rows.append(row)
    return table(["p", "size", "std::plus<> -O0", "std::plus<> Release", "-O0 ÷ Release",
                  "lambda -O0", "lambda Release", "-O0 ÷ Release"], rows)


def serialized_table(stats, benchmark):
    rows = []
    for size in stats.sizes(benchmark):
        hilo = stats.median(benchmark, "hilo-mpi", "shm", 2, size)
        boost = stats.median(benchmark, "boost-mpi", "shm", 2, size)
        rows.append([f"{size // 32:,}", cell(stats, (benchmark, "hilo-mpi", "shm", 2, size)),
                     cell(stats, (benchmark, "boost-mpi", "shm", 2, size)),
                     f"{boost / hilo:.2f}×" if hilo and boost else "–"])
    return table(["elements", "hilo-mpi µs", "Boost.MPI µs (anchor)", "hilo faster by"], rows)


def paired_tables(paired):
    """hilo-mpi ÷ the MPI under it (and Boost.MPI ÷ hilo-mpi) from the paired runs."""
    out = []
    rows = [[human_size(size)] + [paired_cell(paired, (b, t, 2, size))
                                  for b in ("paired-latency", "paired-bandwidth")
                                  for t in ("shm", "tcp")]
            for size in paired_sizes(paired, "paired-latency")]
    if rows:
        out += [table(["size", "latency (shm)", "latency (tcp)", "bandwidth (shm)",
                       "bandwidth (tcp)"], rows), ""]
    rows = [[human_size(size)] + [paired_cell(paired, ("paired-allreduce", "shm", p, size))
                                  for p in (2, 4)]
            for size in paired_sizes(paired, "paired-allreduce")]
    if rows:
        out += ["Allreduce of floats (shared memory):", "",
                table(["size", "p = 2", "p = 4"], rows), ""]
    sizes = paired_sizes(paired, "paired-serialized")
    rows = [[f"{size // 32:,}"] + [paired_cell(paired, ("paired-" + b, "shm", 2, size), True)
                                   for b, _ in SERIALIZED]
            for size in sizes]
    if rows:
        out += ["Serialized vector of structs: how many times faster hilo-mpi is than Boost.MPI "
                "(Boost.MPI's time ÷ hilo-mpi's):", "",
                table(["elements"] + [f"hilo-mpi faster by ({r})" for _, r in SERIALIZED], rows),
                ""]
    return out


def sync_table(stats):
    rows = []
    for benchmark in ["mutex_uncontended", "mutex_contended", "semaphore_uncontended",
                      "semaphore_contended", "barrier_single", "barrier_contended", "pool_map"]:
        for (system, transport, threads) in stats.lines(benchmark):
            if system == "hilo":
                other = "std-async" if benchmark == "pool_map" else "std"
                rows.append([benchmark, str(threads),
                             cell(stats, (benchmark, "hilo", transport, threads, 0),
                                  (benchmark, other, transport, threads, 0)),
                             f"{other}: " + cell(stats, (benchmark, other, transport, threads, 0))])
    return table(["benchmark", "threads", "hilo ns/op (×std)", "anchor ns/op"], rows)


def seed_table(stats):
    rows = []
    python = stats.get("seed_pool_map", "python-pool", "process", 4, 0)
    hilo = stats.get("seed_pool_map", "hilo-pool_sum", "process", 4, 0)
    for name, s in (("python3 seed (Pool.map, 4 processes)", python),
                    ("hilo pool_sum (ThreadPool(4).map)", hilo)):
        if s:
            rows.append([name, f"{fmt(s[0])} <sub>[{fmt(s[1])}–{fmt(s[2])}]</sub>", str(s[3])])
    text = table(["program", "wall time ms", "runs"], rows)
    if python and hilo:
        text += f"\n\npool_sum finishes in 1/{python[0] / hilo[0]:.1f} of the Python's time."
    return text


def write_doc(stats, paired, units, results, doc, plots):
    source = results.resolve()
    if source.is_relative_to(ROOT):
        source = source.relative_to(ROOT)
    out = [f"<!-- Generated by benchmarks/report.py from {source}/*.csv: do not edit. "
           "Regenerate with ./scripts/bench --publish. -->",
           "# hilo performance",
           "",
           "Every comparison below ran side by side: one repetition of every system, then the "
           "next, so the machine's noise hits them alike. Cells show the **median** over the "
           "repetitions, the <sub>[min–max]</sub> spread, and **×ratio** to the anchor named "
           "in the column's note (time: lower is better; bandwidth: higher is better).",
           "",
           "To reproduce: `./scripts/bench` (about 20 minutes on 2 cores) or `./scripts/bench "
           "--quick` (smaller sizes, fewer repetitions) installs hilo into build/bench/prefix, "
           "builds the benchmarks against the installed package as a user's project would "
           "(find_package(hilo), Release), and writes the CSV, the plots and this page to "
           "build/bench/bench-results/; the committed "
           "ones (benchmarks/results/ and docs/PERFORMANCE.md) change only with `--publish`. "
           f"[benchmarks/README.md]({os.path.relpath(HERE / 'README.md', doc.parent)}) says what "
           "runs and how.",
           "",
           "## Machine", "",
           table(["", ""], [[k, v] for k, v in machine(results)]), ""]
    failures = results / "failures.txt"
    if failures.exists() and failures.read_text().strip():
        out += ["**Runs that failed** (their rows are missing):", "", "```",
                failures.read_text().strip(), "```", ""]
    out += ["## Targets", "",
            table(["target", "measured (medians)", "status"], evaluate_targets(stats, paired)),
            ""]
    notes = HERE / "performance_notes.md"
    if notes.exists():
        text = notes.read_text().strip()
        if text.startswith("<!--"):  # the note to maintainers at its top is not for readers
            text = text[text.index("-->") + 3:].strip()
        out += [text, ""]
    out += ["## Point-to-point latency (µs, one way; anchor: raw MPI on the same BTL)", "",
            "`hilo-tcp (shm)` is hilorun's default, ranks of one host exchanging messages through "
            "shared-memory rings; `hilo-tcp (tcp)` the same program with `HILO_TCP_SHM=off`, on "
            "loopback sockets; `hilo-tcp (shm-no-single-copy)` with `HILO_TCP_SINGLE_COPY=off`, "
            "the rings at every size (its ratio, like the default's, is to raw MPI over shared "
            "memory). "
            "hilo-local's ratio is to raw MPI over shared memory. `sockets (tcp)` is no library at "
            "all (one loopback TCP connection, blocking send, polling recv): the kernel's ceiling "
            "for every TCP transport; its ratio is to the TCP BTL.", "",
            p2p_table(stats, "latency"), "", f"![latency]({plots['latency']})", "",
            "## Point-to-point bandwidth (MB/s; anchor: raw MPI on the same BTL)", "",
            p2p_table(stats, "bandwidth"), "", f"![bandwidth]({plots['bandwidth']})", ""]
    out += families.pingpong_sections(stats, plots)
    for p in (2, 4):
        if stats.sizes("allreduce", p):
            out += [f"## Allreduce of floats, p = {p} (µs per call)", "",
                    "Anchors: MPI_Allreduce over shared memory for hilo-mpi and hilo-local, over "
                    "the TCP BTL for hilo-tcp and Gloo.", "",
                    allreduce_table(stats, p), "", f"![allreduce p={p}]({plots[f'allreduce{p}']})",
                    ""]
    out += families.collective_sections(stats, plots)
    out += families.hosts_apart_sections(stats, plots)
    if stats.sizes("allreduce-user-build"):
        out += ["## An unoptimised user program (allreduce of floats over hilo-tcp, µs per call)",
                "",
                "One program, built twice: with CMake's Release flags, and as CMake builds a "
                "project that sets no build type (no optimisation). Both link the same optimised "
                "libhilo; the two builds run interleaved under `hilorun --bind-to none`. For the "
                "built-in operations (std::plus<> here) the combining loop is compiled inside "
                "libhilo, so the program's flags should not matter. A user's own operation (the "
                "lambda) is combined by a loop compiled in the user's program, so that it "
                "inlines: it runs at the program's optimisation level.", "",
                user_build_table(stats), ""]
    if paired:
        out += ["## hilo-mpi against the MPI under it, paired in one process", "",
                "Separate processes differ in core placement and memory layout by more than hilo's "
                "own cost, so hilo-mpi's targets are judged here: one process per run measures "
                "hilo-mpi and its anchor (raw MPI calls; Boost.MPI for serialized data) over the "
                "same MPI, interleaved in blocks of about 1 ms on the same buffers (two "
                "measurements per size and process). Each cell is the median of the per-round "
                "ratios hilo-mpi ÷ anchor (time: lower is better; bandwidth: higher is better), "
                "their min–max, and how many rounds.", ""] + paired_tables(paired) + (
                    families.paired_tables(paired))
    out += ["## Serialized data: std::vector of {std::string, double, int64} (µs one way)", "",
            "Two ways to receive. A new vector per receive (`auto v = recv<std::vector<Record>>"
            "(…)`) also costs both systems one malloc and one free per record (the names are one "
            "past the small-string buffer) and fresh pages for the vector. Receiving into the "
            "vector the previous receive filled (`recv(from, tag, v)`, as a loop that keeps its "
            "variable does; Boost.MPI's only form) reuses the records' strings on both sides, so "
            "it compares the archives and the transfer.", ""]
    for benchmark, receive in SERIALIZED:
        if stats.sizes(benchmark):
            out += [f"### {receive[0].upper() + receive[1:]}", "", serialized_table(stats, benchmark),
                    "", f"![{benchmark}]({plots[benchmark]})", ""]
    out += ["## Intra-node primitives (Google Benchmark, real time per operation)", "",
            "pool_map is per task of a 1000-task map on 2 workers; its anchor is one std::async "
            "per task (there is no std:: pool).", "", sync_table(stats), "",
            "## The seed: Python Pool.map vs hilo (whole process, same list)", "",
            seed_table(stats), ""]
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("\n".join(out))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", required=True, help="folder of run.py's CSV; plots go here")
    parser.add_argument("--doc", help="the document to write (default: RESULTS/PERFORMANCE.md)")
    options = parser.parse_args()
    results = pathlib.Path(options.results)
    doc = pathlib.Path(options.doc) if options.doc else results / "PERFORMANCE.md"
    samples, units = load(results)
    stats = Stats(samples)
    paired = load_paired(results)
    relative = os.path.relpath(results, doc.parent)
    plots = {}
    specs = [("latency", "latency", None, "Point-to-point latency (one way)", "µs", False),
             ("bandwidth", "bandwidth", None, "Point-to-point bandwidth", "MB/s", False),
             ("allreduce2", "allreduce", 2, "Allreduce of floats, p = 2", "µs per call", False),
             ("allreduce4", "allreduce", 4, "Allreduce of floats, p = 4", "µs per call", False),
             ("serialized", "serialized", None,
              "Vector of structs, one way, a new vector per receive", "µs", True),
             ("serialized-into", "serialized-into", None,
              "Vector of structs, one way, received into the previous vector", "µs", True)]
    for name, benchmark, ranks, title, ylabel, elements in specs:
        png = plot(stats, benchmark, ranks, results / f"{name}.png", title, ylabel, elements)
        plots[name] = f"{relative}/{png}" if png else ""
    families.draw(stats, results, relative, plots)
    write_doc(stats, paired, units, results, doc, plots)
    print(f"wrote {doc} and {len(plots)} plots in {results}")


if __name__ == "__main__":
    main()

"""What benchmarks/report.py and its family sections (report_pingpong_exchange.py) share: the
results folder's CSV read into medians and paired ratios, a table and its cells, a plot."""
import collections
import csv
import pathlib
import statistics
import subprocess
import tempfile


def load(results):
    """{(benchmark, system, transport, ranks, size): [values]} and the unit of each benchmark."""
    samples, units = collections.defaultdict(list), {}
    for path in sorted(results.glob("*.csv")):
        with open(path) as f:
            for row in csv.DictReader(f):
                key = (row["benchmark"], row["system"], row["transport"], int(row["ranks"]),
                       int(row["size_bytes"]))
                samples[key].append(float(row["value"]))
                units[row["benchmark"]] = row["unit"]
    return samples, units


# Paired runs (bench::interleaved_seconds_per_step): hilo and its anchor interleaved in one process. benchmark ->
# (hilo's system, the anchor's system); within one process and size, the k-th row of each pair up.
PAIRED = {"paired-latency": ("hilo-mpi", "mpi"), "paired-bandwidth": ("hilo-mpi", "mpi"),
          "paired-allreduce": ("hilo-mpi", "mpi"), "paired-alltoall": ("hilo-mpi", "mpi"),
          "paired-alltoall-into": ("hilo-mpi", "mpi"),
          "paired-scan": ("hilo-mpi", "mpi"), "paired-scan-into": ("hilo-mpi", "mpi"),
          "paired-serialized": ("hilo-mpi", "boost-mpi"),
          "paired-serialized-into": ("hilo-mpi", "boost-mpi")}

def load_paired(results):
    """{(benchmark, transport, ranks, size): [hilo's value / the anchor's, one per round]}."""
    runs = collections.defaultdict(lambda: collections.defaultdict(list))
    for path in sorted(results.glob("*.csv")):
        with open(path) as f:
            for row in csv.DictReader(f):
                if row["benchmark"] in PAIRED:
                    process = (row["benchmark"], row["transport"], int(row["ranks"]),
                               int(row["size_bytes"]), row["repetition"], path.name)
                    runs[process][row["system"]].append(float(row["value"]))
    ratios = collections.defaultdict(list)
    for process, values in runs.items():
        hilo, anchor = PAIRED[process[0]]
        for h, a in zip(values[hilo], values[anchor]):
            ratios[process[:4]].append(h / a)
    return ratios


class Stats:
    def __init__(self, samples):
        self.samples = samples

    def get(self, benchmark, system, transport, ranks, size):
        values = self.samples.get((benchmark, system, transport, ranks, size))
        if not values:
            return None
        return statistics.median(values), min(values), max(values), len(values)

    def median(self, *key):
        s = self.get(*key)
        return s[0] if s else None

    def sizes(self, benchmark, ranks=None):
        return sorted({k[4] for k in self.samples if k[0] == benchmark
                       and (ranks is None or k[3] == ranks)})

    def lines(self, benchmark, ranks=None):
        """(system, transport, ranks) present for a benchmark, in first-seen order."""
        seen = []
        for k in self.samples:
            line = (k[1], k[2], k[3])
            if k[0] == benchmark and (ranks is None or k[3] == ranks) and line not in seen:
                seen.append(line)
        return seen


def human_size(n):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    if x >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def cell(stats, key, anchor_key=None):
    s = stats.get(*key)
    if not s:
        return "–"
    median, low, high, _ = s
    text = f"{fmt(median)} <sub>[{fmt(low)}–{fmt(high)}]</sub>"
    if anchor_key:
        anchor = stats.median(*anchor_key)
        if anchor:
            text += f" **×{median / anchor:.2f}**"
    return text


# ---- plots

# The hosts-apart family's transport: its rows share benchmark names with the same-host families
# (pingpong-*, allreduce), so every plot keeps only the transports it names; by default all but
# this one.
VETH = "veth"


def plot(stats, benchmark, ranks, path, title, ylabel, x_is_elements=False, transports=None,
         also=None):
    """`also`: (benchmark, label suffix) whose lines are drawn beside the benchmark's own."""
    kept = (lambda t: t != VETH) if transports is None else (lambda t: t in transports)
    drawn = [(benchmark, "")] + ([also] if also else [])
    lines = [(b, suffix) + line for b, suffix in drawn for line in stats.lines(b, ranks)
             if kept(line[1])]
    if not lines:
        return None
    sizes = sorted({k[4] for k in stats.samples if k[0] in {b for b, _ in drawn}
                    and (ranks is None or k[3] == ranks) and kept(k[2])})
    with tempfile.TemporaryDirectory() as tmp:
        series = []
        for i, (b, suffix, system, transport, r) in enumerate(lines):
            data = pathlib.Path(tmp) / f"{i}.dat"
            with open(data, "w") as f:
                for size in sizes:
                    s = stats.get(b, system, transport, r, size)
                    if s:
                        x = size / 32 if x_is_elements else size
                        f.write(f"{x} {s[0]} {s[1]} {s[2]}\n")
            label = system + suffix
            label = label if transport in ("threads", "process") else f"{label} ({transport})"
            dashed = " dt 2" if suffix else ""  # `also`'s lines, told apart from the rest
            series.append(f"'{data}' using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.6{dashed} "
                          f"title '{label}'")
        xlabel = "vector elements" if x_is_elements else "message size"
        # Tics on the measured sizes, in binary units (the series is powers of 4).
        if x_is_elements:
            tics = [(f"{n // 32:,}", n // 32) for n in sizes]
        else:
            step = 1 if len(sizes) <= 7 else 2
            tics = [(human_size(n).replace(" ", ""), n) for n in sizes[::-1][::step]]
        xtics = "(" + ", ".join(f"'{label}' {x}" for label, x in tics) + ")"
        script = f"""
set terminal pngcairo size 1000,640 font 'sans,11'
set output '{path}'
set title '{title}'
set logscale xy
set xtics {xtics}
set offsets graph 0.03, graph 0.03, 0, 0
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set grid
set key left top
plot {', '.join(series)}
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return path.name


# ---- tables

def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def paired_cell(paired, key, invert=False):
    values = paired.get(key)
    if not values:
        return "–"
    values = [1 / v for v in values] if invert else values
    return (f"×{statistics.median(values):.2f} <sub>[{min(values):.2f}–{max(values):.2f}]</sub>"
            f" n={len(values)}")


def paired_sizes(paired, benchmark, ranks=None):
    return sorted({k[3] for k in paired if k[0] == benchmark and (ranks is None or k[2] == ranks)})

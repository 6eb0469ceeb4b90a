"""docs/benchmarks.png from a run's figures (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot(data: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [name for name in ("reads", "requests", "peer", "load") if name in data]
    axes_needed = {"reads": 2, "requests": 1, "peer": 2, "load": 1}
    count = sum(axes_needed[p] for p in panels)
    columns = min(3, count)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4.2 * rows), squeeze=False)
    flat = list(axes.flat)
    for extra in flat[count:]:
        extra.set_visible(False)
    slots = iter(flat)
    if "reads" in data:
        _reads(data["reads"], next(slots), next(slots))
    if "requests" in data:
        _flows(data["requests"], next(slots))
    if "peer" in data:
        _peer(data["peer"], next(slots))
        _peer_curve(data["peer"], next(slots))
    if "load" in data:
        _load(data["load"], next(slots))
    figure.suptitle("Coperniq <-> QuickBooks connectors against the local sandboxes (python -m benchmarks)")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=110)
    plt.close(figure)


def _bars(ax, labels: list[str], series: dict[str, list[float]], colors: list[str]) -> None:
    width = 0.8 / len(series)
    for index, ((name, values), color) in enumerate(zip(series.items(), colors, strict=False)):
        positions = [i + (index - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(positions, values, width, label=name, color=color)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.legend(fontsize=8)


def _reads(data: dict, speed_ax, memory_ax) -> None:
    labels, speed, memory = [], {"ours": [], "bare requests+json": []}, {"ours": [], "bare requests+json": []}
    for connector, short in (("coperniq", "Coperniq"), ("quickbooks", "QBO")):
        for size, figures in sorted(data[connector].items(), key=lambda item: int(item[0])):
            labels.append(f"{short}\n{int(size) // 1000}k")
            speed["ours"].append(figures["ours"]["rate"])
            speed["bare requests+json"].append(figures["bare"]["rate"])
            memory["ours"].append(figures["ours"]["rss_mb"])
            memory["bare requests+json"].append(figures["bare"]["rss_mb"])
    _bars(speed_ax, labels, speed, ["tab:blue", "tab:gray"])
    speed_ax.set_title("Reads: records per second", fontsize=10)
    _bars(memory_ax, labels, memory, ["tab:blue", "tab:gray"])
    memory_ax.set_ylim(0, max(memory["ours"]) * 1.3)
    memory_ax.set_title("Reads: peak RSS of the reading process (MB)", fontsize=10)


def _flows(data: dict, ax) -> None:
    flows = data["flows"]
    labels = [f["flow"] for f in flows]
    series = {
        "ours": [f["coperniq"] * 1000 / f["written"] + f["quickbooks"] * 1000 / f["written"] for f in flows],
        "API minimum": [f["minimum"] * 1000 / f["written"] for f in flows],
        "naive (1 per record)": [1000.0 for _ in flows],
    }
    _bars(ax, labels, series, ["tab:blue", "tab:green", "tab:gray"])
    ax.set_yscale("log")
    ax.set_title("Requests per 1,000 records written (log)", fontsize=10)


def _peer(data: dict, ax) -> None:
    peer = data.get("peer")
    labels = ["requests", "records/s\nlocalhost"]
    ours = [data["ours"]["requests"], data["ours"]["rate"]]
    theirs = [peer["requests"] if peer else data["peer_computed"], peer["rate"] if peer else 0]
    if "ours_latency" in data and "peer_latency" in data:
        labels.append("records/s\n250 ms a request")
        ours.append(data["ours_latency"]["rate"])
        theirs.append(data["peer_latency"]["rate"])
    name = "Airbyte source-quickbooks" + ("" if peer else " (requests computed)")
    _bars(ax, labels, {"ours": ours, name: theirs}, ["tab:blue", "tab:orange"])
    ax.set_yscale("log")
    counts = data["counts"]
    ax.set_title(f"5 years, {counts['customers']:,} customers + {counts['invoices']:,} invoices (log)", fontsize=10)


def _peer_curve(data: dict, ax) -> None:
    """Requests to read five years of one stream, both algorithms, by the stream's size (computed)."""
    windows = 61
    sizes = [int(10 ** (2 + i / 20)) for i in range(0, 61)]  # 100 .. 100,000

    def theirs(n: int) -> int:
        per_window = n / windows
        return windows * (1 if per_window < 5 else int((per_window - 5) // 200) + 2)

    def ours(n: int) -> int:
        return 1 + n // 1000 + 1  # COUNT(*), full pages, the last (short or empty) page

    ax.plot(sizes, [theirs(n) / ours(n) for n in sizes], color="tab:purple", label="computed ratio")
    ax.axhline(25, color="tab:red", linestyle="--", label="target 25 x")
    for n in data["counts"].values():
        ax.axvline(n, color="tab:gray", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("records in the stream (spread evenly over 5 years)", fontsize=8)
    ax.set_ylabel("Airbyte's requests / ours")
    ax.legend(fontsize=8)
    ax.set_title("Request ratio by history size, one stream (dotted: this run)", fontsize=10)


def _load(data: dict, ax) -> None:
    labels = ["ours\n(measured, scaled back)", "API floor\n(1 write per customer)", "naive\n(computed)"]
    values = [data["real_minutes"], data["floor_minutes"], data["naive_minutes"]]
    ax.bar(labels, values, color=["tab:blue", "tab:green", "tab:gray"])
    ax.bar([0], [data["lower_minutes"]], color="tab:blue", edgecolor="white", hatch="//", alpha=0.5,
           label="ours: lower bound")
    texts = [f"{data['lower_minutes']:.1f}-{values[0]:.1f}", f"{values[1]:.1f}", f"{values[2]:.1f}"]
    for index, (value, text) in enumerate(zip(values, texts, strict=True)):
        ax.text(index, value, text, ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_ylabel("real minutes")
    ax.legend(fontsize=8)
    ax.set_title(f"{data['projects']:,}-customer initial load under Intuit's limits", fontsize=10)

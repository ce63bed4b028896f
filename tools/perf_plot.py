#!/usr/bin/env python3
"""Plots decode tok/s against weight bytes read per token, with the memory-bandwidth limit.

Usage: python3 tools/perf_plot.py OUT.png BENCH.json [BENCH.json ...]

Each BENCH.json is the output of `deepseek bench --json`. Every run becomes a point labelled by
model type and threads; for each run's measured bandwidth B the line tok/s = B / bytes is drawn
(a point on it reads weights at the full measured bandwidth). llama.cpp's figures from issue 6
(2 threads, measured by that issue's author on this machine) are drawn for comparison.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# (label, weight GB per token, tg128 tok/s at -t 2) from issue 6's table.
LLAMA_CPP = [
    ("Qwen-1.5B BF16", 3.09, 5.8), ("Qwen-1.5B Q8_0 (AMX)", 1.64, 15.0), ("Qwen-1.5B Q8_0", 1.64, 7.3),
    ("Qwen-1.5B Q4_K_M (AMX)", 0.98, 15.8), ("Qwen-1.5B Q4_K_M", 0.98, 13.0),
    ("V2-Lite-8L BF16", 1.75, 10.9), ("V2-Lite-8L Q8_0", 0.93, 14.5), ("V2-Lite-8L Q4_K_M", 0.60, 18.3),
]
LLAMA_CPP_BANDWIDTH_T2 = 25.0  # GB/s, the 2-thread read sweep


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    runs = [json.load(open(p)) for p in sys.argv[2:]]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    xs = [x / 100 for x in range(30, 401)]
    ax.plot(xs, [LLAMA_CPP_BANDWIDTH_T2 / x for x in xs], color="grey", ls=":",
            label=f"{LLAMA_CPP_BANDWIDTH_T2:.0f} GB/s (issue's 2-thread sweep, quiet machine)")
    ax.scatter([p[1] for p in LLAMA_CPP], [p[2] for p in LLAMA_CPP], marker="x", color="grey",
               label="llama.cpp tg128, -t 2 (issue 6)")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(runs):
        gb = r["weight_bytes_per_token"] / 1e9
        c = colors[i % len(colors)]
        name = f"{os.path.basename(r.get('model', ''))} {r.get('precision', 'f32')} -t {r['threads']}"
        # The sweep paired with each decode repetition when the run has it, else before/after.
        bw = r.get("paired_sweep_gb_s", r["bandwidth_gb_s"])
        frac = r.get("paired_fraction", r["bandwidth_fraction"])
        ax.plot(xs, [bw / x for x in xs], color=c, lw=0.8, alpha=0.6)
        ax.scatter([gb], [r["tg_tok_s"]], color=c, zorder=3,
                   label=f"deepseek {name}: {r['tg_tok_s']:.2f} tok/s, {frac:.2f} of {bw:.1f} GB/s")
    ax.set_xlabel("weight bytes read per decoded token (GB)")
    ax.set_ylabel("decode tok/s (tg)")
    ax.set_xlim(0.3, 4.0)
    ax.set_ylim(0, max(45, 1.15 * max(r["tg_tok_s"] for r in runs)))  # every point on the chart
    ax.set_title("Decode speed vs. weights per token (lines: tok/s = bandwidth / bytes)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(sys.argv[1], dpi=110)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Kernel latency: Stepwise against ipykernel, both started through jupyter_client.

For each kernel it measures, over several starts, start-to-ready: from KernelManager.start_kernel
until a kernel_info_reply has come back on shell and a status message on IOPub (the test
jupyter_client's wait_for_ready makes). wait_for_ready then also waits until IOPub has been
quiet for 200 ms, a fixed cost of the client whatever the kernel; that total is printed too.
Then the round trip of trivial executes (`1 + 1`): request sent → execute_reply, and → status
idle on IOPub (what a notebook waits for). It prints medians and Stepwise/ipykernel ratios.

Usage: .venv/bin/python bench/kernel_latency.py [--stepwise .build/release/stepwise] [--runs 200]
Goals: Stepwise's round trip at most half of ipykernel's; start-to-ready under 300 ms.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time
from queue import Empty

from jupyter_client.manager import KernelManager

ROOT = pathlib.Path(__file__).resolve().parents[1]


def start(kernel_name):
    """Starts a kernel as jupyter_client's wait_for_ready does, timing its two phases."""
    began = time.perf_counter()
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    while True:
        kc.kernel_info()
        try:
            reply = kc.get_shell_msg(timeout=1)
        except Empty:
            continue
        if reply["msg_type"] != "kernel_info_reply":
            continue
        try:
            kc.get_iopub_msg(timeout=0.2)
        except Empty:
            continue
        break
    ready = time.perf_counter() - began
    while True:  # wait_for_ready's flush: IOPub quiet for 200 ms
        try:
            kc.get_iopub_msg(timeout=0.2)
        except Empty:
            break
    return km, kc, (ready, time.perf_counter() - began)


def stop(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def round_trips(kc, code, runs):
    to_reply, to_idle = [], []
    for _ in range(runs):
        began = time.perf_counter()
        msg_id = kc.execute(code)
        while True:
            reply = kc.get_shell_msg(timeout=10)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        to_reply.append(time.perf_counter() - began)
        if reply["content"]["status"] != "ok":
            print(f"warning: `{code}` gave {reply['content']}", file=sys.stderr)
        while True:
            msg = kc.get_iopub_msg(timeout=10)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                break
        to_idle.append(time.perf_counter() - began)
    return statistics.median(to_reply), statistics.median(to_idle)


def measure(kernel_name, starts, runs):
    ready, waited = [], []
    for _ in range(starts):
        km, kc, (seconds, total) = start(kernel_name)
        ready.append(seconds)
        waited.append(total)
        stop(km, kc)
    km, kc, _ = start(kernel_name)
    try:
        round_trips(kc, "1 + 1", 20)  # warm-up
        reply, idle = round_trips(kc, "1 + 1", runs)
    finally:
        stop(km, kc)
    return {"ready": statistics.median(ready), "waited": statistics.median(waited), "reply": reply, "idle": idle}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stepwise", default=str(ROOT / ".build" / "release" / "stepwise"))
    parser.add_argument("--runs", type=int, default=200, help="executes per kernel")
    parser.add_argument("--starts", type=int, default=5, help="starts per kernel")
    args = parser.parse_args()

    prefix = tempfile.mkdtemp(prefix="stepwise-bench-")
    subprocess.run([args.stepwise, "install", "--prefix", prefix, "--name", "stepwise-bench"],
                   check=True, capture_output=True)
    os.environ["JUPYTER_PATH"] = os.path.join(prefix, "share", "jupyter")

    # One throwaway start, so that Python-side imports and caches do not count for either kernel.
    stop(*start("python3")[:2])
    results = {"stepwise": measure("stepwise-bench", args.starts, args.runs),
               "ipykernel": measure("python3", args.starts, args.runs)}

    print(f"{'kernel':<10} {'start-to-ready':>15} {'+200ms flush':>13} {'execute→reply':>14} {'execute→idle':>13}"
          f"   ({args.starts} starts, {args.runs} executes of `1 + 1`, medians)")
    for name, r in results.items():
        print(f"{name:<10} {r['ready'] * 1000:>12.0f} ms {r['waited'] * 1000:>10.0f} ms"
              f" {r['reply'] * 1000:>11.2f} ms {r['idle'] * 1000:>10.2f} ms")
    s, p = results["stepwise"], results["ipykernel"]
    print(f"{'ratio':<10} {s['ready'] / p['ready']:>15.2f} {s['waited'] / p['waited']:>13.2f}"
          f" {s['reply'] / p['reply']:>14.2f} {s['idle'] / p['idle']:>13.2f}"
          "   (stepwise / ipykernel; goals: round trip <= 0.5, start-to-ready < 300 ms)")


if __name__ == "__main__":
    sys.exit(main())

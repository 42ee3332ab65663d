"""Thousands of hostile cells, seeded, through `stepwise run` and through the real kernel.

(a) Batches of cells run as notebooks with `stepwise run` (every cell tagged `raises-exception`,
so one error does not stop the batch): each process must exit normally (never by a signal, never
by a timeout) and stay under the peak-memory bound. (b) Cells and interrupts go to a kernel
started with jupyter_client: it must answer every cell, never die, and come back to idle within a
second of every interrupt. The test prints its counts: cells run, errors by class, interrupts and
their worst latency, peak memory.

Reproduce (cell numbers in a failure refer to this seed):
  STEPWISE=.build/release/stepwise HOSTILE_SEED=20261205 .venv/bin/python -m pytest -q -s Tests/protocol/test_hostile_cells.py
HOSTILE_RUN_CELLS, HOSTILE_KERNEL_CELLS and HOSTILE_INTERRUPTS change how many of each run.
"""
import collections
import os
import pathlib
import random
import re
import resource
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from hostile_cells import HostileCells, notebook  # noqa: E402

KERNEL_NAME = "stepwise"  # The name conftest installs the kernelspec under.

SEED = int(os.environ.get("HOSTILE_SEED", "20261205"))
RUN_CELLS = int(os.environ.get("HOSTILE_RUN_CELLS", "9000"))
KERNEL_CELLS = int(os.environ.get("HOSTILE_KERNEL_CELLS", "1200"))
INTERRUPTS = int(os.environ.get("HOSTILE_INTERRUPTS", "60"))
BATCH = 250
# Values may take at most this much here (`%memory`'s default is 2 GB): hostile cells that reach
# for the limit then cost the shared CI machine (and the time budget) little, and the bound below
# can be tight.
MEMORY_LIMIT = "64MB"
# A process holds at most a few values near the limit at once (a value and its copy), plus the
# runtime, the engine and a tiny model: peak RSS must stay under this.
PEAK_RSS_BOUND = 512 << 20
INTERRUPT_LATENCY = 1.0
CELL_TIMEOUT = 60
ERROR_LINE = re.compile(r"^([A-Z][A-Za-z]*(?:Error|Exceeded)|Interrupted): ", re.MULTILINE)
MARKER = re.compile(r"^@@cell (\d+)$", re.MULTILINE)


def environment():
    env = dict(os.environ)
    env["STEPWISE_MEMORY_LIMIT"] = MEMORY_LIMIT
    return env


def errors_by_cell(stderr):
    """The first error kind each cell of a batch reported, by cell number (cells without one are absent)."""
    kinds = {}
    pieces = MARKER.split(stderr)
    for number, text in zip(pieces[1::2], pieces[2::2]):
        match = ERROR_LINE.search(text)
        if match:
            kinds[int(number)] = match.group(1)
    return kinds


def last_cell(stderr):
    numbers = MARKER.findall(stderr)
    return int(numbers[-1]) if numbers else None


def run_notebook(binary, path, timeout):
    """Runs `stepwise run path`; returns (exit status or None on timeout, stderr, seconds per cell).
    Each cell's time runs from its marker line on stderr to the next one."""
    process = subprocess.Popen([binary, "run", str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=environment(), cwd=path.parent)
    lines, starts = [], {}

    def read():
        for line in process.stderr:
            lines.append(line)
            if line.startswith(b"@@cell ") and line[7:].strip().isdigit():
                starts.setdefault(int(line[7:]), time.perf_counter())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        status = None
    reader.join()
    ended = time.perf_counter()
    order = sorted(starts)
    seconds = {cell: (starts[following] if following is not None else ended) - starts[cell]
               for cell, following in zip(order, order[1:] + [None])}
    return status, b"".join(lines).decode("utf-8", "replace"), seconds


def report(title, lines):
    print(f"\n== {title}", file=sys.__stdout__)
    for line in lines:
        print(f"   {line}", file=sys.__stdout__)
    sys.__stdout__.flush()


def test_hostile_cells_through_stepwise_run(stepwise_bin, tmp_path):
    generator = HostileCells(SEED)
    cells = [generator.cell() for _ in range(RUN_CELLS)]
    categories = collections.Counter(category for category, _ in cells)
    kinds = collections.Counter()
    slowest = []
    started = time.perf_counter()
    for first in range(0, len(cells), BATCH):
        batch = [source for _, source in cells[first:first + BATCH]]
        path = tmp_path / f"batch-{first}.ipynb"
        path.write_text(notebook(batch), encoding="utf-8")
        status, stderr, seconds = run_notebook(stepwise_bin, path, CELL_TIMEOUT * 4)
        number = last_cell(stderr)
        cell = batch[number] if number is not None else "?"
        if status is None:
            pytest.fail(f"seed {SEED}: `stepwise run` hung on cell {first + (number or 0)} ({path}):\n{cell[:500]}")
        if status != 0:
            how = f"signal {-status}" if status < 0 else f"status {status}"
            pytest.fail(f"seed {SEED}: `stepwise run` ended with {how} in cell {first + (number or 0)} ({path}):\n"
                        f"{cell[:500]}\n--- stderr tail:\n{stderr[-2000:]}")
        slowest = sorted(slowest + [(time_, first + cell_) for cell_, time_ in seconds.items()], reverse=True)[:5]
        batch_kinds = errors_by_cell(stderr)
        kinds.update(batch_kinds.values())
        kinds["(no error)"] += len(batch) - len(batch_kinds)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024

    # The issue's own examples, as scripts: a value 50,000 deep stops at the limit and exits with
    # an error, and the deepest allowed value is freed at exit without a crash.
    deep = tmp_path / "deep.sw"
    deep.write_text("var v = []\nfor i in 0..<50000 { v = [v] }\n")
    refused = subprocess.run([stepwise_bin, "run", str(deep)], capture_output=True, timeout=CELL_TIMEOUT, env=environment())
    assert refused.returncode == 1, refused.stderr.decode()[-1000:]
    assert b"MemoryError: the list would nest 1,001 lists or records deep" in refused.stderr
    deep.write_text("var v = []\nfor i in 0..<999 { v = [v] }\nvar f = { 0 }\nfor i in 0..<50000 { let g = f; f = { g() + 1 } }\nprint(v.count)\n")
    kept = subprocess.run([stepwise_bin, "run", str(deep)], capture_output=True, timeout=CELL_TIMEOUT, env=environment())
    assert kept.returncode == 0 and kept.stdout == b"1\n", kept.stderr.decode()[-1000:]

    report(f"stepwise run: {len(cells)} hostile cells in {len(range(0, len(cells), BATCH))} notebooks, {elapsed:.1f} s (seed {SEED})", [
        "by category: " + ", ".join(f"{name} {count}" for name, count in sorted(categories.items())),
        "outcome: " + ", ".join(f"{name} {count}" for name, count in kinds.most_common()),
        "slowest cells: " + ", ".join(f"#{number} {time_:.2f} s" for time_, number in slowest),
        f"crashes 0, hangs 0; peak RSS of a `stepwise run` process {peak / 2**20:.0f} MB (bound {PEAK_RSS_BOUND / 2**20:.0f} MB, values limited to {MEMORY_LIMIT})",
    ])
    assert sum(kinds.values()) == len(cells)
    assert peak < PEAK_RSS_BOUND, f"a `stepwise run` process peaked at {peak / 2**20:.0f} MB"


class Kernel:
    """A Stepwise kernel and a blocking client, with the helpers the test needs."""

    def __init__(self):
        from jupyter_client.manager import KernelManager

        self.manager = KernelManager(kernel_name=KERNEL_NAME)
        self.manager.start_kernel(env=environment())
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    @property
    def pid(self):
        return self.manager.provisioner.process.pid

    def peak_rss(self):
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def wait_idle(self, msg_id, timeout):
        """Waits for the kernel to go idle after `msg_id`; returns False on timeout."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                message = self.client.get_iopub_msg(timeout=max(0.01, deadline - time.perf_counter()))
            except Exception:  # queue.Empty: keep waiting until the deadline
                continue
            if (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle"):
                return True
        return False

    def reply(self, msg_id, timeout):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            try:
                message = self.client.get_shell_msg(timeout=max(0.01, deadline - time.perf_counter()))
            except Exception:
                continue
            if message["parent_header"].get("msg_id") == msg_id:
                return message["content"]
        return None

    def run(self, code, timeout=CELL_TIMEOUT):
        """Runs a cell; returns its reply's content, or None when no reply came in time."""
        msg_id = self.client.execute(code, allow_stdin=False, store_history=False)
        content = self.reply(msg_id, timeout)
        self.wait_idle(msg_id, 5)
        return content

    def started(self, code):
        """Sends `code` and waits until the kernel has begun running it."""
        msg_id = self.client.execute(code, allow_stdin=False, store_history=False)
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            message = self.client.get_iopub_msg(timeout=10)
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "execute_input":
                return msg_id
        raise AssertionError("the kernel never started the cell")

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


def test_hostile_cells_and_interrupts_through_the_kernel(stepwise_bin):
    generator = HostileCells(SEED + 1)
    choices = random.Random(SEED + 2)
    kernel = Kernel()
    kinds, categories = collections.Counter(), collections.Counter()
    latencies = []
    started = time.perf_counter()
    try:
        for number in range(KERNEL_CELLS):
            category, code = generator.cell()
            categories[category] += 1
            content = kernel.run(code)
            assert kernel.manager.is_alive(), f"seed {SEED}: the kernel died on kernel cell {number}:\n{code[:500]}"
            assert content is not None, f"seed {SEED}: no reply within {CELL_TIMEOUT} s to kernel cell {number}:\n{code[:500]}"
            kinds[content.get("ename", "(no error)") if content["status"] == "error" else "(no error)"] += 1

        # Interrupts at random moments of work that only an interrupt ends.
        for number in range(INTERRUPTS):
            code = generator.long_cell()
            msg_id = kernel.started(code)
            time.sleep(choices.uniform(0, 0.5))
            asked = time.perf_counter()
            kernel.manager.interrupt_kernel()
            idle = kernel.wait_idle(msg_id, 10)
            latency = time.perf_counter() - asked
            assert idle, f"seed {SEED}: interrupt {number} never brought the kernel back to idle:\n{code}"
            latencies.append(latency)
            content = kernel.reply(msg_id, 5)
            assert content is not None and content["status"] == "error", f"interrupt {number}: {content}\n{code}"
            kinds[content.get("ename")] += 1
            assert latency <= INTERRUPT_LATENCY, f"seed {SEED}: interrupt {number} took {latency:.2f} s:\n{code}"
            if number % 10 == 9:
                assert kernel.run("1 + 1", timeout=10)["status"] == "ok"

        # An interrupted evaluation says so, not "training".
        assert kernel.run("let task = synthetic(train: 50, test: 3000)\n"
                          "let student = t5(size: \"tiny\", tokenizer: task, vocabulary: 300, seed: 1)", timeout=120)["status"] == "ok"
        msg_id = kernel.started("evaluate(student, on: task.test, maxTokens: 64, rationales: false)")
        time.sleep(0.5)
        asked = time.perf_counter()
        kernel.manager.interrupt_kernel()
        assert kernel.wait_idle(msg_id, 10)
        latencies.append(time.perf_counter() - asked)
        content = kernel.reply(msg_id, 5)
        assert content["ename"] == "Interrupted" and content["evalue"].startswith("evaluation was interrupted after "), content
        assert latencies[-1] <= INTERRUPT_LATENCY
        assert kernel.manager.is_alive()
        peak = kernel.peak_rss()
    finally:
        kernel.close()
    elapsed = time.perf_counter() - started
    report(f"kernel: {KERNEL_CELLS} hostile cells and {len(latencies)} interrupts, {elapsed:.1f} s (seed {SEED})", [
        "by category: " + ", ".join(f"{name} {count}" for name, count in sorted(categories.items())),
        "outcome: " + ", ".join(f"{name} {count}" for name, count in kinds.most_common()),
        f"interrupts {len(latencies)}: worst latency {max(latencies):.3f} s, median {sorted(latencies)[len(latencies) // 2]:.3f} s",
        f"kernel deaths 0; kernel peak RSS {peak / 2**20:.0f} MB (bound {PEAK_RSS_BOUND / 2**20:.0f} MB, values limited to {MEMORY_LIMIT})",
    ])
    assert peak < PEAK_RSS_BOUND

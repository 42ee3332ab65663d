"""`stepwise explain --teacher openai` against a real OpenAI-compatible server: llama-cpp-python's
`llama_cpp.server` serving SmolLM2-135M-Instruct (Q4_1) on 127.0.0.1.

(a) An end-to-end rationale run on a few SVAMP test problems: rows in the store, outputs parsed or
    marked unparseable, the summary line, and a second run that is all hits.
(b) The kill test: SIGKILL `stepwise explain` mid-generation, run it again, and check that no
    completed call was lost or asked for again (the server's access log counts requests) and none
    was repeated (unique keys, rows == examples x samples).

Needs llama-cpp-python[server] (see requirements-teacher.txt) and the model from
scripts/fetch-models.sh; skipped with the reason when either is missing, unless
STEPWISE_REQUIRE_TEACHER=1, when that is a failure.
"""
import os
import pathlib
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODEL = pathlib.Path(os.environ.get("STEPWISE_TEACHER_MODEL", ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
DATA = pathlib.Path(os.environ.get("STEPWISE_DATA", ROOT.parent / "shared" / "datasets")) / "svamp"
SUMMARY = re.compile(r"^hits=(\d+) misses=(\d+) failures=(\d+) accuracy=(\d\.\d{4})$", re.M)
REQUEST_LOG = re.compile(r'"POST /v1/chat/completions HTTP/1\.1"')
GENERATION_LOG = re.compile(r"llama_perf_context_print: +total time")


def missing(reason):
    if os.environ.get("STEPWISE_REQUIRE_TEACHER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama_cpp.server on a free loopback port; its log counts the requests it served."""

    def __init__(self, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "w")
        env = dict(os.environ, OMP_WAIT_POLICY="passive")
        threads = os.environ.get("STEPWISE_TEACHER_THREADS", "1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(MODEL), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "2048", "--n_threads", threads, "--n_threads_batch", threads],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited: {pathlib.Path(log_path).read_text()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/v1/models", timeout=2).read()
                return
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("llama_cpp.server did not start within 120 s")

    def requests_served(self):
        return len(REQUEST_LOG.findall(pathlib.Path(self.log_path).read_text(errors="replace")))

    def generations_run(self):
        """Completions the model ran, including one whose client was killed (never logged as served)."""
        return len(GENERATION_LOG.findall(pathlib.Path(self.log_path).read_text(errors="replace")))

    def settle(self):
        """Waits until a call abandoned by a killed client has finished on the server, by queueing
        a one-token request behind it (the server runs one completion at a time)."""
        body = b'{"model":"x","messages":[{"role":"user","content":"hi"}],"max_tokens":1}'
        request = urllib.request.Request(self.url + "/v1/chat/completions", data=body,
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=120).read()
        time.sleep(0.3)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    try:
        import llama_cpp.server  # noqa: F401
    except ImportError as error:
        missing(f"llama-cpp-python[server] is not installed ({error}); see requirements-teacher.txt")
    if not MODEL.exists():
        missing(f"{MODEL} is missing; run scripts/fetch-models.sh")
    if not DATA.exists():
        missing(f"SVAMP data not found at {DATA}; set STEPWISE_DATA")
    started = LlamaServer(str(tmp_path_factory.mktemp("llama") / "server.log"))
    yield started
    started.stop()


def explain_args(binary, server, store, limit, max_tokens):
    return [binary, "explain", "--task", "svamp", "--data", str(DATA), "--split", "test", "--teacher", "openai",
            "--base-url", server.url, "--model", "smollm2-135m", "--store", str(store), "--limit", str(limit),
            "--samples", "1", "--concurrency", "1", "--shots", "1", "--max-tokens", str(max_tokens),
            "--temperature", "0", "--seed", "7", "--timeout", "120"]


def rows(store):
    with sqlite3.connect(store) as db:
        return db.execute("SELECT key, example_id, sample, status, raw, label, parse_failure, created_at "
                          "FROM teacher_calls ORDER BY example_id, sample").fetchall()


def count_rows(store):
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT count(*) FROM teacher_calls").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_explain_end_to_end(stepwise_bin, server, tmp_path):
    store = tmp_path / "rationales.sqlite"
    started = time.time()
    first = subprocess.run(explain_args(stepwise_bin, server, store, 8, 48), capture_output=True, text=True, timeout=300)
    elapsed = time.time() - started
    assert first.returncode == 0, first.stderr + first.stdout
    summary = SUMMARY.search(first.stdout)
    assert summary, first.stdout
    hits, misses, failures, accuracy = int(summary[1]), int(summary[2]), int(summary[3]), float(summary[4])
    assert (hits, misses, failures) == (0, 8, 0)
    assert 0.0 <= accuracy <= 1.0
    stored = rows(store)
    assert len(stored) == 8
    for key, example_id, sample, status, raw, label, parse_failure, created_at in stored:
        assert status == "ok" and raw, (example_id, raw)
        assert (label is None) != (parse_failure is None), "each output is parsed or marked unparseable"
        assert re.fullmatch(r"[0-9a-f]{64}", key)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    print(f"\nend-to-end: 8 calls in {elapsed:.1f} s; {first.stdout.strip().splitlines()[-1]}")

    served = server.requests_served()
    again = subprocess.run(explain_args(stepwise_bin, server, store, 8, 48), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert SUMMARY.search(again.stdout).group(1, 2, 3) == ("8", "0", "0")
    assert server.requests_served() == served, "a run over stored calls asks the server nothing"


def test_kill_mid_generation_loses_and_repeats_nothing(stepwise_bin, server, tmp_path):
    store = tmp_path / "killed.sqlite"
    total = 30
    args = explain_args(stepwise_bin, server, store, total, 16)
    server.settle()
    before_first = server.generations_run()
    started = time.time()
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while count_rows(store) < 4 and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    time.sleep(0.25)  # into the next call's generation
    assert first.poll() is None, "the first run finished before it could be killed: " + first.stdout.read()
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert first.returncode == -signal.SIGKILL
    killed_at = time.time() - started

    survivors = rows(store)
    assert 4 <= len(survivors) < total
    assert all(row[3] == "ok" for row in survivors)
    server.settle()
    run_for_first = server.generations_run() - before_first - 1  # minus settle's own request
    before_second = server.requests_served()

    second = subprocess.run(args, capture_output=True, text=True, timeout=400)
    assert second.returncode == 0, second.stderr + second.stdout
    summary = SUMMARY.search(second.stdout)
    assert summary, second.stdout
    assert (int(summary[1]), int(summary[2]), int(summary[3])) == (len(survivors), total - len(survivors), 0)
    asked_by_second = server.requests_served() - before_second
    assert asked_by_second == total - len(survivors), "only missing calls reach the server"

    final = rows(store)
    assert len(final) == total, "rows == examples x samples"
    assert len({row[0] for row in final}) == total, "unique keys"
    assert len({(row[1], row[2]) for row in final}) == total, "one row per (example, sample)"
    by_key = {row[0]: row for row in final}
    for row in survivors:
        assert by_key[row[0]] == row, "a row from the killed run is unchanged (same output, same created_at)"
    print(f"\nkill test: killed after {killed_at:.1f} s with {len(survivors)} rows stored and "
          f"{run_for_first} generations run for it (killed mid-generation: {run_for_first > len(survivors)}); "
          f"the second run asked {asked_by_second} and took {time.time() - started - killed_at:.1f} s; "
          f"{second.stdout.strip().splitlines()[-1]}")

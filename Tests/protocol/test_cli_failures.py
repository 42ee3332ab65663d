"""Commands fail loudly: a teacher that never answers, a missing script, and the REPL's `exit`."""
import http.server
import json
import socket
import subprocess
import threading
import time


def run(binary, *args, timeout=60, cwd=None, stdin=None):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, input=stdin)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_explain_without_a_server_fails_at_once_and_says_how_to_start_one(stepwise_bin, tmp_path):
    port = free_port()
    started = time.monotonic()
    r = run(stepwise_bin, "explain", "--task", "synthetic", "--teacher", "openai", "--base-url", f"http://127.0.0.1:{port}",
            "--model", "local", "--store", str(tmp_path / "s.sqlite"), "--limit", "5")
    elapsed = time.monotonic() - started
    assert r.returncode != 0
    assert f"nothing answers at http://127.0.0.1:{port}" in r.stderr
    assert "python -m llama_cpp.server" in r.stderr
    assert "accuracy=" not in r.stdout
    assert elapsed < 20, elapsed


class _Refusing(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        body = json.dumps({"error": {"message": "model 'local' not found"}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_explain_whose_every_call_failed_exits_non_zero_with_errors_on_stderr(stepwise_bin, tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        r = run(stepwise_bin, "explain", "--task", "synthetic", "--teacher", "openai", "--base-url", url, "--model", "local",
                "--store", str(tmp_path / "s.sqlite"), "--limit", "4", "--retries", "0")
    finally:
        server.shutdown()
    assert r.returncode != 0, r.stdout
    assert "every teacher call failed (4 of 4 examples)" in r.stderr
    assert "model 'local' not found" in r.stderr
    assert "failed" not in r.stdout
    assert "hits=0 misses=4 failures=4" in r.stdout


def test_run_names_the_missing_file_by_its_absolute_path(stepwise_bin, tmp_path):
    r = run(stepwise_bin, "run", "script.sw", cwd=tmp_path)
    assert r.returncode != 0
    assert f"no such file: {tmp_path}/script.sw" in r.stderr
    assert "UTF-8" not in r.stderr
    (tmp_path / "binary.sw").write_bytes(b"\xff\xfe\x00")
    r = run(stepwise_bin, "run", "binary.sw", cwd=tmp_path)
    assert r.returncode != 0
    assert f"{tmp_path}/binary.sw is not UTF-8 text" in r.stderr


def test_repl_stops_at_exit_and_quit(stepwise_bin):
    for word in ("exit", "quit"):
        r = run(stepwise_bin, "repl", stdin=f"1 + 41\n{word}\n1000 + 1\n")
        assert r.returncode == 0, r.stderr
        assert "42" in r.stdout
        assert "1001" not in r.stdout

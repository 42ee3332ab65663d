"""Connection-file variants (ipc transport, an empty key), clean shutdown and restart."""
import time

from jupyter_client.manager import KernelManager


def run_one(km):
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=20)
        reply = kc.execute("6 * 7", reply=True, timeout=10)
        assert reply["content"]["status"] == "ok"
        assert reply["content"]["execution_count"] == 1
    finally:
        kc.stop_channels()
        began = time.perf_counter()
        km.shutdown_kernel(now=False)
    assert not km.is_alive()
    # jupyter_client waits up to 5 s before it kills; a clean exit comes well before.
    assert time.perf_counter() - began < 2.5


def test_ipc_transport(stepwise_bin, tmp_path):
    km = KernelManager(kernel_name="stepwise", transport="ipc", ip=str(tmp_path / "kernel"))
    run_one(km)


def test_empty_key_means_unsigned(stepwise_bin):
    km = KernelManager(kernel_name="stepwise")
    km.session.key = b""
    run_one(km)


def test_restart_gives_a_fresh_session(kernel):
    km, kc = kernel
    assert kc.execute("let kept = 1", reply=True, timeout=10)["content"]["status"] == "ok"
    km.restart_kernel(now=False)
    kc.wait_for_ready(timeout=20)
    reply = kc.execute("kept", reply=True, timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "NameError"
    assert reply["content"]["execution_count"] == 1


def test_stop_on_error_aborts_what_was_queued(kernel):
    km, kc = kernel
    failing = kc.execute("sleep(0.5)\nno_such_name", stop_on_error=True)
    queued = kc.execute("1 + 1")
    replies = {}
    while len(replies) < 2:
        reply = kc.get_shell_msg(timeout=10)
        replies[reply["parent_header"]["msg_id"]] = reply["content"]
    assert replies[failing]["status"] == "error"
    assert replies[queued]["status"] == "aborted"
    # Sent after the error reply: runs.
    assert kc.execute("1 + 1", reply=True, timeout=10)["content"]["status"] == "ok"

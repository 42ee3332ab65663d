"""Interrupting a running cell, by message and by SIGINT, and input() through stdin."""
import signal
import time


def start_cell(kc, code):
    """Sends `code` and waits until the kernel has started running it."""
    msg_id = kc.execute(code)
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            return msg_id


def wait_reply(kc, msg_id, timeout):
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def check_interrupt(km, kc, how, code="sleep(30)"):
    msg_id = start_cell(kc, code)
    time.sleep(0.3)
    started = time.perf_counter()
    how(km)
    reply = wait_reply(kc, msg_id, timeout=5)
    elapsed = time.perf_counter() - started
    assert reply["content"]["status"] == "error"
    assert elapsed < 1.0, f"the cell took {elapsed:.2f} s to stop"
    after = kc.execute("1 + 1", reply=True, timeout=10)
    assert after["content"]["status"] == "ok"


def test_interrupt_request_stops_a_sleeping_cell(kernel):
    km, kc = kernel
    assert km.kernel_spec.interrupt_mode == "message"
    check_interrupt(km, kc, lambda km: km.interrupt_kernel())


def test_interrupt_request_stops_a_busy_loop(kernel):
    km, kc = kernel
    check_interrupt(km, kc, lambda km: km.interrupt_kernel(), code="var i = 0\nwhile true { i += 1 }")


def test_interrupt_request_stops_a_wait_for_input(kernel):
    km, kc = kernel
    msg_id = kc.execute('input("never answered")', allow_stdin=True)
    assert kc.get_stdin_msg(timeout=10)["msg_type"] == "input_request"
    started = time.perf_counter()
    km.interrupt_kernel()
    reply = wait_reply(kc, msg_id, timeout=5)
    assert reply["content"]["status"] == "error"
    assert time.perf_counter() - started < 1.0
    assert kc.execute("1 + 1", reply=True, timeout=10)["content"]["status"] == "ok"


def test_sigint_stops_a_sleeping_cell(kernel):
    km, kc = kernel
    check_interrupt(km, kc, lambda km: km.provisioner.process.send_signal(signal.SIGINT))


def test_input_goes_through_stdin(kernel):
    km, kc = kernel
    msg_id = kc.execute('print(input("name?"))', allow_stdin=True)
    request = kc.get_stdin_msg(timeout=10)
    assert request["msg_type"] == "input_request"
    assert request["parent_header"]["msg_id"] == msg_id
    assert request["content"]["prompt"].startswith("name?")
    kc.input("Ada")
    reply = wait_reply(kc, msg_id, timeout=10)
    assert reply["content"]["status"] == "ok"
    texts = []
    while True:
        msg = kc.get_iopub_msg(timeout=5)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            texts.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert "Ada" in "".join(texts)

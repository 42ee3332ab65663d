"""A hostile wire: random frames, forged and missing signatures, truncated JSON and huge
messages on raw ZeroMQ sockets. The kernel must drop or answer them and stay responsive."""
import hashlib
import hmac
import json
import os
import random
import uuid

import zmq


def signed(key, header, parent=b"{}", metadata=b"{}", content=b"{}"):
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (header, parent, metadata, content):
        mac.update(part)
    return [b"<IDS|MSG>", mac.hexdigest().encode(), header, parent, metadata, content]


def header(msg_type):
    return json.dumps({"msg_id": str(uuid.uuid4()), "msg_type": msg_type, "session": "hostile",
                       "username": "x", "date": "2026-01-01T00:00:00Z", "version": "5.3"}).encode()


def test_kernel_survives_a_hostile_wire(kernel):
    km, kc = kernel
    info = km.get_connection_info(session=False)
    key = info["key"] if isinstance(info["key"], bytes) else info["key"].encode()
    assert key, "the test needs a signing key"
    ctx = zmq.Context()
    rng = random.Random(1234)
    try:
        for port in ("shell_port", "control_port", "stdin_port"):
            sock = ctx.socket(zmq.DEALER)
            sock.linger = 0
            sock.connect(f"tcp://{info['ip']}:{info[port]}")
            for _ in range(200):
                frames = [rng.randbytes(rng.randint(0, 300)) for _ in range(rng.randint(1, 9))]
                if rng.random() < 0.5:
                    frames.insert(rng.randint(0, len(frames)), b"<IDS|MSG>")
                sock.send_multipart(frames)
            good = header("kernel_info_request")
            sock.send_multipart([b"<IDS|MSG>"])                                         # nothing after
            sock.send_multipart([b"<IDS|MSG>", b"0" * 64, good, b"{}", b"{}", b"{}"])   # forged
            sock.send_multipart([b"<IDS|MSG>", b"", good, b"{}", b"{}", b"{}"])         # unsigned
            sock.send_multipart([b"<IDS|MSG>", b"abc", good, b"{}", b"{}", b"{}"])      # short
            sock.send_multipart(signed(key, good[:-7]))                                 # truncated header
            sock.send_multipart(signed(key, b'{"msg_id": 1, "msg_type": []}'))          # wrong types
            sock.send_multipart([b"<IDS|MSG>", b"f" * 64, good, b"{}", b"{}", os.urandom(48 << 20)])  # huge
            sock.close()

        # A signed message whose content is truncated JSON gets an error reply.
        shell = ctx.socket(zmq.DEALER)
        shell.linger = 0
        shell.connect(f"tcp://{info['ip']}:{info['shell_port']}")
        shell.send_multipart(signed(key, header("execute_request"), content=b'{"code": "1 +'))
        assert shell.poll(10000), "no reply to a signed message with malformed content"
        reply = shell.recv_multipart()
        content = json.loads(reply[reply.index(b"<IDS|MSG>") + 5])
        assert content["status"] == "error"
        # A huge but valid request is answered too.
        big = json.dumps({"code": "1 + 1" + " " * (8 << 20), "silent": True}).encode()
        shell.send_multipart(signed(key, header("is_complete_request"), content=big))
        assert shell.poll(20000), "no reply to a huge valid request"
        shell.close()

        beat = ctx.socket(zmq.REQ)
        beat.linger = 0
        beat.connect(f"tcp://{info['ip']}:{info['hb_port']}")
        beat.send(b"ping")
        assert beat.poll(5000) and beat.recv() == b"ping"
        beat.close()
    finally:
        ctx.destroy(linger=0)

    assert km.is_alive()
    reply = kc.kernel_info(reply=True, timeout=10)
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["implementation"] == "stepwise"


def _rss_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


_HOSTILE_SUBSCRIBER = """
import os, sys, time, zmq
socket = zmq.Context().socket(zmq.SUB)
socket.linger = 0
socket.connect(sys.argv[1])
for _ in range(3):
    socket.setsockopt(zmq.SUBSCRIBE, b"x" * (100 << 20))
time.sleep(2)
os._exit(0)  # skip libzmq's teardown, which can crash once the kernel has dropped this peer
"""


def test_a_huge_iopub_subscription_costs_the_kernel_nothing(kernel):
    # XPUB keeps every subscription prefix it is sent; a 100 MB one, then any request, once grew
    # the kernel past 6 GB. IOPub now refuses inbound messages over 4 KiB (the peer is dropped).
    # The hostile peer is a process of its own, as it would be.
    import subprocess
    import sys
    km, kc = kernel
    info = km.get_connection_info(session=False)
    pid = km.provisioner.process.pid
    before = _rss_bytes(pid)
    hostile = subprocess.Popen([sys.executable, "-c", _HOSTILE_SUBSCRIBER, f"tcp://{info['ip']}:{info['iopub_port']}"])
    for _ in range(20):
        reply = kc.kernel_info(reply=True, timeout=10)
        assert reply["content"]["status"] == "ok"
    hostile.wait(timeout=30)
    assert km.is_alive()
    grown = _rss_bytes(pid) - before
    assert grown < 150 << 20, f"the kernel grew by {grown >> 20} MB"
    # A normal client still gets its IOPub messages.
    msg_id = kc.execute("1 + 2")
    reply = kc.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "ok"
    results = []
    while True:
        msg = kc.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            results.append(msg["content"]["data"]["text/plain"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    assert results == ["3"]

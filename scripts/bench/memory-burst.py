#!/usr/bin/env python3
"""memory-burst - large-message memory test for scripts/bench-relay.

N clients each send ONE message of SIZE bytes to 127.0.0.1:PORT at the same time: every client
connects and gets through EHLO/MAIL/RCPT/DATA (354) first, then all of them stream their body
together (a barrier releases them at once). Meanwhile the memory of the process tree rooted at
PID (the daemon and all its descendants: for Postfix the private instance's master and every
smtpd/cleanup/qmgr/smtp/... it forked; nothing else) is sampled every INTERVAL seconds from
/proc: VmRSS from /proc/P/status summed over the tree, and Pss from /proc/P/smaps_rollup
(RSS counts shared library pages once per process; PSS splits them).

The run ends when the sink counter (smtp-sink -c output file) went up by N, then sampling goes
on for IDLE seconds ("idle after"). Prints one CSV line (no header):

  system,clients,size,rss_before_mib,peak_rss_mib,idle_after_mib,peak_pss_mib,idle_after_pss_mib,
  peak_procs,idle_procs,accepted,accept_s,sunk_s

accept_s: barrier release -> the last 250 after DATA; sunk_s: barrier release -> the sink has all.
Samples go to --samples FILE (t,rss_kib,pss_kib,procs).

  memory-burst.py --system NAME --port P --pid PID --clients N --size BYTES --sink-out FILE
                  [--idle 10] [--interval 0.1] [--samples FILE]
"""
import argparse
import os
import socket
import sys
import threading
import time


def tree(root):
    """PIDs of root and all its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(b")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def mem(pid):
    """(rss_kib, pss_kib) of one process; (0, 0) if it is gone or a zombie."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                    break
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                    break
    except (OSError, ValueError):
        pass
    return rss, pss


class Sampler(threading.Thread):
    def __init__(self, root, interval):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.samples = []  # (t, rss_kib, pss_kib, procs)
        self.stop = threading.Event()

    def sample(self):
        pids = tree(self.root)
        tot = [mem(p) for p in pids]
        live = [m for m in tot if m[0] > 0]
        s = (time.monotonic(), sum(m[0] for m in live), sum(m[1] for m in live), len(live))
        self.samples.append(s)
        return s

    def run(self):
        nxt = time.monotonic()
        while not self.stop.is_set():
            self.sample()
            nxt += self.interval
            self.stop.wait(max(0.0, nxt - time.monotonic()))


def sunk(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 400))
            tail = f.read().replace(b"\r", b"\n").split(b"\n")
    except OSError:
        return 0
    for line in reversed(tail):
        if b"mesg=" in line:
            return int(line.rsplit(b"mesg=", 1)[1].split()[0])
    return 0


def reply(f):
    """Read one (possibly multi-line) SMTP reply; return (code, text)."""
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line.decode(errors="replace").rstrip())
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), " / ".join(lines)


def client(i, port, body, barrier, res):
    t_acc = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=600)
        f = s.makefile("rb")

        def cmd(c, want):
            if c:
                s.sendall(c.encode() + b"\r\n")
            code, text = reply(f)
            if code != want:
                raise RuntimeError(f"{c or 'banner'}: {text}")

        cmd(None, 220)
        cmd("EHLO mem.client.test", 250)
        cmd(f"MAIL FROM:<a@example.com> SIZE={len(body)}", 250)
        cmd("RCPT TO:<b@example.net>", 250)
        cmd("DATA", 354)
        barrier.wait()
        s.sendall(body)
        cmd(None, 250)
        t_acc = time.monotonic()
        try:
            cmd("QUIT", 221)
        except Exception:
            pass
        s.close()
    except Exception as e:  # noqa: BLE001 - report per client, the run goes on
        try:
            barrier.abort()
        except Exception:
            pass
        res[i] = e
        return
    res[i] = t_acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--system", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--size", type=int, default=20_000_000)
    ap.add_argument("--sink-out", required=True)
    ap.add_argument("--idle", type=float, default=10)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--samples")
    a = ap.parse_args()

    # One shared body (headers + 78-character lines + CRLF + end of data), no dot-stuffing needed.
    head = (f"From: <a@example.com>\r\nTo: <b@example.net>\r\nSubject: memory burst\r\n"
            f"Message-ID: <mem.{os.getpid()}@example.com>\r\n\r\n").encode()
    line = b"X" * 78 + b"\r\n"
    n = max(0, a.size - len(head)) // len(line) + 1
    body = head + line * n + b".\r\n"

    smp = Sampler(a.pid, a.interval)
    before = smp.sample()
    base = sunk(a.sink_out)
    smp.start()

    barrier = threading.Barrier(a.clients + 1)
    res = [None] * a.clients
    th = [threading.Thread(target=client, args=(i, a.port, body, barrier, res), daemon=True)
          for i in range(a.clients)]
    for t in th:
        t.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        pass
    t0 = time.monotonic()
    for t in th:
        t.join()
    errs = [r for r in res if isinstance(r, Exception)]
    done = [r for r in res if isinstance(r, float)]
    for e in errs[:5]:
        print(f"memory-burst {a.system}: client error: {e}", file=sys.stderr)
    t_acc = max(done) if done else time.monotonic()

    while sunk(a.sink_out) - base < len(done):
        if time.monotonic() - t0 > a.timeout:
            print(f"memory-burst {a.system}: timeout, sink has {sunk(a.sink_out) - base}/{len(done)}",
                  file=sys.stderr)
            break
        time.sleep(0.02)
    t_sunk = time.monotonic()
    time.sleep(a.idle)
    idle = smp.sample()
    smp.stop.set()
    smp.join()

    burst = [s for s in smp.samples if s[0] <= t_sunk] or [before]
    peak_rss = max(burst, key=lambda s: s[1])
    peak_pss = max(burst, key=lambda s: s[2])
    peak_procs = max(s[3] for s in burst)
    if a.samples:
        with open(a.samples, "w") as f:
            f.write("t,rss_kib,pss_kib,procs\n")
            for s in smp.samples:
                f.write(f"{s[0] - t0:.3f},{s[1]},{s[2]},{s[3]}\n")
    mib = lambda k: k / 1024  # noqa: E731
    print(f"{a.system},{a.clients},{a.size},{mib(before[1]):.1f},{mib(peak_rss[1]):.1f},{mib(idle[1]):.1f},"
          f"{mib(peak_pss[2]):.1f},{mib(idle[2]):.1f},{peak_procs},{idle[3]},{len(done)},"
          f"{t_acc - t0:.2f},{t_sunk - t0:.2f}")
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())

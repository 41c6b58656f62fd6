"""
test_relay_sched: tern-queued's remote scheduling (queued/relay.c) and
tern-remote's connections, against SMTP sinks on loopback.

- destination_concurrency: no more connections to one destination at once
  than the limit, and every message arrives;
- a dead destination (a port that takes connections and never answers)
  holds only its own slots: mail for another domain goes out meanwhile;
- connection reuse: several messages to one destination share a
  connection (RSET between), up to remote_max_messages;
- a restart keeps the schedule: a deferred recipient's next attempt is
  read back from state/ID.
"""
import socket
import threading
import time
import uuid

import harness
import smtpsink


class Silent:
    """Takes connections (the kernel's backlog) and never answers."""
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class Peak:
    """Samples how many sessions of a sink are open at once."""
    def __init__(self, sink):
        self.sink, self.peak, self.stop = sink, 0, False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            with self.sink.lock:
                n = sum(1 for s in self.sink.sessions if not s.closed)
            self.peak = max(self.peak, n)
            time.sleep(0.005)

    def close(self):
        self.stop = True
        self.t.join()


def routes(J, lines):
    with open(J.path("etc", "routes"), "w") as f:
        f.write("".join(l + "\n" for l in lines))
    J.map("routes")


def send(J, rcpts, subject):
    r = J.sendmail(["-f", "demo@example.test"] + rcpts,
                   ("Subject: %s\n\nbody\n" % subject).encode())
    assert r.returncode == 0, r.stderr.decode()


def test_destination_concurrency_and_reuse():
    with smtpsink.Sink() as sink, harness.Instance(
            name="rsched", conf={"destination_concurrency": "2",
                                 "remote_max_messages": "3"}) as J:
        routes(J, ["far.test 127.0.0.1:%d" % sink.port])
        J.start()
        peak = Peak(sink)
        n = 12
        for i in range(n):
            send(J, ["u%d@far.test" % i], "conc-%d" % i)
        got = sink.wait_messages(n, timeout=30, info=J.diagnostics)
        peak.close()
        assert sorted(e.rcpts[0] for e in got) == sorted("u%d@far.test" % i
                                                         for i in range(n)), got
        assert peak.peak <= 2, "%d sessions at once to one destination" % peak.peak
        # reuse: fewer sessions than messages, none with more than 3
        sessions = [s for s in sink.sessions if any(c.startswith("MAIL") for c, _ in s.commands)]
        per = [sum(1 for c, _ in s.commands if c.startswith("MAIL")) for s in sessions]
        assert len(sessions) < n, "no connection was reused: %s" % per
        assert max(per) <= 3, "remote_max_messages exceeded: %s" % per
        assert any(c.startswith("RSET") for s in sessions for c, _ in s.commands), per
        harness.wait_for(lambda: not J.queue_list(as_json=True)["messages"],
                         what="the queue empty", info=J.diagnostics)


def test_dead_destination_holds_only_its_slots():
    dead = Silent()
    try:
        with smtpsink.Sink() as sink, harness.Instance(
                name="rdead", conf={"remote_concurrency": "3",
                                    "destination_concurrency": "2",
                                    "remote_greeting_timeout": "300"}) as J:
            routes(J, ["dead.test 127.0.0.1:%d" % dead.port,
                       "live.test 127.0.0.1:%d" % sink.port])
            J.start()
            for i in range(5):
                send(J, ["x%d@dead.test" % i], "dead-%d" % i)
            # two jobs hang at dead.test; the other three wait for it
            harness.wait_for(lambda: len(J.queue_list(as_json=True)["messages"]) == 5,
                             what="five messages for dead.test queued")
            for i in range(3):
                send(J, ["y%d@live.test" % i], "live-%d" % i)
            got = sink.wait_messages(3, timeout=20, info=J.diagnostics)
            assert sorted(e.rcpts[0] for e in got) == ["y0@live.test", "y1@live.test",
                                                       "y2@live.test"], got
            data = J.queue_list(as_json=True)["messages"]
            waiting = [r for m in data for r in m["recipients"]
                       if r["address"].endswith("@dead.test")]
            assert len(waiting) == 5 and all(r["state"] in ("pending", "deferred")
                                             for r in waiting), waiting
            dead.close()   # the hung connections get a reset: the jobs end
            harness.wait_for(lambda: all(r["attempts"] >= 1 for m in
                                         J.queue_list(as_json=True)["messages"]
                                         for r in m["recipients"]),
                             timeout=20, what="every dead.test recipient tried",
                             info=J.diagnostics)
    finally:
        dead.close()


def test_restart_keeps_the_schedule():
    with smtpsink.Sink(rcpt_replies={"later@far.test": "451 4.3.0 not now"}) as sink, \
            harness.Instance(name="rkeep", conf={"queue_min_backoff": "1h",
                                                 "queue_max_backoff": "1h"}) as J:
        routes(J, ["far.test 127.0.0.1:%d" % sink.port])
        J.start()
        send(J, ["later@far.test"], "keep-%s" % uuid.uuid4().hex[:6])

        def deferred():
            for m in J.queue_list(as_json=True)["messages"]:
                for r in m["recipients"]:
                    if r["attempts"] >= 1:
                        return r
            return None
        r = harness.wait_for(deferred, what="a deferred attempt", info=J.diagnostics)
        assert r["state"] == "deferred" and "451 4.3.0 not now" in r["result"], r
        assert 3600 <= r["next"] - r["last"] <= 3600 + 360, r
        J.stop()
        J.start()
        # no new attempt after the restart: the next one is an hour away
        r2 = harness.wait_for(deferred, what="the recipient after restart")
        assert r2["next"] == r["next"] and r2["attempts"] == 1, (r, r2)
        before = len(sink.sessions)
        J.queue("flush")
        harness.wait_for(lambda: (deferred() or {}).get("attempts", 0) >= 2,
                         what="a second attempt after flush", info=J.diagnostics)
        assert len(sink.sessions) > before


def test_burst_of_results_is_not_fatal():
    """Thousands of results at once fill the socket to tern-queued:
    tern-remote waits for it instead of dying (which restarted the queue
    side and sent the mail again)."""
    with smtpsink.Sink() as sink, harness.Instance(
            name="rburst", conf={"remote_max_recipients": "500",
                                 "smtpd_max_recipients": "1000"}) as J:
        routes(J, ["far.test 127.0.0.1:%d" % sink.port])
        J.start()
        n = 4
        for k in range(n):
            send(J, ["b%d-%d@far.test" % (k, i) for i in range(500)], "burst-%d" % k)
        harness.wait_for(lambda: not J.queue_list(as_json=True)["messages"],
                         timeout=60, what="every recipient sent", info=J.diagnostics)
        rcpts = [r for e in sink.messages for r in e.rcpts]
        assert len(rcpts) == len(set(rcpts)) == n * 500, (len(rcpts), len(set(rcpts)))
        with open(J.path("log", "queue.log")) as f:
            log = f.read()
        assert "fatal" not in log and "restarting" not in log, \
            [l for l in log.splitlines() if "fatal" in l or "restarting" in l][:5]


def test_flush_domain_of_a_waiting_message():
    """A message on a destination's wait list, looked at by flush -d,
    keeps its place: it is sent once the destination works."""
    dead = Silent()
    try:
        with smtpsink.Sink() as sink, harness.Instance(
                name="rwait", conf={"destination_concurrency": "1",
                                    "remote_greeting_timeout": "300"}) as J:
            routes(J, ["far.test 127.0.0.1:%d" % dead.port])
            J.start()
            send(J, ["m1@far.test"], "wait-1")
            send(J, ["m2@far.test"], "wait-2")
            harness.wait_for(lambda: len(J.queue_list(as_json=True)["messages"]) == 2,
                             what="both queued")
            r = J.queue("flush", "-d", "far.test")
            assert r.returncode == 0, r.stderr.decode()
            J.wait_log(r"flush", name="queue.log")
            routes(J, ["far.test 127.0.0.1:%d" % sink.port])
            dead.close()   # m1's job ends (deferred); m2 must still be scheduled
            got = sink.wait_messages(1, timeout=30, info=J.diagnostics)
            assert [e.rcpts[0] for e in got] == ["m2@far.test"], got
            J.queue("flush")
            got = sink.wait_messages(2, timeout=30, info=J.diagnostics)
            assert sorted(e.rcpts[0] for e in got) == ["m1@far.test", "m2@far.test"], got
    finally:
        dead.close()


def test_address_literal_recipient():
    """user@[127.0.0.1]: delivered to that address (RFC 5321 5.1), on
    remote_port, with no DNS."""
    with smtpsink.Sink() as sink, harness.Instance(
            name="rlit", conf={"remote_port": str(sink.port)}) as J:
        J.start()
        send(J, ["lit@[127.0.0.1]"], "literal")
        got = sink.wait_messages(1, timeout=20, info=J.diagnostics)
        assert got[0].rcpts == ["lit@[127.0.0.1]"], got[0].rcpts

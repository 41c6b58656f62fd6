"""
tern-queue: a message for a remote address stays in the queue (relaying
comes in a later issue) and is shown by list, list --json, show and stats;
a local recipient whose mailbox is over its quota (1 byte) defers every
attempt with "4.2.2 mailbox full", which gives deferred mail on demand.
Every command is run as root (or the instance user) and, as root, as a
member of queue_admin_group (a throwaway user and group).
"""
import grp
import json
import os
import pwd
import socket
import stat
import subprocess
import time
import uuid

import harness

I = None
RCPT = None


def setup():
    global I, RCPT
    # the spool's group named outright: the tests below that use group
    # ternq do not depend on whether a group ternadm exists on this box
    I = harness.Instance(name="qcli", conf={"queue_admin_group": "ternq"})
    I.start()
    RCPT = "far-%s@elsewhere.example" % uuid.uuid4().hex[:8]
    r = I.sendmail(["-f", "sender@example.test", RCPT, "demo@example.test"],
                   b"Subject: queue cli\n\nfor the queue\n")
    assert r.returncode == 0, "tern-sendmail exited %d: %s" % (r.returncode, r.stderr.decode())
    # the local copy is delivered; the remote one stays
    I.wait_for_message("demo@example.test", b"queue cli")


def strings(obj):
    """Every string and number anywhere in a parsed JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)
    elif obj is not None:
        yield str(obj)


def qids(text):
    return [w for w in text.split() if len(w) == 20 and all(c in "0123456789ABCDEF" for c in w)]


def test_list_shows_remote_recipient():
    out = I.queue_list()
    assert RCPT in out, "tern-queue list does not show %s:\n%s" % (RCPT, out)
    assert "sender@example.test" in out, "no sender in:\n%s" % out
    ids = qids(out)
    assert len(ids) == 1, "want exactly one queue id (20 hex digits) in:\n%s" % out


def test_list_json_parses():
    data = I.queue_list(as_json=True)
    words = list(strings(data))
    assert RCPT in words, "list --json lacks %s: %s" % (RCPT, json.dumps(data)[:500])
    assert any(len(w) == 20 and w.isalnum() for w in words), \
        "no queue id in list --json: %s" % json.dumps(data)[:500]


def test_show():
    out = I.queue_list()
    ids = qids(out)
    assert ids, out
    r = I.queue("show", ids[0])
    assert r.returncode == 0, "tern-queue show exited %d: %s" % (r.returncode, r.stderr.decode())
    text = r.stdout.decode("utf-8", "replace")
    assert RCPT in text and "Subject: queue cli" in text, text[:800]
    r = I.queue("show", "--json", ids[0])
    assert r.returncode == 0, r.stderr.decode()
    assert RCPT in list(strings(json.loads(r.stdout))), r.stdout[:500]


def test_stats():
    r = I.queue("stats")
    assert r.returncode == 0, "tern-queue stats exited %d: %s" % (r.returncode, r.stderr.decode())
    assert r.stdout.strip(), "tern-queue stats printed nothing"
    r = I.queue("stats", "--json")
    assert r.returncode == 0, r.stderr.decode()
    data = json.loads(r.stdout)
    assert isinstance(data, dict) and data, data
    # one message is queued: some count in the stats is 1
    assert "1" in list(strings(data)), "stats --json does not count the message: %s" % data


def test_sendmail_bp_is_list():
    r = I.sendmail(["-bp"], b"")
    assert r.returncode == 0, r.stderr.decode()
    assert RCPT in r.stdout.decode(), r.stdout.decode()


# ---------------------------------------------------------------- requests

def remote_messages(n):
    """n new messages that stay in the queue; their ids."""
    out = []
    for _ in range(n):
        m = "qreq-%s" % uuid.uuid4().hex[:8]
        r = I.sendmail(["-f", "sender@example.test", "far-%s@elsewhere.example" % m],
                       ("Subject: %s\n\nx\n" % m).encode())
        assert r.returncode == 0, r.stderr.decode()
        data = I.queue_list(as_json=True)
        out += [x["id"] for x in data["messages"] if x["id"] not in out
                and any(m in rc["address"] for rc in x.get("recipients", []))]
    assert len(out) == n, out
    return out


def held(ids):
    """{id: held} for ids still in the queue."""
    return {x["id"]: x["held"] for x in I.queue_list(as_json=True)["messages"]
            if x["id"] in ids}


def test_hold_release_several_ids():
    a, b = remote_messages(2)
    r = I.queue("hold", a, b.lower())   # a lower-case id is accepted
    assert r.returncode == 0, r.stderr.decode()
    out = r.stdout.decode()
    assert "%s: hold requested" % a in out and "%s: hold requested" % b in out, out
    harness.wait_for(lambda: held([a, b]) == {a: True, b: True}, what="both held",
                     info=lambda: str(held([a, b])))
    r = I.queue("release", a.lower(), b)
    assert r.returncode == 0, r.stderr.decode()
    harness.wait_for(lambda: held([a, b]) == {a: False, b: False}, what="both released",
                     info=lambda: str(held([a, b])))


def test_unknown_id_among_several():
    a, = remote_messages(1)
    missing = "0" * 20
    r = I.queue("hold", missing, a)
    assert r.returncode == 1, (r.returncode, r.stderr.decode())
    assert "%s: not in the queue" % missing in r.stderr.decode(), r.stderr
    assert "%s: hold requested" % a in r.stdout.decode(), r.stdout
    r = I.queue("hold", a, "not-an-id")
    assert r.returncode == 100, r.returncode
    r = I.queue("show", "ALL")
    assert r.returncode == 100, r.returncode


def test_bounce_several_and_delete_all():
    a, b = remote_messages(2)
    r = I.queue("bounce", a, b)
    assert r.returncode == 0, r.stderr.decode()
    harness.wait_for(lambda: not held([a, b]), timeout=10, what="both bounced and gone",
                     info=I.diagnostics)
    remote_messages(2)
    r = I.queue("flush", "ALL")
    assert r.returncode == 0 and "flush requested" in r.stdout.decode(), r.stderr.decode()
    r = I.queue("delete", "all")
    assert r.returncode == 0, r.stderr.decode()
    harness.wait_for(lambda: I.queue_list(as_json=True)["messages"] == [], timeout=10,
                     what="an empty queue after delete ALL", info=I.diagnostics)
    r = I.queue("hold", "ALL")
    assert r.returncode == 0 and "Mail queue is empty" in r.stdout.decode(), r.stdout


def test_json_anywhere():
    for args in (("--json", "list"), ("list", "--json"), ("--json", "stats")):
        r = I.queue(*args)
        assert r.returncode == 0, (args, r.stderr.decode())
        assert isinstance(json.loads(r.stdout), dict), (args, r.stdout[:200])
    a, = remote_messages(1)
    for args in (("--json", "show", a), ("show", a.lower(), "--json")):
        r = I.queue(*args)
        assert r.returncode == 0, (args, r.stderr.decode())
        assert json.loads(r.stdout)["id"] == a, r.stdout[:200]
    r = I.queue("--json", "hold", a)
    assert r.returncode == 100, "--json with a request: exit %d" % r.returncode


def test_version():
    r = I.queue("--version")
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().startswith("tern-queue "), r.stdout
    with open(os.path.join(harness.BUILD, "config.h")) as f:
        ver = [l.split('"')[1] for l in f if l.startswith("#define TERN_VERSION")][0]
    assert r.stdout.decode() == "tern-queue %s\n" % ver, r.stdout


# ---------------------------------------------------------------- who may list

def test_list_needs_the_queue_group():
    harness.need_root()
    r = I.run_as(["tern-queue", "-C", I.etc, "list"])
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 111 and "group ternq" in err, (r.returncode, err)


def test_queue_group_member_may_list():
    # SPEC: list is usable by members of the queue admin group (the group
    # of queue_user): on an empty queue, and with a message that an
    # ordinary user (nobody, another group) queued
    harness.need_root()
    with harness.Instance(name="qgroup", conf={"queue_admin_group": "ternq"}) as J:
        J.start()
        r = J.run_as(["tern-queue", "-C", J.etc, "list"], groups=["ternq"])
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        assert "Mail queue is empty" in r.stdout.decode(), r.stdout
        r = J.run_as(["tern-queue", "-C", J.etc, "stats", "--json"], groups=["ternq"])
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        assert json.loads(r.stdout)["messages"] == 0, r.stdout
        # mail for another domain stays in the queue
        r = J.run_as(["tern-sendmail", "-C", J.etc, "someone@remote.invalid"],
                     input=b"Subject: held\n\nbody\n")
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        mess = J.path("spool", "mess")
        assert os.stat(mess).st_mode & stat.S_ISGID, oct(os.stat(mess).st_mode)
        r = J.run_as(["tern-queue", "-C", J.etc, "list", "--json"], groups=["ternq"])
        assert r.returncode == 0, r.stderr.decode("utf-8", "replace")
        msgs = json.loads(r.stdout)["messages"]
        assert len(msgs) == 1, msgs
        assert msgs[0]["recipients"][0]["address"] == "someone@remote.invalid", msgs


# ---------------------------------------------------------------- deferred mail

FULL = "full@example.test"


class Silent:
    """A TCP port that takes connections and never says a word: a job of
    tern-remote to it stays in flight (its recipient is pending with no
    attempt yet) until close(), whose reset ends the job at once."""
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


class deferring:
    """A started instance with FULL, a mailbox over its quota of 1 byte:
    each attempt defers (4.2.2); the first retry is an hour away.  With
    silent, mail for elsewhere.example goes to a Silent port: it stays in
    flight, never tried; else it is tried at once (no route, no DNS:
    deferred an hour)."""
    def __init__(self, name, conf=None, silent=False):
        c = {"queue_min_backoff": "3600s", "queue_max_backoff": "3600s"}
        c.update(conf or {})
        self.silent = Silent() if silent else None
        J = harness.Instance(name=name, conf=c)
        users = os.path.join(J.etc, "users")
        with open(users, "a") as f:
            f.write("%s %s - 1\n" % (FULL, J.hash_password("full")))
        J.map("users")
        if silent:
            with open(os.path.join(J.etc, "routes"), "w") as f:
                f.write("elsewhere.example 127.0.0.1:%d\n" % self.silent.port)
            J.map("routes")
        self.J = J

    def __enter__(self):
        self.J.__enter__()
        self.J.start()
        return self.J

    def __exit__(self, *a):
        if self.silent:
            self.silent.close()
        return self.J.__exit__(*a)


def rcpts(J, qid):
    """{address: recipient object} of qid in list --json, or None."""
    for x in J.queue_list(as_json=True)["messages"]:
        if x["id"] == qid:
            return {r["address"]: r for r in x["recipients"]}
    return None


def send(J, rcpt, sender="sender@example.test"):
    """One message to rcpt; its queue id (the newest id listing rcpt)."""
    mark = "q-%s" % uuid.uuid4().hex[:10]
    before = {x["id"] for x in J.queue_list(as_json=True)["messages"]}
    r = J.sendmail(["-f", sender, rcpt], ("Subject: %s\n\nx\n" % mark).encode())
    assert r.returncode == 0, r.stderr.decode()
    def new():
        ids = [x["id"] for x in J.queue_list(as_json=True)["messages"]
               if x["id"] not in before and
               any(rc["address"].lower() == rcpt.lower() for rc in x["recipients"])]
        return ids[0] if ids else None
    return harness.wait_for(new, what="%s in the queue" % rcpt, info=J.diagnostics), mark


def attempts(J, qid, addr=FULL):
    r = rcpts(J, qid)
    return r[addr]["attempts"] if r and addr in r else None


def wait_attempts(J, qid, n):
    harness.wait_for(lambda: (attempts(J, qid) or 0) >= n, timeout=10,
                     what="%d attempts of %s" % (n, qid), info=J.diagnostics)


def log_has(J, text):
    try:
        with open(J.path("log", "queue.log"), "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def test_deferred_list_and_flush():
    with deferring("qdefer") as J:
        qid, _ = send(J, FULL)
        wait_attempts(J, qid, 1)
        r = rcpts(J, qid)[FULL]
        assert r["state"] == "deferred", r
        assert "4.2.2" in r["result"], r
        assert r["next"] > time.time() + 600, r   # an hour away
        out = J.queue_list()
        line = [l for l in out.splitlines() if FULL in l]
        assert line and "deferred" in line[0] and "attempts=1" in line[0] \
            and "next=" in line[0], out
        assert "4.2.2" in out, out
        # flush ID: attempted now, whatever the backoff says
        r = J.queue("flush", qid)
        assert r.returncode == 0 and "%s: flush requested" % qid in r.stdout.decode(), \
            (r.returncode, r.stdout, r.stderr)
        wait_attempts(J, qid, 2)
        # flush -d DOMAIN: every message with a pending recipient there
        r = J.queue("flush", "-d", "EXAMPLE.test")
        assert r.returncode == 0, r.stderr.decode()
        assert "flush of domain example.test requested" in r.stdout.decode(), r.stdout
        wait_attempts(J, qid, 3)
        # another domain: nothing is attempted (the log line says 0)
        r = J.queue("flush", "-d", "other.test")
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: log_has(J, "flush of @other.test by request: 0 messages"),
                         what="the domain flush's log line", info=J.diagnostics)
        assert attempts(J, qid) == 3, J.queue_list()
        # flush without an id: every message
        r = J.queue("flush")
        assert r.returncode == 0 and "flush requested" in r.stdout.decode(), r.stdout
        wait_attempts(J, qid, 4)
        # bad uses
        for args in (("flush", "-d"), ("flush", "-d", "bad domain"), ("flush", "-d", "x", qid),
                     ("hold", "-d", "example.test"), ("delete", "-all"),
                     ("hold", "-all-deferred"), ("list", "-all")):
            r = J.queue(*args)
            assert r.returncode == 100, (args, r.returncode, r.stderr)


def test_delete_all_deferred():
    # deferred: every remaining recipient pending and tried at least once
    with deferring("qdelq", silent=True) as J:
        d, _ = send(J, FULL)
        wait_attempts(J, d, 1)
        w, _ = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6])  # never tried
        both, _ = send(J, FULL)
        wait_attempts(J, both, 1)
        r = J.queue("delete", "-all-deferred")
        assert r.returncode == 0, r.stderr.decode()
        assert "delete of all deferred messages requested" in r.stdout.decode(), r.stdout
        harness.wait_for(lambda: rcpts(J, d) is None and rcpts(J, both) is None,
                         what="the deferred messages deleted", info=J.diagnostics)
        assert rcpts(J, w) is not None, "a message never tried was deleted"
        assert not J.find_message("demo@example.test", b"Delivery Status"), "delete bounced"


def test_hold_release_all():
    a, b = remote_messages(2)
    r = I.queue("hold", "-all")
    assert r.returncode == 0 and "hold of all messages requested" in r.stdout.decode(), \
        (r.returncode, r.stdout, r.stderr)
    harness.wait_for(lambda: held([a, b]) == {a: True, b: True}, what="all held",
                     info=lambda: str(held([a, b])))
    out = I.queue_list()
    assert "(held)" in out, out
    assert I.queue("stats", "--json").returncode == 0
    st = json.loads(I.queue("stats", "--json").stdout)
    assert st["held"] >= 2, st
    r = I.queue("release", "-all")
    assert r.returncode == 0, r.stderr.decode()
    harness.wait_for(lambda: held([a, b]) == {a: False, b: False}, what="all released",
                     info=lambda: str(held([a, b])))
    I.queue("delete", a, b)


def test_bounce_one():
    with harness.Instance(name="qbounce") as J:
        J.start()
        qid, mark = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6],
                         sender="demo@example.test")
        r = J.queue("bounce", qid.lower())
        assert r.returncode == 0 and "%s: bounce requested" % qid in r.stdout.decode(), \
            (r.stdout, r.stderr)
        J.wait_for_message("demo@example.test", mark.encode(), timeout=10)
        harness.wait_for(lambda: rcpts(J, qid) is None, what="the bounced message gone",
                         info=J.diagnostics)
        r = J.queue("bounce", qid)
        assert r.returncode == 1 and "not in the queue" in r.stderr.decode(), r.stderr


def test_json_schema():
    """SPEC 8: per message its id and sender, per recipient address, state,
    attempts, next attempt and last reply text; stats with counts per
    state and per domain, the oldest message, the total size."""
    with deferring("qjson", silent=True) as J:
        qid, _ = send(J, FULL)
        wait_attempts(J, qid, 1)
        far = "far-%s@Elsewhere.Example" % uuid.uuid4().hex[:6]
        send(J, far)
        data = json.loads(J.queue("list", "--json").stdout)
        msg = [x for x in data["messages"] if x["id"] == qid][0]
        for k in ("id", "corrupt", "arrival", "size", "uid", "sender", "client_ip", "helo",
                  "envid", "ret", "smtputf8", "body_8bitmime", "held", "recipients"):
            assert k in msg, (k, msg)
        assert msg["sender"] == "sender@example.test" and msg["corrupt"] is False, msg
        rc = msg["recipients"][0]
        for k in ("index", "address", "state", "attempts", "next", "last", "result",
                  "relay", "notify", "orcpt"):
            assert k in rc, (k, rc)
        assert rc["address"] == FULL and rc["state"] == "deferred" and rc["attempts"] == 1 \
            and rc["next"] > 0 and rc["last"] > 0 and "4.2.2" in rc["result"], rc
        show = json.loads(J.queue("show", "--json", qid).stdout)
        assert show["id"] == qid and isinstance(show["history"], list), show
        assert any(h.startswith("Subject: ") for h in show["headers"]), show["headers"]
        st = json.loads(J.queue("stats", "--json").stdout)
        assert st["messages"] == 2 and st["corrupt"] == 0 and st["unreadable"] == [], st
        assert st["size"] > 0 and st["recipients"]["deferred"] == 1 \
            and st["recipients"]["pending"] == 1, st
        doms = {d["domain"]: d for d in st["domains"]}
        assert doms["example.test"]["deferred"] == 1, doms
        assert doms["elsewhere.example"]["pending"] == 1, doms
        assert st["oldest"]["id"] == qid and st["oldest"]["age"] >= 0, st
        out = J.queue("stats").stdout.decode()
        assert "domains:" in out and "example.test pending=0 deferred=1" in out, out


def test_show_history_and_relay():
    """The state file's m and a lines: show prints every attempt of the
    history, list the relay.  The state file is written while tern-queued
    is stopped (it is its only writer when it runs)."""
    with harness.Instance(name="qhist") as J:
        J.start()
        far = "far-%s@elsewhere.example" % uuid.uuid4().hex[:6]
        qid, _ = send(J, far)
        stop_and_wait(J)
        now = int(time.time())
        state = ("V1\nr 0 P 2 %d %d 451 4.7.1 try again\nm 0 0 mx.elsewhere[192.0.2.7]:25\n"
                 "a 0 %d Z mx.elsewhere[192.0.2.7]:25 421 4.4.2 timeout\n"
                 "a 0 %d Z mx.elsewhere[192.0.2.7]:25 451 4.7.1 try again\n"
                 % (now + 600, now - 10, now - 100, now - 10))
        p = J.path("spool", "state", qid)
        with open(p, "w") as f:
            f.write(state)
        r = J.queue("show", qid)
        text = r.stdout.decode()
        assert r.returncode == 0, r.stderr.decode()
        assert "history:" in text and "421 4.4.2 timeout" in text and \
            "451 4.7.1 try again" in text, text
        assert text.count("relay=mx.elsewhere[192.0.2.7]:25") >= 3, text
        h = json.loads(J.queue("show", "--json", qid).stdout)["history"]
        assert [x["text"] for x in h] == ["421 4.4.2 timeout", "451 4.7.1 try again"], h
        assert h[0]["result"] == "deferred" and h[0]["address"] == far \
            and h[0]["relay"] == "mx.elsewhere[192.0.2.7]:25" and h[0]["time"] == now - 100, h
        rc = rcpts(J, qid)[far]
        assert rc["relay"] == "mx.elsewhere[192.0.2.7]:25" and rc["attempts"] == 2, rc
        assert "relay=mx.elsewhere[192.0.2.7]:25" in J.queue_list(), J.queue_list()


def gone(pid):
    """pid has exited (a zombie holds no fds any more) or is reaped."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return any(l.startswith("State:") and "Z" in l.split()[1:2] for l in f)
    except OSError:
        return True


def stop_and_wait(J):
    """stop_queue, then wait until tern-queued has really exited: SIGKILL
    is asynchronous, and a dying reader still holds the trigger FIFO."""
    pid = J.pid("tern-queued")
    J.stop_queue()
    if pid:
        harness.wait_for(lambda: gone(pid), what="tern-queued %d gone" % pid)


def test_requests_go_through_ctl():
    """tern-queue writes no todo/ file and leaves no ctl/ file behind once
    tern-queued took the request; the request waits while it is stopped."""
    with harness.Instance(name="qctl") as J:
        J.start()
        qid, _ = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6])
        ctl = J.path("spool", "ctl")
        st = os.stat(ctl)
        assert stat.S_IMODE(st.st_mode) == 0o1730, oct(st.st_mode)
        stop_and_wait(J)
        r = J.queue("hold", qid)
        assert r.returncode == 0 and "not running" in r.stderr.decode(), r.stderr
        assert len(os.listdir(ctl)) == 1 and os.listdir(J.path("spool", "todo")) == [], \
            os.listdir(ctl)
        J.start()
        def done():
            x = [m for m in J.queue_list(as_json=True)["messages"] if m["id"] == qid]
            return x and x[0]["held"] and not os.listdir(ctl)
        harness.wait_for(done, what="the waiting request carried out", info=J.diagnostics)


# ---------------------------------------------------------------- the admin group

class AdminUser:
    """As root: a throwaway group and a user in it (in /etc/group, so that
    tern-queued's getgrouplist sees the membership); removed on exit."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.group = "tqa%s" % tag
        self.user = "tqu%s" % tag
        self.other = "tqo%s" % tag

    def __enter__(self):
        for tool in ("groupadd", "useradd", "userdel", "groupdel"):
            harness.need_tool(tool, "passwd")
        subprocess.run(["groupadd", self.group], check=True, timeout=60)
        for u, extra in ((self.user, ["-G", self.group]), (self.other, [])):
            subprocess.run(["useradd", "-M", "-N", "-d", "/nonexistent", "-s",
                            "/usr/sbin/nologin"] + extra + [u], check=True, timeout=60)
        return self

    def __exit__(self, *a):
        for u in (self.user, self.other):
            subprocess.run(["userdel", u], timeout=60, capture_output=True)
        subprocess.run(["groupdel", self.group], timeout=60, capture_output=True)
        return False


def test_admin_group_member_can_do_everything():
    harness.need_root()
    with AdminUser() as A, deferring("qadm", {"queue_admin_group": A.group}) as J:
        gid = grp.getgrnam(A.group).gr_gid
        for d in ("", "mess", "state", "corrupt", "ctl"):
            st = os.stat(J.path("spool", d))
            assert st.st_gid == gid, (d, st.st_gid, gid)
        r = J.run(["tern-config", "-C", J.etc, "check"])
        assert "ctl" not in r.stdout.decode() and "group" not in r.stdout.decode(), r.stdout

        def q(*args, user=A.user, groups=(A.group,)):
            return J.run_as(["tern-queue", "-C", J.etc] + list(args), user=user,
                            groups=list(groups))
        d, _ = send(J, FULL)
        wait_attempts(J, d, 1)
        far, mark = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6],
                         sender="demo@example.test")
        # reading: list, show, stats (corrupt/ is readable: no silent 0)
        r = q("list", "--json")
        assert r.returncode == 0, r.stderr.decode()
        assert {x["id"] for x in json.loads(r.stdout)["messages"]} >= {d, far}, r.stdout
        r = q("show", d)
        assert r.returncode == 0 and "4.2.2" in r.stdout.decode(), (r.stdout, r.stderr)
        r = q("stats", "--json")
        assert r.returncode == 0, r.stderr.decode()
        st = json.loads(r.stdout)
        assert st["corrupt"] == 0 and st["unreadable"] == [] and st["messages"] == 2, st
        assert r.stderr == b"", r.stderr
        # requests
        r = q("hold", far)
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: rcpts(J, far) is not None and
                         [m for m in J.queue_list(as_json=True)["messages"]
                          if m["id"] == far][0]["held"], what="held by a member",
                         info=J.diagnostics)
        r = q("release", "-all")
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: not [m for m in J.queue_list(as_json=True)["messages"]
                                      if m["held"]], what="released by a member",
                         info=J.diagnostics)
        r = q("hold", "-all")
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: all(m["held"] for m in J.queue_list(as_json=True)["messages"]),
                         what="all held by a member", info=J.diagnostics)
        r = q("release", d, far)
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: not [m for m in J.queue_list(as_json=True)["messages"]
                                      if m["held"]], what="released by a member",
                         info=J.diagnostics)
        r = q("flush", d)
        assert r.returncode == 0, r.stderr.decode()
        wait_attempts(J, d, 2)
        r = q("flush", "-d", "example.test")
        assert r.returncode == 0, r.stderr.decode()
        wait_attempts(J, d, 3)
        r = q("flush")
        assert r.returncode == 0, r.stderr.decode()
        wait_attempts(J, d, 4)
        r = q("bounce", far)
        assert r.returncode == 0, r.stderr.decode()
        J.wait_for_message("demo@example.test", mark.encode(), timeout=10)
        r = q("delete", "-all-deferred")
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: J.queue_list(as_json=True)["messages"] == [],
                         what="an empty queue", info=J.diagnostics)
        x, _ = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6])
        r = q("delete", x)
        assert r.returncode == 0, r.stderr.decode()
        harness.wait_for(lambda: J.queue_list(as_json=True)["messages"] == [],
                         what="deleted by a member", info=J.diagnostics)

        # not a member: no way in, and no request
        y, _ = send(J, "far-%s@elsewhere.example" % uuid.uuid4().hex[:6])
        r = q("list", user=A.other, groups=())
        assert r.returncode == 111 and A.group in r.stderr.decode(), (r.returncode, r.stderr)
        r = q("hold", y, user=A.other, groups=())
        assert r.returncode == 111, r.returncode
        # a request file that belongs to a non-member (as if a former
        # member left it) is refused and removed
        p = J.path("spool", "ctl", "%012d.000000001.0000000001" % int(time.time()))
        with open(p, "w") as f:
            f.write("hold %s\n" % y)
        os.chown(p, pwd.getpwnam(A.other).pw_uid, -1)
        J.queue("flush", y)   # the byte that wakes tern-queued (and a flush)
        harness.wait_for(lambda: log_has(J, "refused") and not os.path.exists(p),
                         what="the non-member's request refused", info=J.diagnostics)
        assert not [m for m in J.queue_list(as_json=True)["messages"] if m["held"]], \
            "a non-member's request was carried out"


def test_admin_group_missing_falls_back():
    harness.need_root()
    with harness.Instance(name="qnogrp", conf={"queue_admin_group": "no-such-grp-x"}) as J:
        J.start()
        gid = pwd.getpwnam("ternq").pw_gid
        assert os.stat(J.path("spool", "mess")).st_gid == gid
        assert os.stat(J.path("spool", "ctl")).st_gid == gid
        harness.wait_for(lambda: log_has(J, "queue_admin_group no-such-grp-x does not exist"),
                         what="the fallback's warning", info=J.diagnostics)
        r = J.run_as(["tern-queue", "-C", J.etc, "stats", "--json"], groups=["ternq"])
        assert r.returncode == 0 and json.loads(r.stdout)["corrupt"] == 0, r.stderr

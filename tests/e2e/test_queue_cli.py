"""
tern-queue: a message for a remote address stays in the queue (relaying
comes in a later issue) and is shown by list, list --json, show and stats.
"""
import json
import os
import stat
import uuid

import harness

I = None
RCPT = None


def setup():
    global I, RCPT
    I = harness.Instance(name="qcli")
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
    with harness.Instance(name="qgroup") as J:
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

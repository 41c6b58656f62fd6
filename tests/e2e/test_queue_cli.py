"""
tern-queue: a message for a remote address stays in the queue (relaying
comes in a later issue) and is shown by list, list --json, show and stats.
"""
import json
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

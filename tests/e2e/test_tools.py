"""
tern-map, tern-config, tern-passwd on a test instance.
"""
import os
import re
import shutil
import subprocess

import harness

I = None


def setup():
    global I
    I = harness.Instance(name="tools")
    I.start()


def err(r):
    return (r.stdout + r.stderr).decode("utf-8", "replace")


def test_map_error_names_file_line():
    with harness.Instance(name="tools-map") as J:
        cdb = os.path.join(J.etc, "aliases.cdb")
        with open(cdb, "rb") as f:
            before = f.read()
        J.write_etc("aliases", "# comment\npostmaster@example.test: demo@example.test\n"
                    "this line has no colon\n")
        r = J.run(["tern-map", "-C", J.etc, os.path.join(J.etc, "aliases")])
        assert r.returncode != 0, "tern-map accepted a bad aliases file"
        assert "aliases:3" in err(r), "error does not name aliases:3: %r" % err(r)
        with open(cdb, "rb") as f:
            assert f.read() == before, "a failed tern-map replaced aliases.cdb"
        assert not os.path.exists(cdb + ".tmp"), "tern-map left aliases.cdb.tmp"

        J.write_etc("users", "# comment\n\ndemo@example.test\n")
        r = J.run(["tern-map", "-C", J.etc, os.path.join(J.etc, "users")])
        assert r.returncode != 0, "tern-map accepted a users line without a hash"
        assert "users:3" in err(r), "error does not name users:3: %r" % err(r)


def test_config_check_ok():
    r = I.run(["tern-config", "-C", I.etc, "check"])
    assert r.returncode == 0, "tern-config check on a good instance: exit %d\n%s" % (
        r.returncode, err(r))


def test_config_check_bad_key():
    with harness.Instance(name="tools-conf") as J:
        with open(os.path.join(J.etc, "tern.conf"), "a") as f:
            f.write("no_such_key = 1\n")
        line = sum(1 for _ in open(os.path.join(J.etc, "tern.conf")))
        r = J.run(["tern-config", "-C", J.etc, "check"])
        assert r.returncode == 1, "check with an unknown key: exit %d" % r.returncode
        assert "tern.conf:%d" % line in err(r), "error does not name tern.conf:%d: %r" % (
            line, err(r))
        J.conf["message_size_limit"] = "lots"
        J.write_conf()
        r = J.run(["tern-config", "-C", J.etc, "check"])
        assert r.returncode == 1, "check with a bad number: exit %d" % r.returncode
        assert "tern.conf:" in err(r), err(r)


def test_config_n_prints_set_keys():
    r = I.run(["tern-config", "-C", I.etc, "-n"])
    assert r.returncode == 0, err(r)
    out = r.stdout.decode()
    lines = [l for l in out.splitlines() if l.strip() and not l.startswith("#")]
    for k in I.conf:
        assert any(l.split()[0] == k for l in lines), "-n does not print %s:\n%s" % (k, out)
    assert any("hostname" in l and "mx.example.test" in l for l in lines), out
    assert "queue_lifetime" not in out, "-n prints a default:\n%s" % out
    # a key written into tern.conf with its default value is no change
    with harness.Instance(name="tools-n", conf={"queue_lifetime": "5d",
                                                "smtpd_timeout": "5m"}) as J:
        r = J.run(["tern-config", "-C", J.etc, "-n"])
        out = r.stdout.decode()
        assert r.returncode == 0, err(r)
        assert "queue_lifetime" not in out and "smtpd_timeout" not in out, (
            "-n prints keys set to their default:\n%s" % out)
        assert "hostname = mx.example.test" in out, out
    r = I.run(["tern-config", "-C", I.etc])
    assert r.returncode == 0, err(r)
    full = r.stdout.decode()
    for k in ("queue_lifetime", "smtpd_max_recipients", "hostname"):
        assert k in full, "tern-config does not print %s" % k


def test_passwd_hash_verifies():
    h = I.hash_password("s3cret pass")
    assert h.startswith("$y$") or h.startswith("$6$"), "not yescrypt/SHA-512: %r" % h
    assert I.hash_password("s3cret pass") != h, "no random salt"
    r = I.run(["tern-passwd", "-c", h], input=b"s3cret pass\n")
    assert r.returncode == 0, "tern-passwd -c rejects the right password: %s" % err(r)
    r = I.run(["tern-passwd", "-c", h], input=b"wrong\n")
    assert r.returncode != 0, "tern-passwd -c accepts a wrong password"


def test_inline_comment_same_rule_for_check_and_smtpd():
    """check and tern-smtpd read one rule: a '#' after a blank starts a
    comment, so the name is the one before it; a name that tern-smtpd
    cannot use is refused by check, naming file:line."""
    with harness.Instance(name="tools-comment", tls=False) as J:
        J.start()   # the spool, for check
        J.conf["hostname"] = "mail.example.test # the MX"
        J.write_conf()
        r = J.run(["tern-config", "-C", J.etc, "check"])
        assert r.returncode == 0, "check: %s" % err(r)
        port = J.smtp_port()
        with harness.SMTPRaw(port) as c:
            code, lines = c.banner
            assert code == 220 and lines[0].startswith("220 mail.example.test "), lines
        J.conf["hostname"] = "mail.example.test;"
        J.write_conf()
        line = list(J.conf).index("hostname") + 2
        r = J.run(["tern-config", "-C", J.etc, "check"])
        assert r.returncode == 1, "check accepts hostname %r" % J.conf["hostname"]
        assert "tern.conf:%d: hostname: not a host name" % line in err(r), err(r)
        with harness.SMTPRaw(port) as c:
            assert c.banner[0] == 421, "smtpd accepted what check refused: %r" % (
                c.banner,)


def smtp_send(port, rcpt, marker):
    with harness.SMTPRaw(port) as c:
        assert c.banner[0] == 220, c.banner
        assert c.cmd("HELO client.example.org")[0] == 250
        assert c.cmd("MAIL FROM:<someone@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<%s>" % rcpt)
        assert code == 250, "RCPT %s: %r" % (rcpt, lines)
        assert c.cmd("DATA")[0] == 354
        code, lines = c.cmd("Subject: %s\r\n\r\n%s\r\n." % (marker, marker))
        assert code == 250, lines
    return lines[-1].split()[-1]   # the queue id


def test_reload_applies_new_local_domain():
    """A domain added to local_domains: tern-start reload checks tern.conf
    and restarts the queue side on it; mail for the domain, sent before
    and after the reload, is delivered locally."""
    users = dict(harness.USERS)
    users["bob@new.test"] = "bob"
    with harness.Instance(name="tools-reload", users=users, tls=False) as J:
        J.start()
        old = (J.pid("tern-queued"), J.pid("tern-deliverd"))
        port = J.smtp_port()
        J.conf["local_domains"] = "localhost example.test new.test"
        J.write_conf()
        # tern-smtpd reads tern.conf at each connection: it takes the mail
        # at once; the queue side has not seen the domain yet
        qid = smtp_send(port, "bob@new.test", "before-reload")
        # the queue side has tried it (the 250 comes before tern-queued
        # hears of the message) before the file changes again
        J.wait_log(r"%s (delivered|deferred|failed) " % qid)
        # a bad file is refused, and nothing is restarted
        good = open(os.path.join(J.etc, "tern.conf")).read()
        J.write_etc("tern.conf", good + "bogus = 1\n")
        r = J.run(["tern-start", "-C", J.etc, "reload"])
        assert r.returncode == 1 and "unknown key 'bogus'" in err(r), err(r)
        J.write_etc("tern.conf", good)
        r = J.run(["tern-start", "-C", J.etc, "reload"])
        assert r.returncode == 0, err(r)

        def restarted():
            q, d = J.pid("tern-queued"), J.pid("tern-deliverd")
            return q and d and q != old[0] and d != old[1]
        harness.wait_for(restarted, 20, what="the queue side restarted by reload",
                         info=lambda: harness.tail(J.path("log", "queue.log")))
        assert "reload: tern.conf read" in open(J.path("log", "queue.log")).read()
        smtp_send(port, "bob@new.test", "after-reload")
        J.wait_for_message("bob@new.test", "after-reload", timeout=10)
        # the one that came before: re-read as local by the new tern-queued
        J.queue("flush")
        J.wait_for_message("bob@new.test", "before-reload", timeout=10)


def test_queue_side_follows_tern_conf_edit():
    """No program acts on a config the others have not seen: a domain
    added to local_domains is taken by tern-smtpd at the next connection,
    and tern-queued and tern-deliverd follow the edit without a reload
    (cfg_refresh), so the mail is delivered locally, not kept as remote;
    a change of a key they apply only at start waits for a reload."""
    users = dict(harness.USERS)
    users["bob@new.test"] = "bob"
    with harness.Instance(name="tools-follow", users=users, tls=False) as J:
        J.start()
        old = (J.pid("tern-queued"), J.pid("tern-deliverd"))
        # queued while new.test is not local: it waits as remote
        r = J.sendmail(["bob@new.test"], b"Subject: before-edit\n\nx\n")
        assert r.returncode == 0, err(r)
        harness.wait_for(lambda: "remote to=<bob@new.test>" in
                         open(J.path("log", "queue.log")).read(), 10,
                         what="the message waiting as remote")
        J.conf["local_domains"] = "localhost example.test new.test"
        J.write_conf()
        J.wait_for_message("bob@new.test", "before-edit", timeout=10)
        smtp_send(J.smtp_port(), "bob@new.test", "after-edit")
        J.wait_for_message("bob@new.test", "after-edit", timeout=10)
        assert (J.pid("tern-queued"), J.pid("tern-deliverd")) == old
        log = open(J.path("log", "queue.log")).read()
        assert "tern.conf changed: new configuration in effect" in log, log[-2000:]
        # spool_dir is applied at start only: logged, not taken
        J.conf["spool_dir"] = J.path("elsewhere")
        J.write_conf()
        harness.wait_for(lambda: "tern.conf changed spool_dir" in
                         open(J.path("log", "queue.log")).read(), 10,
                         what="the refused spool_dir change logged")


def test_reload_keeps_running_on_bad_config():
    """SIGHUP with a broken tern.conf: logged with file:line, the children
    are not restarted."""
    with harness.Instance(name="tools-hup", tls=False) as J:
        J.start()
        old = (J.pid("tern-queued"), J.pid("tern-deliverd"))
        J.conf["hostname"] = "a b"
        J.write_conf()
        line = list(J.conf).index("hostname") + 2
        J.start_proc.send_signal(1)
        log = J.path("log", "queue.log")
        harness.wait_for(lambda: "tern.conf:%d: hostname" % line in open(log).read(),
                         10, what="the reload error in queue.log",
                         info=lambda: harness.tail(log))
        assert (J.pid("tern-queued"), J.pid("tern-deliverd")) == old, \
            "children restarted on a bad tern.conf"
        # file log lines carry an RFC 3339 time
        first = open(log).readline()
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d tern-",
                        first), first


def test_quickstart_setup_local_root_and_postmaster():
    """The quickstart's configuration: its hostname is a local domain, so
    `sendmail root` and postmaster@localhost reach demo@example.test, and
    `quickstart reload` applies a change."""
    top = harness.REPO
    qs = os.path.join(top, "scripts", "quickstart")
    run = os.path.join(harness.TMPROOT, "qs-run")
    shutil.rmtree(run, ignore_errors=True)
    os.makedirs(harness.TMPROOT, exist_ok=True)
    env = dict(os.environ, TERN_QUICKSTART_RUN=run)
    env.pop("TERN_CONFDIR", None)
    r = subprocess.run(["bash", qs, "setup"], env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, "quickstart setup: %s" % err(r)
    etc, binp = os.path.join(run, "etc"), os.path.join(run, "bin")
    start = None
    try:
        r = subprocess.run([os.path.join(binp, "tern-config"), "-C", etc, "hostname"],
                           capture_output=True, env=env, timeout=30)
        host = r.stdout.decode().strip()
        r = subprocess.run([os.path.join(binp, "tern-config"), "-C", etc,
                            "local_domains"], capture_output=True, env=env, timeout=30)
        assert host in r.stdout.decode().split(), (host, r.stdout)
        log = open(os.path.join(run, "log", "queue.log"), "ab")
        start = subprocess.Popen([os.path.join(binp, "tern-start"), "-C", etc],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=env, start_new_session=True)
        log.close()
        qlog = os.path.join(run, "log", "queue.log")
        harness.wait_for(lambda: "tern-queued[" in open(qlog).read() and
                         "started:" in open(qlog).read(), 10,
                         what="the quickstart's queue side",
                         info=lambda: harness.tail(qlog))
        md = os.path.join(run, "mail", "example.test", "demo", "Maildir", "new")

        def count():
            try:
                return len(os.listdir(md))
            except FileNotFoundError:
                return 0
        for i, rcpt in enumerate(["root", "postmaster@localhost", "root@localhost"]):
            r = subprocess.run([os.path.join(binp, "tern-sendmail"), "-C", etc, rcpt],
                               input=b"Subject: qs\n\nhello\n", capture_output=True,
                               env=env, timeout=30)
            assert r.returncode == 0, "sendmail %s: %s" % (rcpt, err(r))
            harness.wait_for(lambda: count() >= i + 1, 10,
                             what="mail to %s in demo's Maildir" % rcpt,
                             info=lambda: harness.tail(os.path.join(run, "log",
                                                                    "queue.log")))
        r = subprocess.run(["bash", qs, "reload"], env=env, capture_output=True,
                           timeout=60)
        assert r.returncode == 0, "quickstart reload: %s" % err(r)
    finally:
        if start is not None:
            start.terminate()
            try:
                start.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(start.pid, 9)
                start.wait()
    shutil.rmtree(run, ignore_errors=True)

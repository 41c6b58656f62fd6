"""
tern-pop3d privilege separation (issue 4, Privileges), as root only, from
/proc/PID/status: the login child that parses the network before
authentication runs as pop3d_user (ternp) with no capabilities, the
mailbox process as the mailbox owner (ternv) with no capabilities, and
neither holds the maps (password hashes) open; the parent stays root and
never holds the client connection.
"""
import os
import pwd

import harness
import pop3_util as pu
from pop3_util import POP3Raw

I = None
PORT = None
DEMO = "demo@example.test"


def setup():
    global I, PORT
    harness.need_root()
    pu.ensure_pop3d_user()
    I = harness.Instance(name="pop3priv")
    PORT = pu.pop3_port(I)


def fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return out


def procs():
    """{role: pid} of the one session: parent, login, mailbox."""
    ps = pu.pop3d_pids(I, PORT)
    out = {}
    for pid, info in ps.items():
        if info[0] not in ps:
            out["parent"] = pid
    for pid, info in ps.items():
        if info[0] == out.get("parent"):
            uid = harness.proc_creds(pid)["uid"][0]
            out["login" if uid == pwd.getpwnam("ternp").pw_uid else "mailbox"] = pid
    return out


def check_unprivileged(pid, user):
    uid, gid = harness.ids(user)
    s = harness.proc_creds(pid)
    harness.log("pid %d: %s" % (pid, s))
    assert s["uid"] == [uid] * 4 and s["gid"] == [gid] * 4, s
    assert 0 not in s["groups"], s
    assert s["eff"] == 0 and s["prm"] == 0 and s["inh"] == 0 and s["amb"] == 0, s
    held = fds(pid)
    assert not [f for f in held if f.startswith(I.etc)], \
        "pid %d holds config files: %s" % (pid, held)


def test_login_child_and_mailbox_process():
    pu.put_message(I, DEMO, pu.sample("privsep"))
    with POP3Raw(PORT, I) as c:
        p = harness.wait_for(lambda: (lambda d: d if "login" in d else None)(procs()), 5,
                             what="the login child")
        check_unprivileged(p["login"], "ternp")
        # the parent stays root: it checks passwords and forks the
        # mailbox process (see test_parent_lets_go_of_the_connection)
        ps = harness.proc_creds(p["parent"])
        assert ps["uid"][0] == 0, ps
        c.stls()
        check_unprivileged(p["login"], "ternp")
        c.login(DEMO, "demo")
        p = harness.wait_for(lambda: (lambda d: d if "mailbox" in d else None)(procs()), 5,
                             what="the mailbox process")
        check_unprivileged(p["mailbox"], "ternv")
        # the mailbox process holds the Maildir lock, the login child not
        md = I.maildir(DEMO)
        assert os.path.join(md, "tern-pop3.lock") in fds(p["mailbox"])
        assert not [f for f in fds(p["login"]) if f.startswith(I.path("mail"))]
        assert c.cmd("STAT").startswith("+OK 1 ")
        assert c.cmd("QUIT").startswith("+OK")
    harness.wait_for(lambda: not pu.pop3d_pids(I, PORT), 5, what="the session to end")


def test_parent_lets_go_of_the_connection():
    with POP3Raw(PORT, I) as c:
        p = harness.wait_for(lambda: (lambda d: d if "login" in d else None)(procs()), 5,
                             what="the login child")
        parent_fds = fds(p["parent"])
        login_sockets = [f for f in fds(p["login"]) if f.startswith("socket:")]
        # the login child has the TCP connection and the socketpair; the
        # parent only the socketpair
        assert len([f for f in parent_fds if f.startswith("socket:")]) == 1, parent_fds
        assert len(login_sockets) >= 2, login_sockets
        assert c.cmd("QUIT").startswith("+OK")

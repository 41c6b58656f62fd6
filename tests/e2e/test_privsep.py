"""
Privilege separation (issue 2, acceptance 7), as root only: the processes
run as their own users with the capability sets doc/DESIGN.md declares,
as /proc/PID/status shows them.
"""
import os

import harness
from harness import SMTPRaw, ids

I = None
PORT = None
CAP_SETGID_SETUID = 0xC0   # bits 6 (CAP_SETGID) and 7 (CAP_SETUID)


def setup():
    global I, PORT
    harness.need_root()
    I = harness.Instance(name="privsep")
    I.start()
    PORT = I.smtp_port()


def show(pid):
    try:
        st = harness.proc_status(pid)
    except OSError as e:
        return "pid %d: %s" % (pid, e)
    return "pid %d %s: Uid %s Gid %s Groups %s CapEff %s CapPrm %s CapInh %s CapAmb %s" % (
        pid, st.get("Name"), st.get("Uid"), st.get("Gid"), st.get("Groups"),
        st.get("CapEff"), st.get("CapPrm"), st.get("CapInh"), st.get("CapAmb"))


def check(pid, user, caps):
    """pid runs as user (real, effective, saved, fs uid and gid; no
    supplementary group 0) with exactly caps in CapEff and CapPrm, and empty
    inheritable and ambient sets.  Waits a little: the process may still be
    starting up."""
    uid, gid = ids(user)

    def good():
        c = harness.proc_creds(pid)
        return (c["uid"] == [uid] * 4 and c["gid"] == [gid] * 4 and 0 not in c["groups"]
                and c["eff"] == caps and c["prm"] == caps and c["inh"] == 0
                and c["amb"] == 0)
    harness.wait_for(good, 5, what="pid %d to run as %s (uid %d gid %d) with caps %#x"
                     % (pid, user, uid, gid, caps), info=lambda: show(pid))
    harness.log(show(pid))


def test_queued_no_root_no_caps():
    check(I.pid("tern-queued"), "ternq", 0)


def test_deliverd_only_setuid_setgid():
    check(I.pid("tern-deliverd"), "ternl", CAP_SETGID_SETUID)


def test_smtpd_session_no_root_no_caps():
    with SMTPRaw(PORT) as c:
        assert c.banner[0] == 220, c.banner
        pids = harness.wait_for(lambda: I.smtpd_pids(PORT), 5, what="a tern-smtpd session")
        check(pids[0], "ternd", 0)
        assert c.cmd("NOOP")[0] == 250


def test_files_owned_by_role_users():
    qu, _ = ids("ternq")
    vu, _ = ids("ternv")
    st = os.stat(I.path("spool"))
    assert st.st_uid == qu, "spool/ owned by uid %d, not ternq (%d)" % (st.st_uid, qu)
    enq = os.stat(I.prog("tern-enqueue"))
    assert enq.st_uid == qu and enq.st_mode & 0o4000, "bin/tern-enqueue not setuid ternq"
    # a queued message is written by the setuid tern-enqueue, i.e. as ternq
    r = I.sendmail(["someone@elsewhere.example"], b"Subject: privsep-remote\n\nx\n")
    assert r.returncode == 0, r.stderr.decode()
    mess = I.path("spool", "mess")
    files = harness.wait_for(lambda: os.listdir(mess), 5, what="a file in spool/mess")
    for f in files:
        u = os.stat(os.path.join(mess, f)).st_uid
        assert u == qu, "spool/mess/%s owned by uid %d, not ternq (%d)" % (f, u, qu)
    # a delivered message is written by the delivery child as ternv
    r = I.sendmail(["demo@example.test"], b"Subject: privsep-local\n\nx\n")
    assert r.returncode == 0, r.stderr.decode()
    path, _ = I.wait_for_message("demo@example.test", b"privsep-local")
    for p in (path, I.maildir("demo@example.test")):
        u = os.stat(p).st_uid
        assert u == vu, "%s owned by uid %d, not ternv (%d)" % (p, u, vu)

"""
tern-enqueue when setuid (man/tern-enqueue.8 SECURITY): a root caller
(tern-sendmail) runs it as the queue user, never with real uid 0, and
reaches an instance under a directory only root can enter; an ordinary
caller cannot pass the root caller's fd options; a caller that
cannot reach the configuration is told why (errno); a configuration or a
spool that is not trusted is refused with the rule it broke.  Root only:
as a normal user tern-enqueue is not set-id.
"""
import os
import shutil
import stat
import subprocess

import harness

I = None


def setup():
    global I
    harness.need_root()
    I = harness.Instance(name="enqueue")
    I.start()   # makes the spool


def enq_input(rcpt="demo@example.test"):
    return b"Fme@example.test\nR" + rcpt.encode() + b"\n\n6\nhello\n0\n"


def run_as(user, argv, data):
    """Run bin/argv[0] as user (a non-root caller) or as root (user None)."""
    kw = {}
    if user:
        uid, gid = harness.ids(user)
        kw = {"user": uid, "group": gid, "extra_groups": []}
    return subprocess.run([I.prog(argv[0])] + argv[1:], input=data,
                          capture_output=True, env=I.env(), timeout=20, **kw)


class private:
    """A directory of the instance at mode 0700 (owner root) for a while."""
    def __init__(self, path=None):
        self.path = path or I.dir

    def __enter__(self):
        os.chmod(self.path, 0o700)

    def __exit__(self, *a):
        os.chmod(self.path, 0o755)


def mess_ids():
    return set(os.listdir(I.path("spool", "mess")))


def sendmail_input(subject):
    return ("To: demo@example.test\nSubject: %s\n\nhello\n" % subject).encode()


def test_root_caller_reaches_a_private_instance():
    # root's tern-sendmail (enq_open): the directories are opened as root
    # and passed to tern-enqueue, which runs as ternq; before, euid ternq
    # with egid 0 could not enter the 0700 directory (EACCES on etc/)
    before = mess_ids()
    with private():
        r = subprocess.run([I.prog("tern-sendmail"), "-C", I.etc, "-t"],
                           input=sendmail_input("private"), capture_output=True,
                           env=I.env(), timeout=20)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "tern-sendmail exited %d: %s" % (r.returncode, err)
    new = mess_ids() - before
    assert len(new) == 1, new
    path = I.path("spool", "mess", new.pop())
    st = os.stat(path)
    assert st.st_uid == harness.ids("ternq")[0], st
    assert st.st_gid == harness.ids("ternq")[1], st   # not root's group
    with open(path, "rb") as f:
        env = f.read().split(b"\n\n", 1)[0].split(b"\n")
    assert b"U0" in env, env   # root's uid, passed as -U, not ternq's


RECORDER = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
	uid_t r, e, s;
	(void)argc; (void)argv;
	if (getresuid(&r, &e, &s) < 0) return 1;
	fprintf(stderr, "tern-enqueue: ruid=%lu euid=%lu suid=%lu\n",
	    (unsigned long)r, (unsigned long)e, (unsigned long)s);
	return 111;
}
"""


def test_root_sendmail_runs_enqueue_as_queue_user():
    # the file belongs to ternq, so ternq could change it: run with real
    # uid 0, a changed copy could setresuid(0, 0, 0).  Stand-in for that
    # copy: a program installed like tern-enqueue (ternq, 4711) that says
    # which ids it was started with; root's tern-sendmail reports it.
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise harness.Skip("no C compiler for the stand-in tern-enqueue")
    J = harness.Instance(name="enqueue-ids")
    J.start()
    src = J.path("recorder.c")
    with open(src, "w") as f:
        f.write(RECORDER)
    prog = J.prog("tern-enqueue")
    subprocess.run([cc, "-o", prog, src], check=True, timeout=60,
                   capture_output=True)
    uid, gid = harness.ids("ternq")
    os.chown(prog, uid, gid)
    os.chmod(prog, 0o4711)
    r = subprocess.run([J.prog("tern-sendmail"), "-C", J.etc, "-t"],
                       input=sendmail_input("ids"), capture_output=True,
                       env=J.env(), timeout=20)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode != 0, err
    want = "ruid=%d euid=%d suid=%d" % (uid, uid, uid)
    assert want in err, err


def test_fd_options_refused_when_setuid():
    # an ordinary caller of the setuid copy must not hand it directories
    # of its own (-D, -S) nor a uid for the envelope (-U)
    d = os.open(I.etc, os.O_RDONLY | os.O_DIRECTORY)
    s = os.open(I.path("spool"), os.O_RDONLY | os.O_DIRECTORY)
    uid, gid = harness.ids("ternd")
    try:
        for extra in (["-D", str(d), "-S", str(s)],
                      ["-D", str(d), "-S", str(s), "-U", "0"], ["-U", "0"]):
            r = subprocess.run([I.prog("tern-enqueue"), "-C", I.etc] + extra,
                               input=enq_input(), capture_output=True,
                               env=I.env(), timeout=20, pass_fds=(d, s),
                               user=uid, group=gid, extra_groups=[])
            err = r.stderr.decode("utf-8", "replace")
            assert r.returncode == 111, (extra, r.returncode, err)
            assert "refused when setuid" in err, err
            assert r.stdout == b"", r.stdout   # no queue id: nothing queued
    finally:
        os.close(d)
        os.close(s)


def test_unreachable_config_names_errno():
    # etc/ itself: the caller must still reach the program in bin/
    with private(I.etc):
        r = run_as("ternd", ["tern-enqueue", "-C", I.etc], enq_input())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 111, (r.returncode, err)
    assert "Permission denied" in err, err
    assert "not owned" not in err and "writable" not in err, err


def untrusted_copy(name, owner=None, mode=0o755):
    d = I.path(name)
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(I.etc, d)
    if owner:
        uid, gid = harness.ids(owner)
        os.chown(d, uid, gid)
    os.chmod(d, mode)
    return d


def test_untrusted_config_refused():
    d = untrusted_copy("etc-ternd", owner="ternd")
    # ordinary callers of the setuid binary (root goes through
    # tern-sendmail, which drops to the queue user: a root caller of the
    # setuid file has no access of its own, and under a 0700 /root it
    # cannot even reach the instance, the group bits of /root applying)
    for user in ("ternd", "nobody"):
        r = run_as(user, ["tern-enqueue", "-C", d], enq_input())
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 111, (user, r.returncode, err)
        assert "owned by uid %d" % harness.ids("ternd")[0] in err, err
        assert "refused when setuid" in err, err
    d = untrusted_copy("etc-g+w", mode=0o775)
    r = run_as("ternd", ["tern-enqueue", "-C", d], enq_input())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 111 and "writable by group or others" in err, err
    os.chmod(os.path.join(d, "tern.conf"), 0o664)
    os.chmod(d, 0o755)
    r = run_as("ternd", ["tern-enqueue", "-C", d], enq_input())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 111 and "tern.conf: writable by group" in err, err


def test_spool_of_another_user_refused():
    d = untrusted_copy("etc-spool2")
    spool = I.path("spool2")
    os.makedirs(os.path.join(spool, "mess"), exist_ok=True)
    uid, gid = harness.ids("ternd")
    os.chown(spool, uid, gid)
    with open(os.path.join(d, "tern.conf"), "a") as f:
        f.write("spool_dir = ../spool2\n")
    # spool_dir set twice is an error: write the file again without it
    with open(os.path.join(d, "tern.conf")) as f:
        lines = [l for l in f if not l.startswith("spool_dir = ../spool\n")]
    with open(os.path.join(d, "tern.conf"), "w") as f:
        f.writelines(lines)
    for user in ("ternd", "nobody"):
        r = run_as(user, ["tern-enqueue", "-C", d], enq_input())
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 111, (user, r.returncode, err)
        assert "owned by uid %d, not by the queue user" % uid in err, err
    assert os.listdir(os.path.join(spool, "mess")) == []

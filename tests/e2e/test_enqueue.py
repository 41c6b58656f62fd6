"""
tern-enqueue when setuid (man/tern-enqueue.8 SECURITY): a root caller
reaches an instance under a directory only root can enter; a caller that
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


def test_root_caller_reaches_a_private_instance():
    # the setuid copy run by root: before, euid ternq with egid 0 could
    # not enter the 0700 directory (EACCES on etc/)
    with private():
        r = run_as(None, ["tern-enqueue", "-C", I.etc], enq_input())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "tern-enqueue exited %d: %s" % (r.returncode, err)
    qid = r.stdout.decode().strip()
    st = os.stat(I.path("spool", "mess", qid))
    assert st.st_uid == harness.ids("ternq")[0], st
    assert st.st_gid == harness.ids("ternq")[1], st   # not root's group


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
    for user in (None, "ternd"):   # a root caller is held to it too
        r = run_as(user, ["tern-enqueue", "-C", d], enq_input())
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 111, (user, r.returncode, err)
        assert "owned by uid %d" % harness.ids("ternd")[0] in err, err
        assert "refused when setuid" in err, err
    d = untrusted_copy("etc-g+w", mode=0o775)
    r = run_as(None, ["tern-enqueue", "-C", d], enq_input())
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 111 and "writable by group or others" in err, err
    os.chmod(os.path.join(d, "tern.conf"), 0o664)
    os.chmod(d, 0o755)
    r = run_as(None, ["tern-enqueue", "-C", d], enq_input())
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
    for user in (None, "ternd"):
        r = run_as(user, ["tern-enqueue", "-C", d], enq_input())
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 111, (user, r.returncode, err)
        assert "owned by uid %d, not by the queue user" % uid in err, err
    assert os.listdir(os.path.join(spool, "mess")) == []

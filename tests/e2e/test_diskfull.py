"""
test_diskfull: a spool on a file system that fills up (SPEC 4
"tern-enqueue", 7): "Disk full or any write error gives a temporary
failure (452/451) and leaves no debris that breaks the queue", and
nothing acknowledged is lost.

Each test gets its own instance whose spool lives on a small ext4 file
system of its own (DIR/spool.img, mkfs.ext4 -m 0: no blocks reserved for
root, so the filler the test writes as root and the queue writer running
as ternq see the same free space), loop-mounted on DIR/fs with
spool_dir = ../fs/spool; the mailboxes stay on the normal disk.  The
test fills it with files in DIR/fs, beside the spool and not in it,
until write(2) says ENOSPC, and frees it by removing them.  Against the
default path (tern-enqueued, the long-lived writer) and the fallback
(queue_writer = no: each message runs tern-enqueue):

- full: the disk is full before DATA: 451/452 naming the failure, the
  spool's files and `tern-queue list --json` exactly as before, the
  queue daemons the same processes, a message acknowledged before (and
  held undelivered while the disk was full) is delivered afterwards, and
  once the space is freed a new message is taken (250) and delivered;
- mid-message: 128 KiB left; the envelope file is created (the test
  waits for the uncommitted mess/ID), the first 64 KiB chunk written
  (the test waits for the file to grow), then the rest does not fit:
  451/452, the file gone, a small message still goes through on the
  nearly full disk, and a big one after the space is freed;
- queue side: tern-queued on a full disk: a deferral (mailbox over
  quota) whose state/ID cannot be written and a bounce that cannot be
  queued: tern-queued keeps running, leaves no state/ID.tmp or half
  bounce, the queue lists both as before, and once there is room again
  both are done (the deferred one delivered, the bounce sent);
- no inode: no free inode: 451/452 naming mess/; then exactly one free
  inode, so mess/ID can be made and committed but todo/ID (the marker
  that tells tern-queued) cannot: a 250 must still mean delivered.
  (Both writers used to answer 250 and make the marker afterwards, so
  that message sat in mess/ until tern-queued's next start; now the
  marker comes before the reply, and a message without one is taken
  back with a 451.  Either outcome passes, as long as 250 = delivered.)

The mount.  A loop mount needs a mount that tern-start, tern-smtpd
(under tcpserver) and the test itself all see.  setup() moves this test
process (the runner, single-threaded at that point) into a new mount
namespace of its own with private propagation, as `unshare -m
--propagation private` does, and every process the harness starts from
then on inherits it, so the harness's own helpers (Instance.start,
smtp_port, tern-queue, the path checks) work unchanged and no prefix is
needed.  Nothing of it is visible on the host (`mount | grep tern` stays
empty), even while a test runs, and if the runner is killed the mount
and its loop device (mount -o loop sets autoclear) go away with the
last process in the namespace: nothing can be left mounted on the host.
Each test still unmounts its file system when it ends, pass or fail (a
failed test's directory is kept with spool.img for a look), and
teardown() puts the runner back into the host's namespace for the test
files after this one.
"""
import ctypes
import errno
import os
import signal
import smtplib
import stat
import subprocess

import harness

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_void_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]

_ns = {}   # "host": a fd of the runner's own mount namespace, "cwd"

BIG = 300 * 1024      # "some hundred KB"
NOSPACE = "No space left on device"


# ---------------------------------------------------------------- namespace

def _check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def enter_private_ns():
    host = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    cwd = os.getcwd()
    try:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    except OSError:
        os.close(host)
        raise
    _ns.update(host=host, cwd=cwd)
    # no mount of ours propagates to the host, none of the host's to us
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None),
           "mount --make-rprivate /")


def leave_private_ns():
    host = _ns.pop("host", None)
    if host is None:
        return
    try:
        if _libc.setns(host, CLONE_NEWNS) != 0:
            # only with threads left over (they share our fs_struct); the
            # namespace then lives on in the runner, but nothing is
            # mounted in it any more: each test unmounted its own
            harness.log("note: staying in the private mount namespace: %s"
                        % os.strerror(ctypes.get_errno()))
        else:
            assert os.stat("/proc/self/ns/mnt").st_ino == os.fstat(host).st_ino, \
                "setns did not bring the runner back to the host's mount namespace"
    finally:
        os.close(host)
        os.chdir(_ns.pop("cwd"))   # setns moves us to its root


def setup():
    harness.need_root()
    harness.need_tool("mkfs.ext4", "e2fsprogs")
    harness.need_tool("mount", "mount")
    harness.need_tool("umount", "mount")
    harness.need_tool("tcpserver", "ucspi-tcp")
    if not os.path.exists("/dev/loop-control"):
        raise harness.Skip("no loop devices here (/dev/loop-control)")
    try:
        enter_private_ns()
    except OSError as e:
        leave_private_ns()
        raise harness.Skip("cannot make a private mount namespace: %s" % e)


def teardown():
    leave_private_ns()


# ---------------------------------------------------------------- the spool file system

class SmallSpool:
    """A harness.Instance whose spool is on its own small ext4 file system
    (loop mount of DIR/spool.img on DIR/fs, spool_dir = ../fs/spool),
    queue side started, tcpserver with tern-smtpd on self.port.
    writer: tern-enqueued (default) or not (queue_writer = no).  A context
    manager: the instance is stopped and the file system unmounted at the
    end, whatever happened."""

    def __init__(self, name, writer=True, size_mb=16, inodes=None, prepare=None):
        """prepare(instance): called before the queue side starts."""
        conf = {"spool_dir": "../fs/spool"}
        if not writer:
            conf["queue_writer"] = "no"
        self.writer = writer
        self.mounted = False
        self.I = harness.Instance(name=name, conf=conf, tls=False)
        try:
            self.img = self.I.path("spool.img")
            self.fs = self.I.path("fs")
            os.mkdir(self.fs, 0o755)
            with open(self.img, "wb") as f:
                f.truncate(size_mb << 20)
            mkfs = ["mkfs.ext4", "-q", "-F", "-m", "0", "-b", "4096"]
            if inodes:
                mkfs += ["-N", str(inodes)]
            self._run(mkfs + [self.img])
            self._run(["mount", "-t", "ext4", "-o", "loop,nodev,nosuid",
                       self.img, self.fs])
            self.mounted = True
            os.rmdir(os.path.join(self.fs, "lost+found"))
            if prepare:
                prepare(self.I)
            self.I.start()
            self.port = self.I.smtp_port()
        except BaseException:
            self.close(failed=True)
            raise
        self.fillers = []

    @staticmethod
    def _run(argv):
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60)
        if r.returncode != 0:
            raise AssertionError("%s exited %d: %s" % (
                " ".join(argv), r.returncode,
                r.stderr.decode("utf-8", "replace").strip()))

    def umount(self):
        if not self.mounted:
            return
        r = subprocess.run(["umount", self.fs], capture_output=True, timeout=60)
        if r.returncode != 0:
            # busy: something of ours still has a file open there; the
            # lazy unmount detaches it now and frees it when that goes
            harness.log("note: umount %s: %s; detaching it" % (
                self.fs, r.stderr.decode("utf-8", "replace").strip()))
            self._run(["umount", "-l", self.fs])
        self.mounted = False

    def close(self, failed):
        try:
            self.I.stop()   # nothing may hold the file system any more
        finally:
            try:
                self.umount()
            finally:
                self.I.close(failed)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close(failed=et is not None and not issubclass(et, harness.Skip))
        return False

    # -- paths
    def spool(self, *parts):
        return os.path.join(self.fs, "spool", *parts)

    def avail(self):
        st = os.statvfs(self.fs)
        return st.f_bavail * st.f_frsize

    def free_inodes(self):
        return os.statvfs(self.fs).f_favail

    # -- filling
    def _filler(self, tag):
        p = os.path.join(self.fs, ".fill-%s-%d" % (tag, len(self.fillers)))
        self.fillers.append(p)
        return p

    def _write_until_full(self, path):
        """Append to path until ENOSPC (1 MiB writes, then 4 KiB, then one
        byte: the last block is used up too) and fsync it."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                buf = b"f" * size
                while True:
                    try:
                        os.write(fd, buf)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                        break
            os.fsync(fd)
        finally:
            os.close(fd)

    def fill(self, leave=0):
        """Fill the file system until not one block is free, then free
        leave bytes again (a file of that size written first and removed
        at the end).  The space left, checked with statvfs, is returned."""
        slack = None
        if leave:
            slack = os.path.join(self.fs, ".slack")
            fd = os.open(slack, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, b"s" * leave)
                os.fsync(fd)
            finally:
                os.close(fd)
        # a file's unused preallocation is given back when it is closed,
        # so a few blocks may be free again after each one: another file
        for _ in range(50):
            self._write_until_full(self._filler("b"))
            if self.avail() == 0:
                break
        else:
            raise AssertionError("%s: still %d bytes free after 50 fillers"
                                 % (self.fs, self.avail()))
        if slack:
            os.unlink(slack)
            harness.wait_for(lambda: self.avail() >= leave, 10,
                             what="%d bytes free again on %s" % (leave, self.fs))
        return self.avail()

    def fill_inodes(self):
        """Create empty files until no inode is left."""
        while True:
            p = self._filler("i")
            try:
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except OSError as e:
                self.fillers.pop()
                if e.errno != errno.ENOSPC:
                    raise
                break
        assert self.free_inodes() == 0, self.free_inodes()

    def free_one_inode(self):
        for p in self.fillers:
            if os.path.basename(p).startswith(".fill-i-"):
                os.unlink(p)
                self.fillers.remove(p)
                break
        harness.wait_for(lambda: self.free_inodes() == 1, 10, what="one free inode")

    def free(self):
        for p in self.fillers:
            os.unlink(p)
        self.fillers = []

    # -- what must not change
    def spool_files(self):
        """Every name below spool/ (relative), directories marked '/'."""
        out = []
        top = self.spool()
        for root, dirs, files in os.walk(top):
            rel = os.path.relpath(root, top)
            for d in dirs:
                out.append(os.path.normpath(os.path.join(rel, d)) + "/")
            for f in files:
                out.append(os.path.normpath(os.path.join(rel, f)))
        return sorted(out)

    def work_files(self):
        """mess/ files without the commit bit (being written)."""
        out = []
        for f in os.listdir(self.spool("mess")):
            try:
                st = os.stat(self.spool("mess", f))
            except FileNotFoundError:
                continue
            if not st.st_mode & stat.S_IXUSR:
                out.append((f, st.st_size))
        return out

    def daemons(self):
        names = ["tern-queued", "tern-deliverd", "tern-remote"]
        if self.writer:
            names.append("tern-enqueued")
        return {n: self.I.pid(n) for n in names}

    def snapshot(self):
        return {"files": self.spool_files(),
                "queue": self.I.queue_list(as_json=True),
                "daemons": self.daemons()}

    def assert_unchanged(self, before, what):
        now = self.snapshot()
        assert now["files"] == before["files"], (
            "%s: the spool changed (debris?)\nbefore: %s\nnow:    %s"
            % (what, before["files"], now["files"]))
        assert now["queue"] == before["queue"], (
            "%s: tern-queue list --json changed\nbefore: %s\nnow:    %s"
            % (what, before["queue"], now["queue"]))
        assert now["daemons"] == before["daemons"] and all(now["daemons"].values()), (
            "%s: the queue daemons are not the same processes: %s, then %s"
            % (what, before["daemons"], now["daemons"]))


# ---------------------------------------------------------------- SMTP

def body(size):
    line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    return line * (size // len(line) + 1)


def send(port, marker, size=1024, rcpt="demo@example.test"):
    """One message over SMTP with smtplib: (code, text) of the reply to
    the final dot."""
    msg = ("From: me@example.test\r\nTo: %s\r\nSubject: %s\r\n\r\n"
           % (rcpt, marker)).encode() + body(size)
    s = smtplib.SMTP("127.0.0.1", port, timeout=60)
    try:
        s.ehlo()
        code, text = s.mail("me@example.test")
        assert code == 250, (code, text)
        code, text = s.rcpt(rcpt)
        assert code == 250, (code, text)
        try:
            code, text = s.data(msg)
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        try:
            s.quit()
        except smtplib.SMTPException:
            pass
    finally:
        s.close()
    return code, text.decode("utf-8", "replace")


def assert_temp_failure(S, code, text, what):
    assert code in (451, 452), "%s: %d %s (want 451 or 452)" % (what, code, text)
    assert what in text and NOSPACE in text, \
        "the reply does not name the failure (%s: %s): %d %s" % (what, NOSPACE, code, text)
    S.I.wait_log(r"defer stage=data .*reply=45[12] .*%s" % NOSPACE, name="smtpd.log")
    if S.writer:
        S.I.wait_log(r"tern-enqueued\[\d+\]: warning: uid=\d+ pid=\d+ deferred: %s.*%s"
                     % (what, NOSPACE))


def acked_but_undelivered(S, marker):
    """A message acknowledged (250) and then held in the queue: tern-deliverd
    is stopped (SIGSTOP) before it is sent, so the message waits in mess/
    (tern-queued's request to it unread) until resume() is called."""
    pid = S.I.pid("tern-deliverd")
    os.kill(pid, signal.SIGSTOP)

    def stopped():
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "T"
    harness.wait_for(stopped, 10, what="tern-deliverd stopped")
    code, text = send(S.port, marker)
    assert code == 250, (code, text)
    qid = text.split()[-1]
    S.I.wait_log(r"%s new from=<me@example.test>" % qid)
    assert S.I.find_message("demo@example.test", marker) is None

    def resume():
        os.kill(pid, signal.SIGCONT)
    return qid, resume


# ---------------------------------------------------------------- the tests

def full_disk(writer):
    with SmallSpool("dfull", writer=writer) as S:
        code, text = send(S.port, "before-delivered")
        assert code == 250, (code, text)
        S.I.wait_for_message("demo@example.test", "before-delivered")
        S.I.wait_queue_empty()
        qid, resume = acked_but_undelivered(S, "before-held")
        try:
            before = S.snapshot()
            assert [m["id"] for m in before["queue"]["messages"]] == [qid], before
            assert S.fill() == 0
            code, text = send(S.port, "on-full-disk", BIG)
            assert_temp_failure(S, code, text, "writing mess/")
            S.assert_unchanged(before, "after a message on a full disk")
            # the writer takes the next one as well (no state left over)
            code, text = send(S.port, "on-full-disk-2", BIG)
            assert_temp_failure(S, code, text, "writing mess/")
            S.assert_unchanged(before, "after a second message on a full disk")
        finally:
            resume()
        S.free()
        S.I.wait_for_message("demo@example.test", "before-held")
        code, text = send(S.port, "after-full-disk", BIG)
        assert code == 250, (code, text)
        _, data = S.I.wait_for_message("demo@example.test", "after-full-disk")
        assert harness.lf(body(BIG)) in data, "the message is cut: %d bytes" % len(data)
        S.I.wait_queue_empty()
        for m in ("on-full-disk", "on-full-disk-2"):
            assert S.I.find_message("demo@example.test", m) is None, m
        assert S.spool_files() == [f for f in before["files"]
                                   if not f.startswith("mess/" + qid)]


def test_full_disk_writer():
    full_disk(writer=True)


def test_full_disk_fallback():
    full_disk(writer=False)


def mid_message(writer):
    with SmallSpool("dmid", writer=writer) as S:
        qid, resume = acked_but_undelivered(S, "before-held")
        try:
            before = S.snapshot()
            left = S.fill(leave=128 * 1024)
            assert 128 * 1024 <= left < BIG, left
            with harness.SMTPRaw(S.port, timeout=60) as c:
                assert c.cmd("EHLO client.example.test")[0] == 250
                assert c.cmd("MAIL FROM:<me@example.test>")[0] == 250
                assert c.cmd("RCPT TO:<demo@example.test>")[0] == 250
                assert c.cmd("DATA")[0] == 354
                # the envelope is on the disk: mess/ID exists, uncommitted
                work = harness.wait_for(S.work_files, 10,
                                        what="the envelope file in mess/")
                assert len(work) == 1, work
                msg = (b"From: me@example.test\r\nSubject: mid-message\r\n\r\n" +
                       body(BIG))
                c.send(msg[:80 * 1024])
                # and the first 64 KiB chunk of the message after it
                harness.wait_for(lambda: [w for w in S.work_files() if w[1] > 65536],
                                 10, what="the first chunk written to %s" % work[0][0],
                                 info=lambda: "%s" % S.work_files())
                c.send(msg[80 * 1024:] + b"\r\n.\r\n")
                code, lines = c.reply()
                assert_temp_failure(S, code, " ".join(lines), "writing mess/")
                assert c.cmd("QUIT")[0] == 221
            S.assert_unchanged(before, "after a message cut by a full disk")
            # a small message still fits on the nearly full disk
            code, text = send(S.port, "small-on-nearly-full", 2048)
            assert code == 250, (code, text)
            S.I.wait_log(r"%s new from=" % text.split()[-1])
        finally:
            resume()
        S.I.wait_for_message("demo@example.test", "before-held")
        S.I.wait_for_message("demo@example.test", "small-on-nearly-full")
        S.free()
        code, text = send(S.port, "after-mid-message", BIG)
        assert code == 250, (code, text)
        S.I.wait_for_message("demo@example.test", "after-mid-message")
        S.I.wait_queue_empty()
        assert S.I.find_message("demo@example.test", "mid-message\r\n") is None
        assert not S.work_files()


def test_mid_message_writer():
    mid_message(writer=True)


def test_mid_message_fallback():
    mid_message(writer=False)


def no_inode(writer):
    with SmallSpool("dino", writer=writer, inodes=64) as S:
        before = S.snapshot()
        S.fill_inodes()
        code, text = send(S.port, "no-inode", BIG)
        assert_temp_failure(S, code, text, "creating mess/")
        S.assert_unchanged(before, "after a message with no free inode")
        # one inode: enough for mess/ID, not for todo/ID after it
        S.free_one_inode()
        code, text = send(S.port, "one-inode", 4096)
        if code == 250:
            # acknowledged: it must be delivered, disk full or not
            S.I.wait_for_message("demo@example.test", "one-inode", timeout=10)
        else:
            assert_temp_failure(S, code, text, "creating todo/")
            S.assert_unchanged(before, "after a message with one free inode")
        S.free()
        code, text = send(S.port, "after-no-inode", BIG)
        assert code == 250, (code, text)
        S.I.wait_for_message("demo@example.test", "after-no-inode")
        S.I.wait_queue_empty()


def test_no_inode_writer():
    no_inode(writer=True)


def test_no_inode_fallback():
    no_inode(writer=False)


def set_quota(I, addr, quota):
    I.set_quota(addr, quota)


def test_queue_side_on_full_disk():
    with SmallSpool("dqueue", prepare=lambda I: set_quota(
            I, "alice@example.test", 1)) as S:
        # alice's mailbox is over its quota (1 byte): a temporary failure
        # (4.2.2) that tern-queued must write to state/ID; nosuch@ is not a
        # user (tern-enqueue does not check): a bounce to queue
        pid = S.I.pid("tern-deliverd")
        os.kill(pid, signal.SIGSTOP)
        try:
            code, text = send(S.port, "over-quota", rcpt="alice@example.test")
            assert code == 250, (code, text)
            deferred = text.split()[-1]
            S.I.wait_log(r"%s new from=<me@example.test>" % deferred)
            bounced = S.I.enqueue("demo@example.test", ["nosuch@example.test"],
                                  b"Subject: to-nobody\n\nhello\n")
            S.I.wait_log(r"%s new from=<demo@example.test>" % bounced)
            before = S.snapshot()
            assert S.fill() == 0
        finally:
            os.kill(pid, signal.SIGCONT)
        S.I.wait_log(r"%s cannot write state/%s: %s" % (deferred, deferred, NOSPACE))
        S.I.wait_log(r"%s bounce action=failed to=<demo@example.test> not queued "
                     r"\(will retry\): .*%s" % (bounced, NOSPACE))
        S.I.wait_log(r"%s cannot write state/%s: %s" % (bounced, bounced, NOSPACE))
        S.assert_unchanged(before, "after tern-queued's writes failed")
        S.free()
        set_quota(S.I, "alice@example.test", None)
        r = S.I.queue("flush", deferred, bounced)
        assert r.returncode == 0, r.stderr.decode()
        S.I.wait_for_message("alice@example.test", "over-quota")
        _, dsn = S.I.wait_for_message("demo@example.test", "to-nobody")
        _, fields, rcpts = harness.dsn_report(dsn)
        assert [f.get("final-recipient") for f in rcpts] == \
            ["rfc822; nosuch@example.test"], rcpts
        S.I.wait_queue_empty()
        assert not [f for f in S.spool_files() if not f.endswith("/")
                    and f not in ("trigger", "tern-start.pid")], S.spool_files()

"""
The launch glue in scripts/, each file run from its shipped text with only
the installed paths pointed at a test instance (never /etc/tern):

  scripts/tcpserver/*.run   run unchanged with TERN_CONFDIR, TERN_LIBEXECDIR,
                            TERN_IP and TERN_PORT in the environment;
                            smtpd.run compiles the shipped tcp.smtp itself,
                            loopback is no relay client, the RELAYCLIENT
                            example line and the documented tcprules command
                            work without a restart, and with no rules at all
                            the script says so instead of starting a
                            tcpserver that drops every client;
  scripts/inetd.conf        every line under Debian's openbsd-inetd (-d, in
                            the foreground), service field -> 127.0.0.1:PORT;
  scripts/systemd/*.socket  + their @.service ExecStart under
                            systemd-socket-activate --inetd -a (Accept=yes);
  tern-smtpd-listen.service its ExecStart with -l on 127.0.0.1:PORT;
  tern.service              ExecStart starts the queue, ExecStop stops it.

Each listener gets the check of what its default port is for: 25 takes
mail for a local user (delivered) and refuses to relay; 587 offers
STARTTLS and wants AUTH before MAIL; 465 speaks TLS at once; 110 offers
STLS; 995 speaks TLS at once; 143 offers STARTTLS; 993 speaks TLS at
once.  Logins use the instance's demo user.
A tool that is not installed makes its tests skip with the reason.
"""
import os
import pwd
import re
import shlex
import shutil
import subprocess
import uuid

import harness
import imap_util as M
import pop3_util as P
import smtpd_util as U
from harness import message

SCRIPTS = os.path.join(harness.REPO, "scripts")
TCPSERVER = os.path.join(SCRIPTS, "tcpserver")
SYSTEMD = os.path.join(SCRIPTS, "systemd")

# every launch file, and the test that runs it
COVERED = {
    "tcpserver/smtpd.run": "test_tcpserver_smtpd_run",
    "tcpserver/tcp.smtp": "test_tcpserver_smtpd_run",
    "tcpserver/submission.run": "test_tcpserver_submission_run",
    "tcpserver/smtps.run": "test_tcpserver_smtps_run",
    "tcpserver/pop3d.run": "test_tcpserver_pop3d_run",
    "tcpserver/pop3s.run": "test_tcpserver_pop3s_run",
    "tcpserver/imapd.run": "test_tcpserver_imapd_run",
    "tcpserver/imaps.run": "test_tcpserver_imaps_run",
    "inetd.conf": "test_inetd_conf_lines",
    "systemd/tern-smtpd.socket": "test_systemd_socket_units",
    "systemd/tern-smtpd@.service": "test_systemd_socket_units",
    "systemd/tern-submission.socket": "test_systemd_socket_units",
    "systemd/tern-submission@.service": "test_systemd_socket_units",
    "systemd/tern-smtps.socket": "test_systemd_socket_units",
    "systemd/tern-smtps@.service": "test_systemd_socket_units",
    "systemd/tern-pop3d.socket": "test_systemd_socket_units",
    "systemd/tern-pop3d@.service": "test_systemd_socket_units",
    "systemd/tern-pop3s.socket": "test_systemd_socket_units",
    "systemd/tern-pop3s@.service": "test_systemd_socket_units",
    "systemd/tern-imapd.socket": "test_systemd_socket_units",
    "systemd/tern-imapd@.service": "test_systemd_socket_units",
    "systemd/tern-imaps.socket": "test_systemd_socket_units",
    "systemd/tern-imaps@.service": "test_systemd_socket_units",
    "systemd/tern-smtpd-listen.service": "test_systemd_smtpd_listen_service",
    "systemd/tern.service": "test_systemd_tern_service",
}

# the installed places of the programs, as the shipped files name them
INSTALLED = ("/usr/lib/tern/", "/usr/sbin/")

I = None


def setup():
    global I
    I = harness.Instance(name="glue")
    P.install(I)
    M.install(I)
    I.start()


def marker(what):
    return "%s-%s" % (what, uuid.uuid4().hex[:12])


def localise(inst, argv):
    """argv of a shipped file with each installed program path replaced by
    the instance's copy (which must exist)."""
    out = []
    for a in argv:
        for pre in INSTALLED:
            if a.startswith(pre):
                a = os.path.join(inst.bin, a[len(pre):])
                assert os.path.exists(a), "%s is not in the instance" % a
        out.append(a)
    return out


def confenv(inst):
    return {"TERN_CONFDIR": inst.etc}


def launch(inst, make_argv, log_name, env=None):
    """Start make_argv(port) on a free port (new session, output to
    log/LOG_NAME), stopped with the instance; wait until the port listens.
    env: a dict, or a function of the port giving one.  Returns the port."""
    logp = inst.path("log", log_name)
    for _ in range(5):
        port = harness.free_port()
        log = open(logp, "ab")
        try:
            p = subprocess.Popen(make_argv(port), stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log,
                                 env=inst.env(env(port) if callable(env) else env),
                                 start_new_session=True)
        finally:
            log.close()
        inst.tcpservers.append((p, port))
        harness.wait_for(lambda: p.poll() is not None or harness.listening(port),
                         10, what="a listener on port %d" % port,
                         info=lambda: harness.tail(logp))
        if p.poll() is None:
            return port
        # lost the race for the port, or broken: the log tells after 5 tries
    raise AssertionError("%s would not listen\n%s" % (make_argv(0), harness.tail(logp)))


# ------------------------------------------------------------ the checks

def check_mx(inst, port):
    """Port 25: mail for a local user is taken and delivered; another
    domain is refused (127.0.0.1 is no relay client)."""
    m = marker("mx")
    with U.raw(port) as c:
        assert c.banner[0] == 220, c.banner
        U.ehlo(c)
        code, lines = c.cmd("MAIL FROM:<sender@example.org>")
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<someone@elsewhere.example>")
        assert code // 100 == 5, "loopback relayed: %r" % lines
        code, lines = c.cmd("RCPT TO:<demo@example.test>")
        assert code == 250, lines
        code, lines = c.cmd("DATA")
        assert code == 354, lines
        c.send(message(m) + b".\r\n")
        code, lines = c.reply()
        assert code == 250, lines
        c.cmd("QUIT")
    inst.wait_for_message("demo@example.test", m, timeout=10)


def check_submission(inst, port):
    """Port 587: STARTTLS offered, MAIL refused before AUTH, AUTH over TLS."""
    with U.raw(port) as c:
        assert c.banner[0] == 220, c.banner
        assert "STARTTLS" in U.ehlo(c)
        code, lines = c.cmd("MAIL FROM:<demo@example.test>")
        assert code == 530, "MAIL before AUTH: %r" % lines
        t = U.starttls(c, inst)
        assert any(k.startswith("AUTH") for k in U.ehlo(t))
        code, lines = U.auth_plain(t, "demo@example.test", "demo")
        assert code == 235, lines
        t.cmd("QUIT")


def check_smtps(inst, port):
    """Port 465: TLS before the banner, then AUTH."""
    with U.smtps(inst, port) as c:
        assert c.banner[0] == 220, c.banner
        assert any(k.startswith("AUTH") for k in U.ehlo(c))
        code, lines = U.auth_plain(c, "demo@example.test", "demo")
        assert code == 235, lines
        c.cmd("QUIT")


def check_pop3(inst, port):
    """Port 110: greeting, STLS, login."""
    with P.POP3Raw(port, inst) as c:
        assert c.greeting.startswith("+OK"), c.greeting
        c.stls()
        c.login("demo@example.test", "demo")
        assert c.cmd("STAT").startswith("+OK")
        c.cmd("QUIT")


def check_pop3s(inst, port):
    """Port 995: TLS before the greeting, login."""
    with P.POP3Raw(port, inst, tls=True) as c:
        assert c.greeting.startswith("+OK"), c.greeting
        c.login("demo@example.test", "demo")
        assert c.cmd("STAT").startswith("+OK")
        c.cmd("QUIT")


def imap_session(c):
    """The part after TLS: LOGIN, SELECT INBOX, LOGOUT."""
    c.login("demo@example.test", "demo")
    u, t = c.select("INBOX")
    assert t.startswith("OK [READ-WRITE]"), t
    assert any(r.endswith(" EXISTS") for r in u), u
    c.logout()


def check_imap(inst, port):
    """Port 143: greeting, STARTTLS, login."""
    with M.IMAPRaw(port, inst) as c:
        assert c.greeting.startswith("* OK"), c.greeting
        assert "STARTTLS" in c.capabilities()
        c.starttls()
        imap_session(c)


def check_imaps(inst, port):
    """Port 993: TLS before the greeting, login."""
    with M.IMAPRaw(port, inst, tls=True) as c:
        assert c.greeting.startswith("* OK"), c.greeting
        imap_session(c)


CHECKS = {25: check_mx, 587: check_submission, 465: check_smtps,
          110: check_pop3, 995: check_pop3s, 143: check_imap, 993: check_imaps}


def test_every_launch_file_is_tested():
    found = set()
    for d in (TCPSERVER, SYSTEMD):
        for f in os.listdir(d):
            found.add(os.path.relpath(os.path.join(d, f), SCRIPTS))
    found.add("inetd.conf")
    untested = sorted(found - set(COVERED))
    gone = sorted(set(COVERED) - found)
    assert not untested, "launch files without a test here: %s" % untested
    assert not gone, "tested files that are gone: %s" % gone
    names = set(globals())
    assert set(COVERED.values()) <= names, "a COVERED test does not exist"


# ------------------------------------------------------------ tcpserver

def default_port(script):
    with open(script) as f:
        m = re.search(r"^port=\$\{TERN_PORT:-(\d+)\}$", f.read(), re.M)
    assert m, "%s: no port=${TERN_PORT:-N} line" % script
    return int(m.group(1))


def run_script(inst, name, env=None):
    """scripts/tcpserver/NAME as shipped, pointed at inst by environment;
    (port, default port)."""
    harness.need_tool("tcpserver", "ucspi-tcp")
    script = os.path.join(TCPSERVER, name)

    def envfor(port):
        e = {"TERN_CONFDIR": inst.etc, "TERN_LIBEXECDIR": inst.bin,
             "TERN_IP": "127.0.0.1", "TERN_PORT": str(port)}
        e.update(env or {})
        return e

    port = launch(inst, lambda _: [script], name + ".log", envfor)
    return port, default_port(script)


def tcp_smtp_command(rules_text, confdir):
    """The tcprules command documented in tcp.smtp, for confdir."""
    m = re.search(r"^#\s+(tcprules /etc/tern/\S+ .*)$", rules_text, re.M)
    assert m, "tcp.smtp documents no tcprules command"
    return m.group(1).replace("/etc/tern", confdir)


def test_tcpserver_smtpd_run():
    harness.need_tool("tcprules", "ucspi-tcp")
    with open(os.path.join(TCPSERVER, "tcp.smtp")) as f:
        shipped = f.read()
    rules = I.write_etc("tcp.smtp", shipped)
    for old in (rules + ".cdb", rules + ".tmp"):
        if os.path.exists(old):
            os.unlink(old)
    port, default = run_script(I, "smtpd.run")
    assert default == 25
    assert os.path.exists(rules + ".cdb"), "smtpd.run did not compile tcp.smtp"
    check_mx(I, port)
    # the documented way to trust a network: its example line for
    # loopback, compiled with the documented command, no restart
    line = '#   127.0.0.1:allow,RELAYCLIENT=""\n'
    assert line in shipped, "tcp.smtp lost its RELAYCLIENT example"
    I.write_etc("tcp.smtp", line[4:] + shipped)
    r = subprocess.run(["sh", "-c", tcp_smtp_command(shipped, I.etc)],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    with U.raw(port) as c:
        U.ehlo(c)
        assert c.cmd("MAIL FROM:<sender@example.org>")[0] == 250
        code, lines = c.cmd("RCPT TO:<someone@elsewhere.example>")
        assert code == 250, "RELAYCLIENT from tcp.smtp not honoured: %r" % lines
        c.cmd("QUIT")


def test_tcpserver_smtpd_run_without_rules():
    """No tcp.smtp and no .cdb: a clear message and exit 111, not a
    tcpserver that drops every client."""
    empty = I.path("norules")
    os.makedirs(empty, exist_ok=True)
    env = I.env({"TERN_CONFDIR": empty, "TERN_LIBEXECDIR": I.bin,
                 "TERN_IP": "127.0.0.1", "TERN_PORT": str(harness.free_port())})
    r = subprocess.run([os.path.join(TCPSERVER, "smtpd.run")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    out = r.stdout.decode("utf-8", "replace")
    assert r.returncode == 111, "exit %d: %s" % (r.returncode, out)
    assert "tcprules %s/tcp.smtp.cdb" % empty in out, out


def tcpserver_test(name):
    port, default = run_script(I, name)
    assert default in CHECKS, "%s: default port %d has no check" % (name, default)
    CHECKS[default](I, port)


def test_tcpserver_submission_run():
    tcpserver_test("submission.run")


def test_tcpserver_smtps_run():
    tcpserver_test("smtps.run")


def test_tcpserver_pop3d_run():
    tcpserver_test("pop3d.run")


def test_tcpserver_pop3s_run():
    tcpserver_test("pop3s.run")


def test_tcpserver_imapd_run():
    tcpserver_test("imapd.run")


def test_tcpserver_imaps_run():
    tcpserver_test("imaps.run")


# ------------------------------------------------------------ inetd

INETD_PORTS = {"smtp": 25, "submission": 587, "submissions": 465,
               "pop3": 110, "pop3s": 995, "imap": 143, "imaps": 993}


def find_inetd():
    p = shutil.which("inetd") or ("/usr/sbin/inetd" if os.access(
        "/usr/sbin/inetd", os.X_OK) else None)
    if p is None:
        raise harness.Skip("inetd not installed (apt-get install openbsd-inetd)")
    return p


def test_inetd_conf_lines():
    inetd = find_inetd()
    me = pwd.getpwuid(os.getuid()).pw_name
    lines = []
    with open(os.path.join(SCRIPTS, "inetd.conf")) as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith("#"):
                lines.append(line.split())
    assert sorted(l[0] for l in lines) == sorted(INETD_PORTS), \
        "inetd.conf services: %s" % [l[0] for l in lines]
    # inetd gives the connection as standard error too: the log must go
    # to syslog (the default, as inetd.conf says), not into the session
    with harness.Instance(name="glueinetd", conf={"log": "syslog"}) as J:
        P.install(J)
        M.install(J)
        J.start()
        ports = {}
        conf = []
        for f in lines:
            service, socktype, proto, wait, user, server = f[:6]
            assert (socktype, proto, wait) == ("stream", "tcp", "nowait"), f
            # as root the shipped user; else inetd can only run us
            if not harness.IS_ROOT:
                user = me
            ports[service] = harness.free_port()
            conf.append("\t".join(["127.0.0.1:%d" % ports[service], socktype,
                                   proto, wait, user] + localise(J, [server]) +
                                  f[6:]))
        path = J.write_etc("inetd.conf", "\n".join(conf) + "\n")
        logp = J.path("log", "inetd.log")
        log = open(logp, "ab")
        try:
            p = subprocess.Popen([inetd, "-d", path], stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=log, env=J.env(confenv(J)),
                                 start_new_session=True)
        finally:
            log.close()
        J.tcpservers.append((p, 0))
        harness.wait_for(lambda: p.poll() is not None or
                         all(harness.listening(pt) for pt in ports.values()), 10,
                         what="inetd listening on %s" % sorted(ports.values()),
                         info=lambda: harness.tail(logp))
        assert p.poll() is None, "inetd exited %d\n%s" % (p.returncode,
                                                          harness.tail(logp))
        for service, port in sorted(ports.items()):
            harness.log("inetd.conf %s on port %d" % (service, port))
            CHECKS[INETD_PORTS[service]](J, port)


# ------------------------------------------------------------ systemd

def unit(name):
    """A unit file as {section: {key: [values]}}."""
    out, sect = {}, None
    with open(os.path.join(SYSTEMD, name)) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                sect = out.setdefault(line[1:-1], {})
                continue
            k, _, v = line.partition("=")
            sect.setdefault(k.strip(), []).append(v.strip())
    return out


def one(u, sect, key):
    v = u.get(sect, {}).get(key)
    assert v and len(v) == 1, "%s %s= %r" % (sect, key, v)
    return v[0]


def exec_start(name):
    return shlex.split(one(unit(name), "Service", "ExecStart"))


def test_systemd_socket_units():
    ssa = harness.need_tool("systemd-socket-activate", "systemd")
    sockets = sorted(f for f in os.listdir(SYSTEMD) if f.endswith(".socket"))
    assert sockets
    seen = set()
    for sock in sockets:
        u = unit(sock)
        assert one(u, "Socket", "Accept") == "yes", sock
        default = int(one(u, "Socket", "ListenStream"))
        assert default in CHECKS and default not in seen, (sock, default)
        seen.add(default)
        service = sock[:-len(".socket")] + "@.service"
        s = unit(service)
        assert one(s, "Service", "StandardInput") == "socket", service
        assert one(s, "Service", "StandardOutput") == "socket", service
        argv = localise(I, exec_start(service))
        # -a --inetd: accept, one process per connection on fd 0/1, as
        # Accept=yes with StandardInput=socket
        port = launch(I, lambda pt: [ssa, "-l", "127.0.0.1:%d" % pt, "--inetd",
                                     "-a", "-E", "TERN_CONFDIR=" + I.etc] + argv,
                      "socket-activate.log")
        harness.log("%s + %s on port %d" % (sock, service, port))
        CHECKS[default](I, port)
    assert seen == set(CHECKS), "socket units for %s" % sorted(seen)


def test_systemd_smtpd_listen_service():
    argv = localise(I, exec_start("tern-smtpd-listen.service"))
    i = argv.index("-l")
    # the same port as the socket unit it conflicts with
    sock = int(one(unit("tern-smtpd.socket"), "Socket", "ListenStream"))
    assert argv[i + 1].endswith(":%d" % sock), argv
    assert "tern-smtpd.socket" in one(unit("tern-smtpd-listen.service"),
                                      "Unit", "Conflicts")

    def make(port):
        return argv[:i + 1] + ["127.0.0.1:%d" % port] + argv[i + 2:]

    port = launch(I, make, "smtpd-listen.log", confenv(I))
    check_mx(I, port)


def test_systemd_tern_service():
    with harness.Instance(name="glueq") as J:
        start = localise(J, exec_start("tern.service"))
        stop = localise(J, shlex.split(one(unit("tern.service"), "Service",
                                           "ExecStop")))
        log = open(J.path("log", "queue.log"), "ab")
        try:
            J.start_proc = subprocess.Popen(start, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=log,
                                            env=J.env(confenv(J)),
                                            start_new_session=True)
        finally:
            log.close()
        J.wait_queue_up()
        m = marker("service")
        r = J.sendmail(["demo@example.test"], b"Subject: %s\n\nhi\n" % m.encode())
        assert r.returncode == 0, r.stderr
        J.wait_for_message("demo@example.test", m)
        # the test is tern-start's parent and must reap it while ExecStop
        # waits (as systemd would), or ExecStop sees a zombie that lives on
        stopper = subprocess.Popen(stop, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=J.env(confenv(J)))
        p = J.start_proc
        try:
            harness.wait_for(lambda: p.poll() is not None and
                             stopper.poll() is not None, 35,
                             what="ExecStop and tern-start to finish",
                             info=lambda: harness.tail(J.path("log", "queue.log")))
        finally:
            if stopper.poll() is None:
                stopper.kill()
            out = stopper.communicate()[0]
        assert stopper.returncode == 0, "ExecStop exited %d: %s" % (
            stopper.returncode, out.decode("utf-8", "replace"))
        assert J.pids("tern-queued") == [] and J.pids("tern-deliverd") == []

"""
tern-pop3d with real clients (issue 4, acceptance 3 and 4): fetchmail
(STLS, certificate checked against the instance's CA) and getmail6
(implicit TLS) retrieve all of a user's mail into a local mbox file and
leave it on the server (keep) or delete it; curl lists and retrieves over
pop3:// with STLS required and over pop3s://.
"""
import os
import pwd
import subprocess
import tempfile

import harness
import pop3_util as pu

I = None
PORT = None
TLS_PORT = None
DEMO = "demo@example.test"


def setup():
    global I, PORT, TLS_PORT
    I = harness.Instance(name="pop3cli")
    PORT = pu.pop3_port(I)
    TLS_PORT = pu.pop3_port(I, tls=True)


def fill(n, tag):
    """Empty demo's Maildir, put n messages; their subjects."""
    md = pu.make_maildir(I, DEMO)
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(md, sub)):
            os.unlink(os.path.join(md, sub, f))
    subjects = ["%s-%d" % (tag, i) for i in range(n)]
    for s in subjects:
        pu.put_message(I, DEMO, pu.sample(s, "body of %s\n.dot line\n" % s))
    return subjects


def scratch():
    d = tempfile.mkdtemp(prefix="client.", dir=I.dir)
    os.chmod(d, 0o755)
    return d


def retrieved(path, subjects):
    with open(path, "rb") as f:
        data = f.read()
    missing = [s for s in subjects if ("Subject: %s\n" % s).encode() not in data]
    assert not missing, "not retrieved: %s\n%s" % (missing, data[:1000])
    # the dot-stuffed line arrives as written
    assert data.count(b"\n.dot line\n") == len(subjects), data[:1000]
    return data


# ---------------------------------------------------------------- fetchmail

def fetchmail(keep):
    exe = harness.need_tool("fetchmail")
    d = scratch()
    out = os.path.join(d, "fetched.mbox")
    rc = os.path.join(d, "fetchmailrc")
    with open(rc, "w") as f:
        # no "ssl": fetchmail must use STLS (sslproto tls1.2+ makes it
        # mandatory); sslcertck checks the chain against our CA and the
        # name against sslcommonname
        f.write('poll localhost via 127.0.0.1 port %d protocol pop3 uidl\n'
                '  user "%s" there with password "demo" is root here\n'
                '  sslproto tls1.2+ sslcertck sslcertfile "%s" sslcommonname localhost\n'
                '  %s\n'
                '  mda "/bin/sh -c \'cat >> %s\'"\n'
                % (PORT, DEMO, I.cafile, "keep" if keep else "no keep fetchall", out))
    os.chmod(rc, 0o600)
    env = I.env({"HOME": d, "FETCHMAILHOME": d})
    r = subprocess.run([exe, "-f", rc, "--nodetach", "--nosyslog", "-v",
                        "-i", os.path.join(d, "fetchids")],
                       capture_output=True, env=env, timeout=60)
    text = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "fetchmail exited %d:\n%s" % (r.returncode, text[-3000:])
    assert "POP3> STLS" in text and "POP3> CAPA" in text, text[-3000:]
    return out


def test_fetchmail_stls_keep():
    subjects = fill(3, "fm-keep")
    out = fetchmail(keep=True)
    retrieved(out, subjects)
    assert len(I.mail_files(DEMO)) == 3, "keep: mail must stay on the server"


def test_fetchmail_stls_delete():
    subjects = fill(4, "fm-del")
    out = fetchmail(keep=False)
    retrieved(out, subjects)
    assert I.mail_files(DEMO) == [], "no keep: mail must be gone from the server"


# ---------------------------------------------------------------- getmail6

def getmail(delete):
    exe = harness.need_tool("getmail", "getmail6")
    d = scratch()
    gd = os.path.join(d, "getmail")
    os.mkdir(gd)
    out = os.path.join(d, "got.mbox")
    open(out, "wb").close()   # an empty file is a valid mboxrd for getmail
    dest_user = ""
    if harness.IS_ROOT:
        # getmail will not deliver as root: it writes the mbox as nobody
        nobody = pwd.getpwnam("nobody")
        os.chown(out, nobody.pw_uid, nobody.pw_gid)
        dest_user = "user = nobody\n"
    with open(os.path.join(gd, "getmailrc"), "w") as f:
        f.write("[retriever]\n"
                "type = SimplePOP3SSLRetriever\n"
                "server = localhost\n"
                "port = %d\n"
                "username = %s\n"
                "password = demo\n"
                "ca_certs = %s\n\n"
                "[destination]\n"
                "type = Mboxrd\n"
                "path = %s\n%s\n"
                "[options]\n"
                "read_all = true\n"
                "delete = %s\n"
                % (TLS_PORT, DEMO, I.cafile, out, dest_user, "true" if delete else "false"))
    r = subprocess.run([exe, "--getmaildir", gd, "--rcfile", "getmailrc"],
                       capture_output=True, env=I.env({"HOME": d}), timeout=60)
    text = r.stdout.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace")
    assert r.returncode == 0, "getmail exited %d:\n%s" % (r.returncode, text[-3000:])
    assert "error" not in text.lower(), text[-3000:]
    return out


def test_getmail_tls_keep():
    subjects = fill(3, "gm-keep")
    retrieved(getmail(delete=False), subjects)
    assert len(I.mail_files(DEMO)) == 3


def test_getmail_tls_delete():
    subjects = fill(2, "gm-del")
    retrieved(getmail(delete=True), subjects)
    assert I.mail_files(DEMO) == []


# ---------------------------------------------------------------- curl

def curl(url, port, *extra):
    exe = harness.need_tool("curl")
    r = subprocess.run([exe, "-sS", "--cacert", I.cafile,
                        "--resolve", "localhost:%d:127.0.0.1" % port,
                        "-u", DEMO + ":demo"] + list(extra) + [url],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, "curl %s exited %d: %s" % (url, r.returncode,
                                                          r.stderr.decode())
    return r.stdout


def test_curl_pop3_stls_list_and_retrieve():
    fill(2, "curl")
    msgs = sorted(pu.served(open(p, "rb").read()) for p in I.mail_files(DEMO))
    listing = curl("pop3://localhost:%d/" % PORT, PORT, "--ssl-reqd")
    sizes = sorted(len(m) for m in msgs)
    lines = listing.decode().split("\r\n")
    assert lines[-1] == "" and sorted(int(l.split()[1]) for l in lines[:-1]) == sizes, listing
    got = sorted(curl("pop3://localhost:%d/%d" % (PORT, i), PORT, "--ssl-reqd")
                 for i in (1, 2))
    assert got == msgs


def test_curl_pop3s_list_and_retrieve():
    fill(2, "curls")
    msgs = sorted(pu.served(open(p, "rb").read()) for p in I.mail_files(DEMO))
    listing = curl("pop3s://localhost:%d/" % TLS_PORT, TLS_PORT)
    assert listing.count(b"\r\n") == 2, listing
    got = sorted(curl("pop3s://localhost:%d/%d" % (TLS_PORT, i), TLS_PORT) for i in (1, 2))
    assert got == msgs
    # without TLS curl's --ssl-reqd fails against a server that offers
    # no plaintext login: not needed, but plain pop3:// must not log in
    exe = harness.need_tool("curl")
    r = subprocess.run([exe, "-sS", "-u", DEMO + ":demo", "pop3://127.0.0.1:%d/" % PORT],
                       capture_output=True, timeout=30)
    assert r.returncode != 0, "a plaintext login succeeded"

"""
tern-map, tern-config, tern-passwd on a test instance.
"""
import os

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

"""
The benchmark harness does not rot (issue 5): `bench/run --quick` (tern
only, tiny counts, a few seconds) prints the results table and writes JSON
with every expected row, and each row that tern can run today has a
number; the others say why not ("n/a (...)").
"""
import json
import os
import subprocess
import tempfile

import harness

ROWS = (["fsync_1w", "fsync_8w", "fsync_per_msg"] +
        ["smtp_%s_c%d_%s" % (s, c, m) for s in ("4k", "100k") for c in (1, 10, 50)
         for m in ("acc", "dlv")] +
        ["lat_dlv_med", "lat_dlv_p99", "lat_acc_med",
         "conn_plain", "conn_tls", "conn_tls_resume",
         "mem_smtp_rss", "mem_smtp_pss", "mem_pop3_rss", "mem_pop3_pss",
         "mem_queue_rss", "mem_queue_pss", "mem_pop3d_rss", "mem_pop3d_pss"] +
        ["pop3_%s_%s" % (s, m) for s in ("10k", "100k") for m in ("first", "warm", "retr")] +
        ["relay_%ddest%s" % (d, m) for d in (1, 50) for m in ("", "_cpu")] +
        ["imap_%s_%s" % (s, m) for s in ("10k", "100k")
         for m in ("first", "warm", "sel_first", "sel_warm", "noop", "flags", "env") +
         (("search",) if s == "10k" else ())] +
        ["mem_imap_rss", "mem_imap_pss", "mem_imap_100k_rss", "mem_imap_100k_pss",
         "imap_idle_ms", "imap_conc_secs", "imap_conc_fail"])

# rows tern must always have a number for (the foundation's features)
ALWAYS = ["smtp_4k_c1_acc", "smtp_4k_c1_dlv", "smtp_100k_c50_dlv", "lat_dlv_med",
          "conn_plain", "mem_smtp_rss", "mem_queue_pss", "fsync_1w"]


def test_quick_run_prints_table_and_json():
    harness.need_tool("tcpserver", "ucspi-tcp")
    harness.need_tool("cc", "gcc")
    harness.need_tool("openssl")
    fd, out = tempfile.mkstemp(prefix="bench-smoke.", suffix=".json")
    os.close(fd)
    try:
        r = subprocess.run([os.path.join(harness.REPO, "bench", "run"), "--quick",
                            "--out", out, "--build", harness.BUILD],
                           capture_output=True, timeout=90, cwd=harness.REPO)
        text = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 0, "bench/run exited %d:\n%s\n%s" % (
            r.returncode, text[-1500:], err[-2500:])
        with open(out) as f:
            doc = json.load(f)
    finally:
        os.unlink(out)
    assert "| workload | unit | tern |" in text, "no table header:\n" + text[-1500:]
    assert "| SMTP→Maildir 4 KiB, 1 session: accepted |" in text, text[-1500:]
    rows = {r["id"]: r for r in doc["rows"]}
    assert [r["id"] for r in doc["rows"]] == ROWS, \
        "rows differ: %s" % sorted(set(ROWS) ^ set(rows))
    for rid in ROWS:
        r = rows[rid]
        vals = r["values"].get("tern")
        if vals:
            assert all(isinstance(v, (int, float)) and v >= 0 for v in vals), (rid, vals)
        else:
            assert r["na"].get("tern", "").startswith("n/a"), \
                "row %s has neither a value nor a reason: %s" % (rid, r)
    # tern-imapd, once built, has a number in every IMAP row and no failed
    # session among the concurrent clients
    if os.path.exists(os.path.join(harness.BUILD, "imapd", "tern-imapd")):
        for rid in [x for x in ROWS if "imap" in x]:
            assert rows[rid]["values"].get("tern"), "no tern value for %s: %s" % (rid, rows[rid])
        assert rows["imap_conc_fail"]["values"]["tern"] == [0], rows["imap_conc_fail"]
    for rid in ALWAYS:
        assert rows[rid]["values"].get("tern"), "no tern value for %s: %s" % (rid, rows[rid])
    # everything was delivered: as many delivered/s rows as accepted/s rows
    notes = [n for r in doc["rows"] if r["id"].startswith("smtp_") for n in r["notes"]]
    assert not notes, "SMTP runs with losses: %s" % notes
    per = rows["fsync_per_msg"]["values"].get("tern")
    if per:   # strace installed: tern fsyncs at least the file and the commit
        assert per[0] >= 2, "tern fsyncs per message: %s" % rows["fsync_per_msg"]
    harness.log("bench --quick: %.0fs, tern %.0f msg/s (4 KiB, 1 session)"
                % (doc["seconds"], rows["smtp_4k_c1_dlv"]["median"]["tern"]))

/*
 * test_tls: lib/net/tls over a socketpair.  A self-signed certificate is made
 * with openssl(1) in a temporary configuration directory; each server is
 * a forked child running tls_server_init/tls_server_start on an io, the
 * parent is the client (tls_client_start, verify off).  Checks: lines
 * both ways, tls_info/tls_active, plaintext pipelined after STARTTLS is
 * discarded (CVE-2011-0411), ticket resumption across two server
 * processes sharing tls_ticket_key (and not with another key), a
 * verifying client refusing the self-signed certificate, the handshake
 * timeout and configuration errors.  The context is lazy: the files are
 * only read by tls_server_init (a server whose files are gone by then
 * still works; a chain file and a combined cert+key file too), errors of
 * the build come from tls_server_prepare/tls_server_start.  TLS 1.2 (which lib/net/tls's client
 * never limits itself to) is tested with an OpenSSL client made here:
 * AEAD suites only, ticket resumption, tls_min_version = TLSv1.3.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "util/buf.h"
#include "util/io.h"
#include "daemon/cfg.h"
#include "net/tls.h"
#include "t.h"

static char dir[64];
static char err[512];
static int quiet;      /* the server child's failure is expected */
static const char *gone;  /* the server child removes it after init */
static int chain_len;     /* raw12: certificates the server sent */

static const char *
path_of(const char *name)
{
	static char p[2][256];
	static int i;

	i = !i;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static int
write_file(const char *name, const void *p, size_t n)
{
	FILE *f = fopen(path_of(name), "w");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(name);
		return 0;
	}
	return 1;
}

static int
new_ticket_key(void)
{
	unsigned char k[80];

	if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k)
		return 0;
	return write_file("ticket.key", k, sizeof k);
}

/* tern.conf with these files (NULL: the usual ones) and extra lines. */
static int
load_conf_files(const char *cert, const char *key, const char *ticket,
    const char *extra)
{
	char conf[1024];
	int n;

	n = snprintf(conf, sizeof conf,
	    "tls_cert = %s\n"
	    "tls_key = %s\n"
	    "tls_ticket_key = %s\n"
	    "%s", cert ? cert : "cert.pem", key ? key : "key.pem",
	    ticket ? ticket : "ticket.key", extra);
	if (!write_file("tern.conf", conf, (size_t)n))
		return 0;
	if (cfg_load(dir, err, sizeof err) != 1) {
		printf("cfg_load: %s\n", err);
		return 0;
	}
	return 1;
}

static int
load_conf(const char *extra)
{
	return load_conf_files(NULL, NULL, NULL, extra);
}

static int
make_cert(const char *cert, const char *key)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec "
	    "-pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
	    "-subj /CN=localhost -keyout '%s' -out '%s' >/dev/null 2>&1",
	    path_of(key), path_of(cert));
	return system(cmd) == 0;
}

/*
 * The server child: read "STARTTLS", answer, start TLS, greet with
 * "hi REUSED INFO", echo lines until QUIT.  Exit 0 if all went well.
 */
static void
server(int fd)
{
	struct io io;
	char line[512];
	size_t n;

	if (tls_server_init(err, sizeof err) != 1) {
		printf("server init: %s\n", err);
		fflush(stdout);
		_exit(2);
	}
	/* no file access after init: the files may go (privilege drop) */
	if (gone != NULL && unlink(path_of(gone)) != 0)
		_exit(9);
	io_init(&io, fd, fd, 10);
	if (io_getline(&io, line, sizeof line - 1, &n) != 1 ||
	    strcmp(line, "STARTTLS\r\n") != 0)
		_exit(3);
	if (io_puts(&io, "220 go\r\n") < 0 || io_flush(&io) < 0)
		_exit(4);
	if (tls_server_start(&io, err, sizeof err) != 1) {
		if (!quiet)
			printf("server start: %s\n", err);
		_exit(5);
	}
	if (io_printf(&io, "hi %d %s\r\n", tls_session_reused(&io),
	    tls_info(&io)) < 0 || io_flush(&io) < 0)
		_exit(6);
	while (io_getline(&io, line, sizeof line - 1, &n) == 1) {
		if (strcmp(line, "QUIT\r\n") == 0) {
			tls_end(&io);
			_exit(0);
		}
		if (io_printf(&io, "echo: %s", line) < 0 || io_flush(&io) < 0)
			_exit(7);
	}
	_exit(8);
}

static pid_t
spawn(int *fd_r)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		server(sv[1]);
	}
	close(sv[1]);
	*fd_r = sv[0];
	return pid;
}

static int
reap(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int
getline_is(struct io *io, const char *want)
{
	char line[512];
	size_t n;

	if (io_getline(io, line, sizeof line - 1, &n) != 1)
		return T_CHECK(!"line expected");
	return T_EQ_STR(line, want);
}

/*
 * One client session.  reused_want: 1 resumed expected; session: DER
 * to offer (or NULL), gets the new one.
 */
static void
client(int reused_want, struct buf *session)
{
	struct io io;
	char line[512], want[64];
	size_t n;
	pid_t pid;
	int fd;

	pid = spawn(&fd);
	if (!T_CHECK(pid > 0))
		return;
	io_init(&io, fd, fd, 10);
	/* the injection: RSET pipelined behind STARTTLS in one packet */
	T_EQ_INT(fd_write_all(fd, "STARTTLS\r\nRSET\r\n", 16), 1);
	getline_is(&io, "220 go\r\n");
	if (session && session->len)
		T_EQ_INT(tls_client_session_load(session->s, session->len), 1);
	T_EQ_INT(tls_active(&io), 0);
	T_EQ_STR(tls_info(&io), "");
	if (!T_EQ_INT(tls_client_start(&io, "localhost", 0, err,
	    sizeof err), 1)) {
		printf("client start: %s\n", err);
		close(fd);
		reap(pid);
		return;
	}
	T_EQ_INT(tls_active(&io), 1);
	T_CHECK(strncmp(tls_info(&io), "TLSv1.", 6) == 0);
	T_EQ_INT(tls_session_reused(&io), reused_want);
	if (T_EQ_INT(io_getline(&io, line, sizeof line - 1, &n), 1)) {
		snprintf(want, sizeof want, "hi %d TLSv1.", reused_want);
		T_CHECK(strncmp(line, want, strlen(want)) == 0);
		/* both sides agree on the cipher */
		T_CHECK(strstr(line, tls_info(&io)) != NULL);
	}
	/* not "echo: RSET": the plaintext was thrown away */
	io_puts(&io, "hello\r\n");
	getline_is(&io, "echo: hello\r\n");
	io_puts(&io, "second line\r\n");
	getline_is(&io, "echo: second line\r\n");
	if (session)
		T_EQ_INT(tls_client_session_save(&io, session), 1);
	io_puts(&io, "QUIT\r\n");
	io_flush(&io);
	T_EQ_INT(io_getline(&io, line, sizeof line - 1, &n), 0);
	tls_end(&io);
	T_EQ_INT(tls_active(&io), 0);
	close(fd);
	T_EQ_INT(reap(pid), 0);
}

static void
t_resume(void)
{
	struct buf sess = BUF_INIT;

	client(0, &sess);
	T_CHECK(sess.len > 0);
	/* a new server process, same ticket key: resumed */
	client(1, &sess);
	/* another key: the ticket is not ours, a full handshake */
	T_CHECK(new_ticket_key());
	client(0, &sess);
	buf_free(&sess);
}

/* A verifying client does not accept the self-signed certificate. */
static void
t_verify(void)
{
	struct io io;
	pid_t pid;
	int fd;

	quiet = 1;
	pid = spawn(&fd);
	if (!T_CHECK(pid > 0))
		return;
	io_init(&io, fd, fd, 10);
	io_puts(&io, "STARTTLS\r\n");
	getline_is(&io, "220 go\r\n");
	T_EQ_INT(tls_client_start(&io, "localhost", 1, err, sizeof err), -1);
	T_CHECK(strstr(err, "verif") != NULL);
	T_EQ_INT(tls_active(&io), 0);
	close(fd);
	T_EQ_INT(reap(pid), 5);
	quiet = 0;
}

/* A line of plaintext from fd, byte by byte (the TLS start follows). */
static int
raw_line(int fd, char *line, size_t max)
{
	size_t n = 0;

	while (n + 1 < max && read(fd, line + n, 1) == 1)
		if (line[n++] == '\n')
			break;
	line[n] = '\0';
	return n > 0 && line[n - 1] == '\n';
}

/*
 * A TLS 1.2 client session with the given TLS 1.2 ciphers, resuming
 * *sess if set; the new session goes to *sess, the server's "hi" line
 * into hi.  1 ok, 0 the handshake failed (server exit in *st_r).
 */
static int
raw12(SSL_SESSION **sess, const char *ciphers, char *hi, size_t hisz,
    int *st_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	size_t n = 0;
	int fd, ok = 0;
	pid_t pid;
	char c;

	hi[0] = '\0';
	if (!T_CHECK(ctx != NULL) ||
	    !T_CHECK(SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)) ||
	    !T_CHECK(SSL_CTX_set_cipher_list(ctx, ciphers)) ||
	    !T_CHECK((pid = spawn(&fd)) > 0))
		goto out;
	T_EQ_INT(fd_write_all(fd, "STARTTLS\r\n", 10), 1);
	T_CHECK(raw_line(fd, hi, hisz) && strcmp(hi, "220 go\r\n") == 0);
	ssl = SSL_new(ctx);
	if (!T_CHECK(ssl != NULL) || !T_CHECK(SSL_set_fd(ssl, fd) == 1))
		goto done;
	if (*sess)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) != 1)
		goto done;
	chain_len = sk_X509_num(SSL_get_peer_cert_chain(ssl));
	while (n + 1 < hisz && SSL_read(ssl, &c, 1) == 1)
		if ((hi[n++] = c) == '\n')
			break;
	hi[n] = '\0';
	T_EQ_INT(SSL_write(ssl, "QUIT\r\n", 6), 6);
	if (*sess)
		SSL_SESSION_free(*sess);
	*sess = SSL_get1_session(ssl);
	T_EQ_INT(SSL_session_reused(ssl), strncmp(hi, "hi 1 ", 5) == 0);
	(void)SSL_shutdown(ssl);
	ok = 1;
done:
	SSL_free(ssl);
	close(fd);
	*st_r = reap(pid);
out:
	SSL_CTX_free(ctx);
	return ok;
}

static void
t_tls12(void)
{
	SSL_SESSION *sess = NULL;
	char hi[256];
	int st = -1;

	T_CHECK(raw12(&sess, "ALL", hi, sizeof hi, &st));
	T_EQ_INT(st, 0);
	T_CHECK(strncmp(hi, "hi 0 TLSv1.2 ECDHE-ECDSA-", 25) == 0);
	T_CHECK(strstr(hi, "-GCM-") != NULL || strstr(hi, "CHACHA") != NULL);
	/* a new server process resumes it from the ticket */
	T_CHECK(raw12(&sess, "ALL", hi, sizeof hi, &st));
	T_EQ_INT(st, 0);
	T_CHECK(strncmp(hi, "hi 1 TLSv1.2 ", 13) == 0);
	SSL_SESSION_free(sess);
	sess = NULL;
	/* no CBC, no RSA key exchange */
	quiet = 1;
	T_EQ_INT(raw12(&sess, "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"
	    "AES128-GCM-SHA256", hi, sizeof hi, &st), 0);
	T_EQ_INT(st, 5);
	/* TLS 1.3 only */
	T_CHECK(load_conf("tls_min_version = TLSv1.3\n"));
	T_EQ_INT(raw12(&sess, "ALL", hi, sizeof hi, &st), 0);
	T_EQ_INT(st, 5);
	T_CHECK(load_conf(""));
	quiet = 0;
	SSL_SESSION_free(sess);
}

/* A client that never says ClientHello: ETIMEDOUT after io->timeout. */
static void
t_timeout(void)
{
	struct timespec a, b;
	struct io io;
	int sv[2];

	if (!T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0))
		return;
	T_EQ_INT(tls_server_init(err, sizeof err), 1);
	io_init(&io, sv[1], sv[1], 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	T_EQ_INT(tls_server_start(&io, err, sizeof err), -1);
	T_EQ_INT(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &b);
	T_CHECK(b.tv_sec - a.tv_sec <= 3);
	T_CHECK(strstr(err, "timed out") != NULL);
	T_EQ_INT(tls_active(&io), 0);
	/* the peer goes away: a closed connection, not a hang */
	close(sv[0]);
	T_EQ_INT(tls_server_start(&io, err, sizeof err), -1);
	close(sv[1]);
}

/* F_GETFL failing on one fd (here a closed rfd) must not "restore"
 * flags of 0 onto the other: wfd keeps its O_NONBLOCK and O_APPEND-like
 * flags as they were. */
static void
t_flags(void)
{
	struct io io;
	int p[2], fl;

	if (!T_CHECK(pipe(p) == 0))
		return;
	T_CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
	T_EQ_INT(tls_server_init(err, sizeof err), 1);
	io_init(&io, -1, p[1], 1);
	T_EQ_INT(tls_server_start(&io, err, sizeof err), -1);
	T_EQ_INT(errno, EBADF);
	fl = fcntl(p[1], F_GETFL);
	T_CHECK(fl >= 0 && (fl & O_NONBLOCK));
	/* and the other way round: wfd bad, rfd's flags come back */
	T_CHECK(fcntl(p[0], F_SETFL, 0) == 0);
	io_init(&io, p[0], -1, 1);
	T_EQ_INT(tls_server_start(&io, err, sizeof err), -1);
	fl = fcntl(p[0], F_GETFL);
	T_CHECK(fl >= 0 && !(fl & O_NONBLOCK));
	close(p[0]);
	close(p[1]);
}

/* Build errors come from tls_server_prepare, are final and stop
 * STARTTLS from being offered. */
static void
build_fails(const char *want1, const char *want2)
{
	T_EQ_INT(tls_server_init(err, sizeof err), 1);
	T_EQ_INT(tls_server_ready(), 1);
	T_EQ_INT(tls_server_prepare(err, sizeof err), -1);
	if (!T_CHECK(strstr(err, want1) != NULL &&
	    (want2 == NULL || strstr(err, want2) != NULL)))
		printf("err: %s\n", err);
	T_EQ_INT(tls_server_ready(), 0);
	err[0] = '\0';
	T_EQ_INT(tls_server_prepare(err, sizeof err), -1);
	T_CHECK(strstr(err, want1) != NULL);
}

/* Errors of tls_server_init: file errors and tls_min_version. */
static void
init_fails(const char *want)
{
	T_EQ_INT(tls_server_init(err, sizeof err), -1);
	if (!T_CHECK(strstr(err, want) != NULL))
		printf("err: %s\n", err);
	T_EQ_INT(tls_server_ready(), 0);
}

static void
t_config(void)
{
	struct io io;
	int sv[2];

	T_CHECK(load_conf("tls_min_version = TLSv1.1\n"));
	init_fails("tls_min_version");
	T_CHECK(load_conf("tls_min_version = TLSv1.3\n"));
	T_EQ_INT(tls_server_init(err, sizeof err), 1);
	T_EQ_INT(tls_server_ready(), 1);
	T_EQ_INT(tls_server_prepare(err, sizeof err), 1);
	T_EQ_INT(tls_server_prepare(err, sizeof err), 1);
	T_EQ_INT(tls_server_ready(), 1);
	T_CHECK(load_conf("tls_ciphers = NO-SUCH-CIPHER\n"));
	build_fails("tls_ciphers", NULL);
	/* tls_server_start says the same, before any I/O */
	if (T_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0)) {
		io_init(&io, sv[1], sv[1], 1);
		T_EQ_INT(tls_server_start(&io, err, sizeof err), -1);
		T_CHECK(strstr(err, "tls_ciphers") != NULL);
		close(sv[0]);
		close(sv[1]);
	}
	T_CHECK(make_cert("other.pem", "otherkey.pem"));
	T_CHECK(load_conf_files(NULL, "otherkey.pem", NULL, ""));
	build_fails("tls_key", "mismatch");
	/* a certificate file without a certificate */
	T_CHECK(load_conf_files("key.pem", NULL, NULL, ""));
	build_fails("tls_cert", NULL);
	T_CHECK(load_conf_files("nonexistent.pem", NULL, NULL, ""));
	init_fails("nonexistent.pem");
	T_CHECK(load_conf_files(NULL, "nonexistent.pem", NULL, ""));
	init_fails("tls_key");
	T_CHECK(write_file("empty.pem", "", 0));
	T_CHECK(load_conf_files("empty.pem", NULL, NULL, ""));
	init_fails("empty");
	T_CHECK(write_file("junk.pem", "junk\n", 5));
	T_CHECK(load_conf_files(NULL, "junk.pem", NULL, ""));
	init_fails("no PEM data");
	T_CHECK(write_file("short.key", "0123456789", 10));
	T_CHECK(load_conf_files(NULL, NULL, "short.key", ""));
	init_fails("80 bytes");
	/* no certificate: TLS off */
	T_CHECK(write_file("tern.conf", "", 0));
	T_EQ_INT(cfg_load(dir, err, sizeof err), 1);
	T_EQ_INT(tls_server_init(err, sizeof err), 0);
	T_EQ_INT(tls_server_ready(), 0);
	T_EQ_INT(tls_server_prepare(err, sizeof err), 0);
}

/* Concatenate files a and b into name. */
static int
cat_files(const char *name, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "cd '%s' && cat '%s' '%s' > '%s'", dir, a,
	    b, name);
	return system(cmd) == 0;
}

/*
 * Lazy context: the server child removes the certificate and key file
 * (one file, tls_key empty) right after tls_server_init, then does the
 * handshake.  A chain file (leaf, then a CA certificate) is sent whole.
 */
static void
t_lazy(void)
{
	SSL_SESSION *sess = NULL;
	char hi[256];
	int st = -1;

	T_CHECK(cat_files("both.pem", "cert.pem", "key.pem"));
	T_CHECK(load_conf_files("both.pem", "", NULL, ""));
	gone = "both.pem";
	client(0, NULL);
	gone = NULL;
	T_CHECK(cat_files("chain.pem", "cert.pem", "other.pem"));
	T_CHECK(load_conf_files("chain.pem", NULL, NULL, ""));
	T_CHECK(raw12(&sess, "ALL", hi, sizeof hi, &st));
	T_EQ_INT(st, 0);
	T_EQ_INT(chain_len, 2);
	SSL_SESSION_free(sess);
	T_CHECK(load_conf(""));
}

int
main(void)
{
	char cmd[128];

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "/tmp/tern-test-tls.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (!T_CHECK(make_cert("cert.pem", "key.pem")) ||
	    !T_CHECK(new_ticket_key()) || !T_CHECK(load_conf("")))
		T_DONE();
	t_resume();
	t_verify();
	t_tls12();
	t_timeout();
	t_flags();
	t_config();
	t_lazy();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", dir);
	T_DONE();
}

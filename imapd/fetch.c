/*
 * fetch: FETCH and UID FETCH (RFC 9051 6.4.5, 7.5.2; RFC 3501 6.4.5).
 *
 * The items are parsed once into a list; then each message named by the
 * set gets one "* N FETCH (...)" response, built in memory.  The message
 * file is read only for items that need its bytes (ENVELOPE, BODY...,
 * RFC822...): FLAGS and UID come from the view, RFC822.SIZE from the
 * name's ",W=" field when it has one, INTERNALDATE from the file's
 * mtime.  The bytes are served with CRLF line ends (lib/store/mbox.h);
 * the MIME tree and the formats are lib/mail/mime and lib/imap/msgfmt.
 * A message whose file is gone answers with what the view knows and the
 * command ends NO [EXPUNGEISSUED] (RFC 2180 4.1.2's second choice).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/fsutil.h"
#include "util/log.h"
#include "util/str.h"
#include "store/mbox.h"
#include "mail/mime.h"
#include "imap/istr.h"
#include "imap/msgfmt.h"
#include "store/mdname.h"
#include "imapd.h"

#define FETCH_ITEMS_MAX 64
#define MSG_READ_MAX ((size_t)1 << 30)

enum item_kind {
	FI_FLAGS, FI_INTERNALDATE, FI_SIZE, FI_ENVELOPE, FI_UID, FI_BODY,
	FI_BODYSTRUCTURE, FI_RFC822, FI_RFC822_HEADER, FI_RFC822_TEXT,
	FI_SECTION, FI_MODSEQ, FI_BINARY, FI_BINARY_SIZE,
};

struct item {
	enum item_kind kind;
	int peek;
	struct imap_section sec;
};

struct fetch {
	struct item it[FETCH_ITEMS_MAX];
	size_t n;
	int need_msg, need_mime, has_flags, has_uid, has_modseq;
	int need_hdr;                   /* ENVELOPE: the cached fields */
	struct buf hdr;
	struct mime_msg hmime;
	int changedsince, vanished;     /* RFC 7162 3.1.4.1, 3.2.6 */
	unsigned long long since;
	int expunge_issued;
	int unknown_cte;                /* RFC 3516 4.3: NO [UNKNOWN-CTE] */
	int unreadable;                 /* a message file could not be read */
	struct buf msg, out, tmp;
	struct mime_msg mime;
};

/* ---- the message's bytes ------------------------------------------------- */

int
msg_load(struct imap *s, size_t i, struct buf *out)
{
	char *raw = NULL;
	size_t len, k;
	int fd, r;

	buf_reset(out);
	if (s->sel.m[i].gone)
		return 0;
	fd = sel_open(s, i);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = fs_read_fd(fd, MSG_READ_MAX, &raw, &len);
	(void)close(fd);
	if (r < 0)
		return -1;
	/* bare LF -> CRLF, as every size we give counts it */
	if (buf_ready(out, len + len / 16 + 2) < 0) {
		free(raw);
		return -1;
	}
	for (k = 0; k < len;) {
		const char *nl = memchr(raw + k, '\n', len - k);
		size_t end = nl ? (size_t)(nl - raw) : len;

		if (buf_cat(out, raw + k, end - k) < 0 ||
		    (nl != NULL && ((end == 0 || raw[end - 1] != '\r') ?
		    buf_cat(out, "\r\n", 2) : buf_catc(out, '\n')) < 0)) {
			free(raw);
			return -1;
		}
		k = nl ? end + 1 : len;
	}
	free(raw);
	return 1;
}

#define HDR_READ_MAX ((size_t)1 << 20)  /* a header longer is cut */

/* LF to CRLF of raw[0..len) into out (reset first), as every size and
 * literal we send counts it.  1 or -1. */
static int
crlf_of(const char *raw, size_t len, struct buf *out)
{
	size_t k;

	buf_reset(out);
	if (buf_ready(out, len + len / 16 + 2) < 0)
		return -1;
	for (k = 0; k < len;) {
		const char *nl = memchr(raw + k, '\n', len - k);
		size_t end = nl ? (size_t)(nl - raw) : len;

		if (buf_cat(out, raw + k, end - k) < 0 ||
		    (nl != NULL && ((end == 0 || raw[end - 1] != '\r') ?
		    buf_cat(out, "\r\n", 2) : buf_catc(out, '\n')) < 0))
			return -1;
		k = nl ? end + 1 : len;
	}
	return 1;
}

/* The header of message i (through its empty line; the whole file when
 * it has none; at most HDR_READ_MAX) in CRLF form: 1, 0 gone, -1. */
static int
header_load(struct imap *s, size_t i, struct buf *out)
{
	struct buf raw = BUF_INIT;
	const char *end;
	size_t from;
	int fd, r = -1;

	fd = sel_open(s, i);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		ssize_t n;

		if (buf_ready(&raw, 16384) < 0)
			goto out;
		n = read(fd, raw.s + raw.len, 16384);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		from = raw.len > 2 ? raw.len - 2 : 0;  /* what is new, and
							 * a line end cut */
		raw.len += (size_t)n;
		raw.s[raw.len] = '\0';
		/* an empty line: LF LF, or LF CR LF */
		if ((end = strstr(raw.s + from, "\n\n")) != NULL ||
		    (end = strstr(raw.s + from, "\n\r\n")) != NULL) {
			raw.len = (size_t)(end - raw.s) + 1;
			break;
		}
		if (raw.len >= HDR_READ_MAX)
			break;
	}
	r = crlf_of(raw.s ? raw.s : "", raw.len, out);
out:
	(void)close(fd);
	buf_free(&raw);
	return r;
}

int
msg_fields(struct imap *s, size_t i, struct buf *out)
{
	struct sel *sel = &s->sel;
	struct buf h = BUF_INIT;
	int r;

	if (sel->m[i].gone)
		return 0;
	r = mdh_get(&sel->hdr, sel->m[i].uid, sel->m[i].name,
	    sel->m[i].baselen, out);
	if (r != 0) {
		if (r < 0)
			log_warn("%s header cache user=%s dir=%s error=%s",
			    s->sid, buf_str(&s->login), sel->dir,
			    strerror(errno));
		if (r > 0)
			return 1;
	}
	r = header_load(s, i, &h);
	if (r > 0)
		r = mdh_extract(h.s ? h.s : "", h.len, out);
	/* a cache: a failed write (it may write at once, mdh_put) costs a
	 * log line, never the answer */
	if (r > 0 && mdh_put(&sel->hdr, sel->m[i].uid, sel->m[i].name,
	    sel->m[i].baselen, out->s, out->len) < 0)
		log_warn("%s header cache write user=%s dir=%s error=%s",
		    s->sid, buf_str(&s->login), sel->dir, strerror(errno));
	buf_free(&h);
	return r;
}

/* ---- parsing the items ---------------------------------------------------- */

/* A fetch-att name: letters, digits and '.', up to '[', SP, ')' or the
 * end. */
static size_t
att_name(const struct imap_p *p, const char **s_r)
{
	size_t k = p->pos;

	*s_r = p->s + p->pos;
	while (k < p->n && (str_chr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789.", 63, p->s[k]) != NULL))
		k++;
	return k - p->pos;
}

static int
add_item(struct fetch *f, enum item_kind k)
{
	if (f->n == FETCH_ITEMS_MAX)
		return 0;
	memset(&f->it[f->n], 0, sizeof f->it[f->n]);
	f->it[f->n++].kind = k;
	switch (k) {
	case FI_FLAGS:
		f->has_flags = 1;
		break;
	case FI_UID:
		f->has_uid = 1;
		break;
	case FI_MODSEQ:
		f->has_modseq = 1;
		break;
	case FI_ENVELOPE:
		f->need_hdr = 1;
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
	case FI_SECTION:
	case FI_BINARY:
	case FI_BINARY_SIZE:
		f->need_mime = 1;
		/* FALLTHROUGH */
	case FI_RFC822:
	case FI_RFC822_HEADER:
	case FI_RFC822_TEXT:
		f->need_msg = 1;
		break;
	default:
		break;
	}
	return 1;
}

static int
parse_item(struct fetch *f, struct imap_p *p)
{
	static const struct {
		const char *name;
		enum item_kind kind;
	} simple[] = {
		{ "FLAGS", FI_FLAGS }, { "INTERNALDATE", FI_INTERNALDATE },
		{ "RFC822.SIZE", FI_SIZE }, { "ENVELOPE", FI_ENVELOPE },
		{ "UID", FI_UID }, { "BODYSTRUCTURE", FI_BODYSTRUCTURE },
		{ "RFC822", FI_RFC822 }, { "RFC822.HEADER", FI_RFC822_HEADER },
		{ "RFC822.TEXT", FI_RFC822_TEXT }, { "MODSEQ", FI_MODSEQ },
	};
	const char *a;
	size_t n = att_name(p, &a), i, used;
	int peek;

	if (n == 0) {
		p->err = "Missing FETCH item";
		return 0;
	}
	p->pos += n;
	/* RFC 3516 3: BINARY[part]<partial>, BINARY.PEEK, BINARY.SIZE */
	if (((n == 6 && str_ncaseeq(a, "BINARY", 6)) ||
	    (n == 11 && str_ncaseeq(a, "BINARY.PEEK", 11)) ||
	    (n == 11 && str_ncaseeq(a, "BINARY.SIZE", 11))) &&
	    imap_p_peek(p) == '[') {
		int size = n == 11 && (a[7] == 'S' || a[7] == 's');
		struct item *it;
		int r;

		if (!add_item(f, size ? FI_BINARY_SIZE : FI_BINARY)) {
			p->err = "Too many FETCH items";
			return 0;
		}
		it = &f->it[f->n - 1];
		it->peek = n == 11;
		r = imap_section_parse(p->s + p->pos + 1, p->n - p->pos - 1,
		    &it->sec, &used);
		if (r < 0)
			return -1;
		/* section-binary = "[" [section-part] "]", no partial for
		 * BINARY.SIZE */
		if (r == 0 || it->sec.kind != IMAP_SEC_ALL ||
		    (size && it->sec.partial)) {
			p->err = "Invalid BINARY[] section";
			return 0;
		}
		p->pos += 1 + used;
		return 1;
	}
	peek = n == 9 && str_ncaseeq(a, "BODY.PEEK", 9);
	if ((peek || (n == 4 && str_ncaseeq(a, "BODY", 4))) &&
	    imap_p_peek(p) == '[') {
		struct item *it;
		int r;

		if (!add_item(f, FI_SECTION)) {
			p->err = "Too many FETCH items";
			return 0;
		}
		it = &f->it[f->n - 1];
		it->peek = peek;
		r = imap_section_parse(p->s + p->pos + 1, p->n - p->pos - 1,
		    &it->sec, &used);
		if (r < 0)
			return -1;
		if (r == 0) {
			p->err = "Invalid BODY[] section";
			return 0;
		}
		p->pos += 1 + used;
		return 1;
	}
	if (peek) {
		p->err = "BODY.PEEK needs a section";
		return 0;
	}
	if (n == 4 && str_ncaseeq(a, "BODY", 4))
		return add_item(f, FI_BODY) ? 1 : 0;
	for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
		if (strlen(simple[i].name) == n &&
		    str_ncaseeq(a, simple[i].name, n))
			return add_item(f, simple[i].kind) ? 1 : 0;
	p->err = "Unknown FETCH item";
	return 0;
}

static int
parse_items(struct fetch *f, struct imap_p *p)
{
	const char *a;
	size_t n = att_name(p, &a);
	int r;

	/* the macros (RFC 9051 6.4.5 keeps them for IMAP4rev1 clients) */
	if (n == 3 && str_ncaseeq(a, "ALL", 3)) {
		p->pos += n;
		return add_item(f, FI_FLAGS) && add_item(f, FI_INTERNALDATE) &&
		    add_item(f, FI_SIZE) && add_item(f, FI_ENVELOPE);
	}
	if (n == 4 && str_ncaseeq(a, "FAST", 4)) {
		p->pos += n;
		return add_item(f, FI_FLAGS) && add_item(f, FI_INTERNALDATE) &&
		    add_item(f, FI_SIZE);
	}
	if (n == 4 && str_ncaseeq(a, "FULL", 4)) {
		p->pos += n;
		return add_item(f, FI_FLAGS) && add_item(f, FI_INTERNALDATE) &&
		    add_item(f, FI_SIZE) && add_item(f, FI_ENVELOPE) &&
		    add_item(f, FI_BODY);
	}
	if (!imap_p_char(p, '('))
		return parse_item(f, p);
	do {
		r = parse_item(f, p);
		if (r <= 0)
			return r;
	} while (imap_p_sp(p));
	return imap_p_char(p, ')');
}

/* fetch-modifiers (RFC 4466 2.4, RFC 7162 3.1.4.1, 3.2.6):
 * SP "(" (CHANGEDSINCE n | VANISHED) *(SP ...) ")". */
static int
parse_modifiers(struct imap *s, struct fetch *f, struct imap_p *p)
{
	const char *a;
	size_t n;

	if (!imap_p_sp(p))
		return 1;
	if (!imap_p_char(p, '('))
		return 0;
	do {
		if (imap_p_atom(p, &a, &n) != 1)
			return 0;
		if (n == 12 && str_ncaseeq(a, "CHANGEDSINCE", 12)) {
			if (f->changedsince || !imap_p_sp(p) ||
			    imap_p_number64(p, &f->since) != 1 ||
			    f->since == 0)
				return imap_p_fail(p, "CHANGEDSINCE needs a "
				    "MODSEQ above 0");
			f->changedsince = 1;
		} else if (n == 8 && str_ncaseeq(a, "VANISHED", 8)) {
			f->vanished = 1;
		} else {
			return imap_p_fail(p, "Unknown FETCH modifier");
		}
	} while (imap_p_sp(p));
	if (!imap_p_char(p, ')'))
		return 0;
	/* RFC 7162 3.2.6: VANISHED only in UID FETCH, with CHANGEDSINCE,
	 * after ENABLE QRESYNC */
	if (f->vanished && (!s->uid || !f->changedsince || !s->qresync))
		return imap_p_fail(p, "VANISHED needs UID FETCH, "
		    "CHANGEDSINCE and ENABLE QRESYNC");
	return 1;
}

/* ---- one message -------------------------------------------------------- */

static int
put_literal(struct buf *out, const char *p, size_t n)
{
	if (buf_catc(out, '{') < 0 || buf_catu(out, n) < 0 ||
	    buf_cats(out, "}\r\n") < 0)
		return -1;
	return buf_cat(out, p, n);
}

/* The header and text split of a message in memory: the header runs
 * through the first empty line. */
static size_t
header_len(const char *m, size_t n)
{
	size_t k;

	if (n >= 2 && m[0] == '\r' && m[1] == '\n')
		return 2;
	for (k = 0; k + 3 < n; k++)
		if (m[k] == '\r' && m[k + 1] == '\n' && m[k + 2] == '\r' &&
		    m[k + 3] == '\n')
			return k + 4;
	return n;
}

static int
internaldate(struct imap *s, size_t i, struct buf *out)
{
	struct stat st;
	struct tm tm;
	time_t t;

	if (sel_stat(s, i, &st) < 0)
		return errno == ENOENT ? 0 : -1;  /* gone: nothing to tell */
	t = st.st_mtime;
	if (localtime_r(&t, &tm) == NULL)
		return imap_datetime_fmt(out, (long long)t, 0);
	return imap_datetime_fmt(out, (long long)t, (int)(tm.tm_gmtoff / 60));
}

static int
msg_size(struct imap *s, struct fetch *f, size_t i, unsigned long long *r)
{
	struct imsg *m = &s->sel.m[i];
	unsigned long long v;
	int k;

	/* the served size from ",W=" of the name when it is there: no file
	 * opened (lib/store/mdname.h) */
	if (m->size == MBOX_SIZE_UNKNOWN &&
	    mdname_field(m->name, m->baselen, 'W', &v))
		m->size = v;
	if (m->size != MBOX_SIZE_UNKNOWN) {
		*r = m->size;
		return 1;
	}
	if (!f->need_msg) {
		k = msg_load(s, i, &f->msg);
		if (k <= 0)
			return k;
	}
	m->size = f->msg.len;
	*r = m->size;
	return 1;
}

static int
put_section(struct fetch *f, const struct item *it, struct buf *out)
{
	const char *p;
	size_t n;

	buf_reset(&f->tmp);
	if (imap_section_get(f->msg.s, f->msg.len, &f->mime, &it->sec,
	    &f->tmp, &p, &n) < 0)
		return -1;
	if (buf_cats(out, "BODY[") < 0 ||
	    imap_section_name(out, &it->sec) < 0 || buf_catc(out, ']') < 0)
		return -1;
	if (it->sec.partial) {
		/* RFC 9051 6.4.5: only the origin comes back */
		if (buf_catc(out, '<') < 0 || buf_catu(out, it->sec.poff) < 0 ||
		    buf_catc(out, '>') < 0)
			return -1;
		if (it->sec.poff >= n) {
			n = 0;
		} else {
			p += it->sec.poff;
			n -= (size_t)it->sec.poff;
			if (it->sec.plen < n)
				n = (size_t)it->sec.plen;
		}
	}
	if (buf_catc(out, ' ') < 0)
		return -1;
	return put_literal(out, p, n);
}

/* BINARY[part]<partial> and BINARY.SIZE[part] (RFC 3516 4.2): the part
 * with its transfer encoding undone; a literal8 when it holds a NUL.
 * 1, 0 an unknown encoding (f->unknown_cte), -1 error. */
static int
put_binary(struct fetch *f, const struct item *it, struct buf *out)
{
	const char *p;
	size_t n, part = 0;
	int r = 1;

	if (it->sec.npart > 0) {
		part = imap_section_part(&f->mime, &it->sec);
		if (part == MIME_NONE) {
			p = "";
			n = 0;
		} else {
			r = mime_part_decode(&f->mime, part, f->msg.s,
			    f->msg.len, &f->tmp);
			if (r < 0)
				return -1;
			if (r == 0) {
				f->unknown_cte = 1;
				return 0;
			}
			p = buf_str(&f->tmp);
			n = f->tmp.len;
		}
	} else {
		p = f->msg.s;  /* BINARY[]: the message as it is */
		n = f->msg.len;
	}
	if (buf_cats(out, it->kind == FI_BINARY_SIZE ? "BINARY.SIZE[" :
	    "BINARY[") < 0 || imap_section_name(out, &it->sec) < 0 ||
	    buf_catc(out, ']') < 0)
		return -1;
	if (it->kind == FI_BINARY_SIZE)
		return buf_catf(out, " %zu", n) < 0 ? -1 : 1;
	if (it->sec.partial) {
		if (buf_catc(out, '<') < 0 || buf_catu(out, it->sec.poff) < 0 ||
		    buf_catc(out, '>') < 0)
			return -1;
		if (it->sec.poff >= n) {
			n = 0;
		} else {
			p += it->sec.poff;
			n -= (size_t)it->sec.poff;
			if (it->sec.plen < n)
				n = (size_t)it->sec.plen;
		}
	}
	if (buf_catc(out, ' ') < 0 ||
	    (memchr(p, '\0', n) != NULL && buf_catc(out, '~') < 0))
		return -1;
	return put_literal(out, p, n);
}

/* What loading message i gave (r: 1, 0 gone, -1): 1 go on, 0 leave the
 * message out (expunged meanwhile, or unreadable: EACCES, EIO, too big;
 * the tagged reply says so and the session goes on), -1 error. */
static int
loaded(struct imap *s, struct fetch *f, size_t i, int r)
{
	if (r > 0)
		return 1;
	if (r == 0) {
		f->expunge_issued = 1;
		return 0;
	}
	if (errno == ENOMEM)
		return -1;
	log_warn("%s fetch user=%s uid=%lu error=%s", s->sid,
	    buf_str(&s->login), s->sel.m[i].uid, strerror(errno));
	f->unreadable = 1;
	return 0;
}

static int
fetch_one(struct imap *s, size_t i, void *arg)
{
	struct fetch *f = arg;
	struct buf *o = &f->out;
	size_t k, hl;
	int r, first = 1, seen = 0, have_msg = 0, flags_out = f->has_flags;
	unsigned long long sz = 0;

	buf_reset(o);
	if (f->changedsince && s->sel.m[i].modseq <= f->since)
		return 1;
	if (f->need_msg) {
		r = loaded(s, f, i, msg_load(s, i, &f->msg));
		if (r <= 0)
			return r < 0 ? -1 : 1;
		have_msg = 1;
		if (f->need_mime || f->need_hdr) {
			mime_free(&f->mime);
			if (mime_parse(&f->mime, f->msg.s, f->msg.len) < 0)
				return -1;
		}
	} else if (f->need_hdr) {
		/* ENVELOPE alone: the fields, cached per UID, not the file */
		r = loaded(s, f, i, msg_fields(s, i, &f->hdr));
		if (r <= 0)
			return r < 0 ? -1 : 1;
		mime_free(&f->hmime);
		if (mime_parse(&f->hmime, f->hdr.s, f->hdr.len) < 0)
			return -1;
	}
	/* RFC 3516 4.3: a part we cannot decode fails the FETCH before
	 * anything, \Seen included, changes */
	for (k = 0; have_msg && k < f->n; k++) {
		const struct item *it = &f->it[k];
		size_t part;

		if ((it->kind != FI_BINARY && it->kind != FI_BINARY_SIZE) ||
		    it->sec.npart == 0)
			continue;
		part = imap_section_part(&f->mime, &it->sec);
		if (part == MIME_NONE)
			continue;
		r = mime_part_decode(&f->mime, part, f->msg.s, f->msg.len,
		    &f->tmp);
		if (r < 0)
			return -1;
		if (r == 0) {
			f->unknown_cte = 1;
			return 1;
		}
	}
	/* (no printf per message: a FETCH 1:* of 100,000 is mostly this) */
	if (buf_cats(o, "* ") < 0 || buf_catu(o, i + 1) < 0 ||
	    buf_cats(o, " FETCH (") < 0)
		return -1;
#define SEP() do { if (!first && buf_catc(o, ' ') < 0) return -1; \
	first = 0; } while (0)
	if (s->uid && !f->has_uid) {
		SEP();
		if (buf_cats(o, "UID ") < 0 ||
		    buf_catu(o, s->sel.m[i].uid) < 0)
			return -1;
	}
	for (k = 0; k < f->n; k++) {
		const struct item *it = &f->it[k];

		if (((it->kind == FI_SECTION || it->kind == FI_BINARY) &&
		    !it->peek) || it->kind == FI_RFC822 ||
		    it->kind == FI_RFC822_TEXT)
			seen = 1;
	}
	if (seen && !s->sel.readonly && !(s->sel.m[i].flags & IF_SEEN)) {
		/* RFC 9051 6.4.5: BODY[] sets \Seen; the change goes out in
		 * this response */
		int changed;

		if (sel_set_flags(s, i, '+', IF_SEEN, 0, &changed) < 0)
			log_warn("%s seen user=%s uid=%lu error=%s", s->sid,
			    buf_str(&s->login), s->sel.m[i].uid,
			    strerror(errno));
		else if (!f->has_flags) {
			SEP();
			if (buf_cats(o, "FLAGS ") < 0 ||
			    sel_flag_list(&s->sel, i, o) < 0)
				return -1;
			flags_out = 1;
		}
	}
	for (k = 0; k < f->n; k++) {
		const struct item *it = &f->it[k];

		SEP();
		switch (it->kind) {
		case FI_FLAGS:
			r = buf_cats(o, "FLAGS ") > 0 &&
			    sel_flag_list(&s->sel, i, o) > 0;
			break;
		case FI_UID:
			r = buf_cats(o, "UID ") > 0 &&
			    buf_catu(o, s->sel.m[i].uid) > 0;
			break;
		case FI_INTERNALDATE:
			if (buf_cats(o, "INTERNALDATE ") < 0)
				return -1;
			/* expunged by another program meanwhile: nothing,
			 * not the time now (an INTERNALDATE never changes) */
			r = loaded(s, f, i, internaldate(s, i, o));
			if (r <= 0)
				return r < 0 ? -1 : 1;
			break;
		case FI_SIZE:
			r = loaded(s, f, i, msg_size(s, f, i, &sz));
			if (r <= 0)
				return r < 0 ? -1 : 1;
			r = buf_catf(o, "RFC822.SIZE %llu", sz) > 0;
			break;
		case FI_ENVELOPE:
			if (have_msg)
				r = buf_cats(o, "ENVELOPE ") > 0 &&
				    imap_envelope(o, f->msg.s, f->msg.len,
				    &f->mime, 0, s->utf8) > 0;
			else
				r = buf_cats(o, "ENVELOPE ") > 0 &&
				    imap_envelope(o, f->hdr.s, f->hdr.len,
				    &f->hmime, 0, s->utf8) > 0;
			break;
		case FI_BODY:
		case FI_BODYSTRUCTURE:
			r = buf_cats(o, it->kind == FI_BODY ? "BODY " :
			    "BODYSTRUCTURE ") > 0 &&
			    imap_bodystructure(o, f->msg.s, f->msg.len,
			    &f->mime, 0, it->kind == FI_BODYSTRUCTURE,
			    s->utf8) > 0;
			break;
		case FI_RFC822:
			r = buf_cats(o, "RFC822 ") > 0 &&
			    put_literal(o, f->msg.s, f->msg.len) > 0;
			break;
		case FI_RFC822_HEADER:
			hl = header_len(f->msg.s, f->msg.len);
			r = buf_cats(o, "RFC822.HEADER ") > 0 &&
			    put_literal(o, f->msg.s, hl) > 0;
			break;
		case FI_RFC822_TEXT:
			hl = header_len(f->msg.s, f->msg.len);
			r = buf_cats(o, "RFC822.TEXT ") > 0 &&
			    put_literal(o, f->msg.s + hl, f->msg.len - hl) > 0;
			break;
		case FI_SECTION:
			r = put_section(f, it, o) > 0;
			break;
		case FI_MODSEQ:
			r = buf_catf(o, "MODSEQ (%llu)",
			    s->sel.m[i].modseq) > 0;
			break;
		case FI_BINARY:
		case FI_BINARY_SIZE:
			r = put_binary(f, it, o);
			if (r == 0)
				return 1;  /* nothing of this message */
			r = r > 0;
			break;
		default:
			r = 0;
		}
		if (!r)
			return -1;
	}
#undef SEP
	/* RFC 7162 3.1.4.1/3.2: with CONDSTORE on, FLAGS come with MODSEQ */
	if (flags_out && !f->has_modseq &&
	    sel_modseq_item(s, i, o) < 0)
		return -1;
	if (buf_cats(o, ")\r\n") < 0)
		return -1;
	(void)have_msg;
	imap_put(s, o->s, o->len);
	s->nfetch++;
	return 1;
}

void
cmd_fetch(struct imap *s, struct imap_p *p)
{
	static struct fetch f;
	struct imap_seqset set = { 0 };
	size_t k;
	int r;

	memset(&f, 0, sizeof f);
	if (!imap_p_sp(p) || imap_p_seqset(p, &set) != 1 || !imap_p_sp(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	r = parse_items(&f, p);
	if (r < 0)
		session_fatal(s, "memory");
	if (r == 0 || parse_modifiers(s, &f, p) != 1 || !imap_p_end(p)) {
		imap_bad_args(s, p);
		goto out;
	}
	if (f.changedsince && !f.has_modseq && !add_item(&f, FI_MODSEQ)) {
		imap_tagged(s, "BAD", "Too many FETCH items");
		goto out;
	}
	if (f.has_modseq)
		s->condstore = 1;  /* RFC 7162 3.1: a CONDSTORE-enabling command */
	if (sel_saved(s, &set, s->uid) < 0)  /* "$" (RFC 5182) */
		session_fatal(s, "memory");
	if (f.vanished) {
		/* before the FETCHes, for the UIDs of the set (3.2.6) */
		imap_seqset_resolve(&set, s->sel.uidnext > 1 ?
		    s->sel.uidnext - 1 : 0);
		sel_vanished_since(s, f.since, &set);
	}
	r = sel_each(s, &set, s->uid, fetch_one, &f);
	if (r < 0)
		session_fatal(s, "fetch");
	if (r == 0) {
		imap_tagged(s, "BAD", "Error in IMAP command FETCH: Invalid "
		    "message sequence number");
		goto out;
	}
	if (f.unreadable)
		imap_tagged(s, "NO", "[SERVERBUG] Some messages could not be "
		    "read");
	else if (f.unknown_cte)
		imap_tagged(s, "NO", "[UNKNOWN-CTE] A part has a transfer "
		    "encoding the server does not know");
	else if (f.expunge_issued)
		imap_tagged(s, "NO", "[EXPUNGEISSUED] Some messages were "
		    "expunged meanwhile");
out:
	for (k = 0; k < f.n; k++)
		if (f.it[k].kind == FI_SECTION || f.it[k].kind == FI_BINARY ||
		    f.it[k].kind == FI_BINARY_SIZE)
			imap_section_free(&f.it[k].sec);
	mime_free(&f.mime);
	mime_free(&f.hmime);
	buf_free(&f.hdr);
	buf_free(&f.msg);
	buf_free(&f.out);
	buf_free(&f.tmp);
	imap_seqset_free(&set);
}

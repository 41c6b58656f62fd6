/*
 * imapdate: IMAP dates (RFC 3501 9 / RFC 9051 9: date for SEARCH,
 * date-time for APPEND and INTERNALDATE) and the RFC 5322 3.3 Date:
 * header (SEARCH SENTBEFORE, SENTON, SENTSINCE), all to seconds since the
 * epoch in UTC by our own civil-calendar arithmetic: no libc time zones,
 * no mktime, no locale.
 */
#include <string.h>
#include <strings.h>

#include "imap/parse.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

int
imap_month(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strncasecmp(s, months[i], 3) == 0)
			return i + 1;
	return 0;
}

int
imap_date_valid(int y, int mon, int d)
{
	static const int mdays[12] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1])
		return 0;
	return !(mon == 2 && d == 29 && !leap);
}

/*
 * The Gregorian calendar repeats every 400 years (146097 days).  Count
 * years from March, so that the leap day is the last day of a year; then
 * the day of the year is a linear function of the month (153 days per 5
 * months from March), and the days before a year of its 400-year era are
 * 365 * yoe + yoe / 4 - yoe / 100.  Day 0 of era 0 (0000-03-01) is 719468
 * days before 1970-01-01.
 */
long long
imap_days_from_civil(int y, int mon, int d)
{
	long long yy = (long long)y - (mon <= 2);
	long long era = (yy >= 0 ? yy : yy - 399) / 400;
	long long yoe = yy - era * 400;                    /* 0..399 */
	long long mp = mon > 2 ? mon - 3 : mon + 9;        /* March = 0 */
	long long doy = (153 * mp + 2) / 5 + d - 1;        /* 0..365 */
	long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
imap_civil_from_days(long long z, int *y_r, int *mon_r, int *d_r)
{
	long long era, doe, yoe, doy, mp, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;                            /* 0..146096 */
	/* the years of the era before doe, leap days taken out */
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	y = yoe + era * 400;
	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*mon_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = (int)(y + (*mon_r <= 2));
}

/* min..max digits at the cursor into *v. */
static int
p_ndigits(struct imap_p *p, int min, int max, int *v)
{
	int k = 0, c;

	*v = 0;
	while (k < max && (c = imap_p_peek(p)) >= '0' && c <= '9') {
		*v = *v * 10 + (c - '0');
		p->pos++;
		k++;
	}
	return k >= min;
}

/* date-month: three letters, any case */
static int
p_month(struct imap_p *p, int *mon)
{
	if (p->pos >= p->n || p->n - p->pos < 3)
		return 0;
	if ((*mon = imap_month(p->s + p->pos)) == 0)
		return 0;
	p->pos += 3;
	return 1;
}

int
imap_p_date(struct imap_p *p, int *y_r, int *mon_r, int *d_r)
{
	int quoted = 0, y, mon, d;

	if (imap_p_peek(p) == '"') {
		quoted = 1;
		p->pos++;
	}
	if (!p_ndigits(p, 1, 2, &d) || imap_p_peek(p) != '-')
		return imap_p_fail(p, "Bad date");
	p->pos++;
	if (!p_month(p, &mon) || imap_p_peek(p) != '-')
		return imap_p_fail(p, "Bad date");
	p->pos++;
	if (!p_ndigits(p, 4, 4, &y) || !imap_date_valid(y, mon, d))
		return imap_p_fail(p, "Bad date");
	if (quoted && !imap_p_char(p, '"'))
		return 0;
	*y_r = y;
	*mon_r = mon;
	*d_r = d;
	return 1;
}

/* "HH:MM:SS", the cursor at the first digit; seconds of the day */
static int
p_time(struct imap_p *p, long long *secs)
{
	int h, m, s;

	if (!p_ndigits(p, 2, 2, &h) || !imap_p_char(p, ':') ||
	    !p_ndigits(p, 2, 2, &m) || !imap_p_char(p, ':') ||
	    !p_ndigits(p, 2, 2, &s) || h > 23 || m > 59 || s > 60)
		return 0;
	*secs = h * 3600LL + m * 60 + s;
	return 1;
}

int
imap_p_datetime(struct imap_p *p, long long *t_r)
{
	int y, mon, d, zone, sign;
	long long secs;

	if (!imap_p_char(p, '"'))
		return 0;
	/* date-day-fixed = (SP DIGIT) / 2DIGIT; a bare DIGIT tolerated */
	if (imap_p_peek(p) == ' ')
		p->pos++;
	if (!p_ndigits(p, 1, 2, &d) || imap_p_peek(p) != '-')
		return imap_p_fail(p, "Bad date-time");
	p->pos++;
	if (!p_month(p, &mon) || imap_p_peek(p) != '-')
		return imap_p_fail(p, "Bad date-time");
	p->pos++;
	if (!p_ndigits(p, 4, 4, &y) || !imap_date_valid(y, mon, d) ||
	    imap_p_peek(p) != ' ')
		return imap_p_fail(p, "Bad date-time");
	p->pos++;
	if (!p_time(p, &secs) || imap_p_peek(p) != ' ')
		return imap_p_fail(p, "Bad date-time");
	p->pos++;
	sign = imap_p_peek(p);
	if (sign != '+' && sign != '-')
		return imap_p_fail(p, "Bad date-time zone");
	p->pos++;
	if (!p_ndigits(p, 4, 4, &zone) || zone % 100 > 59)
		return imap_p_fail(p, "Bad date-time zone");
	if (!imap_p_char(p, '"'))
		return 0;
	zone = (zone / 100) * 60 + zone % 100;
	*t_r = imap_days_from_civil(y, mon, d) * 86400 + secs -
	    (sign == '-' ? -zone : zone) * 60LL;
	return 1;
}

int
imap_datetime_fmt(struct buf *out, long long t, int off_min)
{
	long long lo = imap_days_from_civil(0, 1, 1) * 86400;
	long long hi = imap_days_from_civil(9999, 12, 31) * 86400 + 86399;
	long long z, s;
	int y, mon, d, a;

	if (off_min < -1439 || off_min > 1439)
		off_min = 0;
	if (t < lo || t > hi)
		t = t < lo ? lo : hi;
	t += off_min * 60LL;
	if (t < lo || t > hi)
		t = t < lo ? lo : hi;
	z = t / 86400;
	s = t % 86400;
	if (s < 0) {
		s += 86400;
		z--;
	}
	imap_civil_from_days(z, &y, &mon, &d);
	a = off_min < 0 ? -off_min : off_min;
	return buf_catf(out, "\"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
	    d, months[mon - 1], y, (int)(s / 3600), (int)(s / 60 % 60),
	    (int)(s % 60), off_min < 0 ? '-' : '+', a / 60, a % 60);
}

/* ---- RFC 5322 3.3 date-time, with the obsolete forms of 4.3 ---- */

struct rd {
	const char *s;
	size_t n, i;
};

/* Skip FWS and comments (nested, with quoted-pairs; an unclosed one
 * runs to the end). */
static void
rd_cfws(struct rd *r)
{
	size_t depth = 0;

	while (r->i < r->n) {
		char c = r->s[r->i];

		if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
		    c != '\n' && c != '(')
			return;
		r->i++;
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (c == '\\' && depth > 0 && r->i < r->n)
			r->i++;
	}
}

static int
rd_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A word of letters: its start and length (0 if none). */
static size_t
rd_word(struct rd *r, const char **w)
{
	size_t start;

	rd_cfws(r);
	start = r->i;
	while (r->i < r->n && rd_alpha((unsigned char)r->s[r->i]))
		r->i++;
	*w = r->s + start;
	return r->i - start;
}

/* 1..max digits */
static int
rd_num(struct rd *r, size_t max, int *v, size_t *len)
{
	size_t k = 0;

	rd_cfws(r);
	*v = 0;
	while (k < max && r->i < r->n && r->s[r->i] >= '0' &&
	    r->s[r->i] <= '9') {
		*v = *v * 10 + (r->s[r->i++] - '0');
		k++;
	}
	if (len != NULL)
		*len = k;
	return k > 0;
}

static int
rd_char(struct rd *r, char c)
{
	rd_cfws(r);
	if (r->i < r->n && r->s[r->i] == c) {
		r->i++;
		return 1;
	}
	return 0;
}

/* The zone in minutes east of UTC: "+hhmm", or an obsolete name. */
static int
rd_zone(struct rd *r, int *off)
{
	static const struct { const char *name; int hours; } names[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -5 }, { "EDT", -4 }, { "CST", -6 }, { "CDT", -5 },
		{ "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	const char *w;
	size_t len, k, i;
	int z, sign;

	*off = 0;
	rd_cfws(r);
	if (r->i < r->n && (r->s[r->i] == '+' || r->s[r->i] == '-')) {
		sign = r->s[r->i++] == '-' ? -1 : 1;
		if (!rd_num(r, 4, &z, &k) || k != 4 || z % 100 > 59)
			return 0;
		*off = sign * ((z / 100) * 60 + z % 100);
		return 1;
	}
	len = rd_word(r, &w);
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i].name) == len &&
		    strncasecmp(w, names[i].name, len) == 0)
			*off = names[i].hours * 60;
	/* military letters and unknown names: RFC 5322 4.3 says treat
	 * them as -0000, i.e. UTC with no zone information */
	return 1;
}

int
imap_rfc5322_date(const char *s, size_t n, long long *t_r, int *zone_r)
{
	static const char days[] = "MonTueWedThuFriSatSun";
	struct rd r = { s, n, 0 };
	const char *w;
	size_t len, i, ylen;
	int d, mon, y, h, m, sec = 0, off;

	len = rd_word(&r, &w);
	if (len > 0) {  /* day-of-week [","] */
		for (i = 0; i < 21; i += 3)
			if (len >= 3 && strncasecmp(w, days + i, 3) == 0)
				break;
		if (i == 21)
			return 0;
		(void)rd_char(&r, ',');
	}
	if (!rd_num(&r, 2, &d, NULL))
		return 0;
	(void)rd_char(&r, '-');
	if (rd_word(&r, &w) < 3 || (mon = imap_month(w)) == 0)
		return 0;
	(void)rd_char(&r, '-');
	if (!rd_num(&r, 4, &y, &ylen))
		return 0;
	if (ylen == 2)  /* RFC 5322 4.3: 00..49 are 2000.., 50..99 19.. */
		y += y < 50 ? 2000 : 1900;
	else if (ylen == 3)
		y += 1900;
	if (!rd_num(&r, 2, &h, NULL) || !rd_char(&r, ':') ||
	    !rd_num(&r, 2, &m, NULL))
		return 0;
	if (rd_char(&r, ':') && !rd_num(&r, 2, &sec, NULL))
		return 0;
	if (!imap_date_valid(y, mon, d) || h > 23 || m > 59 || sec > 60 ||
	    !rd_zone(&r, &off))
		return 0;
	*t_r = imap_days_from_civil(y, mon, d) * 86400 + h * 3600LL +
	    m * 60 + sec - off * 60LL;
	if (zone_r != NULL)
		*zone_r = off;
	return 1;
}

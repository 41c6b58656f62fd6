/*
 * mdname: Maildir file names, built and parsed in this one place
 * (http://cr.yp.to/proto/maildir.html, Maildir++ ",S=").
 *
 * A name is BASE[:2,FLAGS].  BASE is the unique part and never changes
 * while the message lives; tern writes it as
 *   SECONDS.M<usec>P<pid>Q<counter>.HOST,S=<bytes on disk>,W=<bytes with CRLF>
 * (lib/store/maildir.c makes the unique part).  Other writers (Dovecot,
 * courier, mutt) use other unique parts and may add other ",X=" fields;
 * every function here takes what it is given as (bytes, length), reads
 * nothing else, and accepts any base.  FLAGS are single ASCII letters
 * (D draft, F flagged, P passed, R replied, S seen, T trashed; lower case
 * for keywords).
 */
#ifndef TERN_MDNAME_H
#define TERN_MDNAME_H

#include <stddef.h>

/* The length of name's base: up to its first ':', else all n bytes. */
size_t mdname_base_len(const char *name, size_t n);
/* The value of the field ",K=digits" of base (key K), ended by ',' or
 * the end of base: 1 found (*r set), 0 none or not a number that fits. */
int mdname_field(const char *base, size_t n, char key,
    unsigned long long *r);
/* The flags of name: a pointer to the letters after ":2," and their
 * count in *len_r, or NULL when name has no ":2," info (experimental
 * ":1," info included: NULL). */
const char *mdname_flags(const char *name, size_t n, size_t *len_r);
/* Write "UNIQUE,S=bytes,W=crlf_bytes" into out (outsz bytes).  1 ok, 0
 * it does not fit (out is then ""). */
int mdname_make(char *out, size_t outsz, const char *unique,
    unsigned long long bytes, unsigned long long crlf_bytes);

#endif

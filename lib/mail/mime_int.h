/*
 * mime_int: what mime.c and mime_hdr.c share, private to lib/mail/mime*.
 */
#ifndef TERN_MIME_INT_H
#define TERN_MIME_INT_H

#include <stddef.h>

/* 1 if c is an RFC 2045 5.1 token character */
int mime_is_token(unsigned char c);
/* Move *pos past white space, line ends and (nested (comments)) of
 * v[0..n); never past n. */
void mime_skip_cfws(const char *v, size_t n, size_t *pos);

#endif

/*
 * mbox_uidl: the POP3 UIDL of a message (mbox.h).  Apart from the rest of
 * mbox, so that a program without POP3 (tern-imap-session) links no
 * OpenSSL for the digest.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "store/mbox.h"
#include "store/mbox_int.h"

int
mbox_uidl_of(const char *base, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	size_t i;

	/* RFC 1939 7: 1 to 70 characters in the range 0x21 to 0x7E */
	for (i = 0; i < n; i++)
		if ((unsigned char)base[i] < 0x21 || (unsigned char)base[i] > 0x7e)
			break;
	if (n > 0 && n <= MBOX_UIDL_MAX && i == n) {
		memcpy(out, base, n);
		out[n] = '\0';
		return 1;
	}
	if (EVP_Digest(base, n, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16) {
		errno = EINVAL;
		return -1;
	}
	out[0] = '~';
	for (k = 0; k < 16; k++) {
		out[1 + 2 * k] = hex[md[k] >> 4];
		out[2 + 2 * k] = hex[md[k] & 15];
	}
	out[33] = '\0';
	return 1;
}

int
mbox_uidl(const struct mbox *mb, size_t i, char *out)
{
	return mbox_uidl_of(mbox_name(mb, i), mb->msg[i].baselen, out);
}

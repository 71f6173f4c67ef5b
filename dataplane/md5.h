/*
 * md5.h - MD5 (RFC 1321), for JA3: Suricata's ja3.hash is the MD5 of the
 * JA3 string, in lower-case hex.  Not for anything that needs a secure
 * hash.
 *
 * No allocation: the context is the caller's.
 */
#ifndef IPS_MD5_H
#define IPS_MD5_H

#include <stdint.h>

struct md5_ctx {
	uint32_t h[4];
	uint64_t len;               /* bytes hashed */
	uint8_t block[64];
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *p, uint32_t n);
void md5_final(struct md5_ctx *c, uint8_t digest[16]);

/* The MD5 of p as 32 lower-case hex digits (no NUL) into hex. */
void md5_hex(const void *p, uint32_t n, char hex[32]);

#endif /* IPS_MD5_H */

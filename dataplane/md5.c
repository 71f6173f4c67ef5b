/*
 * md5.c - MD5 as RFC 1321 defines it (see md5.h): 64-byte blocks, four
 * rounds of sixteen steps, the message padded with 0x80, zeros and its
 * length in bits, little-endian throughout.
 */
#include <string.h>

#include "md5.h"

/* floor(abs(sin(i + 1)) * 2^32) */
static const uint32_t md5_k[64] = {
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
	0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
	0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
	0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
	0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
	0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
	0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
	0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

static const uint8_t md5_shift[4][4] = {
	{ 7, 12, 17, 22 }, { 5, 9, 14, 20 }, { 4, 11, 16, 23 }, { 6, 10, 15, 21 },
};

static uint32_t
md5_rotl(uint32_t x, unsigned n)
{
	return x << n | x >> (32 - n);
}

static void
md5_block(struct md5_ctx *c, const uint8_t *p)
{
	uint32_t m[16], a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];

	for (int i = 0; i < 16; i++)
		m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		       (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
	for (unsigned i = 0; i < 64; i++) {
		uint32_t f, t;
		unsigned g, round = i / 16;

		switch (round) {
		case 0: f = (b & cc) | (~b & d); g = i; break;
		case 1: f = (d & b) | (~d & cc); g = (5 * i + 1) % 16; break;
		case 2: f = b ^ cc ^ d; g = (3 * i + 5) % 16; break;
		default: f = cc ^ (b | ~d); g = (7 * i) % 16; break;
		}
		t = d;
		d = cc;
		cc = b;
		b += md5_rotl(a + f + md5_k[i] + m[g], md5_shift[round][i % 4]);
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
}

void
md5_init(struct md5_ctx *c)
{
	c->h[0] = 0x67452301;
	c->h[1] = 0xefcdab89;
	c->h[2] = 0x98badcfe;
	c->h[3] = 0x10325476;
	c->len = 0;
}

void
md5_update(struct md5_ctx *c, const void *data, uint32_t n)
{
	const uint8_t *p = data;
	uint32_t have = (uint32_t)(c->len % 64);

	c->len += n;
	if (have != 0) {
		uint32_t k = 64 - have < n ? 64 - have : n;

		memcpy(c->block + have, p, k);
		p += k;
		n -= k;
		if (have + k < 64)
			return;
		md5_block(c, c->block);
	}
	for (; n >= 64; p += 64, n -= 64)
		md5_block(c, p);
	memcpy(c->block, p, n);
}

void
md5_final(struct md5_ctx *c, uint8_t digest[16])
{
	uint64_t bits = c->len * 8;
	uint8_t pad[72] = { 0x80 };
	uint32_t have = (uint32_t)(c->len % 64);
	uint32_t n = have < 56 ? 56 - have : 120 - have;

	for (int i = 0; i < 8; i++)
		pad[n + i] = (uint8_t)(bits >> (8 * i));
	md5_update(c, pad, n + 8);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			digest[4 * i + j] = (uint8_t)(c->h[i] >> (8 * j));
}

void
md5_hex(const void *p, uint32_t n, char hex[32])
{
	static const char digits[] = "0123456789abcdef";
	struct md5_ctx c;
	uint8_t d[16];

	md5_init(&c);
	md5_update(&c, p, n);
	md5_final(&c, d);
	for (int i = 0; i < 16; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 0xf];
	}
}

/*
 * trafgen.h - shared pieces of ips-trafgen, the benchmark pcap generator:
 * the seeded PRNG, the message (piece list) type that TCP segments are cut
 * from, and the HTTP content builders (trafgen_http.c).
 *
 * A message is a list of pieces (pointer windows) over the flow's small text
 * arena, the attack texts and large shared pools, so a megabyte body costs
 * one piece and no copy until its bytes are written into the pcap buffer.
 */
#ifndef TRAFGEN_H
#define TRAFGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- PRNG: xoshiro256** seeded through splitmix64 (no rand(): the file
 * must be byte-identical for one seed on any libc). -------------------- */

struct tg_rng {
	uint64_t s[4];
};

static inline uint64_t
tg_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void
tg_rng_seed(struct tg_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = tg_splitmix64(&seed);
}

static inline uint64_t
tg_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
tg_rng_next(struct tg_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = tg_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = tg_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, n); n == 0 yields 0.  Lemire's multiply, bias < 2^-32. */
static inline uint32_t
tg_rng_below(struct tg_rng *r, uint32_t n)
{
	return (uint32_t)(((tg_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
tg_rng_unit(struct tg_rng *r)
{
	return (double)(tg_rng_next(r) >> 11) * 0x1p-53;
}

static inline bool
tg_rng_chance(struct tg_rng *r, double p)
{
	return tg_rng_unit(r) < p;
}

/*
 * Heavy-tailed size without libm: the octave k above xmin is geometric
 * (each further doubling with probability grow), the value log-uniform-ish
 * inside the octave.  P(size > x) falls like x^-log2(1/grow): grow 0.5 is a
 * Pareto tail with alpha 1, like web object sizes.  Result in [xmin, cap].
 */
uint64_t tg_heavy(struct tg_rng *r, uint64_t xmin, double grow, uint64_t cap);

/* ---- messages --------------------------------------------------------- */

/* Inline text per message: request or response head, small bodies and the
 * chunk framing; 8 KB holds the largest head plus a 2 KB inline body. */
#define TG_ARENA_BYTES 8192
#define TG_MSG_PIECES  96
/* Smallest --max-body: small inline bodies need room for their fields. */
#define TG_MIN_MAX_BODY 2048u

/* A window of len bytes starting at off in base; wrap != 0 means base is a
 * ring of wrap bytes (a shared pool) and the window may run around it. */
struct tg_piece {
	const uint8_t *base;
	uint64_t off;
	uint64_t len;
	uint64_t wrap;
};

/* Inline text of one flow's current message; builders empty it. */
struct tg_arena {
	size_t used;
	uint8_t bytes[TG_ARENA_BYTES];
};

struct tg_msg {
	struct tg_piece piece[TG_MSG_PIECES];
	unsigned npieces;
	unsigned cur;           /* read cursor: piece index ... */
	uint64_t cur_off;       /* ... and bytes of it already read */
	uint64_t total;         /* bytes in the message */
	uint64_t sent;          /* bytes already read */
	struct tg_arena *arena; /* where tg_msg_printf writes */
};

/* Empties the piece list; the arena is left alone (a body list and its
 * head list share one arena). */
void tg_msg_reset(struct tg_msg *m);
/* Appends a window; base must outlive the message. */
void tg_msg_add(struct tg_msg *m, const uint8_t *base, uint64_t off,
		uint64_t len, uint64_t wrap);
/* Formats into the arena and appends it; exits on arena overflow (a
 * generator bug, not an input condition). */
void tg_msg_printf(struct tg_msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Points m and its arena windows at a copy of the arena (a flow moved to
 * another slot). */
void tg_msg_rebase(struct tg_msg *m, const struct tg_arena *from,
		   struct tg_arena *to);
/* Copies the next n bytes (n <= total - sent) to dst and advances. */
void tg_msg_read(struct tg_msg *m, uint8_t *dst, uint64_t n);

static inline uint64_t
tg_msg_left(const struct tg_msg *m)
{
	return m->total - m->sent;
}

/* ---- HTTP content ----------------------------------------------------- */

/* What one flow's client looks like; fixed for the flow's lifetime so its
 * requests share Host, User-Agent and cookies like a real keep-alive user. */
struct tg_client {
	bool api_client;        /* scripted API client rather than a browser */
	bool api_profile;       /* --profile api: small JSON answers, more
	                         * writes */
	bool port8080;
	uint8_t host;           /* index into the host table */
	uint8_t ua;             /* index into the User-Agent table of its kind */
	uint8_t lang;
	uint8_t server_kind;    /* Server: header flavour */
	uint64_t session[2];    /* session cookie / bearer token bits */
	uint64_t csrf;
	uint32_t nreq;          /* requests issued so far */
	char last_path[192];    /* Referer of the next request */
};

/* Request kinds; the response builder answers according to the kind. */
enum tg_req_kind {
	TG_REQ_PAGE = 0,
	TG_REQ_CSS,
	TG_REQ_JS,
	TG_REQ_IMAGE,
	TG_REQ_API_GET,
	TG_REQ_POST_FORM,
	TG_REQ_POST_JSON,
	TG_REQ_ATTACK,
};

struct tg_req_info {
	enum tg_req_kind kind;
	bool chunked;
	bool conditional;       /* If-None-Match sent: may draw a 304 */
	uint64_t body_len;      /* decoded body bytes */
};

/* Builds the pools once; all later content is drawn from them. */
void tg_http_init(uint64_t seed);
void tg_http_client_init(struct tg_client *c, struct tg_rng *r,
			 bool api_profile);
/* Builds a benign request into m, emptying m and its arena first;
 * max_body (>= TG_MIN_MAX_BODY) caps its decoded body. */
void tg_http_request(struct tg_msg *m, struct tg_req_info *info,
		     struct tg_client *c, struct tg_rng *r, uint64_t max_body);
/* Builds the response to the request described by info, emptying m and
 * its arena first; now_s stamps Date. */
void tg_http_response(struct tg_msg *m, const struct tg_req_info *info,
		      struct tg_client *c, struct tg_rng *r, int64_t now_s);

#endif /* TRAFGEN_H */

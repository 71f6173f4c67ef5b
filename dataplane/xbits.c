/*
 * xbits.c - per-host and per-pair bits every worker sees (see xbits.h).
 *
 * Every field of a record is read and written with atomic builtins: the
 * owner writes under an odd sequence number, readers copy and check the
 * number did not move (a seqlock with one writer per table).
 */
#include <stdlib.h>
#include <string.h>

#include "ips/rules.h"
#include "xbits.h"

#define XBITS_KEY_WORDS (sizeof(struct xbits_key) / sizeof(uint64_t))
/* A writer holds a record odd for a few stores; a reader that finds it
 * odd this many times in a row (some 100 us with a pause each) reports
 * the check undecided rather than wait longer for a worker that was
 * descheduled mid-write. */
#define XBITS_READ_TRIES 4096

static inline void
xbits_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

struct xbits_record {
	uint32_t seq;               /* odd while the owner writes */
	uint32_t set;               /* 1: a set; 0: an unset */
	uint64_t stamp;             /* order among all tables; 0: free */
	uint64_t until_s;           /* a set: its expiry; an unset: the
	                             * expiry of the set it hides (after
	                             * which it hides nothing) */
	uint64_t key[XBITS_KEY_WORDS];
};

struct xbits {
	uint64_t clock;             /* last stamp handed out */
	uint8_t clock_line[56];     /* the clock alone on its cache line */
	unsigned n_tables;
	uint32_t mask;              /* slots per table - 1 */
	struct xbits_record *records;   /* table t at t * (mask + 1) */
};

_Static_assert(sizeof(struct xbits_key) == XBITS_KEY_WORDS * 8,
               "xbits_key is whole words");
_Static_assert(sizeof(struct xbits_record) == 64, "one record per line");

/* ---- keys ---------------------------------------------------------- */

static void
xbits_key_init(struct xbits_key *k, uint64_t id, uint8_t ip_version)
{
	memset(k, 0, sizeof(*k));
	/* an IPv4 address and an IPv6 one with the same 16 bytes differ */
	k->id = id ^ (uint64_t)ip_version * 0x9e3779b97f4a7c15ull;
}

void
xbits_key_host(struct xbits_key *k, uint64_t id, const uint8_t *addr,
               uint8_t ip_version)
{
	xbits_key_init(k, id, ip_version);
	memcpy(k->a, addr, 16);
}

void
xbits_key_pair(struct xbits_key *k, uint64_t id, const uint8_t *x,
               const uint8_t *y, uint8_t ip_version)
{
	int x_first = memcmp(x, y, 16) <= 0;

	xbits_key_init(k, id, ip_version);
	memcpy(k->a, x_first ? x : y, 16);
	memcpy(k->b, x_first ? y : x, 16);
}

static uint32_t
xbits_hash(const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < XBITS_KEY_WORDS; i++) {
		h = (h ^ w[i]) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* ---- tables -------------------------------------------------------- */

struct xbits *
xbits_create(unsigned n_tables, uint32_t slots)
{
	struct xbits *x;

	if (n_tables == 0 || slots < XBITS_PROBE || slots > (1u << 30))
		return NULL;
	while (slots & (slots - 1))
		slots += slots & -slots;        /* up to a power of two */
	/* cache-line aligned: the clock and each record on lines of their
	 * own, so a worker's writes do not slow the others' reads */
	if (posix_memalign((void **)&x, 64, sizeof(*x)) != 0)
		return NULL;
	memset(x, 0, sizeof(*x));
	x->n_tables = n_tables;
	x->mask = slots - 1;
	if (posix_memalign((void **)&x->records, 64, (size_t)n_tables *
	                   slots * sizeof(*x->records)) != 0) {
		free(x);
		return NULL;
	}
	memset(x->records, 0, (size_t)n_tables * slots * sizeof(*x->records));
	return x;
}

void
xbits_free(struct xbits *x)
{
	if (x == NULL)
		return;
	free(x->records);
	free(x);
}

static struct xbits_record *
xbits_slot(const struct xbits *x, unsigned table, uint32_t i)
{
	return &x->records[(size_t)table * (x->mask + 1) + (i & x->mask)];
}

/* A consistent copy of r: 0, or -1 when its owner kept it mid-write. */
static int
xbits_read(const struct xbits_record *r, struct xbits_record *out)
{
	for (int tries = 0; tries < XBITS_READ_TRIES; tries++) {
		uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE);

		if (seq & 1) {
			xbits_pause();
			continue;
		}
		out->set = __atomic_load_n(&r->set, __ATOMIC_RELAXED);
		out->stamp = __atomic_load_n(&r->stamp, __ATOMIC_RELAXED);
		out->until_s = __atomic_load_n(&r->until_s, __ATOMIC_RELAXED);
		for (size_t i = 0; i < XBITS_KEY_WORDS; i++)
			out->key[i] = __atomic_load_n(&r->key[i],
			                              __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&r->seq, __ATOMIC_RELAXED) == seq)
			return 0;
	}
	return -1;
}

static void
xbits_write(struct xbits_record *r, const uint64_t *key, uint32_t set,
            uint64_t until_s, uint64_t stamp)
{
	uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&r->set, set, __ATOMIC_RELAXED);
	__atomic_store_n(&r->stamp, stamp, __ATOMIC_RELAXED);
	__atomic_store_n(&r->until_s, until_s, __ATOMIC_RELAXED);
	for (size_t i = 0; i < XBITS_KEY_WORDS; i++)
		__atomic_store_n(&r->key[i], key[i], __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, seq + 2, __ATOMIC_RELEASE);
}

/* The most recent record of the key in any table: 1 (copied to
 * *latest), 0 when no table has one, -1 when one could not be read. */
static int
xbits_latest(const struct xbits *x, const uint64_t *key,
             struct xbits_record *latest)
{
	uint32_t h = xbits_hash(key);
	int found = 0;

	for (unsigned t = 0; t < x->n_tables; t++) {
		for (uint32_t i = 0; i < XBITS_PROBE; i++) {
			struct xbits_record r;

			if (xbits_read(xbits_slot(x, t, h + i), &r) < 0)
				return -1;
			if (r.stamp == 0 ||
			    memcmp(r.key, key, sizeof(r.key)) != 0)
				continue;
			if (!found || r.stamp > latest->stamp)
				*latest = r;
			found = 1;
			break;          /* a table holds a key once */
		}
	}
	return found;
}

/* Record a set (until its expiry) or an unset in the owner's table: over
 * the key's record, else in a free slot, else over the record that
 * matters for least time.  Only the owner writes its table, so it reads
 * its own records without the sequence check. */
static void
xbits_put(struct xbits *x, unsigned own, const uint64_t *key, uint32_t set,
          uint64_t until_s, uint64_t now_s, uint64_t *evicted)
{
	uint32_t h = xbits_hash(key);
	struct xbits_record *victim = NULL;

	for (uint32_t i = 0; i < XBITS_PROBE; i++) {
		struct xbits_record *r = xbits_slot(x, own, h + i);

		if (r->stamp != 0 && memcmp(r->key, key, sizeof(r->key)) == 0) {
			victim = r;
			break;
		}
		if (victim == NULL || (victim->stamp != 0 &&
		                       (r->stamp == 0 ||
		                        r->until_s < victim->until_s)))
			victim = r;
	}
	if (victim->stamp != 0 && victim->until_s >= now_s &&
	    memcmp(victim->key, key, sizeof(victim->key)) != 0)
		(*evicted)++;
	xbits_write(victim, key, set, until_s,
	            __atomic_add_fetch(&x->clock, 1, __ATOMIC_RELAXED));
}

/* ---- operations ---------------------------------------------------- */

/* 1 when the key's latest record is a live set (copied to *r), 0 when
 * not, -1 when unreadable. */
static int
xbits_live(const struct xbits *x, const uint64_t *key, uint64_t now_s,
           struct xbits_record *r)
{
	int rc = xbits_latest(x, key, r);

	if (rc <= 0)
		return rc;
	return r->set && now_s <= r->until_s;
}

int
xbits_isset(const struct xbits *x, const struct xbits_key *k, uint64_t now_s)
{
	uint64_t key[XBITS_KEY_WORDS];
	struct xbits_record r;

	memcpy(key, k, sizeof(key));
	return xbits_live(x, key, now_s, &r);
}

int
xbits_act(struct xbits *x, unsigned own, const struct xbits_key *k,
          uint8_t op, uint64_t now_s, uint32_t expire_s, uint64_t *evicted)
{
	uint64_t key[XBITS_KEY_WORDS];
	struct xbits_record r;
	int live;

	memcpy(key, k, sizeof(key));
	live = xbits_live(x, key, now_s, &r);
	if (live < 0)
		return -1;
	/* a live set keeps its first expiry; an unset of an absent or
	 * expired bit has nothing to hide */
	if (live && (op == IPS_FB_UNSET || op == IPS_FB_TOGGLE))
		xbits_put(x, own, key, 0, r.until_s, now_s, evicted);
	else if (!live && (op == IPS_FB_SET || op == IPS_FB_TOGGLE))
		xbits_put(x, own, key, 1, now_s + expire_s, now_s, evicted);
	return 0;
}

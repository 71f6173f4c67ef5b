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

/* tests/unit/test_xbits.c writes a record between a reader's loads. */
#ifndef XBITS_READ_HOOK
#define XBITS_READ_HOOK(r) ((void)(r))
#endif

static inline void
xbits_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Times are whole seconds of the workers' clock, saturated to 32 bits. */
struct xbits_record {
	uint32_t seq;               /* odd while the owner writes */
	uint32_t set;               /* 1: a set; 0: an unset */
	uint64_t stamp;             /* order among all tables; 0: free */
	uint32_t until_s;           /* a set: its expiry */
	uint32_t keep_s;            /* until when the record matters: the
	                             * latest expiry of the key's records it
	                             * overrides (an unset hides a set that
	                             * would otherwise hold again) */
	uint64_t key[XBITS_KEY_WORDS];
};

struct xbits {
	uint64_t clock;             /* last stamp handed out */
	uint8_t clock_line[56];     /* the clock alone on its cache line */
	unsigned n_tables;
	uint32_t mask;              /* slots per table - 1 */
	uint64_t seed;              /* random: probe windows unpredictable */
	struct xbits_record *records;   /* table t at t * (mask + 1) */
};

_Static_assert(sizeof(struct xbits_key) == XBITS_KEY_WORDS * 8,
               "xbits_key is whole words");
_Static_assert(sizeof(struct xbits_record) == 64, "one record per line");

static uint32_t
xbits_sec(uint64_t s)
{
	return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

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
xbits_hash(const struct xbits *x, const uint64_t *w)
{
	uint64_t h = 0xcbf29ce484222325ull ^ x->seed;

	for (size_t i = 0; i < XBITS_KEY_WORDS; i++) {
		h = (h ^ w[i]) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* ---- tables -------------------------------------------------------- */

struct xbits *
xbits_create(unsigned n_tables, uint32_t slots, uint64_t seed)
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
	x->seed = seed;
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
		out->keep_s = __atomic_load_n(&r->keep_s, __ATOMIC_RELAXED);
		XBITS_READ_HOOK(r);
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
xbits_write(struct xbits_record *r, const struct xbits_record *v)
{
	uint32_t seq = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);

	__atomic_store_n(&r->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&r->set, v->set, __ATOMIC_RELAXED);
	__atomic_store_n(&r->stamp, v->stamp, __ATOMIC_RELAXED);
	__atomic_store_n(&r->until_s, v->until_s, __ATOMIC_RELAXED);
	__atomic_store_n(&r->keep_s, v->keep_s, __ATOMIC_RELAXED);
	for (size_t i = 0; i < XBITS_KEY_WORDS; i++)
		__atomic_store_n(&r->key[i], v->key[i], __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, seq + 2, __ATOMIC_RELEASE);
}

/* The key's records in every table: the most recent in *latest (1), or
 * none (0), or -1 when one could not be read.  *horizon: the latest keep_s
 * among them.  Records are never freed and a key takes the first free
 * slot of its window, so a free slot ends the search in that table. */
static int
xbits_latest(const struct xbits *x, const uint64_t *key,
             struct xbits_record *latest, uint32_t *horizon)
{
	uint32_t h = xbits_hash(x, key);
	int found = 0;

	*horizon = 0;
	for (unsigned t = 0; t < x->n_tables; t++) {
		for (uint32_t i = 0; i < XBITS_PROBE; i++) {
			struct xbits_record r;

			if (xbits_read(xbits_slot(x, t, h + i), &r) < 0)
				return -1;
			if (r.stamp == 0)
				break;
			if (memcmp(r.key, key, sizeof(r.key)) != 0)
				continue;
			if (!found || r.stamp > latest->stamp)
				*latest = r;
			if (r.keep_s > *horizon)
				*horizon = r.keep_s;
			found = 1;
			break;          /* a table holds a key once */
		}
	}
	return found;
}

/* Record v in the owner's table: over the key's record, else in the
 * first free slot, else over the record that matters for the least time
 * (counted when it still mattered).  Only the owner writes its table, so
 * it reads its own records without the sequence check. */
static void
xbits_put(struct xbits *x, unsigned own, struct xbits_record *v,
          uint32_t now_s, uint64_t *evicted)
{
	uint32_t h = xbits_hash(x, v->key);
	struct xbits_record *victim = NULL;

	for (uint32_t i = 0; i < XBITS_PROBE; i++) {
		struct xbits_record *r = xbits_slot(x, own, h + i);

		if (r->stamp == 0 ||
		    memcmp(r->key, v->key, sizeof(r->key)) == 0) {
			victim = r;
			break;
		}
		if (victim == NULL || r->keep_s < victim->keep_s)
			victim = r;
	}
	if (victim->stamp != 0 && victim->keep_s >= now_s &&
	    memcmp(victim->key, v->key, sizeof(v->key)) != 0)
		(*evicted)++;
	v->stamp = __atomic_add_fetch(&x->clock, 1, __ATOMIC_RELAXED);
	xbits_write(victim, v);
}

/* ---- operations ---------------------------------------------------- */

int
xbits_isset(const struct xbits *x, const struct xbits_key *k, uint64_t now_s)
{
	struct xbits_record latest;
	uint32_t horizon;
	uint64_t key[XBITS_KEY_WORDS];
	int rc;

	memcpy(key, k, sizeof(key));
	rc = xbits_latest(x, key, &latest, &horizon);
	if (rc <= 0)
		return rc;
	return latest.set && xbits_sec(now_s) <= latest.until_s;
}

int
xbits_act(struct xbits *x, unsigned own, const struct xbits_key *k,
          uint8_t op, uint64_t now_s, uint32_t expire_s, uint64_t *evicted)
{
	struct xbits_record latest, v;
	uint32_t now = xbits_sec(now_s), horizon;
	int live;

	memset(&v, 0, sizeof(v));
	memcpy(v.key, k, sizeof(v.key));
	live = xbits_latest(x, v.key, &latest, &horizon);
	if (live < 0)
		return -1;
	live = live && latest.set && now <= latest.until_s;
	/* a live set keeps its first expiry; an unset of an absent or
	 * expired bit has nothing to hide */
	if (live && (op == IPS_FB_UNSET || op == IPS_FB_TOGGLE)) {
		v.keep_s = horizon;
		xbits_put(x, own, &v, now, evicted);
	} else if (!live && (op == IPS_FB_SET || op == IPS_FB_TOGGLE)) {
		v.set = 1;
		v.until_s = xbits_sec((uint64_t)now + expire_s);
		v.keep_s = v.until_s > horizon ? v.until_s : horizon;
		xbits_put(x, own, &v, now, evicted);
	}
	return 0;
}

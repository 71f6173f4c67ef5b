/*
 * hold.h - who holds a bounded per-worker pool, stalled longest first.
 *
 * Every pool on the packet path (flows, held segments, HTTP transactions,
 * body and raw streams, fragment datagrams) keeps its holders in an
 * intrusive list ordered by last progress: a holder goes to the tail when
 * it takes its place and again each time it makes progress, so the head is
 * always the holder that stalled longest.  When the pool is full the head
 * gives up its place, not the newcomer (DESIGN §9), and a head older than
 * the pool's timeout is stalled work to end.  Each pool also keeps its
 * holders per source (an IPv4 address or an IPv6 /64, in a fixed table of
 * keyed-hash buckets), in the same order: a source that holds its share
 * of the pool gives up its own oldest place for its next newcomer, so no
 * one source holds more than its share and none can push others out.
 *
 * Everything here is O(1) and allocation-free; a pool belongs to one
 * worker, so there are no locks.  The owner of a pool decides what
 * "progress" is and what eviction does to a holder; hold.h only keeps the
 * order and the counts.
 */
#ifndef IPS_HOLD_H
#define IPS_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

/* Source buckets per pool.  Two sources share a bucket (and so a share)
 * only by a hash collision under a per-process secret seed: a flood from
 * many sources cannot aim at one legitimate client's bucket. */
#define HOLD_SRC_BUCKETS 4096
#define HOLD_SRC_NONE UINT16_MAX   /* holder counted under no source */

/* Embedded in the holder.  Unlinked: prev == next == NULL. */
struct hold_node {
	struct hold_node *prev;     /* the pool's list */
	struct hold_node *next;
	struct hold_node *src_prev; /* its source's list, NULL-ended */
	struct hold_node *src_next;
	uint64_t progress_tsc;      /* last progress (or the place taken) */
	uint32_t units;             /* of the pool it takes: 1, or more where
	                             * the unit is not the holder */
	uint16_t src;               /* source bucket, HOLD_SRC_NONE */
};

struct hold_src {
	struct hold_node *oldest;
	struct hold_node *newest;
	uint32_t count;
};

struct hold_pool {
	struct hold_node head;      /* sentinel: next = oldest, prev = newest */
	uint32_t used;              /* units taken */
	uint32_t cap;               /* units at most */
	uint32_t share_max;         /* units per source bucket at most */
	struct hold_src src[HOLD_SRC_BUCKETS];
};

#define hold_entry(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* Units one source may have of a pool of cap: share_pct percent (0 or
 * 100 = no limit: the pool's own), at least one. */
static inline uint32_t
hold_share_max(uint32_t cap, uint32_t share_pct)
{
	uint64_t share = (uint64_t)cap * share_pct / 100;

	if (share_pct == 0 || share_pct >= 100)
		return UINT32_MAX;
	return share == 0 ? 1 : (uint32_t)share;
}

/* cap holders at most, share_pct percent of them per source (see
 * hold_share_max).  Cannot fail. */
static inline void
hold_pool_init(struct hold_pool *p, uint32_t cap, uint32_t share_pct)
{
	memset(p, 0, sizeof(*p));
	p->head.next = p->head.prev = &p->head;
	p->cap = cap;
	p->share_max = hold_share_max(cap, share_pct);
}

/* A pool's secret key for hold_src_bucket: the sources hashed are the
 * attacker's choice.  From getrandom(2) (setup only, never per packet);
 * fallback's address if it fails. */
static inline uint32_t
hold_seed(const void *fallback)
{
	uint32_t seed;

	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint32_t)(uintptr_t)fallback;
	return seed;
}

/* The source bucket of an address (16 bytes, IPv4 in the last 4): the
 * address for IPv4, its /64 for IPv6, the unit an attacker pays for. */
static inline uint16_t
hold_src_bucket(const uint8_t addr[16], uint8_t ip_version, uint32_t seed)
{
	uint64_t x = 0;

	if (ip_version == 4)
		memcpy(&x, addr + 12, 4);
	else
		memcpy(&x, addr, 8);
	/* splitmix64's finalizer over the address keyed by seed: every
	 * address bit moves every bucket bit (DPDK-free: the HTTP and
	 * detect stages build without it) */
	x ^= (uint64_t)seed * 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (uint16_t)(x % HOLD_SRC_BUCKETS);
}

static inline int
hold_is_linked(const struct hold_node *n)
{
	return n->next != NULL;
}

static inline int
hold_full(const struct hold_pool *p)
{
	return p->used >= p->cap;
}

/* Holders source bucket src has now. */
static inline uint32_t
hold_src_count(const struct hold_pool *p, uint16_t src)
{
	return src == HOLD_SRC_NONE ? 0 : p->src[src].count;
}

/* The holder that stalled longest, or NULL. */
static inline struct hold_node *
hold_oldest(const struct hold_pool *p)
{
	return p->head.next == &p->head ? NULL : p->head.next;
}

/* The next holder after n in progress order, or NULL. */
static inline struct hold_node *
hold_next(const struct hold_pool *p, const struct hold_node *n)
{
	return n->next == &p->head ? NULL : n->next;
}

/*
 * Who must give up a place for a newcomer from source bucket src: that
 * source's own oldest holder when it holds its share, else the pool's
 * oldest when the pool is full, else nobody (NULL: there is room).  The
 * owner evicts it, or refuses the newcomer when it cannot.
 */
static inline struct hold_node *
hold_victim(const struct hold_pool *p, uint16_t src)
{
	if (hold_src_count(p, src) >= p->share_max)
		return p->src[src].oldest;
	return hold_full(p) ? hold_oldest(p) : NULL;
}

static inline void
hold_link_tail(struct hold_pool *p, struct hold_node *n)
{
	n->prev = p->head.prev;
	n->next = &p->head;
	p->head.prev->next = n;
	p->head.prev = n;
	if (n->src != HOLD_SRC_NONE) {
		struct hold_src *s = &p->src[n->src];

		n->src_next = NULL;
		n->src_prev = s->newest;
		if (s->newest != NULL)
			s->newest->src_next = n;
		else
			s->oldest = n;
		s->newest = n;
	}
}

static inline void
hold_unlink(struct hold_pool *p, struct hold_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = NULL;
	if (n->src != HOLD_SRC_NONE) {
		struct hold_src *s = &p->src[n->src];

		if (n->src_prev != NULL)
			n->src_prev->src_next = n->src_next;
		else
			s->oldest = n->src_next;
		if (n->src_next != NULL)
			n->src_next->src_prev = n->src_prev;
		else
			s->newest = n->src_prev;
		n->src_prev = n->src_next = NULL;
	}
}

/* n takes a place, one unit (the caller made room: hold_victim is
 * NULL).  now: the pool's clock, any monotonic count where the pool has no
 * timeout. */
static inline void
hold_take(struct hold_pool *p, struct hold_node *n, uint16_t src,
          uint64_t now)
{
	n->progress_tsc = now;
	n->src = src;
	n->units = 1;
	hold_link_tail(p, n);
	p->used++;
	if (src != HOLD_SRC_NONE)
		p->src[src].count++;
}

/* n's holder takes (delta > 0) or gives back units beyond its first;
 * n stays linked while it has one. */
static inline void
hold_charge(struct hold_pool *p, struct hold_node *n, int32_t delta)
{
	n->units += (uint32_t)delta;
	p->used += (uint32_t)delta;
	if (n->src != HOLD_SRC_NONE)
		p->src[n->src].count += (uint32_t)delta;
}

/* n made progress: it is now the newest. */
static inline void
hold_progress(struct hold_pool *p, struct hold_node *n, uint64_t now)
{
	n->progress_tsc = now;
	if (p->head.prev == n)
		return;
	hold_unlink(p, n);
	hold_link_tail(p, n);
}

/* n gives its place back.  Safe on an unlinked node. */
static inline void
hold_release(struct hold_pool *p, struct hold_node *n)
{
	if (!hold_is_linked(n))
		return;
	hold_unlink(p, n);
	p->used -= n->units;
	if (n->src != HOLD_SRC_NONE)
		p->src[n->src].count -= n->units;
	n->units = 0;
}

/* The oldest holder if it made no progress for timeout_tsc (0 = no
 * timeout), else NULL. */
static inline struct hold_node *
hold_stalled(const struct hold_pool *p, uint64_t now, uint64_t timeout_tsc)
{
	struct hold_node *n = hold_oldest(p);

	if (n == NULL || timeout_tsc == 0 || now - n->progress_tsc < timeout_tsc)
		return NULL;
	return n;
}

#endif /* IPS_HOLD_H */

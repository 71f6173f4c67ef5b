/*
 * detect.c - the detect stage: scan HTTP buffers and the raw TCP stream,
 * decide which rules fire.
 *
 * Owns the worker's Hyperscan scratch, the body and raw stream pools, the
 * per transaction (and per raw stream) matched-pattern set and rule
 * evaluation (see detect.h).  A raw stream slot carries a struct
 * detect_txn that lives as long as the flow: the same matched-pattern
 * set and evaluation serve both paths.
 * Hyperscan is the prefilter: a scan records matched pattern ids, and only
 * the rules owning those patterns (plus the db's always-evaluated rules) are
 * checked, in rule order, so a pass rule hides the lower-priority rules.
 * The transaction's matched[] keeps only patterns of rules that need the
 * body (they are decided in a later call); header-only rules are decided
 * from a per-call bitmap, so a large rule set cannot overflow matched[].
 *
 * Every function below detect_worker_create runs per packet: no allocation,
 * no syscall, no logging.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "bounded.h"
#include "detect_inspect.h"
#include "md5.h"
#include "tls.h"
#include "x509.h"
#include "xbits.h"

/* When a rule can be decided.  Header-only rules at detect_headers; rules
 * with positive body conditions as soon as those match; rules with a
 * negated body condition only once the body has ended. */
#define DETECT_AT_HEADERS 0x1
#define DETECT_AT_BODY    0x2
#define DETECT_AT_END     0x4
#define DETECT_VERIFY     0x8   /* a condition Hyperscan does not decide
                                 * exactly: inspect the held buffers */
#define DETECT_AT_STREAM  0x10  /* raw stream rule: at detect_raw_data */
/* Decided within the scan call that matched it, so its patterns need not
 * be remembered: header-only rules and single-condition raw rules (a
 * streaming SINGLEMATCH pattern reports once per stream anyway). */
#define DETECT_IN_CALL    0x20
#define DETECT_AT_CERT    0x40  /* tls.certs rule: at detect_tls_cert */
/* A response rule: evaluated in response transactions only (the
 * DETECT_AT_HEADERS/BODY/END bits then name the response's phases). */
#define DETECT_RESPONSE   0x80
/* A request rule on the request line's buffers only: decided at
 * detect_request_line when the head is still coming (Suricata inspects
 * them at that progress), else at detect_headers with the others. */
#define DETECT_AT_LINE    0x100
#define DETECT_AT_HELLO   0x200 /* tls.sni rule: at detect_tls_hello */

/* The bodies of one direction: request or response transactions. */
enum { DETECT_DIR_REQUEST = 0, DETECT_DIR_RESPONSE, DETECT_DIRS };

static const uint8_t detect_body_buffer[DETECT_DIRS] = {
	IPS_BUF_REQUEST_BODY, IPS_BUF_RESPONSE_BODY,
};
static const uint32_t detect_body_bytes[DETECT_DIRS] = {
	DETECT_BODY_INSPECT_BYTES, DETECT_RESP_BODY_INSPECT_BYTES,
};

/* One direction's bodies in progress: a Hyperscan stream each against
 * that direction's body database, a held buffer each when rules inspect
 * the body whole, and their holders stalled longest first (hold.h: one
 * place covers the pair). */
struct detect_bodies {
	hs_stream_t **streams;          /* every body stream, for teardown */
	hs_stream_t **free_streams;     /* stack of idle ones */
	uint32_t n_streams, n_free;
	uint8_t *mem;                   /* held bodies; none without a rule
	                                 * that inspects the body whole */
	uint8_t **free_bufs;
	uint32_t n_bufs, n_bufs_free;
	struct hold_pool hold;
};

/* One flow's raw stream: its Hyperscan stream and the patterns its
 * multi-condition rules have matched so far. */
struct detect_raw_slot {
	struct detect_set *set;         /* whose pool it belongs to */
	hs_stream_t *hs;
	struct detect_raw *raw;         /* the flow's state that holds it */
	const void *owner;              /* its caller's handle: reported when
	                                 * the raw stream is evicted */
	struct hold_node hold;          /* its place in the pool */
	struct hold_node win_hold;      /* its window's, while it has one */
	struct detect_txn dt;           /* dt.body_buf: the window */
};

/* One TLS flow's Certificate message in progress: the certificate being
 * reassembled and the rules fired on the flow's certificates so far. */
struct detect_tls_slot {
	struct detect_tls *tls;         /* the flow's state that holds it */
	const void *owner;              /* its caller's handle: reported when
	                                 * the slot is evicted */
	struct hold_node hold;          /* its place in the pool */
	uint8_t *buf;                   /* DETECT_TLS_CERT_BYTES */
	uint32_t n_certs;               /* certificates of its message so far */
	struct detect_txn dt;
};

/*
 * What one worker derives from one db: everything whose shape depends on the
 * rule set (scratch, stream pools opened against its Hyperscan databases,
 * per-rule and per-pattern tables) and the rules' hit counters.  A worker
 * has a current set, on which new transactions and raw streams start; a
 * transaction or raw stream keeps the set it started on until it ends, so
 * a reload never judges one buffer half by old rules and half by new ones.
 * users counts them; the service thread frees a set once it is neither
 * current nor published, users is zero and a grace period has passed.
 */
struct detect_set {
	const struct ips_detect_db *db;
	struct worker_stats *ws;        /* the worker's */
	hs_scratch_t *scratch;
	struct detect_bodies bodies[DETECT_DIRS];
	struct detect_raw_slot *raw_slots;      /* every raw slot */
	struct detect_raw_slot **raw_free;      /* stack of idle ones */
	uint32_t n_raw, n_raw_free;
	/* Holders of raw streams, stalled longest first (hold.h) */
	struct hold_pool raw_hold;
	uint16_t *rule_when;            /* DETECT_AT_* per rule */
	struct detect_inspect *di;      /* the worker's PCRE2 state */
	struct detect_thresh *thresh;   /* the worker's threshold table */
	const struct detect_xbits *xbits;       /* the worker's */
	/* Raw stream windows (DETECT_RAW_WINDOW_BYTES each), likewise, and
	 * their holders stalled longest first */
	uint8_t *win_mem;
	uint8_t **win_free;
	uint32_t n_win, n_win_free;
	struct hold_pool win_hold;
	/* Certificate message slots of TLS flows, likewise; none without a
	 * tls.certs rule */
	struct detect_tls_slot *tls_slots;
	struct detect_tls_slot **tls_free;
	uint8_t *tls_mem;
	uint32_t n_tls, n_tls_free;
	uint8_t has_tls;                /* a rule reads tls.sni or the
	                                 * certificates: the pool is there */
	uint8_t has_certs;              /* tls.certs or tls.cert_* */
	uint8_t has_hello;              /* tls.sni, ja3.* */
	uint8_t has_ja3;                /* ja3.*: fingerprint ClientHellos */
	uint8_t has_raw_server;         /* a raw rule reads server bytes */
	uint8_t has_response;           /* a rule reads HTTP responses */
	uint32_t share_pct;             /* pools' source share */
	struct hold_pool tls_hold;
	/* Patterns matched in the current call that need not outlive it:
	 * those of header-only rules (decided in the same detect_headers
	 * call; with thousands of rules, "GET" alone can be hundreds of
	 * patterns) and those that did not fit in the transaction's
	 * matched[] set.  A bitmap for lookups and a list to clear it, both
	 * sized to n_patterns at create time. */
	uint64_t *call_bits;
	uint32_t *call_list;
	uint32_t n_call;
	/* One positive pattern per rule makes it a candidate (Suricata's
	 * fast pattern): a rule can only fire when all its positives match,
	 * so waiting for the rarest one loses nothing, and a common literal
	 * such as "GET" no longer drags a thousand rules into evaluation. */
	uint64_t *trigger_bits;
	uint64_t *hits;                 /* per rule: times it fired; written
	                                 * by the worker only, summed on read */
	uint32_t users;                 /* transactions and raw streams begun
	                                 * on this set and not yet ended */
};

/* One threshold counter: a rule (by sid: counters outlive a reload) and
 * the address it tracks. */
struct detect_thresh {
	uint32_t sid;               /* 0: free */
	uint32_t count;
	uint64_t start_ms;          /* the window's first match */
	uint8_t addr[16];
};

struct detect_worker {
	struct detect_set *cur;         /* written by the worker only */
	struct detect_set *published;   /* written by the service thread */
	struct worker_stats *ws;
	struct worker_stats own_stats;  /* when the caller passes none */
	/* Transactions in progress on a set with body rules, per direction:
	 * after a reload to rules without any, their bodies must still reach
	 * them. */
	uint32_t body_txns[DETECT_DIRS];
	struct detect_pools pools;
	uint32_t src_seed;              /* hold.h source buckets */
	uint64_t tick;                  /* progress order of stream holders */
	struct detect_inspect inspect;  /* PCRE2 match data, JIT stack */
	struct detect_thresh *thresh;   /* DETECT_THRESH_SLOTS */
	struct detect_xbits xbits;      /* the gateway's, when shared */
	/* the first certificate's names, or a ClientHello's JA3 string and
	 * hash, during the call that scans them */
	uint8_t tls_room[DETECT_TLS_NAMES_BYTES];
	char ja3_hex[32];
};

struct detect_call {
	struct detect_set *s;
	struct detect_txn *dt;
	const struct detect_bufs *bufs;
	const struct detect_tuple *t;
	struct detect_result *res;
	int verdict;
	const struct detect_raw *raw;   /* raw stream call, else NULL */
	uint8_t faults;                 /* DETECT_FAULT_* met by evaluation */
	uint8_t body_more;              /* detect_body: the body goes on */
	uint8_t to_client;              /* the server's bytes: a certificate,
	                                 * the server's raw stream */
};

/* ---- setup ------------------------------------------------------------ */

static int
detect_body_prefix_safe(const struct ips_rule *rule)
{
	for (uint32_t i = 0; i < rule->n_conds; i++)
		if (ips_buffer_is_body(rule->conds[i].buffer) &&
		    !detect_inspect_prefix_safe(&rule->conds[i]))
			return 0;
	return 1;
}

/* Whether a condition is decided on a held buffer: a raw-stream one only
 * when it needs the window (Hyperscan decides the others alone). */
static int
detect_cond_verified(const struct ips_cond *cd)
{
	return cd->buffer == IPS_BUF_STREAM ? ips_cond_needs_window(cd)
	                                    : detect_inspect_needed(cd);
}

/* Whether any rule inspects the raw stream's window. */
static int
detect_set_holds_window(const struct detect_set *s)
{
	for (uint32_t r = 0; r < s->db->rules.n_rules; r++)
		if ((s->rule_when[r] & DETECT_VERIFY) &&
		    (s->db->meta[r].buffers & IPS_BUF_BIT(IPS_BUF_STREAM)))
			return 1;
	return 0;
}

static void
detect_rule_when(struct detect_set *s)
{
	const struct ips_detect_db *db = s->db;

	for (uint32_t r = 0; r < db->rules.n_rules; r++) {
		const struct ips_rule_meta *m = &db->meta[r];
		int neg_body = 0;

		for (uint32_t i = 0; i < db->rules.rules[r].n_conds; i++) {
			const struct ips_pattern *p =
				&db->patterns[m->first_pattern + i];

			neg_body |= p->negated && ips_buffer_is_body(p->buffer);
		}
		if (m->buffers & IPS_BUF_CERT_MASK)
			s->rule_when[r] = DETECT_AT_CERT | DETECT_IN_CALL;
		else if (m->buffers & IPS_BUF_HELLO_MASK)
			s->rule_when[r] = DETECT_AT_HELLO | DETECT_IN_CALL;
		else if (m->buffers & IPS_BUF_BIT(IPS_BUF_STREAM))
			s->rule_when[r] = DETECT_AT_STREAM |
				(db->rules.rules[r].n_conds == 1 ? DETECT_IN_CALL
				                                 : 0);
		else if (!m->needs_body)
			s->rule_when[r] = DETECT_AT_HEADERS | DETECT_IN_CALL;
		else if (neg_body)
			s->rule_when[r] = DETECT_AT_END;
		else
			s->rule_when[r] = DETECT_AT_BODY | DETECT_AT_END;
		for (uint32_t i = 0; i < db->rules.rules[r].n_conds; i++)
			if (detect_cond_verified(&db->rules.rules[r].conds[i]))
				s->rule_when[r] |= DETECT_VERIFY;
		/* a window rule decided later must remember its patterns */
		if ((m->buffers & IPS_BUF_BIT(IPS_BUF_STREAM)) &&
		    (s->rule_when[r] & DETECT_VERIFY))
			s->rule_when[r] &= (uint16_t)~DETECT_IN_CALL;
		/* the held body is whole only once it has ended: a rule that
		 * a longer body could turn false waits for the end */
		if ((s->rule_when[r] & DETECT_VERIFY) && m->needs_body &&
		    !detect_body_prefix_safe(&db->rules.rules[r]))
			s->rule_when[r] = DETECT_AT_END | DETECT_VERIFY;
		if (m->buffers & IPS_BUF_RESPONSE_MASK)
			s->rule_when[r] |= DETECT_RESPONSE;
		else if (m->buffers != 0 && !m->needs_body &&
		         (m->buffers & ~DETECT_LINE_BUFFERS) == 0)
			s->rule_when[r] |= DETECT_AT_LINE;
	}
}

/* The direction whose transactions evaluate rule r. */
static int
detect_rule_dir(const struct detect_set *s, uint32_t r)
{
	return (s->rule_when[r] & DETECT_RESPONSE) ? DETECT_DIR_RESPONSE
	                                           : DETECT_DIR_REQUEST;
}

/* Whether any rule inspects the held body of direction dir. */
static int
detect_set_holds_body(const struct detect_set *s, int dir)
{
	for (uint32_t r = 0; r < s->db->rules.n_rules; r++)
		if ((s->rule_when[r] & DETECT_VERIFY) &&
		    s->db->meta[r].needs_body && detect_rule_dir(s, r) == dir)
			return 1;
	return 0;
}

/* The longest positive literal, preferring the body for body rules so a
 * rule decided in detect_body becomes a candidate there; else a pcre. */
static int
detect_trigger_better(const struct ips_cond *cand, const struct ips_cond *best)
{
	int cb = ips_buffer_is_body(cand->buffer);
	int bb = ips_buffer_is_body(best->buffer);

	if (cb != bb)
		return cb;
	if ((cand->kind == IPS_COND_CONTENT) != (best->kind == IPS_COND_CONTENT))
		return cand->kind == IPS_COND_CONTENT;
	return cand->len > best->len;
}

static void
detect_pick_triggers(struct detect_set *s)
{
	const struct ips_detect_db *db = s->db;

	for (uint32_t r = 0; r < db->rules.n_rules; r++) {
		const struct ips_rule *rule = &db->rules.rules[r];
		int best = -1;

		for (uint32_t i = 0; i < rule->n_conds; i++)
			if (!rule->conds[i].negated && !rule->conds[i].hs_skip &&
			    (best < 0 ||
			     detect_trigger_better(&rule->conds[i],
			                           &rule->conds[best])))
				best = (int)i;
		if (best >= 0) {
			uint32_t id = db->meta[r].first_pattern + (uint32_t)best;

			s->trigger_bits[id / 64] |= 1ull << (id % 64);
		}
	}
}

/* Open n Hyperscan streams of hdb into out[] (setup only). */
static int
detect_open_hs(hs_database_t *hdb, uint32_t n, hs_stream_t **out,
               const char *what, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < n; i++)
		if (hs_open_stream(hdb, 0, &out[i]) != HS_SUCCESS) {
			snprintf(err, errlen, "detect: hs_open_stream failed "
			         "(%s stream %u of %u)", what, i, n);
			return -1;
		}
	return 0;
}

static int
detect_open_streams(struct detect_set *s, int dir, uint32_t n, char *err,
                    size_t errlen)
{
	hs_database_t *body = s->db->db[detect_body_buffer[dir]];
	struct detect_bodies *bp = &s->bodies[dir];

	if (body == NULL || n == 0)
		return 0;
	bp->streams = calloc(n, sizeof(*bp->streams));
	bp->free_streams = calloc(n, sizeof(*bp->free_streams));
	if (bp->streams == NULL || bp->free_streams == NULL) {
		snprintf(err, errlen, "detect: out of memory for %u streams", n);
		return -1;
	}
	bp->n_streams = n;
	if (detect_open_hs(body, n, bp->streams, "body", err, errlen) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		bp->free_streams[bp->n_free++] = bp->streams[i];
	return 0;
}

/* n buffers of size bytes: *mem, and the stack *free_list of them. */
static int
detect_open_buffers(uint32_t n, uint32_t size, uint8_t **mem,
                    uint8_t ***free_list, uint32_t *n_free, const char *what,
                    char *err, size_t errlen)
{
	*mem = malloc((size_t)n * size);
	*free_list = calloc(n, sizeof(**free_list));
	if (*mem == NULL || *free_list == NULL) {
		snprintf(err, errlen, "detect: out of memory for %u %s of %u "
		         "bytes", n, what, size);
		return -1;
	}
	for (uint32_t i = 0; i < n; i++)
		(*free_list)[(*n_free)++] = *mem + (size_t)i * size;
	return 0;
}

static int
detect_open_bodies(struct detect_set *s, int dir, uint32_t n, char *err,
                   size_t errlen)
{
	struct detect_bodies *bp = &s->bodies[dir];

	hold_pool_init(&bp->hold, n, s->share_pct);
	if (detect_open_streams(s, dir, n, err, errlen) < 0)
		return -1;
	if (n == 0 || !detect_set_holds_body(s, dir))
		return 0;
	bp->n_bufs = n;
	return detect_open_buffers(n, detect_body_bytes[dir], &bp->mem,
	                           &bp->free_bufs, &bp->n_bufs_free,
	                           "held bodies", err, errlen);
}

static void
detect_close_bodies(struct detect_bodies *bp)
{
	/* a half-opened pool has NULLs at its end */
	for (uint32_t i = 0; i < bp->n_streams && bp->streams[i]; i++)
		hs_close_stream(bp->streams[i], NULL, NULL, NULL);
	free(bp->streams);
	free(bp->free_streams);
	free(bp->mem);
	free(bp->free_bufs);
}

static int
detect_open_windows(struct detect_set *s, uint32_t n, char *err,
                    size_t errlen)
{
	if (n == 0 || s->n_raw == 0 || !detect_set_holds_window(s))
		return 0;
	s->n_win = n;
	return detect_open_buffers(n, DETECT_RAW_WINDOW_BYTES, &s->win_mem,
	                           &s->win_free, &s->n_win_free,
	                           "raw stream windows", err, errlen);
}

static int
detect_open_raw(struct detect_set *s, uint32_t n, char *err,
                size_t errlen)
{
	hs_database_t *raw = s->db->db[IPS_BUF_STREAM];

	if (raw == NULL || n == 0)
		return 0;
	s->raw_slots = calloc(n, sizeof(*s->raw_slots));
	s->raw_free = calloc(n, sizeof(*s->raw_free));
	if (s->raw_slots == NULL || s->raw_free == NULL) {
		snprintf(err, errlen, "detect: out of memory for %u raw "
		         "streams", n);
		return -1;
	}
	s->n_raw = n;
	for (uint32_t i = 0; i < n; i++) {
		if (detect_open_hs(raw, 1, &s->raw_slots[i].hs, "raw", err,
		                   errlen) < 0)
			return -1;
		s->raw_free[s->n_raw_free++] = &s->raw_slots[i];
	}
	return 0;
}

/* Whether any raw-stream rule applies to the server's bytes (to_client,
 * or no direction). */
static int
detect_set_reads_server_stream(const struct detect_set *s)
{
	for (uint32_t r = 0; r < s->db->rules.n_rules; r++)
		if ((s->db->meta[r].buffers & IPS_BUF_BIT(IPS_BUF_STREAM)) &&
		    !(s->db->rules.rules[r].flow_flags & IPS_FLOW_TO_SERVER))
			return 1;
	return 0;
}

/* Whether any rule reads one of the buffers of mask. */
static int
detect_set_reads(const struct detect_set *s, uint64_t mask)
{
	for (uint32_t r = 0; r < s->db->rules.n_rules; r++)
		if (s->db->meta[r].buffers & mask)
			return 1;
	return 0;
}

static int
detect_open_tls(struct detect_set *s, uint32_t n, char *err, size_t errlen)
{
	s->has_certs = (uint8_t)detect_set_reads(s, IPS_BUF_CERT_MASK);
	s->has_hello = (uint8_t)detect_set_reads(s, IPS_BUF_HELLO_MASK);
	s->has_ja3 = (uint8_t)detect_set_reads(s,
	                                       IPS_BUF_BIT(IPS_BUF_JA3_HASH) |
	                                       IPS_BUF_BIT(IPS_BUF_JA3_STRING));
	s->has_tls = s->has_certs || s->has_hello;
	if (n == 0 || !s->has_tls)
		return 0;
	s->tls_slots = calloc(n, sizeof(*s->tls_slots));
	s->tls_free = calloc(n, sizeof(*s->tls_free));
	s->tls_mem = malloc((size_t)n * DETECT_TLS_CERT_BYTES);
	if (s->tls_slots == NULL || s->tls_free == NULL || s->tls_mem == NULL) {
		snprintf(err, errlen, "detect: out of memory for %u TLS "
		         "certificate slots of %u bytes", n,
		         DETECT_TLS_CERT_BYTES);
		return -1;
	}
	s->n_tls = n;
	for (uint32_t i = 0; i < n; i++) {
		s->tls_slots[i].buf = s->tls_mem +
		                      (size_t)i * DETECT_TLS_CERT_BYTES;
		s->tls_free[s->n_tls_free++] = &s->tls_slots[i];
	}
	return 0;
}

/* ---- sets: one per (worker, db) ---------------------------------------- */

struct detect_set *
detect_set_create(struct detect_worker *dw, const struct ips_detect_db *db,
                  char *err, size_t errlen)
{
	struct detect_set *s;
	uint32_t np, nr;

	if (db == NULL) {
		snprintf(err, errlen, "detect: no database");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "detect: out of memory");
		return NULL;
	}
	np = db->n_patterns;
	nr = db->rules.n_rules;
	s->db = db;
	s->ws = dw->ws;
	s->di = &dw->inspect;
	s->thresh = dw->thresh;
	s->xbits = &dw->xbits;
	s->share_pct = dw->pools.source_share_pct;
	s->rule_when = calloc(nr ? nr : 1, sizeof(*s->rule_when));
	s->hits = calloc(nr ? nr : 1, sizeof(uint64_t));
	s->call_bits = calloc(np / 64 + 1, sizeof(uint64_t));
	s->call_list = calloc(np ? np : 1, sizeof(uint32_t));
	s->trigger_bits = calloc(np / 64 + 1, sizeof(uint64_t));
	if (!s->rule_when || !s->hits || !s->call_bits || !s->call_list ||
	    !s->trigger_bits) {
		snprintf(err, errlen, "detect: out of memory");
		goto fail;
	}
	detect_rule_when(s);
	detect_pick_triggers(s);
	s->has_raw_server = (uint8_t)detect_set_reads_server_stream(s);
	for (uint32_t r = 0; r < nr; r++)
		s->has_response |= detect_rule_dir(s, r) == DETECT_DIR_RESPONSE;
	hold_pool_init(&s->raw_hold, dw->pools.raw_streams,
	               dw->pools.source_share_pct);
	hold_pool_init(&s->win_hold, dw->pools.raw_windows,
	               dw->pools.source_share_pct);
	hold_pool_init(&s->tls_hold, dw->pools.tls_handshakes,
	               dw->pools.source_share_pct);
	if (ips_detect_db_alloc_scratch(db, &s->scratch, err, errlen) < 0 ||
	    detect_open_bodies(s, DETECT_DIR_REQUEST, dw->pools.body_streams,
	                       err, errlen) < 0 ||
	    detect_open_bodies(s, DETECT_DIR_RESPONSE,
	                       dw->pools.response_bodies, err, errlen) < 0 ||
	    detect_open_raw(s, dw->pools.raw_streams, err, errlen) < 0 ||
	    detect_open_windows(s, dw->pools.raw_windows, err, errlen) < 0 ||
	    detect_open_tls(s, dw->pools.tls_handshakes, err, errlen) < 0)
		goto fail;
	return s;
fail:
	detect_set_free(s);
	return NULL;
}

void
detect_set_free(struct detect_set *s)
{
	if (s == NULL)
		return;
	for (int d = 0; d < DETECT_DIRS; d++)
		detect_close_bodies(&s->bodies[d]);
	/* a half-opened pool has NULLs at its end */
	for (uint32_t i = 0; i < s->n_raw && s->raw_slots[i].hs; i++)
		hs_close_stream(s->raw_slots[i].hs, NULL, NULL, NULL);
	hs_free_scratch(s->scratch);
	free(s->raw_slots);
	free(s->raw_free);
	free(s->win_mem);
	free(s->win_free);
	free(s->tls_slots);
	free(s->tls_free);
	free(s->tls_mem);
	free(s->rule_when);
	free(s->hits);
	free(s->call_bits);
	free(s->call_list);
	free(s->trigger_bits);
	free(s);
}

const struct ips_detect_db *
detect_set_db(const struct detect_set *s)
{
	return s->db;
}

uint64_t
detect_set_hits(const struct detect_set *s, uint32_t rule)
{
	return __atomic_load_n(&s->hits[rule], __ATOMIC_RELAXED);
}

void
detect_set_publish(struct detect_worker *dw, struct detect_set *s)
{
	__atomic_store_n(&dw->published, s, __ATOMIC_RELEASE);
}

struct detect_set *
detect_set_current(const struct detect_worker *dw)
{
	return __atomic_load_n(&dw->cur, __ATOMIC_ACQUIRE);
}

int
detect_set_idle(const struct detect_worker *dw, const struct detect_set *s)
{
	return s != __atomic_load_n(&dw->cur, __ATOMIC_ACQUIRE) &&
	       s != __atomic_load_n(&dw->published, __ATOMIC_ACQUIRE) &&
	       __atomic_load_n(&s->users, __ATOMIC_ACQUIRE) == 0;
}

void
detect_worker_sync(struct detect_worker *dw)
{
	struct detect_set *p = __atomic_load_n(&dw->published, __ATOMIC_ACQUIRE);

	if (p != dw->cur)
		__atomic_store_n(&dw->cur, p, __ATOMIC_RELEASE);
}

/* ---- the worker ----------------------------------------------------------- */

struct detect_worker *
detect_worker_create(const struct ips_detect_db *db,
                     const struct detect_pools *pools,
                     struct worker_stats *ws, char *err, size_t errlen)
{
	struct detect_worker *dw = calloc(1, sizeof(*dw));

	if (dw == NULL) {
		snprintf(err, errlen, "detect: out of memory");
		return NULL;
	}
	dw->ws = ws ? ws : &dw->own_stats;
	dw->pools = *pools;
	dw->src_seed = hold_seed(dw);
	dw->thresh = calloc(DETECT_THRESH_SLOTS, sizeof(*dw->thresh));
	if (dw->thresh == NULL) {
		snprintf(err, errlen, "detect: out of memory");
		free(dw);
		return NULL;
	}
	if (detect_inspect_init(&dw->inspect, err, errlen) < 0) {
		free(dw->thresh);
		free(dw);
		return NULL;
	}
	dw->cur = detect_set_create(dw, db, err, errlen);
	if (dw->cur == NULL) {
		detect_inspect_fini(&dw->inspect);
		free(dw->thresh);
		free(dw);
		return NULL;
	}
	dw->published = dw->cur;
	return dw;
}

void
detect_worker_share_xbits(struct detect_worker *dw, struct xbits *x,
                          unsigned own)
{
	dw->xbits.store = x;
	dw->xbits.own = own;
}

void
detect_worker_free(struct detect_worker *dw)
{
	if (dw == NULL)
		return;
	if (dw->published != dw->cur)
		detect_set_free(dw->published);
	detect_set_free(dw->cur);
	detect_inspect_fini(&dw->inspect);
	free(dw->thresh);
	free(dw);
}

/* Whether a rule of the set inspects the body of direction dir (by
 * Hyperscan or in the held body). */
static int
detect_set_has_body(const struct detect_set *s, int dir)
{
	return s->db->db[detect_body_buffer[dir]] != NULL ||
	       s->bodies[dir].n_bufs > 0;
}

int
detect_wants_body(const struct detect_worker *dw)
{
	return detect_set_has_body(dw->cur, DETECT_DIR_REQUEST) ||
	       dw->body_txns[DETECT_DIR_REQUEST] > 0;
}

int
detect_wants_response(const struct detect_worker *dw)
{
	return dw->cur->has_response || dw->body_txns[DETECT_DIR_RESPONSE] > 0;
}

int
detect_wants_raw(const struct detect_worker *dw)
{
	return dw->cur->db->db[IPS_BUF_STREAM] != NULL;
}

int
detect_wants_raw_server(const struct detect_worker *dw)
{
	return dw->cur->has_raw_server && detect_wants_raw(dw);
}

uint32_t
detect_raw_in_use(const struct detect_worker *dw)
{
	return dw->cur->n_raw - dw->cur->n_raw_free;
}

/* ---- the matched-pattern set ------------------------------------------ */

/* Index of the first matched[] entry >= id. */
static uint32_t
detect_lower_bound(const struct detect_txn *dt, uint32_t id)
{
	uint32_t lo = 0, hi = dt->n_matched;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (dt->matched[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
detect_in_matched(const struct detect_txn *dt, uint32_t id)
{
	uint32_t i = detect_lower_bound(dt, id);

	return i < dt->n_matched && dt->matched[i] == id;
}

static int
detect_in_call(const struct detect_set *s, uint32_t id)
{
	return (s->call_bits[id / 64] >> (id % 64)) & 1;
}

static void
detect_call_add(struct detect_set *s, uint32_t id)
{
	if (detect_in_call(s, id))
		return;
	s->call_bits[id / 64] |= 1ull << (id % 64);
	s->call_list[s->n_call++] = id;
}

static void
detect_call_clear(struct detect_set *s)
{
	for (uint32_t i = 0; i < s->n_call; i++)
		s->call_bits[s->call_list[i] / 64] = 0;
	s->n_call = 0;
}

static int
detect_on_match(unsigned int id, unsigned long long from,
                unsigned long long to, unsigned int flags, void *arg)
{
	struct detect_call *c = arg;
	struct detect_txn *dt = c->dt;
	uint32_t i;

	(void)from, (void)to, (void)flags;
	if (id >= c->s->db->n_patterns)
		return 0;
	if (c->s->rule_when[c->s->db->patterns[id].rule] & DETECT_IN_CALL) {
		detect_call_add(c->s, id);
		return 0;
	}
	i = detect_lower_bound(dt, id);
	if (i < dt->n_matched && dt->matched[i] == id)
		return 0;
	if (dt->n_matched == DETECT_TXN_MAX_MATCHES) {
		if (!dt->overflow)
			c->s->ws->detect_scan_errors++;
		dt->overflow = 1;
		detect_call_add(c->s, id);
		return 0;
	}
	memmove(&dt->matched[i + 1], &dt->matched[i],
	        (dt->n_matched - i) * sizeof(dt->matched[0]));
	dt->matched[i] = id;
	dt->n_matched++;
	return 0;
}

/* ---- rule evaluation -------------------------------------------------- */

static int
detect_already_fired(const struct detect_txn *dt, uint32_t r)
{
	for (uint32_t i = 0; i < dt->n_fired; i++)
		if (dt->fired[i] == r)
			return 1;
	return 0;
}

/* A positive condition holds when its pattern matched, in this call or an
 * earlier one.  After an overflow matched[] is incomplete: header-side
 * patterns lost in an earlier call count as matched (fail closed). */
static int
detect_positive_holds(const struct detect_call *c, uint32_t pid, int when)
{
	const struct ips_pattern *p = &c->s->db->patterns[pid];

	if (detect_in_matched(c->dt, pid) || detect_in_call(c->s, pid))
		return 1;
	return c->dt->overflow &&
	       !(when & (DETECT_AT_HEADERS | DETECT_AT_LINE)) &&
	       !ips_buffer_is_body(p->buffer);
}

/* ---- inspection of the held buffers ----------------------------------- */

/* The bytes of buffer b this call can read: the HTTP stage's buffers,
 * the held body, or the raw stream's window.  Returns 0 when the request
 * has no such buffer (Suricata: a rule on an absent buffer does not
 * match, negated conditions included), 1 with *p (NULL when empty) and
 * *len. */
static int
detect_buffer_of(const struct detect_call *c, unsigned b, const uint8_t **p,
                 uint32_t *len)
{
	if (ips_buffer_is_body(b) || b == IPS_BUF_STREAM) {
		*p = c->dt->body_buf;
		*len = c->dt->body_len;
		return b == IPS_BUF_STREAM ? c->dt->body_buf != NULL
		                           : c->dt->body_seen;
	}
	if (c->bufs == NULL || c->bufs->ptr[b] == NULL)
		return 0;
	*p = c->bufs->ptr[b];
	*len = c->bufs->len[b];
	return 1;
}

/* Suricata's inspection of every buffer the rule names (only for rules
 * with a condition Hyperscan does not decide exactly). */
static int
detect_verify(struct detect_call *c, const struct ips_rule *rule,
              const struct ips_rule_meta *m)
{
	int fault = 0;

	for (unsigned b = 0; b < IPS_BUF_COUNT; b++) {
		const uint8_t *p = NULL;
		uint32_t len = 0;
		/* the raw stream goes on while the flow does */
		int more = b == IPS_BUF_STREAM ||
		           (ips_buffer_is_body(b) && c->body_more);

		if (!(m->buffers & IPS_BUF_BIT(b)))
			continue;
		if (!detect_buffer_of(c, b, &p, &len)) {
			/* a window lost to a newcomer cannot say no */
			if (b == IPS_BUF_STREAM && c->dt->body_fault != 0)
				c->faults |= c->dt->body_fault;
			return 0;
		}
		c->s->ws->detect_pcre_runs++;
		if (detect_inspect_buffer(c->s->di, rule, (uint8_t)b, p, len,
		                          more, &fault))
			continue;
		if (fault != 0) {
			c->s->ws->detect_inspect_limit++;
			c->faults |= DETECT_FAULT_INSPECT_LIMIT;
		}
		return 0;
	}
	return 1;
}

/* Every header-side buffer the rule names is present (Suricata: a rule on
 * a buffer the request lacks does not match, negations included). */
static int
detect_buffers_present(const struct detect_call *c,
                       const struct ips_rule_meta *m)
{
	const uint8_t *p;
	uint32_t len;

	for (unsigned b = 0; b < IPS_BUF_COUNT; b++)
		if (b != IPS_BUF_STREAM && (m->buffers & IPS_BUF_BIT(b)) &&
		    !detect_buffer_of(c, b, &p, &len))
			return 0;
	return 1;
}

/* ---- flowbits ------------------------------------------------------------- */

static int
detect_bit(const struct detect_call *c, uint16_t bit)
{
	const uint64_t *bits = c->t != NULL ? c->t->flowbits : NULL;

	return bits != NULL && ((bits[bit / 64] >> (bit % 64)) & 1);
}

/* isset / isnotset, each a|b group holding when one of it does. */
static int
detect_flowbits_hold(const struct detect_call *c, const struct ips_rule *r)
{
	for (uint32_t i = 0; i < r->n_flowbits; i++) {
		const struct ips_flowbit *fb = &r->flowbits[i];
		int ok = 0;

		if (fb->op != IPS_FB_ISSET && fb->op != IPS_FB_ISNOTSET)
			continue;
		for (;; fb = &r->flowbits[++i]) {
			ok |= detect_bit(c, fb->bit) == (fb->op == IPS_FB_ISSET);
			if (!fb->or_next || i + 1 == r->n_flowbits)
				break;
		}
		if (!ok)
			return 0;
	}
	return 1;
}

/* set / unset / toggle of a rule that matched (before its threshold:
 * Suricata sets bits of matches whose alert is suppressed too). */
static void
detect_flowbits_apply(const struct detect_call *c, const struct ips_rule *r)
{
	uint64_t *bits = c->t != NULL ? c->t->flowbits : NULL;

	for (uint32_t i = 0; bits != NULL && i < r->n_flowbits; i++) {
		const struct ips_flowbit *fb = &r->flowbits[i];
		uint64_t m = 1ull << (fb->bit % 64);

		if (fb->op == IPS_FB_SET)
			bits[fb->bit / 64] |= m;
		else if (fb->op == IPS_FB_UNSET)
			bits[fb->bit / 64] &= ~m;
		else if (fb->op == IPS_FB_TOGGLE)
			bits[fb->bit / 64] ^= m;
	}
}

/* ---- xbits ---------------------------------------------------------------- */

/* The rule's source address in this call (its destination: src 0): the
 * server when the rule reads server to client, as Suricata's ip_src and
 * by_src mean the packet's source.  Needs a tuple. */
static const uint8_t *
detect_rule_addr(const struct detect_call *c, int src)
{
	return src != c->to_client ? c->t->src : c->t->dst;
}

/* The key of a rule's xbit in this call. */
static void
detect_xbit_key(const struct detect_call *c, const struct ips_flowbit *xb,
                struct xbits_key *k)
{
	const struct detect_tuple *t = c->t;
	const uint8_t *src = detect_rule_addr(c, 1);
	const uint8_t *dst = detect_rule_addr(c, 0);

	if (xb->track == IPS_XBIT_IP_PAIR)
		xbits_key_pair(k, xb->id, src, dst, t->ip_version);
	else
		xbits_key_host(k, xb->id,
		               xb->track == IPS_XBIT_IP_SRC ? src : dst,
		               t->ip_version);
}

static int
detect_xbit_is_test(const struct ips_flowbit *xb)
{
	return xb->op == IPS_FB_ISSET || xb->op == IPS_FB_ISNOTSET;
}

/* isset / isnotset.  Without a shared store (or a tuple) nothing is set.
 * A record its owner kept mid-write is undecided: a fault. */
static int
detect_xbits_hold(struct detect_call *c, const struct ips_rule *r)
{
	const struct xbits *store = c->t != NULL ? c->s->xbits->store : NULL;
	uint64_t now_s = c->t != NULL ? c->t->now_ms / 1000 : 0;

	for (uint32_t i = 0; i < r->n_xbits; i++) {
		const struct ips_flowbit *xb = &r->xbits[i];
		struct xbits_key k;
		int set = 0;

		if (!detect_xbit_is_test(xb))
			continue;
		if (store != NULL) {
			detect_xbit_key(c, xb, &k);
			set = xbits_isset(store, &k, now_s);
		}
		if (set < 0) {
			c->s->ws->detect_xbits_unreadable++;
			c->faults |= DETECT_FAULT_INSPECT_LIMIT;
			return 0;
		}
		if (set != (xb->op == IPS_FB_ISSET))
			return 0;
	}
	return 1;
}

/* set / unset / toggle of a rule that matched, as for flowbits. */
static void
detect_xbits_apply(struct detect_call *c, const struct ips_rule *r)
{
	const struct detect_xbits *xs = c->s->xbits;
	uint64_t now_s;

	if (xs->store == NULL || c->t == NULL)
		return;
	now_s = c->t->now_ms / 1000;
	for (uint32_t i = 0; i < r->n_xbits; i++) {
		const struct ips_flowbit *xb = &r->xbits[i];
		struct xbits_key k;

		if (detect_xbit_is_test(xb))
			continue;
		detect_xbit_key(c, xb, &k);
		if (xbits_act(xs->store, xs->own, &k, xb->op,
		              now_s, xb->expire,
		              &c->s->ws->detect_xbits_evicted) < 0)
			c->s->ws->detect_xbits_unreadable++;
	}
}

/* ---- threshold / detection_filter -------------------------------------- */

/* The table slot of (sid, addr): its entry, a free slot, or (the window
 * full) the oldest entry, evicted. */
static struct detect_thresh *
detect_thresh_slot(struct detect_set *s, uint32_t sid, const uint8_t *addr)
{
	uint32_t h = sid * 2654435761u;
	struct detect_thresh *oldest = NULL;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	for (uint32_t k = 0; k < DETECT_THRESH_PROBE; k++) {
		struct detect_thresh *e =
			&s->thresh[(h + k) % DETECT_THRESH_SLOTS];

		if (e->sid == 0 ||
		    (e->sid == sid && memcmp(e->addr, addr, 16) == 0))
			return e;
		if (oldest == NULL || e->start_ms < oldest->start_ms)
			oldest = e;
	}
	s->ws->detect_threshold_evicted++;
	oldest->sid = 0;
	return oldest;
}

/* Suricata's thresholding of one match: 1 when it may alert. */
static int
detect_threshold_allows(struct detect_call *c, const struct ips_rule *r)
{
	static const uint8_t any[16];
	const struct ips_threshold *th = &r->threshold;
	const uint8_t *addr = any;
	struct detect_thresh *e;
	uint64_t now = c->t != NULL ? c->t->now_ms : 0;

	if (th->type == IPS_THRESH_NONE)
		return 1;
	if (c->t != NULL && th->track != IPS_TRACK_RULE)
		addr = detect_rule_addr(c, th->track == IPS_TRACK_SRC);
	e = detect_thresh_slot(c->s, r->sid, addr);
	if (e->sid == 0 || now - e->start_ms >= (uint64_t)th->seconds * 1000) {
		/* a new window, begun by this match */
		e->sid = r->sid;
		memcpy(e->addr, addr, 16);
		e->start_ms = now;
		e->count = 1;
		return th->type == IPS_THRESH_LIMIT ||
		       (th->type != IPS_THRESH_DETECTION && th->count == 1) ||
		       (th->type == IPS_THRESH_DETECTION && th->count == 0);
	}
	e->count++;
	switch (th->type) {
	case IPS_THRESH_LIMIT:
		return e->count <= th->count;
	case IPS_THRESH_THRESHOLD:
		if (e->count < th->count)
			return 0;
		e->count = 0;
		return 1;
	case IPS_THRESH_BOTH:
		return e->count == th->count;
	default:
		return e->count > th->count;
	}
}

static int
detect_conditions_hold(struct detect_call *c, uint32_t r, int when)
{
	const struct ips_detect_db *db = c->s->db;
	const struct ips_rule_meta *m = &db->meta[r];
	const struct ips_rule *rule = &db->rules.rules[r];

	for (uint32_t i = 0; i < rule->n_conds; i++) {
		uint32_t pid = m->first_pattern + i;

		if (rule->conds[i].hs_skip)
			continue;           /* decided by detect_verify */
		if (db->patterns[pid].negated) {
			if (detect_in_matched(c->dt, pid) ||
			    detect_in_call(c->s, pid))
				return 0;
		} else if (!detect_positive_holds(c, pid, when)) {
			return 0;
		}
	}
	if (!detect_flowbits_hold(c, rule))
		return 0;
	if (c->raw == NULL && !detect_buffers_present(c, m))
		return 0;
	return (c->s->rule_when[r] & DETECT_VERIFY) ? detect_verify(c, rule, m)
	                                             : 1;
}

/* The rule header: addresses, ports, and for the raw stream of an `http`
 * rule, that the flow is HTTP (Suricata's app-layer protocol check).  The
 * server's bytes (a certificate, its raw stream) go server to client: the
 * rule's source is then the server. */
static int
detect_header_holds(const struct detect_call *c, const struct ips_rule *rule)
{
	const struct detect_tuple *t = c->t;

	if (rule->flow_flags & (c->to_client ? IPS_FLOW_TO_SERVER
	                                     : IPS_FLOW_TO_CLIENT))
		return 0;
	if (c->raw != NULL && rule->proto == IPS_PROTO_HTTP &&
	    !c->raw->app_http)
		return 0;
	if (t == NULL)
		return 1;
	return c->to_client
	       ? ips_rule_match_tuple(rule, t->dst, t->dport, t->src, t->sport)
	       : ips_rule_match_tuple(rule, t->src, t->sport, t->dst, t->dport);
}

static void
detect_copy_field(char *dst, size_t cap, const struct detect_bufs *b,
                  enum ips_buffer which)
{
	size_t n = 0;

	if (b != NULL && b->ptr[which] != NULL) {
		n = b->len[which] < cap - 1 ? b->len[which] : cap - 1;
		memcpy(dst, b->ptr[which], n);
	}
	dst[n] = '\0';
}

static const uint8_t detect_action_verdict[IPS_ACTION_COUNT] = {
	[IPS_ACTION_PASS] = DETECT_NONE,
	[IPS_ACTION_DROP] = DETECT_DROP,
	[IPS_ACTION_REJECT] = DETECT_REJECT,
	[IPS_ACTION_ALERT] = DETECT_ALERT,
};

static void
detect_report(struct detect_call *c, const struct ips_rule *rule)
{
	struct detect_result *res = c->res;
	uint8_t v = detect_action_verdict[rule->action];
	struct detect_fired *f;

	if (v > c->verdict)
		c->verdict = v;
	if (res == NULL)
		return;
	if (v > res->verdict)
		res->verdict = v;
	if (res->n_fired == 0 && res->n_lost == 0) {
		detect_copy_field(res->url, sizeof(res->url), c->bufs,
		                  IPS_BUF_URI_RAW);
		detect_copy_field(res->host, sizeof(res->host), c->bufs,
		                  IPS_BUF_HOST);
		detect_copy_field(res->method, sizeof(res->method), c->bufs,
		                  IPS_BUF_METHOD);
		detect_copy_field(res->user_agent, sizeof(res->user_agent),
		                  c->bufs, IPS_BUF_USER_AGENT);
	}
	if (res->n_fired == DETECT_RESULT_MAX) {
		if (res->n_lost < UINT8_MAX)
			res->n_lost++;
		return;
	}
	f = &res->fired[res->n_fired++];
	f->sid = rule->sid;
	f->rev = rule->rev;
	f->action = rule->action;
	f->reject = rule->reject;
	f->priority = rule->priority;
	f->to_client = c->to_client;
	f->msg = rule->msg;
	f->classtype = rule->classtype;
}

static void
detect_eval_rule(struct detect_call *c, uint32_t r, int when)
{
	const struct ips_rule *rule = &c->s->db->rules.rules[r];
	struct detect_txn *dt = c->dt;

	if (!(c->s->rule_when[r] & when) || detect_already_fired(dt, r) ||
	    detect_rule_dir(c->s, r) != dt->response)
		return;
	c->s->ws->detect_rules_evaluated++;
	/* xbits last: they read every worker's table */
	if (!detect_conditions_hold(c, r, when) ||
	    !detect_header_holds(c, rule) || !detect_xbits_hold(c, rule))
		return;
	c->s->ws->detect_rules_matched++;
	c->s->hits[r]++;
	/* Past DETECT_TXN_MAX_FIRED a later stage may report a rule again;
	 * better a duplicate alert than a missed verdict. */
	if (dt->n_fired < DETECT_TXN_MAX_FIRED)
		dt->fired[dt->n_fired++] = r;
	detect_flowbits_apply(c, rule);
	detect_xbits_apply(c, rule);
	if (rule->action == IPS_ACTION_PASS) {
		dt->passed = 1;
		return;
	}
	if (rule->noalert)
		return;
	/* Suricata drops only what it alerts on: a suppressed match
	 * neither alerts nor takes its action. */
	if (!detect_threshold_allows(c, rule)) {
		c->s->ws->detect_threshold_suppressed++;
		return;
	}
	detect_report(c, rule);
}

/* Candidate rules in ascending order, merged from three ascending
 * sources: trigger patterns in matched[] (pattern ids are contiguous per
 * rule, so ascending ids mean ascending rules), trigger patterns in this
 * call's bitmap, and always[]. */
struct detect_cursor {
	uint32_t im, ia, ib;
};

static uint32_t
detect_next_call(const struct detect_set *s, uint32_t from)
{
	uint32_t np = s->db->n_patterns;

	if (s->n_call == 0)
		return UINT32_MAX;
	for (uint32_t id = from; id < np; id++) {
		uint64_t w = (s->call_bits[id / 64] & s->trigger_bits[id / 64]) >>
		             (id % 64);

		if (w != 0)
			return id + (uint32_t)__builtin_ctzll(w);
		id |= 63;               /* rest of this word is clear */
	}
	return UINT32_MAX;
}

static uint32_t
detect_next_candidate(const struct detect_call *c, struct detect_cursor *cu)
{
	const struct ips_detect_db *db = c->s->db;
	const uint64_t *trig = c->s->trigger_bits;
	uint32_t best = UINT32_MAX, id;

	while (cu->im < c->dt->n_matched &&
	       !((trig[c->dt->matched[cu->im] / 64] >>
	          (c->dt->matched[cu->im] % 64)) & 1))
		cu->im++;
	if (cu->im < c->dt->n_matched)
		best = db->patterns[c->dt->matched[cu->im]].rule;
	id = detect_next_call(c->s, cu->ib);
	if (id != UINT32_MAX && db->patterns[id].rule < best)
		best = db->patterns[id].rule;
	if (cu->ia < db->n_always && db->always[cu->ia] < best)
		best = db->always[cu->ia];
	return best;
}

static void
detect_advance(const struct detect_call *c, struct detect_cursor *cu,
               uint32_t r)
{
	const struct ips_detect_db *db = c->s->db;

	while (cu->im < c->dt->n_matched &&
	       db->patterns[c->dt->matched[cu->im]].rule <= r)
		cu->im++;
	while (cu->ia < db->n_always && db->always[cu->ia] <= r)
		cu->ia++;
	cu->ib = db->meta[r].first_pattern + db->rules.rules[r].n_conds;
}

static void
detect_evaluate(struct detect_call *c, int when)
{
	struct detect_cursor cu = { 0, 0, 0 };
	uint32_t r;

	while (!c->dt->passed &&
	       (r = detect_next_candidate(c, &cu)) != UINT32_MAX) {
		detect_eval_rule(c, r, when);
		detect_advance(c, &cu, r);
	}
	detect_call_clear(c->s);
	if (c->res != NULL)
		c->res->faults |= c->faults;
}

/* ---- transaction ------------------------------------------------------ */

static void
detect_fault(struct detect_call *c, uint8_t fault)
{
	if (c->res != NULL)
		c->res->faults |= fault;
}

/* Zero the match state, keeping nothing from a previous transaction. */
static void
detect_txn_reset(struct detect_txn *dt)
{
	memset(dt, 0, offsetof(struct detect_txn, matched));
}

/* The set a transaction started on; one begun before any set (a caller
 * that zeroed it) runs on the current one. */
static struct detect_set *
detect_txn_set(const struct detect_worker *dw, const struct detect_txn *dt)
{
	return dt->set != NULL ? dt->set : dw->cur;
}

static void
detect_txn_start(struct detect_worker *dw, struct detect_txn *dt,
                 int response)
{
	detect_txn_reset(dt);
	dt->set = dw->cur;
	dt->response = (uint8_t)response;
	dt->set->users++;
	dw->body_txns[response] += detect_set_has_body(dt->set, response);
}

void
detect_txn_begin(struct detect_worker *dw, struct detect_txn *dt)
{
	detect_txn_start(dw, dt, DETECT_DIR_REQUEST);
}

void
detect_response_begin(struct detect_worker *dw, struct detect_txn *dt)
{
	detect_txn_start(dw, dt, DETECT_DIR_RESPONSE);
}

/* The transaction is over: its set may be retired once no other uses it. */
static void
detect_txn_leave(struct detect_worker *dw, struct detect_txn *dt)
{
	if (dt->set != NULL) {
		dt->set->users--;
		dw->body_txns[dt->response] -=
			detect_set_has_body(dt->set, dt->response);
	}
	dt->set = NULL;
}

static void
detect_release_stream(struct detect_set *s, struct detect_txn *dt,
                      struct detect_call *c)
{
	struct detect_bodies *bp = &s->bodies[dt->response];
	hs_stream_t *hs = dt->body_stream;

	/* its place in the body pool goes with its stream and buffer */
	hold_release(&bp->hold, &dt->hold);
	if (hs == NULL)
		return;
	/* With a callback, reset reports matches that complete at end of
	 * data ("x$"); an aborted transaction wants none. */
	if (hs_reset_stream(hs, 0, c ? s->scratch : NULL,
	                    c ? detect_on_match : NULL, c) != HS_SUCCESS)
		s->ws->detect_scan_errors++;
	bp->free_streams[bp->n_free++] = hs;
	dt->body_stream = NULL;
}

/* How a pool's evictions are counted and logged: for a full pool, and
 * for a newcomer whose source held its share. */
struct detect_evict_kind {
	size_t full_counter;        /* offsetof struct worker_stats */
	size_t share_counter;
	const char *full_event;
	const char *share_event;
};

static const struct detect_evict_kind detect_body_evict_kind[DETECT_DIRS] = {
	{ offsetof(struct worker_stats, detect_body_stream_evicted),
	  offsetof(struct worker_stats, detect_body_stream_share_evicted),
	  "body_stream_evicted", "body_stream_share_evicted" },
	{ offsetof(struct worker_stats, detect_response_body_evicted),
	  offsetof(struct worker_stats, detect_response_body_share_evicted),
	  "response_body_evicted", "response_body_share_evicted" },
};

static const struct detect_evict_kind detect_raw_evict_kind = {
	offsetof(struct worker_stats, detect_raw_stream_evicted),
	offsetof(struct worker_stats, detect_raw_stream_share_evicted),
	"raw_stream_evicted", "raw_stream_share_evicted",
};

static const struct detect_evict_kind detect_tls_evict_kind = {
	offsetof(struct worker_stats, detect_tls_evicted),
	offsetof(struct worker_stats, detect_tls_share_evicted),
	"tls_cert_evicted", "tls_cert_share_evicted",
};

/* A holder of pool p gives up its stream to a newcomer from src: count
 * it and report its owner, for the caller to end its flow.  Returns 0, or
 * -1 when res has no room (then nothing may be evicted). */
static int
detect_evict_report(struct detect_set *s, const struct hold_pool *p,
                    uint16_t src, struct detect_result *res,
                    const struct detect_evict_kind *k, const void *owner)
{
	int share = hold_src_count(p, src) >= p->share_max;

	if (detect_report_evicted(res, owner, "detect",
	                          share ? k->share_event : k->full_event) != 0)
		return -1;
	(*(uint64_t *)((char *)s->ws + (share ? k->share_counter
	                                      : k->full_counter)))++;
	return 0;
}

static void
detect_release_body(struct detect_set *s, struct detect_txn *dt)
{
	struct detect_bodies *bp = &s->bodies[dt->response];

	if (dt->body_buf != NULL)
		bp->free_bufs[bp->n_bufs_free++] = dt->body_buf;
	dt->body_buf = NULL;
	dt->body_len = 0;
}

/* Make room in a full body pool (or beyond the source's share): the
 * transaction whose body made no progress for longest gives up its
 * stream and held buffer.  Returns 0, or -1 when nothing can be
 * evicted. */
static int
detect_body_evict(struct detect_set *s, int dir, uint16_t src,
                  struct detect_result *res)
{
	struct hold_pool *pool = &s->bodies[dir].hold;
	struct hold_node *n = hold_victim(pool, src);
	struct detect_txn *victim;

	if (n == NULL)
		return 0;
	victim = hold_entry(n, struct detect_txn, hold);
	if (detect_evict_report(s, pool, src, res,
	                        &detect_body_evict_kind[dir],
	                        victim->owner) != 0)
		return -1;
	detect_release_stream(s, victim, NULL);
	detect_release_body(s, victim);
	victim->body_fault = DETECT_FAULT_BODY_POOL_FULL;
	return 0;
}

/*
 * What the body of dt needs from the pool, on its first bytes: a
 * Hyperscan stream when the set scans bodies, a buffer when rules inspect
 * the body whole (both pools have one entry per body_streams, and one
 * place in the direction's hold pool covers the pair).  Returns -1 (body_fault set) when
 * nothing could be had; later bytes only mark progress.
 */
static int
detect_body_take(struct detect_worker *dw, struct detect_set *s,
                 struct detect_txn *dt, const struct detect_tuple *t,
                 struct detect_result *res)
{
	struct detect_bodies *bp = &s->bodies[dt->response];
	int want_stream = s->db->db[detect_body_buffer[dt->response]] != NULL;
	int want_buf = bp->n_bufs != 0;
	uint16_t src;

	if (hold_is_linked(&dt->hold)) {
		hold_progress(&bp->hold, &dt->hold, ++dw->tick);
		return 0;
	}
	if (!want_stream && !want_buf)
		return 0;
	src = hold_src_bucket(t->src, t->ip_version, dw->src_seed);
	if (detect_body_evict(s, dt->response, src, res) != 0 ||
	    (want_stream && bp->n_free == 0) ||
	    (want_buf && bp->n_bufs_free == 0)) {
		s->ws->detect_stream_pool_full++;
		dt->body_fault = DETECT_FAULT_BODY_POOL_FULL;
		return -1;
	}
	if (want_stream)
		dt->body_stream = bp->free_streams[--bp->n_free];
	if (want_buf) {
		dt->body_buf = bp->free_bufs[--bp->n_bufs_free];
		dt->body_len = 0;
	}
	hold_take(&bp->hold, &dt->hold, src, ++dw->tick);
	return 0;
}

/* Keep the first detect_body_bytes of the body for the rules that
 * inspect it whole (dt->body_buf from detect_body_take). */
static void
detect_hold_body(struct detect_txn *dt, const uint8_t *data, uint32_t len)
{
	uint32_t room;

	if (dt->body_buf == NULL)
		return;
	room = detect_body_bytes[dt->response] - dt->body_len;
	dt->body_cut |= len > room;
	len = len < room ? len : room;
	memcpy(dt->body_buf + dt->body_len, data, len);
	dt->body_len += len;
}

/* Scan the buffers of mask that bufs holds, whole (block mode). */
static void
detect_scan_buffers(struct detect_call *c, uint64_t mask)
{
	struct detect_set *s = c->s;
	const struct detect_bufs *bufs = c->bufs;

	for (unsigned b = 0; b < IPS_BUF_COUNT && bufs != NULL; b++) {
		hs_database_t *hdb = s->db->db[b];

		if (!(mask & IPS_BUF_BIT(b)) || ips_buffer_streaming(b) ||
		    hdb == NULL || bufs->ptr[b] == NULL)
			continue;
		s->ws->detect_scans++;
		s->ws->detect_bytes_scanned += bufs->len[b];
		if (hs_scan(hdb, (const char *)bufs->ptr[b], bufs->len[b], 0,
		            s->scratch, detect_on_match, c) != HS_SUCCESS) {
			/* may hide a match: policy.detect_error decides */
			s->ws->detect_scan_errors++;
			detect_fault(c, DETECT_FAULT_SCAN_ERROR);
		}
	}
}

int
detect_request_line(struct detect_worker *dw, struct detect_txn *dt,
                    const struct detect_bufs *bufs,
                    const struct detect_tuple *t, struct detect_result *res)
{
	struct detect_set *s = detect_txn_set(dw, dt);
	struct detect_call c = { s, dt, bufs, t, res, DETECT_NONE, NULL, 0,
	                         0, 0 };

	if (dt->passed || dt->line_done || dt->headers_done || dt->response)
		return DETECT_NONE;
	dt->line_done = 1;
	detect_scan_buffers(&c, DETECT_LINE_BUFFERS);
	detect_evaluate(&c, DETECT_AT_LINE);
	return c.verdict;
}

int
detect_headers(struct detect_worker *dw, struct detect_txn *dt,
               const struct detect_bufs *bufs, const struct detect_tuple *t,
               struct detect_result *res)
{
	struct detect_set *s = detect_txn_set(dw, dt);
	struct detect_call c = { s, dt, bufs, t, res, DETECT_NONE, NULL, 0,
	                         0, dt->response };

	dt->headers_done = 1;
	if (dt->passed)
		return DETECT_NONE;
	detect_scan_buffers(&c, ~IPS_BUF_CERT_MASK);
	detect_evaluate(&c, DETECT_AT_HEADERS);
	return c.verdict;
}

int
detect_body(struct detect_worker *dw, struct detect_txn *dt,
            const uint8_t *data, uint32_t len,
            const struct detect_bufs *bufs, const struct detect_tuple *t,
            struct detect_result *res)
{
	struct detect_set *s = detect_txn_set(dw, dt);
	struct detect_call c = { s, dt, bufs, t, res, DETECT_NONE, NULL, 0, 1,
	                         dt->response };

	if (dt->passed || len == 0)
		return DETECT_NONE;
	/* Once a piece was missed, scanning later ones would shift every
	 * offset: the rest of the body stays uninspected. */
	if (dt->body_fault != 0) {
		detect_fault(&c, dt->body_fault);
		return DETECT_NONE;
	}
	dt->body_seen = 1;
	if (detect_body_take(dw, s, dt, t, res) < 0) {
		detect_fault(&c, dt->body_fault);
		return DETECT_NONE;
	}
	detect_hold_body(dt, data, len);
	if (dt->body_stream == NULL)
		return DETECT_NONE;
	s->ws->detect_scans++;
	s->ws->detect_bytes_scanned += len;
	if (hs_scan_stream(dt->body_stream, (const char *)data, len, 0,
	                   s->scratch, detect_on_match, &c) != HS_SUCCESS) {
		s->ws->detect_scan_errors++;
		detect_call_clear(s);
		dt->body_fault = DETECT_FAULT_SCAN_ERROR;
		detect_fault(&c, dt->body_fault);
		return DETECT_NONE;
	}
	detect_evaluate(&c, DETECT_AT_BODY);
	/* A drop cuts the request here: no later byte will reach the server,
	 * so the rules waiting for the end of the body are decided on what
	 * was seen, and report with this packet as Suricata's would. */
	if (c.verdict >= DETECT_DROP && !dt->passed) {
		c.body_more = dt->body_cut;
		detect_evaluate(&c, DETECT_AT_END);
	}
	return c.verdict;
}

int
detect_txn_end(struct detect_worker *dw, struct detect_txn *dt,
               const struct detect_bufs *bufs, const struct detect_tuple *t,
               struct detect_result *res)
{
	struct detect_set *s = detect_txn_set(dw, dt);
	struct detect_call c = { s, dt, bufs, t, res, DETECT_NONE, NULL, 0,
	                         dt->body_cut, dt->response };

	detect_release_stream(s, dt, &c);
	if (!dt->passed)
		detect_evaluate(&c, DETECT_AT_END);
	detect_call_clear(s);
	detect_release_body(s, dt);
	detect_txn_leave(dw, dt);
	return c.verdict;
}

void
detect_txn_abort(struct detect_worker *dw, struct detect_txn *dt)
{
	struct detect_set *s = detect_txn_set(dw, dt);

	detect_release_stream(s, dt, NULL);
	detect_call_clear(s);
	detect_release_body(s, dt);
	detect_txn_leave(dw, dt);
	detect_txn_reset(dt);
}

/* ---- raw stream ------------------------------------------------------- */

/* Take a raw stream for a newcomer from src from a full pool (or beyond
 * its source's share): the flow whose raw stream made no progress for
 * longest gives it up.  Returns 0, or -1 when nothing can be evicted. */
static int
detect_raw_evict(struct detect_worker *dw, struct detect_set *s, uint16_t src,
                 struct detect_result *res)
{
	struct hold_node *n = hold_victim(&s->raw_hold, src);
	struct detect_raw_slot *vs;
	struct detect_raw *victim;

	if (n == NULL)
		return 0;
	vs = hold_entry(n, struct detect_raw_slot, hold);
	victim = vs->raw;
	if (detect_evict_report(s, &s->raw_hold, src, res,
	                        &detect_raw_evict_kind, vs->owner) != 0)
		return -1;
	detect_raw_close(dw, victim);
	/* the victim's flow ends; until it does, nothing of it passes
	 * uninspected */
	victim->opened = 1;
	victim->fault = DETECT_FAULT_RAW_POOL_FULL;
	return 0;
}

static void
detect_window_release(struct detect_set *s, struct detect_raw_slot *rs)
{
	hold_release(&s->win_hold, &rs->win_hold);
	if (rs->dt.body_buf != NULL)
		s->win_free[s->n_win_free++] = rs->dt.body_buf;
	rs->dt.body_buf = NULL;
}

/* A window for a raw stream starting, when rules need one.  A full pool
 * takes the window of the stream that made no progress for longest: it
 * goes on, only its window rules are undecidable from then on.  Without
 * one the stream's window rules are faults when they become candidates. */
static void
detect_window_take(struct detect_worker *dw, struct detect_set *s,
                   struct detect_raw_slot *rs, uint16_t src)
{
	struct hold_node *n;

	if (s->n_win == 0)
		return;
	n = hold_victim(&s->win_hold, src);
	if (n != NULL) {
		struct detect_raw_slot *victim =
			hold_entry(n, struct detect_raw_slot, win_hold);

		detect_window_release(s, victim);
		victim->dt.body_fault = DETECT_FAULT_RAW_POOL_FULL;
		s->ws->detect_raw_window_evicted++;
	}
	if (s->n_win_free == 0) {
		s->ws->detect_raw_window_pool_full++;
		rs->dt.body_fault = DETECT_FAULT_RAW_POOL_FULL;
		return;
	}
	rs->dt.body_buf = s->win_free[--s->n_win_free];
	rs->dt.body_len = 0;
	hold_take(&s->win_hold, &rs->win_hold, src, ++dw->tick);
}

/* Append the stream's next bytes to its window; one that fills has done
 * its work once this call's rules are decided (detect_window_passed). */
static void
detect_window_hold(struct detect_worker *dw, struct detect_raw_slot *rs,
                   const uint8_t *data, uint32_t len)
{
	struct detect_txn *dt = &rs->dt;
	uint32_t room;

	if (dt->body_buf == NULL)
		return;
	hold_progress(&rs->set->win_hold, &rs->win_hold, ++dw->tick);
	room = DETECT_RAW_WINDOW_BYTES - dt->body_len;
	dt->body_cut |= len >= room;
	len = len < room ? len : room;
	memcpy(dt->body_buf + dt->body_len, data, len);
	dt->body_len += len;
}

/* Past its window the stream is Suricata's past stream.reassembly.depth
 * for the window rules: they see no more of it, the window goes back. */
static void
detect_window_passed(struct detect_raw_slot *rs)
{
	if (rs->dt.body_buf != NULL && rs->dt.body_cut) {
		rs->set->ws->detect_raw_window_passed++;
		detect_window_release(rs->set, rs);
	}
}

int
detect_raw_open(struct detect_worker *dw, struct detect_raw *raw,
                int flags, const void *owner,
                const struct detect_tuple *t, struct detect_result *res)
{
	struct detect_set *s = dw->cur;
	uint16_t src = t != NULL ? hold_src_bucket(t->src, t->ip_version,
	                                           dw->src_seed)
	                         : HOLD_SRC_NONE;

	memset(raw, 0, sizeof(*raw));
	raw->opened = 1;
	raw->app_http = (flags & DETECT_RAW_APP_HTTP) != 0;
	raw->server = (flags & DETECT_RAW_SERVER) != 0;
	if (detect_raw_evict(dw, s, src, res) != 0 || s->n_raw_free == 0) {
		s->ws->detect_raw_pool_full++;
		raw->fault = DETECT_FAULT_RAW_POOL_FULL;
		return -1;
	}
	raw->slot = s->raw_free[--s->n_raw_free];
	raw->slot->set = s;
	raw->slot->raw = raw;
	raw->slot->owner = owner;
	hold_take(&s->raw_hold, &raw->slot->hold, src, ++dw->tick);
	s->users++;
	detect_txn_reset(&raw->slot->dt);
	detect_window_take(dw, s, raw->slot, src);
	return 0;
}

int
detect_raw_data(struct detect_worker *dw, struct detect_raw *raw,
                const uint8_t *data, uint32_t len,
                const struct detect_tuple *t, struct detect_result *res)
{
	struct detect_raw_slot *rs = raw->slot;
	struct detect_set *s = rs ? rs->set : dw->cur;
	struct detect_call c = { s, rs ? &rs->dt : NULL, NULL, t, res,
	                         DETECT_NONE, raw, 0, 0, raw->server };

	if (raw->fault != 0) {
		detect_fault(&c, raw->fault);
		return DETECT_NONE;
	}
	if (rs == NULL || len == 0 || rs->dt.passed)
		return DETECT_NONE;
	hold_progress(&s->raw_hold, &rs->hold, ++dw->tick);
	detect_window_hold(dw, rs, data, len);
	s->ws->detect_scans++;
	s->ws->detect_bytes_scanned += len;
	if (hs_scan_stream(rs->hs, (const char *)data, len, 0, s->scratch,
	                   detect_on_match, &c) != HS_SUCCESS) {
		/* the stream's state is lost with the bytes it missed */
		s->ws->detect_scan_errors++;
		detect_call_clear(s);
		raw->fault = DETECT_FAULT_SCAN_ERROR;
		detect_fault(&c, raw->fault);
		return DETECT_NONE;
	}
	detect_evaluate(&c, DETECT_AT_STREAM);
	detect_window_passed(rs);
	return c.verdict;
}

void
detect_raw_close(struct detect_worker *dw, struct detect_raw *raw)
{
	struct detect_raw_slot *rs = raw->slot;

	(void)dw;
	if (rs != NULL) {
		struct detect_set *s = rs->set;

		/* No callback: the flow is gone, its bytes already forwarded;
		 * an end-anchored match could change nothing. */
		if (hs_reset_stream(rs->hs, 0, NULL, NULL, NULL) != HS_SUCCESS)
			s->ws->detect_scan_errors++;
		hold_release(&s->raw_hold, &rs->hold);
		detect_window_release(s, rs);
		rs->raw = NULL;
		s->raw_free[s->n_raw_free++] = rs;
		s->users--;
	}
	memset(raw, 0, sizeof(*raw));
}

/* ---- tls.certs -------------------------------------------------------- */

int
detect_wants_tls(const struct detect_worker *dw)
{
	return dw->cur->has_certs;
}

int
detect_wants_tls_hello(const struct detect_worker *dw)
{
	return dw->cur->has_hello;
}

/* Make room in a full certificate pool (or beyond the source's share):
 * the flow whose message made no progress for longest gives up its
 * slot, and its flow ends.  Returns 0, or -1 when nothing can be
 * evicted. */
static int
detect_tls_evict(struct detect_worker *dw, struct detect_set *s, uint16_t src,
                 struct detect_result *res)
{
	struct hold_node *n = hold_victim(&s->tls_hold, src);
	struct detect_tls_slot *vs;
	struct detect_tls *victim;

	if (n == NULL)
		return 0;
	vs = hold_entry(n, struct detect_tls_slot, hold);
	victim = vs->tls;
	if (detect_evict_report(s, &s->tls_hold, src, res,
	                        &detect_tls_evict_kind, vs->owner) != 0)
		return -1;
	detect_tls_end(dw, victim);
	victim->fault = DETECT_FAULT_TLS_POOL_FULL;
	return 0;
}

uint8_t *
detect_tls_begin(struct detect_worker *dw, struct detect_tls *tls,
                 const void *owner, const struct detect_tuple *t,
                 struct detect_result *res, uint32_t *cap)
{
	struct detect_set *s = dw->cur;
	uint16_t src = t != NULL ? hold_src_bucket(t->src, t->ip_version,
	                                           dw->src_seed)
	                         : HOLD_SRC_NONE;
	struct detect_tls_slot *ts;

	detect_tls_end(dw, tls);
	tls->fault = 0;
	*cap = 0;
	if (!s->has_tls)
		return NULL;
	if (detect_tls_evict(dw, s, src, res) != 0 || s->n_tls_free == 0) {
		s->ws->detect_tls_pool_full++;
		tls->fault = DETECT_FAULT_TLS_POOL_FULL;
		return NULL;
	}
	ts = s->tls_free[--s->n_tls_free];
	ts->tls = tls;
	ts->owner = owner;
	ts->n_certs = 0;
	tls->slot = ts;
	hold_take(&s->tls_hold, &ts->hold, src, ++dw->tick);
	detect_txn_begin(dw, &ts->dt);
	*cap = DETECT_TLS_CERT_BYTES;
	return ts->buf;
}

/* The first certificate's subject, issuer and serial (Suricata's cert0
 * names), into the worker's room for this call. */
static void
detect_cert_names(struct detect_worker *dw, struct detect_call *c,
                  struct detect_bufs *bufs, const uint8_t *der, uint32_t len)
{
	static const uint8_t buf_of[3] = {
		IPS_BUF_TLS_SUBJECT, IPS_BUF_TLS_ISSUER, IPS_BUF_TLS_SERIAL,
	};
	struct x509_names nm;
	const struct x509_str *str[3] = { &nm.subject, &nm.issuer, &nm.serial };

	if (x509_names(der, len, dw->tls_room, sizeof(dw->tls_room),
	               &nm) < 0) {
		c->s->ws->detect_tls_cert_unparsed++;
		return;
	}
	if (nm.truncated)
		c->faults |= DETECT_FAULT_INSPECT_LIMIT;
	for (int i = 0; i < 3; i++) {
		bufs->ptr[buf_of[i]] = str[i]->p;
		bufs->len[buf_of[i]] = str[i]->len;
	}
}

/* Start a call on the message held in tls's slot (der: its bytes, NULL
 * when no slot was lent): 0 with c ready, -1 when there is nothing to
 * evaluate (faults reported). */
static int
detect_tls_call(struct detect_worker *dw, struct detect_tls *tls,
                const uint8_t *der, int truncated, struct detect_call *c)
{
	uint64_t *truncated_count;
	struct detect_tls_slot *ts = tls->slot;
	struct detect_set *s;

	if (ts == NULL || der == NULL) {
		/* no slot: refused or evicted (a fault), or no rule then */
		detect_fault(c, tls->fault);
		return -1;
	}
	s = ts->dt.set;
	c->s = s;
	c->dt = &ts->dt;
	hold_progress(&s->tls_hold, &ts->hold, ++dw->tick);
	truncated_count = c->to_client ? &s->ws->detect_tls_cert_truncated
	                               : &s->ws->detect_tls_hello_truncated;
	if (truncated) {
		/* what lies past the prefix is unseen: undecided */
		(*truncated_count)++;
		c->faults |= DETECT_FAULT_INSPECT_LIMIT;
	}
	if (ts->dt.passed) {
		detect_fault(c, c->faults);
		return -1;
	}
	return 0;
}

int
detect_tls_cert(struct detect_worker *dw, struct detect_tls *tls,
                const uint8_t *der, uint32_t len, int truncated,
                const struct detect_tuple *t, struct detect_result *res)
{
	struct detect_bufs bufs;
	struct detect_call c = { NULL, NULL, &bufs, t, res, DETECT_NONE, NULL,
	                         0, 0, 1 };

	if (detect_tls_call(dw, tls, der, truncated, &c) < 0)
		return DETECT_NONE;
	c.s->ws->detect_tls_certs++;
	memset(&bufs, 0, sizeof(bufs));
	bufs.ptr[IPS_BUF_TLS_CERTS] = der;
	bufs.len[IPS_BUF_TLS_CERTS] = len;
	if (tls->slot->n_certs++ == 0)
		detect_cert_names(dw, &c, &bufs, der, len);
	detect_scan_buffers(&c, IPS_BUF_CERT_MASK);
	detect_evaluate(&c, DETECT_AT_CERT);
	return c.verdict;
}

/* The ClientHello's JA3 string and its MD5, into the worker's room for
 * this call (Suricata computes them only for rules that read them). */
static void
detect_hello_ja3(struct detect_worker *dw, struct detect_call *c,
                 struct detect_bufs *bufs, const struct tls_hello *h)
{
	struct bounded_out o = { dw->tls_room, 0, sizeof(dw->tls_room), false };

	tls_hello_ja3(h, &o);
	if (o.full) {
		c->faults |= DETECT_FAULT_INSPECT_LIMIT;
		return;
	}
	md5_hex(o.p, o.len, dw->ja3_hex);
	bufs->ptr[IPS_BUF_JA3_STRING] = o.p;
	bufs->len[IPS_BUF_JA3_STRING] = o.len;
	bufs->ptr[IPS_BUF_JA3_HASH] = (const uint8_t *)dw->ja3_hex;
	bufs->len[IPS_BUF_JA3_HASH] = sizeof(dw->ja3_hex);
}

int
detect_tls_hello(struct detect_worker *dw, struct detect_tls *tls,
                 const uint8_t *body, uint32_t len, int truncated,
                 const struct detect_tuple *t, struct detect_result *res)
{
	struct detect_bufs bufs;
	struct detect_call c = { NULL, NULL, &bufs, t, res, DETECT_NONE, NULL,
	                         0, 0, 0 };
	struct tls_hello h;
	uint8_t version[2];

	if (detect_tls_call(dw, tls, body, truncated, &c) < 0)
		return DETECT_NONE;
	c.s->ws->detect_tls_hellos++;
	memset(&bufs, 0, sizeof(bufs));
	if (tls_hello_parse(body, len, &h) < 0) {
		/* a client would not send it, a server would refuse it;
		 * Suricata keeps what it read before the fault, which its
		 * parser's quirks decide: nothing is read here */
		c.s->ws->detect_tls_hello_malformed++;
	} else {
		if (h.sni != NULL) {
			/* Suricata keeps the name as a C string (strlen) */
			const uint8_t *nul = memchr(h.sni, 0, h.sni_len);

			bufs.ptr[IPS_BUF_TLS_SNI] = h.sni;
			bufs.len[IPS_BUF_TLS_SNI] = nul != NULL
			                            ? (uint32_t)(nul - h.sni)
			                            : h.sni_len;
		}
		version[0] = (uint8_t)(h.client_version >> 8);
		version[1] = (uint8_t)h.client_version;
		bufs.ptr[IPS_BUF_TLS_VERSION] = version;
		bufs.len[IPS_BUF_TLS_VERSION] = sizeof(version);
		if (c.s->has_ja3)
			detect_hello_ja3(dw, &c, &bufs, &h);
	}
	detect_scan_buffers(&c, IPS_BUF_HELLO_MASK);
	detect_evaluate(&c, DETECT_AT_HELLO);
	return c.verdict;
}

void
detect_tls_end(struct detect_worker *dw, struct detect_tls *tls)
{
	struct detect_tls_slot *ts = tls->slot;

	if (ts != NULL) {
		struct detect_set *s = ts->dt.set;

		hold_release(&s->tls_hold, &ts->hold);
		detect_txn_abort(dw, &ts->dt);
		ts->tls = NULL;
		s->tls_free[s->n_tls_free++] = ts;
	}
	tls->slot = NULL;
}

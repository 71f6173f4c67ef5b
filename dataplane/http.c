/*
 * http.c - HTTP/1.x request parser: framing, header buffers, anomaly policy.
 *
 * Owns the per-flow state machine (struct http_flow), the worker's pool of
 * transactions and the construction of the header-side buffers handed to
 * detect_headers().  See http.h for the contract.
 *
 * Shape (nginx habits): one resumable state per flow, one switch, resumed
 * at the saved byte.  The request head is copied into the transaction as it
 * arrives (memchr to the next LF, then the whole line is checked at once:
 * a line is complete in the buffer, so per-line checks need no state of
 * their own).  When the empty line arrives the buffers are built: windows
 * into the copy where the bytes are usable as they are, normalized copies
 * in the transaction's second area where not.  The body is never copied:
 * Content-Length and de-chunked pieces go straight to detect_body().
 *
 * Every ambiguity servers resolve differently (RFC 9112 §6.3, §7.1, §5.2)
 * is counted once per request and, with drop_ambiguous, drops the flow:
 * an inline device that guesses differently from the server behind it
 * inspects a request the server never sees.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "bounded.h"
#include "config.h"
#include "http.h"
#include "http_uri.h"

#define HTTP_FLOW_BYPASS      0x0001  /* not HTTP, bypass policy chosen */
#define HTTP_FLOW_POLICY_DROP 0x0002  /* dropped by an HTTP policy */
#define HTTP_FLOW_RULE_DROP   0x0004  /* a drop/reject rule fired */
#define HTTP_FLOW_TUNNEL      0x0008  /* the server said it switched
                                       * protocols: parse on while the
                                       * bytes are HTTP, end quietly at
                                       * the first that is not */

#define HTTP_FLOW_DEAD \
	(HTTP_FLOW_BYPASS | HTTP_FLOW_POLICY_DROP | HTTP_FLOW_RULE_DROP)

/* A method longer than this is not one: fail fast on binary junk. */
#define HTTP_METHOD_MAX 24
/* Smallest max_header_bytes accepted: a request line must fit. */
#define HTTP_MIN_HEADER_BYTES 64
/* Upper bound so pool sizing cannot overflow (16 MiB per request head). */
#define HTTP_MAX_HEADER_BYTES (1u << 24)
/* One pooled transaction, its small arena included: a typical request
 * head (a few hundred bytes) and its few normalized copies fit, so most
 * requests never touch the large arenas. */
#define HTTP_TXN_BYTES 4096u
/* Chunk sizes are kept below INT64_MAX: servers storing them in off_t
 * would read a larger value as negative. */
#define HTTP_LEN_MAX ((uint64_t)INT64_MAX)

/* 64 bytes of parser and framing state, 16 for the response inspected */
_Static_assert(sizeof(struct http_flow) <= 80,
               "http_flow is embedded in every flow: keep it small");

enum http_state {
	HTTP_ST_START = 0,      /* between requests: skip empty lines */
	HTTP_ST_METHOD,
	HTTP_ST_HEAD,           /* rest of the request line, header lines */
	HTTP_ST_BODY_CL,
	HTTP_ST_BODY_CLOSE,     /* unknown length: body until the flow ends */
	HTTP_ST_CHUNK_SIZE0,    /* first hex digit of a chunk size */
	HTTP_ST_CHUNK_SIZE,
	HTTP_ST_CHUNK_BWS,      /* blanks after the size */
	HTTP_ST_CHUNK_EXT,
	HTTP_ST_CHUNK_SIZE_LF,
	HTTP_ST_CHUNK_DATA,
	HTTP_ST_CHUNK_DATA_CR,
	HTTP_ST_CHUNK_DATA_LF,
	HTTP_ST_TRAILER,        /* start of a trailer line */
	HTTP_ST_TRAILER_LINE,
	HTTP_ST_TRAILER_LINE_LF,
	HTTP_ST_TRAILER_END_LF,
};

/* Each is counted at most once per request (bit in txn->anomalies). */
enum http_anom {
	HTTP_ANOM_CL_TE = 0,
	HTTP_ANOM_DUP_CL,
	HTTP_ANOM_BAD_CL,
	HTTP_ANOM_BAD_TE,
	HTTP_ANOM_BAD_CHUNK,
	HTTP_ANOM_BARE_LF,
	HTTP_ANOM_OBS_FOLD,
	HTTP_ANOM_BAD_HEADER,
	HTTP_ANOM_DUP_HOST,
	HTTP_ANOM_REQUEST_LINE,     /* servers split the request line apart */
};

enum http_hdr_kind {
	HTTP_HDR_OTHER = 0,
	HTTP_HDR_CL,
	HTTP_HDR_TE,
	HTTP_HDR_HOST,
	HTTP_HDR_UPGRADE,
	HTTP_HDR_CE,
};

/*
 * An in-progress request.  It lives in a slot of HTTP_TXN_BYTES whose
 * bytes after the struct are its small arena; a head that outgrows it
 * moves into a large arena from the worker's pool (http_txn_grow).  In
 * either arena the head as received comes first and the normalized copies
 * follow it; buffers that normalization leaves unchanged are windows into
 * the head, not copies (http_buf_settle).
 */
struct http_txn {
	struct detect_txn dt;
	struct detect_bufs bufs;    /* valid until the txn returns to the pool */
	struct http_txn *next_free;
	struct http_flow *hf;       /* the flow holding it */
	struct hold_node hold;      /* its place in the pool (hold.h) */
	uint8_t head_done;          /* the head completed: a body follows */
	uint8_t line_inspected;     /* http_line_inspect ran (or tried) */
	uint8_t *raw;               /* the arena in use: request head as
	                             * received, then normalized copies */
	uint32_t arena_cap;         /* bytes of that arena */
	uint32_t raw_len;
	uint32_t line_start;        /* offset of the line being received */
	uint32_t method_len;
	uint32_t uri_off, uri_len;
	uint32_t proto_off, proto_len;
	uint32_t line_len;          /* request line without its terminator */
	uint32_t head_start;        /* offset of the first header line */
	uint32_t anomalies;         /* 1 << enum http_anom already counted */
	uint64_t cl;                /* first Content-Length value */
	uint16_t n_cl;
	uint16_t n_host;
	uint8_t te_seen;
	uint8_t te_chunked;         /* "chunked" codings seen, saturating */
	uint8_t te_last_chunked;    /* the last coding seen is chunked */
	uint8_t last_kind;          /* enum http_hdr_kind, for obs-fold */
	uint8_t resp_kind;          /* HTTP_RESP_REQ_*: HEAD, CONNECT, Upgrade */
	uint8_t detect_live;        /* detect_txn_begin'd, not ended */
	uint8_t coding;             /* Content-Encoding: HTTP_RESP_CODING_* */
	uint8_t dec_taken;          /* dec was had (NULL since: evicted) */
	uint8_t body_over;          /* decoded body ended or at its limit */
	uint8_t decode_fault;       /* the body could not be decoded */
	uint32_t body_decoded;      /* decoded bytes inspected */
	struct http_decoder *dec;   /* a coded body's, from its first byte */
};

struct http_worker {
	struct http_conf conf;
	struct detect_worker *dw;
	struct worker_stats *ws;
	uint8_t *txn_slots;         /* max_txns slots of HTTP_TXN_BYTES */
	struct http_txn *free_list; /* returned slots */
	uint32_t slots_fresh;       /* slots [slots_fresh, max_txns) never
	                             * taken: untouched, so their pages cost
	                             * nothing until the load needs them */
	uint32_t in_use;
	uint8_t *arenas;            /* max_header_arenas large arenas */
	uint8_t **arena_free;       /* stack of the free ones */
	uint32_t arenas_free;
	uint32_t arena_bytes;       /* one large arena */
	uint64_t now;               /* http_set_clock */
	uint64_t header_timeout_tsc;
	uint64_t body_timeout_tsc;
	uint32_t src_seed;          /* hold.h source buckets */
	struct hold_pool hold;      /* transactions in use, stalled first */
	struct http_responses *responses;
	struct http_decoders *decoders;
};

_Static_assert(sizeof(struct http_txn) <= HTTP_TXN_BYTES / 2,
               "the small arena must keep most of a transaction's slot");

/* One call of http_request_data. */
struct http_call {
	struct http_worker *hw;
	struct http_flow *hf;
	const struct detect_tuple *t;
	struct detect_result *res;
	int rc;                     /* enum http_result */
	bool stop;                  /* the rest of this call is ignored */
};

/* One header line of the stored head, split. */
struct http_hdr {
	const uint8_t *name;
	uint32_t name_len;          /* trailing blanks excluded */
	const uint8_t *value;
	uint32_t value_len;         /* surrounding blanks excluded */
	const uint8_t *line;
	uint32_t line_len;          /* without the terminator */
	bool fold;                  /* starts with a blank: obs-fold */
	bool colon;
	bool name_blank;            /* blanks before the colon */
};

/* ---- byte classes --------------------------------------------------- */

/* tchar of RFC 9110 §5.6.2: what a method or header name may hold. */
static const uint8_t http_tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

static bool
http_is_tchar(uint8_t c)
{
	return http_tchar[c] != 0;
}

static bool
http_is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Inlined so that strlen(b) of a literal folds to a constant: it is
 * called for every header name against each name the parser knows. */
static inline __attribute__((always_inline)) bool
http_ieq(const uint8_t *a, uint32_t alen, const char *b)
{
	uint32_t blen = (uint32_t)strlen(b);

	if (alen != blen)
		return false;
	for (uint32_t i = 0; i < alen; i++) {
		uint8_t c = a[i];
		if (c >= 'A' && c <= 'Z')
			c |= 0x20;
		if (c != (uint8_t)b[i])
			return false;
	}
	return true;
}

static void
http_trim(const uint8_t **p, uint32_t *len)
{
	while (*len > 0 && http_is_blank((*p)[0])) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && http_is_blank((*p)[*len - 1]))
		(*len)--;
}

/* ---- pools: transactions and large header arenas ----------------------- */

void
http_conf_init(struct http_conf *hc, const struct ips_config *c)
{
	memset(hc, 0, sizeof(*hc));
	hc->max_txns = c->limits.http_transactions;
	hc->max_header_bytes = c->limits.http_header_bytes;
	hc->max_header_arenas = c->limits.http_header_arenas;
	hc->drop_ambiguous = c->policy.http_ambiguous == POLICY_DROP;
	hc->drop_malformed = c->policy.http_malformed == POLICY_DROP;
	hc->bypass_txn_full = c->policy.http_txn_full == POLICY_BYPASS;
	hc->source_share_pct = c->limits.source_share;
	hc->header_timeout_s = c->limits.http_header_timeout;
	hc->body_timeout_s = c->limits.http_body_timeout;
	hc->max_responses = c->limits.http_responses;
	hc->max_decoders = c->limits.http_decoders;
	hc->body_limit = c->limits.http_body_limit;
}

static struct http_txn *
http_txn_slot(const struct http_worker *hw, uint32_t i)
{
	return (struct http_txn *)(void *)(hw->txn_slots +
	                                   (size_t)HTTP_TXN_BYTES * i);
}

/* The small arena: the rest of the transaction's slot. */
static uint8_t *
http_txn_small(struct http_txn *txn)
{
	return (uint8_t *)(txn + 1);
}

static uint32_t
http_txn_small_cap(void)
{
	return HTTP_TXN_BYTES - (uint32_t)sizeof(struct http_txn);
}

static bool
http_txn_is_large(struct http_txn *txn)
{
	return txn->raw != http_txn_small(txn);
}

/*
 * A large arena holds a head of max_header_bytes and its normalized
 * copies: the URI (<= its raw length + 1), the header lines (each grows
 * by at most ": " + CR), the names and the joined/host copies; three more
 * heads cover any real request, and anything larger fails closed as
 * header_too_long.  The copies start right after the head, so a shorter
 * head leaves them more room.
 */
static size_t
http_arena_bytes(uint32_t max_header_bytes)
{
	return 4 * (size_t)max_header_bytes + 16;
}

static int
http_pools_create(struct http_worker *hw)
{
	const struct http_conf *conf = &hw->conf;

	/* calloc checks the products; untouched pages cost nothing yet */
	hw->txn_slots = calloc(conf->max_txns, HTTP_TXN_BYTES);
	hw->arenas = calloc(conf->max_header_arenas, hw->arena_bytes);
	hw->arena_free = calloc(conf->max_header_arenas, sizeof(uint8_t *));
	if (hw->txn_slots == NULL || hw->arenas == NULL ||
	    hw->arena_free == NULL)
		return -1;
	for (uint32_t i = 0; i < conf->max_header_arenas; i++)
		hw->arena_free[i] = hw->arenas + (size_t)hw->arena_bytes * i;
	hw->arenas_free = conf->max_header_arenas;
	return 0;
}

struct http_worker *
http_worker_create(const struct http_conf *conf, struct detect_worker *dw,
                   struct worker_stats *ws)
{
	struct http_worker *hw;

	if (conf == NULL || ws == NULL || conf->max_txns == 0 ||
	    conf->max_header_arenas == 0 ||
	    conf->max_header_bytes < HTTP_MIN_HEADER_BYTES ||
	    conf->max_header_bytes > HTTP_MAX_HEADER_BYTES)
		return NULL;
	hw = calloc(1, sizeof(*hw));
	if (hw == NULL)
		return NULL;
	hw->conf = *conf;
	hw->dw = dw;
	hw->ws = ws;
	hw->header_timeout_tsc = (uint64_t)conf->header_timeout_s * conf->tsc_hz;
	hw->body_timeout_tsc = (uint64_t)conf->body_timeout_s * conf->tsc_hz;
	hold_pool_init(&hw->hold, conf->max_txns, conf->source_share_pct);
	hw->src_seed = hold_seed(hw);
	hw->arena_bytes = (uint32_t)http_arena_bytes(conf->max_header_bytes);
	hw->decoders = http_decoders_create(conf->max_decoders,
	                                    conf->source_share_pct, ws);
	if (hw->decoders == NULL) {
		http_worker_free(hw);
		return NULL;
	}
	if (conf->max_responses != 0) {
		hw->responses = http_responses_create(conf->max_responses,
		                                      conf->body_limit,
		                                      conf->source_share_pct,
		                                      hw->decoders, dw, ws);
		if (hw->responses == NULL) {
			http_worker_free(hw);
			return NULL;
		}
	}
	if (http_pools_create(hw) < 0) {
		http_worker_free(hw);
		return NULL;
	}
	return hw;
}

void
http_worker_free(struct http_worker *hw)
{
	if (hw == NULL)
		return;
	http_responses_free(hw->responses);
	http_decoders_free(hw->decoders);
	free(hw->arena_free);
	free(hw->arenas);
	free(hw->txn_slots);
	free(hw);
}

uint32_t
http_txns_in_use(const struct http_worker *hw)
{
	return hw->in_use;
}

uint32_t
http_decoders_in_use_of(const struct http_worker *hw)
{
	return http_decoders_in_use(hw->decoders);
}

uint32_t
http_response_txns_in_use(const struct http_worker *hw)
{
	return hw->responses != NULL ? http_responses_in_use(hw->responses)
	                             : 0;
}

uint32_t
http_header_arenas_in_use(const struct http_worker *hw)
{
	return hw->conf.max_header_arenas - hw->arenas_free;
}

size_t
http_txn_bytes(const struct http_worker *hw)
{
	(void)hw;
	return HTTP_TXN_BYTES;
}

size_t
http_header_arena_bytes(const struct http_worker *hw)
{
	return hw->arena_bytes;
}

/* A transaction slot from the pool, or NULL when none is free. */
static struct http_txn *
http_slot_get(struct http_worker *hw)
{
	struct http_txn *txn = hw->free_list;

	if (txn != NULL) {
		hw->free_list = txn->next_free;
		return txn;
	}
	if (hw->slots_fresh == hw->conf.max_txns)
		return NULL;
	return http_txn_slot(hw, hw->slots_fresh++);
}

static void
http_slot_put(struct http_worker *hw, struct http_txn *txn)
{
	txn->next_free = hw->free_list;
	hw->free_list = txn;
}

/* A large arena from the pool, or NULL when none is free. */
static uint8_t *
http_arena_get(struct http_worker *hw)
{
	if (hw->arenas_free == 0)
		return NULL;
	return hw->arena_free[--hw->arenas_free];
}

static void
http_arena_put(struct http_worker *hw, uint8_t *arena)
{
	hw->arena_free[hw->arenas_free++] = arena;
}

/* Return hf's transaction (and its large arena) to the pools; abort its
 * detection if live. */
static void
http_txn_put(struct http_worker *hw, struct http_flow *hf)
{
	struct http_txn *txn = hf->txn;

	if (txn == NULL)
		return;
	if (txn->detect_live)
		detect_txn_abort(hw->dw, &txn->dt);
	txn->detect_live = 0;
	http_decoder_put(hw->decoders, &txn->dec);
	hold_release(&hw->hold, &txn->hold);
	txn->hf = NULL;
	if (http_txn_is_large(txn))
		http_arena_put(hw, txn->raw);
	http_slot_put(hw, txn);
	hw->in_use--;
	hf->txn = NULL;
}

void
http_set_clock(struct http_worker *hw, uint64_t now_tsc)
{
	hw->now = now_tsc;
}

/* txn's flow gives up its transaction and its connection: its owner is
 * reported for the caller to end the flow (the caller checked room in
 * res).  What is left of the flow is dropped if it speaks again. */
static void
http_evict(struct http_worker *hw, struct http_txn *txn,
           struct detect_result *res, const char *event)
{
	struct http_flow *hf = txn->hf;

	detect_report_evicted(res, hf->owner, "http", event);
	http_txn_put(hw, hf);
	hf->flags |= HTTP_FLOW_POLICY_DROP;
}

void
http_expire(struct http_worker *hw, uint64_t now, struct detect_result *res)
{
	struct hold_node *n;

	while (res->n_evicted < DETECT_EVICT_MAX &&
	       (n = hold_oldest(&hw->hold)) != NULL) {
		struct http_txn *txn = hold_entry(n, struct http_txn, hold);
		uint64_t limit = txn->head_done ? hw->body_timeout_tsc
		                                : hw->header_timeout_tsc;

		/* The oldest first: one not due yet ends the pass, though a
		 * later one may be due under the other, shorter timeout (it
		 * waits at most the difference). */
		if (limit == 0 || now - n->progress_tsc < limit)
			return;
		if (txn->head_done)
			hw->ws->http_body_timeout++;
		else
			hw->ws->http_header_timeout++;
		http_evict(hw, txn, res, txn->head_done ? "body_timeout"
		                                         : "header_timeout");
	}
}

void
http_flow_release(struct http_worker *hw, struct http_flow *hf)
{
	http_txn_put(hw, hf);
	http_response_abort(hw->responses, &hf->rf);
	memset(hf, 0, sizeof(*hf));
}

/* ---- stopping: policy, bypass, rule verdicts ------------------------- */

static void
http_stop(struct http_call *c, uint16_t flag)
{
	http_txn_put(c->hw, c->hf);
	c->hf->flags |= flag;
	c->stop = true;
}

/* Fail closed: count why and tell the caller to drop the flow. */
static void
http_policy_drop(struct http_call *c, uint64_t *counter)
{
	(*counter)++;
	c->rc = HTTP_DROP_POLICY;
	http_stop(c, HTTP_FLOW_POLICY_DROP);
}

/* Not HTTP after all: drop by policy (the default), or stop HTTP
 * inspection of this flow, counted and reported, when the operator chose
 * bypass.  Raw-stream rules keep seeing the flow either way. */
static void
http_malformed(struct http_call *c)
{
	if (c->hf->flags & HTTP_FLOW_TUNNEL) {
		/* The tunnelled protocol: expected, counted when the tunnel
		 * opened. */
		http_stop(c, HTTP_FLOW_BYPASS);
		return;
	}
	c->hw->ws->http_anomaly_bad_request++;
	if (c->hw->conf.drop_malformed) {
		http_policy_drop(c, &c->hw->ws->drop_http_malformed);
		return;
	}
	c->hw->ws->http_bypass_malformed++;
	c->rc = HTTP_BYPASS;
	http_stop(c, HTTP_FLOW_BYPASS);
}

static uint64_t *
http_anom_counter(struct worker_stats *ws, enum http_anom a)
{
	switch (a) {
	case HTTP_ANOM_CL_TE:      return &ws->http_anomaly_cl_te;
	case HTTP_ANOM_DUP_CL:     return &ws->http_anomaly_dup_cl;
	case HTTP_ANOM_BAD_CL:     return &ws->http_anomaly_bad_cl;
	case HTTP_ANOM_BAD_TE:     return &ws->http_anomaly_bad_te;
	case HTTP_ANOM_BAD_CHUNK:  return &ws->http_anomaly_bad_chunk;
	case HTTP_ANOM_BARE_LF:    return &ws->http_anomaly_bare_lf;
	case HTTP_ANOM_OBS_FOLD:   return &ws->http_anomaly_obs_fold;
	case HTTP_ANOM_BAD_HEADER: return &ws->http_anomaly_bad_header;
	case HTTP_ANOM_DUP_HOST:   return &ws->http_anomaly_dup_host;
	case HTTP_ANOM_REQUEST_LINE: return &ws->http_anomaly_request_line;
	}
	return &ws->http_anomaly_bad_header;
}

/* Count an oddity of the current request, once per request. */
static void
http_note(struct http_call *c, enum http_anom a)
{
	struct http_txn *txn = c->hf->txn;

	if ((txn->anomalies & (1u << a)) == 0) {
		txn->anomalies |= 1u << a;
		(*http_anom_counter(c->hw->ws, a))++;
	}
}

/*
 * Record an ambiguity of the current request.  Returns true when the
 * policy stopped the flow (caller must return at once).
 */
static bool
http_anomaly(struct http_call *c, enum http_anom a)
{
	http_note(c, a);
	if (!c->hw->conf.drop_ambiguous)
		return false;
	http_policy_drop(c, &c->hw->ws->drop_http_ambiguous);
	return true;
}

/* Fold a detect_* return into res; a drop/reject ends parsing: the
 * verdict stage drops the flow, nothing later can change that. */
static void
http_verdict(struct http_call *c, int v)
{
	if (v > c->res->verdict)
		c->res->verdict = (uint8_t)v;
	if (v >= DETECT_DROP)
		http_stop(c, HTTP_FLOW_RULE_DROP);
}

/* ---- transaction life ------------------------------------------------ */

/* Make room in a full pool (or past the client source's share): the
 * transaction stalled longest (of that source, past its share) gives up
 * its place, while res has room to report it. */
static void
http_txn_make_room(struct http_call *c, uint16_t src)
{
	struct http_worker *hw = c->hw;
	struct hold_node *n = hold_victim(&hw->hold, src);
	int share;

	if (n == NULL || c->res->n_evicted >= DETECT_EVICT_MAX)
		return;
	share = hold_src_count(&hw->hold, src) >= hw->hold.share_max;
	if (share)
		hw->ws->http_txn_share_evicted++;
	else
		hw->ws->http_txn_evicted++;
	http_evict(hw, hold_entry(n, struct http_txn, hold), c->res,
	           share ? "txn_share_evicted" : "txn_evicted");
}

/* A pool is empty: policy.http_txn_full decides, counted either way
 * (drop_counter or bypass_counter). */
static void
http_pool_empty(struct http_call *c, uint64_t *drop_counter,
                uint64_t *bypass_counter)
{
	if (!c->hw->conf.bypass_txn_full) {
		http_policy_drop(c, drop_counter);
		return;
	}
	(*bypass_counter)++;
	c->rc = HTTP_BYPASS_POOL;
	http_stop(c, HTTP_FLOW_BYPASS);
}

static bool
http_txn_get(struct http_call *c)
{
	struct http_worker *hw = c->hw;
	uint16_t src = hold_src_bucket(c->t->src, c->t->ip_version,
	                               hw->src_seed);
	struct http_txn *txn;

	http_txn_make_room(c, src);
	txn = hold_src_count(&hw->hold, src) < hw->hold.share_max
	      ? http_slot_get(hw) : NULL;
	if (txn == NULL) {
		http_pool_empty(c, &hw->ws->drop_http_txn_pool_full,
		                &hw->ws->http_bypass_txn_pool_full);
		return false;
	}
	hw->in_use++;
	txn->hf = c->hf;
	txn->head_done = 0;
	hold_take(&hw->hold, &txn->hold, src, hw->now);
	memset(&txn->bufs, 0, sizeof(txn->bufs));
	txn->raw = http_txn_small(txn);
	txn->arena_cap = http_txn_small_cap();
	txn->raw_len = 0;
	txn->line_start = 0;
	txn->method_len = 0;
	txn->uri_off = txn->uri_len = 0;
	txn->proto_off = txn->proto_len = 0;
	txn->line_len = txn->head_start = 0;
	txn->line_inspected = 0;
	txn->anomalies = 0;
	txn->cl = 0;
	txn->n_cl = txn->n_host = 0;
	txn->te_seen = txn->te_chunked = txn->te_last_chunked = 0;
	txn->last_kind = HTTP_HDR_OTHER;
	txn->resp_kind = 0;
	txn->coding = HTTP_RESP_CODING_NONE;
	txn->dec_taken = txn->body_over = txn->decode_fault = 0;
	txn->body_decoded = 0;
	c->hf->txn = txn;
	detect_txn_begin(hw->dw, &txn->dt);
	txn->dt.owner = c->hf->owner;
	txn->detect_live = 1;
	hw->ws->http_requests++;
	return true;
}

/*
 * The head outgrew the small arena: move it into a large one.  Returns
 * false when the pool is empty (counted; the policy stopped the flow).
 */
static bool
http_txn_grow(struct http_call *c)
{
	struct http_txn *txn = c->hf->txn;
	uint8_t *arena = http_arena_get(c->hw);

	if (arena == NULL) {
		http_pool_empty(c, &c->hw->ws->drop_http_header_arena_full,
		                &c->hw->ws->http_bypass_header_arena_full);
		return false;
	}
	memcpy(arena, txn->raw, txn->raw_len);
	txn->raw = arena;
	txn->arena_cap = c->hw->arena_bytes;
	return true;
}

/* The request ended: its body is complete, or cut short by the client's
 * FIN (the server gets no more of it). */
static void
http_request_end(struct http_call *c)
{
	struct http_flow *hf = c->hf;
	struct http_txn *txn = hf->txn;
	int v;

	v = DETECT_NONE;
	/* a body not wholly seen decides nothing at its end: the abort is
	 * http_txn_put's */
	if (!txn->decode_fault) {
		BENCH_ENTER(BENCH_DETECT);
		v = detect_txn_end(c->hw->dw, &txn->dt, &txn->bufs, c->t,
		                   c->res);
		BENCH_LEAVE();
		txn->detect_live = 0;
	}
	http_txn_put(c->hw, hf);
	hf->state = HTTP_ST_START;
	hf->body_left = 0;
	if (hf->n_requests < UINT16_MAX)
		hf->n_requests++;
	http_verdict(c, v);
}

static void
http_request_done(struct http_call *c)
{
	c->hw->ws->http_requests_complete++;
	http_request_end(c);
}

static void
http_body_scan(struct http_call *c, const uint8_t *p, uint32_t n)
{
	struct http_txn *txn = c->hf->txn;
	int v;

	BENCH_ENTER(BENCH_DETECT);
	v = detect_body(c->hw->dw, &txn->dt, p, n, &txn->bufs, c->t, c->res);
	BENCH_LEAVE();
	http_verdict(c, v);
}

/* A decoded piece of a coded body, up to the body limit (Suricata's
 * request-body-limit).  Returns 1 to stop decoding: the limit reached, or
 * a drop that ended the transaction (and gave its decoder back) here. */
static int
http_body_decoded(void *arg, const uint8_t *p, uint32_t n)
{
	struct http_call *c = arg;
	struct http_txn *txn = c->hf->txn;
	uint32_t room = c->hw->conf.body_limit - txn->body_decoded;

	if (n > room) {
		n = room;
		txn->body_over = 1;
		c->hw->ws->http_body_limit_reached++;
	}
	txn->body_decoded += n;
	if (n > 0)
		http_body_scan(c, p, n);
	return c->stop || txn->body_over;
}

/* A gzip or deflate body is inspected decoded, as Suricata 7.0.16 does
 * (libhtp's request decompression; http_inflate.h: what is not coded is
 * inspected as it is).  Without a decoder, with codings stacked, or
 * bytes that stop decoding, the body cannot be inspected: a fault for
 * policy.detect_error, and its end decides nothing. */
static void
http_body_inflate(struct http_call *c, const uint8_t *p, uint32_t n)
{
	struct http_txn *txn = c->hf->txn;
	int rc = -1;

	if (!txn->dec_taken && txn->coding != HTTP_RESP_CODING_STACKED) {
		txn->dec_taken = 1;
		http_decoder_take(c->hw->decoders, &txn->dec, txn->coding,
		                  c->hf->owner, c->t, c->res);
	}
	if (txn->coding == HTTP_RESP_CODING_STACKED && !txn->decode_fault)
		c->hw->ws->http_coding_stacked++;
	if (txn->dec != NULL && !txn->decode_fault)
		rc = http_decoder_data(c->hw->decoders, txn->dec, p, n,
		                       http_body_decoded, c);
	if (c->stop)
		return;         /* the transaction is gone */
	if (rc > 0)
		txn->body_over = 1;
	if (rc < 0) {
		txn->decode_fault = 1;
		c->res->faults |= DETECT_FAULT_DECODE;
	}
}

static void
http_body(struct http_call *c, const uint8_t *p, uint32_t n)
{
	struct http_txn *txn = c->hf->txn;

	c->hw->ws->http_body_bytes += n;
	if (n != 0)
		hold_progress(&c->hw->hold, &txn->hold, c->hw->now);
	if (n == 0 || !detect_wants_body(c->hw->dw) || txn->body_over)
		return;
	if (txn->coding == HTTP_RESP_CODING_NONE ||
	    txn->coding == HTTP_RESP_CODING_OTHER)
		http_body_scan(c, p, n);
	else
		http_body_inflate(c, p, n);
}

/* ---- request head: lines ---------------------------------------------- */

/*
 * The request line as the servers behind the gateway read it.  What each
 * one acts on (Debian 12 versions; source file and function):
 *
 *  - nginx 1.22 (src/http/ngx_http_parse.c, ngx_http_parse_request_line):
 *    method of 'A'-'Z', '_', '-' ended by one SP; SP runs between parts;
 *    no version before CR/LF is HTTP/0.9 ("GET /p\r\n" is served);
 *    trailing SPs after the version are accepted; "HTTP/" major.minor
 *    with up to 3 digits each; absolute-form targets (host taken from the
 *    authority).  Since 1.21.1 a SP or CTL inside the target is a 400;
 *    before it (sw_http_09 -> sw_check_uri with r->space_in_uri) the
 *    target ran on to the " HTTP/" that ends the line, spaces kept.
 *  - Python 3.11 http.server (Lib/http/server.py, parse_request): the
 *    line, decoded as ISO-8859-1 and right-stripped of CR LF, is split by
 *    str.split(): every whitespace byte separates (SP, HTAB, VT, FF, CR,
 *    0x1c-0x1f, and in Latin-1 also 0x85 and 0xa0); 3 words are
 *    method target version ("HTTP/" 1*10DIGIT "." 1*10DIGIT), 2 words
 *    are HTTP/0.9; any method token is dispatched (do_<method>), lower
 *    case included; CTLs are kept in the target.
 *  - Go net/http (src/net/http/request.go, parseRequestLine and
 *    validMethod; ParseHTTPVersion): split at single SPs; the method is
 *    any token, case kept; versions up to 7 digits.
 *  - Apache httpd 2.4 (server/protocol.c, ap_parse_request_line): the
 *    target ends at the first whitespace; HTTP/0.9 without a version.
 *  - Node.js (llhttp): known upper-case methods, single SPs; the
 *    strictest, so never the one to match.
 *
 * The union is what detection must see: separators are SP and every byte
 * Python splits on below 0x80; the version is the last token when it is
 * "HTTP/" digits "." digits (up to 10 each, Python's bound); the target
 * is everything between the method and the version, separators inside
 * kept (old nginx serves "/a b"; for servers that cut at the first blank
 * the target they act on is a prefix of ours).  Without a version the
 * request is HTTP/0.9 and the target runs to the end of the line.  Only
 * NEL and NBSP (0x85, 0xa0) cannot be folded into one reading: to nginx
 * they are part of a UTF-8 target, to Python they split it.  A line that
 * Python would read as carrying a version only thanks to one of them is
 * ambiguous.
 */
enum http_rl {
	HTTP_RL_OK = 0,             /* target and version */
	HTTP_RL_09,                 /* HTTP/0.9: target, no version, no head */
	HTTP_RL_BAD,                /* not a request line */
	HTTP_RL_AMBIGUOUS,          /* servers split it differently */
};

#define HTTP_VERSION_DIGITS_MAX 10

static bool
http_is_rl_sep(uint8_t c)
{
	return c == ' ' || c == '\t' || c == 0x0b || c == 0x0c || c == '\r' ||
	       (c >= 0x1c && c <= 0x1f);
}

/* Whitespace only to Python, which decodes the line as Latin-1. */
static bool
http_is_latin1_space(uint8_t c)
{
	return c == 0x85 || c == 0xa0;
}

/* "HTTP/" 1*10DIGIT "." 1*10DIGIT, nothing else. */
static bool
http_proto_ok(const uint8_t *p, uint32_t len)
{
	uint32_t i = 5, d;

	if (len < 8 || memcmp(p, "HTTP/", 5) != 0)
		return false;
	for (d = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++, d++)
		;
	if (d == 0 || d > HTTP_VERSION_DIGITS_MAX || i >= len || p[i] != '.')
		return false;
	for (i++, d = 0; i < len && p[i] >= '0' && p[i] <= '9'; i++, d++)
		;
	return d > 0 && d <= HTTP_VERSION_DIGITS_MAX && i == len;
}

/* A request-line separator; latin1_too adds what only Python splits on. */
static bool
http_is_rl_space(uint8_t c, bool latin1_too)
{
	return http_is_rl_sep(c) || (latin1_too && http_is_latin1_space(c));
}

/* End of r[from, end) without its trailing separators. */
static uint32_t
http_trim_seps(const uint8_t *r, uint32_t from, uint32_t end,
               bool latin1_too)
{
	while (end > from && http_is_rl_space(r[end - 1], latin1_too))
		end--;
	return end;
}

/* Start of the last token of r[from, end), or from. */
static uint32_t
http_last_token(const uint8_t *r, uint32_t from, uint32_t end,
                bool latin1_too)
{
	while (end > from && !http_is_rl_space(r[end - 1], latin1_too))
		end--;
	return end;
}

/* METHOD SEP+ target [SEP+ HTTP/x.y] SEP* (the method was checked as it
 * came and ended at a separator).  Fills the txn's offsets. */
static enum http_rl
http_request_line(struct http_txn *txn, uint32_t len)
{
	const uint8_t *r = txn->raw;
	uint32_t i = txn->method_len, end, tok, k;

	while (i < len && http_is_rl_sep(r[i]))
		i++;
	end = http_trim_seps(r, i, len, false);
	if (i == end)
		return HTTP_RL_BAD;         /* no target: every server says 400 */
	txn->uri_off = i;
	txn->line_len = len;
	if (txn->method_len == 4 && memcmp(r, "HEAD", 4) == 0)
		txn->resp_kind |= HTTP_RESP_REQ_HEAD;
	if (txn->method_len == 7 && memcmp(r, "CONNECT", 7) == 0)
		txn->resp_kind |= HTTP_RESP_REQ_CONNECT;
	tok = http_last_token(r, i, end, false);
	if (tok > i && http_proto_ok(r + tok, end - tok)) {
		txn->uri_len = http_trim_seps(r, i, tok, false) - i;
		txn->proto_off = tok;
		txn->proto_len = end - tok;
		return HTTP_RL_OK;
	}
	txn->uri_len = end - i;
	txn->proto_off = end;
	txn->proto_len = 0;
	k = http_trim_seps(r, i, end, true);
	tok = http_last_token(r, i, k, true);
	if (tok > i && (k < end || http_is_latin1_space(r[tok - 1])) &&
	    http_proto_ok(r + tok, k - tok))
		return HTTP_RL_AMBIGUOUS;
	return HTTP_RL_09;
}

/* Split one stored header line (without terminator) into h. */
static void
http_hdr_split(const uint8_t *line, uint32_t len, struct http_hdr *h)
{
	const uint8_t *colon = memchr(line, ':', len);

	h->line = line;
	h->line_len = len;
	h->fold = len > 0 && http_is_blank(line[0]);
	h->colon = colon != NULL;
	h->name = line;
	h->name_len = colon ? (uint32_t)(colon - line) : len;
	h->value = colon ? colon + 1 : line + len;
	h->value_len = colon ? len - h->name_len - 1 : 0;
	while (h->name_len > 0 && http_is_blank(line[h->name_len - 1]))
		h->name_len--;
	h->name_blank = colon && h->name_len != (uint32_t)(colon - line);
	http_trim(&h->value, &h->value_len);
	if (h->fold) {
		h->value = line;
		h->value_len = len;
		http_trim(&h->value, &h->value_len);
	}
}

static enum http_hdr_kind
http_hdr_kind(const struct http_hdr *h)
{
	if (http_ieq(h->name, h->name_len, "content-length"))
		return HTTP_HDR_CL;
	if (http_ieq(h->name, h->name_len, "transfer-encoding"))
		return HTTP_HDR_TE;
	if (http_ieq(h->name, h->name_len, "host"))
		return HTTP_HDR_HOST;
	if (http_ieq(h->name, h->name_len, "upgrade"))
		return HTTP_HDR_UPGRADE;
	if (http_ieq(h->name, h->name_len, "content-encoding"))
		return HTTP_HDR_CE;
	return HTTP_HDR_OTHER;
}

/* One element of a Content-Length list: 1*DIGIT. */
static bool
http_cl_one(struct http_call *c, const uint8_t *p, uint32_t len)
{
	struct http_txn *txn = c->hf->txn;
	uint64_t v = 0;

	http_trim(&p, &len);
	if (len == 0 && http_anomaly(c, HTTP_ANOM_BAD_CL))
		return true;
	for (uint32_t i = 0; i < len; i++) {
		unsigned d = (unsigned)p[i] - '0';
		if (d > 9 || v > (HTTP_LEN_MAX - d) / 10) {
			if (http_anomaly(c, HTTP_ANOM_BAD_CL))
				return true;
			break;
		}
		v = v * 10 + d;
	}
	if (txn->n_cl < UINT16_MAX)
		txn->n_cl++;
	if (txn->n_cl == 1)
		txn->cl = v;
	else if (http_anomaly(c, HTTP_ANOM_DUP_CL))
		return true;
	return false;
}

/* Content-Length value, possibly a "42, 42" list (a repetition too). */
static bool
http_cl(struct http_call *c, const uint8_t *p, uint32_t len)
{
	const uint8_t *comma;

	while ((comma = memchr(p, ',', len)) != NULL) {
		uint32_t n = (uint32_t)(comma - p);
		if (http_cl_one(c, p, n))
			return true;
		p += n + 1;
		len -= n + 1;
	}
	return http_cl_one(c, p, len);
}

/* Transfer-Encoding list: remember whether chunked is last and alone. */
static void
http_te(struct http_txn *txn, const uint8_t *p, uint32_t len)
{
	txn->te_seen = 1;
	while (len > 0) {
		const uint8_t *comma = memchr(p, ',', len);
		uint32_t n = comma ? (uint32_t)(comma - p) : len;
		const uint8_t *tok = p;
		uint32_t tlen = n;

		http_trim(&tok, &tlen);
		if (tlen > 0) {
			bool ch = http_ieq(tok, tlen, "chunked");
			if (ch && txn->te_chunked < UINT8_MAX)
				txn->te_chunked++;
			txn->te_last_chunked = ch;
		}
		p += comma ? n + 1 : n;
		len -= comma ? n + 1 : n;
	}
}

/* Checks and framing facts of one header line.  true = stopped. */
static bool
http_header_line(struct http_call *c, const uint8_t *line, uint32_t len)
{
	struct http_txn *txn = c->hf->txn;
	struct http_hdr h;
	enum http_hdr_kind kind;

	http_hdr_split(line, len, &h);
	if (memchr(line, '\r', len) && http_anomaly(c, HTTP_ANOM_BAD_HEADER))
		return true;
	if (h.fold) {
		/* A server that unfolds sees this as more of the last value. */
		if (http_anomaly(c, HTTP_ANOM_OBS_FOLD))
			return true;
		if (txn->last_kind == HTTP_HDR_TE)
			http_te(txn, h.value, h.value_len);
		else if (txn->last_kind == HTTP_HDR_CL)
			return http_anomaly(c, HTTP_ANOM_DUP_CL);
		return false;
	}
	if (!h.colon || h.name_len == 0 || h.name_blank) {
		/* "Name : v" or no colon: some servers strip, some refuse. */
		if (http_anomaly(c, HTTP_ANOM_BAD_HEADER))
			return true;
	}
	for (uint32_t i = 0; i < h.name_len; i++) {
		if (!http_is_tchar(h.name[i]))
			return http_anomaly(c, HTTP_ANOM_BAD_HEADER);
	}
	kind = http_hdr_kind(&h);
	txn->last_kind = (uint8_t)kind;
	switch (kind) {
	case HTTP_HDR_CL:
		return http_cl(c, h.value, h.value_len);
	case HTTP_HDR_TE:
		http_te(txn, h.value, h.value_len);
		return false;
	case HTTP_HDR_HOST:
		if (++txn->n_host > 1)
			return http_anomaly(c, HTTP_ANOM_DUP_HOST);
		return false;
	case HTTP_HDR_UPGRADE:
		txn->resp_kind |= HTTP_RESP_REQ_UPGRADE;
		return false;
	case HTTP_HDR_CE:
		txn->coding = (uint8_t)http_resp_coding(txn->coding, h.value,
		                                        h.value_len);
		return false;
	case HTTP_HDR_OTHER:
		break;
	}
	return false;
}

/* ---- request head: buffers --------------------------------------------- */

static void
http_buf_set(struct http_txn *txn, enum ips_buffer b, const uint8_t *p,
             uint32_t len)
{
	txn->bufs.ptr[b] = p;
	txn->bufs.len[b] = len;
}

/*
 * Buffer b is what o holds from start.  Where the same bytes already lie
 * in the head as received (at same, within same_len), b becomes a window
 * there and the space is given back: a request that needed no
 * normalization costs no copy.
 */
static void
http_buf_settle(struct http_txn *txn, struct bounded_out *o, enum ips_buffer b,
                uint32_t start, const uint8_t *same, uint32_t same_len)
{
	uint32_t n = o->len - start;

	if (!o->full && n <= same_len &&
	    memcmp(o->p + start, same, n) == 0) {
		http_buf_set(txn, b, same, n);
		o->len = start;
		return;
	}
	http_buf_set(txn, b, o->p + start, n);
}

/* Next header line of the stored head after *off; false at the end. */
static bool
http_hdr_next(const struct http_txn *txn, uint32_t *off, struct http_hdr *h)
{
	const uint8_t *line = txn->raw + *off;
	const uint8_t *lf;
	uint32_t len;

	if (*off >= txn->raw_len)
		return false;
	lf = memchr(line, '\n', txn->raw_len - *off);
	if (lf == NULL)
		return false;
	len = (uint32_t)(lf - line);
	*off += len + 1;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return false;   /* the empty line ending the head */
	http_hdr_split(line, len, h);
	return true;
}

/* Values of every header called name, joined by sep, copied into o. */
static void
http_gather(struct http_txn *txn, struct bounded_out *o, enum ips_buffer b,
            const char *name, const char *sep)
{
	uint32_t off = txn->head_start, start = o->len, n = 0;
	struct http_hdr h;

	while (http_hdr_next(txn, &off, &h)) {
		if (h.fold || !http_ieq(h.name, h.name_len, name))
			continue;
		if (n++ > 0)
			bounded_put(o, sep, (uint32_t)strlen(sep));
		bounded_put(o, h.value, h.value_len);
	}
	http_buf_set(txn, b, o->p + start, o->len - start);
}

/* Buffers that are a single header's value: window, or joined copy. */
static const struct {
	enum ips_buffer buf;
	const char *name;
	const char *sep;
} http_value_bufs[] = {
	{ IPS_BUF_USER_AGENT,   "user-agent",   ", " },
	{ IPS_BUF_COOKIE,       "cookie",       "; " },
	{ IPS_BUF_CONTENT_TYPE, "content-type", ", " },
	{ IPS_BUF_ACCEPT,       "accept",       ", " },
	{ IPS_BUF_ACCEPT_ENC,   "accept-encoding", ", " },
	{ IPS_BUF_ACCEPT_LANG,  "accept-language", ", " },
	{ IPS_BUF_REFERER,      "referer",      ", " },
	{ IPS_BUF_CONNECTION,   "connection",   ", " },
	{ IPS_BUF_CONTENT_LEN,  "content-length", ", " },
};
#define HTTP_N_VALUE_BUFS \
	(sizeof(http_value_bufs) / sizeof(http_value_bufs[0]))

/* http.header: "Name: value\r\n" per line, Cookie left out (it has its
 * own buffer); folded lines are unfolded into the previous value. */
static void
http_build_header(struct http_txn *txn, struct bounded_out *o,
                  uint32_t *count)
{
	uint32_t off = txn->head_start, start = o->len;
	bool last_out = false;
	struct http_hdr h;

	while (http_hdr_next(txn, &off, &h)) {
		if (h.fold) {
			if (last_out && o->len - start >= 2) {
				o->len -= 2;
				bounded_put(o, " ", 1);
				bounded_put(o, h.value, h.value_len);
				bounded_put(o, "\r\n", 2);
			}
			continue;
		}
		for (uint32_t k = 0; k < HTTP_N_VALUE_BUFS; k++) {
			if (!http_ieq(h.name, h.name_len, http_value_bufs[k].name))
				continue;
			if (count[k]++ == 0)
				http_buf_set(txn, http_value_bufs[k].buf,
				             h.value, h.value_len);
		}
		last_out = !http_ieq(h.name, h.name_len, "cookie");
		if (!last_out)
			continue;
		if (h.colon) {
			bounded_put(o, h.name, h.name_len);
			bounded_put(o, ": ", 2);
			bounded_put(o, h.value, h.value_len);
		} else {
			bounded_put(o, h.line, h.line_len);
		}
		bounded_put(o, "\r\n", 2);
	}
	/* Canonical lines and no cookie: the header lines as received. */
	http_buf_settle(txn, o, IPS_BUF_HEADER, start, txn->raw + txn->head_start,
	                txn->raw_len - txn->head_start);
}

/* http.header_names: "\r\nName\r\nName\r\n\r\n" (Suricata's layout). */
static void
http_build_names(struct http_txn *txn, struct bounded_out *o)
{
	uint32_t off = txn->head_start, start = o->len;
	struct http_hdr h;

	bounded_put(o, "\r\n", 2);
	while (http_hdr_next(txn, &off, &h)) {
		if (h.fold || !h.colon)
			continue;
		bounded_put(o, h.name, h.name_len);
		bounded_put(o, "\r\n", 2);
	}
	bounded_put(o, "\r\n", 2);
	http_buf_set(txn, IPS_BUF_HEADER_NAMES, o->p + start, o->len - start);
}

/* http.host: the absolute-form authority wins over Host (RFC 9112 §3.2.2). */
static void
http_build_host(struct http_txn *txn, struct bounded_out *o)
{
	const uint8_t *src = NULL;
	uint32_t src_len = 0, host_off, host_len, off, n;
	struct http_hdr h;

	if (http_uri_authority(txn->raw + txn->uri_off, txn->uri_len,
	                       &host_off, &host_len)) {
		src = txn->raw + txn->uri_off + host_off;
		src_len = host_len;
	} else {
		off = txn->head_start;
		while (http_hdr_next(txn, &off, &h)) {
			if (!h.fold && http_ieq(h.name, h.name_len, "host")) {
				src = h.value;
				src_len = h.value_len;
				break;
			}
		}
	}
	if (src == NULL)
		return;
	if (src_len > o->cap - o->len) {
		o->full = true;
		return;
	}
	n = http_host_normalize(src, src_len, o->p + o->len, src_len);
	o->len += n;
	http_buf_settle(txn, o, IPS_BUF_HOST, o->len - n, src, src_len);
}

/* Set every buffer of the request line (all that txn->bufs holds after
 * it), the normalized URI written to o.  false = o is too small. */
static bool
http_build_line(struct http_txn *txn, struct bounded_out *o)
{
	uint32_t start;

	memset(&txn->bufs, 0, sizeof(txn->bufs));
	http_buf_set(txn, IPS_BUF_METHOD, txn->raw, txn->method_len);
	http_buf_set(txn, IPS_BUF_URI_RAW, txn->raw + txn->uri_off,
	             txn->uri_len);
	http_buf_set(txn, IPS_BUF_PROTOCOL, txn->raw + txn->proto_off,
	             txn->proto_len);
	http_buf_set(txn, IPS_BUF_REQUEST_LINE, txn->raw, txn->line_len);
	start = o->len;
	if (txn->uri_len + 1 > o->cap - start)
		return false;
	o->len += http_uri_normalize(txn->raw + txn->uri_off, txn->uri_len,
	                             o->p + start, txn->uri_len + 1, NULL);
	http_buf_settle(txn, o, IPS_BUF_URI, start, txn->raw + txn->uri_off,
	                txn->uri_len);
	return true;
}

/* Set every header-side buffer, the normalized copies written to o.
 * false = o is too small. */
static bool
http_build_head(struct http_txn *txn, struct bounded_out *o)
{
	uint32_t count[HTTP_N_VALUE_BUFS] = { 0 };

	if (!http_build_line(txn, o))
		return false;
	http_build_header(txn, o, count);
	http_build_names(txn, o);
	http_build_host(txn, o);
	for (uint32_t k = 0; k < HTTP_N_VALUE_BUFS; k++) {
		if (count[k] > 1)
			http_gather(txn, o, http_value_bufs[k].buf,
			            http_value_bufs[k].name, http_value_bufs[k].sep);
	}
	return !o->full;
}

/* The arena's room after the head as received. */
static struct bounded_out
http_room_after_head(const struct http_txn *txn)
{
	return (struct bounded_out){ txn->raw + txn->raw_len, 0,
	                             txn->arena_cap - txn->raw_len, false };
}

/*
 * Build buffers with build into the room after the head; when the small
 * arena is too small, move into a large one (where the head is going
 * anyway) and build again.  false: a large arena is too small too, or
 * none was left (http_txn_grow counted it and the policy spoke).
 */
static bool
http_build_in_arena(struct http_call *c,
                    bool (*build)(struct http_txn *, struct bounded_out *))
{
	struct http_txn *txn = c->hf->txn;
	struct bounded_out o = http_room_after_head(txn);

	if (build(txn, &o))
		return true;
	if (http_txn_is_large(txn) || !http_txn_grow(c))
		return false;
	o = http_room_after_head(txn);
	return build(txn, &o);
}

/* The head is complete: build the buffers, run header-side detection,
 * and expect the server's answer.  Returns true when the flow stopped. */
static bool
http_head_inspect(struct http_call *c)
{
	struct http_txn *txn = c->hf->txn;
	int v;

	if (!http_build_in_arena(c, http_build_head)) {
		/* grow counted an empty pool; otherwise the head is too big */
		if (!c->stop)
			http_policy_drop(c, &c->hw->ws->drop_http_header_too_long);
		return true;
	}
	/* Counted here, not when taken: a head later found too long would
	 * count or not depending on where its bytes were cut. */
	if (http_txn_is_large(txn))
		c->hw->ws->http_header_arena_used++;
	BENCH_ENTER(BENCH_DETECT);
	v = detect_headers(c->hw->dw, &txn->dt, &txn->bufs, c->t, c->res);
	BENCH_LEAVE();
	http_verdict(c, v);
	if (c->stop)
		return true;
	http_resp_expect(&c->hf->resp, txn->resp_kind);
	/* the head's only progress: from now on the body's bytes count */
	txn->head_done = 1;
	hold_progress(&c->hw->hold, &txn->hold, c->hw->now);
	return false;
}

/*
 * This packet ended inside the head, its request line complete: decide
 * the rules on the line's buffers now (detect_request_line), so a head
 * that never ends cannot keep them from ever being decided.  A head
 * whole in one packet skips this: detect_headers decides them.  The
 * line's buffers are lent for the call; the head's bytes that come next
 * overwrite the normalized URI.
 */
static void
http_line_inspect(struct http_call *c)
{
	struct http_txn *txn = c->hf->txn;
	int v;

	txn->line_inspected = 1;
	/* no room: a policy spoke, or the rules are decided with the head */
	if (!http_build_in_arena(c, http_build_line))
		return;
	BENCH_ENTER(BENCH_DETECT);
	v = detect_request_line(c->hw->dw, &txn->dt, &txn->bufs, c->t, c->res);
	BENCH_LEAVE();
	memset(&txn->bufs, 0, sizeof(txn->bufs));
	http_verdict(c, v);
}

/* The empty line: decide the framing, build buffers, run detection. */
static void
http_head_end(struct http_call *c)
{
	struct http_flow *hf = c->hf;
	struct http_txn *txn = hf->txn;
	bool chunked = txn->te_chunked == 1 && txn->te_last_chunked;

	if (txn->te_seen && txn->n_cl > 0 && http_anomaly(c, HTTP_ANOM_CL_TE))
		return;
	if (txn->te_seen && !chunked && http_anomaly(c, HTTP_ANOM_BAD_TE))
		return;
	if (http_head_inspect(c))
		return;
	/* Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a
	 * coding list not ending in chunked has no length: until close. */
	if (txn->te_seen) {
		hf->body_left = 0;
		hf->state = txn->te_last_chunked ? HTTP_ST_CHUNK_SIZE0
		                                 : HTTP_ST_BODY_CLOSE;
	} else if (txn->cl > 0) {
		hf->body_left = txn->cl;
		hf->state = HTTP_ST_BODY_CL;
	} else {
		http_request_done(c);
	}
}

/* The request line is complete (len bytes, terminator gone). */
static void
http_request_line_end(struct http_call *c, uint32_t len)
{
	switch (http_request_line(c->hf->txn, len)) {
	case HTTP_RL_OK:
		return;
	case HTTP_RL_09:
		/* A simple request has no head: it ends with its line. */
		if (!http_head_inspect(c))
			http_request_done(c);
		return;
	case HTTP_RL_AMBIGUOUS:
		/* Kept (no drop policy): read on as a request with a head,
		 * the target holding both readings. */
		http_anomaly(c, HTTP_ANOM_REQUEST_LINE);
		return;
	case HTTP_RL_BAD:
		http_malformed(c);
		return;
	}
}

/* A complete line is in raw[line_start, raw_len). */
static void
http_line(struct http_call *c)
{
	struct http_txn *txn = c->hf->txn;
	const uint8_t *line = txn->raw + txn->line_start;
	uint32_t len = txn->raw_len - txn->line_start - 1;  /* LF gone */

	/* A bare LF ends a head line for nginx, Go, Python and Apache
	 * alike: nothing to disagree about, so it is only counted. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	else
		http_note(c, HTTP_ANOM_BARE_LF);
	txn->line_start = txn->raw_len;
	if (txn->head_start == 0) {
		txn->head_start = txn->raw_len;
		http_request_line_end(c, len);
		return;
	}
	if (len == 0) {
		http_head_end(c);
		return;
	}
	http_header_line(c, line, len);
}

/* ---- states ------------------------------------------------------------- */

static const uint8_t *
http_st_start(struct http_call *c, const uint8_t *p, const uint8_t *end)
{
	/* Empty lines before a request are skipped by every server
	 * (RFC 9112 §2.2); Python's split() skips leading blanks too.  A
	 * CONNECT or Upgrade request does not change this: until the
	 * server's answer says otherwise, what follows is HTTP. */
	while (p < end && (*p == '\n' || http_is_rl_sep(*p)))
		p++;
	if (p == end)
		return p;
	if (!http_is_tchar(*p)) {
		http_malformed(c);      /* no method starts so: spare the pool */
		return end;
	}
	if (http_txn_get(c))
		c->hf->state = HTTP_ST_METHOD;
	return p;
}

static const uint8_t *
http_st_method(struct http_call *c, const uint8_t *p, const uint8_t *end)
{
	struct http_txn *txn = c->hf->txn;

	for (; p < end; p++) {
		if (http_is_rl_sep(*p) && txn->raw_len > 0) {
			txn->method_len = txn->raw_len;
			txn->raw[txn->raw_len++] = *p++;
			c->hf->state = HTTP_ST_HEAD;
			return p;
		}
		if (!http_is_tchar(*p) || txn->raw_len >= HTTP_METHOD_MAX) {
			http_malformed(c);
			return end;
		}
		txn->raw[txn->raw_len++] = *p;
	}
	return p;
}

static const uint8_t *
http_st_head(struct http_call *c, const uint8_t *p, const uint8_t *end)
{
	struct http_txn *txn = c->hf->txn;
	const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
	uint32_t n = (uint32_t)((lf ? lf + 1 : end) - p);

	if (n > c->hw->conf.max_header_bytes - txn->raw_len) {
		http_policy_drop(c, &c->hw->ws->drop_http_header_too_long);
		return end;
	}
	if (n > txn->arena_cap - txn->raw_len && !http_txn_grow(c))
		return end;
	memcpy(txn->raw + txn->raw_len, p, n);
	txn->raw_len += n;
	if (lf)
		http_line(c);
	return p + n;
}

static const uint8_t *
http_st_body(struct http_call *c, const uint8_t *p, const uint8_t *end)
{
	struct http_flow *hf = c->hf;
	uint64_t avail = (uint64_t)(end - p);
	uint32_t n = (uint32_t)(hf->state == HTTP_ST_BODY_CLOSE ||
	                        avail < hf->body_left ? avail : hf->body_left);

	if (hf->state != HTTP_ST_BODY_CLOSE)
		hf->body_left -= n;
	http_body(c, p, n);
	if (c->stop || hf->body_left > 0 || hf->state == HTTP_ST_BODY_CLOSE)
		return p + n;
	if (hf->state == HTTP_ST_BODY_CL)
		http_request_done(c);
	else
		hf->state = HTTP_ST_CHUNK_DATA_CR;
	return p + n;
}

/* Framing is lost: count it; unless dropped, the rest is body. */
static void
http_bad_chunk(struct http_call *c)
{
	if (!http_anomaly(c, HTTP_ANOM_BAD_CHUNK))
		c->hf->state = HTTP_ST_BODY_CLOSE;
}

static void
http_chunk_size_done(struct http_call *c)
{
	c->hf->state = c->hf->body_left ? HTTP_ST_CHUNK_DATA : HTTP_ST_TRAILER;
}

/* A line ending inside chunk framing: LF alone is an ambiguity. */
static bool
http_chunk_lf(struct http_call *c, uint8_t ch)
{
	return ch == '\n' && !http_anomaly(c, HTTP_ANOM_BARE_LF);
}

/* One byte of a chunk-size line or of the CRLF after chunk data. */
static void
http_chunk_byte(struct http_call *c, uint8_t ch)
{
	struct http_flow *hf = c->hf;
	int d = http_hex_digit(ch);

	switch (hf->state) {
	case HTTP_ST_CHUNK_SIZE0:
		if (d < 0) {
			http_bad_chunk(c);
			return;
		}
		hf->body_left = (uint64_t)d;
		hf->state = HTTP_ST_CHUNK_SIZE;
		return;
	case HTTP_ST_CHUNK_SIZE:
		if (d >= 0) {
			if (hf->body_left > (HTTP_LEN_MAX >> 4))
				http_bad_chunk(c);  /* before the shift */
			else
				hf->body_left = (hf->body_left << 4) | (uint64_t)d;
			return;
		}
		__attribute__((fallthrough));   /* the size ended */
	case HTTP_ST_CHUNK_BWS:
		if (http_is_blank(ch))
			hf->state = HTTP_ST_CHUNK_BWS;
		else if (ch == ';')
			hf->state = HTTP_ST_CHUNK_EXT;
		else if (ch == '\r')
			hf->state = HTTP_ST_CHUNK_SIZE_LF;
		else if (http_chunk_lf(c, ch))
			http_chunk_size_done(c);
		else if (!c->stop)
			http_bad_chunk(c);
		return;
	case HTTP_ST_CHUNK_EXT:
		if (ch == '\r')
			hf->state = HTTP_ST_CHUNK_SIZE_LF;
		else if (http_chunk_lf(c, ch))
			http_chunk_size_done(c);
		return;
	case HTTP_ST_CHUNK_SIZE_LF:
		if (ch == '\n')
			http_chunk_size_done(c);
		else
			http_bad_chunk(c);
		return;
	case HTTP_ST_CHUNK_DATA_CR:
		if (ch == '\r')
			hf->state = HTTP_ST_CHUNK_DATA_LF;
		else if (http_chunk_lf(c, ch))
			hf->state = HTTP_ST_CHUNK_SIZE0;
		else if (!c->stop)
			http_bad_chunk(c);
		return;
	case HTTP_ST_CHUNK_DATA_LF:
		if (ch == '\n')
			hf->state = HTTP_ST_CHUNK_SIZE0;
		else
			http_bad_chunk(c);
		return;
	default:
		return;
	}
}

/* One byte of the trailer section: skipped, only its framing matters
 * (the header buffers were scanned before the body). */
static void
http_trailer_byte(struct http_call *c, uint8_t ch)
{
	struct http_flow *hf = c->hf;

	switch (hf->state) {
	case HTTP_ST_TRAILER:
		if (ch == '\r')
			hf->state = HTTP_ST_TRAILER_END_LF;
		else if (http_chunk_lf(c, ch))
			http_request_done(c);
		else if (!c->stop)
			hf->state = HTTP_ST_TRAILER_LINE;
		return;
	case HTTP_ST_TRAILER_LINE:
		if (ch == '\r')
			hf->state = HTTP_ST_TRAILER_LINE_LF;
		else if (http_chunk_lf(c, ch))
			hf->state = HTTP_ST_TRAILER;
		return;
	case HTTP_ST_TRAILER_LINE_LF:
	case HTTP_ST_TRAILER_END_LF:
		if (ch == '\n') {
			if (hf->state == HTTP_ST_TRAILER_END_LF)
				http_request_done(c);
			else
				hf->state = HTTP_ST_TRAILER;
		} else if (!http_anomaly(c, HTTP_ANOM_BAD_HEADER)) {
			hf->state = HTTP_ST_TRAILER_LINE;   /* bare CR */
		}
		return;
	default:
		return;
	}
}

static const uint8_t *
http_step(struct http_call *c, const uint8_t *p, const uint8_t *end)
{
	switch (c->hf->state) {
	case HTTP_ST_START:
		return http_st_start(c, p, end);
	case HTTP_ST_METHOD:
		return http_st_method(c, p, end);
	case HTTP_ST_HEAD:
		return http_st_head(c, p, end);
	case HTTP_ST_BODY_CL:
	case HTTP_ST_BODY_CLOSE:
	case HTTP_ST_CHUNK_DATA:
		return http_st_body(c, p, end);
	default:
		if (c->hf->state > HTTP_ST_TRAILER_END_LF) {
			/* Corrupt state: fail closed rather than guess. */
			http_policy_drop(c, &c->hw->ws->drop_http_malformed);
			return end;
		}
		if (c->hf->state >= HTTP_ST_TRAILER)
			http_trailer_byte(c, *p);
		else
			http_chunk_byte(c, *p);
		return p + 1;
	}
}

int
http_request_data(struct http_worker *hw, struct http_flow *hf,
                  const uint8_t *data, uint32_t len,
                  const struct detect_tuple *t, struct detect_result *res)
{
	struct http_call c = { hw, hf, t, res, HTTP_CONTINUE, false };
	const uint8_t *p = data, *end = data + len;

	if (hf->flags & HTTP_FLOW_DEAD) {
		/* The caller blocks a policy-dropped flow; say it again if
		 * data still comes, without counting it twice. */
		return (hf->flags & HTTP_FLOW_POLICY_DROP) ? HTTP_DROP_POLICY
		                                           : HTTP_CONTINUE;
	}
	while (p < end && !c.stop)
		p = http_step(&c, p, end);
	if (!c.stop && hf->state == HTTP_ST_HEAD && hf->txn != NULL &&
	    hf->txn->head_start != 0 && !hf->txn->line_inspected)
		http_line_inspect(&c);
	return c.rc;
}

int
http_request_eof(struct http_worker *hw, struct http_flow *hf,
                 const struct detect_tuple *t, struct detect_result *res)
{
	struct http_call c = { hw, hf, t, res, HTTP_CONTINUE, false };

	/* A body ends with the flow (no length given) or is cut short by
	 * it: the rules waiting for its end are decided on what the server
	 * got, or the client could skip them by never finishing it. */
	if ((hf->flags & HTTP_FLOW_DEAD) || hf->txn == NULL ||
	    hf->state < HTTP_ST_BODY_CL)
		return HTTP_CONTINUE;
	if (hf->state == HTTP_ST_BODY_CLOSE) {
		http_request_done(&c);
	} else {
		hw->ws->http_requests_cut_by_fin++;
		http_request_end(&c);
	}
	return c.rc;
}

/* ---- responses ---------------------------------------------------------- */

int
http_inspects_responses(const struct http_worker *hw,
                        const struct http_flow *hf)
{
	return hw->responses != NULL &&
	       !(hf->flags & (HTTP_FLOW_DEAD | HTTP_FLOW_TUNNEL)) &&
	       (hf->rf.followed || detect_wants_response(hw->dw));
}

int
http_response_data(struct http_worker *hw, struct http_flow *hf,
                   const uint8_t *data, uint32_t len,
                   const struct detect_tuple *t, struct detect_result *res)
{
	struct http_response_call rc = { hw->responses, &hf->rf, hf->owner,
	                                 t, res };
	/* a response followed from its head is followed to its end, even
	 * past a reload to rules without response rules */
	const struct http_resp_sink *sink =
		http_inspects_responses(hw, hf) ? &http_response_sink : NULL;

	if (hf->flags & (HTTP_FLOW_DEAD | HTTP_FLOW_TUNNEL))
		return HTTP_CONTINUE;
	switch (http_resp_data(&hf->resp, data, len, sink, &rc)) {
	case HTTP_RESP_LOST:
		hw->ws->http_response_lost++;
		http_response_abort(hw->responses, &hf->rf);
		return HTTP_CONTINUE;
	case HTTP_RESP_TUNNEL:
		/* Not every server that answers 2xx to CONNECT or 101 stops
		 * reading HTTP (a catch-all handler answers any method and
		 * reads on): so the client's bytes are still parsed while they
		 * are HTTP, and only the first that cannot be ends it. */
		hw->ws->http_tunnel_opened++;
		hf->flags |= HTTP_FLOW_TUNNEL;
		return HTTP_TUNNEL;
	default:
		return HTTP_CONTINUE;
	}
}

void
http_response_eof(struct http_worker *hw, struct http_flow *hf,
                  const struct detect_tuple *t, struct detect_result *res)
{
	struct http_response_call rc = { hw->responses, &hf->rf, hf->owner,
	                                 t, res };

	if (http_inspects_responses(hw, hf))
		http_resp_eof(&hf->resp, &http_response_sink, &rc);
}

void
http_response_gap(struct http_worker *hw, struct http_flow *hf)
{
	http_response_abort(hw->responses, &hf->rf);
	if (!(hf->flags & HTTP_FLOW_DEAD) &&
	    http_resp_gap(&hf->resp) == HTTP_RESP_LOST)
		hw->ws->http_response_lost++;
}

/* ---- probe -------------------------------------------------------------- */

static const char *const http_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
	"TRACE", "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE",
	"LOCK", "UNLOCK", "SEARCH", "REPORT",
};

/* A method token nobody registered, then blanks, then an origin-form
 * target: the shape Go and Python serve whatever the method ("QUERY /x").
 * Only a whole shape counts: many protocols open with a token (an SSH
 * banner), and calling them HTTP would drop them as malformed. */
static int
http_probe_shape(const uint8_t *data, uint32_t len)
{
	uint32_t i = 0;

	while (i < len && i < HTTP_METHOD_MAX && http_is_tchar(data[i]))
		i++;
	if (i == 0 || i == len || !http_is_rl_sep(data[i]))
		return 0;
	while (i < len && http_is_rl_sep(data[i]))
		i++;
	return i < len && data[i] == '/';
}

int
http_probe_request(const uint8_t *data, uint32_t len)
{
	int maybe = 0;

	/* Servers skip empty lines before a request line (RFC 9112 2.2):
	 * so must the probe, or "\r\nGET ..." would pass uninspected. */
	while (len > 0 && (*data == '\r' || *data == '\n')) {
		data++;
		len--;
	}
	if (len == 0)
		return -1;
	for (size_t i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]);
	     i++) {
		uint32_t mlen = (uint32_t)strlen(http_methods[i]);
		uint32_t n = len < mlen ? len : mlen;

		/* Go and Python serve lower-case methods too. */
		if (strncasecmp((const char *)data, http_methods[i], n) != 0)
			continue;
		if (len <= mlen)
			maybe = 1;
		else if (data[mlen] == ' ' || data[mlen] == '\t')
			return 1;
	}
	if (maybe)
		return -1;
	return http_probe_shape(data, len);
}

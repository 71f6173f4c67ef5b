/*
 * http_response.c - response transactions and body decoding (see
 * http_response.h).
 *
 * Shape: the tracker calls head, body*, end per final response; head
 * takes a transaction from the pool and scans the status code, body
 * decodes and scans, end decides what waited for the end of the body and
 * gives the transaction back.  A transaction is in hold.h order: progress
 * is a body byte, so the one stalled longest is first to give way.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounded.h"
#include "hold.h"
#include "http_response.h"

/* A response head kept for its buffers (nginx, the usual server behind
 * the gateway, refuses an upstream head over 4 or 8 KiB), and the room
 * its buffers are built in. */
#define HTTP_RESP_HEAD_MAX 8192
#define HTTP_RESP_ARENA (6 * HTTP_RESP_HEAD_MAX)

struct http_rtxn {
	struct detect_txn dt;
	struct detect_bufs bufs;        /* the head's buffers */
	uint8_t *arena;                 /* HTTP_RESP_ARENA: the head as
	                                 * received, then built buffers */
	uint32_t head_len;
	uint8_t head_cut;               /* the head outgrew its room */
	struct hold_node hold;          /* its place in the pool */
	struct http_response_flow *rf;  /* the flow holding it */
	const void *owner;
	struct http_rtxn *next_free;
	struct http_decoder *dec;       /* a coded body's, from its first
	                                 * byte */
	uint32_t body_seen;             /* decoded bytes inspected */
	uint8_t stat[3];
	uint8_t coding;                 /* HTTP_RESP_CODING_* */
	uint8_t dec_taken;              /* dec was had (NULL since: evicted) */
	uint8_t body_over;              /* limit reached or the coded stream
	                                 * ended: later bytes not inspected */
};

struct http_responses {
	struct http_rtxn *slots;
	struct http_rtxn *free_list;
	uint8_t *arenas;                /* calloc'd: pages cost nothing until
	                                 * a response uses them */
	struct http_decoders *decoders; /* the worker's, shared with requests */
	uint32_t n, in_use;
	uint32_t body_limit;
	uint32_t src_seed;              /* hold.h source buckets */
	uint64_t tick;
	struct hold_pool hold;
	struct detect_worker *dw;
	struct worker_stats *ws;
};

/* ---- pool --------------------------------------------------------------- */

struct http_responses *
http_responses_create(uint32_t n, uint32_t body_limit, uint32_t share_pct,
                      struct http_decoders *decoders,
                      struct detect_worker *dw, struct worker_stats *ws)
{
	struct http_responses *hr;

	if (n == 0)
		return NULL;
	hr = calloc(1, sizeof(*hr));
	if (hr == NULL)
		return NULL;
	hr->slots = calloc(n, sizeof(*hr->slots));
	hr->arenas = calloc(n, HTTP_RESP_ARENA);
	if (hr->slots == NULL || hr->arenas == NULL) {
		http_responses_free(hr);
		return NULL;
	}
	hr->n = n;
	hr->decoders = decoders;
	hr->body_limit = body_limit;
	hr->dw = dw;
	hr->ws = ws;
	hold_pool_init(&hr->hold, n, share_pct);
	hr->src_seed = hold_seed(hr);
	for (uint32_t i = n; i-- > 0;) {
		hr->slots[i].arena = hr->arenas + (size_t)i * HTTP_RESP_ARENA;
		hr->slots[i].next_free = hr->free_list;
		hr->free_list = &hr->slots[i];
	}
	return hr;
}

void
http_responses_free(struct http_responses *hr)
{
	if (hr == NULL)
		return;
	free(hr->arenas);
	free(hr->slots);
	free(hr);
}

uint32_t
http_responses_in_use(const struct http_responses *hr)
{
	return hr->in_use;
}

/* Give rt back to the pool; its detection transaction already ended. */
static void
http_rtxn_put(struct http_responses *hr, struct http_rtxn *rt)
{
	http_decoder_put(hr->decoders, &rt->dec);
	hold_release(&hr->hold, &rt->hold);
	rt->rf->rtxn = NULL;
	rt->rf = NULL;
	rt->next_free = hr->free_list;
	hr->free_list = rt;
	hr->in_use--;
}

void
http_response_abort(struct http_responses *hr, struct http_response_flow *rf)
{
	struct http_rtxn *rt = rf->rtxn;

	rf->followed = 0;
	rf->fault = 0;
	if (hr == NULL || rt == NULL)
		return;
	detect_txn_abort(hr->dw, &rt->dt);
	http_rtxn_put(hr, rt);
}

/* A transaction for a new response: a free one, or the place of the one
 * stalled longest (or this source's own oldest past its share), whose
 * flow is reported for the caller to reset.  NULL when none can be had. */
static struct http_rtxn *
http_rtxn_get(struct http_response_call *c, uint16_t src)
{
	struct http_responses *hr = c->hr;
	struct hold_node *n = hold_victim(&hr->hold, src);
	struct http_rtxn *rt;

	if (n != NULL) {
		struct http_rtxn *victim = hold_entry(n, struct http_rtxn, hold);
		int share = hold_src_count(&hr->hold, src) >= hr->hold.share_max;

		if (detect_report_evicted(c->res, victim->owner, "http",
		                          share ? "response_share_evicted"
		                                : "response_evicted") != 0)
			return NULL;
		if (share)
			hr->ws->http_response_share_evicted++;
		else
			hr->ws->http_response_evicted++;
		http_response_abort(hr, victim->rf);
	}
	rt = hr->free_list;
	if (rt == NULL)
		return NULL;
	hr->free_list = rt->next_free;
	hr->in_use++;
	hold_take(&hr->hold, &rt->hold, src, ++hr->tick);
	return rt;
}

/* ---- the sink --------------------------------------------------------- */

/* This response's bytes cannot all be inspected: say so for each. */
static void
http_response_fault(struct http_response_call *c, uint8_t fault)
{
	c->rf->fault |= fault;
	c->res->faults |= c->rf->fault;
}

/* A status line begins: the response takes a transaction (an interim
 * response's is kept for the final one). */
static void
http_response_begin(void *arg)
{
	struct http_response_call *c = arg;
	struct http_responses *hr = c->hr;
	struct http_rtxn *rt = c->rf->rtxn;
	uint16_t src;

	if (rt == NULL || !c->rf->followed) {
		/* a response whose end was never handed (framing lost) */
		http_response_abort(hr, c->rf);
		c->rf->followed = 1;
		src = hold_src_bucket(c->t->src, c->t->ip_version, hr->src_seed);
		rt = http_rtxn_get(c, src);
		if (rt == NULL) {
			hr->ws->http_response_pool_full++;
			http_response_fault(c, DETECT_FAULT_RESPONSE);
			return;
		}
		c->rf->rtxn = rt;
		rt->rf = c->rf;
		rt->owner = c->owner;
	}
	rt->head_len = 0;
	rt->head_cut = 0;
}

static void
http_response_head_bytes(void *arg, const uint8_t *p, uint32_t len)
{
	struct http_rtxn *rt = ((struct http_response_call *)arg)->rf->rtxn;

	if (rt == NULL)
		return;
	if (len > HTTP_RESP_HEAD_MAX - rt->head_len) {
		rt->head_cut = 1;
		return;
	}
	memcpy(rt->arena + rt->head_len, p, len);
	rt->head_len += len;
}

static int
http_rblank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Line at *off of the head, CR LF stripped; 0 at the empty line. */
static uint32_t
http_rline(const struct http_rtxn *rt, uint32_t *off, const uint8_t **line)
{
	const uint8_t *lf;
	uint32_t len;

	*line = rt->arena + *off;
	lf = memchr(*line, '\n', rt->head_len - *off);
	len = lf != NULL ? (uint32_t)(lf - *line) : rt->head_len - *off;
	*off += len + (lf != NULL);
	if (len > 0 && (*line)[len - 1] == '\r')
		len--;
	return len;
}

/* The reason phrase: what follows "HTTP/x.y 3DIGIT" and blanks. */
static void
http_response_stat_msg(struct http_rtxn *rt, const uint8_t *l, uint32_t n)
{
	uint32_t i = 0;

	while (i < n && l[i] != ' ')
		i++;
	i += 4;                 /* SP and the code, as the tracker read them */
	while (i < n && http_rblank(l[i]))
		i++;
	if (i < n) {
		rt->bufs.ptr[IPS_BUF_STAT_MSG] = l + i;
		rt->bufs.len[IPS_BUF_STAT_MSG] = n - i;
	}
}

/* Header values joined as libhtp joins a repeated header, ", ". */
static const struct {
	uint8_t buf;
	const char *name;
} http_rvalues[] = {
	{ IPS_BUF_RESP_COOKIE, "set-cookie" },
	{ IPS_BUF_RESP_CONTENT_TYPE, "content-type" },
	{ IPS_BUF_SERVER, "server" },
	{ IPS_BUF_LOCATION, "location" },
};
#define HTTP_N_RVALUES (sizeof(http_rvalues) / sizeof(http_rvalues[0]))

/* Values of the header called name, joined into o: its buffer. */
static void
http_response_gather(struct http_rtxn *rt, struct bounded_out *o, unsigned k)
{
	uint32_t off = 0, start = o->len, n, count = 0;
	const uint8_t *l;

	http_rline(rt, &off, &l);   /* the status line */
	while ((n = http_rline(rt, &off, &l)) > 0) {
		const uint8_t *colon = memchr(l, ':', n);
		uint32_t nl = colon != NULL ? (uint32_t)(colon - l) : 0, vs;

		if (colon == NULL || nl != strlen(http_rvalues[k].name) ||
		    strncasecmp((const char *)l, http_rvalues[k].name, nl) != 0)
			continue;
		for (vs = nl + 1; vs < n && http_rblank(l[vs]); vs++)
			;
		while (n > vs && http_rblank(l[n - 1]))
			n--;
		if (count++ > 0)
			bounded_put(o, ", ", 2);
		bounded_put(o, l + vs, n - vs);
	}
	if (count > 0) {
		rt->bufs.ptr[http_rvalues[k].buf] = o->p + start;
		rt->bufs.len[http_rvalues[k].buf] = o->len - start;
	}
}

/* http.header ("Name: value\r\n", Set-Cookie left out, as Suricata
 * leaves it out of a response's) and http.header_names. */
static void
http_response_lines(struct http_rtxn *rt, struct bounded_out *o)
{
	uint32_t off = 0, hstart, nstart, n;
	struct bounded_out names = { o->p + o->cap / 2, 0, o->cap / 2, false };
	const uint8_t *l;

	o->cap /= 2;
	hstart = o->len;
	nstart = names.len;
	bounded_put(&names, "\r\n", 2);
	http_rline(rt, &off, &l);
	while ((n = http_rline(rt, &off, &l)) > 0) {
		const uint8_t *colon = memchr(l, ':', n);
		uint32_t nl = colon != NULL ? (uint32_t)(colon - l) : n, vs;

		while (nl > 0 && http_rblank(l[nl - 1]))
			nl--;
		if (colon != NULL) {
			bounded_put(&names, l, nl);
			bounded_put(&names, "\r\n", 2);
		}
		if (nl == 10 && strncasecmp((const char *)l, "set-cookie", 10) == 0)
			continue;
		if (colon == NULL) {
			bounded_put(o, l, n);
		} else {
			for (vs = (uint32_t)(colon - l) + 1;
			     vs < n && http_rblank(l[vs]); vs++)
				;
			while (n > vs && http_rblank(l[n - 1]))
				n--;
			bounded_put(o, l, nl);
			bounded_put(o, ": ", 2);
			bounded_put(o, l + vs, n - vs);
		}
		bounded_put(o, "\r\n", 2);
	}
	bounded_put(&names, "\r\n", 2);
	o->full |= names.full;
	rt->bufs.ptr[IPS_BUF_RESP_HEADER] = o->p + hstart;
	rt->bufs.len[IPS_BUF_RESP_HEADER] = o->len - hstart;
	rt->bufs.ptr[IPS_BUF_RESP_HEADER_NAMES] = names.p + nstart;
	rt->bufs.len[IPS_BUF_RESP_HEADER_NAMES] = names.len - nstart;
	/* the values go after the lines, in the first half */
}

/* The head's buffers, as libhtp hands them to Suricata.  Returns -1 when
 * they do not fit (a fault: nothing can be decided on them). */
static int
http_response_build(struct http_rtxn *rt, uint16_t status)
{
	struct bounded_out o = { rt->arena + rt->head_len, 0,
	                       HTTP_RESP_ARENA - rt->head_len, 0 };
	uint32_t off = 0, n;
	const uint8_t *l;

	memset(&rt->bufs, 0, sizeof(rt->bufs));
	rt->stat[0] = (uint8_t)('0' + status / 100 % 10);
	rt->stat[1] = (uint8_t)('0' + status / 10 % 10);
	rt->stat[2] = (uint8_t)('0' + status % 10);
	rt->bufs.ptr[IPS_BUF_STAT_CODE] = rt->stat;
	rt->bufs.len[IPS_BUF_STAT_CODE] = 3;
	if (rt->head_cut)
		return -1;
	n = http_rline(rt, &off, &l);
	rt->bufs.ptr[IPS_BUF_RESPONSE_LINE] = l;
	rt->bufs.len[IPS_BUF_RESPONSE_LINE] = n;
	http_response_stat_msg(rt, l, n);
	http_response_lines(rt, &o);
	for (unsigned k = 0; k < HTTP_N_RVALUES; k++)
		http_response_gather(rt, &o, k);
	return o.full ? -1 : 0;
}

static void
http_response_head(void *arg, uint16_t status, unsigned coding)
{
	struct http_response_call *c = arg;
	struct http_responses *hr = c->hr;
	struct http_rtxn *rt = c->rf->rtxn;

	if (rt == NULL || !c->rf->followed)
		return;         /* none to be had (a fault), or not followed */
	hr->ws->http_responses_inspected++;
	rt->coding = (uint8_t)coding;
	rt->body_seen = 0;
	rt->body_over = 0;
	rt->dec_taken = 0;
	detect_response_begin(hr->dw, &rt->dt);
	rt->dt.owner = c->owner;
	if (http_response_build(rt, status) < 0) {
		hr->ws->http_response_head_too_long++;
		http_response_fault(c, DETECT_FAULT_RESPONSE);
		return;
	}
	detect_headers(hr->dw, &rt->dt, &rt->bufs, c->t, c->res);
	if (coding == HTTP_RESP_CODING_STACKED) {
		/* libhtp decodes up to two layers; not followed here */
		hr->ws->http_coding_stacked++;
		http_response_fault(c, DETECT_FAULT_DECODE);
	}
}

/* Decoded body bytes to detection, up to the body limit. */
static void
http_response_scan(struct http_response_call *c, struct http_rtxn *rt,
                   const uint8_t *p, uint32_t len)
{
	uint32_t room = c->hr->body_limit - rt->body_seen;

	if (len > room) {
		len = room;
		rt->body_over = 1;
		c->hr->ws->http_body_limit_reached++;
	}
	rt->body_seen += len;
	detect_body(c->hr->dw, &rt->dt, p, len, &rt->bufs, c->t, c->res);
}

/* A decoded piece: inspect it; 1 once the body limit is reached. */
static int
http_response_decoded(void *arg, const uint8_t *p, uint32_t len)
{
	struct http_response_call *c = arg;
	struct http_rtxn *rt = c->rf->rtxn;

	http_response_scan(c, rt, p, len);
	return rt->body_over;
}

/* A coded body's bytes: a decoder from the pool on the first, then
 * decoded (http_inflate.h: what is not coded is inspected as it is); a
 * body that stops decoding cannot be inspected. */
static void
http_response_inflate(struct http_response_call *c, struct http_rtxn *rt,
                      const uint8_t *p, uint32_t len)
{
	int rc;

	if (!rt->dec_taken) {
		rt->dec_taken = 1;
		http_decoder_take(c->hr->decoders, &rt->dec, rt->coding, c->owner,
		                  c->t, c->res);
	}
	if (rt->dec == NULL) {          /* none to be had, or taken since */
		http_response_fault(c, DETECT_FAULT_DECODE);
		return;
	}
	rc = http_decoder_data(c->hr->decoders, rt->dec, p, len,
	                       http_response_decoded, c);
	if (rc > 0)
		rt->body_over = 1;
	else if (rc < 0)
		http_response_fault(c, DETECT_FAULT_DECODE);
}

static void
http_response_body(void *arg, const uint8_t *p, uint32_t len)
{
	struct http_response_call *c = arg;
	struct http_rtxn *rt = c->rf->rtxn;

	if (c->rf->fault != 0) {
		c->res->faults |= c->rf->fault;
		return;
	}
	if (rt == NULL || rt->body_over || len == 0)
		return;
	hold_progress(&c->hr->hold, &rt->hold, ++c->hr->tick);
	if (rt->coding == HTTP_RESP_CODING_GZIP ||
	    rt->coding == HTTP_RESP_CODING_DEFLATE)
		http_response_inflate(c, rt, p, len);
	else
		http_response_scan(c, rt, p, len);
}

static void
http_response_end(void *arg)
{
	struct http_response_call *c = arg;
	struct http_rtxn *rt = c->rf->rtxn;

	if (c->rf->fault != 0) {
		/* a body not wholly seen decides nothing at its end */
		c->res->faults |= c->rf->fault;
		http_response_abort(c->hr, c->rf);
		return;
	}
	c->rf->followed = 0;
	if (rt == NULL)
		return;
	detect_txn_end(c->hr->dw, &rt->dt, &rt->bufs, c->t, c->res);
	http_rtxn_put(c->hr, rt);
}

const struct http_resp_sink http_response_sink = {
	http_response_begin, http_response_head_bytes, http_response_head,
	http_response_body, http_response_end,
};

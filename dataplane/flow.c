/*
 * flow.c - per-worker flow table and TCP state (see flow.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "bench.h"
#include "config.h"
#include "flow.h"
#include "hold.h"

#define FLOW_NIL UINT32_MAX

/* Both directions normalize to one key: the same (address, port) end is
 * "a" whichever way a packet goes (flow_key_src_is_b).  Zeroed before
 * filling so the padding hashes alike.  48 bytes, not the 38 it needs:
 * rte_hash compares 16/32/48/64-byte keys with vector code and any other
 * length with a libc memcmp call. */
struct flow_key {
	uint8_t a[16];
	uint8_t b[16];
	uint16_t port_a;
	uint16_t port_b;
	uint8_t proto;
	uint8_t ip_version;     /* an IPv4-mapped IPv6 address is not IPv4 */
	uint8_t pad[10];
};
_Static_assert(sizeof(struct flow_key) == 48, "rte_hash's 48-byte compare");

enum flow_state {
	FLOW_SYN_SENT = 0,
	FLOW_SYN_RCVD,
	FLOW_ESTABLISHED,
	FLOW_CLOSING,           /* one side's FIN taken, in order */
	FLOW_CLOSED,            /* both FINs or a RST */
	FLOW_STATELESS,         /* UDP, ICMP */
};

/* Timeout classes: one idle-ordered list each. */
enum flow_lru {
	LRU_HANDSHAKE = 0,
	LRU_ESTABLISHED,
	LRU_CLOSED,
	LRU_STATELESS,
	LRU_COUNT
};

struct flow {
	uint64_t last_tsc;
	uint64_t id;
	uint32_t prev;          /* neighbours in its LRU list */
	uint32_t next;
	uint8_t in_use;
	uint8_t state;          /* enum flow_state */
	uint8_t lru;            /* enum flow_lru */
	uint8_t client_is_a;    /* the client is key side "a" */
	uint8_t client_side;    /* PKT_SIDE_* the client sends from */
	uint8_t blocked;        /* a drop verdict: nothing more passes */
	uint8_t fin_client;
	uint8_t fin_server;
	uint8_t proto;
	uint8_t l2_len;         /* of l2: 0 until a client packet is seen */
	struct hold_node hold;  /* its place among its source's flows */
	uint16_t client_port;   /* the port the client's packets come in on */
	uint8_t l2[PKT_L2_MAX]; /* a client packet's L2 header, for resets */
	uint64_t flowbits[DETECT_FLOWBITS_WORDS];   /* rules' flowbits */
	struct stream_flow stream;
};

struct flow_table {
	struct flow_conf conf;
	struct rte_hash *hash;
	struct flow *flows;
	uint32_t n_slots;
	uint32_t count;
	uint32_t head[LRU_COUNT];
	uint32_t tail[LRU_COUNT];
	uint64_t timeout_tsc[LRU_COUNT];
	uint64_t next_id;
	struct stream_worker *sw;
	struct worker_stats *ws;
	struct hold_pool hold;          /* flows by source, for shares */
	uint8_t http_port[65536 / 8];   /* bitmap of configured HTTP ports */
};

/* ---- LRU lists ----------------------------------------------------------- */

static void
flow_lru_unlink(struct flow_table *ft, uint32_t idx)
{
	struct flow *f = &ft->flows[idx];

	if (f->prev != FLOW_NIL)
		ft->flows[f->prev].next = f->next;
	else
		ft->head[f->lru] = f->next;
	if (f->next != FLOW_NIL)
		ft->flows[f->next].prev = f->prev;
	else
		ft->tail[f->lru] = f->prev;
	f->prev = f->next = FLOW_NIL;
}

static void
flow_lru_append(struct flow_table *ft, uint32_t idx, uint8_t lru)
{
	struct flow *f = &ft->flows[idx];

	f->lru = lru;
	f->next = FLOW_NIL;
	f->prev = ft->tail[lru];
	if (f->prev != FLOW_NIL)
		ft->flows[f->prev].next = idx;
	else
		ft->head[lru] = idx;
	ft->tail[lru] = idx;
}

static uint8_t
flow_lru_of(const struct flow *f)
{
	switch (f->state) {
	case FLOW_SYN_SENT:
	case FLOW_SYN_RCVD:
		return LRU_HANDSHAKE;
	case FLOW_ESTABLISHED:
	case FLOW_CLOSING:      /* a half-closed flow may still be busy */
		return LRU_ESTABLISHED;
	case FLOW_STATELESS:
		return LRU_STATELESS;
	default:
		return LRU_CLOSED;
	}
}

static void
flow_touch(struct flow_table *ft, uint32_t idx, uint64_t now)
{
	struct flow *f = &ft->flows[idx];

	f->last_tsc = now;
	hold_progress(&ft->hold, &f->hold, now);
	if (ft->tail[f->lru] == idx && f->lru == flow_lru_of(f))
		return;
	flow_lru_unlink(ft, idx);
	flow_lru_append(ft, idx, flow_lru_of(f));
}

/* ---- table --------------------------------------------------------------- */

void
flow_conf_init(struct flow_conf *fc, const struct ips_config *c)
{
	memset(fc, 0, sizeof(*fc));
	fc->capacity = c->limits.flows;
	fc->timeout_syn_s = c->limits.flow_timeout_syn;
	fc->timeout_established_s = c->limits.flow_timeout_established;
	fc->timeout_closed_s = c->limits.flow_timeout_closed;
	fc->timeout_udp_s = c->limits.flow_timeout_udp;
	fc->source_share_pct = c->limits.source_share;
	fc->evict_when_full = c->policy.flow_table_full == POLICY_EVICT;
	fc->bypass_midstream = c->policy.midstream == POLICY_BYPASS;
	fc->http_probe = c->http_detect_by_content;
	fc->http_ports = c->http_ports;
	fc->n_http_ports = c->n_http_ports;
}

struct flow_table *
flow_table_create(const struct flow_conf *conf, struct stream_worker *sw,
                  struct worker_stats *ws)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters hp = {
		.name = name,
		/* rte_hash needs at least one bucket (8 entries); the
		 * configured capacity is enforced by count. */
		.entries = conf->capacity < 8 ? 8 : conf->capacity,
		.key_len = sizeof(struct flow_key),
		/* Keyed: CRC is linear, so a seed would not stop chosen
		 * tuples from colliding into one bucket chain; jhash with a
		 * secret initial value does. */
		.hash_func = rte_jhash,
		.hash_func_init_val = conf->hash_seed,
		.socket_id = conf->socket,
		/* The extendable bucket table guarantees every one of
		 * `entries` keys fits, whatever the collisions: the limit an
		 * operator sets is the limit they get. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct flow_table *ft;

	snprintf(name, sizeof(name), "flows_w%u", conf->worker_id);
	ft = rte_zmalloc_socket("flow_table", sizeof(*ft), 64, conf->socket);
	if (ft == NULL)
		return NULL;
	ft->conf = *conf;
	ft->sw = sw;
	ft->ws = ws;
	ft->hash = rte_hash_create(&hp);
	if (ft->hash == NULL)
		goto err;
	ft->n_slots = (uint32_t)rte_hash_max_key_id(ft->hash) + 1;
	ft->flows = rte_zmalloc_socket("flows", sizeof(struct flow) * ft->n_slots,
	                               64, conf->socket);
	if (ft->flows == NULL)
		goto err;
	for (unsigned i = 0; i < LRU_COUNT; i++)
		ft->head[i] = ft->tail[i] = FLOW_NIL;
	ft->timeout_tsc[LRU_HANDSHAKE] = conf->timeout_syn_s * conf->tsc_hz;
	ft->timeout_tsc[LRU_ESTABLISHED] =
		conf->timeout_established_s * conf->tsc_hz;
	ft->timeout_tsc[LRU_CLOSED] = conf->timeout_closed_s * conf->tsc_hz;
	ft->timeout_tsc[LRU_STATELESS] = conf->timeout_udp_s * conf->tsc_hz;
	hold_pool_init(&ft->hold, conf->capacity, conf->source_share_pct);
	for (unsigned i = 0; i < conf->n_http_ports; i++)
		ft->http_port[conf->http_ports[i] >> 3] |=
			(uint8_t)(1u << (conf->http_ports[i] & 7));
	return ft;
err:
	rte_hash_free(ft->hash);
	rte_free(ft);
	return NULL;
}

static void
flow_remove(struct flow_table *ft, uint32_t idx, int at_exit)
{
	struct flow *f = &ft->flows[idx];
	struct flow_key key;
	void *kp;

	if (f->proto == IPPROTO_TCP)
		stream_flow_release(ft->sw, &f->stream, at_exit);
	flow_lru_unlink(ft, idx);
	if (rte_hash_get_key_with_position(ft->hash, (int32_t)idx, &kp) == 0) {
		memcpy(&key, kp, sizeof(key));
		rte_hash_del_key(ft->hash, &key);
	}
	hold_release(&ft->hold, &f->hold);
	f->in_use = 0;
	ft->count--;
}

void
flow_table_free(struct flow_table *ft)
{
	if (ft == NULL)
		return;
	for (unsigned lru = 0; lru < LRU_COUNT; lru++)
		while (ft->head[lru] != FLOW_NIL)
			flow_remove(ft, ft->head[lru], 1);
	rte_hash_free(ft->hash);
	rte_free(ft->flows);
	rte_free(ft);
}

uint32_t
flow_count(const struct flow_table *ft)
{
	return ft->count;
}

size_t
flow_bytes_per_slot(const struct flow_table *ft)
{
	/* The record plus the hash's key slot (key + data pointer) and its
	 * share of buckets (8 entries of signature + index per bucket). */
	(void)ft;
	return sizeof(struct flow) + sizeof(struct flow_key) + sizeof(void *) +
	       (2 * 8 * (sizeof(uint16_t) + sizeof(uint32_t))) / 8;
}

/* ---- evictions ----------------------------------------------------------- */

/* Who the victim of e is, for its event and resets: the flow's tuple in
 * to_server orientation, its client's L2 header and port, and the next
 * sequence number each endpoint expects.  Only a connection both ends
 * hold open (established or half-closed, a client packet seen) is reset:
 * a reset to an embryonic flow's client would be backscatter to a spoofed
 * address. */
static void
flow_evict_describe(struct flow_table *ft, uint32_t idx, struct pkt_evict *e)
{
	const struct flow *f = &ft->flows[idx];
	struct detect_tuple *t = &e->tuple;
	const struct flow_key *k;
	void *kp;

	e->victim = NULL;
	e->reset = 0;
	e->flow_id = f->id;
	if (rte_hash_get_key_with_position(ft->hash, (int32_t)idx, &kp) != 0)
		return;
	k = kp;
	memcpy(t->src, f->client_is_a ? k->a : k->b, 16);
	memcpy(t->dst, f->client_is_a ? k->b : k->a, 16);
	t->sport = f->client_is_a ? k->port_a : k->port_b;
	t->dport = f->client_is_a ? k->port_b : k->port_a;
	t->ip_version = k->ip_version;
	e->client_port = f->client_port;
	e->l2_len = f->l2_len;
	memcpy(e->l2, f->l2, sizeof(e->l2));
	stream_reset_seqs(&f->stream, &e->seq_to_server, &e->seq_to_client);
	e->reset = f->proto == IPPROTO_TCP && f->l2_len != 0 &&
	           (f->state == FLOW_ESTABLISHED || f->state == FLOW_CLOSING);
}

/* Describe and remove the victims the stream stage and those after it
 * named in ctx->evict[from..]: each gave up a place in a pool (already
 * freed), and a connection that lost its state cannot go on.  A victim
 * named twice is removed once; the second record is voided. */
static void
flow_take_evictions(struct flow_table *ft, struct pkt_ctx *ctx, unsigned from)
{
	for (unsigned i = from; i < ctx->n_evict; i++) {
		struct pkt_evict *e = &ctx->evict[i];
		struct flow *f;
		uint32_t idx;

		if (e->victim == NULL)
			continue;
		f = hold_entry(e->victim, struct flow, stream);
		idx = (uint32_t)(f - ft->flows);
		if (!f->in_use) {
			e->victim = NULL;
			e->event = NULL;
			continue;
		}
		flow_evict_describe(ft, idx, e);
		flow_remove(ft, idx, 0);
	}
}

/* Evict flow idx for a newcomer: one that both ends hold open is reset
 * both ways and logged (when ctx has room for the record; otherwise it is
 * only removed); an embryonic or closed one just goes. */
static void
flow_evict(struct flow_table *ft, uint32_t idx, struct pkt_ctx *ctx,
           const char *event)
{
	const struct flow *f = &ft->flows[idx];

	if ((f->state == FLOW_ESTABLISHED || f->state == FLOW_CLOSING) &&
	    pkt_ctx_evict_room(ctx)) {
		pkt_ctx_evict(ctx, NULL, "flow", event);
		flow_evict_describe(ft, idx, &ctx->evict[ctx->n_evict - 1]);
	}
	flow_remove(ft, idx, 0);
}

/* Make room by evicting the flow least worth keeping: closed first, then
 * embryonic (handshake not complete: a SYN flood's), stateless, and
 * established last; within a class the one idle longest. */
static int
flow_evict_one(struct flow_table *ft, struct pkt_ctx *ctx)
{
	static const uint8_t order[] = { LRU_CLOSED, LRU_HANDSHAKE,
	                                 LRU_STATELESS, LRU_ESTABLISHED };

	for (unsigned i = 0; i < RTE_DIM(order); i++) {
		uint32_t idx = ft->head[order[i]];

		if (idx == FLOW_NIL)
			continue;
		flow_evict(ft, idx, ctx, "flow_evicted");
		ft->ws->flow_evicted++;
		return 0;
	}
	return -1;
}

/* A source holding its share of the table makes room for its newcomer
 * from its own flows: the one idle longest goes (under policy "evict";
 * under "drop" the newcomer is refused).  Returns 0 when room was made. */
static int
flow_evict_own(struct flow_table *ft, uint16_t src, struct pkt_ctx *ctx)
{
	struct hold_node *n = ft->hold.src[src].oldest;

	if (!ft->conf.evict_when_full || n == NULL)
		return -1;
	flow_evict(ft, (uint32_t)(hold_entry(n, struct flow, hold) - ft->flows),
	           ctx, "flow_share_evicted");
	ft->ws->flow_share_evicted++;
	return 0;
}

void
flow_expire(struct flow_table *ft, uint64_t now, unsigned budget,
            struct pkt_ctx *ctx)
{
	/* Stalled work first: a stage ends what timed out and names the
	 * flows, which are reset and removed here. */
	stream_expire(ft->sw, now, ctx);
	flow_take_evictions(ft, ctx, 0);

	for (unsigned lru = 0; lru < LRU_COUNT && budget > 0; lru++) {
		while (budget > 0 && ft->head[lru] != FLOW_NIL) {
			uint32_t idx = ft->head[lru];

			if (now - ft->flows[idx].last_tsc < ft->timeout_tsc[lru])
				break;
			if (lru == LRU_CLOSED)
				ft->ws->flow_closed++;
			else
				ft->ws->flow_timed_out++;
			flow_remove(ft, idx, 0);
			budget--;
		}
	}
}

/* ---- classification ------------------------------------------------------ */

/* Which end is side "a" needs only some total order on (address, port)
 * that both directions agree on, not byte order: two 64-bit compares
 * instead of a memcmp call per packet. */
static int
flow_key_src_is_b(const struct pkt_meta *pm)
{
	uint64_t s[2], d[2];

	memcpy(s, pm->src, 16);
	memcpy(d, pm->dst, 16);
	if (s[0] != d[0])
		return s[0] > d[0];
	if (s[1] != d[1])
		return s[1] > d[1];
	return pm->sport > pm->dport;
}

/* Returns 1 when the packet's source is key side "b". */
static int
flow_key_make(const struct pkt_meta *pm, struct flow_key *k)
{
	int swapped = flow_key_src_is_b(pm);

	memset(k, 0, sizeof(*k));
	memcpy(k->a, swapped ? pm->dst : pm->src, 16);
	memcpy(k->b, swapped ? pm->src : pm->dst, 16);
	k->port_a = swapped ? pm->dport : pm->sport;
	k->port_b = swapped ? pm->sport : pm->dport;
	k->proto = pm->proto;
	k->ip_version = pm->ip_version;
	return swapped;
}

uint32_t
flow_symmetric_hash(const struct pkt_meta *pm, uint32_t seed)
{
	struct flow_key k;

	flow_key_make(pm, &k);
	return rte_jhash(&k, sizeof(k), seed);
}

static int
flow_is_http_port(const struct flow_table *ft, uint16_t port)
{
	return (ft->http_port[port >> 3] >> (port & 7)) & 1;
}

static void
flow_init(struct flow_table *ft, struct flow *f, const struct pkt_meta *pm,
          int client_is_a, uint8_t client_side, int server_port,
          uint64_t now)
{
	f->in_use = 1;
	f->client_is_a = (uint8_t)client_is_a;
	f->client_side = client_side;
	f->proto = pm->proto;
	f->blocked = 0;
	f->fin_client = f->fin_server = 0;
	f->l2_len = 0;
	memset(f->flowbits, 0, sizeof(f->flowbits));
	f->last_tsc = now;
	f->id = ((uint64_t)ft->conf.worker_id << 48) | (++ft->next_id);
	f->state = pm->proto == IPPROTO_TCP ? FLOW_SYN_SENT : FLOW_STATELESS;
	if (pm->proto == IPPROTO_TCP)
		stream_flow_init(&f->stream, flow_is_http_port(ft, (uint16_t)server_port),
		                 ft->conf.http_probe);
}

/* The side the client sends from, given whether this packet is the
 * client's. */
static uint8_t
flow_client_side(const struct pkt_ctx *ctx, int from_client)
{
	if (ctx->in_side == PKT_SIDE_ANY || from_client)
		return ctx->in_side;
	return ctx->in_side ^ 1;
}

/* Find or create the flow of ctx->pm.  Returns its slot, or -1 when the
 * packet must be dropped (reason counted). */
static int32_t
flow_lookup_or_create(struct flow_table *ft, struct pkt_ctx *ctx,
                      int *swapped, uint64_t now)
{
	const struct pkt_meta *pm = &ctx->pm;
	struct flow_key key;
	int32_t pos;
	int client_is_a;
	uint16_t server_port, src;

	*swapped = flow_key_make(pm, &key);
	pos = rte_hash_lookup(ft->hash, &key);
	if (pos >= 0)
		return pos;

	client_is_a = !*swapped;
	server_port = pm->dport;
	if (pm->proto == IPPROTO_TCP &&
	    (pm->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) != PKT_TCP_SYN) {
		if (!ft->conf.bypass_midstream) {
			ft->ws->drop_flow_midstream++;
			return -1;
		}
		/* Guess the server: the side on a well-known HTTP port, else
		 * the lower port. */
		if (!flow_is_http_port(ft, pm->dport) &&
		    (flow_is_http_port(ft, pm->sport) || pm->sport < pm->dport)) {
			client_is_a = *swapped;
			server_port = pm->sport;
		}
	}
	src = hold_src_bucket(client_is_a ? key.a : key.b, pm->ip_version,
	                      ft->conf.hash_seed);
	if (hold_src_count(&ft->hold, src) >= ft->hold.share_max &&
	    flow_evict_own(ft, src, ctx) != 0) {
		ft->ws->drop_flow_share++;
		return -1;
	}
	if (ft->count >= ft->conf.capacity &&
	    (!ft->conf.evict_when_full || flow_evict_one(ft, ctx) != 0)) {
		ft->ws->drop_flow_table_full++;
		return -1;
	}
	pos = rte_hash_add_key(ft->hash, &key);
	if (unlikely(pos < 0)) {
		ft->ws->drop_flow_table_full++;
		return -1;
	}
	flow_init(ft, &ft->flows[pos], pm, client_is_a,
	          flow_client_side(ctx, client_is_a == !*swapped), server_port,
	          now);
	if (pm->proto == IPPROTO_TCP &&
	    (pm->tcp_flags & (PKT_TCP_SYN | PKT_TCP_ACK)) != PKT_TCP_SYN) {
		/* Mid-stream pick-up under bypass: forwarded, not inspected. */
		ft->ws->flow_midstream_bypass++;
		ctx->events |= PKT_EVENT_MIDSTREAM_BYPASS;
		ft->flows[pos].state = FLOW_ESTABLISHED;
		ft->flows[pos].stream.inspect = 0;
		ft->flows[pos].stream.probed = 1;
	}
	flow_lru_append(ft, (uint32_t)pos, flow_lru_of(&ft->flows[pos]));
	hold_take(&ft->hold, &ft->flows[pos].hold, src, now);
	ft->count++;
	ft->ws->flow_created++;
	return pos;
}

static void
flow_fill_tuple(const struct flow_table *ft, struct flow *f,
                struct pkt_ctx *ctx)
{
	uint64_t tsc_per_ms = ft->conf.tsc_hz / 1000;
	const struct pkt_meta *pm = &ctx->pm;
	struct detect_tuple *t = &ctx->tuple;

	if (ctx->to_server) {
		memcpy(t->src, pm->src, 16);
		memcpy(t->dst, pm->dst, 16);
		t->sport = pm->sport;
		t->dport = pm->dport;
	} else {
		memcpy(t->src, pm->dst, 16);
		memcpy(t->dst, pm->src, 16);
		t->sport = pm->dport;
		t->dport = pm->sport;
	}
	t->ip_version = pm->ip_version;
	t->flowbits = f->flowbits;
	t->now_ms = tsc_per_ms ? f->last_tsc / tsc_per_ms : 0;
	ctx->flow_id = f->id;
}

/* A bare SYN on a closed flow, or from the other side of a handshake that
 * has not completed, starts a new connection whose client is the SYN's
 * sender.  (Letting the first SYN seen fix the roles for good would let a
 * forged SYN from the server's address make the real client's requests
 * "responses" that nobody inspects.) */
static void
flow_tcp_restart(struct flow_table *ft, struct flow *f, struct pkt_ctx *ctx,
                 int swapped)
{
	uint8_t fl = ctx->pm.tcp_flags;

	if ((fl & (PKT_TCP_SYN | PKT_TCP_ACK | PKT_TCP_RST | PKT_TCP_FIN)) !=
	    PKT_TCP_SYN)
		return;
	if (f->state != FLOW_CLOSED &&
	    !(f->state <= FLOW_SYN_RCVD && !ctx->to_server))
		return;
	stream_flow_release(ft->sw, &f->stream, 0);
	flow_init(ft, f, &ctx->pm, !swapped, ctx->in_side, ctx->pm.dport,
	          f->last_tsc);
	ft->ws->flow_reused++;
	ctx->to_server = 1;
	flow_fill_tuple(ft, f, ctx);
}

/* TCP state transitions before the segment is processed.  Returns 0 to go
 * on, -1 to drop the segment (counted). */
static int
flow_tcp_state(struct flow_table *ft, struct flow *f, struct pkt_ctx *ctx)
{
	uint8_t fl = ctx->pm.tcp_flags;
	int syn_ack = (fl & (PKT_TCP_SYN | PKT_TCP_ACK)) ==
	              (PKT_TCP_SYN | PKT_TCP_ACK);

	if (syn_ack && !ctx->to_server && f->state == FLOW_SYN_SENT) {
		f->state = FLOW_SYN_RCVD;
		stream_syn_acked(&f->stream, ctx->pm.ack);
	} else if ((fl & PKT_TCP_ACK) && !(fl & PKT_TCP_SYN) &&
	           ctx->to_server && f->state == FLOW_SYN_RCVD) {
		f->state = FLOW_ESTABLISHED;
	}
	if (ctx->pm.payload_len > 0 && f->state == FLOW_SYN_SENT) {
		/* Data before the server accepted: nothing legitimate sends
		 * this without TCP Fast Open, which we do not inspect. */
		ft->ws->drop_tcp_state++;
		return -1;
	}
	if ((fl & PKT_TCP_SYN) && f->state >= FLOW_ESTABLISHED &&
	    f->state != FLOW_STATELESS && !(syn_ack && !ctx->to_server)) {
		/* a SYN inside a connection: the endpoint refuses it */
		ft->ws->drop_tcp_state++;
		return -1;
	}
	return 0;
}

/* RST and FIN change the state only if the endpoints would act on them:
 * an out-of-window RST or an out-of-order FIN must not close (and so
 * soon evict) a flow that is still carrying data. */
static void
flow_tcp_after(struct flow_table *ft, struct flow *f,
               const struct pkt_ctx *ctx, int rst_ok)
{
	uint8_t fl = ctx->pm.tcp_flags;

	if (fl & PKT_TCP_RST) {
		if (rst_ok)
			f->state = FLOW_CLOSED;
		else
			ft->ws->flow_rst_ignored++;
		return;
	}
	if ((fl & PKT_TCP_FIN) &&
	    stream_take_fin(ft->sw, &f->stream, ctx->to_server, &ctx->pm)) {
		if (ctx->to_server)
			f->fin_client = 1;
		else
			f->fin_server = 1;
		f->state = (f->fin_client && f->fin_server) ? FLOW_CLOSED
		                                            : FLOW_CLOSING;
	}
}

/* Keep the L2 header of a client packet and the port it came in on: a
 * flow evicted later is reset with them. */
static void
flow_note_l2(struct flow *f, const struct rte_mbuf *m,
             const struct pkt_ctx *ctx)
{
	uint16_t n = ctx->pm.l3_off;

	if (n > sizeof(f->l2) || rte_pktmbuf_data_len(m) < n)
		return;         /* deeper tags: such a flow is not reset */
	memcpy(f->l2, rte_pktmbuf_mtod(m, const uint8_t *), n);
	f->l2_len = (uint8_t)n;
	f->client_port = ctx->in_port;
}

/* In live mode each side has its own port: a packet whose direction (by
 * address) disagrees with the port it came in on is forged. */
static int
flow_side_ok(const struct flow *f, const struct pkt_ctx *ctx)
{
	uint8_t expect;

	if (ctx->in_side == PKT_SIDE_ANY || f->client_side == PKT_SIDE_ANY)
		return 1;
	expect = ctx->to_server ? f->client_side : f->client_side ^ 1;
	return ctx->in_side == expect;
}

void
flow_input(struct flow_table *ft, struct rte_mbuf *m, struct pkt_ctx *ctx,
           uint64_t now)
{
	struct flow *f;
	int32_t idx;
	int swapped, rst_ok;
	unsigned evicted_before;

	idx = flow_lookup_or_create(ft, ctx, &swapped, now);
	evicted_before = ctx->n_evict;  /* the flow table's own, described */
	if (idx < 0) {
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}
	f = &ft->flows[idx];
	ctx->to_server = f->client_is_a == !swapped;
	ctx->src_bucket = f->hold.src;
	ctx->now_tsc = now;
	flow_fill_tuple(ft, f, ctx);
	if (f->proto == IPPROTO_TCP && !f->blocked)
		flow_tcp_restart(ft, f, ctx, swapped);
	if (!flow_side_ok(f, ctx)) {
		ft->ws->drop_flow_wrong_side++;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		return;
	}

	if (unlikely(f->l2_len == 0) && ctx->to_server)
		flow_note_l2(f, m, ctx);
	if (f->blocked) {
		ft->ws->drop_flow_blocked++;
		if (f->blocked == PKT_FLOW_BLOCKED_PAGE && ctx->to_server &&
		    (ctx->pm.tcp_flags & (PKT_TCP_FIN | PKT_TCP_RST)) ==
		    PKT_TCP_FIN)
			ctx->rst_reply = 1;
		pkt_ctx_emit(ctx, m, PKT_DROP);
		flow_touch(ft, (uint32_t)idx, now);
		return;
	}
	if (f->proto != IPPROTO_TCP) {
		pkt_ctx_emit(ctx, m, PKT_FORWARD);
		flow_touch(ft, (uint32_t)idx, now);
		return;
	}
	if (flow_tcp_state(ft, f, ctx) != 0) {
		pkt_ctx_emit(ctx, m, PKT_DROP);
		flow_touch(ft, (uint32_t)idx, now);
		return;
	}
	/* judged before the segment moves the sequence numbers */
	rst_ok = (ctx->pm.tcp_flags & PKT_TCP_RST) &&
	         stream_rst_acceptable(&f->stream, ctx->to_server, &ctx->pm);
	ctx->flow_block = &f->blocked;
	{
		BENCH_ENTER(BENCH_STREAM);
		stream_input(ft->sw, &f->stream, m, ctx);
		BENCH_LEAVE();
	}
	if (ctx->flow_blocked)
		f->blocked = PKT_FLOW_BLOCKED;
	flow_tcp_after(ft, f, ctx, rst_ok);
	flow_touch(ft, (uint32_t)idx, now);
	/* after the touch: the victims are other flows, never this one */
	if (ctx->n_evict != evicted_before)
		flow_take_evictions(ft, ctx, evicted_before);
}

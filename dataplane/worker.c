/*
 * worker.c - one worker: its assembly from the config and the per-lcore
 * packet loop (see worker.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "bench.h"
#include "config.h"
#include "decode.h"
#include "detect.h"
#include "eve.h"
#include "flow.h"
#include "forward.h"
#include "http.h"
#include "l3.h"
#include "port.h"
#include "stream.h"
#include "verdict.h"
#include "worker.h"

volatile sig_atomic_t worker_force_quit;
volatile int worker_all_launched;

#ifdef IPS_BENCH_CYCLES
__thread struct bench_cycles bench_tls;
#endif

/* Flows expired per burst at most: bounds the work one burst can add. */
#define WORKER_EXPIRE_BUDGET 64
/* Consecutive empty polls after which a replay input is exhausted:
 * net_pcap returns nothing only at end of file, the margin is cheap. */
#define WORKER_REPLAY_IDLE_POLLS 256
#define WORKER_PREFETCH_AHEAD 3

/* ---- assembly ------------------------------------------------------------ */

/*
 * Mbufs one worker can have out at once: its RX rings full, every TX ring
 * it feeds full, a burst in hand, segments the stream holds, segments it
 * keeps (their bytes bound, at STREAM_KEPT_SEG_MIN_AVG each at the least),
 * fragments awaiting reassembly (up to 4 each on average), packets waiting
 * for a neighbor (L3 mode), resets, and the per-lcore cache.  A preloaded
 * capture lives in the pool for the whole run on top of that.
 */
static unsigned
worker_pool_size(const struct ips_config *c, const struct worker_setup *s)
{
	const struct config_limits *l = &c->limits;

	if (l->mbufs != 0)
		return l->mbufs + (unsigned)s->preloaded;
	return s->n_rxq * PORT_RX_DESC + s->n_ports * PORT_TX_DESC +
	       2 * WORKER_BURST + l->stream_held +
	       l->stream_kept_bytes / STREAM_KEPT_SEG_MIN_AVG +
	       4 * l->frag_datagrams + l3_held_max(c) +
	       1024 + RTE_MEMPOOL_CACHE_MAX_SIZE + (unsigned)s->preloaded;
}

static int __attribute__((format(printf, 4, 5)))
worker_fail(struct worker *w, char *err, size_t errlen, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "worker %u: ", w->id);
	va_list ap;

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	worker_free(w);
	return -1;
}

/* The packet pools, then the stages in reverse packet order: each stage
 * is created with the next one it hands packets to. */
static int
worker_build(struct worker *w, const struct ips_config *c,
             const struct worker_setup *s, const struct ips_detect_db *db,
             int socket, char *err, size_t errlen)
{
	struct decode_conf dc;
	struct http_conf hc;
	struct stream_conf sc;
	struct flow_conf fc;
	struct fwd_conf fw;
	struct verdict_conf vc;
	struct detect_pools pools;
	char name[64];
	char why[256];
	unsigned n_mbufs = worker_pool_size(c, s);

	snprintf(name, sizeof(name), "mbufs_w%u", s->id);
	w->pool = port_pool_create(name, n_mbufs, RTE_MEMPOOL_CACHE_MAX_SIZE,
	                           RTE_MBUF_DEFAULT_BUF_SIZE, socket,
	                           (s->packed_pool ? PORT_POOL_ONE_VA_AREA : 0) |
	                           (s->preloaded > 0 ? PORT_POOL_THP : 0));
	if (w->pool == NULL)
		return worker_fail(w, err, errlen, "mbuf pool of %u: %s (raise "
		                   "-m in eal?)", n_mbufs,
		                   rte_strerror(rte_errno));
	/* Re-fragmentation's payload pieces point into the datagram (no
	 * data room); they live until TX sends them: two TX rings' worth. */
	snprintf(name, sizeof(name), "indirect_w%u", s->id);
	w->indirect = rte_pktmbuf_pool_create(name, 2 * PORT_TX_DESC, 0, 0, 0,
	                                      socket);
	if (w->indirect == NULL)
		return worker_fail(w, err, errlen, "indirect pool: %s",
		                   rte_strerror(rte_errno));
	w->eve = eve_ring_create(s->id, c->limits.alert_ring, socket);
	if (w->eve == NULL)
		return worker_fail(w, err, errlen, "alert ring: %s",
		                   rte_strerror(rte_errno));

	if (s->l3 != NULL) {
		w->l3 = l3_worker_create(s->l3, s->id, w->pool, &w->stats,
		                         socket, why, sizeof(why));
		if (w->l3 == NULL)
			return worker_fail(w, err, errlen, "%s", why);
	}
	memset(&fw, 0, sizeof(fw));
	fw.l3 = w->l3;
	fw.n_ports = rte_eth_dev_count_avail();
	fw.queue = s->tx_queue;
	fw.replay = s->replay;
	fw.public_port = s->public_port;
	fw.private_port = s->private_port;
	fw.pool = w->pool;
	fw.indirect = w->indirect;
	for (uint16_t p = 0; p < FWD_MAX_PORTS; p++) {
		fw.peer[p] = p < RTE_MAX_ETHPORTS ? s->peer[p] : FWD_NO_PORT;
		if (p >= fw.n_ports || rte_eth_dev_get_mtu(p, &fw.mtu[p]) != 0)
			fw.mtu[p] = RTE_ETHER_MTU;
	}
	w->fwd = fwd_worker_create(&fw, &w->stats, socket);
	if (w->fwd == NULL)
		return worker_fail(w, err, errlen, "forward: bad port count");
	verdict_conf_init(&vc, c);
	vc.alert_id_base = verdict_alert_id_base(s->id, (uint64_t)time(NULL));
	w->verdict = verdict_worker_create(&vc, w->fwd, w->pool, w->eve,
	                                   &w->stats, socket);
	if (w->verdict == NULL)
		return worker_fail(w, err, errlen, "verdict: out of memory");
	pools = (struct detect_pools){
		.body_streams = c->limits.body_streams,
		.raw_streams = c->limits.raw_streams,
		.raw_windows = c->limits.raw_windows,
		.tls_handshakes = c->limits.tls_handshakes,
		.response_bodies = c->limits.http_responses,
		.source_share_pct = c->limits.source_share,
	};
	w->detect = detect_worker_create(db, &pools, &w->stats, why,
	                                 sizeof(why));
	if (w->detect == NULL)
		return worker_fail(w, err, errlen, "detect: %s", why);
	detect_worker_share_xbits(w->detect, s->xbits, s->id);
	http_conf_init(&hc, c);
	hc.tsc_hz = rte_get_tsc_hz();
	w->http = http_worker_create(&hc, w->detect, &w->stats);
	if (w->http == NULL)
		return worker_fail(w, err, errlen, "http: out of memory");
	stream_conf_init(&sc, c, rte_get_tsc_hz());
	w->stream = stream_worker_create(&sc, w->http, w->detect, &w->stats);
	if (w->stream == NULL)
		return worker_fail(w, err, errlen, "stream: out of memory");
	flow_conf_init(&fc, c);
	fc.tsc_hz = rte_get_tsc_hz();
	fc.hash_seed = s->hash_seed;
	fc.worker_id = s->id;
	fc.socket = socket;
	w->flows = flow_table_create(&fc, w->stream, &w->stats);
	if (w->flows == NULL)
		return worker_fail(w, err, errlen, "flow table of %u: %s",
		                   fc.capacity, rte_strerror(rte_errno));
	decode_conf_init(&dc, c);
	w->decode = decode_worker_create(&dc, socket, &w->stats);
	if (w->decode == NULL)
		return worker_fail(w, err, errlen, "decode: out of memory");
	return 0;
}

struct worker *
worker_create(const struct ips_config *c, const struct worker_setup *s,
              const struct ips_detect_db *db, char *err, size_t errlen)
{
	int socket = (int)rte_lcore_to_socket_id(s->lcore);
	struct worker *w;

	w = rte_zmalloc_socket("worker", sizeof(*w), 64, socket);
	if (w == NULL) {
		snprintf(err, errlen, "worker %u: out of memory", s->id);
		return NULL;
	}
	w->id = s->id;
	w->lcore = s->lcore;
	w->n_rxq = s->n_rxq;
	memcpy(w->rxq, s->rxq, sizeof(w->rxq));
	memcpy(w->port_side, s->port_side, sizeof(w->port_side));
	w->stop_when_idle = s->replay;
	w->inspect = s->inspect;
	w->rx_budget = s->rx_budget;
	if (worker_build(w, c, s, db, socket, err, errlen) < 0)
		return NULL;            /* worker_fail freed it */
	return w;
}

void
worker_stop(struct worker *w)
{
	/* Flows first: releasing them counts what is still held. */
	flow_table_free(w->flows);
	w->flows = NULL;
	if (w->decode != NULL)
		decode_drain(w->decode);
	decode_worker_free(w->decode);
	w->decode = NULL;
	verdict_worker_free(w->verdict);
	w->verdict = NULL;
	fwd_worker_free(w->fwd);           /* sends what l3 made */
	w->fwd = NULL;
	l3_worker_free(w->l3);             /* counts what it still holds */
	w->l3 = NULL;
	stream_worker_free(w->stream);
	w->stream = NULL;
	http_worker_free(w->http);
	w->http = NULL;
	detect_worker_free(w->detect);
	w->detect = NULL;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_stop(w);
	rte_ring_free(w->eve);
	rte_mempool_free(w->indirect);
	rte_mempool_free(w->pool);
	rte_free(w);
}

/* ---- the loop -------------------------------------------------------------- */

/* L3 mode: is m transit traffic to inspect and route?  If not, the l3
 * stage answered it, kept it, or it is dropped here (reason counted). */
static int
worker_l3(struct worker *w, struct rte_mbuf *m, uint16_t port, uint64_t now)
{
	switch (l3_input(w->l3, m, &w->ctx.pm, port, w->ctx.in_side, now)) {
	case L3_TRANSIT:
		return 1;
	case L3_DROP:
		rte_pktmbuf_free(m);
		return 0;
	default:
		return 0;
	}
}

static void
worker_packet(struct worker *w, struct rte_mbuf *m, uint16_t port,
              uint64_t now)
{
	struct pkt_ctx *ctx = &w->ctx;

	w->stats.rx_packets++;
	w->stats.rx_bytes += m->pkt_len;
	pkt_ctx_reset(ctx);
	ctx->in_port = port;
	ctx->in_side = w->port_side[port];
	BENCH_MARK(BENCH_DECODE);
	switch (decode_packet(w->decode, &m, &ctx->pm, now)) {
	case DECODE_OK:
		/* a rebuilt datagram may need cutting again at the egress
		 * MTU; anything else leaves as it came (DF and all) */
		m->l2_len = ctx->pm.reassembled ? ctx->pm.l3_off : 0;
		if (w->l3 != NULL && !worker_l3(w, m, port, now))
			return;
		if (unlikely(!w->inspect)) {
			verdict_pass(w->verdict, m, port);
			return;
		}
		break;
	case DECODE_NOT_IP:
		m->l2_len = 0;
		if (w->l3 != NULL)
			worker_l3(w, m, port, now);     /* ARP, or dropped */
		else
			verdict_pass(w->verdict, m, port);
		return;
	case DECODE_HELD:
		return;
	default:
		rte_pktmbuf_free(m);    /* reason counted by decode */
		return;
	}
	BENCH_MARK(BENCH_FLOW);
	flow_input(w->flows, m, ctx, now);
	BENCH_MARK(BENCH_VERDICT);
	verdict_apply(w->verdict, ctx);
	BENCH_MARK(BENCH_RX);
}

static uint16_t
worker_poll(struct worker *w, uint64_t now)
{
	struct rte_mbuf *pkts[WORKER_BURST];
	uint16_t total = 0;

	for (uint16_t q = 0; q < w->n_rxq; q++) {
		uint16_t port = w->rxq[q].port;
		uint16_t want = WORKER_BURST;
		uint16_t n;

		/* A preloaded capture loops forever: read exactly one pass. */
		if (w->rx_budget != 0 &&
		    w->rx_budget - w->stats.rx_packets < want)
			want = (uint16_t)(w->rx_budget - w->stats.rx_packets);
		n = rte_eth_rx_burst(port, w->rxq[q].queue, pkts, want);

		for (uint16_t i = 0; i < n && i < WORKER_PREFETCH_AHEAD; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
		for (uint16_t i = 0; i < n; i++) {
			if (i + WORKER_PREFETCH_AHEAD < n)
				rte_prefetch0(rte_pktmbuf_mtod(
					pkts[i + WORKER_PREFETCH_AHEAD], void *));
			worker_packet(w, pkts[i], port, now);
		}
		total += n;
	}
	return total;
}

/* A system call (no vDSO for thread clocks): twice per run only. */
static uint64_t
worker_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned idle = 0;
	uint64_t round_tsc = rte_rdtsc();

#ifdef IPS_BENCH_CYCLES
	bench_tls.last = __rdtsc();
	bench_tls.cur = BENCH_RX;
#endif

	while (!worker_all_launched && !worker_force_quit)
		rte_pause();
	if (w->rcu != NULL)
		rte_rcu_qsbr_thread_online(w->rcu, w->id);
	while (!worker_force_quit) {
		uint64_t now;

		/* Between bursts the worker holds no pointer into a rule set
		 * (alerts left as copies): take up a reloaded one and report
		 * quiescence, so the old one can go (DESIGN §4).  Neither
		 * waits. */
		if (w->rcu != NULL) {
			detect_worker_sync(w->detect);
			rte_rcu_qsbr_quiescent(w->rcu, w->id);
		}
		now = rte_rdtsc();
		w->stats.worker_cycles += now - round_tsc;
		round_tsc = now;
		if (w->l3 != NULL)
			l3_poll(w->l3, now);
		uint16_t n = worker_poll(w, now);

		BENCH_MARK(BENCH_FORWARD);
		fwd_flush(w->fwd);
		BENCH_MARK(BENCH_RX);
		decode_flush(w->decode);
		pkt_ctx_reset(&w->ctx);
		flow_expire(w->flows, now, WORKER_EXPIRE_BUDGET, &w->ctx);
		if (unlikely(w->ctx.n_evict != 0))
			verdict_apply(w->verdict, &w->ctx);
		if (n > 0) {
			if (unlikely(w->first_rx_tsc == 0)) {
				w->first_rx_tsc = now;
				w->cpu_ns_first_rx = worker_cpu_ns();
			}
			w->last_rx_tsc = rte_rdtsc();
			w->stats.worker_busy_cycles += w->last_rx_tsc - now;
			idle = 0;
		} else if (w->stop_when_idle &&
		           ++idle >= WORKER_REPLAY_IDLE_POLLS) {
			break;
		}
		if (w->rx_budget != 0 && w->stats.rx_packets >= w->rx_budget)
			break;
	}
	fwd_flush(w->fwd);
	w->cpu_ns_end = worker_cpu_ns();
	if (w->rcu != NULL)
		rte_rcu_qsbr_thread_offline(w->rcu, w->id);
#ifdef IPS_BENCH_CYCLES
	BENCH_MARK(BENCH_RX);
	w->bench = bench_tls;
#endif
	w->done = 1;
	return 0;
}

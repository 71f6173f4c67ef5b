/*
 * worker.h - one run-to-completion worker lcore.
 *
 * Owns: the worker's RX queues (one per port), its mbuf pools, its alert
 * ring, every stage context (decode, flow, stream, HTTP, detect, verdict,
 * forward) and its counters: worker_create builds them all from the
 * config, worker_free frees them all.  The loop mirrors DPDK's l3fwd lpm_main_loop: read a burst,
 * take every packet through decode -> (l3) -> flow -> stream -> HTTP ->
 * detect -> verdict -> forward, flush TX, free expired fragments and idle
 * flows.  In L3 mode the l3 stage answers what is for the gateway itself
 * (ARP, ND, ping), drops what the gateway does not route, and lets the
 * rest go on with its TTL decremented.
 * Nothing in the loop allocates, locks, logs or makes a syscall.
 */
#ifndef IPS_WORKER_H
#define IPS_WORKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_config.h>

#include "bench.h"
#include "pkt_ctx.h"
#include "stats.h"

#define WORKER_BURST 32
#define WORKER_MAX_RXQ 16

struct decode_worker;
struct detect_worker;
struct flow_table;
struct fwd_worker;
struct http_worker;
struct ips_config;
struct l3_routes;
struct l3_worker;
struct ips_detect_db;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;
struct stream_worker;
struct verdict_worker;

struct worker_rxq {
	uint16_t port;
	uint16_t queue;
};

struct worker {
	struct worker_stats stats;      /* first: its own cache lines */
	unsigned id;
	unsigned lcore;
	uint16_t n_rxq;
	struct worker_rxq rxq[WORKER_MAX_RXQ];
	uint8_t port_side[RTE_MAX_ETHPORTS];   /* PKT_SIDE_* by port id */
	uint8_t stop_when_idle;         /* replay: input exhausted = done */
	uint8_t inspect;                /* 0: decode and forward only (the
	                                 * benchmark's I/O limit) */
	uint64_t rx_budget;             /* preloaded replay: packets of one
	                                 * pass; 0 = unlimited */
	volatile uint8_t done;
	uint64_t first_rx_tsc;
	uint64_t last_rx_tsc;
	uint64_t cpu_ns_first_rx;       /* thread CPU time at the first
	                                 * packet, and when the loop ended:
	                                 * its work without time other
	                                 * threads took from its CPU */
	uint64_t cpu_ns_end;
	struct decode_worker *decode;
	struct flow_table *flows;
	struct stream_worker *stream;
	struct http_worker *http;
	struct detect_worker *detect;
	struct verdict_worker *verdict;
	struct fwd_worker *fwd;
	struct l3_worker *l3;           /* L3 mode, else NULL */
	struct rte_mempool *pool;       /* packets: RX, resets, fragments */
	struct rte_mempool *indirect;   /* re-fragmentation payload pieces */
	struct rte_ring *eve;           /* alert records to the service thread */
	struct rte_rcu_qsbr *rcu;       /* reload's; NULL: no reloads (its
	                                 * detect set is synced per burst) */
	struct pkt_ctx ctx;
	struct bench_cycles bench;      /* bench builds: copied at exit */
} __attribute__((aligned(64)));

/* What the process decides for one worker before it is built: which
 * queues it reads, which side each port faces, how it ends. */
struct worker_setup {
	unsigned id;
	unsigned lcore;
	uint16_t n_rxq;
	struct worker_rxq rxq[WORKER_MAX_RXQ];
	uint8_t port_side[RTE_MAX_ETHPORTS];   /* PKT_SIDE_* by port id */
	uint16_t peer[RTE_MAX_ETHPORTS];        /* live L2 pairs: port ->
	                                         * port, FWD_NO_PORT = none */
	uint16_t n_ports;               /* ports with a TX ring this worker
	                                 * feeds (mbuf pool sizing) */
	uint16_t tx_queue;              /* this worker's TX queue */
	uint8_t replay;                 /* one public and one private port;
	                                 * input exhausted = done */
	uint16_t public_port;           /* replay */
	uint16_t private_port;          /* replay */
	uint8_t inspect;
	uint64_t preloaded;             /* preload: packets of one pass, kept
	                                 * in the pool for the whole run */
	uint64_t rx_budget;             /* preload: packets to read (passes
	                                 * times preloaded); 0 = unlimited */
	uint32_t hash_seed;             /* flow table key: random per process */
	struct l3_routes *l3;           /* L3 mode: the shared routes; NULL
	                                 * in L2 mode and replay */
	struct xbits *xbits;            /* every worker's xbits tables */
	uint8_t packed_pool;            /* a port is net_af_xdp: see
	                                 * PORT_POOL_ONE_VA_AREA */
};

/*
 * Build worker s->id: its pools, alert ring and every stage, each stage
 * configured from c; detection reads db (not owned, must outlive the
 * worker).  Setup only, main thread.
 *
 * Returns the worker, or NULL with the stage that failed and why in err
 * (nothing is left allocated).
 */
struct worker *worker_create(const struct ips_config *c,
                             const struct worker_setup *s,
                             const struct ips_detect_db *db,
                             char *err, size_t errlen);

/*
 * Free the stages after the loop has ended: flows first (releasing them
 * counts what is still held), then fragments, then the rest; the held
 * mbufs go back to the pool.  The counters, the pools and the alert ring
 * stay (the summary reads the counters, the service thread drains the
 * ring).  Idempotent.  Main thread, the worker's lcore stopped.
 */
void worker_stop(struct worker *w);

/*
 * Free everything worker_create made (worker_stop first if not done).
 * Call after the ports are closed: their rings hold mbufs of the pool.
 * w may be NULL.  Main thread.
 */
void worker_free(struct worker *w);

/* Set by the signal handler; every worker leaves its loop. */
extern volatile sig_atomic_t worker_force_quit;

/* Workers wait for this before their first poll, so that they start
 * together once all are launched: a replay's timed window is from the
 * first worker's first packet to the last one's last, and a worker that
 * started late would stretch it. */
extern volatile int worker_all_launched;

/* rte_eal_remote_launch entry point; arg is the struct worker. */
int worker_main(void *arg);

#endif /* IPS_WORKER_H */

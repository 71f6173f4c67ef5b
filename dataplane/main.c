/*
 * main.c - ips-dataplane: start-up, the service thread, shut-down.
 *
 * Owns the process: reads the config, builds the EAL arguments (ports as
 * --vdev / -a, the PMD plugins they need), loads the signatures, creates
 * every worker's pools and stages, launches the workers, then runs the
 * service loop on the main lcore (EVE log writing) until the workers end
 * (replay) or a signal arrives.  It ends with final counters: in replay
 * mode one JSON summary line on stdout (DESIGN §11).
 *
 *   ips-dataplane --config FILE [--replay IN.pcap [--write OUT.pcap]
 *                 [--write-reverse REV.pcap]] [--eve FILE]
 *                 [--bundle FILE | --rules FILE...] [--workers N]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench.h"
#include "config.h"
#include "ctl.h"
#include "decode.h"
#include "eve.h"
#include "flow.h"
#include "forward.h"
#include "http.h"
#include "ips/detect_db.h"
#include "port.h"
#include "reload.h"
#include "replay.h"
#include "sigload.h"
#include "stats.h"
#include "stream.h"
#include "verdict.h"
#include "worker.h"

#define MAIN_MAX_WORKERS 64
/* "net_pcapN,rx_pcap=PATH,tx_pcap=PATH,infinite_rx=1" */
#define MAIN_DEVARGS_MAX (2 * REPLAY_PATH_MAX + 64)

struct main_opts {
	const char *config;
	const char *replay;
	const char *write;
	const char *write_reverse;
	const char *eve;
	const char *rules[CONFIG_MAX_RULE_FILES];
	unsigned n_rules;
	const char *bundle;
	unsigned workers;
	int preload;            /* replay from memory: infinite_rx, one pass */
	int inspect;            /* 0: decode and forward only */
	const char *control;    /* control socket path (replay: none unless
	                         * given) */
};

/* Everything a worker owns that is not in struct worker itself. */
struct main_worker_res {
	struct rte_mempool *pool;
	struct rte_mempool *indirect;
	struct rte_ring *eve;
	struct http_worker *http;
	struct detect_worker *detect;
	struct stream_worker *stream;
};

struct main_state {
	struct ips_config cfg;
	struct main_opts opts;
	struct ips_detect_db *db;
	uint16_t n_ports;
	uint16_t port_ids[CONFIG_MAX_PORTS];
	/* replay: worker w reads public port pub[w] (its share of the
	 * capture) and writes priv[w]; one TX queue each. */
	uint16_t replay_pub[MAIN_MAX_WORKERS];
	uint16_t replay_priv[MAIN_MAX_WORKERS];
	char replay_dir[256];                   /* per-worker files, N > 1 */
	char replay_in[MAIN_MAX_WORKERS][REPLAY_PATH_MAX];
	char replay_out[MAIN_MAX_WORKERS][REPLAY_PATH_MAX];
	char replay_rev[MAIN_MAX_WORKERS][REPLAY_PATH_MAX];
	uint64_t replay_packets[MAIN_MAX_WORKERS];  /* per worker, preload */
	unsigned n_workers;
	struct worker *workers[MAIN_MAX_WORKERS];
	struct main_worker_res res[MAIN_MAX_WORKERS];
	struct rte_ring *eve_rings[MAIN_MAX_WORKERS];
	struct eve_writer *eve;
	struct reload *reload;                  /* rule sets in force */
	struct ctl_server *ctl;                 /* NULL: no control socket */
	/* EAL argv and the strings behind it */
	char *eal_argv[CONFIG_MAX_EAL_ARGS + 8 * MAIN_MAX_WORKERS + 16];
	int eal_argc;
};

static void __attribute__((noreturn, format(printf, 1, 2)))
main_die(const char *fmt, ...)
{
	va_list ap;

	fputs("ips-dataplane: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* A secret key for hash tables indexed by attacker-chosen data: from the
 * kernel, not from rte_rand (seeded from the TSC without RDSEED). */
static uint32_t
main_random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		main_die("getrandom: %s", strerror(errno));
	return v;
}

static void
main_usage(void)
{
	fprintf(stderr,
	        "usage: ips-dataplane --config FILE [--replay IN.pcap "
	        "[--write OUT.pcap] [--write-reverse REV.pcap]]\n"
	        "                     [--eve FILE] [--bundle FILE | --rules "
	        "FILE...] [--workers N]\n"
	        "                     [--preload] [--inspect full|none] [--control-socket PATH]\n"
	        "  --bundle FILE   signatures compiled by ipsctl compile\n"
	        "  --rules FILE    rule files, compiled by ipsctl first "
	        "(repeatable)\n"
	        "  --control-socket PATH  instead of control.socket (live);\n"
	        "                  replay opens one only when given\n"
	        "  --preload       replay from memory (net_pcap infinite_rx), "
	        "one pass\n"
	        "  --inspect none  decode and forward only (I/O baseline)\n");
	exit(2);
}

static void
main_parse_args(int argc, char **argv, struct main_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "replay", required_argument, NULL, 'r' },
		{ "write", required_argument, NULL, 'w' },
		{ "write-reverse", required_argument, NULL, 'W' },
		{ "eve", required_argument, NULL, 'e' },
		{ "rules", required_argument, NULL, 'R' },
		{ "bundle", required_argument, NULL, 'B' },
		{ "workers", required_argument, NULL, 'n' },
		{ "preload", no_argument, NULL, 'P' },
		{ "inspect", required_argument, NULL, 'I' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->inspect = 1;
	while ((c = getopt_long(argc, argv, "c:r:w:W:e:R:B:n:PI:C:h", longopts,
	                        NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'r': o->replay = optarg; break;
		case 'w': o->write = optarg; break;
		case 'W': o->write_reverse = optarg; break;
		case 'e': o->eve = optarg; break;
		case 'R':
			if (o->n_rules == CONFIG_MAX_RULE_FILES)
				main_die("too many --rules (max %d)",
				         CONFIG_MAX_RULE_FILES);
			o->rules[o->n_rules++] = optarg;
			break;
		case 'B': o->bundle = optarg; break;
		case 'n': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end != '\0' || n == 0 || n > MAIN_MAX_WORKERS)
				main_die("--workers: expected 1..%d, got '%s'",
				         MAIN_MAX_WORKERS, optarg);
			o->workers = (unsigned)n;
			break;
		}
		case 'P': o->preload = 1; break;
		case 'C': o->control = optarg; break;
		case 'I':
			if (strcmp(optarg, "full") != 0 && strcmp(optarg, "none") != 0)
				main_die("--inspect: expected full or none");
			o->inspect = strcmp(optarg, "full") == 0;
			break;
		default:
			main_usage();
		}
	}
	if (o->config == NULL || optind != argc)
		main_usage();
	if (o->bundle != NULL && o->n_rules > 0)
		main_die("--bundle and --rules: give one or the other");
	if ((o->write != NULL || o->write_reverse != NULL || o->preload) &&
	    o->replay == NULL)
		main_die("--write, --write-reverse and --preload need --replay");
}

/* ---- EAL arguments ----------------------------------------------------- */

static void
main_eal_push(struct main_state *st, const char *arg)
{
	if ((size_t)st->eal_argc + 1 >= RTE_DIM(st->eal_argv))
		main_die("too many EAL arguments");
	st->eal_argv[st->eal_argc++] = strdup(arg);
}

static int
main_eal_has(const struct ips_config *c, const char *const *flags)
{
	for (unsigned i = 0; i < c->n_eal_args; i++)
		for (const char *const *f = flags; *f != NULL; f++)
			if (strncmp(c->eal_args[i], *f, strlen(*f)) == 0)
				return 1;
	return 0;
}

/* Debian builds PMDs as plugins: load the mempool driver and the driver
 * of each port (the whole directory for PCI devices). */
static void
main_eal_plugins(struct main_state *st, const char *const *devargs,
                 unsigned n)
{
	static const char *const vdevs[] = { "net_pcap", "net_af_packet",
		"net_af_xdp", "net_null", "net_ring", "net_tap", "net_vhost",
		"net_virtio_user", NULL };
	const char *dir = st->cfg.pmd_dir;
	char path[512];
	int need_all = 0;

	if (dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/librte_mempool_ring.so", dir);
	main_eal_push(st, "-d");
	main_eal_push(st, path);
	for (unsigned i = 0; i < n; i++) {
		int found = 0;

		for (const char *const *v = vdevs; *v != NULL; v++) {
			if (strncmp(devargs[i], *v, strlen(*v)) != 0)
				continue;
			snprintf(path, sizeof(path), "%s/librte_%s.so", dir, *v);
			main_eal_push(st, "-d");
			main_eal_push(st, path);
			found = 1;
			break;
		}
		need_all |= !found;
	}
	if (need_all) {
		main_eal_push(st, "-d");
		main_eal_push(st, dir);
	}
}

static void
main_build_eal_args(struct main_state *st, const char *argv0,
                    const char *const *devargs, unsigned n_dev)
{
	static const char *const lcore_flags[] = { "-l", "-c", "--lcores", NULL };
	char buf[1024];

	main_eal_push(st, argv0);
	for (unsigned i = 0; i < st->cfg.n_eal_args; i++)
		main_eal_push(st, st->cfg.eal_args[i]);
	if (!main_eal_has(&st->cfg, lcore_flags)) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		/* lcore 0 runs the service thread, lcores 1..N the workers.
		 * With fewer CPUs than that, workers are spread over the CPUs
		 * and the (mostly sleeping) service thread shares CPU 0. */
		if (cpus < 1 || (long)st->n_workers + 1 <= cpus) {
			snprintf(buf, sizeof(buf), "0-%u", st->n_workers);
			main_eal_push(st, "-l");
		} else {
			size_t o = (size_t)snprintf(buf, sizeof(buf), "0@0");

			for (unsigned w = 1; w <= st->n_workers && o < sizeof(buf); w++)
				o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				                      ",%u@%ld", w, (long)(w - 1) % cpus);
			main_eal_push(st, "--lcores");
		}
		main_eal_push(st, buf);
	}
	main_eal_plugins(st, devargs, n_dev);
	for (unsigned i = 0; i < n_dev; i++) {
		int virtual = strncmp(devargs[i], "net_", 4) == 0;

		main_eal_push(st, virtual ? "--vdev" : "-a");
		main_eal_push(st, devargs[i]);
	}
	st->eal_argv[st->eal_argc] = NULL;
}

/* ---- workers ------------------------------------------------------------ */

/*
 * Mbufs one worker can have out at once: its RX rings full, every TX ring
 * it feeds full, a burst in hand, segments the stream holds or keeps,
 * fragments awaiting reassembly (up to 4 each on average), resets, and the
 * per-lcore cache.
 */
static unsigned
main_pool_size(const struct main_state *st, unsigned id, unsigned n_rxq)
{
	const struct config_limits *l = &st->cfg.limits;
	/* A preloaded capture lives in the pool for the whole run. */
	uint64_t preload = st->opts.preload ? st->replay_packets[id] : 0;

	if (l->mbufs != 0)
		return l->mbufs + (unsigned)preload;
	return n_rxq * PORT_RX_DESC + st->n_ports * PORT_TX_DESC +
	       2 * WORKER_BURST + l->stream_held + 4 * l->frag_datagrams +
	       1024 + RTE_MEMPOOL_CACHE_MAX_SIZE + (unsigned)preload;
}

static void
main_create_worker(struct main_state *st, unsigned id, unsigned lcore)
{
	const struct ips_config *c = &st->cfg;
	struct main_worker_res *r = &st->res[id];
	int socket = (int)rte_lcore_to_socket_id(lcore);
	struct worker *w;
	char name[64], err[256];

	w = rte_zmalloc_socket("worker", sizeof(*w), 64, socket);
	if (w == NULL)
		main_die("worker %u: out of memory", id);
	w->id = id;
	w->lcore = lcore;
	w->stop_when_idle = st->opts.replay != NULL;

	/* RX: this worker's queue on every port; in replay, its own port. */
	if (st->opts.replay != NULL) {
		w->rxq[0].port = st->replay_pub[id];
		w->rxq[0].queue = 0;
		w->n_rxq = 1;
	} else {
		for (uint16_t p = 0; p < st->n_ports; p++) {
			w->rxq[w->n_rxq].port = st->port_ids[p];
			w->rxq[w->n_rxq].queue = (uint16_t)id;
			w->n_rxq++;
		}
	}
	snprintf(name, sizeof(name), "mbufs_w%u", id);
	w->inspect = (uint8_t)st->opts.inspect;
	/* Live: each port faces one side.  Replay: one port carries both
	 * sides and direction comes from the flow's first SYN. */
	memset(w->port_side, PKT_SIDE_ANY, sizeof(w->port_side));
	for (unsigned p = 0; p < c->n_ports && st->opts.replay == NULL; p++)
		w->port_side[st->port_ids[p]] = c->ports[p].role == PORT_ROLE_PUBLIC
		                                ? PKT_SIDE_PUBLIC : PKT_SIDE_PRIVATE;
	if (st->opts.preload)
		w->rx_budget = st->replay_packets[id];
	r->pool = rte_pktmbuf_pool_create(name, main_pool_size(st, id, w->n_rxq),
	                                  RTE_MEMPOOL_CACHE_MAX_SIZE, 0,
	                                  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (r->pool == NULL)
		main_die("worker %u: mbuf pool of %u: %s (raise -m in eal?)", id,
		         main_pool_size(st, id, w->n_rxq), rte_strerror(rte_errno));
	r->eve = eve_ring_create(id, c->limits.alert_ring, socket);
	if (r->eve == NULL)
		main_die("worker %u: alert ring: %s", id, rte_strerror(rte_errno));
	st->eve_rings[id] = r->eve;

	struct decode_conf dc = {
		.frag_max_datagrams = c->limits.frag_datagrams,
		.frag_timeout_ms = c->limits.frag_timeout_ms,
		.verify_ip_checksum = c->policy.verify_ip_checksum,
	};
	w->decode = decode_worker_create(&dc, socket, &w->stats);
	if (w->decode == NULL)
		main_die("worker %u: decode: out of memory", id);

	r->detect = detect_worker_create(st->db, c->limits.body_streams,
	                                 c->limits.raw_streams, &w->stats,
	                                 err, sizeof(err));
	if (r->detect == NULL)
		main_die("worker %u: detect: %s", id, err);
	w->detect = r->detect;
	struct http_conf hc = {
		.max_txns = c->limits.http_transactions,
		.max_header_bytes = c->limits.http_header_bytes,
		.drop_ambiguous = c->policy.http_ambiguous == POLICY_DROP,
		.drop_malformed = c->policy.http_malformed == POLICY_DROP,
	};
	r->http = http_worker_create(&hc, r->detect, &w->stats);
	if (r->http == NULL)
		main_die("worker %u: http: out of memory", id);
	struct stream_conf sc = {
		.held_per_flow = c->limits.stream_held_per_flow,
		/* unacked data kept for overlap checks: a receive window
		 * (64 KiB = 45 full segments) needs more than the hold */
		.kept_per_flow = 4 * c->limits.stream_held_per_flow,
		.held_total = c->limits.stream_held,
		.drop_on_hold_full = c->policy.stream_hold_full == POLICY_DROP,
	};
	r->stream = stream_worker_create(&sc, r->http, r->detect, &w->stats);
	if (r->stream == NULL)
		main_die("worker %u: stream: out of memory", id);
	struct flow_conf fc = {
		.capacity = c->limits.flows,
		.timeout_syn_s = c->limits.flow_timeout_syn,
		.timeout_established_s = c->limits.flow_timeout_established,
		.timeout_closed_s = c->limits.flow_timeout_closed,
		.timeout_udp_s = c->limits.flow_timeout_udp,
		.evict_when_full = c->policy.flow_table_full == POLICY_EVICT,
		.bypass_midstream = c->policy.midstream == POLICY_BYPASS,
		.http_probe = c->http_detect_by_content,
		.http_ports = c->http_ports,
		.n_http_ports = c->n_http_ports,
		.tsc_hz = rte_get_tsc_hz(),
		.hash_seed = main_random_u32(),
		.worker_id = id,
		.socket = socket,
	};
	w->flows = flow_table_create(&fc, r->stream, &w->stats);
	if (w->flows == NULL)
		main_die("worker %u: flow table of %u: %s", id, fc.capacity,
		         rte_strerror(rte_errno));

	struct fwd_conf fw = {
		.n_ports = rte_eth_dev_count_avail(),
		.queue = st->opts.replay != NULL ? 0 : (uint16_t)id,
		.replay = st->opts.replay != NULL,
		.public_port = st->replay_pub[id],
		.private_port = st->replay_priv[id],
	};
	for (uint16_t p = 0; p < FWD_MAX_PORTS; p++) {
		fw.peer[p] = FWD_NO_PORT;
		if (p >= fw.n_ports || rte_eth_dev_get_mtu(p, &fw.mtu[p]) != 0)
			fw.mtu[p] = RTE_ETHER_MTU;
	}
	snprintf(name, sizeof(name), "indirect_w%u", id);
	/* Re-fragmentation's payload pieces point into the datagram (no
	 * data room); they live until TX sends them: two TX rings' worth. */
	r->indirect = rte_pktmbuf_pool_create(name, 2 * PORT_TX_DESC, 0, 0, 0,
	                                      socket);
	if (r->indirect == NULL)
		main_die("worker %u: indirect pool: %s", id, rte_strerror(rte_errno));
	fw.pool = r->pool;
	fw.indirect = r->indirect;
	for (unsigned p = 0; p < c->n_ports && st->opts.replay == NULL; p++)
		if (c->ports[p].peer >= 0)
			fw.peer[st->port_ids[p]] =
				st->port_ids[c->ports[p].peer];
	w->fwd = fwd_worker_create(&fw, &w->stats, socket);
	if (w->fwd == NULL)
		main_die("worker %u: forward: bad port count", id);
	struct verdict_conf vc = {
		.bypass_detect_error = c->policy.detect_error == POLICY_BYPASS,
	};
	w->verdict = verdict_worker_create(&vc, w->fwd, r->pool, r->eve,
	                                   &w->stats, socket);
	if (w->verdict == NULL)
		main_die("worker %u: verdict: out of memory", id);
	st->workers[id] = w;
}

static void
main_free_worker(struct main_state *st, unsigned id)
{
	struct worker *w = st->workers[id];
	struct main_worker_res *r = &st->res[id];

	/* Flows first: releasing them counts what is still held. */
	flow_table_free(w->flows);
	decode_drain(w->decode);
	decode_worker_free(w->decode);
	verdict_worker_free(w->verdict);
	fwd_worker_free(w->fwd);
	stream_worker_free(r->stream);
	http_worker_free(r->http);
	detect_worker_free(r->detect);
}

/* ---- ports -------------------------------------------------------------- */

static void
main_setup_ports(struct main_state *st, const char *const *devargs,
                 unsigned n_dev)
{
	char err[256];

	st->n_ports = (uint16_t)n_dev;
	for (unsigned i = 0; i < n_dev; i++)
		if (port_find(devargs[i], &st->port_ids[i]) != 0)
			main_die("port '%s' did not appear (driver plugin "
			         "missing? pmd_dir = '%s')", devargs[i],
			         st->cfg.pmd_dir);
	if (st->opts.replay != NULL) {
		for (unsigned w = 0; w < st->n_workers; w++) {
			st->replay_pub[w] = st->port_ids[2 * w];
			st->replay_priv[w] = st->port_ids[2 * w + 1];
		}
	}
	for (unsigned w = 0; w < st->n_workers; w++) {
		unsigned lcore = rte_get_next_lcore(w == 0 ? (unsigned)-1
		                 : st->workers[w - 1]->lcore, 1, 0);

		if (lcore >= RTE_MAX_LCORE)
			main_die("%u workers need %u lcores besides the main one",
			         st->n_workers, st->n_workers);
		main_create_worker(st, w, lcore);
	}
	for (unsigned i = 0; i < n_dev; i++) {
		struct rte_mempool *pools[MAIN_MAX_WORKERS];
		uint16_t n_rxq = (uint16_t)st->n_workers;
		uint16_t n_txq = (uint16_t)st->n_workers;

		for (unsigned w = 0; w < st->n_workers; w++)
			pools[w] = st->res[w].pool;
		if (st->opts.replay != NULL) {
			/* even: worker i/2's public port, odd: its private */
			pools[0] = st->res[i / 2].pool;
			n_rxq = (i % 2 == 0) ? 1 : 0;
			n_txq = 1;
		}
		if (port_setup(st->port_ids[i], n_rxq, n_txq, pools, err,
		               sizeof(err)) != 0)
			main_die("%s", err);
	}
}

/* ---- control ------------------------------------------------------------- */

/* The rule sets' RCU and the control socket, before the workers start. */
static void
main_control_open(struct main_state *st)
{
	static struct detect_worker *detect[MAIN_MAX_WORKERS];
	static const struct worker_stats *stats[MAIN_MAX_WORKERS];
	struct reload_conf rc = { detect, stats, st->n_workers, st->db };
	struct ctl_conf cc = { st->opts.control, st->cfg.ctl_mode,
	                       st->cfg.ctl_group };
	struct ctl_backend be;
	char err[512];

	for (unsigned w = 0; w < st->n_workers; w++) {
		detect[w] = st->workers[w]->detect;
		stats[w] = &st->workers[w]->stats;
	}
	st->reload = reload_create(&rc, err, sizeof(err));
	if (st->reload == NULL)
		main_die("%s", err);
	if (cc.path == NULL && st->opts.replay == NULL)
		cc.path = st->cfg.ctl_socket;
	if (cc.path == NULL || cc.path[0] == '\0')
		return;
	reload_backend(st->reload, &be);
	st->ctl = ctl_server_open(&cc, &be, err, sizeof(err));
	if (st->ctl == NULL)
		main_die("%s", err);
	/* Only a socket can bring a reload: without one the workers skip
	 * the per-burst RCU report (a replay measures without it). */
	for (unsigned w = 0; w < st->n_workers; w++)
		st->workers[w]->rcu = reload_rcu(st->reload);
}

/* ---- run ------------------------------------------------------------------ */

static void
main_signal(int sig)
{
	(void)sig;
	worker_force_quit = 1;
}

static int
main_workers_running(const struct main_state *st)
{
	for (unsigned w = 0; w < st->n_workers; w++)
		if (!st->workers[w]->done)
			return 1;
	return 0;
}

static void
main_service_loop(struct main_state *st)
{
	while (main_workers_running(st)) {
		int busy = eve_writer_drain(st->eve, st->eve_rings,
		                            st->n_workers) != 0;

		reload_poll(st->reload);
		/* Waiting on the control socket is the loop's idle sleep. */
		if (st->ctl != NULL)
			ctl_server_poll(st->ctl, busy ? 0 : 1);
		else if (!busy)
			usleep(1000);
	}
}

/* Per-stage cycles per packet (bench builds); null otherwise. */
static json_t *
main_stage_json(const struct main_state *st, uint64_t packets)
{
	json_t *o;

	if (!BENCH_ENABLED || packets == 0)
		return json_null();
	o = json_object();
	for (unsigned s = 0; s < BENCH_STAGES; s++) {
		uint64_t c = 0;

		for (unsigned w = 0; w < st->n_workers; w++)
			c += st->workers[w]->bench.cycles[s];
		json_object_set_new(o, bench_stage_name(s),
		                    json_real((double)c / (double)packets));
	}
	return o;
}

/* What the memory targets are measured against (DESIGN §9 limits). */
static json_t *
main_memory_json(const struct main_state *st)
{
	struct rusage ru;
	const struct rte_mempool *mp = st->res[0].pool;

	getrusage(RUSAGE_SELF, &ru);
	return json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"flow_slot_bytes", (json_int_t)flow_bytes_per_slot(st->workers[0]->flows),
		"mbuf_bytes", (json_int_t)(mp->elt_size + mp->header_size +
		                           mp->trailer_size),
		"http_txn_bytes", (json_int_t)http_txn_bytes(st->res[0].http),
		"flows_capacity", (json_int_t)st->cfg.limits.flows,
		"peak_rss_kb", (json_int_t)ru.ru_maxrss);
}

static void
main_print_summary(struct main_state *st, json_t *memory)
{
	const struct worker_stats *per[MAIN_MAX_WORKERS];
	struct worker_stats s;
	uint64_t first = UINT64_MAX, last = 0;
	double secs;
	json_t *o;

	for (unsigned w = 0; w < st->n_workers; w++) {
		per[w] = &st->workers[w]->stats;
		if (st->workers[w]->first_rx_tsc != 0 &&
		    st->workers[w]->first_rx_tsc < first)
			first = st->workers[w]->first_rx_tsc;
		if (st->workers[w]->last_rx_tsc > last)
			last = st->workers[w]->last_rx_tsc;
	}
	stats_sum(per, st->n_workers, &s);
	secs = last > first ? (double)(last - first) / (double)rte_get_tsc_hz()
	                    : 0.0;
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		"packets_in", (json_int_t)s.rx_packets,
		"bytes_in", (json_int_t)s.rx_bytes,
		/* packets read that left: not the resets we made, nor the
		 * extra pieces of datagrams cut again at the egress MTU */
		"forwarded", (json_int_t)(s.tx_packets - s.verdict_rst_sent -
		                          s.fwd_fragments_added),
		"dropped", (json_int_t)stats_dropped(&s),
		"held_at_exit", (json_int_t)(s.stream_held_at_exit +
		                             s.frag_held_at_exit),
		"merged", (json_int_t)s.frag_merged,
		"flows", (json_int_t)s.flow_created,
		"transactions", (json_int_t)s.http_requests,
		"alerts", (json_int_t)s.verdict_alerts);
	json_object_set_new(o, "drops", stats_drops_to_json(&s));
	json_object_set_new(o, "counters", stats_to_json(&s));
	json_object_set_new(o, "workers", json_integer(st->n_workers));
	json_object_set_new(o, "rules", json_integer(st->db->rules.n_rules));
	json_object_set_new(o, "elapsed_s", json_real(secs));
	json_object_set_new(o, "memory", memory);
	json_object_set_new(o, "inspect", json_boolean(st->opts.inspect));
	json_object_set_new(o, "cycles_per_packet",
	                    main_stage_json(st, s.rx_packets));
	json_object_set_new(o, "tsc_hz", json_integer((json_int_t)rte_get_tsc_hz()));
	json_object_set_new(o, "mpps", json_real(secs > 0 ?
		(double)s.rx_packets / secs / 1e6 : 0.0));
	json_object_set_new(o, "gbps", json_real(secs > 0 ?
		(double)s.rx_bytes * 8 / secs / 1e9 : 0.0));
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

/*
 * Replay ports: per worker a public net_pcap reading its share of the
 * capture (all of it with one worker) and a private one writing what is
 * forwarded.  With several workers each writes its own files, merged
 * after the run.
 */
static unsigned
main_replay_devargs(struct main_state *st, char devargs[][MAIN_DEVARGS_MAX])
{
	const struct main_opts *o = &st->opts;
	unsigned n = st->n_workers;
	char err[512];

	if (strlen(o->replay) >= REPLAY_PATH_MAX ||
	    (o->write && strlen(o->write) >= REPLAY_PATH_MAX) ||
	    (o->write_reverse && strlen(o->write_reverse) >= REPLAY_PATH_MAX))
		main_die("replay paths: at most %d bytes", REPLAY_PATH_MAX - 1);
	if (n == 1) {
		snprintf(st->replay_in[0], REPLAY_PATH_MAX, "%s", o->replay);
		snprintf(st->replay_rev[0], REPLAY_PATH_MAX, "%s",
		         o->write_reverse ? o->write_reverse : "");
		snprintf(st->replay_out[0], REPLAY_PATH_MAX, "%s",
		         o->write ? o->write : "");
		if (o->preload && replay_count(o->replay, &st->replay_packets[0],
		                               err, sizeof(err)) != 0)
			main_die("%s", err);
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(st->replay_dir, sizeof(st->replay_dir),
		         "%s/ips-replay-XXXXXX", tmp ? tmp : "/tmp");
		if (mkdtemp(st->replay_dir) == NULL)
			main_die("%s: %s", st->replay_dir, strerror(errno));
		if (replay_split(o->replay, n, st->replay_dir, st->replay_in,
		                 st->replay_packets, err, sizeof(err)) != 0)
			main_die("%s", err);
		for (unsigned w = 0; w < n; w++) {
			if (o->write != NULL)
				snprintf(st->replay_out[w], REPLAY_PATH_MAX,
				         "%s/out.%u.pcap", st->replay_dir, w);
			if (o->write_reverse != NULL)
				snprintf(st->replay_rev[w], REPLAY_PATH_MAX,
				         "%s/rev.%u.pcap", st->replay_dir, w);
		}
	}
	/* Nothing to write: net_pcap drops what it is given to send and
	 * net_null swallows it, so no file work enters the timed window. */
	for (unsigned w = 0; w < n; w++) {
		char tx[REPLAY_PATH_MAX + 16] = "";

		if (st->replay_rev[w][0] != '\0')
			snprintf(tx, sizeof(tx), ",tx_pcap=%s", st->replay_rev[w]);
		snprintf(devargs[2 * w], MAIN_DEVARGS_MAX, "net_pcap%u,rx_pcap=%s%s%s",
		         2 * w, st->replay_in[w], tx,
		         o->preload ? ",infinite_rx=1" : "");
		if (st->replay_out[w][0] != '\0')
			snprintf(devargs[2 * w + 1], MAIN_DEVARGS_MAX,
			         "net_pcap%u,tx_pcap=%s", 2 * w + 1, st->replay_out[w]);
		else
			snprintf(devargs[2 * w + 1], MAIN_DEVARGS_MAX, "net_null%u", w);
	}
	return 2 * n;
}

/* Gather the workers' output files and remove the per-worker files. */
static void
main_replay_finish(struct main_state *st)
{
	const struct main_opts *o = &st->opts;
	char err[512];

	if (st->replay_dir[0] == '\0')
		return;
	/* Split inputs go first, so they go even if a merge fails. */
	for (unsigned w = 0; w < st->n_workers; w++)
		unlink(st->replay_in[w]);
	if (o->write != NULL &&
	    replay_merge(st->replay_out, st->n_workers, o->write, err,
	                 sizeof(err)) != 0)
		main_die("merging outputs: %s", err);
	if (o->write_reverse != NULL &&
	    replay_merge(st->replay_rev, st->n_workers, o->write_reverse, err,
	                 sizeof(err)) != 0)
		main_die("merging outputs: %s", err);
	for (unsigned w = 0; w < st->n_workers; w++) {
		if (st->replay_out[w][0] != '\0')
			unlink(st->replay_out[w]);
		if (st->replay_rev[w][0] != '\0')
			unlink(st->replay_rev[w]);
	}
	rmdir(st->replay_dir);
}

int
main(int argc, char **argv)
{
	static struct main_state st;
	const char *devargs[2 * MAIN_MAX_WORKERS];
	static char replay_devargs[2 * MAIN_MAX_WORKERS][MAIN_DEVARGS_MAX];
	static char *eal_argv[RTE_DIM(st.eal_argv)];
	unsigned n_dev = 0;
	json_t *memory;
	char err[512];

	main_parse_args(argc, argv, &st.opts);
	config_defaults(&st.cfg);
	if (config_load(&st.cfg, st.opts.config, err, sizeof(err)) != 0)
		main_die("%s", err);
	if (st.opts.bundle != NULL &&
	    snprintf(st.cfg.bundle, sizeof(st.cfg.bundle), "%s",
	             st.opts.bundle) >= (int)sizeof(st.cfg.bundle))
		main_die("--bundle: path too long");
	if (st.opts.n_rules > 0) {
		st.cfg.bundle[0] = '\0';       /* the files given win */
		for (unsigned i = 0; i < st.cfg.n_rule_files; i++)
			free(st.cfg.rule_files[i]);
		st.cfg.n_rule_files = 0;
		for (unsigned i = 0; i < st.opts.n_rules; i++)
			if (config_add_rule_file(&st.cfg, st.opts.rules[i]) != 0)
				main_die("--rules %s: too many files",
				         st.opts.rules[i]);
	}
	st.n_workers = st.opts.workers ? st.opts.workers : st.cfg.workers;
	if (st.n_workers > MAIN_MAX_WORKERS)
		main_die("workers: at most %d", MAIN_MAX_WORKERS);
	if (st.opts.replay != NULL) {
		if (2 * st.n_workers > FWD_MAX_PORTS)
			main_die("replay: at most %d workers", FWD_MAX_PORTS / 2);
		n_dev = main_replay_devargs(&st, replay_devargs);
		for (unsigned i = 0; i < n_dev; i++)
			devargs[i] = replay_devargs[i];
	} else {
		if (st.cfg.n_ports == 0)
			main_die("%s: no ports configured (or use --replay)",
			         st.opts.config);
		for (unsigned i = 0; i < st.cfg.n_ports; i++)
			devargs[n_dev++] = st.cfg.ports[i].devargs;
	}
	if (st.opts.eve != NULL)
		snprintf(st.cfg.eve_path, sizeof(st.cfg.eve_path), "%s",
		         st.opts.eve);

	/* Rules first: a bad rule set should fail before NICs are touched. */
	st.db = sig_load(&st.cfg, err, sizeof(err));
	if (st.db == NULL)
		main_die("%s", err);
	main_build_eal_args(&st, argv[0], devargs, n_dev);
	/* EAL rewrites the argv it is given (argv[optind-1] = prgname):
	 * hand it a copy so each string is freed once at exit. */
	memcpy(eal_argv, st.eal_argv, sizeof(eal_argv));
	if (rte_eal_init(st.eal_argc, eal_argv) < 0)
		main_die("EAL init: %s", rte_strerror(rte_errno));
	if (stream_register_dynfield() != 0)
		main_die("mbuf dynfield: %s", rte_strerror(rte_errno));
	st.eve = eve_writer_open(st.cfg.eve_path, rte_get_tsc_hz(), err,
	                         sizeof(err));
	if (st.eve == NULL)
		main_die("EVE log: %s", err);
	main_setup_ports(&st, devargs, n_dev);
	main_control_open(&st);

	signal(SIGINT, main_signal);
	signal(SIGTERM, main_signal);
	for (unsigned w = 0; w < st.n_workers; w++)
		rte_eal_remote_launch(worker_main, st.workers[w],
		                      st.workers[w]->lcore);
	main_service_loop(&st);
	rte_eal_mp_wait_lcore();
	ctl_server_close(st.ctl);
	reload_stop(st.reload);

	memory = main_memory_json(&st);       /* before the pools go */
	for (unsigned w = 0; w < st.n_workers; w++)
		main_free_worker(&st, w);
	reload_free(st.reload);
	eve_writer_drain(st.eve, st.eve_rings, st.n_workers);
	port_close_all();
	main_replay_finish(&st);
	main_print_summary(&st, memory);
	eve_writer_close(st.eve);
	ips_detect_db_free(st.db);
	config_free(&st.cfg);
	rte_eal_cleanup();
	for (int i = 0; i < st.eal_argc; i++)
		free(st.eal_argv[i]);
	return 0;
}

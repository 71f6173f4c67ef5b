/*
 * main.c - ips-dataplane: start-up, the service thread, shut-down.
 *
 * Owns the process and the order things start and stop in: arguments,
 * the config, the EAL arguments (ports as --vdev / -a, the PMD plugins
 * they need), which queues and ports each worker gets, the launch, the
 * service loop on the main lcore (EVE log writing, the control socket)
 * until the workers end (replay) or a signal arrives, and the teardown.
 * What the host must provide is checked first (startup.c): every start-up
 * failure says what is missing and the command that fixes it.
 * The work itself is elsewhere: signatures in sigload.c, reloading them
 * in reload.c, the socket in ctl.c, a worker's pools and stages in
 * worker.c, the replay's files in replay.c, the summary line (DESIGN §11)
 * in stats.c.
 *
 *   ips-dataplane --config FILE [--replay IN.pcap [--write OUT.pcap]
 *                 [--write-reverse REV.pcap]] [--eve FILE]
 *                 [--bundle FILE | --rules FILE...] [--workers N]
 *                 [--control-socket PATH]
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "config.h"
#include "ctl.h"
#include "eve.h"
#include "forward.h"
#include "ips/detect_db.h"
#include "l3.h"
#include "port.h"
#include "reload.h"
#include "replay.h"
#include "sigload.h"
#include "startup.h"
#include "stats.h"
#include "stream.h"
#include "worker.h"
#include "xbits.h"

#define MAIN_MAX_WORKERS REPLAY_MAX_WORKERS

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
	int preload;            /* replay from memory: infinite_rx */
	unsigned passes;        /* preload: passes over the capture */
	int inspect;            /* 0: decode and forward only */
	const char *control;    /* control socket path (replay: none unless
	                         * given) */
};

struct main_state {
	struct ips_config cfg;
	struct main_opts opts;
	struct ips_detect_db *db;
	uint16_t n_ports;
	uint16_t port_ids[CONFIG_MAX_PORTS];
	/* replay: worker w reads public port pub[w] (its share of the
	 * capture) and writes priv[w]; one TX queue each. */
	struct replay_plan replay;
	uint16_t replay_pub[MAIN_MAX_WORKERS];
	uint16_t replay_priv[MAIN_MAX_WORKERS];
	unsigned n_workers;
	struct worker *workers[MAIN_MAX_WORKERS];
	struct rte_ring *eve_rings[MAIN_MAX_WORKERS];
	struct eve_writer *eve;
	struct l3_routes *l3;                   /* L3 mode, live */
	struct xbits *xbits;                    /* one table per worker */
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
	        "  --passes N      with --preload: N passes over the capture "
	        "(steady state\n"
	        "                  for benchmarks; flows are replayed again)\n"
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
		{ "passes", required_argument, NULL, 'p' },
		{ "inspect", required_argument, NULL, 'I' },
		{ "control-socket", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->inspect = 1;
	o->passes = 1;
	while ((c = getopt_long(argc, argv, "c:r:w:W:e:R:B:n:Pp:I:C:h", longopts,
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
		case 'p': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end != '\0' || n == 0 || n > 1000)
				main_die("--passes: expected 1..1000, got '%s'",
				         optarg);
			o->passes = (unsigned)n;
			break;
		}
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
	if (o->passes > 1 && !o->preload)
		main_die("--passes needs --preload");
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

/* Everything the host lacks, at once, each with its fix. */
static void
main_check_host(struct main_state *st)
{
	static char problems[8192];
	struct startup_env env;
	const char *sock = st->opts.control;

	if (sock == NULL && st->opts.replay == NULL)
		sock = st->cfg.ctl_socket;
	startup_env_self(&env);
	if (startup_check(&env, &st->cfg, st->opts.replay != NULL,
	                  (const char *const *)st->eal_argv, st->eal_argc, sock,
	                  problems, sizeof(problems)) > 0) {
		problems[strlen(problems) - 1] = '\0';  /* the last newline */
		main_die("cannot start with %s; this host is missing:\n%s",
		         st->opts.config, problems);
	}
}

/* ---- workers ------------------------------------------------------------ */

/* What worker id reads and where it sends: main decides, worker.c builds. */
static void
main_create_worker(struct main_state *st, unsigned id, unsigned lcore)
{
	const struct ips_config *c = &st->cfg;
	int replay = st->opts.replay != NULL;
	struct worker_setup s;
	char err[512];

	memset(&s, 0, sizeof(s));
	s.id = id;
	s.lcore = lcore;
	s.inspect = (uint8_t)st->opts.inspect;
	s.replay = (uint8_t)replay;
	s.n_ports = st->n_ports;
	s.tx_queue = replay ? 0 : (uint16_t)id;
	s.hash_seed = main_random_u32();
	s.l3 = st->l3;
	s.xbits = st->xbits;
	for (unsigned p = 0; !replay && p < c->n_ports; p++)
		if (strncmp(c->ports[p].devargs, "net_af_xdp", 10) == 0)
			s.packed_pool = 1;
	/* Live: each port faces one side.  Replay: one port carries both
	 * sides and direction comes from the flow's first SYN. */
	memset(s.port_side, PKT_SIDE_ANY, sizeof(s.port_side));
	for (unsigned p = 0; p < RTE_MAX_ETHPORTS; p++)
		s.peer[p] = FWD_NO_PORT;
	if (replay) {
		/* RX: its own public port */
		s.rxq[0].port = st->replay_pub[id];
		s.n_rxq = 1;
		s.public_port = st->replay_pub[id];
		s.private_port = st->replay_priv[id];
		if (st->opts.preload) {
			s.preloaded = st->replay.packets[id];
			s.rx_budget = s.preloaded * st->opts.passes;
		}
	} else {
		/* RX: this worker's queue on every port */
		for (uint16_t p = 0; p < st->n_ports; p++) {
			s.rxq[s.n_rxq].port = st->port_ids[p];
			s.rxq[s.n_rxq].queue = (uint16_t)id;
			s.n_rxq++;
		}
		for (unsigned p = 0; p < c->n_ports; p++) {
			s.port_side[st->port_ids[p]] =
				c->ports[p].role == PORT_ROLE_PUBLIC
				? PKT_SIDE_PUBLIC : PKT_SIDE_PRIVATE;
			if (c->ports[p].peer >= 0)
				s.peer[st->port_ids[p]] =
					st->port_ids[c->ports[p].peer];
		}
	}
	st->workers[id] = worker_create(c, &s, st->db, err, sizeof(err));
	if (st->workers[id] == NULL)
		main_die("%s", err);
	st->eve_rings[id] = st->workers[id]->eve;
}

/* ---- ports -------------------------------------------------------------- */

static void
main_setup_ports(struct main_state *st, const char *const *devargs,
                 unsigned n_dev)
{
	char err[512];

	st->n_ports = (uint16_t)n_dev;
	for (unsigned i = 0; i < n_dev; i++) {
		if (port_find(devargs[i], &st->port_ids[i]) == 0)
			continue;
		if (st->opts.replay != NULL)
			main_die("replay port '%s' did not appear (driver plugin "
			         "missing? pmd_dir = '%s')", devargs[i],
			         st->cfg.pmd_dir);
		startup_port_hint(&st->cfg, i, err, sizeof(err));
		main_die("ports[%u] (%s) did not appear: %s", i,
		         st->cfg.ports[i].name, err);
	}
	if (st->opts.replay != NULL) {
		for (unsigned w = 0; w < st->n_workers; w++) {
			st->replay_pub[w] = st->port_ids[2 * w];
			st->replay_priv[w] = st->port_ids[2 * w + 1];
		}
	} else if (config_is_l3(&st->cfg)) {
		st->l3 = l3_routes_create(&st->cfg, st->port_ids, st->n_workers,
		                          err, sizeof(err));
		if (st->l3 == NULL)
			main_die("%s", err);
	}
	st->xbits = xbits_create(st->n_workers, st->cfg.limits.xbits,
	                         (uint64_t)main_random_u32() << 32 |
	                         main_random_u32());
	if (st->xbits == NULL)
		main_die("xbits: %u tables of %u records: out of memory",
		         st->n_workers, st->cfg.limits.xbits);
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
			pools[w] = st->workers[w]->pool;
		if (st->opts.replay != NULL) {
			/* even: worker i/2's public port, odd: its private */
			pools[0] = st->workers[i / 2]->pool;
			n_rxq = (i % 2 == 0) ? 1 : 0;
			n_txq = 1;
		}
		if (port_setup(st->port_ids[i], n_rxq, n_txq, pools, err,
		               sizeof(err)) != 0)
			main_die("%s", err);
		if (st->l3 != NULL &&
		    port_rx_mode_l3(st->port_ids[i], err, sizeof(err)) != 0)
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

/*
 * The service thread shares a CPU with a worker when there are as many
 * workers as CPUs, and each wake-up takes that worker's CPU for a
 * context switch both ways.  So it sleeps longer the longer it finds
 * nothing to do, from 1 ms up to MAIN_IDLE_MAX_MS: alert rings hold
 * limits.alert_ring records each (8,192 by default), which is many
 * times what a worker raises in that time; the control socket wakes it
 * at once whatever the sleep.
 */
#define MAIN_IDLE_MAX_MS 16

static void
main_service_loop(struct main_state *st)
{
	int idle_ms = 1;

	while (main_workers_running(st)) {
		int busy = eve_writer_drain(st->eve, st->eve_rings,
		                            st->n_workers) != 0;

		reload_poll(st->reload);
		if (busy)
			idle_ms = 1;
		else if (idle_ms < MAIN_IDLE_MAX_MS)
			idle_ms *= 2;
		/* Waiting on the control socket is the loop's idle sleep. */
		if (st->ctl != NULL)
			ctl_server_poll(st->ctl, busy ? 0 : idle_ms);
		else if (!busy)
			usleep((useconds_t)idle_ms * 1000);
	}
}

int
main(int argc, char **argv)
{
	static struct main_state st;
	const char *devargs[2 * MAIN_MAX_WORKERS];
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
		if (replay_plan_create(&st.replay, st.opts.replay,
		                       st.opts.write, st.opts.write_reverse,
		                       st.n_workers, st.opts.preload, err,
		                       sizeof(err)) != 0)
			main_die("%s", err);
		n_dev = st.replay.n_devargs;
		for (unsigned i = 0; i < n_dev; i++)
			devargs[i] = st.replay.devargs[i];
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

	main_build_eal_args(&st, argv[0], devargs, n_dev);
	main_check_host(&st);
	/* Rules first: a bad rule set should fail before NICs are touched. */
	st.db = sig_load(&st.cfg, err, sizeof(err));
	if (st.db == NULL)
		main_die("%s", err);
	/* EAL rewrites the argv it is given (argv[optind-1] = prgname):
	 * hand it a copy so each string is freed once at exit. */
	memcpy(eal_argv, st.eal_argv, sizeof(eal_argv));
	if (rte_eal_init(st.eal_argc, eal_argv) < 0)
		main_die("EAL init: %s: %s", rte_strerror(rte_errno),
		         startup_eal_hint(rte_errno));
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
	worker_all_launched = 1;
	main_service_loop(&st);
	rte_eal_mp_wait_lcore();
	ctl_server_close(st.ctl);
	reload_stop(st.reload);

	/* Figures first (they read the pools), then stages, then ports
	 * (their rings hold pool mbufs), and the pools last. */
	memory = stats_memory_json(st.workers[0], &st.cfg.limits);
	for (unsigned w = 0; w < st.n_workers; w++)
		worker_stop(st.workers[w]);
	reload_free(st.reload);         /* after the sets the workers held */
	l3_routes_free(st.l3);          /* after the workers' l3 stages */
	eve_writer_drain(st.eve, st.eve_rings, st.n_workers);
	port_close_all();
	if (replay_plan_finish(&st.replay, err, sizeof(err)) != 0)
		main_die("merging outputs: %s", err);
	stats_print_summary(stdout, st.workers, st.n_workers,
	                    ips_ruleset_count(&st.db->rules), st.opts.inspect, memory);
	eve_writer_close(st.eve);
	for (unsigned w = 0; w < st.n_workers; w++)
		worker_free(st.workers[w]);
	xbits_free(st.xbits);           /* after every worker's rules */
	ips_detect_db_free(st.db);
	config_free(&st.cfg);
	rte_eal_cleanup();
	for (int i = 0; i < st.eal_argc; i++)
		free(st.eal_argv[i]);
	return 0;
}

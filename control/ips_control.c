/*
 * ips_control.c - ips-control, the control process (DESIGN §2): it owns
 * the signatures.  It reads the dataplane's config, compiles the signature
 * files into a bundle, writes it atomically to signatures.bundle and tells
 * the dataplane to load it; then it watches the files (inotify) and does it
 * again on a change, on SIGHUP, or on `ipsctl reload` (its own control
 * socket, same protocol).
 *
 *   ips-control --config FILE [--strict] [--once] [--socket PATH]
 *
 * Each compile runs in a child process: Hyperscan may take minutes and
 * gigabytes on a large set, and a crash there must cost one attempt, not
 * the watcher.  The dataplane keeps enforcing the last good bundle whatever
 * happens here.  Bad rules are reported with file:line:col, keyword and
 * reason; the others still load unless --strict.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "ctl_client.h"
#include "ips/bundle.h"
#include "ips/detect_db.h"
#include "ips/rules.h"

/* Quiet time after the last file event before compiling: an editor or a
 * rule updater writes several files in a burst. */
#define CONTROL_SETTLE_MS 500
/* How long the dataplane may take to validate and swap a bundle. */
#define CONTROL_LOAD_TIMEOUT_MS 120000
#define CONTROL_MAX_WATCHES CONFIG_MAX_RULE_FILES

struct control {
	struct ips_config cfg;
	const char *config_path;
	const char *socket_path;        /* ours, for ipsctl reload */
	int strict;
	int inotify_fd;
	int signal_fd;
	int watch_dirs[CONTROL_MAX_WATCHES];
	unsigned n_watch;
	long long dirty_since_ms;       /* 0: nothing changed */
	/* what the last attempt did, for the reload reply */
	unsigned last_rules, last_bad;
	double last_compile_s;
};

static void __attribute__((format(printf, 1, 2)))
control_log(const char *fmt, ...)
{
	va_list ap;

	fputs("ips-control: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static long long
control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- compile (in the child) ---------------------------------------------- */

struct control_tally {
	unsigned bad;
};

static void
control_report_rule(void *arg, const char *msg)
{
	struct control_tally *t = arg;

	t->bad++;
	fprintf(stderr, "ips-control: %s\n", msg);
}

/*
 * Parse and compile every configured file, write the bundle.  Runs in the
 * child.  Exit status: 0 written; 3 bad rules under --strict; 1 otherwise.
 * The first line written to fd is "RULES BAD SECONDS" for the parent.
 */
static int
control_compile_child(const struct control *ct, int fd)
{
	const struct ips_config *c = &ct->cfg;
	struct ips_rule_var vars[CONFIG_MAX_VARS];
	struct ips_parse_opts po = { .vars = vars, .n_vars = c->n_vars,
		.classification_file = c->classification[0] ? c->classification
		                                            : NULL };
	struct control_tally tally = { 0 };
	struct ips_ruleset rs = { 0 };
	struct ips_detect_db *db;
	struct timespec ts;
	char err[IPS_ERRBUF_SIZE];
	unsigned n_rules;
	double t0 = (double)control_now_ms();

	for (unsigned i = 0; i < c->n_vars; i++) {
		vars[i].name = c->vars[i].name;
		vars[i].value = c->vars[i].value;
	}
	for (unsigned i = 0; i < c->n_rule_files; i++) {
		if (ips_rule_parse_file(&rs, c->rule_files[i], &po,
		                        control_report_rule, &tally, err,
		                        sizeof(err)) < 0) {
			control_log("%s", err);
			ips_ruleset_free(&rs);
			return 1;
		}
		/* progress: a large set takes a while to parse too */
		control_log("parsed %u/%u %s: %u rules so far, %u bad", i + 1,
		            c->n_rule_files, c->rule_files[i], ips_ruleset_count(&rs),
		            tally.bad);
	}
	if (tally.bad > 0 && ct->strict) {
		control_log("%u bad rule(s) and --strict: no bundle written, "
		            "the dataplane keeps its rules", tally.bad);
		ips_ruleset_free(&rs);
		return 3;
	}
	n_rules = ips_ruleset_count(&rs);
	control_log("compiling %u rules with Hyperscan ...", n_rules);
	db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL) {
		control_log("compiling signatures: %s", err);
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	db->generation = (uint64_t)ts.tv_sec * 1000000u +
	                 (uint64_t)ts.tv_nsec / 1000u;
	if (ips_bundle_write(db, c->bundle, err, sizeof(err)) < 0) {
		control_log("%s", err);
		ips_detect_db_free(db);
		return 1;
	}
	control_log("compiled %u rules in %.3f s (%u bad skipped): %s",
	            n_rules, db->compile_seconds, tally.bad, c->bundle);
	dprintf(fd, "%u %u %.6f\n", n_rules, tally.bad,
	        ((double)control_now_ms() - t0) / 1e3);
	ips_detect_db_free(db);
	return 0;
}

/* Compile in a child process; returns 0 when a bundle was written. */
static int
control_compile(struct control *ct, char *err, size_t errlen)
{
	int pipefd[2], status;
	char buf[128] = "";
	ssize_t n;
	pid_t pid;

	if (pipe(pipefd) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		_exit(control_compile_child(ct, pipefd[1]));
	}
	close(pipefd[1]);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, WIFEXITED(status) && WEXITSTATUS(status) == 3
		         ? "bad rules and --strict: no bundle written"
		         : WIFEXITED(status) ? "compile failed (see the log)"
		         : "the compiler died (signal %d)", WTERMSIG(status));
		return -1;
	}
	buf[n > 0 ? n : 0] = '\0';
	if (sscanf(buf, "%u %u %lf", &ct->last_rules, &ct->last_bad,
	           &ct->last_compile_s) != 3) {
		snprintf(err, errlen, "compile: no result from the child");
		return -1;
	}
	return 0;
}

/*
 * Compile, write, tell the dataplane.  Returns the dataplane's load reply
 * (with the compile figures added) or NULL with err set.
 */
static json_t *
control_rebuild(struct control *ct, char *err, size_t errlen)
{
	json_t *req, *reply;
	char why[1024];

	if (control_compile(ct, err, errlen) != 0) {
		control_log("%s", err);
		return NULL;
	}
	req = json_pack("{s:s, s:s}", "cmd", "load", "bundle", ct->cfg.bundle);
	reply = ctl_client_request(ct->cfg.ctl_socket, req,
	                           CONTROL_LOAD_TIMEOUT_MS, why, sizeof(why));
	json_decref(req);
	if (reply == NULL) {
		snprintf(err, errlen, "bundle written, dataplane not told: %s "
		         "(it loads %s when it starts)", why, ct->cfg.bundle);
		control_log("%s", err);
		return NULL;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		snprintf(err, errlen, "dataplane refused the bundle: %s",
		         json_string_value(json_object_get(reply, "error")));
		control_log("%s", err);
		json_decref(reply);
		return NULL;
	}
	json_object_del(reply, "ok");
	json_object_del(reply, "cmd");
	json_object_set_new(reply, "bad_rules", json_integer(ct->last_bad));
	json_object_set_new(reply, "compile_s", json_real(ct->last_compile_s));
	control_log("dataplane loaded generation %lld: %lld rules, swapped in "
	            "%.3f ms", json_integer_value(json_object_get(reply,
	            "generation")), json_integer_value(json_object_get(reply,
	            "rules")), json_real_value(json_object_get(reply,
	            "swap_ms")));
	return reply;
}

/* ---- watching ------------------------------------------------------------- */

/* Watch the directories of the rule files (and of the classification):
 * editors and package updates replace a file by rename, which a watch on
 * the file itself would miss. */
static int
control_watch(struct control *ct, char *err, size_t errlen)
{
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
	                      IN_DELETE | IN_MOVED_FROM;

	ct->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ct->inotify_fd < 0) {
		snprintf(err, errlen, "inotify: %s", strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i <= ct->cfg.n_rule_files; i++) {
		const char *f = i < ct->cfg.n_rule_files ? ct->cfg.rule_files[i]
		                                         : ct->cfg.classification;
		char dir[PATH_MAX];
		int wd;

		if (f[0] == '\0')
			continue;
		snprintf(dir, sizeof(dir), "%s", f);
		wd = inotify_add_watch(ct->inotify_fd, dirname(dir), mask);
		if (wd < 0) {
			snprintf(err, errlen, "watching %.512s: %s", dir,
			         strerror(errno));
			return -1;
		}
		if (ct->n_watch < CONTROL_MAX_WATCHES)
			ct->watch_dirs[ct->n_watch++] = wd;
	}
	return 0;
}

/* Is name (in a watched directory) one of our files? */
static int
control_is_ours(const struct control *ct, const char *name)
{
	for (unsigned i = 0; i <= ct->cfg.n_rule_files; i++) {
		const char *f = i < ct->cfg.n_rule_files ? ct->cfg.rule_files[i]
		                                         : ct->cfg.classification;
		const char *base = strrchr(f, '/');

		base = base ? base + 1 : f;
		if (f[0] != '\0' && strcmp(base, name) == 0)
			return 1;
	}
	return 0;
}

static void
control_read_events(struct control *ct)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	while ((n = read(ct->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;

			if (ev->len > 0 && control_is_ours(ct, ev->name)) {
				if (ct->dirty_since_ms == 0)
					control_log("%s changed", ev->name);
				ct->dirty_since_ms = control_now_ms();
			}
			p += sizeof(*ev) + ev->len;
		}
	}
}

/* ---- the control socket ----------------------------------------------------- */

static json_t *
control_cmd_reload(void *arg, char *err, size_t errlen)
{
	return control_rebuild(arg, err, errlen);
}

static json_t *
control_cmd_version(void *arg, char *err, size_t errlen)
{
	struct control *ct = arg;

	(void)err, (void)errlen;
	return json_pack("{s:s, s:s, s:s, s:i}", "version", IPS_VERSION,
	                 "hyperscan", hs_version(), "bundle", ct->cfg.bundle,
	                 "files", (int)ct->cfg.n_rule_files);
}

/* ---- main ------------------------------------------------------------------- */

static void
control_usage(void)
{
	fprintf(stderr,
	        "usage: ips-control --config FILE [--strict] [--once] "
	        "[--socket PATH]\n"
	        "  --strict       any bad rule: no bundle (default: skip it)\n"
	        "  --once         compile, load, exit (status 0 = loaded)\n"
	        "  --socket PATH  ours, for `ipsctl reload` (default %s)\n",
	        IPS_CTL_CONTROL_SOCKET);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "strict", no_argument, NULL, 's' },
		{ "once", no_argument, NULL, 'o' },
		{ "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct control ct;
	struct ctl_backend be = { &ct, NULL, NULL, NULL, control_cmd_version,
	                          control_cmd_reload };
	struct ctl_conf cc;
	struct ctl_server *srv;
	sigset_t sigs;
	char err[1024];
	json_t *r;
	int once = 0, c, quit = 0;

	ct.socket_path = IPS_CTL_CONTROL_SOCKET;
	while ((c = getopt_long(argc, argv, "c:soS:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': ct.config_path = optarg; break;
		case 's': ct.strict = 1; break;
		case 'o': once = 1; break;
		case 'S': ct.socket_path = optarg; break;
		default: control_usage();
		}
	}
	if (ct.config_path == NULL || optind != argc)
		control_usage();
	config_defaults(&ct.cfg);
	if (config_load(&ct.cfg, ct.config_path, err, sizeof(err)) != 0) {
		control_log("%s", err);
		return 2;
	}
	if (ct.cfg.bundle[0] == '\0' || ct.cfg.n_rule_files == 0) {
		control_log("%s: needs signatures.files (what to compile) and "
		            "signatures.bundle (where the dataplane loads it "
		            "from)", ct.config_path);
		return 2;
	}
	r = control_rebuild(&ct, err, sizeof(err));
	json_decref(r);
	if (once) {
		config_free(&ct.cfg);
		return r != NULL ? 0 : 1;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	ct.signal_fd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ct.signal_fd < 0 || control_watch(&ct, err, sizeof(err)) != 0) {
		control_log("%s", ct.signal_fd < 0 ? strerror(errno) : err);
		return 2;
	}
	cc = (struct ctl_conf){ ct.socket_path, ct.cfg.ctl_mode,
	                        ct.cfg.ctl_group, 0 };
	srv = ctl_server_open(&cc, &be, err, sizeof(err));
	if (srv == NULL) {
		control_log("%s", err);
		return 2;
	}
	control_log("watching %u file(s); SIGHUP or `ipsctl --socket %s "
	            "reload` recompiles", ct.cfg.n_rule_files, ct.socket_path);
	while (!quit) {
		struct signalfd_siginfo si;

		/* The socket's poll paces the loop (100 ms at most). */
		ctl_server_poll(srv, 100);
		control_read_events(&ct);
		while (read(ct.signal_fd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				control_log("SIGHUP: recompiling");
				ct.dirty_since_ms = control_now_ms() -
				                    CONTROL_SETTLE_MS;
			} else {
				quit = 1;
			}
		}
		if (ct.dirty_since_ms != 0 &&
		    control_now_ms() - ct.dirty_since_ms >= CONTROL_SETTLE_MS) {
			ct.dirty_since_ms = 0;
			json_decref(control_rebuild(&ct, err, sizeof(err)));
		}
	}
	ctl_server_close(srv);
	close(ct.inotify_fd);
	close(ct.signal_fd);
	config_free(&ct.cfg);
	return 0;
}

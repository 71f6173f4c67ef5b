/*
 * sigload.c - the detection db at start: read a bundle, or have ipsctl
 * compile the rule files into one first (see sigload.h).
 */
#include <errno.h>
#include <libgen.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ips/bundle.h"
#include "sigload.h"

/* compile, --no-default-vars, -o, the bundle, --classification + file,
 * two per var, the files, the NULL */
#define SIG_MAX_ARGS (8 + 2 * CONFIG_MAX_VARS + CONFIG_MAX_RULE_FILES)

extern char **environ;

static double
sig_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The configured compiler, or ipsctl in this executable's directory: the
 * build tree and an install both put the two side by side. */
static int
sig_compiler(const struct ips_config *c, char *out, size_t len)
{
	char self[4096];
	ssize_t n;

	if (c->compiler[0] != '\0')
		return snprintf(out, len, "%s", c->compiler) < (int)len ? 0 : -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return -1;
	self[n] = '\0';
	return snprintf(out, len, "%s/ipsctl", dirname(self)) < (int)len
	       ? 0 : -1;
}

/*
 * Run `ipsctl compile` on the config's files into out.  Its stdout (the
 * per-buffer summary) goes to our stderr: stdout is the replay summary's.
 * Returns 0, or -1 with err set (the compiler printed the rule errors).
 */
static int
sig_compile(const struct ips_config *c, const char *out, char *err,
            size_t errlen)
{
	char compiler[4096];
	char vars[CONFIG_MAX_VARS][sizeof(c->vars[0].name) +
	                           sizeof(c->vars[0].value) + 1];
	char *argv[SIG_MAX_ARGS];
	posix_spawn_file_actions_t fa;
	unsigned n = 0;
	pid_t pid;
	int rc, status;

	if (sig_compiler(c, compiler, sizeof(compiler)) < 0) {
		snprintf(err, errlen, "cannot locate ipsctl (set "
		         "signatures.compiler)");
		return -1;
	}
	argv[n++] = compiler;
	argv[n++] = "compile";
	/* The dataplane's rules see only the config's variables. */
	argv[n++] = "--no-default-vars";
	argv[n++] = "-o";
	argv[n++] = (char *)out;
	if (c->classification[0] != '\0') {
		argv[n++] = "--classification";
		argv[n++] = (char *)c->classification;
	}
	for (unsigned i = 0; i < c->n_vars; i++) {
		snprintf(vars[i], sizeof(vars[i]), "%s=%s", c->vars[i].name,
		         c->vars[i].value);
		argv[n++] = "--vars";
		argv[n++] = vars[i];
	}
	for (unsigned i = 0; i < c->n_rule_files; i++)
		argv[n++] = c->rule_files[i];
	argv[n] = NULL;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	rc = posix_spawn(&pid, compiler, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", compiler, strerror(rc));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(err, errlen, "compiling signatures failed (%s exit "
		         "%d): refusing to run with a rule set that is not what "
		         "the files say", compiler, WEXITSTATUS(status));
	else
		snprintf(err, errlen, "compiling signatures: %s killed by "
		         "signal %d", compiler, WTERMSIG(status));
	return -1;
}

struct ips_detect_db *
sig_load(const struct ips_config *c, char *err, size_t errlen)
{
	struct ips_detect_db *db;
	char tmp[4096];
	const char *dir = getenv("TMPDIR");
	double t0 = sig_now();
	int fd;

	if (c->bundle[0] != '\0') {
		db = ips_bundle_read(c->bundle, err, errlen);
		if (db != NULL)
			fprintf(stderr, "ips-dataplane: %u rules from bundle %s "
			        "(generation %llu), loaded in %.3f s\n",
			        ips_ruleset_count(&db->rules), c->bundle,
			        (unsigned long long)db->generation,
			        sig_now() - t0);
		return db;
	}
	if (c->n_rule_files == 0) {
		db = ips_detect_db_empty();
		if (db == NULL)
			snprintf(err, errlen, "out of memory");
		return db;
	}
	snprintf(tmp, sizeof(tmp), "%s/ips-bundle-XXXXXX",
	         dir && dir[0] ? dir : "/tmp");
	fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return NULL;
	}
	close(fd);
	db = NULL;
	if (sig_compile(c, tmp, err, errlen) == 0)
		db = ips_bundle_read(tmp, err, errlen);
	unlink(tmp);
	if (db != NULL)
		fprintf(stderr, "ips-dataplane: %u rules from %u file(s), "
		        "compiled in %.3f s (out of process, %.3f s to load)\n",
		        ips_ruleset_count(&db->rules), c->n_rule_files,
		        db->compile_seconds,
		        sig_now() - t0);
	return db;
}

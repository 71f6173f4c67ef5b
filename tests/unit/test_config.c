/*
 * test_config.c - unit tests for dataplane/config.c: a full file parses
 * into exactly the expected fields, absent groups keep their defaults,
 * every error class names file:line and the key, relative paths and globs
 * resolve against the config's directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

/* ------------------------------------------------------------------------
 * Helpers
 */

static char test_err[1024];

static int
test_load(struct ips_config *c, const char *text)
{
	config_defaults(c);
	return config_load_string(c, text, "t.conf", test_err, sizeof(test_err));
}

/* The load fails with "t.conf:<line>: " and the message contains needle. */
static void
test_expect_error(const char *text, unsigned line, const char *needle)
{
	struct ips_config c;
	char prefix[32];

	test_err[0] = '\0';
	if (test_load(&c, text) != -1)
		fail_msg("accepted: %s", text);
	snprintf(prefix, sizeof(prefix), "t.conf:%u: ", line);
	if (strncmp(test_err, prefix, strlen(prefix)) != 0 ||
	    strstr(test_err, needle) == NULL)
		fail_msg("for <%s>\n  got <%s>\n  want <%s...%s>", text, test_err,
		         prefix, needle);
	config_free(&c);
}

static void
test_write(const char *dir, const char *name, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_mkdir(const char *dir, const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mkdir(path, 0700), 0);
}

static int
test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_rmtree(const char *dir)
{
	assert_int_equal(nftw(dir, test_rm, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static char *
test_tmpdir(void)
{
	char *d = strdup("/tmp/test_config.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

static void
test_assert_default_limits(const struct config_limits *l)
{
	assert_int_equal(l->flows, 65536);
	assert_int_equal(l->flow_timeout_syn, 30);
	assert_int_equal(l->flow_timeout_established, 600);
	assert_int_equal(l->flow_timeout_closed, 10);
	assert_int_equal(l->flow_timeout_udp, 60);
	assert_int_equal(l->stream_held_per_flow, 32);
	assert_int_equal(l->stream_held, 4096);
	assert_int_equal(l->stream_kept_bytes_per_flow, 262144);
	assert_int_equal(l->stream_kept_bytes, 4194304);
	assert_int_equal(l->http_transactions, 4096);
	assert_int_equal(l->http_header_bytes, 16384);
	assert_int_equal(l->http_header_arenas, 256);
	assert_int_equal(l->body_streams, 1024);
	assert_int_equal(l->raw_streams, 65536);
	assert_int_equal(l->raw_windows, 2048);
	assert_int_equal(l->tls_handshakes, 256);
	assert_int_equal(l->http_responses, 256);
	assert_int_equal(l->http_decoders, 256);
	assert_int_equal(l->xbits, 4096);
	assert_int_equal(l->http_body_limit, 102400);
	assert_int_equal(l->frag_datagrams, 4096);
	assert_int_equal(l->frag_timeout_ms, 2000);
	assert_int_equal(l->alert_ring, 4096);
	assert_int_equal(l->mbufs, 0);
	assert_int_equal(l->source_share, 50);
	assert_int_equal(l->http_header_timeout, 60);
	assert_int_equal(l->http_body_timeout, 60);
	assert_int_equal(l->stream_gap_timeout, 30);
}

static void
test_assert_default_policies(const struct config_policies *p)
{
	assert_int_equal(p->malformed, POLICY_DROP);
	assert_int_equal(p->midstream, POLICY_DROP);
	assert_int_equal(p->flow_table_full, POLICY_EVICT);
	assert_int_equal(p->stream_hold_full, POLICY_DROP);
	assert_int_equal(p->http_ambiguous, POLICY_DROP);
	assert_int_equal(p->http_malformed, POLICY_DROP);
	assert_int_equal(p->http_txn_full, POLICY_DROP);
	assert_int_equal(p->detect_error, POLICY_DROP);
	assert_int_equal(p->verify_ip_checksum, 0);
}

/* Everything but workers, which test_absent_groups sets. */
static void
test_assert_defaults_but_workers(const struct ips_config *c)
{
	assert_int_equal(c->n_eal_args, 0);
	assert_string_equal(c->pmd_dir, "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0");
	assert_string_equal(c->mode, "l2");
	assert_int_equal(c->n_ports, 0);
	test_assert_default_limits(&c->limits);
	test_assert_default_policies(&c->policy);
	assert_int_equal(c->n_http_ports, 2);
	assert_int_equal(c->http_ports[0], 80);
	assert_int_equal(c->http_ports[1], 8080);
	assert_int_equal(c->http_detect_by_content, 1);
	assert_int_equal(c->n_rule_files, 0);
	assert_string_equal(c->classification, "");
	assert_int_equal(c->n_vars, 0);
	assert_string_equal(c->eve_path, "");
	assert_string_equal(c->ctl_socket, "/run/ips/ctl.sock");
	assert_int_equal(c->ctl_mode, 0660);
	assert_null(c->owner);
}

/* ------------------------------------------------------------------------
 * Valid files
 */

static void
test_defaults(void **state)
{
	struct ips_config c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	config_defaults(&c);
	assert_int_equal(c.workers, 1);
	test_assert_defaults_but_workers(&c);
	assert_string_equal(c.path, "");
	config_free(&c);
}

static void
test_absent_groups(void **state)
{
	struct ips_config c;

	(void)state;
	assert_int_equal(test_load(&c, "# only workers\nworkers = 3;\n"), 0);
	assert_int_equal(c.workers, 3);
	test_assert_defaults_but_workers(&c);
	assert_string_equal(c.path, "t.conf");
	config_free(&c);

	/* Empty groups are the same as absent ones. */
	assert_int_equal(test_load(&c, "workers = 1; limits = {}; policy = {};"
	                 " http = {}; signatures = {}; log = {}; control = {};"), 0);
	test_assert_defaults_but_workers(&c);
	config_free(&c);
}

static const char test_full_conf[] =
	"// every key, none at its default\n"
	"eal = [ \"--no-huge\", \"-m\", \"1024\", \"--no-shconf\" ];\n"
	"pmd_dir = \"/opt/pmds\";\n"
	"workers = 4;\n"
	"mode = \"l2\";\n"
	"ports = (\n"
	"  { name = \"pub0\"; devargs = \"net_af_packet0,iface=veth0\";\n"
	"    role = \"public\"; peer = \"priv0\"; },\n"
	"  { name = \"priv0\"; devargs = \"net_af_packet1,iface=veth1\";\n"
	"    role = \"private\"; peer = \"pub0\"; },\n"
	"  { name = \"mon\"; devargs = \"net_null0\"; role = \"private\"; } );\n"
	"limits = {\n"
	"  flows = 16777216; flow_timeout_syn = 31;\n"
	"  flow_timeout_established = 601; flow_timeout_closed = 11;\n"
	"  flow_timeout_udp = 61; stream_held_per_flow = 33;\n"
	"  stream_held = 8193; http_transactions = 4097;\n"
	"  stream_kept_bytes_per_flow = 65537; stream_kept_bytes = 3000000000L;\n"
	"  http_header_bytes = 16385; http_header_arenas = 9;\n"
	"  body_streams = 1025;\n"
	"  raw_streams = 7;\n"
	"  raw_windows = 5; tls_handshakes = 3; xbits = 9;\n"
	"  frag_datagrams = 4098; frag_timeout_ms = 2001;\n"
	"  alert_ring = 4099; mbufs = 100000L;\n"
	"  source_share = 100; http_header_timeout = 11;\n"
	"  http_body_timeout = 12; stream_gap_timeout = 13;\n"
	"};\n"
	"policy = {\n"
	"  malformed = \"bypass\"; midstream = \"bypass\";\n"
	"  flow_table_full = \"drop\"; stream_hold_full = \"bypass\";\n"
	"  http_ambiguous = \"bypass\"; http_malformed = \"bypass\";\n"
	"  http_txn_full = \"bypass\"; detect_error = \"bypass\";\n"
	"  verify_ip_checksum = true;\n"
	"};\n"
	"http = { ports = [ 81, 8000, 65535 ]; detect_by_content = false; };\n"
	"signatures = {\n"
	"  files = [ \"rules/*.rules\", \"%s/abs.rules\" ];\n"
	"  classification = \"class.config\";\n"
	"  vars = { HOME_NET = \"[192.0.2.0/24]\"; EXTERNAL_NET = \"!$HOME_NET\";"
	" HTTP_PORTS = \"[80,8080]\"; };\n"
	"};\n"
	"log = { eve = \"log/eve.json\"; };\n"
	"control = { socket = \"/tmp/ctl.sock\"; mode = 0600; };\n";

/* Lays out dir/etc/ips.conf with rules beside it; returns the conf path. */
static void
test_full_tree(const char *dir, char *conf, size_t len)
{
	char text[4096], etc[512];

	snprintf(etc, sizeof(etc), "%s/etc", dir);
	test_mkdir(dir, "etc");
	test_mkdir(etc, "rules");
	test_mkdir(etc, "rules/sub.rules");       /* a directory: skipped */
	test_write(etc, "rules/b.rules", "");
	test_write(etc, "rules/a.rules", "");
	test_write(etc, "rules/notes.txt", "");
	test_write(dir, "abs.rules", "");
	snprintf(text, sizeof(text), test_full_conf, dir);
	test_write(etc, "ips.conf", text);
	snprintf(conf, len, "%s/ips.conf", etc);
}

static void
test_full_ports(const struct ips_config *c)
{
	assert_int_equal(c->n_ports, 3);
	assert_string_equal(c->ports[0].name, "pub0");
	assert_string_equal(c->ports[0].devargs, "net_af_packet0,iface=veth0");
	assert_int_equal(c->ports[0].role, PORT_ROLE_PUBLIC);
	assert_int_equal(c->ports[0].peer, 1);
	assert_string_equal(c->ports[1].name, "priv0");
	assert_string_equal(c->ports[1].devargs, "net_af_packet1,iface=veth1");
	assert_int_equal(c->ports[1].role, PORT_ROLE_PRIVATE);
	assert_int_equal(c->ports[1].peer, 0);
	assert_string_equal(c->ports[2].name, "mon");
	assert_string_equal(c->ports[2].devargs, "net_null0");
	assert_int_equal(c->ports[2].role, PORT_ROLE_PRIVATE);
	assert_int_equal(c->ports[2].peer, -1);
}

static void
test_full_limits_policies(const struct ips_config *c)
{
	const struct config_limits *l = &c->limits;
	const struct config_policies *p = &c->policy;

	assert_int_equal(l->flows, 16777216);
	assert_int_equal(l->flow_timeout_syn, 31);
	assert_int_equal(l->flow_timeout_established, 601);
	assert_int_equal(l->flow_timeout_closed, 11);
	assert_int_equal(l->flow_timeout_udp, 61);
	assert_int_equal(l->stream_held_per_flow, 33);
	assert_int_equal(l->stream_held, 8193);
	assert_int_equal(l->stream_kept_bytes_per_flow, 65537);
	assert_int_equal(l->stream_kept_bytes, 3000000000u);
	assert_int_equal(l->http_transactions, 4097);
	assert_int_equal(l->http_header_bytes, 16385);
	assert_int_equal(l->http_header_arenas, 9);
	assert_int_equal(l->body_streams, 1025);
	assert_int_equal(l->raw_streams, 7);
	assert_int_equal(l->raw_windows, 5);
	assert_int_equal(l->tls_handshakes, 3);
	assert_int_equal(l->xbits, 9);
	assert_int_equal(l->frag_datagrams, 4098);
	assert_int_equal(l->frag_timeout_ms, 2001);
	assert_int_equal(l->alert_ring, 4099);
	assert_int_equal(l->mbufs, 100000);
	assert_int_equal(l->source_share, 100);
	assert_int_equal(l->http_header_timeout, 11);
	assert_int_equal(l->http_body_timeout, 12);
	assert_int_equal(l->stream_gap_timeout, 13);
	assert_int_equal(p->malformed, POLICY_BYPASS);
	assert_int_equal(p->midstream, POLICY_BYPASS);
	assert_int_equal(p->flow_table_full, POLICY_DROP);
	assert_int_equal(p->stream_hold_full, POLICY_BYPASS);
	assert_int_equal(p->http_ambiguous, POLICY_BYPASS);
	assert_int_equal(p->http_malformed, POLICY_BYPASS);
	assert_int_equal(p->http_txn_full, POLICY_BYPASS);
	assert_int_equal(p->detect_error, POLICY_BYPASS);
	assert_int_equal(p->verify_ip_checksum, 1);
}

static void
test_full_paths(const struct ips_config *c, const char *dir)
{
	char want[1024];

	assert_int_equal(c->n_rule_files, 3);
	snprintf(want, sizeof(want), "%s/etc/rules/a.rules", dir);
	assert_string_equal(c->rule_files[0], want);
	snprintf(want, sizeof(want), "%s/etc/rules/b.rules", dir);
	assert_string_equal(c->rule_files[1], want);
	snprintf(want, sizeof(want), "%s/abs.rules", dir);
	assert_string_equal(c->rule_files[2], want);
	snprintf(want, sizeof(want), "%s/etc/class.config", dir);
	assert_string_equal(c->classification, want);
	snprintf(want, sizeof(want), "%s/etc/log/eve.json", dir);
	assert_string_equal(c->eve_path, want);
	snprintf(want, sizeof(want), "%s/etc/ips.conf", dir);
	assert_string_equal(c->path, want);
}

static void
test_full(void **state)
{
	static const char *const eal[] = { "--no-huge", "-m", "1024", "--no-shconf" };
	struct ips_config c;
	char *dir = test_tmpdir(), conf[1024];

	(void)state;
	test_full_tree(dir, conf, sizeof(conf));
	config_defaults(&c);
	if (config_load(&c, conf, test_err, sizeof(test_err)) != 0)
		fail_msg("%s", test_err);
	assert_int_equal(c.n_eal_args, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_string_equal(c.eal_args[i], eal[i]);
	assert_string_equal(c.pmd_dir, "/opt/pmds");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.mode, "l2");
	test_full_ports(&c);
	test_full_limits_policies(&c);
	assert_int_equal(c.n_http_ports, 3);
	assert_int_equal(c.http_ports[0], 81);
	assert_int_equal(c.http_ports[1], 8000);
	assert_int_equal(c.http_ports[2], 65535);
	assert_int_equal(c.http_detect_by_content, 0);
	test_full_paths(&c, dir);
	assert_int_equal(c.n_vars, 3);
	assert_string_equal(c.vars[0].name, "HOME_NET");
	assert_string_equal(c.vars[0].value, "[192.0.2.0/24]");
	assert_string_equal(c.vars[1].name, "EXTERNAL_NET");
	assert_string_equal(c.vars[1].value, "!$HOME_NET");
	assert_string_equal(c.vars[2].name, "HTTP_PORTS");
	assert_string_equal(c.vars[2].value, "[80,8080]");
	assert_string_equal(c.ctl_socket, "/tmp/ctl.sock");
	assert_int_equal(c.ctl_mode, 0600);
	config_free(&c);
	assert_int_equal(c.n_rule_files, 0);
	assert_int_equal(c.n_eal_args, 0);
	assert_null(c.owner);
	test_rmtree(dir);
	free(dir);
}

/*
 * The source tree: $IPS_SOURCE_DIR, else from __FILE__: absolute, relative
 * to the current directory, or (meson) relative to the build root, the
 * parent of this binary's directory.
 */
static void
test_source_root(char *out, size_t len)
{
	static const char suffix[] = "tests/unit/test_config.c";
	const char *env = getenv("IPS_SOURCE_DIR");
	size_t flen = strlen(__FILE__) - (sizeof(suffix) - 1);
	char exe[512];
	ssize_t n;

	if (env != NULL) {
		snprintf(out, len, "%s/", env);
		return;
	}
	assert_string_equal(&__FILE__[flen], suffix);
	if (__FILE__[0] == '/' || access(__FILE__, R_OK) == 0) {
		snprintf(out, len, "%.*s", (int)flen, __FILE__);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(out, len, "%s/../%.*s", exe, (int)flen, __FILE__);
}

/* The shipped example must load and show the defaults. */
static void
test_example_file(void **state)
{
	struct ips_config c, d;
	char path[1024];

	(void)state;
	test_source_root(path, sizeof(path) - 32);
	strcat(path, "scripts/ips.conf.example");
	config_defaults(&c);
	config_defaults(&d);
	if (config_load(&c, path, test_err, sizeof(test_err)) != 0)
		fail_msg("%s", test_err);
	assert_memory_equal(&c.limits, &d.limits, sizeof(c.limits));
	assert_memory_equal(&c.policy, &d.policy, sizeof(c.policy));
	assert_int_equal(c.workers, d.workers);
	assert_int_equal(c.ctl_mode, d.ctl_mode);
	assert_string_equal(c.ctl_socket, d.ctl_socket);
	assert_int_equal(c.n_ports, 2);
	assert_int_equal(c.ports[0].peer, 1);
	config_free(&c);
}

/* Text of path with every `from` replaced by `to` (malloc'd). */
static char *
test_read_replaced(const char *path, const char *const (*subst)[2],
                   unsigned n)
{
	FILE *f = fopen(path, "r");
	char *text = calloc(1, 65536), *out = calloc(1, 65536);
	size_t len;

	assert_non_null(f);
	assert_non_null(text);
	assert_non_null(out);
	len = fread(text, 1, 65535, f);
	fclose(f);
	text[len] = '\0';
	for (unsigned i = 0; i < n; i++) {
		char *o = out, *p = text, *hit;

		while ((hit = strstr(p, subst[i][0])) != NULL) {
			o += sprintf(o, "%.*s%s", (int)(hit - p), p, subst[i][1]);
			p = hit + strlen(subst[i][0]);
		}
		strcpy(o, p);
		strcpy(text, out);
	}
	free(out);
	return text;
}

/* Every deployment's example (scripts/conf/) loads; the rule globs of
 * an installed /etc/ips (and the ones relative to the file, which a
 * string has not) point at the repository's signatures here. */
static void
test_deployment_examples(void **state)
{
	static const struct { const char *file; int l3; unsigned ports; } ex[] = {
		{ "bare-metal.conf", 1, 2 }, { "vm-af-packet.conf", 1, 2 },
		{ "vm-af-xdp.conf", 1, 2 }, { "vm-virtio.conf", 1, 2 },
		{ "replay.conf", 0, 2 },
	};
	char root[1024], path[1200], sig[1200], cls[1200], rel[1200];

	(void)state;
	test_source_root(root, sizeof(root) - 64);
	snprintf(sig, sizeof(sig), "%ssignatures/*.rules", root);
	snprintf(cls, sizeof(cls), "%ssignatures/classification.config", root);
	snprintf(rel, sizeof(rel), "%ssignatures/", root);
	for (unsigned i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		const char *const subst[][2] = {
			{ "/etc/ips/rules/*.rules", sig },
			{ "/etc/ips/classification.config", cls },
			{ "../../signatures/", rel },   /* relative to the file */
		};
		struct ips_config c;
		char *text;

		snprintf(path, sizeof(path), "%sscripts/conf/%s", root, ex[i].file);
		text = test_read_replaced(path, subst, 3);
		config_defaults(&c);
		if (config_load_string(&c, text, path, test_err,
		                       sizeof(test_err)) != 0)
			fail_msg("%s", test_err);
		assert_int_equal(config_is_l3(&c), ex[i].l3);
		assert_int_equal(c.n_ports, ex[i].ports);
		if (ex[i].l3)
			assert_true(c.l3.n_routes >= 2);
		config_free(&c);
		free(text);
	}
}

/* libconfig has no octal: 0660 is read back digit by digit; hex is exact. */
static void
test_ctl_mode(void **state)
{
	struct ips_config c;

	(void)state;
	assert_int_equal(test_load(&c, "control = { mode = 0640; };"), 0);
	assert_int_equal(c.ctl_mode, 0640);
	assert_int_equal(test_load(&c, "control = { mode = 0x1a4; };"), 0);
	assert_int_equal(c.ctl_mode, 0644);
	assert_int_equal(test_load(&c, "control = { mode = 0; };"), 0);
	assert_int_equal(c.ctl_mode, 0);
	config_free(&c);
}

/* Numbers libconfig reads as floats or 64-bit are not mistaken for wraps. */
static void
test_number_lexing(void **state)
{
	struct ips_config c;

	(void)state;
	assert_int_equal(test_load(&c,
		"/* 99999999999 in a comment */ # 99999999999\n"
		"signatures = { vars = { A = \"99999999999\"; B = \"x\\\"9999999999\"; }; };\n"
		"limits = { mbufs = 00000000000000000000000000100; flows = 2147483647L;"
		" frag_timeout_ms = +7; };\n"), -1);
	/* flows 2^31-1 is out of range for flows: checked after lexing. */
	assert_non_null(strstr(test_err, "limits.flows"));
	assert_int_equal(test_load(&c,
		"signatures = { vars = { A = \"99999999999\"; }; };\n"
		"limits = { mbufs = 00000000000000000000000000100; flows = 16777216L;"
		" frag_timeout_ms = +7; };\n"), 0);
	assert_int_equal(c.limits.mbufs, 100);
	assert_int_equal(c.limits.flows, 16777216);
	assert_int_equal(c.limits.frag_timeout_ms, 7);
	assert_string_equal(c.vars[0].value, "99999999999");
	config_free(&c);

	test_expect_error("limits = { flows = .5; };", 1, "flows: expected an integer");
	test_expect_error("limits = { flows = 1e10; };", 1, "flows: expected an integer");
	test_expect_error("limits = { flows = -1.5e+10; };", 1,
	                  "flows: expected an integer");
	test_expect_error("workers = 4294967297L;", 1, "workers: 4294967297 out of range");
	/* A backslash before a newline in a string still counts the line. */
	test_expect_error("signatures = { vars = { A = \"a\\\nb\"; }; };\n"
	                  "workers = 99999999999;", 3, "99999999999 does not fit");
	test_expect_error("signatures = { vars = { A = \"a\\\nb\"; }; };\n"
	                  "workers = 0;", 3, "workers: 0 out of range");
	test_expect_error("/* a\n b */ workers = 99999999999;", 2, "does not fit");
}

/* A failed load still leaves c safe to free (ASan checks the leak side). */
static void
test_free_after_error(void **state)
{
	struct ips_config c;
	char *dir = test_tmpdir(), text[512];

	(void)state;
	test_write(dir, "a.rules", "");
	snprintf(text, sizeof(text), "eal = [\"-m\", \"64\"];\n"
	         "signatures = { files = [\"%s/a.rules\"]; };\nworkers = 0;\n", dir);
	assert_int_equal(test_load(&c, text), -1);
	assert_non_null(strstr(test_err, "t.conf:3: workers"));
	config_free(&c);
	assert_int_equal(c.n_rule_files, 0);
	assert_null(c.owner);
	config_free(&c);        /* twice is harmless */
	test_rmtree(dir);
	free(dir);
}

/* A second eal list replaces the first, and nothing leaks. */
static void
test_reload_eal(void **state)
{
	struct ips_config c;

	(void)state;
	assert_int_equal(test_load(&c, "eal = [\"a\", \"b\", \"c\"];"), 0);
	assert_int_equal(config_load_string(&c, "eal = (\"d\");", "u", test_err,
	                                    sizeof(test_err)), 0);
	assert_int_equal(c.n_eal_args, 1);
	assert_string_equal(c.eal_args[0], "d");
	assert_null(c.eal_args[1]);
	config_free(&c);
}

/* ------------------------------------------------------------------------
 * Errors: file:line and the key
 */

static void
test_err_syntax(void **state)
{
	(void)state;
	test_expect_error("workers = 1;\nlimits = { flows = ; };\n", 2, "syntax error");
	test_expect_error("workers = 1;\nworkers = 2;\n", 2, "duplicate");
	test_expect_error("\n\nlimits = { flows = 1; ] };\n", 3, "syntax error");
	test_expect_error("a = 1;\n@include \"/etc/passwd\"\n", 2, "@include");
}

static void
test_err_unknown(void **state)
{
	(void)state;
	test_expect_error("workers = 1;\n\nwrokers = 2;\n", 3, "wrokers: unknown key");
	test_expect_error("limits = {\n  flows = 1;\n  flowz = 2;\n};\n", 3,
	                  "limits.flowz: unknown key");
	test_expect_error("policy = { malformed = \"drop\";\n drop = \"x\"; };", 2,
	                  "policy.drop: unknown key");
	test_expect_error("ports = ( { name = \"a\"; devargs = \"x\"; role = \"public\";"
	                  "\n queues = 2; } );", 2, "ports[0].queues: unknown key");
	test_expect_error("http = { port = [80]; };", 1, "http.port: unknown key");
	test_expect_error("signatures = { file = [\"x\"]; };", 1,
	                  "signatures.file: unknown key");
	test_expect_error("log = { eve_path = \"x\"; };", 1, "log.eve_path: unknown key");
	test_expect_error("control = {\nsocket = \"/s\";\nmod = 1; };", 3,
	                  "control.mod: unknown key");
}

static void
test_err_types(void **state)
{
	(void)state;
	test_expect_error("limits = {\n flows = \"65536\"; };", 2,
	                  "limits.flows: expected an integer");
	test_expect_error("limits = { flows = 1.5; };", 1,
	                  "limits.flows: expected an integer");
	test_expect_error("limits = 5;", 1, "limits: expected a group");
	test_expect_error("workers = true;", 1, "workers: expected an integer");
	test_expect_error("mode = l2;", 1, "syntax error");
	test_expect_error("mode = 2;", 1, "mode: expected a string");
	test_expect_error("policy = { verify_ip_checksum = 1; };", 1,
	                  "policy.verify_ip_checksum: expected true or false");
	test_expect_error("http = { detect_by_content = \"yes\"; };", 1,
	                  "http.detect_by_content: expected true or false");
	test_expect_error("http = { ports = 80; };", 1,
	                  "http.ports: expected a list");
	test_expect_error("http = { ports = [\"80\"]; };", 1,
	                  "http.ports[0]: expected an integer");
	test_expect_error("eal = \"--no-huge\";", 1, "eal: expected a list of strings");
	test_expect_error("eal = (\"a\",\n 5);", 2, "eal[1]: expected a string");
	test_expect_error("signatures = { files = \"a.rules\"; };", 1,
	                  "signatures.files: expected a list of strings");
	test_expect_error("signatures = { vars = { A = 5; }; };", 1,
	                  "signatures.vars.A: expected a string");
	test_expect_error("ports = { name = \"a\"; };", 1, "ports: expected a list");
	test_expect_error("ports = ( 5 );", 1, "ports[0]: expected a port group");
	test_expect_error("pmd_dir = [];", 1, "pmd_dir: expected a string");
}

static void
test_err_ranges(void **state)
{
	(void)state;
	test_expect_error("limits = { flows = 0; };", 1, "limits.flows: 0 out of range");
	test_expect_error("limits = { flows = 16777217; };", 1,
	                  "limits.flows: 16777217 out of range");
	test_expect_error("limits = { flows = -1; };", 1, "limits.flows: -1 out of range");
	test_expect_error("limits = { source_share = 0; };", 1,
	                  "limits.source_share: 0 out of range");
	test_expect_error("limits = { source_share = 101; };", 1,
	                  "limits.source_share: 101 out of range");
	test_expect_error("limits = { http_header_timeout = 0; };", 1,
	                  "limits.http_header_timeout: 0 out of range");
	test_expect_error("workers = 0;", 1, "workers: 0 out of range");
	test_expect_error("workers = 65;", 1, "workers: 65 out of range");
	test_expect_error("\nworkers = 4294967297;", 2, "4294967297 does not fit");
	test_expect_error("limits = {\n flows = -2147483649; };", 2, "does not fit");
	test_expect_error("limits = { flows = 0x100000001; };", 1, "does not fit");
	test_expect_error("limits = { mbufs = 5000000000L; };", 1,
	                  "limits.mbufs: 5000000000 out of range");
	test_expect_error("limits = { http_header_bytes = 10; };", 1,
	                  "limits.http_header_bytes: 10 out of range");
	test_expect_error("limits = { raw_streams = 0; };", 1,
	                  "limits.raw_streams: 0 out of range");
	test_expect_error("limits = { raw_windows = 0; };", 1,
	                  "limits.raw_windows: 0 out of range");
	test_expect_error("limits = { tls_handshakes = 0; };", 1,
	                  "limits.tls_handshakes: 0 out of range");
	test_expect_error("limits = { http_responses = 0; };", 1,
	                  "limits.http_responses: 0 out of range");
	test_expect_error("limits = { http_decoders = 0; };", 1,
	                  "limits.http_decoders: 0 out of range");
	test_expect_error("limits = { xbits = 7; };", 1,
	                  "limits.xbits: 7 out of range");
	test_expect_error("limits = { http_body_limit = 1023; };", 1,
	                  "limits.http_body_limit: 1023 out of range");
	test_expect_error("limits = { http_header_arenas = 0; };", 1,
	                  "limits.http_header_arenas: 0 out of range");
	test_expect_error("limits = { stream_kept_bytes_per_flow = 65535; };", 1,
	                  "limits.stream_kept_bytes_per_flow: 65535 out of "
	                  "range 65536..16777216");
	test_expect_error("limits = { stream_kept_bytes = 4294967296L; };", 1,
	                  "limits.stream_kept_bytes: 4294967296 out of range");
	/* tied together: a flow's window must fit in the worker's budget */
	test_expect_error("limits = {\n stream_kept_bytes = 100000;\n"
	                  " stream_kept_bytes_per_flow = 200000; };", 2,
	                  "limits.stream_kept_bytes: stream_kept_bytes (100000) "
	                  "is less than stream_kept_bytes_per_flow (200000)");
	test_expect_error("limits = {\n\n stream_kept_bytes_per_flow = "
	                  "16777216; };", 3,
	                  "limits.stream_kept_bytes_per_flow: stream_kept_bytes "
	                  "(4194304) is less");
	test_expect_error("policy = { detect_error = \"evict\"; };", 1,
	                  "policy.detect_error: 'evict' is not a policy here");
	test_expect_error("mode = \"l2 \";", 1, "mode: 'l2 ' is not a mode");
	test_expect_error("mode = \"\";", 1, "mode: must not be empty");
	test_expect_error("http = { ports = [ 80,\n 0 ]; };", 2,
	                  "http.ports[1]: 0 out of range 1..65535");
	test_expect_error("http = { ports = [ 65536 ]; };", 1,
	                  "http.ports[0]: 65536 out of range");
	test_expect_error("http = { ports = [ 80, 81, 80 ]; };", 1,
	                  "http.ports[2]: port 80 listed twice");
	test_expect_error("control = { mode = 0668; };", 1,
	                  "control.mode: expected an octal mode");
	test_expect_error("control = { mode = 1777; };", 1, "control.mode: 1777 out of range");
	test_expect_error("control = { socket = \"\"; };", 1,
	                  "control.socket: must not be empty");
}

static void
test_err_long_strings(void **state)
{
	char text[2048];

	(void)state;
	snprintf(text, sizeof(text), "pmd_dir = \"%0300d\";", 0);
	test_expect_error(text, 1, "pmd_dir: longer than 255 characters");
	snprintf(text, sizeof(text), "ports = ( { name = \"%040d\"; } );", 0);
	test_expect_error(text, 1, "ports[0].name: longer than 31 characters");
	snprintf(text, sizeof(text), "signatures = { vars = { V%069d = \"x\"; }; };", 0);
	test_expect_error(text, 1, "name longer than 63 characters");
	snprintf(text, sizeof(text), "log = { eve = \"/%0511d\"; };", 0);
	test_expect_error(text, 1, "log.eve: longer than 511 characters");
}

static void
test_err_policies(void **state)
{
	(void)state;
	test_expect_error("policy = {\n flow_table_full = \"bypass\"; };", 2,
	                  "policy.flow_table_full: 'bypass' is not a policy here "
	                  "(expected drop or evict)");
	test_expect_error("policy = { malformed = \"evict\"; };", 1,
	                  "policy.malformed: 'evict' is not a policy here "
	                  "(expected drop or bypass)");
	test_expect_error("policy = { http_txn_full = \"DROP\"; };", 1,
	                  "policy.http_txn_full: 'DROP'");
	test_expect_error("policy = { midstream = 0; };", 1,
	                  "policy.midstream: expected a string");
}

#define TEST_PORT(n, role, peer) \
	"{ name = \"" n "\"; devargs = \"d\"; role = \"" role "\";" peer " }"
#define TEST_PUB(n, peer) TEST_PORT(n, "public", peer)
#define TEST_PRIV(n, peer) TEST_PORT(n, "private", peer)

static void
test_err_ports(void **state)
{
	(void)state;
	test_expect_error("ports = ( { name = \"a\"; devargs = \"d\";\n"
	                  " role = \"outside\"; } );", 2,
	                  "ports[0].role: 'outside' is not a role");
	test_expect_error("ports = (\n" TEST_PUB("a", " peer = \"b\";") ");", 2,
	                  "ports[0].peer: no port named 'b'");
	test_expect_error("ports = (" TEST_PUB("a", "") ",\n"
	                  TEST_PUB("b", " peer = \"a\";") ");", 2,
	                  "ports[1].peer: peer 'a' has the same role");
	test_expect_error("ports = (" TEST_PUB("a", "") ",\n"
	                  TEST_PRIV("a", "") ");", 2,
	                  "ports[1].name: duplicate port name 'a'");
	test_expect_error("ports = (" TEST_PUB("a", " peer = \"b\";") ",\n"
	                  TEST_PRIV("b", " peer = \"a\";") ",\n"
	                  TEST_PUB("c", " peer = \"b\";") ");", 3,
	                  "ports[2].peer: peer 'b' names 'a' as its own peer");
	test_expect_error("ports = (\n{ devargs = \"d\"; role = \"public\"; } );", 2,
	                  "ports[0]: missing 'name'");
	test_expect_error("ports = (\n{ name = \"a\"; role = \"public\"; } );", 2,
	                  "ports[0]: missing 'devargs'");
	test_expect_error("ports = ({ name = \"a\"; devargs = \"d\"; },\n"
	                  "{ name = \"b\"; devargs = \"d\"; } );", 1,
	                  "ports[0]: missing 'role'");
	test_expect_error("ports = ( { name = \"\"; } );", 1,
	                  "ports[0].name: must not be empty");
}

/* ------------------------------------------------------------------------
 * mode "l3": port addresses, pod subnets, routes, neighbors
 */

#define TEST_L3_PORTS \
	"ports = (\n" \
	"  { name = \"pub0\"; devargs = \"net_af_packet0,iface=a\"; role = \"public\";\n" \
	"    addresses = [ \"198.51.100.1/28\", \"2001:db8:1::1/64\" ]; },\n" \
	"  { name = \"priv0\"; devargs = \"net_af_packet1,iface=b\"; role = \"private\";\n" \
	"    addresses = [ \"198.51.100.17/28\", \"2001:db8:2::1/64\" ]; } );\n"

static const char test_l3_conf[] =
	"mode = \"l3\";\n"
	TEST_L3_PORTS
	"l3 = {\n"
	"  pod_subnets = [ \"203.0.113.0/24\", \"2001:db8:a::/64\" ];\n"
	"  service_ports = [ 80, 443 ];\n"
	"  routes = (\n"
	"    { to = \"203.0.113.0/24\"; via = \"198.51.100.18\"; },\n"
	"    { to = \"2001:db8:a::/64\"; via = \"2001:db8:2::2\"; },\n"
	"    { to = \"0.0.0.0/0\"; via = \"198.51.100.2\"; port = \"pub0\"; },\n"
	"    { to = \"192.0.2.0/25\"; port = \"pub0\"; },\n"
	"    { to = \"::/0\"; via = \"fe80::2\"; port = \"pub0\"; } );\n"
	"  neighbors = ( { ip = \"198.51.100.18\"; mac = \"02:00:5E:00:53:12\"; } );\n"
	"  neighbor_table = 64; neighbor_timeout = 30; icmp_rate = 0;\n"
	"};\n"
	"policy = { reject_client = \"block_page\"; };\n";

static void
test_l3_full(void **state)
{
	const struct config_l3 *l3;
	struct ips_config c;
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, 203, 0, 113, 77 };

	(void)state;
	if (test_load(&c, test_l3_conf) != 0)
		fail_msg("%s", test_err);
	l3 = &c.l3;
	assert_true(config_is_l3(&c));
	assert_int_equal(c.ports[0].n_addrs, 2);
	assert_int_equal(c.ports[0].addrs[0].version, 4);
	assert_int_equal(c.ports[0].addrs[0].len, 28);
	assert_int_equal(c.ports[0].addrs[0].addr[15], 1);
	assert_int_equal(c.ports[1].addrs[1].version, 6);
	assert_int_equal(c.ports[1].addrs[1].len, 64);
	assert_int_equal(l3->n_pod_subnets, 2);
	assert_true(config_prefix_has(&l3->pod_subnets[0], a));
	a[14] = 114;
	assert_false(config_prefix_has(&l3->pod_subnets[0], a));
	assert_false(config_prefix_has(&l3->pod_subnets[1], a));
	assert_int_equal(l3->n_service_ports, 2);
	assert_int_equal(l3->service_ports[1], 443);
	assert_int_equal(l3->n_routes, 5);
	assert_int_equal(l3->routes[4].port, 0);       /* link-local via */
	assert_int_equal(l3->routes[0].port, 1);       /* via on priv0's subnet */
	assert_int_equal(l3->routes[1].port, 1);
	assert_int_equal(l3->routes[2].port, 0);
	assert_int_equal(l3->routes[2].to.len, 0);
	assert_int_equal(l3->routes[3].has_via, 0);    /* on-link */
	assert_int_equal(l3->routes[3].port, 0);
	assert_int_equal(l3->n_neighbors, 1);
	assert_int_equal(l3->neighbors[0].port, 1);
	assert_int_equal(l3->neighbors[0].mac[5], 0x12);
	assert_int_equal(l3->neighbor_table, 64);
	assert_int_equal(l3->neighbor_timeout, 30);
	assert_int_equal(l3->icmp_rate, 0);
	assert_int_equal(c.policy.reject_client, REJECT_CLIENT_PAGE);
	config_free(&c);

	/* defaults */
	config_defaults(&c);
	assert_false(config_is_l3(&c));
	assert_int_equal(c.l3.neighbor_table, 1024);
	assert_int_equal(c.l3.neighbor_timeout, 300);
	assert_int_equal(c.l3.icmp_rate, 100);
	assert_int_equal(c.policy.reject_client, REJECT_CLIENT_RESET);
}

static void
test_prefix_parse(void **state)
{
	struct config_prefix p;
	char err[160];
	uint8_t v4[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	(void)state;
	assert_int_equal(config_parse_prefix("0.0.0.0/0", 1, &p, err, sizeof(err)), 0);
	assert_true(config_prefix_has(&p, v4));
	assert_false(config_prefix_has(&p, v6));        /* families apart */
	assert_int_equal(config_parse_prefix("::/0", 1, &p, err, sizeof(err)), 0);
	assert_true(config_prefix_has(&p, v6));
	assert_false(config_prefix_has(&p, v4));
	assert_int_equal(config_parse_prefix("2001:db8::/33", 1, &p, err, sizeof(err)), 0);
	assert_true(config_prefix_has(&p, v6));
	v6[4] = 0x80;                                   /* bit 33 set */
	assert_false(config_prefix_has(&p, v6));
	assert_int_equal(config_parse_prefix("192.0.2.1", 0, &p, err, sizeof(err)), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(config_parse_prefix("192.0.2.1/33", 1, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "prefix length must be 0..32"));
	assert_int_equal(config_parse_prefix("192.0.2.1", 1, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing /length"));
	assert_int_equal(config_parse_prefix("192.0.2.1/24", 0, &p, err, sizeof(err)), -1);
	assert_int_equal(config_parse_prefix("::ffff:192.0.2.1", 0, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "IPv4-mapped"));
	assert_int_equal(config_parse_prefix("pod.example", 0, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IPv4 or IPv6 address"));
	assert_int_equal(config_parse_prefix("1.2.3.4/2x", 1, &p, err, sizeof(err)), -1);
	assert_int_equal(config_parse_prefix("/8", 1, &p, err, sizeof(err)), -1);
}

static void
test_err_l3(void **state)
{
	(void)state;
	test_expect_error("mode = \"l3\";\nports = (\n"
	                  "{ name = \"a\"; devargs = \"d\"; role = \"public\"; } );",
	                  3, "ports[0]: missing 'addresses'");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS, 1,
	                  "needs l3.pod_subnets");
	test_expect_error(TEST_L3_PORTS, 3, "ports[0].addresses: only in mode \"l3\"");
	test_expect_error("l3 = {\n};", 1, "l3: only with mode = \"l3\"");
	test_expect_error("mode = \"l4\";", 1, "mode: 'l4' is not a mode");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = { pod_subnets =\n"
	                  "[ \"203.0.113.1/24\" ]; };", 8,
	                  "l3.pod_subnets[0]: '203.0.113.1/24' has bits set past /24");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "pod_subnets = [ \"203.0.113.0/24\" ];\n"
	                  "routes = ( { to = \"203.0.113.0/24\";\n via = \"192.0.2.9\"; } ); };",
	                  9, "l3.routes[0]: 192.0.2.9 is on no port's subnet");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "pod_subnets = [ \"203.0.113.0/24\" ];\n"
	                  "routes = ( { to = \"203.0.113.0/24\"; via = \"198.51.100.18\";\n"
	                  " port = \"pub0\"; } ); };", 10,
	                  "l3.routes[0].port: 198.51.100.18 is not on a subnet of port 'pub0'");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "pod_subnets = [ \"203.0.113.0/24\" ];\n"
	                  "routes = ( { to = \"203.0.113.0/24\"; } ); };", 9,
	                  "l3.routes[0]: give 'via'");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "routes = ( { to = \"::/0\"; via = \"198.51.100.2\"; } ); };", 8,
	                  "l3.routes[0].via: next hop and 'to' are of different IP versions");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "routes = ( { to = \"::/0\"; via = \"2001:db8:1::2\"; },\n"
	                  "{ to = \"::/0\"; port = \"pub0\"; } ); };", 9,
	                  "l3.routes[1].to: a route to this prefix is already given");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "routes = ( { to = \"::/0\"; gw = \"2001:db8:1::2\"; } ); };", 8,
	                  "l3.routes[0].gw: unknown key");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "neighbors = ( { ip = \"198.51.100.2\"; mac = \"01:00:5e:00:00:01\"; } ); };",
	                  8, "l3.neighbors[0].mac: '01:00:5e:00:00:01' is a multicast MAC");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "neighbors = ( { ip = \"198.51.100.2\"; mac = \"02:00:5e:00:00\"; } ); };",
	                  8, "is not a MAC address");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "neighbors = ( { ip = \"198.51.100.2\"; } ); };",
	                  8, "l3.neighbors[0]: missing 'mac'");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "service_ports = [ 80, 80 ]; };", 8,
	                  "l3.service_ports[1]: port 80 listed twice");
	test_expect_error("mode = \"l3\";\nports = (\n"
	                  "{ name = \"a\"; devargs = \"d\"; role = \"public\";\n"
	                  "  addresses = [ \"198.51.100.1/24\" ]; peer = \"b\"; },\n"
	                  "{ name = \"b\"; devargs = \"d\"; role = \"private\";\n"
	                  "  addresses = [ \"198.51.100.2/24\" ]; } );", 4,
	                  "ports[0].peer: only in mode \"l2\"");
	test_expect_error("mode = \"l3\";\nports = (\n"
	                  "{ name = \"a\"; devargs = \"d\"; role = \"public\";\n"
	                  "  addresses = [ \"198.51.100.1/24\" ]; } );\n"
	                  "l3 = { pod_subnets = [ \"203.0.113.0/24\" ]; };", 2,
	                  "ports: mode \"l3\" needs a public and a private port");
	test_expect_error("mode = \"l3\";\n" TEST_L3_PORTS "l3 = {\n"
	                  "pod_subnets = [ \"203.0.113.0/24\" ];\n"
	                  "routes = ( { to = \"::/0\"; via = \"fe80::1\"; } ); };", 9,
	                  "l3.routes[0]: fe80::1 is link-local: name its port");
	test_expect_error("mode = \"l3\";\nports = (\n"
	                  "{ name = \"a\"; devargs = \"d\"; role = \"public\";\n"
	                  "  addresses = [ \"fe80::1/64\" ]; } );", 4,
	                  "ports[0].addresses: address 0 is link-local");
	test_expect_error("policy = { reject_client = \"rst\"; };", 1,
	                  "policy.reject_client: 'rst' is not a reject response");
}

static void
test_err_too_many(void **state)
{
	char text[8192];
	size_t n;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "ports = (");
	for (int i = 0; i < CONFIG_MAX_PORTS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "%s{ name = \"p%d\"; devargs = \"d\"; role = \"public\"; }",
		                      i ? "," : "", i);
	snprintf(text + n, sizeof(text) - n, ");");
	test_expect_error(text, 1, "ports: more than 16 ports");

	n = (size_t)snprintf(text, sizeof(text), "eal = [");
	for (int i = 0; i < CONFIG_MAX_EAL_ARGS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"x\"", i ? "," : "");
	snprintf(text + n, sizeof(text) - n, "];");
	test_expect_error(text, 1, "eal: more than 64 entries");

	n = (size_t)snprintf(text, sizeof(text), "http = { ports = [");
	for (int i = 0; i < CONFIG_MAX_HTTP_PORTS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i ? "," : "", i + 1);
	snprintf(text + n, sizeof(text) - n, "]; };");
	test_expect_error(text, 1, "http.ports: more than 64 ports");
}

static void
test_err_file(void **state)
{
	struct ips_config c;
	char *dir = test_tmpdir(), path[1024];
	FILE *f;

	(void)state;
	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	assert_int_equal(config_load(&c, path, test_err, sizeof(test_err)), -1);
	assert_non_null(strstr(test_err, "missing.conf: cannot open"));

	/* libconfig would stop at an inner NUL and ignore the rest. */
	snprintf(path, sizeof(path), "%s/nul.conf", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("workers = 1;\0wrokers = 2;\n", 1, 26, f), 26);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(config_load(&c, path, test_err, sizeof(test_err)), -1);
	assert_non_null(strstr(test_err, "nul.conf: contains a NUL byte"));

	test_write(dir, "bad.conf", "workers = 1;\n\nlimits = { flows = 0; };\n");
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	assert_int_equal(config_load(&c, path, test_err, sizeof(test_err)), -1);
	snprintf(path, sizeof(path), "%s/bad.conf:3: limits.flows", dir);
	assert_string_equal(strstr(test_err, dir), test_err);
	assert_non_null(strstr(test_err, path));
	config_free(&c);
	test_rmtree(dir);
	free(dir);
}

/* A tiny err buffer truncates; a NULL one is allowed. */
static void
test_err_buffer(void **state)
{
	struct ips_config c;
	char small[8];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_load_string(&c, "workers = 0;", "t.conf", small,
	                                    sizeof(small)), -1);
	assert_string_equal(small, "t.conf:");
	assert_int_equal(config_load_string(&c, "workers = 0;", NULL, NULL, 0), -1);
	config_free(&c);
}

/* ------------------------------------------------------------------------
 * Paths
 */

/* From a string, relative paths stay relative to the current directory. */
static void
test_paths_string(void **state)
{
	struct ips_config c;

	(void)state;
	assert_int_equal(test_load(&c, "signatures = { classification = \"c/x\"; };\n"
	                 "log = { eve = \"e.json\"; };"), 0);
	assert_string_equal(c.classification, "c/x");
	assert_string_equal(c.eve_path, "e.json");
	assert_int_equal(test_load(&c, "log = { eve = \"/var/log/e.json\"; };"), 0);
	assert_string_equal(c.eve_path, "/var/log/e.json");
	assert_int_equal(test_load(&c, "log = { eve = \"\"; };"), 0);
	assert_string_equal(c.eve_path, "");
	config_free(&c);
}

/* A relative config path gives relative results; "/x.conf" gives "/...". */
static void
test_paths_file(void **state)
{
	struct ips_config c;
	char *dir = test_tmpdir(), cwd[1024], *slash;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	test_write(dir, "r.conf", "log = { eve = \"out/eve.json\"; };\n"
	           "signatures = { classification = \"/abs/c\"; };\n");
	slash = strrchr(dir, '/');
	assert_int_equal(chdir("/tmp"), 0);
	config_defaults(&c);
	{
		char rel[512];

		snprintf(rel, sizeof(rel), "%s/r.conf", slash + 1);
		assert_int_equal(config_load(&c, rel, test_err, sizeof(test_err)), 0);
		snprintf(rel, sizeof(rel), "%s/out/eve.json", slash + 1);
		assert_string_equal(c.eve_path, rel);
	}
	assert_string_equal(c.classification, "/abs/c");
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(config_load(&c, "r.conf", test_err, sizeof(test_err)), 0);
	assert_string_equal(c.eve_path, "out/eve.json");
	assert_int_equal(chdir(cwd), 0);
	config_free(&c);
	test_rmtree(dir);
	free(dir);
}

/* Globs sort within a pattern, keep pattern order, and must match. */
static void
test_glob(void **state)
{
	struct ips_config c;
	char *dir = test_tmpdir(), path[512], want[1024];

	(void)state;
	test_mkdir(dir, "s[1]");        /* metacharacters in the config's dir */
	snprintf(path, sizeof(path), "%s/s[1]", dir);
	test_write(path, "z.rules", "");
	test_write(path, "m.rules", "");
	test_write(path, "a.rules", "");
	test_write(path, "b.txt", "");
	test_write(path, "ok.conf", "signatures = { files = [ \"b.txt\",\n"
	           "\"*.rules\", \"?.txt\" ]; };\n");
	test_write(path, "bad.conf", "signatures = {\n files = [ \"*.rules\",\n"
	           " \"none/*.rules\" ]; };\n");
	config_defaults(&c);
	snprintf(path, sizeof(path), "%s/s[1]/ok.conf", dir);
	if (config_load(&c, path, test_err, sizeof(test_err)) != 0)
		fail_msg("%s", test_err);
	assert_int_equal(c.n_rule_files, 5);
	const char *order[] = { "b.txt", "a.rules", "m.rules", "z.rules", "b.txt" };
	for (unsigned i = 0; i < 5; i++) {
		snprintf(want, sizeof(want), "%s/s[1]/%s", dir, order[i]);
		assert_string_equal(c.rule_files[i], want);
	}
	snprintf(path, sizeof(path), "%s/s[1]/bad.conf", dir);
	assert_int_equal(config_load(&c, path, test_err, sizeof(test_err)), -1);
	snprintf(want, sizeof(want), "%s:3: signatures.files[1]: 'none/*.rules' "
	         "matches no file", path);
	assert_string_equal(test_err, want);
	config_free(&c);
	test_rmtree(dir);
	free(dir);
}

static void
test_add_rule_file(void **state)
{
	struct ips_config c;
	char name[32];

	(void)state;
	config_defaults(&c);
	snprintf(name, sizeof(name), "cli.rules");
	assert_int_equal(config_add_rule_file(&c, name), 0);
	name[0] = 'X';                  /* the config keeps its own copy */
	assert_int_equal(c.n_rule_files, 1);
	assert_string_equal(c.rule_files[0], "cli.rules");
	for (int i = 1; i < CONFIG_MAX_RULE_FILES; i++)
		assert_int_equal(config_add_rule_file(&c, "r"), 0);
	assert_int_equal(config_add_rule_file(&c, "one too many"), -1);
	assert_int_equal(c.n_rule_files, CONFIG_MAX_RULE_FILES);
	config_free(&c);
	assert_int_equal(c.n_rule_files, 0);
}

static void
test_policy_name(void **state)
{
	(void)state;
	assert_string_equal(config_policy_name(POLICY_DROP), "drop");
	assert_string_equal(config_policy_name(POLICY_BYPASS), "bypass");
	assert_string_equal(config_policy_name(POLICY_EVICT), "evict");
	assert_string_equal(config_policy_name(3), "?");
	assert_string_equal(config_policy_name(255), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_absent_groups),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_deployment_examples),
		cmocka_unit_test(test_ctl_mode),
		cmocka_unit_test(test_number_lexing),
		cmocka_unit_test(test_free_after_error),
		cmocka_unit_test(test_reload_eal),
		cmocka_unit_test(test_err_syntax),
		cmocka_unit_test(test_err_unknown),
		cmocka_unit_test(test_err_types),
		cmocka_unit_test(test_err_ranges),
		cmocka_unit_test(test_err_long_strings),
		cmocka_unit_test(test_err_policies),
		cmocka_unit_test(test_err_ports),
		cmocka_unit_test(test_err_too_many),
		cmocka_unit_test(test_err_file),
		cmocka_unit_test(test_err_buffer),
		cmocka_unit_test(test_paths_string),
		cmocka_unit_test(test_paths_file),
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_add_rule_file),
		cmocka_unit_test(test_policy_name),
		cmocka_unit_test(test_l3_full),
		cmocka_unit_test(test_prefix_parse),
		cmocka_unit_test(test_err_l3),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

/*
 * config.c - reads and validates the dataplane's libconfig file into
 * struct ips_config (layout and defaults: config.h, DESIGN §10).
 *
 * Every key is described once, in a table (name, handler, offset, bounds);
 * one walker checks each group's children against its table, so an unknown
 * key anywhere is an error naming file:line and the key.  The libconfig
 * object lives only inside a load: strings are copied into the struct's
 * arrays, the EAL args into one block kept in c->owner, rule file paths
 * into their own allocations.  Runs once at start; nothing here is on the
 * packet path.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config.h"

/* A config is a few kilobytes; anything larger is not one. */
#define CFG_MAX_FILE_BYTES (1u << 20)
#define CFG_MAX_FLOWS (16u << 20)
#define CFG_MAX_WORKERS 64
#define CFG_MAX_POOL (16u << 20)

_Static_assert(sizeof(unsigned) == sizeof(uint32_t),
               "workers and ctl_mode are stored through uint32_t");

struct cfg_key;

/* One load in progress: where errors go and what relative paths mean.
 * The l3 routes and neighbors name their ports; the names resolve once
 * every group is read (the file may give l3 before ports). */
struct cfg_ctx {
	struct ips_config *c;
	const char *file;           /* name in messages */
	char base[512];             /* config's directory with '/', or "" */
	char *err;
	size_t errlen;
	const config_setting_t *l3;                 /* the l3 group, if any */
	const config_setting_t *route_s[CONFIG_MAX_ROUTES];
	char route_port[CONFIG_MAX_ROUTES][32];
	const config_setting_t *neigh_s[CONFIG_MAX_NEIGHBORS];
	char neigh_port[CONFIG_MAX_NEIGHBORS][32];
};

typedef int (*cfg_parse_fn)(struct cfg_ctx *x, const config_setting_t *s,
                            const struct cfg_key *k, void *obj);

/*
 * One allowed key.  off is into obj (struct ips_config, or the port being
 * read); min/max bound integers, or string lengths (max = buffer size);
 * allowed is a bit mask of policies; sub is a nested group's table.
 */
struct cfg_key {
	const char *name;
	cfg_parse_fn parse;
	size_t off;
	long long min, max;
	unsigned allowed;
	const struct cfg_key *sub;
};

/* A port while its group is read; peer names resolve once all are known. */
struct cfg_port {
	struct config_port p;
	char peer[sizeof(((struct config_port *)0)->name)];
	const config_setting_t *s;
};

static const char *const cfg_policy_names[] = {
	[POLICY_DROP] = "drop",
	[POLICY_BYPASS] = "bypass",
	[POLICY_EVICT] = "evict",
};

#define CFG_NPOLICIES (sizeof(cfg_policy_names) / sizeof(cfg_policy_names[0]))

const char *
config_policy_name(uint8_t p)
{
	return p < CFG_NPOLICIES ? cfg_policy_names[p] : "?";
}

void
config_defaults(struct ips_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->pmd_dir, sizeof(c->pmd_dir), "%s",
	         "/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0");
	c->workers = 1;
	snprintf(c->mode, sizeof(c->mode), "%s", "l2");
	c->limits = (struct config_limits){
		.flows = 65536,
		.flow_timeout_syn = 30,
		.flow_timeout_established = 600,
		.flow_timeout_closed = 10,
		.flow_timeout_udp = 60,
		.stream_held_per_flow = 32,
		/* with stream_kept_bytes' 4096 mbufs, the 8192 the hold and
		 * the kept copies used to share */
		.stream_held = 4096,
		/* the server's window is clamped to it: 256 KiB keeps an
		 * upload at about 100 Mbit/s over a 20 ms round trip */
		.stream_kept_bytes_per_flow = 256 * 1024,
		/* Kept bytes wait only for the server's acknowledgement, a
		 * round trip on the private side, unless a segment was lost
		 * there: room for 16 flows recovering at a full window at
		 * once; about 2,900 full segments, 4,096 mbufs at the least
		 * average size kept. */
		.stream_kept_bytes = 4 * 1024 * 1024,
		.http_transactions = 4096,
		.http_header_bytes = 16384,
		/* a head over a transaction's small arena (about 3 KiB)
		 * takes one: 1 in 16 of the default transactions */
		.http_header_arenas = 256,
		.body_streams = 1024,
		/* one per open TCP flow while raw-stream rules are loaded:
		 * as many as the flow table holds */
		.raw_streams = 65536,
		/* only flows in their first 8 KiB hold one, and only while
		 * a rule needs it: 16 MiB per worker */
		.raw_windows = 2048,
		/* a server holds one from the first to the last byte of its
		 * Certificate message, a round trip or two: 8 MiB per worker,
		 * only with tls.certs rules */
		.tls_handshakes = 256,
		/* a response holds one from its head to its last body byte,
		 * only while response rules are loaded; its 48 KiB gzip
		 * state is touched only by a compressed body */
		.http_responses = 256,
		/* a content-coded body holds one while it passes, only while
		 * body rules are loaded: 48 KiB each, touched only then */
		.http_decoders = 256,
		/* a host or pair bit a rule set holds one until it expires:
		 * 256 KiB per worker, read by every worker only when a rule
		 * with xbits is evaluated */
		.xbits = 4096,
		/* Suricata's response-body-limit (and request-body-limit) */
		.http_body_limit = 102400,
		.frag_datagrams = 4096,
		.frag_timeout_ms = 2000,
		.alert_ring = 4096,
		.mbufs = 0,
		/* one source (NAT, a proxy) may fill half of a pool, no
		 * more: an attacker needs more than one address */
		.source_share = 50,
		/* nginx's client_header_timeout and client_body_timeout */
		.http_header_timeout = 60,
		.http_body_timeout = 60,
		/* a lost segment is retransmitted within seconds (RTO is
		 * at most 120 s, but a gap that long is a dead peer) */
		.stream_gap_timeout = 30,
	};
	/* Fail closed on inspection gaps; a full flow table evicts (§9). */
	c->policy = (struct config_policies){
		.malformed = POLICY_DROP,
		.midstream = POLICY_DROP,
		.flow_table_full = POLICY_EVICT,
		.stream_hold_full = POLICY_DROP,
		.http_ambiguous = POLICY_DROP,
		.http_malformed = POLICY_DROP,
		.http_txn_full = POLICY_DROP,
		.detect_error = POLICY_DROP,
		.verify_ip_checksum = 0,
		.reject_client = REJECT_CLIENT_RESET,
	};
	c->l3.neighbor_table = 1024;
	c->l3.neighbor_timeout = 300;
	c->l3.icmp_rate = 100;
	c->http_ports[0] = 80;
	c->http_ports[1] = 8080;
	c->n_http_ports = 2;
	c->http_detect_by_content = 1;
	snprintf(c->ctl_socket, sizeof(c->ctl_socket), "%s", "/run/ips/ctl.sock");
	c->ctl_mode = 0660;
	for (unsigned i = 0; i < CONFIG_MAX_PORTS; i++)
		c->ports[i].peer = -1;
}

/* ------------------------------------------------------------------------
 * Errors: "file:line: key.path: reason"
 */

static void cfg_errf(struct cfg_ctx *x, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
cfg_errf(struct cfg_ctx *x, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (x->err == NULL || x->errlen == 0)
		return;
	/* line 0: the file as a whole (cannot open, too large) */
	if (line > 0)
		n = snprintf(x->err, x->errlen, "%s:%u: ", x->file, line);
	else
		n = snprintf(x->err, x->errlen, "%s: ", x->file);
	if (n < 0 || (size_t)n >= x->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Dotted path of a setting, list elements as [i]: "ports[1].peer". */
static void
cfg_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;

	buf[0] = '\0';
	if (parent == NULL)
		return;
	cfg_path(parent, buf, len);
	n = strlen(buf);
	if (s->name != NULL)
		snprintf(buf + n, len - n, "%s%s", n ? "." : "", s->name);
	else
		snprintf(buf + n, len - n, "[%d]", config_setting_index(s));
}

static int cfg_fail(struct cfg_ctx *x, const config_setting_t *s,
                    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Report reason against setting s; always returns -1. */
static int
cfg_fail(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char path[256], reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	cfg_path(s, path, sizeof(path));
	cfg_errf(x, config_setting_source_line(s), "%s: %s", path, reason);
	return -1;
}

/* ------------------------------------------------------------------------
 * Typed readers shared by the handlers
 */

static int
cfg_get_int(struct cfg_ctx *x, const config_setting_t *s, long long min,
            long long max, long long *out)
{
	int t = config_setting_type(s);

	*out = 0;
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_fail(x, s, "expected an integer");
	*out = config_setting_get_int64(s);
	if (*out < min || *out > max)
		return cfg_fail(x, s, "%lld out of range %lld..%lld", *out, min, max);
	return 0;
}

/* A string of minlen..size-1 bytes; NULL after reporting otherwise. */
static const char *
cfg_get_str(struct cfg_ctx *x, const config_setting_t *s, size_t minlen,
            size_t size)
{
	const char *v;
	size_t n;

	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cfg_fail(x, s, "expected a string");
		return NULL;
	}
	v = config_setting_get_string(s);
	n = strlen(v);
	if (n < minlen) {
		cfg_fail(x, s, "must not be empty");
		return NULL;
	}
	if (n >= size) {
		cfg_fail(x, s, "longer than %zu characters", size - 1);
		return NULL;
	}
	return v;
}

/* An array or list of strings (possibly empty); returns its length. */
static int
cfg_get_str_list(struct cfg_ctx *x, const config_setting_t *s, unsigned max)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_fail(x, s, "expected a list of strings");
	n = config_setting_length(s);
	if (n < 0 || (unsigned)n > max)
		return cfg_fail(x, s, "more than %u entries", max);
	for (int i = 0; i < n; i++)
		if (cfg_get_str(x, config_setting_get_elem(s, i), 0, SIZE_MAX) == NULL)
			return -1;
	return n;
}

/*
 * Walk a group's children against keys; each child must be one of them.
 * libconfig itself rejects a name given twice in one group.
 */
static int
cfg_walk(struct cfg_ctx *x, const config_setting_t *g,
         const struct cfg_key *keys, void *obj)
{
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const struct cfg_key *k = keys;

		while (k->name != NULL && strcmp(k->name, s->name) != 0)
			k++;
		if (k->name == NULL)
			return cfg_fail(x, s, "unknown key");
		if (k->parse(x, s, k, obj) < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Key handlers
 */

static int
cfg_group(struct cfg_ctx *x, const config_setting_t *s,
          const struct cfg_key *k, void *obj)
{
	if (!config_setting_is_group(s))
		return cfg_fail(x, s, "expected a group { ... }");
	return cfg_walk(x, s, k->sub, obj);
}

static int
cfg_u32(struct cfg_ctx *x, const config_setting_t *s,
        const struct cfg_key *k, void *obj)
{
	long long v;

	if (cfg_get_int(x, s, k->min, k->max, &v) < 0)
		return -1;
	*(uint32_t *)((char *)obj + k->off) = (uint32_t)v;
	return 0;
}

static int
cfg_bool(struct cfg_ctx *x, const config_setting_t *s,
         const struct cfg_key *k, void *obj)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(x, s, "expected true or false");
	*((uint8_t *)obj + k->off) = config_setting_get_bool(s) ? 1 : 0;
	return 0;
}

static int
cfg_str(struct cfg_ctx *x, const config_setting_t *s,
        const struct cfg_key *k, void *obj)
{
	const char *v = cfg_get_str(x, s, (size_t)k->min, (size_t)k->max);

	if (v == NULL)
		return -1;
	memcpy((char *)obj + k->off, v, strlen(v) + 1);
	return 0;
}

/* out = base + rel unless rel is absolute; size bounds out. */
static int
cfg_resolve(struct cfg_ctx *x, const config_setting_t *s, const char *rel,
            char *out, size_t size)
{
	const char *base = rel[0] == '/' ? "" : x->base;
	int n = snprintf(out, size, "%s%s", base, rel);

	if (n < 0 || (size_t)n >= size)
		return cfg_fail(x, s, "resolved path longer than %zu characters",
		                size - 1);
	return 0;
}

static int
cfg_file_path(struct cfg_ctx *x, const config_setting_t *s,
              const struct cfg_key *k, void *obj)
{
	const char *v = cfg_get_str(x, s, 0, (size_t)k->max);

	if (v == NULL)
		return -1;
	if (v[0] == '\0') {             /* "" keeps its meaning: none */
		*((char *)obj + k->off) = '\0';
		return 0;
	}
	return cfg_resolve(x, s, v, (char *)obj + k->off, (size_t)k->max);
}

static int
cfg_policy(struct cfg_ctx *x, const config_setting_t *s,
           const struct cfg_key *k, void *obj)
{
	const char *v = cfg_get_str(x, s, 0, 16);

	if (v == NULL)
		return -1;
	for (unsigned p = 0; p < CFG_NPOLICIES; p++) {
		if ((k->allowed & (1u << p)) && strcmp(v, cfg_policy_names[p]) == 0) {
			*((uint8_t *)obj + k->off) = (uint8_t)p;
			return 0;
		}
	}
	return cfg_fail(x, s, "'%s' is not a policy here (expected %s or %s)", v,
	                cfg_policy_names[POLICY_DROP],
	                (k->allowed & (1u << POLICY_EVICT)) ?
	                cfg_policy_names[POLICY_EVICT] :
	                cfg_policy_names[POLICY_BYPASS]);
}

static int
cfg_mode(struct cfg_ctx *x, const config_setting_t *s,
         const struct cfg_key *k, void *obj)
{
	const char *v = cfg_get_str(x, s, 1, (size_t)k->max);

	if (v == NULL)
		return -1;
	if (strcmp(v, "l2") != 0 && strcmp(v, "l3") != 0)
		return cfg_fail(x, s, "'%s' is not a mode (expected \"l2\" or "
		                "\"l3\")", v);
	memcpy((char *)obj + k->off, v, strlen(v) + 1);
	return 0;
}

/*
 * libconfig has no octal literals: "mode = 0660" arrives as decimal 660.
 * Read the decimal digits back as octal, as chmod would; a hex literal is
 * taken as its value.
 */
static int
cfg_file_mode(struct cfg_ctx *x, const config_setting_t *s,
              const struct cfg_key *k, void *obj)
{
	long long v, mode = 0, scale = 1;

	if (cfg_get_int(x, s, 0, config_setting_get_format(s) ==
	                CONFIG_FORMAT_HEX ? 0777 : 777, &v) < 0)
		return -1;
	if (config_setting_get_format(s) == CONFIG_FORMAT_HEX) {
		mode = v;
	} else {
		for (; v > 0; v /= 10, scale *= 8) {
			if (v % 10 > 7)
				return cfg_fail(x, s, "expected an octal mode like 0660");
			mode += (v % 10) * scale;
		}
	}
	*(uint32_t *)((char *)obj + k->off) = (uint32_t)mode;
	return 0;
}

/* The EAL args are copied into one block (c->owner) freed by config_free. */
static int
cfg_eal(struct cfg_ctx *x, const config_setting_t *s,
        const struct cfg_key *k, void *obj)
{
	struct ips_config *c = obj;
	int n = cfg_get_str_list(x, s, CONFIG_MAX_EAL_ARGS);
	size_t total = 1;
	char *block, *p;

	(void)k;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++)
		total += strlen(config_setting_get_string_elem(s, i)) + 1;
	block = malloc(total);
	if (block == NULL)
		return cfg_fail(x, s, "out of memory");
	free(c->owner);
	c->owner = block;
	memset(c->eal_args, 0, sizeof(c->eal_args));
	p = block;
	for (int i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		size_t len = strlen(v) + 1;

		memcpy(p, v, len);
		c->eal_args[i] = p;
		p += len;
	}
	c->n_eal_args = (unsigned)n;
	return 0;
}

/* A list of 1..max distinct port numbers into ports[], count in *n. */
static int
cfg_port_numbers(struct cfg_ctx *x, const config_setting_t *s, uint16_t *out,
                 unsigned max, unsigned *count)
{
	uint16_t ports[CONFIG_MAX_HTTP_PORTS > CONFIG_MAX_SERVICE_PORTS ?
	               CONFIG_MAX_HTTP_PORTS : CONFIG_MAX_SERVICE_PORTS];
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_fail(x, s, "expected a list of port numbers");
	n = config_setting_length(s);
	if (n < 0 || (unsigned)n > max)
		return cfg_fail(x, s, "more than %u ports", max);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		long long v;

		if (cfg_get_int(x, e, 1, 65535, &v) < 0)
			return -1;
		ports[i] = (uint16_t)v;
		for (int j = 0; j < i; j++)
			if (ports[j] == ports[i])
				return cfg_fail(x, e, "port %lld listed twice", v);
	}
	memcpy(out, ports, (size_t)n * sizeof(ports[0]));
	*count = (unsigned)n;
	return 0;
}

static int
cfg_http_ports(struct cfg_ctx *x, const config_setting_t *s,
               const struct cfg_key *k, void *obj)
{
	struct ips_config *c = obj;

	(void)k;
	return cfg_port_numbers(x, s, c->http_ports, CONFIG_MAX_HTTP_PORTS,
	                        &c->n_http_ports);
}

/* Copy base into out with glob's metacharacters escaped. */
static int
cfg_glob_escape(const char *base, char *out, size_t size)
{
	size_t o = 0;

	for (; *base != '\0'; base++) {
		if (strchr("*?[\\", *base) != NULL) {
			if (o + 1 >= size)
				return -1;
			out[o++] = '\\';
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = *base;
	}
	out[o] = '\0';
	return 0;
}

/* Append every regular path matching pattern v, in glob's sorted order. */
static int
cfg_glob_one(struct cfg_ctx *x, const config_setting_t *e, const char *v)
{
	struct ips_config *c = x->c;
	char pattern[2048];
	size_t n, added = 0;
	glob_t g;
	int rc;

	if (v[0] == '/')
		pattern[0] = '\0';
	else if (cfg_glob_escape(x->base, pattern, sizeof(pattern)) < 0)
		return cfg_fail(x, e, "path too long");
	n = strlen(pattern);
	if (snprintf(pattern + n, sizeof(pattern) - n, "%s", v) >=
	    (int)(sizeof(pattern) - n))
		return cfg_fail(x, e, "path too long");

	/* GLOB_MARK flags directories with a '/' so a pattern skips them. */
	rc = glob(pattern, GLOB_MARK, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		return cfg_fail(x, e, "'%s' matches no file", v);
	} else if (rc != 0) {
		globfree(&g);
		return cfg_fail(x, e, "cannot expand '%s'", v);
	}
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *p = g.gl_pathv[i];
		size_t len = strlen(p);

		if (len > 0 && p[len - 1] == '/')
			continue;
		if (config_add_rule_file(c, p) < 0) {
			globfree(&g);
			return cfg_fail(x, e, "more than %d rule files",
			                CONFIG_MAX_RULE_FILES);
		}
		added++;
	}
	globfree(&g);
	if (added == 0)
		return cfg_fail(x, e, "'%s' matches no file", v);
	return 0;
}

static int
cfg_rule_files(struct cfg_ctx *x, const config_setting_t *s,
               const struct cfg_key *k, void *obj)
{
	int n = cfg_get_str_list(x, s, CONFIG_MAX_RULE_FILES);

	(void)k;
	(void)obj;
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (cfg_get_str(x, e, 1, SIZE_MAX) == NULL ||
		    cfg_glob_one(x, e, config_setting_get_string(e)) < 0)
			return -1;
	}
	return 0;
}

static int
cfg_vars(struct cfg_ctx *x, const config_setting_t *s,
         const struct cfg_key *k, void *obj)
{
	struct ips_config *c = obj;
	int n;

	(void)k;
	if (!config_setting_is_group(s))
		return cfg_fail(x, s, "expected a group { NAME = \"value\"; ... }");
	n = config_setting_length(s);
	if (n < 0 || n > CONFIG_MAX_VARS)
		return cfg_fail(x, s, "more than %d vars", CONFIG_MAX_VARS);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		struct config_var *var = &c->vars[i];
		const char *v = cfg_get_str(x, e, 0, sizeof(var->value));

		if (v == NULL)
			return -1;
		if (strlen(e->name) >= sizeof(var->name))
			return cfg_fail(x, e, "name longer than %zu characters",
			                sizeof(var->name) - 1);
		memcpy(var->name, e->name, strlen(e->name) + 1);
		memcpy(var->value, v, strlen(v) + 1);
	}
	c->n_vars = (unsigned)n;
	return 0;
}

/* One of names[] (its index is the value) into *out. */
static int
cfg_choice(struct cfg_ctx *x, const config_setting_t *s,
           const char *const names[2], const char *what, uint8_t *out)
{
	const char *v = cfg_get_str(x, s, 0, 16);

	if (v == NULL)
		return -1;
	for (uint8_t i = 0; i < 2; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return cfg_fail(x, s, "'%s' is not a %s (expected %s or %s)", v, what,
	                names[0], names[1]);
}

static int
cfg_role(struct cfg_ctx *x, const config_setting_t *s,
         const struct cfg_key *k, void *obj)
{
	static const char *const roles[2] = {
		[PORT_ROLE_PUBLIC] = "public", [PORT_ROLE_PRIVATE] = "private",
	};

	return cfg_choice(x, s, roles, "role", (uint8_t *)obj + k->off);
}

/* ------------------------------------------------------------------------
 * Addresses, prefixes and the l3 group
 */

static const uint8_t cfg_v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

int
config_is_l3(const struct ips_config *c)
{
	return strcmp(c->mode, "l3") == 0;
}

int
config_parse_prefix(const char *text, int want_len, struct config_prefix *p,
                    char *err, size_t errlen)
{
	const char *slash = strchr(text, '/');
	size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
	unsigned max;
	char buf[64], *end;
	long len;

	memset(p, 0, sizeof(*p));
	if (n == 0 || n >= sizeof(buf))
		goto not_ip;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, p->addr + 12) == 1) {
		memcpy(p->addr, cfg_v4_mapped, sizeof(cfg_v4_mapped));
		p->version = 4;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, p->addr) == 1) {
		if (memcmp(p->addr, cfg_v4_mapped, sizeof(cfg_v4_mapped)) == 0) {
			snprintf(err, errlen, "'%s': write an IPv4 address as "
			         "a.b.c.d, not IPv4-mapped", text);
			return -1;
		}
		p->version = 6;
		max = 128;
	} else {
		goto not_ip;
	}
	if (!want_len) {
		if (slash != NULL) {
			snprintf(err, errlen, "'%s': expected an address "
			         "without /length", text);
			return -1;
		}
		p->len = (uint8_t)max;
		return 0;
	}
	if (slash == NULL) {
		snprintf(err, errlen, "'%s': missing /length (e.g. %s/%u)", text,
		         text, max == 32 ? 24 : 64);
		return -1;
	}
	len = strtol(slash + 1, &end, 10);
	if (end == slash + 1 || *end != '\0' || len < 0 || len > (long)max) {
		snprintf(err, errlen, "'%s': prefix length must be 0..%u", text,
		         max);
		return -1;
	}
	p->len = (uint8_t)len;
	return 0;
not_ip:
	snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", text);
	return -1;
}

/* Bits of the 16-byte form a prefix fixes (IPv4: the mapped 96 too). */
static unsigned
cfg_prefix_bits(const struct config_prefix *p)
{
	return p->len + (p->version == 4 ? 96u : 0u);
}

int
config_prefix_has(const struct config_prefix *p, const uint8_t a[16])
{
	unsigned bits = cfg_prefix_bits(p), full = bits / 8, rest = bits % 8;
	int mapped = memcmp(a, cfg_v4_mapped, sizeof(cfg_v4_mapped)) == 0;

	/* ::/0 must not hold IPv4: the families route apart */
	if (mapped != (p->version == 4))
		return 0;
	if (memcmp(p->addr, a, full) != 0)
		return 0;
	return rest == 0 ||
	       ((p->addr[full] ^ a[full]) & (0xff00u >> rest) & 0xff) == 0;
}

/* A network (route, pod subnet): bits past the length must be clear, or
 * the operator meant something else. */
static int
cfg_prefix_is_network(const struct config_prefix *p)
{
	struct config_prefix net = *p;
	unsigned bits = cfg_prefix_bits(p);

	for (unsigned b = bits; b < 128; b++)
		net.addr[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	return memcmp(net.addr, p->addr, 16) == 0;
}

static int
cfg_get_prefix(struct cfg_ctx *x, const config_setting_t *s, int want_len,
               int network, struct config_prefix *p)
{
	const char *v = cfg_get_str(x, s, 1, 64);
	char why[160];

	if (v == NULL)
		return -1;
	if (config_parse_prefix(v, want_len, p, why, sizeof(why)) < 0)
		return cfg_fail(x, s, "%s", why);
	if (network && !cfg_prefix_is_network(p))
		return cfg_fail(x, s, "'%s' has bits set past /%u: write the "
		                "network address", v, p->len);
	return 0;
}

/* A list of prefixes (network = 1: each a network, not a host in it). */
static int
cfg_prefix_list(struct cfg_ctx *x, const config_setting_t *s, int network,
                struct config_prefix *out, unsigned max, unsigned *count)
{
	int n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s))
		return cfg_fail(x, s, "expected a list of \"address/length\"");
	n = config_setting_length(s);
	if (n < 0 || (unsigned)n > max)
		return cfg_fail(x, s, "more than %u entries", max);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		if (cfg_get_prefix(x, e, 1, network, &out[i]) < 0)
			return -1;
		for (int j = 0; j < i; j++)
			if (memcmp(out[j].addr, out[i].addr, 16) == 0 &&
			    out[j].len == out[i].len)
				return cfg_fail(x, e, "listed twice");
	}
	*count = (unsigned)n;
	return 0;
}

static int
cfg_port_addrs(struct cfg_ctx *x, const config_setting_t *s,
               const struct cfg_key *k, void *obj)
{
	struct config_port *p = (struct config_port *)((char *)obj + k->off);

	return cfg_prefix_list(x, s, 0, p->addrs, CONFIG_MAX_PORT_ADDRS,
	                       &p->n_addrs);
}

static int
cfg_pod_subnets(struct cfg_ctx *x, const config_setting_t *s,
                const struct cfg_key *k, void *obj)
{
	struct config_l3 *l3 = &((struct ips_config *)obj)->l3;

	(void)k;
	return cfg_prefix_list(x, s, 1, l3->pod_subnets,
	                       CONFIG_MAX_POD_SUBNETS, &l3->n_pod_subnets);
}

static int
cfg_service_ports(struct cfg_ctx *x, const config_setting_t *s,
                  const struct cfg_key *k, void *obj)
{
	struct config_l3 *l3 = &((struct ips_config *)obj)->l3;

	(void)k;
	return cfg_port_numbers(x, s, l3->service_ports,
	                        CONFIG_MAX_SERVICE_PORTS, &l3->n_service_ports);
}

/* "02:00:5e:00:53:01": a unicast MAC, not all zeros. */
static int
cfg_get_mac(struct cfg_ctx *x, const config_setting_t *s, uint8_t mac[6])
{
	const char *v = cfg_get_str(x, s, 1, 32);
	unsigned b[6];
	int used = 0;

	if (v == NULL)
		return -1;
	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%n", &b[0], &b[1], &b[2], &b[3],
	           &b[4], &b[5], &used) != 6 || used != 17 || v[used] != '\0')
		return cfg_fail(x, s, "'%s' is not a MAC address "
		                "(xx:xx:xx:xx:xx:xx)", v);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	if (mac[0] & 1)
		return cfg_fail(x, s, "'%s' is a multicast MAC address", v);
	if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
		return cfg_fail(x, s, "'%s' is not a usable MAC address", v);
	return 0;
}

/* One element of l3.routes or l3.neighbors: a group of known keys, each
 * given once (libconfig refuses repeats). */
static int
cfg_check_members(struct cfg_ctx *x, const config_setting_t *e,
                  const char *const *keys, const char *what)
{
	if (!config_setting_is_group(e))
		return cfg_fail(x, e, "expected a %s group { ... }", what);
	for (int i = 0; i < config_setting_length(e); i++) {
		const config_setting_t *m = config_setting_get_elem(e, i);
		const char *const *k = keys;

		while (*k != NULL && strcmp(*k, m->name) != 0)
			k++;
		if (*k == NULL)
			return cfg_fail(x, m, "unknown key");
	}
	return 0;
}

/* Optional "port": copied for resolution once every port is known. */
static int
cfg_member_port(struct cfg_ctx *x, const config_setting_t *e, char name[32])
{
	const config_setting_t *m = config_setting_get_member(e, "port");
	const char *v;

	name[0] = '\0';
	if (m == NULL)
		return 0;
	v = cfg_get_str(x, m, 1, 32);
	if (v == NULL)
		return -1;
	memcpy(name, v, strlen(v) + 1);
	return 0;
}

static int
cfg_route(struct cfg_ctx *x, const config_setting_t *e, unsigned i)
{
	static const char *const keys[] = { "to", "via", "port", NULL };
	struct config_route *r = &x->c->l3.routes[i];
	const config_setting_t *to, *via;
	struct config_prefix hop;

	memset(r, 0, sizeof(*r));
	r->port = -1;
	if (cfg_check_members(x, e, keys, "route") < 0)
		return -1;
	to = config_setting_get_member(e, "to");
	if (to == NULL)
		return cfg_fail(x, e, "missing 'to' (a prefix, \"0.0.0.0/0\" "
		                "or \"::/0\" for the default route)");
	if (cfg_get_prefix(x, to, 1, 1, &r->to) < 0)
		return -1;
	via = config_setting_get_member(e, "via");
	if (via != NULL) {
		if (cfg_get_prefix(x, via, 0, 0, &hop) < 0)
			return -1;
		if (hop.version != r->to.version)
			return cfg_fail(x, via, "next hop and 'to' are of "
			                "different IP versions");
		memcpy(r->via, hop.addr, 16);
		r->has_via = 1;
	}
	for (unsigned j = 0; j < i; j++)
		if (memcmp(x->c->l3.routes[j].to.addr, r->to.addr, 16) == 0 &&
		    x->c->l3.routes[j].to.len == r->to.len)
			return cfg_fail(x, to, "a route to this prefix is "
			                "already given");
	x->route_s[i] = e;
	return cfg_member_port(x, e, x->route_port[i]);
}

/* A list of groups, each read by one(x, element, index); *count set. */
static int
cfg_group_list(struct cfg_ctx *x, const config_setting_t *s, unsigned max,
               const char *what, const char *example,
               int (*one)(struct cfg_ctx *, const config_setting_t *, unsigned),
               unsigned *count)
{
	int n;

	if (!config_setting_is_list(s))
		return cfg_fail(x, s, "expected a list of %s groups ( %s, ... )",
		                what, example);
	n = config_setting_length(s);
	if (n < 0 || (unsigned)n > max)
		return cfg_fail(x, s, "more than %u %ss", max, what);
	for (int i = 0; i < n; i++)
		if (one(x, config_setting_get_elem(s, i), (unsigned)i) < 0)
			return -1;
	*count = (unsigned)n;
	return 0;
}

static int
cfg_routes(struct cfg_ctx *x, const config_setting_t *s,
           const struct cfg_key *k, void *obj)
{
	(void)k, (void)obj;
	return cfg_group_list(x, s, CONFIG_MAX_ROUTES, "route",
	                      "{ to = ...; via = ...; }", cfg_route,
	                      &x->c->l3.n_routes);
}

static int
cfg_neighbor(struct cfg_ctx *x, const config_setting_t *e, unsigned i)
{
	static const char *const keys[] = { "ip", "mac", "port", NULL };
	struct config_neighbor *nb = &x->c->l3.neighbors[i];
	const config_setting_t *ip, *mac;
	struct config_prefix a;

	memset(nb, 0, sizeof(*nb));
	nb->port = -1;
	if (cfg_check_members(x, e, keys, "neighbor") < 0)
		return -1;
	ip = config_setting_get_member(e, "ip");
	mac = config_setting_get_member(e, "mac");
	if (ip == NULL || mac == NULL)
		return cfg_fail(x, e, "missing '%s'", ip == NULL ? "ip" : "mac");
	if (cfg_get_prefix(x, ip, 0, 0, &a) < 0 || cfg_get_mac(x, mac, nb->mac) < 0)
		return -1;
	memcpy(nb->ip, a.addr, 16);
	nb->version = a.version;
	for (unsigned j = 0; j < i; j++)
		if (memcmp(x->c->l3.neighbors[j].ip, nb->ip, 16) == 0)
			return cfg_fail(x, ip, "neighbor given twice");
	x->neigh_s[i] = e;
	return cfg_member_port(x, e, x->neigh_port[i]);
}

static int
cfg_neighbors(struct cfg_ctx *x, const config_setting_t *s,
              const struct cfg_key *k, void *obj)
{
	(void)k, (void)obj;
	return cfg_group_list(x, s, CONFIG_MAX_NEIGHBORS, "neighbor",
	                      "{ ip = ...; mac = ...; }", cfg_neighbor,
	                      &x->c->l3.n_neighbors);
}

static int
cfg_reject_client(struct cfg_ctx *x, const config_setting_t *s,
                  const struct cfg_key *k, void *obj)
{
	static const char *const responses[2] = {
		[REJECT_CLIENT_RESET] = "reset", [REJECT_CLIENT_PAGE] = "block_page",
	};

	return cfg_choice(x, s, responses, "reject response",
	                  (uint8_t *)obj + k->off);
}

/* ------------------------------------------------------------------------
 * Key tables
 */

#define CFG_OFF(f) offsetof(struct ips_config, f)
#define CFG_LIMIT(f, lo, hi) { #f, cfg_u32, CFG_OFF(limits.f), lo, hi, 0, NULL }
#define CFG_POLICY(f, mask) { #f, cfg_policy, CFG_OFF(policy.f), 0, 0, mask, NULL }
#define CFG_DB ((1u << POLICY_DROP) | (1u << POLICY_BYPASS))
#define CFG_DE ((1u << POLICY_DROP) | (1u << POLICY_EVICT))
#define CFG_STR(f) sizeof(((struct ips_config *)0)->f)

static const struct cfg_key cfg_limit_keys[] = {
	CFG_LIMIT(flows, 1, CFG_MAX_FLOWS),
	CFG_LIMIT(flow_timeout_syn, 1, 86400),
	CFG_LIMIT(flow_timeout_established, 1, 86400),
	CFG_LIMIT(flow_timeout_closed, 1, 86400),
	CFG_LIMIT(flow_timeout_udp, 1, 86400),
	/* Segments one packet can release come out with it: at most
	 * PKT_EMIT_MAX - 1 (dataplane/pkt_ctx.h). */
	CFG_LIMIT(stream_held_per_flow, 1, 63),
	CFG_LIMIT(stream_held, 1, CFG_MAX_POOL),
	/* At least one largest segment (an IPv4 datagram's 64 KiB), so a
	 * segment always fits once the flow's kept bytes are acknowledged;
	 * at least 2^14, so every window scale leaves a non-zero window. */
	CFG_LIMIT(stream_kept_bytes_per_flow, 65536, 16u << 20),
	CFG_LIMIT(stream_kept_bytes, 65536, UINT32_MAX),
	CFG_LIMIT(http_transactions, 1, CFG_MAX_POOL),
	CFG_LIMIT(http_header_bytes, 256, 1 << 20),
	CFG_LIMIT(http_header_arenas, 1, CFG_MAX_POOL),
	CFG_LIMIT(body_streams, 1, CFG_MAX_POOL),
	CFG_LIMIT(raw_streams, 1, CFG_MAX_POOL),
	CFG_LIMIT(raw_windows, 1, CFG_MAX_POOL),
	CFG_LIMIT(tls_handshakes, 1, CFG_MAX_POOL),
	CFG_LIMIT(http_responses, 1, CFG_MAX_POOL),
	CFG_LIMIT(http_decoders, 1, CFG_MAX_POOL),
	CFG_LIMIT(xbits, 8, CFG_MAX_POOL),      /* rounded up to 2^n */
	CFG_LIMIT(http_body_limit, 1024, 64u << 20),
	CFG_LIMIT(frag_datagrams, 1, CFG_MAX_POOL),
	CFG_LIMIT(frag_timeout_ms, 1, 60000),
	CFG_LIMIT(alert_ring, 1, CFG_MAX_POOL),
	CFG_LIMIT(mbufs, 0, 4 * CFG_MAX_POOL),      /* 0 = derived */
	CFG_LIMIT(source_share, 1, 100),
	CFG_LIMIT(http_header_timeout, 1, 86400),
	CFG_LIMIT(http_body_timeout, 1, 86400),
	CFG_LIMIT(stream_gap_timeout, 1, 86400),
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_policy_keys[] = {
	CFG_POLICY(malformed, CFG_DB),
	CFG_POLICY(midstream, CFG_DB),
	CFG_POLICY(flow_table_full, CFG_DE),
	CFG_POLICY(stream_hold_full, CFG_DB),
	CFG_POLICY(http_ambiguous, CFG_DB),
	CFG_POLICY(http_malformed, CFG_DB),
	CFG_POLICY(http_txn_full, CFG_DB),
	CFG_POLICY(detect_error, CFG_DB),
	{ "verify_ip_checksum", cfg_bool, CFG_OFF(policy.verify_ip_checksum),
	  0, 0, 0, NULL },
	{ "reject_client", cfg_reject_client, CFG_OFF(policy.reject_client),
	  0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_http_keys[] = {
	{ "ports", cfg_http_ports, 0, 0, 0, 0, NULL },
	{ "detect_by_content", cfg_bool, CFG_OFF(http_detect_by_content),
	  0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_signature_keys[] = {
	{ "files", cfg_rule_files, 0, 0, 0, 0, NULL },
	{ "classification", cfg_file_path, CFG_OFF(classification),
	  0, CFG_STR(classification), 0, NULL },
	{ "vars", cfg_vars, 0, 0, 0, 0, NULL },
	{ "bundle", cfg_file_path, CFG_OFF(bundle), 0, CFG_STR(bundle), 0,
	  NULL },
	{ "compiler", cfg_file_path, CFG_OFF(compiler), 0, CFG_STR(compiler),
	  0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_l3_keys[] = {
	{ "pod_subnets", cfg_pod_subnets, 0, 0, 0, 0, NULL },
	{ "service_ports", cfg_service_ports, 0, 0, 0, 0, NULL },
	{ "routes", cfg_routes, 0, 0, 0, 0, NULL },
	{ "neighbors", cfg_neighbors, 0, 0, 0, 0, NULL },
	/* a table entry is about 64 bytes plus up to 4 held packets */
	{ "neighbor_table", cfg_u32, CFG_OFF(l3.neighbor_table), 16, 1 << 20,
	  0, NULL },
	{ "neighbor_timeout", cfg_u32, CFG_OFF(l3.neighbor_timeout), 1, 86400,
	  0, NULL },
	{ "icmp_rate", cfg_u32, CFG_OFF(l3.icmp_rate), 0, 1000000, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_log_keys[] = {
	{ "eve", cfg_file_path, CFG_OFF(eve_path), 0, CFG_STR(eve_path), 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

static const struct cfg_key cfg_control_keys[] = {
	{ "socket", cfg_str, CFG_OFF(ctl_socket), 1, CFG_STR(ctl_socket), 0, NULL },
	{ "mode", cfg_file_mode, CFG_OFF(ctl_mode), 0, 0, 0, NULL },
	{ "group", cfg_str, CFG_OFF(ctl_group), 0, CFG_STR(ctl_group), 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

#define CFG_PORT_OFF(f) offsetof(struct cfg_port, f)
#define CFG_PORT_STR(f) sizeof(((struct cfg_port *)0)->f)

static const struct cfg_key cfg_port_keys[] = {
	{ "name", cfg_str, CFG_PORT_OFF(p.name), 1, CFG_PORT_STR(p.name), 0, NULL },
	{ "devargs", cfg_str, CFG_PORT_OFF(p.devargs), 1,
	  CFG_PORT_STR(p.devargs), 0, NULL },
	{ "role", cfg_role, CFG_PORT_OFF(p.role), 0, 0, 0, NULL },
	{ "peer", cfg_str, CFG_PORT_OFF(peer), 1, CFG_PORT_STR(peer), 0, NULL },
	{ "addresses", cfg_port_addrs, CFG_PORT_OFF(p), 0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

/* ------------------------------------------------------------------------
 * Ports: read each group, then check names and resolve peers
 */

#define CFG_ROLE_UNSET 0xff

static int
cfg_port_read(struct cfg_ctx *x, const config_setting_t *e, struct cfg_port *t)
{
	memset(t, 0, sizeof(*t));
	t->p.role = CFG_ROLE_UNSET;
	t->p.peer = -1;
	t->s = e;
	if (!config_setting_is_group(e))
		return cfg_fail(x, e, "expected a port group { name = ...; }");
	if (cfg_walk(x, e, cfg_port_keys, t) < 0)
		return -1;
	if (t->p.name[0] == '\0')
		return cfg_fail(x, e, "missing 'name'");
	if (t->p.devargs[0] == '\0')
		return cfg_fail(x, e, "missing 'devargs'");
	if (t->p.role == CFG_ROLE_UNSET)
		return cfg_fail(x, e, "missing 'role'");
	return 0;
}

static int
cfg_port_find(const struct cfg_port *t, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(t[i].p.name, name) == 0)
			return i;
	return -1;
}

/*
 * L2 mode forwards each port to its peer, so a peer must exist, have the
 * other role, and (if it names a peer itself) name this port back.
 */
static int
cfg_port_link(struct cfg_ctx *x, struct cfg_port *t, int n, int i)
{
	const config_setting_t *ps = config_setting_get_member(t[i].s, "peer");
	int j;

	if (t[i].peer[0] == '\0')
		return 0;
	j = cfg_port_find(t, n, t[i].peer);
	if (j < 0)
		return cfg_fail(x, ps, "no port named '%s'", t[i].peer);
	if (t[j].p.role == t[i].p.role)
		return cfg_fail(x, ps, "peer '%s' has the same role", t[i].peer);
	if (t[j].peer[0] != '\0' && strcmp(t[j].peer, t[i].p.name) != 0)
		return cfg_fail(x, ps, "peer '%s' names '%s' as its own peer",
		                t[i].peer, t[j].peer);
	t[i].p.peer = j;
	return 0;
}

static int
cfg_ports(struct cfg_ctx *x, const config_setting_t *s,
          const struct cfg_key *k, void *obj)
{
	struct ips_config *c = obj;
	struct cfg_port t[CONFIG_MAX_PORTS];
	int n;

	(void)k;
	if (!config_setting_is_list(s))
		return cfg_fail(x, s, "expected a list of port groups ( {...}, ... )");
	n = config_setting_length(s);
	if (n < 0 || n > CONFIG_MAX_PORTS)
		return cfg_fail(x, s, "more than %d ports", CONFIG_MAX_PORTS);
	for (int i = 0; i < n; i++) {
		if (cfg_port_read(x, config_setting_get_elem(s, i), &t[i]) < 0)
			return -1;
		if (cfg_port_find(t, i, t[i].p.name) >= 0)
			return cfg_fail(x, config_setting_get_member(t[i].s, "name"),
			                "duplicate port name '%s'", t[i].p.name);
	}
	for (int i = 0; i < n; i++)
		if (cfg_port_link(x, t, n, i) < 0)
			return -1;
	for (int i = 0; i < n; i++)
		c->ports[i] = t[i].p;
	c->n_ports = (unsigned)n;
	return 0;
}

/* limits: the keys, then what ties them together. */
static int
cfg_limits(struct cfg_ctx *x, const config_setting_t *s,
           const struct cfg_key *k, void *obj)
{
	const struct config_limits *l = &((struct ips_config *)obj)->limits;
	const config_setting_t *at;

	if (cfg_group(x, s, k, obj) < 0)
		return -1;
	if (l->stream_kept_bytes < l->stream_kept_bytes_per_flow) {
		at = config_setting_get_member(s, "stream_kept_bytes");
		if (at == NULL)
			at = config_setting_get_member(s, "stream_kept_bytes_per_flow");
		return cfg_fail(x, at, "stream_kept_bytes (%u) is less than "
		                "stream_kept_bytes_per_flow (%u): one flow could "
		                "never fill its window", l->stream_kept_bytes,
		                l->stream_kept_bytes_per_flow);
	}
	return 0;
}

static int
cfg_l3_group(struct cfg_ctx *x, const config_setting_t *s,
             const struct cfg_key *k, void *obj)
{
	x->l3 = s;
	return cfg_group(x, s, k, obj);
}

/* ------------------------------------------------------------------------
 * Mode checks, once every group is read: l2 pairs ports, l3 routes
 */

/* The port whose on-link subnets hold a (-1: none). */
static int
cfg_port_on_link(const struct ips_config *c, const uint8_t a[16])
{
	for (unsigned i = 0; i < c->n_ports; i++)
		for (unsigned j = 0; j < c->ports[i].n_addrs; j++)
			if (config_prefix_has(&c->ports[i].addrs[j], a))
				return (int)i;
	return -1;
}

/* The port of a route or neighbor: the one named, else the one whose
 * subnet holds addr; the two must agree. */
static int
cfg_resolve_port(struct cfg_ctx *x, const config_setting_t *e,
                 const char *name, const uint8_t addr[16], int has_addr,
                 int *port)
{
	const struct ips_config *c = x->c;
	const config_setting_t *ps = config_setting_get_member(e, "port");
	int on_link = has_addr ? cfg_port_on_link(c, addr) : -1;
	char txt[INET6_ADDRSTRLEN] = "";

	if (has_addr)
		inet_ntop(memcmp(addr, cfg_v4_mapped, 12) == 0 ? AF_INET : AF_INET6,
		          memcmp(addr, cfg_v4_mapped, 12) == 0 ? addr + 12 : addr,
		          txt, sizeof(txt));
	/* fe80::/10 is on every link: only the port says which */
	int link_local = has_addr && addr[0] == 0xfe && (addr[1] & 0xc0) == 0x80;

	if (link_local && name[0] == '\0')
		return cfg_fail(x, e, "%s is link-local: name its port "
		                "(port = \"NAME\")", txt);
	if (name[0] != '\0') {
		for (unsigned i = 0; i < c->n_ports; i++) {
			if (strcmp(c->ports[i].name, name) != 0)
				continue;
			if (has_addr && !link_local && on_link != (int)i)
				return cfg_fail(x, ps, "%s is not on a subnet of "
				                "port '%s' (its addresses)", txt, name);
			*port = (int)i;
			return 0;
		}
		return cfg_fail(x, ps, "no port named '%s'", name);
	}
	if (!has_addr)
		return cfg_fail(x, e, "give 'via' (a next hop on a port's subnet) "
		                "or 'port' (the pods are on that link)");
	if (on_link < 0)
		return cfg_fail(x, e, "%s is on no port's subnet (see the ports' "
		                "addresses)", txt);
	*port = on_link;
	return 0;
}

static int
cfg_check_l3_ports(struct cfg_ctx *x, const config_setting_t *ports)
{
	const struct ips_config *c = x->c;
	unsigned roles = 0;

	for (unsigned i = 0; i < c->n_ports; i++) {
		const config_setting_t *e = config_setting_get_elem(ports, i);

		if (config_setting_get_member(e, "peer") != NULL)
			return cfg_fail(x, config_setting_get_member(e, "peer"),
			                "only in mode \"l2\" (an l3 gateway routes "
			                "by address)");
		if (c->ports[i].n_addrs == 0)
			return cfg_fail(x, e, "missing 'addresses' (mode \"l3\": "
			                "the port's own, e.g. [ \"198.51.100.1/24\" ])");
		roles |= 1u << c->ports[i].role;
		for (unsigned j = 0; j < c->ports[i].n_addrs; j++) {
			const uint8_t *a = c->ports[i].addrs[j].addr;

			if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
				return cfg_fail(x, config_setting_get_member(e,
				                "addresses"), "address %u is "
				                "link-local: each port has fe80::/64 "
				                "from its MAC already", j);
		}
		for (unsigned j = 0; j < c->ports[i].n_addrs; j++) {
			int other = cfg_port_on_link(c, c->ports[i].addrs[j].addr);

			if (other >= 0 && (unsigned)other != i)
				return cfg_fail(x, config_setting_get_member(e,
				                "addresses"), "address %u is on a "
				                "subnet of port '%s' too", j,
				                c->ports[other].name);
		}
	}
	if (c->n_ports > 0 && roles != 3)
		return cfg_fail(x, ports, "mode \"l3\" needs a public and a "
		                "private port");
	return 0;
}

static int
cfg_check_l3(struct cfg_ctx *x, const config_setting_t *root)
{
	struct ips_config *c = x->c;
	const config_setting_t *ports = config_setting_get_member(root, "ports");
	const config_setting_t *mode = config_setting_get_member(root, "mode");

	if (ports != NULL && cfg_check_l3_ports(x, ports) < 0)
		return -1;
	if (c->l3.n_pod_subnets == 0)
		return cfg_fail(x, x->l3 != NULL ? x->l3 : mode, "mode \"l3\" "
		                "needs l3.pod_subnets: nothing else is reachable");
	for (unsigned i = 0; i < c->l3.n_routes; i++) {
		struct config_route *r = &c->l3.routes[i];

		if (cfg_resolve_port(x, x->route_s[i], x->route_port[i], r->via,
		                     r->has_via, &r->port) < 0)
			return -1;
	}
	for (unsigned i = 0; i < c->l3.n_neighbors; i++) {
		struct config_neighbor *nb = &c->l3.neighbors[i];

		if (cfg_resolve_port(x, x->neigh_s[i], x->neigh_port[i], nb->ip,
		                     1, &nb->port) < 0)
			return -1;
	}
	return 0;
}

static int
cfg_check_mode(struct cfg_ctx *x, const config_setting_t *root)
{
	const struct ips_config *c = x->c;
	const config_setting_t *ports = config_setting_get_member(root, "ports");

	if (config_is_l3(c))
		return cfg_check_l3(x, root);
	if (x->l3 != NULL)
		return cfg_fail(x, x->l3, "only with mode = \"l3\"");
	for (unsigned i = 0; i < c->n_ports; i++)
		if (c->ports[i].n_addrs > 0)
			return cfg_fail(x, config_setting_get_member(
			                config_setting_get_elem(ports, i),
			                "addresses"), "only in mode \"l3\" (an l2 "
			                "pair has no addresses)");
	return 0;
}

static const struct cfg_key cfg_top_keys[] = {
	{ "eal", cfg_eal, 0, 0, 0, 0, NULL },
	{ "pmd_dir", cfg_str, CFG_OFF(pmd_dir), 0, CFG_STR(pmd_dir), 0, NULL },
	{ "workers", cfg_u32, CFG_OFF(workers), 1, CFG_MAX_WORKERS, 0, NULL },
	{ "mode", cfg_mode, CFG_OFF(mode), 0, CFG_STR(mode), 0, NULL },
	{ "ports", cfg_ports, 0, 0, 0, 0, NULL },
	{ "l3", cfg_l3_group, 0, 0, 0, 0, cfg_l3_keys },
	{ "limits", cfg_limits, 0, 0, 0, 0, cfg_limit_keys },
	{ "policy", cfg_group, 0, 0, 0, 0, cfg_policy_keys },
	{ "http", cfg_group, 0, 0, 0, 0, cfg_http_keys },
	{ "signatures", cfg_group, 0, 0, 0, 0, cfg_signature_keys },
	{ "log", cfg_group, 0, 0, 0, 0, cfg_log_keys },
	{ "control", cfg_group, 0, 0, 0, 0, cfg_control_keys },
	{ NULL, NULL, 0, 0, 0, 0, NULL },
};

/* ------------------------------------------------------------------------
 * Lexical checks libconfig 1.5 does not make
 */

static const char *
cfg_skip_string(const char *p, unsigned *line)
{
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\n')
			(*line)++;
		if (*p == '\\' && p[1] != '\0' && p[1] != '\n')
			p++;
	}
	return *p == '"' ? p + 1 : p;
}

static const char *
cfg_skip_comment(const char *p, unsigned *line)
{
	if (p[0] == '/' && p[1] == '*') {
		for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
			if (*p == '\n')
				(*line)++;
		return *p != '\0' ? p + 2 : p;
	}
	while (*p != '\0' && *p != '\n')
		p++;
	return p;
}

/*
 * An integer literal without the L suffix silently wraps to 32 bits in
 * libconfig 1.5 ("flows = 4294967297" reads as 1), so range checks after
 * parsing cannot see it.  Returns the end of the literal; *fits says
 * whether libconfig keeps its value.
 */
/*
 * Past a literal's digits: the rest of a float (".5", "e-3"), if any.
 * q[-1] is read only at a sign, never the literal's first byte (eaten).
 */
static int
cfg_float_char(const char *q)
{
	return *q == '.' || *q == 'e' || *q == 'E' || isdigit((unsigned char)*q) ||
	       ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E'));
}

static const char *
cfg_check_number(const char *p, int *fits)
{
	int neg = 0, hex = 0, isfloat = 0;
	unsigned long long v = 0, limit;
	const char *q = p;

	if (*q == '+' || *q == '-')
		neg = *q++ == '-';
	if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) {
		hex = 1;
		q += 2;
	}
	for (; hex ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q); q++) {
		unsigned d = isdigit((unsigned char)*q) ? (unsigned)(*q - '0') :
		             (unsigned)(tolower((unsigned char)*q) - 'a' + 10);

		if (v <= 0xffffffffull)         /* saturate: only "too big" matters */
			v = v * (hex ? 16 : 10) + d;
	}
	for (; !hex && cfg_float_char(q); q++)
		isfloat = 1;
	/* hex reads as unsigned 32 bits (0xffffffff is -1): ranges catch it */
	limit = neg ? 0x80000000ull : hex ? 0xffffffffull : 0x7fffffffull;
	*fits = isfloat || *q == 'L' || v <= limit;
	return q > p ? q : p + 1;
}

static int
cfg_name_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_' || ch == '-' || ch == '*';
}

/*
 * Scan the text as libconfig's lexer does (comments, strings, names,
 * numbers) to reject what it would accept wrongly: integers that wrap, and
 * @include (the config is one file, and a hostile string must not make us
 * open others).
 */
static int
cfg_lex_check(struct cfg_ctx *x, const char *p)
{
	unsigned line = 1;
	int fits;

	while (*p != '\0') {
		if (*p == '\n') {
			line++;
			p++;
		} else if (*p == '"') {
			p = cfg_skip_string(p, &line);
		} else if (*p == '#' || (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
			p = cfg_skip_comment(p, &line);
		} else if (isalpha((unsigned char)*p) || *p == '*') {
			while (cfg_name_char(*p))
				p++;
		} else if (*p == '@') {
			cfg_errf(x, line, "@include is not supported");
			return -1;
		} else if (isdigit((unsigned char)*p) || *p == '-' || *p == '+' ||
		           *p == '.') {
			const char *start = p;

			p = cfg_check_number(p, &fits);
			if (!fits) {
				cfg_errf(x, line, "integer %.*s does not fit in 32 bits",
				         (int)(p - start > 32 ? 32 : p - start), start);
				return -1;
			}
		} else {
			p++;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Entry points
 */

static int
cfg_parse_text(struct cfg_ctx *x, const char *text)
{
	config_t lc;
	int rc;

	/* Before libconfig: it would open an @include's file while parsing. */
	if (cfg_lex_check(x, text) < 0)
		return -1;
	config_init(&lc);
	if (!config_read_string(&lc, text)) {
		cfg_errf(x, (unsigned)config_error_line(&lc), "%s",
		         config_error_text(&lc) ? config_error_text(&lc) : "parse error");
		config_destroy(&lc);
		return -1;
	}
	rc = cfg_walk(x, config_root_setting(&lc), cfg_top_keys, x->c);
	if (rc == 0)
		rc = cfg_check_mode(x, config_root_setting(&lc));
	config_destroy(&lc);
	return rc;
}

static void
cfg_ctx_init(struct cfg_ctx *x, struct ips_config *c, const char *file,
             char *err, size_t errlen)
{
	memset(x, 0, sizeof(*x));
	x->c = c;
	x->file = file;
	x->base[0] = '\0';
	x->err = err;
	x->errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

/*
 * On error c may hold part of the file's values, but stays consistent:
 * config_free releases whatever was allocated.
 */
int
config_load_string(struct ips_config *c, const char *text, const char *name,
                   char *err, size_t errlen)
{
	struct cfg_ctx x;

	if (name == NULL)
		name = "<string>";
	cfg_ctx_init(&x, c, name, err, errlen);
	snprintf(c->path, sizeof(c->path), "%s", name);
	return cfg_parse_text(&x, text);
}

/* The whole file, NUL-terminated (libconfig would stop at an inner NUL). */
static char *
cfg_read_file(struct cfg_ctx *x, const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL) {
		cfg_errf(x, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(CFG_MAX_FILE_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		cfg_errf(x, 0, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CFG_MAX_FILE_BYTES + 1, f);
	if (ferror(f) || n > CFG_MAX_FILE_BYTES || memchr(buf, '\0', n) != NULL) {
		cfg_errf(x, 0, "%s", ferror(f) ? strerror(errno) :
		         n > CFG_MAX_FILE_BYTES ? "larger than 1 MiB" :
		         "contains a NUL byte");
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

int
config_load(struct ips_config *c, const char *path, char *err, size_t errlen)
{
	struct cfg_ctx x;
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
	char *text;
	int rc;

	cfg_ctx_init(&x, c, path, err, errlen);
	if (strlen(path) >= sizeof(c->path) || dirlen >= sizeof(x.base)) {
		cfg_errf(&x, 0, "path longer than %zu characters", sizeof(c->path) - 1);
		return -1;
	}
	memcpy(x.base, path, dirlen);
	x.base[dirlen] = '\0';
	memcpy(c->path, path, strlen(path) + 1);
	text = cfg_read_file(&x, path);
	if (text == NULL)
		return -1;
	rc = cfg_parse_text(&x, text);
	free(text);
	return rc;
}

/* Returns 0, or -1 if the list is full or memory is short (c unchanged). */
int
config_add_rule_file(struct ips_config *c, const char *path)
{
	char *copy;

	if (c->n_rule_files >= CONFIG_MAX_RULE_FILES)
		return -1;
	copy = strdup(path);
	if (copy == NULL)
		return -1;
	c->rule_files[c->n_rule_files++] = copy;
	return 0;
}

void
config_free(struct ips_config *c)
{
	for (unsigned i = 0; i < c->n_rule_files; i++) {
		free(c->rule_files[i]);
		c->rule_files[i] = NULL;
	}
	c->n_rule_files = 0;
	free(c->owner);
	c->owner = NULL;
	for (unsigned i = 0; i < c->n_eal_args; i++)
		c->eal_args[i] = NULL;
	c->n_eal_args = 0;
}

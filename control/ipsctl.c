/*
 * ipsctl.c - the operator's CLI.
 *
 * Owns command-line handling and two subcommands.  `check` parses and
 * compiles rule files exactly as ips-control would, prints every error,
 * and (with --report) tallies why rules were rejected, e.g. to measure how
 * much of a third-party rule set the supported subset covers; with
 * --json it prints one object (accepted, rejected, errors with file, line,
 * keyword and reason, reasons tallied) for tools to read.  `compile`
 * turns rule files into a bundle (include/ips/bundle.h) for the dataplane;
 * the dataplane also runs it itself when it is given rule files.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ips/bundle.h"
#include "ctl_client.h"
#include "ips/detect_db.h"
#include "ips/rules.h"

#define CTL_MAX_VARS    64
#define CTL_MAX_REASONS 1024

/* Defaults for the variables common rule sets (ET Open) name; --vars
 * overrides them. */
static const struct ips_rule_var ctl_default_vars[] = {
	{ "HOME_NET", "any" }, { "EXTERNAL_NET", "any" },
	{ "HTTP_SERVERS", "any" }, { "SQL_SERVERS", "any" },
	{ "DNS_SERVERS", "any" }, { "SMTP_SERVERS", "any" },
	{ "TELNET_SERVERS", "any" }, { "AIM_SERVERS", "any" },
	{ "DC_SERVERS", "any" }, { "DNP3_SERVER", "any" },
	{ "DNP3_CLIENT", "any" }, { "MODBUS_SERVER", "any" },
	{ "MODBUS_CLIENT", "any" }, { "ENIP_SERVER", "any" },
	{ "ENIP_CLIENT", "any" },
	{ "HTTP_PORTS", "[80,8080]" }, { "SHELLCODE_PORTS", "!80" },
	{ "ORACLE_PORTS", "1521" }, { "SSH_PORTS", "22" },
	{ "FTP_PORTS", "21" }, { "DNP3_PORTS", "20000" },
	{ "MODBUS_PORTS", "502" }, { "FILE_DATA_PORTS", "[80,8080,110,143]" },
	{ "GTP_PORTS", "[2123,2152,3386]" },
};

struct ctl_reason {
	char *text;
	unsigned count;
};

/* One rejected rule, for --json. */
struct ctl_error {
	char *file;
	unsigned line;
	char *keyword;
	char *reason;
};

/* The lines of the rule file an error names, read once per file, so
 * that an error's column can be turned into the keyword it sits in. */
struct ctl_source {
	char *path;
	char *text;
	char **lines;
	unsigned n_lines;
};

struct ctl_check {
	int report;                 /* tally reasons instead of printing */
	int json;                   /* collect errors for one JSON object */
	unsigned errors;
	struct ctl_reason reasons[CTL_MAX_REASONS];
	unsigned n_reasons;
	struct ctl_error *errs;
	unsigned n_errs, cap_errs;
	struct ctl_source src;
};

static void
ctl_usage(FILE *f)
{
	fprintf(f,
	        "usage: ipsctl check [OPTIONS] [--report] FILE...\n"
	        "       ipsctl compile [OPTIONS] [--generation N] -o BUNDLE "
	        "FILE...\n"
	        "       ipsctl [--socket PATH] [--json] load BUNDLE | reload | "
	        "stats | rules | version | ping\n"
	        "  --vars NAME=VALUE     define $NAME for rule headers "
	        "(repeatable)\n"
	        "  --no-default-vars     only the --vars given (no $HOME_NET "
	        "etc. defaults)\n"
	        "  --classification F    classification.config for classtype\n"
	        "  --report              print per-reason counts of rejected "
	        "rules\n"
	        "  --json                check: one JSON object: accepted, "
	        "rejected, errors\n"
	        "                        [{file, line, keyword, reason}], "
	        "reasons\n"
	        "  -o BUNDLE             compile: write the bundle (atomically)"
	        "\n"
	        "  --generation N        compile: bundle generation (default: "
	        "wall clock, us)\n");
}

/* "file:line:col: reason" or "file:line: sid N: reason" -> reason. */
static const char *
ctl_reason_of(const char *msg)
{
	const char *sid = strstr(msg, ": sid ");
	const char *p = msg;

	if (sid != NULL) {
		p = strchr(sid + 6, ':');
		return p ? p + 2 : msg;
	}
	for (int i = 0; i < 3 && p != NULL; i++) {
		p = strchr(p, ':');
		if (p != NULL)
			p++;
	}
	while (p != NULL && *p == ' ')
		p++;
	return p ? p : msg;
}

/* Numbers (sids, depths) would make every reason unique: cut there. */
static void
ctl_tally(struct ctl_check *ck, const char *msg)
{
	const char *r = ctl_reason_of(msg);
	char key[160];
	size_t n = 0;

	while (r[n] != '\0' && !(r[n] >= '0' && r[n] <= '9' && n > 0 &&
	                          r[n - 1] == ' '))
		n++;
	if (n >= sizeof(key))
		n = sizeof(key) - 1;
	memcpy(key, r, n);
	key[n] = '\0';
	for (unsigned i = 0; i < ck->n_reasons; i++)
		if (strcmp(ck->reasons[i].text, key) == 0) {
			ck->reasons[i].count++;
			return;
		}
	if (ck->n_reasons == CTL_MAX_REASONS)
		return;
	ck->reasons[ck->n_reasons].text = strdup(key);
	ck->reasons[ck->n_reasons].count = ck->reasons[ck->n_reasons].text != 0;
	ck->n_reasons++;
}

static void
ctl_source_free(struct ctl_source *src)
{
	free(src->path);
	free(src->text);
	free(src->lines);
	memset(src, 0, sizeof(*src));
}

/* Make src hold path's lines.  Returns 0, or -1 (unreadable). */
static int
ctl_source_load(struct ctl_source *src, const char *path)
{
	FILE *f;
	long n;
	unsigned cap = 0;

	if (src->path != NULL && strcmp(src->path, path) == 0)
		return 0;
	ctl_source_free(src);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (src->text = malloc((size_t)n + 1)) != NULL &&
	    fread(src->text, 1, (size_t)n, f) == (size_t)n) {
		src->text[n] = '\0';
		for (char *p = src->text; p != NULL && *p != '\0'; ) {
			char *nl = strchr(p, '\n');

			if (src->n_lines == cap) {
				char **l = realloc(src->lines,
				                   (cap = cap ? cap * 2 : 1024) *
				                   sizeof(*l));
				if (l == NULL)
					break;
				src->lines = l;
			}
			src->lines[src->n_lines++] = p;
			if (nl != NULL)
				*nl++ = '\0';
			p = nl;
		}
		src->path = strdup(path);
	}
	fclose(f);
	return src->path != NULL ? 0 : -1;
}

static int
ctl_kw_char(int ch)
{
	return isalnum(ch) || ch == '_' || ch == '.' || ch == '-';
}

/* The keyword whose option holds column col of the rule at line: the
 * name before the ':' of that option, "protocol" etc. for the header. */
static char *
ctl_keyword_at(const char *rule, size_t col)
{
	static const char *const header[] = { "action", "protocol",
		"source address", "source port", "direction",
		"destination address", "destination port" };
	const char *open = strchr(rule, '('), *p, *s;
	size_t len = strlen(rule), tok = 0;

	if (col == 0 || col > len)
		return strdup("rule");
	p = rule + col - 1;
	if (open == NULL || p < open) {
		for (s = rule; s < p; ) {       /* count header tokens */
			while (s < p && isspace((unsigned char)*s))
				s++;
			if (s >= p)
				break;
			while (s < p && !isspace((unsigned char)*s))
				s++;
			if (s < p || !isspace((unsigned char)p[0]))
				tok += s < p;
		}
		return strdup(tok < 7 ? header[tok] : "rule");
	}
	/* back to the start of the option: after the previous unescaped
	 * ';' or the '(' */
	for (s = p; s > open + 1; s--)
		if (s[-1] == ';' && !(s - 2 >= rule && s[-2] == '\\'))
			break;
	if (s == open && s < p)
		s++;
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	for (p = s; ctl_kw_char((unsigned char)*p); p++)
		;
	return p > s ? strndup(s, (size_t)(p - s)) : strdup("rule");
}

/* "file:line:col: reason" or "file:line: sid N: reason" as a record. */
static void
ctl_collect(struct ctl_check *ck, const char *msg)
{
	struct ctl_error *e;
	const char *c1 = strchr(msg, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	char *file;
	unsigned line = 0, col = 0;

	if (ck->n_errs == ck->cap_errs) {
		unsigned cap = ck->cap_errs ? ck->cap_errs * 2 : 256;
		struct ctl_error *n = realloc(ck->errs, cap * sizeof(*n));

		if (n == NULL)
			return;
		ck->errs = n;
		ck->cap_errs = cap;
	}
	e = &ck->errs[ck->n_errs++];
	memset(e, 0, sizeof(*e));
	e->reason = strdup(ctl_reason_of(msg));
	if (c1 == NULL || c2 == NULL || sscanf(c1 + 1, "%u", &line) != 1) {
		e->file = strdup("");
		e->keyword = strdup("rule");
		return;
	}
	file = strndup(msg, (size_t)(c1 - msg));
	e->file = file;
	e->line = line;
	if (strncmp(c2, ": sid ", 6) == 0) {
		/* a compiler message: only a pcre can fail to compile */
		e->keyword = strdup("pcre");
		return;
	}
	if (sscanf(c2 + 1, "%u", &col) == 1 && file != NULL &&
	    ctl_source_load(&ck->src, file) == 0 && line >= 1 &&
	    line <= ck->src.n_lines)
		e->keyword = ctl_keyword_at(ck->src.lines[line - 1], col);
	else
		e->keyword = strdup("rule");
}

static void
ctl_report(void *arg, const char *msg)
{
	struct ctl_check *ck = arg;

	ck->errors++;
	if (ck->report || ck->json)
		ctl_tally(ck, msg);
	if (ck->json)
		ctl_collect(ck, msg);
	else if (!ck->report)
		fprintf(stderr, "%s\n", msg);
}

static json_t *
ctl_json_errors(const struct ctl_check *ck)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < ck->n_errs; i++) {
		const struct ctl_error *e = &ck->errs[i];

		json_array_append_new(a, json_pack("{s:s, s:i, s:s, s:s}",
		    "file", e->file ? e->file : "", "line", (json_int_t)e->line,
		    "keyword", e->keyword ? e->keyword : "rule",
		    "reason", e->reason ? e->reason : ""));
	}
	return a;
}

/* The --json object: accepted and rejected rules, every error, the
 * reasons tallied (most frequent first). */
static void
ctl_print_json(const struct ctl_check *ck, uint32_t ok, double compile_s)
{
	json_t *reasons = json_array(), *o;

	for (unsigned r = 0; r < ck->n_reasons; r++)
		json_array_append_new(reasons, json_pack("{s:s, s:i}",
		    "reason", ck->reasons[r].text,
		    "count", (json_int_t)ck->reasons[r].count));
	o = json_pack("{s:i, s:i, s:f, s:o, s:o}",
	              "accepted", (json_int_t)ok,
	              "rejected", (json_int_t)ck->errors,
	              "compile_seconds", compile_s,
	              "errors", ctl_json_errors(ck), "reasons", reasons);
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

static void
ctl_check_free(struct ctl_check *ck)
{
	for (unsigned i = 0; i < ck->n_errs; i++) {
		free(ck->errs[i].file);
		free(ck->errs[i].keyword);
		free(ck->errs[i].reason);
	}
	free(ck->errs);
	for (unsigned r = 0; r < ck->n_reasons; r++)
		free(ck->reasons[r].text);
	ctl_source_free(&ck->src);
}

static int
ctl_reason_cmp(const void *a, const void *b)
{
	const struct ctl_reason *x = a, *y = b;

	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

/* Compile each rule alone so Hyperscan's complaints are attributed to every
 * rule that has one (a whole-set compile stops at the first).  Rules that
 * fail are dropped from rs. */
static void
ctl_compile_each(struct ips_ruleset *rs, struct ctl_check *ck)
{
	char err[IPS_ERRBUF_SIZE];
	uint32_t kept = 0;
	int dropped = 0;

	for (uint32_t i = 0; i < rs->n_rules; i++) {
		struct ips_rule *r;
		struct ips_ruleset one = { NULL, 1, 1 };
		struct ips_detect_db *db;

		/* a twin goes with its rule */
		if (rs->rules[i].twin && dropped) {
			ips_rule_free(&rs->rules[i]);
			continue;
		}
		dropped = 1;
		one.rules = r = malloc(sizeof(*r));
		if (r == NULL) {
			ctl_report(ck, "ipsctl: out of memory");
			if (rs->rules[i].twin)
				ips_rule_free(&rs->rules[--kept]);
			ips_rule_free(&rs->rules[i]);
			continue;
		}
		*r = rs->rules[i];
		db = ips_detect_db_compile(&one, err, sizeof(err));
		if (db == NULL) {           /* the compiler freed the rule */
			ctl_report(ck, err);
			/* a rule without its twin would read one side only */
			if (rs->rules[i].twin)
				ips_rule_free(&rs->rules[--kept]);
			continue;
		}
		/* Take the rule back out of the throw-away db. */
		dropped = 0;
		rs->rules[kept++] = db->rules.rules[0];
		db->rules.n_rules = 0;
		ips_detect_db_free(db);
	}
	rs->n_rules = kept;
}

static int
ctl_add_var(struct ips_rule_var *vars, size_t *n, char *def)
{
	char *eq = strchr(def, '=');
	size_t i;

	if (eq == NULL || eq == def)
		return -1;
	*eq = '\0';
	for (i = 0; i < *n; i++)
		if (strcmp(vars[i].name, def) == 0)
			break;
	if (i == *n) {
		if (*n == CTL_MAX_VARS)
			return -1;
		(*n)++;
	}
	vars[i].name = def;
	vars[i].value = eq + 1;
	return 0;
}

/* Options `check` and `compile` share; files are gathered in argv's
 * front (the strings stay argv's). */
struct ctl_opts {
	struct ips_rule_var vars[CTL_MAX_VARS];
	struct ips_parse_opts parse;
	const char *out;            /* compile: -o BUNDLE */
	uint64_t generation;        /* compile: 0 = from the clock */
	int report;                 /* check: --report */
	int json;                   /* check: --json */
	int nfiles;
};

/* Returns 0, or 2 (usage error, message printed). */
static int
ctl_parse_opts(int argc, char **argv, int compile, struct ctl_opts *o)
{
	int defaults = 1;

	memset(o, 0, sizeof(*o));
	o->parse.vars = o->vars;
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--no-default-vars") == 0)
			defaults = 0;
	if (defaults)
		for (size_t v = 0; v < sizeof(ctl_default_vars) /
		                       sizeof(ctl_default_vars[0]); v++)
			o->vars[o->parse.n_vars++] = ctl_default_vars[v];
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--vars") == 0 && i + 1 < argc) {
			if (ctl_add_var(o->vars, &o->parse.n_vars,
			                argv[++i]) < 0) {
				fprintf(stderr, "ipsctl: bad --vars '%s'\n",
				        argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--classification") == 0 &&
		           i + 1 < argc) {
			o->parse.classification_file = argv[++i];
		} else if (strcmp(argv[i], "--no-default-vars") == 0) {
			continue;
		} else if (!compile && strcmp(argv[i], "--report") == 0) {
			o->report = 1;
		} else if (!compile && strcmp(argv[i], "--json") == 0) {
			o->json = 1;
		} else if (compile && strcmp(argv[i], "-o") == 0 &&
		           i + 1 < argc) {
			o->out = argv[++i];
		} else if (compile && strcmp(argv[i], "--generation") == 0 &&
		           i + 1 < argc) {
			char *end;

			o->generation = strtoull(argv[++i], &end, 10);
			if (*end != '\0' || o->generation == 0) {
				fprintf(stderr, "ipsctl: bad --generation '%s'\n",
				        argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-') {
			ctl_usage(stderr);
			return 2;
		} else {
			argv[o->nfiles++] = argv[i];
		}
	}
	if (o->nfiles == 0 || (compile && o->out == NULL)) {
		ctl_usage(stderr);
		return 2;
	}
	return 0;
}

static int
ctl_check(int argc, char **argv)
{
	static struct ctl_check ck;
	static struct ctl_opts o;
	struct ips_ruleset rs = { 0 };
	struct ips_detect_db *db;
	char err[IPS_ERRBUF_SIZE];
	int i, rc;
	uint32_t ok;

	if ((rc = ctl_parse_opts(argc, argv, 0, &o)) != 0)
		return rc;
	ck.report = o.report;
	ck.json = o.json;
	for (i = 0; i < o.nfiles; i++)
		if (ips_rule_parse_file(&rs, argv[i], &o.parse, ctl_report, &ck,
		                        err, sizeof(err)) < 0)
			ctl_report(&ck, err);
	ctl_compile_each(&rs, &ck);
	ok = ips_ruleset_count(&rs);
	db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL)
		ctl_report(&ck, err);
	qsort(ck.reasons, ck.n_reasons, sizeof(ck.reasons[0]), ctl_reason_cmp);
	if (ck.json) {
		ctl_print_json(&ck, ok, db ? db->compile_seconds : 0);
	} else {
		for (unsigned r = 0; ck.report && r < ck.n_reasons; r++)
			printf("%s: %u\n", ck.reasons[r].text,
			       ck.reasons[r].count);
		printf("%u rules ok, %u errors", ok, ck.errors);
		if (ok + ck.errors > 0)
			printf(" (%.1f%% accepted)",
			       100.0 * ok / (ok + ck.errors));
		if (db != NULL)
			printf(", compiled in %.2f s\n", db->compile_seconds);
		else
			printf("\n");
	}
	ips_detect_db_free(db);
	rc = ck.errors ? 1 : 0;
	ctl_check_free(&ck);
	return rc;
}

/* Rules and Hyperscan patterns per buffer, and the database's size. */
static void
ctl_print_buffers(const struct ips_detect_db *db)
{
	for (unsigned b = 0; b < IPS_BUF_COUNT; b++) {
		uint32_t rules = 0, pats = 0;
		size_t size = 0;

		for (uint32_t r = 0; r < db->rules.n_rules; r++)
			rules += (db->meta[r].buffers >> b) & 1;
		for (uint32_t p = 0; p < db->n_patterns; p++)
			pats += db->patterns[p].buffer == b;
		if (rules == 0)
			continue;
		if (db->db[b] != NULL)
			hs_database_size(db->db[b], &size);
		printf("  %-20s %6u rules %6u patterns %10zu bytes %s\n",
		       ips_buffer_name(b), rules, pats, size,
		       ips_buffer_streaming(b) ? "stream" : "block");
	}
}

/*
 * ipsctl compile: every file must parse and the whole set compile, or no
 * bundle is written (exit 1): a bundle always says exactly what its files
 * say.  Errors go to stderr as `check` prints them (file:line:col:
 * reason), one per bad rule.
 */
static int
ctl_compile(int argc, char **argv)
{
	static struct ctl_check ck;
	static struct ctl_opts o;
	struct ips_ruleset rs = { 0 };
	struct ips_detect_db *db;
	struct timespec ts;
	char err[IPS_ERRBUF_SIZE];
	int rc;

	if ((rc = ctl_parse_opts(argc, argv, 1, &o)) != 0)
		return rc;
	for (int i = 0; i < o.nfiles; i++)
		if (ips_rule_parse_file(&rs, argv[i], &o.parse, ctl_report, &ck,
		                        err, sizeof(err)) < 0)
			ctl_report(&ck, err);
	if (ck.errors > 0) {
		fprintf(stderr, "%u bad rule(s): no bundle written\n",
		        ck.errors);
		ips_ruleset_free(&rs);
		return 1;
	}
	db = ips_detect_db_compile(&rs, err, sizeof(err));
	if (db == NULL) {
		fprintf(stderr, "compiling signatures: %s\n", err);
		return 1;
	}
	/* Microseconds of the wall clock: a later compile is a newer
	 * generation, also across restarts of the compiler. */
	clock_gettime(CLOCK_REALTIME, &ts);
	db->generation = o.generation ? o.generation
	               : (uint64_t)ts.tv_sec * 1000000u +
	                 (uint64_t)ts.tv_nsec / 1000u;
	if (ips_bundle_write(db, o.out, err, sizeof(err)) < 0) {
		fprintf(stderr, "ipsctl: %s\n", err);
		ips_detect_db_free(db);
		return 1;
	}
	printf("%u rules from %d file(s) compiled in %.3f s, generation "
	       "%llu: %s\n", ips_ruleset_count(&db->rules), o.nfiles, db->compile_seconds,
	       (unsigned long long)db->generation, o.out);
	ctl_print_buffers(db);
	ips_detect_db_free(db);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return ctl_check(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "compile") == 0)
		return ctl_compile(argc - 2, argv + 2);
	if (ctl_client_is_command(argc - 1, argv + 1))
		return ctl_client_main(argc - 1, argv + 1);
	ctl_usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
	return 2;
}

/*
 * fuzz_config.c - libFuzzer harness for the config reader: any text must
 * load or fail cleanly (no crash, no leak), and a load that succeeds must
 * hold only values the contract allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/*
 * libconfig 1.5 (Debian) leaks a string token that a syntax error makes
 * the parser discard (hyperrealm/libconfig#142, fixed in 1.7).  Only the
 * lexer's token allocations are excused: our own, and libconfig's settings
 * if we forgot config_destroy, are still reported.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\n"       /* a string token */
	       "leak:libconfig_yylex\n";     /* an empty one ("") */
}

/* mode "l3": every route and neighbor resolved to a port, bounded lists. */
static void
fuzz_config_check_l3(const struct ips_config *c)
{
	const struct config_l3 *l3 = &c->l3;

	if (l3->n_routes > CONFIG_MAX_ROUTES ||
	    l3->n_neighbors > CONFIG_MAX_NEIGHBORS ||
	    l3->n_pod_subnets > CONFIG_MAX_POD_SUBNETS ||
	    l3->n_service_ports > CONFIG_MAX_SERVICE_PORTS)
		__builtin_trap();
	if (!config_is_l3(c)) {
		for (unsigned i = 0; i < c->n_ports; i++)
			if (c->ports[i].n_addrs != 0)
				__builtin_trap();
		return;
	}
	if (l3->n_pod_subnets == 0)
		__builtin_trap();
	for (unsigned i = 0; i < l3->n_routes; i++)
		if (l3->routes[i].port < 0 ||
		    (unsigned)l3->routes[i].port >= c->n_ports)
			__builtin_trap();
	for (unsigned i = 0; i < l3->n_neighbors; i++)
		if (l3->neighbors[i].port < 0 ||
		    (unsigned)l3->neighbors[i].port >= c->n_ports)
			__builtin_trap();
	for (unsigned i = 0; i < c->n_ports; i++)
		if (c->ports[i].n_addrs == 0 ||
		    c->ports[i].n_addrs > CONFIG_MAX_PORT_ADDRS ||
		    c->ports[i].peer != -1)
			__builtin_trap();
}

/* A successful load's promises (config.h); trap so libFuzzer keeps it. */
static void
fuzz_config_check(const struct ips_config *c)
{
	if (c->workers < 1 || c->workers > 64 ||
	    (strcmp(c->mode, "l2") != 0 && strcmp(c->mode, "l3") != 0) ||
	    c->n_ports > CONFIG_MAX_PORTS || c->n_eal_args > CONFIG_MAX_EAL_ARGS ||
	    c->n_http_ports > CONFIG_MAX_HTTP_PORTS ||
	    c->n_rule_files > CONFIG_MAX_RULE_FILES || c->n_vars > CONFIG_MAX_VARS ||
	    c->limits.flows == 0 || c->ctl_mode > 0777)
		__builtin_trap();
	for (unsigned i = 0; i < c->n_ports; i++) {
		const struct config_port *p = &c->ports[i];

		if (p->name[0] == '\0' || p->role > PORT_ROLE_PRIVATE)
			__builtin_trap();
		if (p->peer != -1 && (p->peer < 0 || (unsigned)p->peer >= c->n_ports ||
		                      c->ports[p->peer].role == p->role))
			__builtin_trap();
	}
	fuzz_config_check_l3(c);
	for (unsigned i = 0; i < c->n_http_ports; i++)
		if (c->http_ports[i] == 0)
			__builtin_trap();
	for (unsigned i = 0; i < c->n_eal_args; i++)
		if (c->eal_args[i] == NULL || strlen(c->eal_args[i]) > (1u << 20))
			__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ips_config *c = malloc(sizeof(*c));
	char *text = malloc(size + 1);
	char err[256];

	if (c == NULL || text == NULL) {
		free(c);
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	config_defaults(c);
	if (config_load_string(c, text, "fuzz", err, sizeof(err)) == 0)
		fuzz_config_check(c);
	else if (strncmp(err, "fuzz", 4) != 0)
		__builtin_trap();           /* every error names the file */
	config_free(c);
	free(text);
	free(c);
	return 0;
}

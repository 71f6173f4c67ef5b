/*
 * fuzz_rule_parse.c - libFuzzer harness for the rule parser: any bytes as
 * one rule line, with variables so $VAR expansion is reached too.  Rules
 * that parse are freed with the set: leaks and overreads show up here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ips/rules.h"

static const struct ips_rule_var fuzz_vars[] = {
	{ "HOME_NET", "[192.0.2.0/24,2001:db8::/32]" },
	{ "EXTERNAL_NET", "!$HOME_NET" },
	{ "HTTP_PORTS", "[80,8080:8090]" },
	{ "LOOP", "[$LOOP]" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ips_parse_opts opts = { fuzz_vars, 4, NULL };
	struct ips_ruleset rs = { 0 };
	char err[IPS_ERRBUF_SIZE];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* twice: the second exercises the duplicate-sid path */
	ips_rule_parse_line(&rs, text, "fuzz", 1, &opts, err, sizeof(err));
	ips_rule_parse_line(&rs, text, "fuzz", 2, &opts, err, sizeof(err));
	ips_ruleset_free(&rs);
	free(text);
	return 0;
}

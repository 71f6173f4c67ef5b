/*
 * fuzz_ctl.c - libFuzzer harness for the control protocol's request parser
 * (ctl_handle_line): any bytes as one request line, against a backend that
 * answers every command (so replies with backend members are built too)
 * and fails one in two calls (so error replies are too).  Every reply must
 * be one JSON object on one line ending in a newline.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static unsigned fuzz_calls;

static json_t *
fuzz_answer(const char *what, char *err, size_t errlen)
{
	if (++fuzz_calls % 2 == 0) {
		strncpy(err, what, errlen - 1);
		err[errlen - 1] = '\0';
		return NULL;
	}
	return json_pack("{s:s, s:i}", "what", what, "n", (int)fuzz_calls);
}

static json_t *
fuzz_load(void *arg, const char *bundle, char *err, size_t errlen)
{
	(void)arg;
	return fuzz_answer(bundle, err, errlen);
}

#define FUZZ_SIMPLE(name)                                                 \
	static json_t *fuzz_##name(void *arg, char *err, size_t errlen)   \
	{                                                                 \
		(void)arg;                                                \
		return fuzz_answer(#name, err, errlen);                   \
	}
FUZZ_SIMPLE(stats)
FUZZ_SIMPLE(rules)
FUZZ_SIMPLE(version)
FUZZ_SIMPLE(reload)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ctl_backend be = { NULL, fuzz_load, fuzz_stats,
		fuzz_rules, fuzz_version, fuzz_reload };
	char *reply;
	size_t n;
	json_t *o;

	if (size > IPS_CTL_MAX_LINE)
		return 0;       /* the server never hands over more */
	reply = ctl_handle_line(&be, (const char *)data, size);
	if (reply == NULL)
		return 0;       /* out of memory */
	n = strlen(reply);
	if (n < 2 || reply[n - 1] != '\n' || memchr(reply, '\n', n - 1) != NULL)
		abort();
	o = json_loadb(reply, n - 1, 0, NULL);
	if (!json_is_object(o) || !json_is_boolean(json_object_get(o, "ok")))
		abort();
	json_decref(o);
	free(reply);
	return 0;
}

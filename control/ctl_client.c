/*
 * ctl_client.c - control-protocol client and ipsctl's socket commands
 * (see ctl_client.h): connect, send one line, read one line, print it for
 * a person or, with --json, as the reply itself.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl_client.h"
#include "ips/control.h"

/* Reply lines can be long (every rule with its hits); this bounds what a
 * confused server can make us buffer. */
#define CTL_CLIENT_MAX_REPLY (64u << 20)

static long long
ctl_client_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static int
ctl_client_wait(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - ctl_client_now_ms();

	if (left <= 0)
		return -1;
	return poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left)) == 1 ? 0 : -1;
}

json_t *
ctl_client_request(const char *socket_path, json_t *req, int timeout_ms,
                   char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	long long deadline = ctl_client_now_ms() + timeout_ms;
	char *text = NULL, *buf = NULL, *nl = NULL;
	size_t len = 0, cap = 0, off = 0;
	json_t *reply = NULL;
	json_error_t jerr;
	int fd = -1;

	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long", socket_path);
		return NULL;
	}
	memcpy(sa.sun_path, socket_path, strlen(socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "%s: %s", socket_path, strerror(errno));
		goto out;
	}
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	len = strlen(text);
	text[len++] = '\n';     /* json_dumps's NUL becomes the newline */
	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN &&
		    ctl_client_wait(fd, POLLOUT, deadline) == 0)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: %s", socket_path,
			         errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	len = 0;
	while (nl == NULL) {
		ssize_t n;

		if (cap - len < 4096) {
			char *g;

			cap = cap ? 2 * cap : 65536;
			if (cap > CTL_CLIENT_MAX_REPLY ||
			    (g = realloc(buf, cap)) == NULL) {
				snprintf(err, errlen, "%s: reply too long",
				         socket_path);
				goto out;
			}
			buf = g;
		}
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EAGAIN &&
		    ctl_client_wait(fd, POLLIN, deadline) == 0)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: %s", socket_path,
			         n == 0 ? "closed without a reply" :
			         errno == EAGAIN ? "timed out" : strerror(errno));
			goto out;
		}
		nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
	}
	reply = json_loadb(buf, (size_t)(nl - buf), 0, &jerr);
	if (!json_is_object(reply)) {
		json_decref(reply);
		reply = NULL;
		snprintf(err, errlen, "%s: reply is not a JSON object",
		         socket_path);
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	free(buf);
	return reply;
}

/* ---- ipsctl commands ------------------------------------------------------ */

static const char *const ctl_client_commands[] = {
	"load", "reload", "stats", "rules", "version", "ping", NULL,
};

int
ctl_client_is_command(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 ||
		    strcmp(argv[i], "--timeout") == 0) {
			i++;
			continue;
		}
		if (strcmp(argv[i], "--json") == 0)
			continue;
		for (const char *const *c = ctl_client_commands; *c; c++)
			if (strcmp(argv[i], *c) == 0)
				return 1;
		return 0;
	}
	return 0;
}

static void
ctl_client_usage(void)
{
	fprintf(stderr,
	        "usage: ipsctl [--socket PATH] [--json] [--timeout SECONDS] "
	        "COMMAND\n"
	        "  load BUNDLE   validate BUNDLE and swap it in (dataplane)\n"
	        "  reload        recompile the signatures and load them "
	        "(ips-control)\n"
	        "  stats         every counter, summed and per worker\n"
	        "  rules         every rule with its hit count\n"
	        "  version | ping\n"
	        "  --socket PATH  default %s, or %s for reload\n",
	        CTL_CLIENT_SOCKET, IPS_CTL_CONTROL_SOCKET);
}

static void
ctl_client_print_stats(json_t *r)
{
	json_t *total = json_object_get(r, "total");
	json_t *per = json_object_get(r, "per_worker");
	const char *name;
	json_t *v;

	printf("generation %lld, %lld worker(s), %lld dropped\n",
	       json_integer_value(json_object_get(r, "generation")),
	       json_integer_value(json_object_get(r, "workers")),
	       json_integer_value(json_object_get(r, "dropped")));
	printf("%-32s %14s", "counter", "total");
	for (size_t w = 0; w < json_array_size(per); w++)
		printf(" %13s%zu", "w", w);
	putchar('\n');
	json_object_foreach(total, name, v) {
		if (json_integer_value(v) == 0)
			continue;       /* the zeros are in --json */
		printf("%-32s %14lld", name, json_integer_value(v));
		for (size_t w = 0; w < json_array_size(per); w++)
			printf(" %14lld", json_integer_value(json_object_get(
				json_array_get(per, w), name)));
		putchar('\n');
	}
}

static void
ctl_client_print_rules(json_t *r)
{
	json_t *rules = json_object_get(r, "rules");

	printf("generation %lld, %lld rule(s)\n",
	       json_integer_value(json_object_get(r, "generation")),
	       json_integer_value(json_object_get(r, "count")));
	printf("%10s %4s %-6s %12s  %s\n", "sid", "rev", "action", "hits", "msg");
	for (size_t i = 0; i < json_array_size(rules); i++) {
		json_t *x = json_array_get(rules, i);

		printf("%10lld %4lld %-6s %12lld  %s\n",
		       json_integer_value(json_object_get(x, "sid")),
		       json_integer_value(json_object_get(x, "rev")),
		       json_string_value(json_object_get(x, "action")),
		       json_integer_value(json_object_get(x, "hits")),
		       json_string_value(json_object_get(x, "msg")));
	}
}

/* Everything else: one "key value" per line, in the reply's order. */
static void
ctl_client_print_flat(json_t *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(r, key, v) {
		char *s;

		if (strcmp(key, "ok") == 0 || strcmp(key, "cmd") == 0)
			continue;
		s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		if (json_is_string(v))
			printf("%s %s\n", key, json_string_value(v));
		else
			printf("%s %s\n", key, s ? s : "?");
		free(s);
	}
}

int
ctl_client_main(int argc, char **argv)
{
	const char *sock = NULL, *cmd = NULL, *arg = NULL;
	char path[PATH_MAX], err[1024];
	int json = 0, timeout_s = 60, i, rc;
	json_t *req, *reply;

	for (i = 0; i < argc && cmd == NULL; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout_s = atoi(argv[++i]);
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-')
			break;
		else
			cmd = argv[i];
	}
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (arg == NULL && argv[i][0] != '-')
			arg = argv[i];
		else
			cmd = NULL;
	}
	if (cmd == NULL || timeout_s <= 0 || timeout_s > 86400 ||
	    (strcmp(cmd, "load") == 0) != (arg != NULL)) {
		ctl_client_usage();
		return 2;
	}
	if (sock == NULL)
		sock = strcmp(cmd, "reload") == 0 ? IPS_CTL_CONTROL_SOCKET
		                                  : CTL_CLIENT_SOCKET;
	req = json_pack("{s:s}", "cmd", cmd);
	if (arg != NULL) {
		/* The dataplane runs elsewhere: a relative path means ours. */
		if (realpath(arg, path) == NULL) {
			fprintf(stderr, "ipsctl: %s: %s\n", arg, strerror(errno));
			json_decref(req);
			return 2;
		}
		json_object_set_new(req, "bundle", json_string(path));
	}
	reply = ctl_client_request(sock, req, timeout_s * 1000, err, sizeof(err));
	json_decref(req);
	if (reply == NULL) {
		fprintf(stderr, "ipsctl: %s\n", err);
		return 2;
	}
	rc = json_is_true(json_object_get(reply, "ok")) ? 0 : 1;
	if (json) {
		json_dumpf(reply, stdout, JSON_COMPACT);
		putchar('\n');
	} else if (rc != 0) {
		fprintf(stderr, "ipsctl: %s\n",
		        json_string_value(json_object_get(reply, "error")));
	} else if (strcmp(cmd, "stats") == 0) {
		ctl_client_print_stats(reply);
	} else if (strcmp(cmd, "rules") == 0) {
		ctl_client_print_rules(reply);
	} else if (strcmp(cmd, "ping") == 0) {
		puts("pong");
	} else {
		ctl_client_print_flat(reply);
	}
	json_decref(reply);
	return rc;
}

/*
 * test_ctl.c - the control socket (dataplane/ctl.c): every command and
 * every error reply of the line parser, with the exact text, against a
 * recording backend; then the server over a real unix socket: mode, stale
 * and live socket files, oversized lines, too many clients, clients that
 * vanish, never read or fall silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

/* ---- a recording backend ------------------------------------------------- */

struct fake {
	int calls;
	char last[256];
	int fail;                   /* 1: error with text, 2: NULL, no text */
};

static json_t *
fake_result(struct fake *f, const char *what, char *err, size_t errlen)
{
	f->calls++;
	snprintf(f->last, sizeof(f->last), "%s", what);
	if (f->fail == 1)
		snprintf(err, errlen, "%s: it broke", what);
	if (f->fail)
		return NULL;
	return json_pack("{s:s}", "did", what);
}

static json_t *
fake_load(void *arg, const char *bundle, char *err, size_t errlen)
{
	char what[256];

	snprintf(what, sizeof(what), "load %s", bundle);
	return fake_result(arg, what, err, errlen);
}

#define FAKE_SIMPLE(name)                                                 \
	static json_t *fake_##name(void *arg, char *err, size_t errlen)   \
	{                                                                 \
		return fake_result(arg, #name, err, errlen);              \
	}
FAKE_SIMPLE(stats)
FAKE_SIMPLE(rules)
FAKE_SIMPLE(version)

static struct fake fk;
static const struct ctl_backend dataplane_be = {
	&fk, fake_load, fake_stats, fake_rules, fake_version, NULL,
};

static int
setup(void **state)
{
	(void)state;
	memset(&fk, 0, sizeof(fk));
	return 0;
}

/* The reply to line, parsed; the raw line must end in exactly one \n. */
static json_t *
ask(const struct ctl_backend *be, const char *line, size_t len)
{
	char *reply = ctl_handle_line(be, line, len);
	size_t n;
	json_t *o;

	assert_non_null(reply);
	n = strlen(reply);
	assert_true(n > 1 && reply[n - 1] == '\n');
	assert_null(memchr(reply, '\n', n - 1));
	o = json_loads(reply, 0, NULL);
	assert_non_null(o);
	free(reply);
	return o;
}

static void
expect_error(const char *line, const char *error)
{
	json_t *o = ask(&dataplane_be, line, strlen(line));

	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "error")),
	                    error);
	json_decref(o);
}

static void
expect_ok(const char *line, const char *cmd, const char *did)
{
	json_t *o = ask(&dataplane_be, line, strlen(line));

	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_string_equal(json_string_value(json_object_get(o, "cmd")), cmd);
	if (did != NULL)
		assert_string_equal(json_string_value(json_object_get(o, "did")),
		                    did);
	json_decref(o);
}

/* ---- commands -------------------------------------------------------------- */

static void
test_ping(void **state)
{
	(void)state;
	expect_ok("{\"cmd\":\"ping\"}", "ping", NULL);
	assert_int_equal(fk.calls, 0);      /* answered by ctl itself */
	expect_error("{\"cmd\":\"ping\",\"x\":1}", "ping: unknown member \"x\"");
}

static void
test_each_command_reaches_backend(void **state)
{
	(void)state;
	expect_ok("{\"cmd\":\"load\",\"bundle\":\"/var/lib/ips/a.bundle\"}",
	          "load", "load /var/lib/ips/a.bundle");
	expect_ok("{\"cmd\":\"stats\"}", "stats", "stats");
	expect_ok("{\"cmd\":\"rules\"}", "rules", "rules");
	expect_ok("{\"cmd\":\"version\"}", "version", "version");
	assert_int_equal(fk.calls, 4);
	/* CRLF clients and surrounding blanks */
	expect_ok(" {\"cmd\" : \"stats\"} \r", "stats", "stats");
}

static void
test_backend_errors_are_replies(void **state)
{
	(void)state;
	fk.fail = 1;
	expect_error("{\"cmd\":\"load\",\"bundle\":\"b\"}", "load b: it broke");
	expect_error("{\"cmd\":\"stats\"}", "stats: it broke");
	fk.fail = 2;
	expect_error("{\"cmd\":\"rules\"}", "failed");
}

static void
test_load_arguments(void **state)
{
	(void)state;
	expect_error("{\"cmd\":\"load\"}",
	             "load: \"bundle\" must be a path (a string)");
	expect_error("{\"cmd\":\"load\",\"bundle\":5}",
	             "load: \"bundle\" must be a path (a string)");
	expect_error("{\"cmd\":\"load\",\"bundle\":\"\"}",
	             "load: \"bundle\" must be a path (a string)");
	/* a NUL would cut the path the backend sees: jansson refuses it */
	expect_error("{\"cmd\":\"load\",\"bundle\":\"a\\u0000b\"}",
	             "malformed JSON at column 33: \\u0000 is not allowed "
	             "without JSON_ALLOW_NUL near '\"a\\u0000b\"'");
	expect_error("{\"cmd\":\"load\",\"bundel\":\"a\"}",
	             "load: unknown member \"bundel\"");
	expect_error("{\"cmd\":\"stats\",\"bundle\":\"a\"}",
	             "stats: unknown member \"bundle\"");
	assert_int_equal(fk.calls, 0);
}

static void
test_malformed_requests(void **state)
{
	static const char nul[] = "{\"cmd\":\0\"ping\"}";

	(void)state;
	expect_error("{\"cmd\":", "malformed JSON at column 7: "
	             "unexpected token near end of file");
	expect_error("hello", "malformed JSON at column 5: "
	             "'[' or '{' expected near 'hello'");
	expect_error("{\"cmd\":\"ping\",\"cmd\":\"stats\"}",
	             "malformed JSON at column 19: duplicate object key near "
	             "'\"cmd\"'");
	expect_error("[\"ping\"]", "request must be a JSON object");
	expect_error("{}", "missing \"cmd\" (a string)");
	expect_error("{\"cmd\":[\"ping\"]}", "missing \"cmd\" (a string)");
	expect_error("{\"cmd\":\"reboot\"}", "unknown command \"reboot\"");
	/* the dataplane has no recompile: reload is ips-control's */
	expect_error("{\"cmd\":\"reload\"}", "unknown command \"reload\"");

	json_t *o = ask(&dataplane_be, nul, sizeof(nul) - 1);

	assert_true(json_is_false(json_object_get(o, "ok")));
	assert_non_null(strstr(json_string_value(json_object_get(o, "error")),
	                       "malformed JSON"));
	json_decref(o);
	assert_int_equal(fk.calls, 0);
}

static void
test_long_command_name_is_cut(void **state)
{
	char line[512], want[128];

	(void)state;
	snprintf(line, sizeof(line), "{\"cmd\":\"%0300d\"}", 0);
	snprintf(want, sizeof(want), "unknown command \"%064d\"", 0);
	expect_error(line, want);
}

/* ---- the server on a real socket ----------------------------------------- */

struct srv_fixture {
	char dir[32];
	char path[96];
	struct ctl_server *srv;
};

static void
srv_open(struct srv_fixture *f, unsigned idle_ms)
{
	struct ctl_conf cc = { f->path, 0600, NULL, idle_ms };
	char err[256];

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_ctl.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%.80s/ctl.sock", f->dir);
	cc.path = f->path;
	f->srv = ctl_server_open(&cc, &dataplane_be, err, sizeof(err));
	if (f->srv == NULL)
		fail_msg("%s", err);
}

static void
srv_close(struct srv_fixture *f)
{
	ctl_server_close(f->srv);
	assert_int_equal(access(f->path, F_OK), -1);    /* removed */
	rmdir(f->dir);
}

static int
cli_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Serve until fd has a whole line (or EOF); bounded. */
static char *
cli_reply(struct ctl_server *srv, int fd, int *eof)
{
	static char buf[1 << 17];
	size_t len = 0;

	*eof = 0;
	for (int i = 0; i < 2000; i++) {
		ssize_t n;

		ctl_server_poll(srv, 1);
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		if (n == 0) {
			*eof = 1;
			break;
		}
		if (n > 0)
			len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len) != NULL)
			return buf;
	}
	return len > 0 ? buf : NULL;
}

static int
cli_closed(struct ctl_server *srv, int fd)
{
	char c;

	for (int i = 0; i < 2000; i++) {
		ssize_t n;

		ctl_server_poll(srv, 1);
		n = recv(fd, &c, 1, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
	}
	return 0;
}

static void
test_server_request_reply_and_mode(void **state)
{
	struct srv_fixture f;
	struct stat st;
	char *r;
	int fd, eof;

	(void)state;
	srv_open(&f, 0);
	assert_int_equal(stat(f.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	fd = cli_connect(f.path);
	/* two requests in one write, a blank line between: two replies */
	assert_int_equal(send(fd, "{\"cmd\":\"ping\"}\n\n{\"cmd\":\"stats\"}\n",
	                      32, 0), 32);
	r = cli_reply(f.srv, fd, &eof);
	assert_non_null(r);
	assert_non_null(strstr(r, "\"cmd\":\"ping\""));
	if (strchr(r, '\n')[1] == '\0')
		r = cli_reply(f.srv, fd, &eof);
	assert_non_null(strstr(r, "\"cmd\":\"stats\""));
	close(fd);
	srv_close(&f);
}

static void
test_server_socket_file_checks(void **state)
{
	struct srv_fixture f;
	struct ctl_conf cc = { NULL, 0660, NULL, 0 };
	struct ctl_server *again;
	char err[256], want[256];
	int fd;

	(void)state;
	srv_open(&f, 0);
	cc.path = f.path;
	again = ctl_server_open(&cc, &dataplane_be, err, sizeof(err));
	assert_null(again);
	snprintf(want, sizeof(want), "control socket %s: another process is "
	         "listening on it", f.path);
	assert_string_equal(err, want);
	srv_close(&f);

	/* a stale socket (its server gone without removing it) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		assert_int_equal(mkdir(f.dir, 0700), 0);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", f.path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	again = ctl_server_open(&cc, &dataplane_be, err, sizeof(err));
	assert_non_null(again);
	ctl_server_close(again);

	/* a regular file is not ours to remove */
	fd = open(f.path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_null(ctl_server_open(&cc, &dataplane_be, err, sizeof(err)));
	snprintf(want, sizeof(want), "control socket %s: exists and is not a "
	         "socket", f.path);
	assert_string_equal(err, want);
	unlink(f.path);

	cc.group = "no-such-group-ips";
	assert_null(ctl_server_open(&cc, &dataplane_be, err, sizeof(err)));
	snprintf(want, sizeof(want), "control socket %s: group "
	         "no-such-group-ips: no such group", f.path);
	assert_string_equal(err, want);
	assert_int_equal(access(f.path, F_OK), -1);
	rmdir(f.dir);
}

static void
test_server_oversized_line(void **state)
{
	struct srv_fixture f;
	char *big = malloc(IPS_CTL_MAX_LINE + 2), *r;
	size_t off = 0;
	int fd, eof, fd2;

	(void)state;
	srv_open(&f, 0);
	fd = cli_connect(f.path);
	memset(big, ' ', IPS_CTL_MAX_LINE + 2);
	while (off < IPS_CTL_MAX_LINE + 2) {
		ssize_t n = send(fd, big + off, IPS_CTL_MAX_LINE + 2 - off, 0);

		if (n > 0)
			off += (size_t)n;
		ctl_server_poll(f.srv, 1);
	}
	r = cli_reply(f.srv, fd, &eof);
	assert_non_null(r);
	assert_string_equal(r, "{\"ok\":false,\"error\":\"request longer than "
	                    "65536 bytes\"}\n");
	assert_true(cli_closed(f.srv, fd));
	close(fd);
	/* the server goes on */
	fd2 = cli_connect(f.path);
	assert_int_equal(send(fd2, "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	assert_non_null(strstr(cli_reply(f.srv, fd2, &eof), "\"ok\":true"));
	close(fd2);
	free(big);
	srv_close(&f);
}

static void
test_server_too_many_clients(void **state)
{
	struct srv_fixture f;
	int fds[CTL_MAX_CLIENTS + 1], eof;
	char *r;

	(void)state;
	srv_open(&f, 0);
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		fds[i] = cli_connect(f.path);
		for (int k = 0; k < 5; k++)
			ctl_server_poll(f.srv, 1);
	}
	fds[CTL_MAX_CLIENTS] = cli_connect(f.path);
	r = cli_reply(f.srv, fds[CTL_MAX_CLIENTS], &eof);
	assert_non_null(r);
	assert_string_equal(r, "{\"ok\":false,\"error\":\"too many clients "
	                    "(at most 16)\"}\n");
	assert_true(cli_closed(f.srv, fds[CTL_MAX_CLIENTS]));
	/* the ones admitted are served */
	assert_int_equal(send(fds[3], "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	assert_non_null(strstr(cli_reply(f.srv, fds[3], &eof), "\"ok\":true"));
	for (int i = 0; i <= CTL_MAX_CLIENTS; i++)
		close(fds[i]);
	srv_close(&f);
}

static void
test_server_vanished_and_silent_clients(void **state)
{
	struct srv_fixture f;
	int gone, silent, fd, eof;

	(void)state;
	srv_open(&f, 200);
	/* asks and leaves before the answer */
	gone = cli_connect(f.path);
	assert_int_equal(send(gone, "{\"cmd\":\"stats\"}\n", 16, 0), 16);
	close(gone);
	/* connects and says nothing: dropped after the idle timeout */
	silent = cli_connect(f.path);
	for (int i = 0; i < 5; i++)
		ctl_server_poll(f.srv, 1);
	usleep(300 * 1000);
	assert_true(cli_closed(f.srv, silent));
	close(silent);
	fd = cli_connect(f.path);
	assert_int_equal(send(fd, "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	assert_non_null(strstr(cli_reply(f.srv, fd, &eof), "\"ok\":true"));
	close(fd);
	srv_close(&f);
}

/* A client that sends requests and never reads: the server stops reading
 * it once a reply is pending, so it cannot make the server buffer without
 * bound, and the others are served meanwhile. */
static void
test_server_client_that_never_reads(void **state)
{
	struct srv_fixture f;
	char line[] = "{\"cmd\":\"rules\"}\n";
	int hog, fd, eof, sent = 0;

	(void)state;
	srv_open(&f, 0);
	hog = cli_connect(f.path);
	for (int i = 0; i < 100000; i++) {
		if (send(hog, line, sizeof(line) - 1, 0) > 0)
			sent++;
		ctl_server_poll(f.srv, 0);
	}
	/* the kernel's buffers filled both ways, then the server stopped */
	assert_true(sent < 100000);
	assert_true(fk.calls < sent);
	fd = cli_connect(f.path);
	assert_int_equal(send(fd, "{\"cmd\":\"ping\"}\n", 15, 0), 15);
	assert_non_null(strstr(cli_reply(f.srv, fd, &eof), "\"ok\":true"));
	close(fd);
	close(hog);
	srv_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ping, setup),
		cmocka_unit_test_setup(test_each_command_reaches_backend, setup),
		cmocka_unit_test_setup(test_backend_errors_are_replies, setup),
		cmocka_unit_test_setup(test_load_arguments, setup),
		cmocka_unit_test_setup(test_malformed_requests, setup),
		cmocka_unit_test_setup(test_long_command_name_is_cut, setup),
		cmocka_unit_test_setup(test_server_request_reply_and_mode, setup),
		cmocka_unit_test_setup(test_server_socket_file_checks, setup),
		cmocka_unit_test_setup(test_server_oversized_line, setup),
		cmocka_unit_test_setup(test_server_too_many_clients, setup),
		cmocka_unit_test_setup(test_server_vanished_and_silent_clients,
		                       setup),
		cmocka_unit_test_setup(test_server_client_that_never_reads, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

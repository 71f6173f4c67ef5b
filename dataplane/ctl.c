/*
 * ctl.c - the control socket: request parsing, dispatch to a backend, and a
 * poll(2)-driven unix socket server with bounded clients (see ctl.h).
 *
 * The parser is the part a hostile local client talks to: it takes any
 * bytes, answers every line with exactly one reply line and keeps no state
 * between lines.  The server around it never blocks the service thread on
 * a client: a line too long, a reply not read or a client silent for
 * CTL_IDLE_TIMEOUT_MS closes that client only.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* ---- requests ------------------------------------------------------------ */

/* Serialize o as one reply line; consumes o. */
static char *
ctl_reply_line(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	char *line = NULL;
	size_t n;

	json_decref(o);
	if (text == NULL)
		return NULL;
	n = strlen(text);
	line = malloc(n + 2);
	if (line != NULL) {
		memcpy(line, text, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	free(text);
	return line;
}

char *
ctl_error_reply(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_reply_line(json_pack("{s:b, s:s}", "ok", 0, "error", msg));
}

/* Reject members a command does not take: a typo ("bundel") should not
 * silently run the command without its argument. */
static int
ctl_check_keys(json_t *req, const char *cmd, const char *const *allowed,
               char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(req, key, v) {
		const char *const *a = allowed;

		if (strcmp(key, "cmd") == 0)
			continue;
		while (*a != NULL && strcmp(*a, key) != 0)
			a++;
		if (*a == NULL) {
			snprintf(err, errlen, "%s: unknown member \"%.64s\"", cmd,
			         key);
			return -1;
		}
	}
	return 0;
}

char *
ctl_handle_line(const struct ctl_backend *be, const char *line, size_t len)
{
	static const char *const none[] = { NULL };
	static const char *const load_keys[] = { "bundle", NULL };
	char err[512] = "";
	json_error_t jerr;
	json_t *req, *cmdv, *res = NULL;
	const char *cmd;

	/* A trailing CR (a client using CRLF) is not part of the request. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL)
		return ctl_error_reply("malformed JSON at column %d: %s",
		                       jerr.column, jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return ctl_error_reply("request must be a JSON object");
	}
	cmdv = json_object_get(req, "cmd");
	if (!json_is_string(cmdv)) {
		json_decref(req);
		return ctl_error_reply("missing \"cmd\" (a string)");
	}
	cmd = json_string_value(cmdv);
	if (strcmp(cmd, "ping") == 0) {
		if (ctl_check_keys(req, cmd, none, err, sizeof(err)) == 0)
			res = json_object();
	} else if (strcmp(cmd, "load") == 0 && be->load != NULL) {
		json_t *b = json_object_get(req, "bundle");

		if (ctl_check_keys(req, cmd, load_keys, err, sizeof(err)) != 0)
			;
		else if (!json_is_string(b) || json_string_length(b) == 0 ||
		         strlen(json_string_value(b)) != json_string_length(b))
			snprintf(err, sizeof(err),
			         "load: \"bundle\" must be a path (a string)");
		else
			res = be->load(be->arg, json_string_value(b), err,
			               sizeof(err));
	} else {
		static const struct {
			const char *name;
			size_t off;
		} simple[] = {
			{ "stats", offsetof(struct ctl_backend, stats) },
			{ "rules", offsetof(struct ctl_backend, rules) },
			{ "version", offsetof(struct ctl_backend, version) },
			{ "reload", offsetof(struct ctl_backend, reload) },
		};
		json_t *(*fn)(void *, char *, size_t) = NULL;

		for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++)
			if (strcmp(cmd, simple[i].name) == 0)
				memcpy(&fn, (const char *)be + simple[i].off,
				       sizeof(fn));
		if (fn == NULL)
			snprintf(err, sizeof(err), "unknown command \"%.64s\"",
			         cmd);
		else if (ctl_check_keys(req, cmd, none, err, sizeof(err)) == 0)
			res = fn(be->arg, err, sizeof(err));
	}
	if (res == NULL) {
		char *reply = ctl_error_reply("%s", err[0] ? err : "failed");

		json_decref(req);
		return reply;
	}
	json_object_set_new(res, "ok", json_true());
	json_object_set_new(res, "cmd", json_string(cmd));
	json_decref(req);
	return ctl_reply_line(res);
}

/* ---- the server ------------------------------------------------------------ */

struct ctl_client {
	int fd;                     /* -1: free slot */
	char *in;                   /* IPS_CTL_MAX_LINE + 1 bytes */
	size_t in_len;
	char *out;                  /* pending reply bytes */
	size_t out_len, out_off;
	int closing;                /* close once out is written */
	uint64_t last_ms;           /* last byte read or written */
};

struct ctl_server {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct ctl_backend be;
	uint64_t idle_ms;
	struct ctl_client clients[CTL_MAX_CLIENTS];
};

static uint64_t
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Is someone accepting on path?  A stale file from a crashed dataplane is
 * not; a running dataplane is. */
static int
ctl_socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

struct ctl_server *
ctl_server_open(const struct ctl_conf *conf, const struct ctl_backend *be,
                char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctl_server *srv;
	struct stat st;
	mode_t old_mask;
	int rc;

	if (strlen(conf->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket %s: path longer than %zu "
		         "bytes", conf->path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		snprintf(err, errlen, "control socket: out of memory");
		return NULL;
	}
	memcpy(sa.sun_path, conf->path, strlen(conf->path) + 1);
	snprintf(srv->path, sizeof(srv->path), "%s", conf->path);
	srv->be = *be;
	srv->idle_ms = conf->idle_timeout_ms ? conf->idle_timeout_ms
	                                     : CTL_IDLE_TIMEOUT_MS;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		srv->clients[i].fd = -1;
	if (lstat(conf->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "control socket %s: exists and is "
			         "not a socket", conf->path);
			goto fail;
		}
		if (ctl_socket_live(&sa)) {
			snprintf(err, errlen, "control socket %s: another "
			         "process is listening on it", conf->path);
			goto fail;
		}
		unlink(conf->path);
	}
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (srv->fd < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* Created with no access for anyone else, then opened up to mode:
	 * no window in which a wider umask lets a stranger connect. */
	old_mask = umask(0177);
	rc = bind(srv->fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_mask);
	if (rc != 0 || listen(srv->fd, CTL_MAX_CLIENTS) != 0) {
		snprintf(err, errlen, "control socket %s: %s", conf->path,
		         strerror(errno));
		goto fail_fd;
	}
	if (conf->group != NULL && conf->group[0] != '\0') {
		struct group *g = getgrnam(conf->group);

		if (g == NULL || chown(conf->path, (uid_t)-1, g->gr_gid) != 0) {
			snprintf(err, errlen, "control socket %s: group %s: %s",
			         conf->path, conf->group,
			         g == NULL ? "no such group" : strerror(errno));
			goto fail_unlink;
		}
	}
	if (chmod(conf->path, conf->mode & 0777) != 0) {
		snprintf(err, errlen, "control socket %s: chmod %o: %s",
		         conf->path, conf->mode, strerror(errno));
		goto fail_unlink;
	}
	return srv;
fail_unlink:
	unlink(conf->path);
fail_fd:
	close(srv->fd);
fail:
	free(srv);
	return NULL;
}

static void
ctl_client_close(struct ctl_client *c)
{
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue reply (consumed) for c; past CTL_MAX_OUTPUT the client is not
 * reading its replies and is dropped. */
static void
ctl_client_queue(struct ctl_client *c, char *reply)
{
	size_t n, pending;
	char *grown;

	if (reply == NULL) {
		c->closing = 1;         /* out of memory: nothing to say */
		return;
	}
	n = strlen(reply);
	pending = c->out_len - c->out_off;
	if (pending + n > CTL_MAX_OUTPUT) {
		free(reply);
		ctl_client_close(c);
		return;
	}
	if (pending == 0) {
		free(c->out);
		c->out = reply;
		c->out_len = n;
		c->out_off = 0;
		return;
	}
	memmove(c->out, c->out + c->out_off, pending);
	grown = realloc(c->out, pending + n);
	if (grown == NULL) {
		free(reply);
		ctl_client_close(c);
		return;
	}
	memcpy(grown + pending, reply, n);
	free(reply);
	c->out = grown;
	c->out_len = pending + n;
	c->out_off = 0;
}

static void
ctl_accept(struct ctl_server *srv, uint64_t now)
{
	for (;;) {
		int fd = accept4(srv->fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *c = NULL;

		if (fd < 0)
			return;     /* EAGAIN, or the client left already */
		for (unsigned i = 0; i < CTL_MAX_CLIENTS && c == NULL; i++)
			if (srv->clients[i].fd < 0)
				c = &srv->clients[i];
		if (c == NULL) {
			/* Best effort: the socket buffer of a new
			 * connection takes one short line. */
			char *r = ctl_error_reply("too many clients (at most "
			                          "%d)", CTL_MAX_CLIENTS);

			if (r != NULL && send(fd, r, strlen(r),
			                      MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				r[0] = '\0';
			free(r);
			close(fd);
			continue;
		}
		c->in = malloc(IPS_CTL_MAX_LINE + 1);
		if (c->in == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_ms = now;
	}
}

/* Answer the complete lines in c->in.  Returns requests answered. */
static int
ctl_client_lines(struct ctl_server *srv, struct ctl_client *c)
{
	size_t start = 0;
	int answered = 0;
	char *nl;

	while (c->fd >= 0 && !c->closing &&
	       (nl = memchr(c->in + start, '\n', c->in_len - start)) != NULL) {
		size_t len = (size_t)(nl - (c->in + start));

		if (len > 0)    /* blank lines (keep-alives) get no reply */
			ctl_client_queue(c, ctl_handle_line(&srv->be,
			                                    c->in + start, len));
		answered += len > 0;
		start += len + 1;
	}
	if (c->fd < 0)
		return answered;
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	if (c->in_len > IPS_CTL_MAX_LINE) {
		/* Where the next request starts is unknowable: answer and
		 * hang up. */
		ctl_client_queue(c, ctl_error_reply("request longer than %d "
		                                    "bytes", IPS_CTL_MAX_LINE));
		c->in_len = 0;
		c->closing = 1;
	}
	return answered;
}

static int
ctl_client_read(struct ctl_server *srv, struct ctl_client *c, uint64_t now)
{
	int answered = 0;

	for (;;) {
		ssize_t n = recv(c->fd, c->in + c->in_len,
		                 IPS_CTL_MAX_LINE + 1 - c->in_len, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			ctl_client_close(c);    /* gone: drop its replies */
			return answered;
		}
		if (n < 0)
			return answered;
		c->in_len += (size_t)n;
		c->last_ms = now;
		answered += ctl_client_lines(srv, c);
		if (c->fd < 0 || c->closing)
			return answered;
	}
}

static void
ctl_client_write(struct ctl_client *c, uint64_t now)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
		                 c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				ctl_client_close(c);
			return;
		}
		c->out_off += (size_t)n;
		c->last_ms = now;
	}
	if (c->closing)
		ctl_client_close(c);
}

int
ctl_server_poll(struct ctl_server *srv, int timeout_ms)
{
	struct pollfd pfd[CTL_MAX_CLIENTS + 1];
	struct ctl_client *who[CTL_MAX_CLIENTS + 1];
	unsigned n = 1;
	int answered = 0;
	uint64_t now;

	pfd[0].fd = srv->fd;
	pfd[0].events = POLLIN;
	who[0] = NULL;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++) {
		struct ctl_client *c = &srv->clients[i];

		if (c->fd < 0)
			continue;
		pfd[n].fd = c->fd;
		/* A client with a reply pending is not read: it cannot queue
		 * requests faster than it takes the answers. */
		pfd[n].events = c->out_off < c->out_len ? POLLOUT : POLLIN;
		who[n++] = c;
	}
	if (poll(pfd, n, timeout_ms) < 0)
		return 0;
	now = ctl_now_ms();
	for (unsigned i = 1; i < n; i++) {
		struct ctl_client *c = who[i];

		if (pfd[i].revents & (POLLERR | POLLNVAL)) {
			ctl_client_close(c);
			continue;
		}
		if (pfd[i].revents & POLLOUT)
			ctl_client_write(c, now);
		else if (pfd[i].revents & (POLLIN | POLLHUP))
			answered += ctl_client_read(srv, c, now);
		if (c->fd >= 0 && c->out_off < c->out_len)
			ctl_client_write(c, now);   /* usually all at once */
		if (c->fd >= 0 && now - c->last_ms > srv->idle_ms)
			ctl_client_close(c);
	}
	if (pfd[0].revents & POLLIN)
		ctl_accept(srv, now);
	return answered;
}

void
ctl_server_close(struct ctl_server *srv)
{
	if (srv == NULL)
		return;
	for (unsigned i = 0; i < CTL_MAX_CLIENTS; i++)
		if (srv->clients[i].fd >= 0)
			ctl_client_close(&srv->clients[i]);
	close(srv->fd);
	unlink(srv->path);
	free(srv);
}

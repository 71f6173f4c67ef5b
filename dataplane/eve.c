/*
 * eve.c - EVE JSON log (see eve.h).  Worker side: eve_push.  Everything
 * else runs on the service thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <errno.h>
#include <stdlib.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "eve.h"
#include "ips/rules.h"

_Static_assert(sizeof(struct eve_record) % 4 == 0,
               "rte_ring elements are multiples of 4 bytes");

struct eve_writer {
	FILE *f;
	uint64_t tsc_hz;
	uint64_t base_tsc;          /* tsc at base_us */
	uint64_t base_us;           /* wall clock, microseconds */
};

struct rte_ring *
eve_ring_create(unsigned worker, unsigned size, int socket)
{
	char name[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "eve_w%u", worker);
	return rte_ring_create_elem(name, sizeof(struct eve_record),
	                            rte_align32pow2(size), socket,
	                            RING_F_SP_ENQ | RING_F_SC_DEQ);
}

int
eve_push(struct rte_ring *r, const struct eve_record *rec)
{
	return rte_ring_sp_enqueue_elem(r, (void *)(uintptr_t)rec, sizeof(*rec)) == 0 ? 0 : -1;
}

struct eve_writer *
eve_writer_open(const char *path, uint64_t tsc_hz, char *err, size_t errlen)
{
	struct eve_writer *w = calloc(1, sizeof(*w));
	struct timeval tv;

	if (w == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path != NULL && path[0] != '\0') {
		w->f = fopen(path, "a");
		if (w->f == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(w);
			return NULL;
		}
	}
	gettimeofday(&tv, NULL);
	w->tsc_hz = tsc_hz;
	w->base_tsc = rte_rdtsc();
	w->base_us = (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
	return w;
}

static void
eve_format_time(const struct eve_writer *w, uint64_t tsc, char *out,
                size_t len)
{
	uint64_t us = eve_tsc_to_us(w->base_us, w->base_tsc, tsc, w->tsc_hz);
	struct tm tm;
	time_t secs;
	char date[32];

	secs = (time_t)(us / 1000000u);
	gmtime_r(&secs, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%06u+0000", date, (unsigned)(us % 1000000u));
}

static void
eve_format_addr(const uint8_t a[16], uint8_t ip_version, char *out,
                size_t len)
{
	if (ip_version == 4)
		inet_ntop(AF_INET, a + 12, out, (socklen_t)len);
	else
		inet_ntop(AF_INET6, a, out, (socklen_t)len);
}

static const char *
eve_proto_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_ICMP: return "ICMP";
	case IPPROTO_ICMPV6: return "IPv6-ICMP";
	default: return "other";
	}
}

/* Request fields are attacker bytes: jansson refuses invalid UTF-8, and a
 * SIEM should not see raw control characters, so anything outside
 * printable ASCII becomes \xHH text.  out holds 4x the input. */
static const char *
eve_printable(const char *in, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in;
	     *p != '\0' && o + 5 < cap; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			out[o++] = (char)*p;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[*p >> 4];
		out[o++] = hex[*p & 15];
	}
	out[o] = '\0';
	return out;
}

static json_t *
eve_alert_json(const struct eve_record *r)
{
	char msg[4 * sizeof(r->msg)], cls[4 * sizeof(r->classtype)];
	json_t *alert = json_pack("{s:s, s:i, s:I, s:I, s:s, s:s, s:i}",
		"action", r->blocked ? "blocked" : "allowed",
		"gid", 1,
		"signature_id", (json_int_t)r->sid,
		"rev", (json_int_t)r->rev,
		"signature", eve_printable(r->msg, msg, sizeof(msg)),
		"category", eve_printable(r->classtype, cls, sizeof(cls)),
		"severity", (int)r->severity);

	return alert;
}

static json_t *
eve_http_json(const struct eve_record *r)
{
	char host[4 * sizeof(r->host)], url[4 * sizeof(r->url)];
	char method[4 * sizeof(r->method)], ua[4 * sizeof(r->user_agent)];

	return json_pack("{s:s, s:s, s:s, s:s}",
		"hostname", eve_printable(r->host, host, sizeof(host)),
		"url", eve_printable(r->url, url, sizeof(url)),
		"http_method", eve_printable(r->method, method, sizeof(method)),
		"http_user_agent",
		eve_printable(r->user_agent, ua, sizeof(ua)));
}

static void
eve_write_record(struct eve_writer *w, const struct eve_record *r)
{
	char ts[64], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	json_t *o;

	eve_format_time(w, r->tsc, ts, sizeof(ts));
	eve_format_addr(r->src, r->ip_version, src, sizeof(src));
	eve_format_addr(r->dst, r->ip_version, dst, sizeof(dst));
	o = json_pack("{s:s, s:I, s:s, s:s, s:i, s:s, s:i, s:s}",
		"timestamp", ts, "flow_id", (json_int_t)r->flow_id,
		"event_type", r->type == EVE_ALERT ? "alert" : "anomaly",
		"src_ip", src, "src_port", (int)r->sport,
		"dest_ip", dst, "dest_port", (int)r->dport,
		"proto", eve_proto_name(r->proto));
	if (o == NULL)
		return;
	if (r->type == EVE_ALERT) {
		json_object_set_new(o, "alert_id", json_integer((json_int_t)r->alert_id));
		json_object_set_new(o, "alert", eve_alert_json(r));
		json_object_set_new(o, "http", eve_http_json(r));
	} else {
		json_object_set_new(o, "anomaly", json_pack("{s:s, s:s}",
			"layer", r->layer, "event", r->event));
	}
	if (w->f != NULL) {
		json_dumpf(o, w->f, JSON_COMPACT | JSON_ENSURE_ASCII);
		fputc('\n', w->f);
	}
	json_decref(o);
}

unsigned
eve_writer_drain(struct eve_writer *w, struct rte_ring *const *rings,
                 unsigned n_rings)
{
	struct eve_record batch[16];
	unsigned total = 0;

	for (unsigned i = 0; i < n_rings; i++) {
		unsigned n;

		while ((n = rte_ring_sc_dequeue_burst_elem(rings[i], batch,
		                sizeof(batch[0]), RTE_DIM(batch), NULL)) > 0) {
			for (unsigned k = 0; k < n; k++)
				eve_write_record(w, &batch[k]);
			total += n;
		}
	}
	if (total > 0 && w->f != NULL)
		fflush(w->f);
	return total;
}

void
eve_writer_close(struct eve_writer *w)
{
	if (w == NULL)
		return;
	if (w->f != NULL)
		fclose(w->f);
	free(w);
}

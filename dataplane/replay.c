/*
 * replay.c - split a capture over workers and merge their outputs
 * (see replay.h).  Classic pcap only (the format net_pcap reads and
 * writes); pcapng is refused with a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "flow.h"
#include "replay.h"

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define REPLAY_MAX_FRAME 262144u

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec, ts_frac, caplen, len;
};

struct replay_reader {
	FILE *f;
	const char *path;
	struct pcap_file_hdr hdr;
	struct pcap_rec_hdr rec;
	uint8_t *frame;
	int have;               /* rec/frame hold the next record */
};

static int
replay_open(struct replay_reader *r, const char *path, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->f = fopen(path, "rb");
	if (r->f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fread(&r->hdr, sizeof(r->hdr), 1, r->f) != 1 ||
	    (r->hdr.magic != PCAP_MAGIC_US && r->hdr.magic != PCAP_MAGIC_NS)) {
		snprintf(err, errlen, "%s: not a little-endian classic pcap file "
		         "(pcapng? convert with editcap -F pcap)", path);
		fclose(r->f);
		r->f = NULL;
		return -1;
	}
	r->frame = malloc(REPLAY_MAX_FRAME);
	if (r->frame == NULL) {
		snprintf(err, errlen, "out of memory");
		fclose(r->f);
		r->f = NULL;
		return -1;
	}
	return 0;
}

/* Read the next record into r.  Returns 1, 0 at end, -1 on a bad file. */
static int
replay_next(struct replay_reader *r, char *err, size_t errlen)
{
	r->have = 0;
	if (fread(&r->rec, sizeof(r->rec), 1, r->f) != 1)
		return 0;
	if (r->rec.caplen > REPLAY_MAX_FRAME ||
	    fread(r->frame, 1, r->rec.caplen, r->f) != r->rec.caplen) {
		snprintf(err, errlen, "%s: truncated or corrupt record", r->path);
		return -1;
	}
	r->have = 1;
	return 1;
}

static void
replay_close(struct replay_reader *r)
{
	if (r->f != NULL)
		fclose(r->f);
	free(r->frame);
	r->f = NULL;
	r->frame = NULL;
}

static int
replay_write_rec(FILE *f, const struct replay_reader *r)
{
	return fwrite(&r->rec, sizeof(r->rec), 1, f) == 1 &&
	       fwrite(r->frame, 1, r->rec.caplen, f) == r->rec.caplen ? 0 : -1;
}

/* Which worker a frame belongs to: the symmetric hash of its address
 * pair, as RSS gives on the live path.  Ports are left out because IP
 * fragments have none: a flow's fragments must reach the worker that
 * holds the flow.  Undecodable frames go anywhere; they are dropped. */
static unsigned
replay_worker_of(const uint8_t *frame, uint32_t len, unsigned n)
{
	static struct worker_stats scratch;     /* decode wants counters */
	struct pkt_meta pm;
	int frag = 0;

	memset(&pm, 0, sizeof(pm));
	if (decode_parse(frame, len, len, &pm, &frag, &scratch) != DECODE_OK)
		return 0;
	(void)frag;
	pm.sport = pm.dport = 0;
	/* A fixed key keeps benchmark splits the same from run to run; a
	 * capture is not an adversary that adapts to it. */
	return flow_symmetric_hash(&pm, 0) % n;
}

int
replay_count(const char *path, uint64_t *count, char *err, size_t errlen)
{
	struct replay_reader r;
	int more;

	*count = 0;
	if (replay_open(&r, path, err, errlen) != 0)
		return -1;
	while ((more = replay_next(&r, err, errlen)) == 1)
		(*count)++;
	replay_close(&r);
	return more < 0 ? -1 : 0;
}

int
replay_split(const char *in, unsigned n, const char *dir,
             char parts[][REPLAY_PATH_MAX], uint64_t *counts,
             char *err, size_t errlen)
{
	struct replay_reader r;
	FILE *out[64] = { 0 };
	int rc = -1, more;

	if (n == 0 || n > 64) {
		snprintf(err, errlen, "replay split: %u workers", n);
		return -1;
	}
	if (replay_open(&r, in, err, errlen) != 0)
		return -1;
	for (unsigned w = 0; w < n; w++) {
		counts[w] = 0;
		snprintf(parts[w], REPLAY_PATH_MAX, "%s/in.%u.pcap", dir, w);
		out[w] = fopen(parts[w], "wb");
		if (out[w] == NULL ||
		    fwrite(&r.hdr, sizeof(r.hdr), 1, out[w]) != 1) {
			snprintf(err, errlen, "%s: %s", parts[w], strerror(errno));
			goto done;
		}
	}
	while ((more = replay_next(&r, err, errlen)) == 1) {
		unsigned w = replay_worker_of(r.frame, r.rec.caplen, n);

		counts[w]++;
		if (replay_write_rec(out[w], &r) != 0) {
			snprintf(err, errlen, "%s: %s", parts[w], strerror(errno));
			goto done;
		}
	}
	rc = more < 0 ? -1 : 0;
done:
	for (unsigned w = 0; w < n; w++)
		if (out[w] != NULL && fclose(out[w]) != 0 && rc == 0) {
			snprintf(err, errlen, "%s: %s", parts[w], strerror(errno));
			rc = -1;
		}
	replay_close(&r);
	return rc;
}

static int
replay_earlier(const struct pcap_rec_hdr *a, const struct pcap_rec_hdr *b)
{
	return a->ts_sec < b->ts_sec ||
	       (a->ts_sec == b->ts_sec && a->ts_frac < b->ts_frac);
}

int
replay_merge(char parts[][REPLAY_PATH_MAX], unsigned n, const char *out,
             char *err, size_t errlen)
{
	struct replay_reader r[64];
	FILE *f = NULL;
	int rc = -1;
	unsigned opened = 0;

	if (n == 0 || n > 64)
		return -1;
	while (opened < n) {
		if (replay_open(&r[opened], parts[opened], err, errlen) != 0)
			goto done;
		if (replay_next(&r[opened++], err, errlen) < 0)
			goto done;
	}
	f = fopen(out, "wb");
	if (f == NULL || fwrite(&r[0].hdr, sizeof(r[0].hdr), 1, f) != 1) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		goto done;
	}
	for (;;) {
		int best = -1;

		for (unsigned i = 0; i < n; i++)
			if (r[i].have && (best < 0 ||
			    replay_earlier(&r[i].rec, &r[best].rec)))
				best = (int)i;
		if (best < 0)
			break;
		if (replay_write_rec(f, &r[best]) != 0) {
			snprintf(err, errlen, "%s: %s", out, strerror(errno));
			goto done;
		}
		if (replay_next(&r[best], err, errlen) < 0)
			goto done;
	}
	rc = 0;
done:
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "%s: %s", out, strerror(errno));
		rc = -1;
	}
	for (unsigned i = 0; i < opened; i++)
		replay_close(&r[i]);
	return rc;
}

/* ---- the plan ------------------------------------------------------------- */

int
replay_plan_create(struct replay_plan *p, const char *in, const char *write,
                   const char *write_reverse, unsigned n, int preload,
                   char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->n_workers = n;
	p->write = write;
	p->write_reverse = write_reverse;
	if (n == 0 || n > REPLAY_MAX_WORKERS) {
		snprintf(err, errlen, "replay: 1..%d workers", REPLAY_MAX_WORKERS);
		return -1;
	}
	if (strlen(in) >= REPLAY_PATH_MAX ||
	    (write && strlen(write) >= REPLAY_PATH_MAX) ||
	    (write_reverse && strlen(write_reverse) >= REPLAY_PATH_MAX)) {
		snprintf(err, errlen, "replay paths: at most %d bytes",
		         REPLAY_PATH_MAX - 1);
		return -1;
	}
	if (n == 1) {
		snprintf(p->in[0], REPLAY_PATH_MAX, "%s", in);
		snprintf(p->rev[0], REPLAY_PATH_MAX, "%s",
		         write_reverse ? write_reverse : "");
		snprintf(p->out[0], REPLAY_PATH_MAX, "%s", write ? write : "");
		if (preload && replay_count(in, &p->packets[0], err, errlen) != 0)
			return -1;
	} else {
		const char *tmp = getenv("TMPDIR");

		snprintf(p->dir, sizeof(p->dir), "%s/ips-replay-XXXXXX",
		         tmp ? tmp : "/tmp");
		if (mkdtemp(p->dir) == NULL) {
			snprintf(err, errlen, "%s: %s", p->dir, strerror(errno));
			p->dir[0] = '\0';
			return -1;
		}
		if (replay_split(in, n, p->dir, p->in, p->packets, err,
		                 errlen) != 0)
			return -1;
		for (unsigned w = 0; w < n; w++) {
			if (write != NULL)
				snprintf(p->out[w], REPLAY_PATH_MAX,
				         "%s/out.%u.pcap", p->dir, w);
			if (write_reverse != NULL)
				snprintf(p->rev[w], REPLAY_PATH_MAX,
				         "%s/rev.%u.pcap", p->dir, w);
		}
	}
	/* Nothing to write: net_pcap drops what it is given to send and
	 * net_null swallows it, so no file work enters the timed window. */
	for (unsigned w = 0; w < n; w++) {
		char tx[REPLAY_PATH_MAX + 16] = "";

		if (p->rev[w][0] != '\0')
			snprintf(tx, sizeof(tx), ",tx_pcap=%s", p->rev[w]);
		snprintf(p->devargs[2 * w], REPLAY_DEVARGS_MAX,
		         "net_pcap%u,rx_pcap=%s%s%s", 2 * w, p->in[w], tx,
		         preload ? ",infinite_rx=1" : "");
		if (p->out[w][0] != '\0')
			snprintf(p->devargs[2 * w + 1], REPLAY_DEVARGS_MAX,
			         "net_pcap%u,tx_pcap=%s", 2 * w + 1, p->out[w]);
		else
			snprintf(p->devargs[2 * w + 1], REPLAY_DEVARGS_MAX,
			         "net_null%u", w);
	}
	p->n_devargs = 2 * n;
	return 0;
}

int
replay_plan_finish(struct replay_plan *p, char *err, size_t errlen)
{
	int rc = 0;

	if (p->dir[0] == '\0')
		return 0;
	/* Split inputs go first, so they go even if a merge fails. */
	for (unsigned w = 0; w < p->n_workers; w++)
		unlink(p->in[w]);
	if (p->write != NULL &&
	    replay_merge(p->out, p->n_workers, p->write, err, errlen) != 0)
		rc = -1;
	if (rc == 0 && p->write_reverse != NULL &&
	    replay_merge(p->rev, p->n_workers, p->write_reverse, err,
	                 errlen) != 0)
		rc = -1;
	for (unsigned w = 0; w < p->n_workers; w++) {
		if (p->out[w][0] != '\0')
			unlink(p->out[w]);
		if (p->rev[w][0] != '\0')
			unlink(p->rev[w]);
	}
	rmdir(p->dir);
	return rc;
}

/*
 * http_inflate.c - the body decoder pool (see http_inflate.h).
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hold.h"
#include "http_inflate.h"
#include "http_resp.h"

/* zlib's inflate state (about 7 KiB) and its 32 KiB window, with room. */
#define HTTP_INFLATE_MEM (48u * 1024)
/* Decoded bytes handed out per inflate call. */
#define HTTP_INFLATE_CHUNK 16384
/* Coded bytes kept while nothing has decoded yet: a body that is not
 * coded fails within its first bytes (gzip's magic, zlib's header check)
 * and is then handed out whole from here.  A failure past them (a gzip
 * header with a long name, then junk) is a fault.  Decided by where in
 * the body zlib failed, never by how the body was cut. */
#define HTTP_INFLATE_PREFIX 64

struct http_decoder {
	z_stream z;
	uint8_t *mem;                   /* HTTP_INFLATE_MEM: zlib's only heap */
	uint32_t used;
	uint8_t coding;                 /* HTTP_RESP_CODING_GZIP / _DEFLATE */
	uint8_t live;                   /* inflateInit2 done, not ended */
	uint8_t produced;               /* a byte decoded */
	uint8_t raw;                    /* the rest is handed out as it is */
	uint32_t fed;                   /* coded bytes fed before this call */
	uint8_t pre[HTTP_INFLATE_PREFIX];   /* the first of them */
	struct hold_node hold;
	struct http_decoder **slot;     /* the holder's pointer to it */
	const void *owner;
	struct http_decoder *next_free;
};

struct http_decoders {
	struct http_decoder *all;
	struct http_decoder *free_list;
	uint8_t *mem;
	uint32_t n, in_use;
	uint32_t src_seed;              /* hold.h source buckets */
	uint64_t tick;
	struct hold_pool hold;
	struct worker_stats *ws;
	uint8_t out[HTTP_INFLATE_CHUNK];
};

struct http_decoders *
http_decoders_create(uint32_t n, uint32_t share_pct, struct worker_stats *ws)
{
	struct http_decoders *pd = calloc(1, sizeof(*pd));

	if (pd == NULL)
		return NULL;
	pd->all = calloc(n ? n : 1, sizeof(*pd->all));
	pd->mem = calloc(n ? n : 1, HTTP_INFLATE_MEM);
	if (pd->all == NULL || pd->mem == NULL) {
		http_decoders_free(pd);
		return NULL;
	}
	pd->n = n;
	pd->ws = ws;
	hold_pool_init(&pd->hold, n, share_pct);
	pd->src_seed = hold_seed(pd);
	for (uint32_t i = n; i-- > 0;) {
		pd->all[i].mem = pd->mem + (size_t)i * HTTP_INFLATE_MEM;
		pd->all[i].next_free = pd->free_list;
		pd->free_list = &pd->all[i];
	}
	return pd;
}

void
http_decoders_free(struct http_decoders *pd)
{
	if (pd == NULL)
		return;
	free(pd->mem);
	free(pd->all);
	free(pd);
}

uint32_t
http_decoders_in_use(const struct http_decoders *pd)
{
	return pd != NULL ? pd->in_use : 0;
}

/* zlib allocates only from the decoder's arena, all of it given back at
 * once when the decoder is. */
static voidpf
http_zalloc(voidpf opaque, uInt items, uInt size)
{
	struct http_decoder *d = opaque;
	size_t n = ((size_t)items * size + 15) & ~(size_t)15;
	void *p;

	if (n > HTTP_INFLATE_MEM - d->used)
		return Z_NULL;
	p = d->mem + d->used;
	d->used += (uint32_t)n;
	return p;
}

static void
http_zfree(voidpf opaque, voidpf p)
{
	(void)opaque, (void)p;
}

void
http_decoder_put(struct http_decoders *pd, struct http_decoder **slot)
{
	struct http_decoder *d = *slot;

	if (d == NULL)
		return;
	if (d->live)
		inflateEnd(&d->z);
	d->live = 0;
	d->used = 0;
	d->produced = d->raw = 0;
	d->fed = 0;
	hold_release(&pd->hold, &d->hold);
	d->slot = NULL;
	d->next_free = pd->free_list;
	pd->free_list = d;
	pd->in_use--;
	*slot = NULL;
}

struct http_decoder *
http_decoder_take(struct http_decoders *pd, struct http_decoder **slot,
                  unsigned coding, const void *owner,
                  const struct detect_tuple *t, struct detect_result *res)
{
	uint16_t src = hold_src_bucket(t->src, t->ip_version, pd->src_seed);
	struct hold_node *n = hold_victim(&pd->hold, src);
	struct http_decoder *d;

	if (n != NULL) {
		struct http_decoder *victim =
			hold_entry(n, struct http_decoder, hold);
		int share = hold_src_count(&pd->hold, src) >= pd->hold.share_max;

		if (detect_report_evicted(res, victim->owner, "http",
		                          share ? "decoder_share_evicted"
		                                : "decoder_evicted") == 0) {
			if (share)
				pd->ws->http_decoder_share_evicted++;
			else
				pd->ws->http_decoder_evicted++;
			http_decoder_put(pd, victim->slot);
		}
	}
	d = pd->free_list;
	if (d == NULL) {
		pd->ws->http_decoder_pool_full++;
		return NULL;
	}
	pd->free_list = d->next_free;
	pd->in_use++;
	d->live = d->produced = d->raw = 0;
	d->used = d->fed = 0;
	d->coding = (uint8_t)coding;
	d->owner = owner;
	d->slot = slot;
	*slot = d;
	hold_take(&pd->hold, &d->hold, src, ++pd->tick);
	return d;
}

/* The first coded byte says how: gzip, or deflate with the zlib wrapper
 * RFC 9110 names or (what servers and clients also send and accept) the
 * raw deflate stream, told apart by the zlib header's CM nibble. */
static int
http_decoder_init(struct http_decoder *d, uint8_t first)
{
	int bits = d->coding == HTTP_RESP_CODING_GZIP ? 15 + 16
	           : (first & 0x0f) == 8 && (first >> 4) <= 7 ? 15 : -15;

	memset(&d->z, 0, sizeof(d->z));
	d->z.zalloc = http_zalloc;
	d->z.zfree = http_zfree;
	d->z.opaque = d;
	if (inflateInit2(&d->z, bits) != Z_OK)
		return -1;
	d->live = 1;
	return 0;
}

/* From here on the body is handed out as it is. */
static int
http_decoder_raw(struct http_decoder *d, const uint8_t *p, uint32_t len,
                 http_decoded_fn out, void *arg)
{
	d->raw = 1;
	return len > 0 && out(arg, p, len) != 0;
}

/* The bytes do not decode.  Before anything did, and within the first
 * HTTP_INFLATE_PREFIX bytes, the body is not coded: it all goes out as it
 * is, the kept prefix first. */
static int
http_decoder_error(struct http_decoders *pd, struct http_decoder *d,
                   const uint8_t *p, uint32_t len, http_decoded_fn out,
                   void *arg)
{
	uint32_t at = d->fed + (len - d->z.avail_in);

	pd->ws->http_decode_error++;
	if (d->produced || at > HTTP_INFLATE_PREFIX)
		return -1;
	if (d->fed > 0 && http_decoder_raw(d, d->pre, d->fed, out, arg))
		return 1;
	return http_decoder_raw(d, p, len, out, arg);
}

/* Count these bytes fed, keeping them while within the prefix. */
static void
http_decoder_keep(struct http_decoder *d, const uint8_t *p, uint32_t len)
{
	if (d->fed < HTTP_INFLATE_PREFIX)
		memcpy(d->pre + d->fed, p,
		       len < HTTP_INFLATE_PREFIX - d->fed
		       ? len : HTTP_INFLATE_PREFIX - d->fed);
	d->fed = len > UINT32_MAX - d->fed ? UINT32_MAX : d->fed + len;
}

int
http_decoder_data(struct http_decoders *pd, struct http_decoder *d,
                  const uint8_t *p, uint32_t len, http_decoded_fn out,
                  void *arg)
{
	if (len == 0)
		return 0;
	hold_progress(&pd->hold, &d->hold, ++pd->tick);
	if (d->raw)
		return http_decoder_raw(d, p, len, out, arg);
	if (!d->live && http_decoder_init(d, p[0]) < 0) {
		pd->ws->http_decode_error++;
		return -1;
	}
	d->z.next_in = (Bytef *)(uintptr_t)p;
	d->z.avail_in = len;
	while (d->z.avail_in > 0) {
		uint32_t n;
		int rc;

		d->z.next_out = pd->out;
		d->z.avail_out = sizeof(pd->out);
		rc = inflate(&d->z, Z_NO_FLUSH);
		n = (uint32_t)(sizeof(pd->out) - d->z.avail_out);
		d->produced |= n > 0;
		if (n > 0 && out(arg, pd->out, n) != 0)
			return 1;
		if (rc == Z_STREAM_END)     /* what follows is not coded */
			return http_decoder_raw(d, d->z.next_in, d->z.avail_in,
			                        out, arg);
		if (rc != Z_OK)
			return http_decoder_error(pd, d, p, len, out, arg);
	}
	http_decoder_keep(d, p, len);
	return 0;
}

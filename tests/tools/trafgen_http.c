/*
 * trafgen_http.c - HTTP/1.1 content for ips-trafgen: the shared body pools,
 * the message piece list, and the request/response builders (browser and
 * API clients, form/JSON/chunked POSTs, HTML/JSON/image responses).
 *
 * Sizes follow heavy tails (tg_heavy) because web object sizes do; large
 * bodies are windows into pools so generating 1 GB stays memcpy-bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trafgen.h"

#define TG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Pools are rings; a window starts anywhere and may wrap. */
#define TG_POOL_TEXT_BYTES (1u << 20)
#define TG_POOL_BIN_BYTES  (1u << 20)
/* Fixed-width JSON records: a body of k whole records plus a fixed prefix
 * and suffix is valid JSON whatever record it starts at. */
#define TG_JSON_REC_BYTES  160u
#define TG_JSON_RECS       8192u
#define TG_POOL_JSON_BYTES (TG_JSON_REC_BYTES * TG_JSON_RECS)

/* Bodies up to this size are written inline (real fields); larger ones are
 * a pool window between an inline prefix and suffix. */
#define TG_INLINE_BODY_MAX 1800u
/* Longest field an inline body builder may add past its target. */
#define TG_INLINE_SLACK    128u

static uint8_t tg_pool_html[TG_POOL_TEXT_BYTES];  /* HTML, also CSS/JS text */
static uint8_t tg_pool_b64[TG_POOL_TEXT_BYTES];   /* base64url, form-safe */
static uint8_t tg_pool_bin[TG_POOL_BIN_BYTES];    /* image payload */
static uint8_t tg_pool_json[TG_POOL_JSON_BYTES];

static const char *const tg_words[] = {
	"account", "alpha", "archive", "article", "basket", "blue", "bridge",
	"cable", "camera", "cart", "city", "cloud", "coffee", "daily",
	"delta", "design", "river", "engine", "event", "field", "forest",
	"garden", "green", "guide", "harbor", "house", "index", "island",
	"jacket", "kitchen", "lamp", "leaf", "market", "metal", "mountain",
	"news", "north", "office", "orange", "paper", "photo", "planet",
	"report", "review", "rocket", "sale", "school", "shadow", "silver",
	"solar", "spring", "station", "stone", "summer", "table", "travel",
	"update", "valley", "video", "water", "winter", "world", "yellow",
	"zone",
};

static const char *const tg_hosts[] = {
	"www.example.com", "shop.example.org", "api.example.net",
	"static.example.com", "blog.example.org", "portal.example.net",
	"news.example.com", "accounts.example.org",
};

static const char *const tg_browser_ua[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
	"Firefox/121.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
	"(KHTML, like Gecko) Version/17.2 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	"(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) "
	"AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 "
	"Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
	"(KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
};

static const char *const tg_api_ua[] = {
	"python-requests/2.31.0", "okhttp/4.12.0", "curl/8.5.0",
	"Go-http-client/1.1", "axios/1.6.2",
};

static const char *const tg_langs[] = {
	"en-US,en;q=0.9", "en-GB,en;q=0.8", "de-DE,de;q=0.9,en;q=0.7",
	"fr-FR,fr;q=0.9,en-US;q=0.6", "es-ES,es;q=0.9", "ja,en-US;q=0.7",
};

static const char *const tg_servers[] = {
	"nginx/1.24.0", "Apache/2.4.58 (Debian)", "nginx", "gunicorn",
};

static const char *const tg_api_paths[] = {
	"/api/v1/users?id=%u&page=%u",
	"/api/v1/orders?status=shipped&limit=%u&offset=%u",
	"/api/v2/products/search?q=%s+%s&sort=price_asc&page=%u",
	"/api/v1/users/%u/profile",
	"/api/v1/metrics?from=%u&to=%u&step=60",
	"/api/v1/cart/items?session=%s&currency=EUR",
};

/* ---- distributions ---------------------------------------------------- */

uint64_t
tg_heavy(struct tg_rng *r, uint64_t xmin, double grow, uint64_t cap)
{
	uint64_t lo = xmin ? xmin : 1;
	uint64_t v;

	while (lo < cap / 2 && tg_rng_chance(r, grow))
		lo <<= 1;
	v = lo + tg_rng_next(r) % lo;
	return v > cap ? cap : v;
}

static const char *
tg_word(struct tg_rng *r)
{
	return tg_words[tg_rng_below(r, TG_ARRAY_LEN(tg_words))];
}

/* ---- messages --------------------------------------------------------- */

void
tg_msg_reset(struct tg_msg *m)
{
	m->npieces = 0;
	m->cur = 0;
	m->cur_off = 0;
	m->total = 0;
	m->sent = 0;
}

static void
tg_fatal(const char *what)
{
	fprintf(stderr, "ips-trafgen: internal error: %s\n", what);
	exit(3);
}

void
tg_msg_add(struct tg_msg *m, const uint8_t *base, uint64_t off, uint64_t len,
	   uint64_t wrap)
{
	struct tg_piece *last = m->npieces ? &m->piece[m->npieces - 1] : NULL;

	if (len == 0)
		return;
	/* Adjacent arena text merges so framing does not eat pieces. */
	if (last && !wrap && !last->wrap && last->base == base &&
	    last->off + last->len == off) {
		last->len += len;
		m->total += len;
		return;
	}
	if (m->npieces == TG_MSG_PIECES)
		tg_fatal("message piece list full");
	m->piece[m->npieces++] = (struct tg_piece){ base, off, len, wrap };
	m->total += len;
}

static void
tg_msg_vprintf(struct tg_msg *m, const char *fmt, va_list ap)
{
	struct tg_arena *a = m->arena;
	size_t room = TG_ARENA_BYTES - a->used;
	int n = vsnprintf((char *)a->bytes + a->used, room, fmt, ap);

	if (n < 0 || (size_t)n >= room)
		tg_fatal("message arena full");
	tg_msg_add(m, a->bytes, a->used, (uint64_t)n, 0);
	a->used += (size_t)n;
}

void
tg_msg_printf(struct tg_msg *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tg_msg_vprintf(m, fmt, ap);
	va_end(ap);
}

void
tg_msg_rebase(struct tg_msg *m, const struct tg_arena *from,
	      struct tg_arena *to)
{
	for (unsigned i = 0; i < m->npieces; i++)
		if (m->piece[i].base == from->bytes)
			m->piece[i].base = to->bytes;
	m->arena = to;
}

void
tg_msg_read(struct tg_msg *m, uint8_t *dst, uint64_t n)
{
	while (n) {
		const struct tg_piece *p = &m->piece[m->cur];
		uint64_t pos = p->off + m->cur_off;
		uint64_t take = p->len - m->cur_off;

		if (p->wrap) {
			pos %= p->wrap;
			if (take > p->wrap - pos)
				take = p->wrap - pos;
		}
		if (take > n)
			take = n;
		memcpy(dst, p->base + pos, take);
		dst += take;
		n -= take;
		m->sent += take;
		m->cur_off += take;
		if (m->cur_off == p->len) {
			m->cur++;
			m->cur_off = 0;
		}
	}
}

/* Appends the next n bytes of src's pieces (from the cursor idx, off) to dst as
 * windows over the same memory: chunk framing splits a body this way. */
static void
tg_msg_splice(struct tg_msg *dst, const struct tg_msg *src, unsigned *idx,
	      uint64_t *off, uint64_t n)
{
	while (n) {
		const struct tg_piece *p = &src->piece[*idx];
		uint64_t take = p->len - *off;

		if (take > n)
			take = n;
		tg_msg_add(dst, p->base, p->wrap ? (p->off + *off) % p->wrap :
			   p->off + *off, take, p->wrap);
		n -= take;
		*off += take;
		if (*off == p->len) {
			(*idx)++;
			*off = 0;
		}
	}
}

/* ---- pools ------------------------------------------------------------ */

static void
tg_pool_fill_text(uint8_t *pool, size_t size, struct tg_rng *r,
		  void (*unit)(char *, size_t, struct tg_rng *))
{
	char buf[512];
	size_t at = 0;

	while (at < size) {
		size_t n;

		unit(buf, sizeof(buf), r);
		n = strlen(buf);
		if (n > size - at)
			n = size - at;
		memcpy(pool + at, buf, n);
		at += n;
	}
}

static void
tg_unit_html(char *buf, size_t size, struct tg_rng *r)
{
	snprintf(buf, size,
		 "<div class=\"card %s\"><h2>%s %s</h2><p>The %s %s near the "
		 "%s %s, %s and %s.</p><a href=\"/%s/%s-%u\">%s</a></div>\n",
		 tg_word(r), tg_word(r), tg_word(r), tg_word(r), tg_word(r),
		 tg_word(r), tg_word(r), tg_word(r), tg_word(r), tg_word(r),
		 tg_word(r), tg_rng_below(r, 100000), tg_word(r));
}

static void
tg_unit_b64(char *buf, size_t size, struct tg_rng *r)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i + 1 < size && i < 256; i++)
		buf[i] = abc[tg_rng_below(r, 64)];
	buf[i] = '\0';
}

static void
tg_pool_fill_json(struct tg_rng *r)
{
	for (unsigned i = 0; i < TG_JSON_RECS; i++) {
		char *rec = (char *)tg_pool_json + (size_t)i * TG_JSON_REC_BYTES;
		char tmp[TG_JSON_REC_BYTES * 2];
		int n = snprintf(tmp, sizeof(tmp),
			"{\"id\":%u,\"name\":\"%s %s\",\"email\":\"%s.%u@"
			"example.com\",\"score\":%u.%u,\"tags\":[\"%s\",\"%s\"]",
			tg_rng_below(r, 10000000), tg_word(r), tg_word(r),
			tg_word(r), tg_rng_below(r, 1000),
			tg_rng_below(r, 100), tg_rng_below(r, 10),
			tg_word(r), tg_word(r));

		/* Pad inside the object so every record is the same width. */
		if (n < 0 || (size_t)n > TG_JSON_REC_BYTES - 3)
			tg_fatal("json record too wide");
		memcpy(rec, tmp, (size_t)n);
		memset(rec + n, ' ', TG_JSON_REC_BYTES - 3 - (size_t)n);
		memcpy(rec + TG_JSON_REC_BYTES - 3, "},\n", 3);
	}
}

void
tg_http_init(uint64_t seed)
{
	struct tg_rng r;

	tg_rng_seed(&r, seed ^ 0x706f6f6c73ULL);
	tg_pool_fill_text(tg_pool_html, sizeof(tg_pool_html), &r,
			  tg_unit_html);
	tg_pool_fill_text(tg_pool_b64, sizeof(tg_pool_b64), &r, tg_unit_b64);
	for (size_t i = 0; i < sizeof(tg_pool_bin); i += 8) {
		uint64_t v = tg_rng_next(&r);

		memcpy(tg_pool_bin + i, &v, 8);
	}
	tg_pool_fill_json(&r);
}

/* A pool window of len bytes at a random start. */
static void
tg_add_pool(struct tg_msg *m, struct tg_rng *r, const uint8_t *pool,
	    uint64_t size, uint64_t len)
{
	tg_msg_add(m, pool, tg_rng_next(r) % size, len, size);
}

/* k whole JSON records starting at a record boundary. */
static void
tg_add_json_records(struct tg_msg *m, struct tg_rng *r, uint64_t k)
{
	uint64_t start = (uint64_t)tg_rng_below(r, TG_JSON_RECS) *
			 TG_JSON_REC_BYTES;

	tg_msg_add(m, tg_pool_json, start, k * TG_JSON_REC_BYTES,
		   TG_POOL_JSON_BYTES);
}

/* ---- clients ---------------------------------------------------------- */

void
tg_http_client_init(struct tg_client *c, struct tg_rng *r, bool api_profile)
{
	memset(c, 0, sizeof(*c));
	c->api_profile = api_profile;
	c->api_client = api_profile || tg_rng_chance(r, 0.3);
	c->port8080 = tg_rng_chance(r, 0.2);
	c->host = (uint8_t)tg_rng_below(r, TG_ARRAY_LEN(tg_hosts));
	c->ua = (uint8_t)tg_rng_below(r, c->api_client ?
				      TG_ARRAY_LEN(tg_api_ua) :
				      TG_ARRAY_LEN(tg_browser_ua));
	c->lang = (uint8_t)tg_rng_below(r, TG_ARRAY_LEN(tg_langs));
	c->server_kind = (uint8_t)tg_rng_below(r, TG_ARRAY_LEN(tg_servers));
	c->session[0] = tg_rng_next(r);
	c->session[1] = tg_rng_next(r);
	c->csrf = tg_rng_next(r);
}

static enum tg_req_kind
tg_pick_kind(const struct tg_client *c, struct tg_rng *r)
{
	uint32_t x = tg_rng_below(r, 100);

	if (c->api_client)
		return x < (c->api_profile ? 50u : 70u) ? TG_REQ_API_GET :
		       TG_REQ_POST_JSON;
	if (c->nreq == 0 || x < 25)
		return TG_REQ_PAGE;
	if (x < 40)
		return TG_REQ_CSS;
	if (x < 55)
		return TG_REQ_JS;
	if (x < 78)
		return TG_REQ_IMAGE;
	if (x < 88)
		return TG_REQ_API_GET;
	return x < 95 ? TG_REQ_POST_FORM : TG_REQ_POST_JSON;
}

static void
tg_make_path(char *buf, size_t size, enum tg_req_kind kind,
	     struct tg_rng *r)
{
	uint32_t a = tg_rng_below(r, 100000), b = 1 + tg_rng_below(r, 40);

	switch (kind) {
	case TG_REQ_PAGE:
		if (tg_rng_chance(r, 0.15))
			snprintf(buf, size, "/");
		else if (tg_rng_chance(r, 0.3))
			snprintf(buf, size, "/search?q=%s+%s&page=%u",
				 tg_word(r), tg_word(r), b);
		else
			snprintf(buf, size, "/%s/%s-%s-%u.html", tg_word(r),
				 tg_word(r), tg_word(r), a);
		break;
	case TG_REQ_CSS:
		snprintf(buf, size, "/static/css/%s.%08x.css", tg_word(r),
			 (unsigned)tg_rng_next(r));
		break;
	case TG_REQ_JS:
		snprintf(buf, size, "/static/js/%s.%08x.js", tg_word(r),
			 (unsigned)tg_rng_next(r));
		break;
	case TG_REQ_IMAGE:
		snprintf(buf, size, "/images/%s/%s_%u.%s", tg_word(r),
			 tg_word(r), a, tg_rng_chance(r, 0.6) ? "jpg" : "png");
		break;
	case TG_REQ_API_GET: {
		unsigned t = tg_rng_below(r, TG_ARRAY_LEN(tg_api_paths));
		char sess[17];

		snprintf(sess, sizeof(sess), "%016llx",
			 (unsigned long long)tg_rng_next(r));
		/* Every template takes its arguments from this fixed set. */
		switch (t) {
		case 2:
			snprintf(buf, size, tg_api_paths[t], tg_word(r),
				 tg_word(r), b);
			break;
		case 5:
			snprintf(buf, size, tg_api_paths[t], sess);
			break;
		case 3:
			snprintf(buf, size, tg_api_paths[t], a);
			break;
		case 4:
			snprintf(buf, size, tg_api_paths[t],
				 1700000000u + a, 1700003600u + a);
			break;
		default:
			snprintf(buf, size, tg_api_paths[t], a, b);
			break;
		}
		break;
	}
	case TG_REQ_POST_FORM: {
		static const char *const p[] = {
			"/login", "/account/settings", "/comments", "/checkout",
			"/contact",
		};
		snprintf(buf, size, "%s", p[tg_rng_below(r, 5)]);
		break;
	}
	case TG_REQ_POST_JSON:
	case TG_REQ_ATTACK: {
		static const char *const p[] = {
			"/api/v1/orders", "/api/v1/events", "/api/v1/upload",
			"/api/v2/graphql", "/api/v1/users",
		};
		snprintf(buf, size, "%s", p[tg_rng_below(r, 5)]);
		break;
	}
	}
}

/* ---- bodies ----------------------------------------------------------- */

/* Request body length: mostly tens to hundreds of bytes, one in ten an
 * upload whose size runs to megabytes (Pareto-like, alpha ~0.7). */
static uint64_t
tg_req_body_len(struct tg_rng *r, uint64_t max_body)
{
	uint64_t len;

	if (tg_rng_chance(r, 0.9))
		len = tg_heavy(r, 24, 0.5, 4096);
	else
		len = tg_heavy(r, 4096, 0.6, UINT64_MAX / 4);
	if (len > max_body)
		len = max_body;
	return len;
}

/* Small form body built from real-looking fields, about target bytes. */
static void
tg_body_form_small(struct tg_msg *b, const struct tg_client *c,
		   struct tg_rng *r, uint64_t target)
{
	tg_msg_printf(b, "csrf_token=%016llx", (unsigned long long)c->csrf);
	while (b->total < target) {
		switch (tg_rng_below(r, 4)) {
		case 0:
			tg_msg_printf(b, "&username=%s%u", tg_word(r),
				      tg_rng_below(r, 1000));
			break;
		case 1:
			tg_msg_printf(b, "&email=%s.%s%%40example.com",
				      tg_word(r), tg_word(r));
			break;
		case 2:
			tg_msg_printf(b, "&comment=%s+%s+%s+%s", tg_word(r),
				      tg_word(r), tg_word(r), tg_word(r));
			break;
		default:
			tg_msg_printf(b, "&qty=%u&item=%s-%u",
				      1 + tg_rng_below(r, 9), tg_word(r),
				      tg_rng_below(r, 10000));
			break;
		}
	}
}

static void
tg_body_json_small(struct tg_msg *b, struct tg_rng *r, uint64_t target)
{
	tg_msg_printf(b, "{\"request_id\":\"%016llx\",\"items\":[",
		      (unsigned long long)tg_rng_next(r));
	do {
		tg_msg_printf(b, "{\"sku\":\"%s-%u\",\"qty\":%u,\"note\":"
			      "\"%s %s\"},", tg_word(r),
			      tg_rng_below(r, 100000), 1 + tg_rng_below(r, 9),
			      tg_word(r), tg_word(r));
	} while (b->total + 24 < target);
	tg_msg_printf(b, "{\"end\":true}]}");
}

/* Body of a benign request into b (pieces only; the head comes later). */
static void
tg_req_body(struct tg_msg *b, const struct tg_client *c, struct tg_rng *r,
	    enum tg_req_kind kind, uint64_t max_body)
{
	uint64_t len = tg_req_body_len(r, max_body);
	/* Inline builders overshoot their target by at most one field. */
	uint64_t small = len + TG_INLINE_SLACK > max_body ?
			 max_body - TG_INLINE_SLACK : len;

	if (kind == TG_REQ_POST_FORM) {
		if (len <= TG_INLINE_BODY_MAX) {
			tg_body_form_small(b, c, r, small);
			return;
		}
		tg_msg_printf(b, "csrf_token=%016llx&attachment=",
			      (unsigned long long)c->csrf);
		tg_add_pool(b, r, tg_pool_b64, sizeof(tg_pool_b64),
			    len - b->total);
		return;
	}
	if (len <= TG_INLINE_BODY_MAX) {
		tg_body_json_small(b, r, small);
		return;
	}
	tg_msg_printf(b, "{\"batch\":[\n");
	tg_add_json_records(b, r, (len - 28) / TG_JSON_REC_BYTES);
	tg_msg_printf(b, "{\"end\":true}]}");
}

/* ---- requests --------------------------------------------------------- */

static void
tg_req_common_headers(struct tg_msg *m, const struct tg_client *c,
		      const char *accept)
{
	tg_msg_printf(m, "Host: %s%s\r\n", tg_hosts[c->host],
		      c->port8080 ? ":8080" : "");
	if (c->api_client) {
		tg_msg_printf(m, "User-Agent: %s\r\nAccept: %s\r\n"
			      "Authorization: Bearer %016llx%016llx\r\n",
			      tg_api_ua[c->ua], accept,
			      (unsigned long long)c->session[0],
			      (unsigned long long)c->session[1]);
		return;
	}
	tg_msg_printf(m, "Connection: keep-alive\r\nUser-Agent: %s\r\n"
		      "Accept: %s\r\n", tg_browser_ua[c->ua], accept);
	if (c->nreq > 0)
		tg_msg_printf(m, "Referer: http://%s%s%s\r\n",
			      tg_hosts[c->host], c->port8080 ? ":8080" : "",
			      c->last_path);
	tg_msg_printf(m, "Accept-Encoding: gzip, deflate\r\n"
		      "Accept-Language: %s\r\n"
		      "Cookie: sessionid=%016llx%016llx; csrftoken=%016llx; "
		      "_ga=GA1.2.%u.%u\r\n",
		      tg_langs[c->lang], (unsigned long long)c->session[0],
		      (unsigned long long)c->session[1],
		      (unsigned long long)c->csrf,
		      (unsigned)(c->session[0] >> 40),
		      1700000000u + (unsigned)(c->session[1] >> 44));
}

static const char *
tg_accept_for(enum tg_req_kind kind)
{
	switch (kind) {
	case TG_REQ_PAGE:
	case TG_REQ_POST_FORM:
		return "text/html,application/xhtml+xml,application/xml;"
		       "q=0.9,image/avif,image/webp,*/*;q=0.8";
	case TG_REQ_CSS:
		return "text/css,*/*;q=0.1";
	case TG_REQ_IMAGE:
		return "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
	case TG_REQ_API_GET:
	case TG_REQ_POST_JSON:
		return "application/json, text/plain, */*";
	default:
		return "*/*";
	}
}

/* Writes the framed body: Content-Length or several chunks. */
static void
tg_req_frame_body(struct tg_msg *m, const struct tg_msg *body, bool chunked,
		  struct tg_rng *r)
{
	unsigned idx = 0;
	uint64_t off = 0, left = body->total;

	if (!chunked) {
		tg_msg_printf(m, "Content-Length: %llu\r\n\r\n",
			      (unsigned long long)left);
		tg_msg_splice(m, body, &idx, &off, left);
		return;
	}
	tg_msg_printf(m, "Transfer-Encoding: chunked\r\n\r\n");
	for (unsigned n = 2 + tg_rng_below(r, 7); left; n--) {
		uint64_t sz = n <= 1 ? left : 1 + tg_rng_next(r) % left;

		tg_msg_printf(m, "%llx\r\n", (unsigned long long)sz);
		tg_msg_splice(m, body, &idx, &off, sz);
		tg_msg_printf(m, "\r\n");
		left -= sz;
	}
	tg_msg_printf(m, "0\r\n\r\n");
}

void
tg_http_request(struct tg_msg *m, struct tg_req_info *info,
		struct tg_client *c, struct tg_rng *r, uint64_t max_body)
{
	/* The body is built first, into its own piece list sharing m's arena,
	 * because the head needs its length.  Static: only its pieces are
	 * used, and they are copied into m before this returns. */
	static struct tg_msg body;
	enum tg_req_kind kind = tg_pick_kind(c, r);
	char path[sizeof(c->last_path)];
	bool post = kind == TG_REQ_POST_FORM || kind == TG_REQ_POST_JSON;

	tg_msg_reset(m);
	m->arena->used = 0;
	memset(info, 0, sizeof(*info));
	info->kind = kind;
	tg_make_path(path, sizeof(path), kind, r);
	tg_msg_printf(m, "%s %s HTTP/1.1\r\n", post ? "POST" : "GET", path);
	tg_req_common_headers(m, c, tg_accept_for(kind));
	if (kind == TG_REQ_API_GET && !c->api_client)
		tg_msg_printf(m, "X-Requested-With: XMLHttpRequest\r\n");
	if ((kind == TG_REQ_CSS || kind == TG_REQ_JS ||
	     kind == TG_REQ_IMAGE) && tg_rng_chance(r, 0.2)) {
		info->conditional = true;
		tg_msg_printf(m, "If-None-Match: \"%08x-%04x\"\r\n",
			      (unsigned)tg_rng_next(r),
			      tg_rng_below(r, 65536));
	}
	if (post) {
		/* Body text goes to m's arena after the head written so far:
		 * the static list only lends its pieces until spliced. */
		tg_msg_reset(&body);
		body.arena = m->arena;
		tg_msg_printf(m, "Origin: http://%s\r\nContent-Type: %s\r\n",
			      tg_hosts[c->host], kind == TG_REQ_POST_FORM ?
			      "application/x-www-form-urlencoded" :
			      "application/json");
		tg_req_body(&body, c, r, kind, max_body);
		info->chunked = tg_rng_chance(r, 0.3);
		info->body_len = body.total;
		tg_req_frame_body(m, &body, info->chunked, r);
	} else {
		tg_msg_printf(m, "\r\n");
	}
	if (kind != TG_REQ_IMAGE && kind != TG_REQ_CSS && kind != TG_REQ_JS)
		memcpy(c->last_path, path, sizeof(path));
	c->nreq++;
}

/* ---- responses -------------------------------------------------------- */

static void
tg_resp_head(struct tg_msg *m, const struct tg_client *c, int64_t now_s,
	     const char *status, const char *ctype, uint64_t len)
{
	time_t t = (time_t)now_s;
	struct tm tm;
	char date[64];

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	tg_msg_printf(m, "HTTP/1.1 %s\r\nDate: %s\r\nServer: %s\r\n", status,
		      date, tg_servers[c->server_kind]);
	if (ctype)
		tg_msg_printf(m, "Content-Type: %s\r\nContent-Length: %llu\r\n",
			      ctype, (unsigned long long)len);
	tg_msg_printf(m, "Connection: keep-alive\r\n");
}

/* Body of a text response: inline head, a pool window, inline tail. */
static uint64_t
tg_resp_html(struct tg_msg *b, struct tg_rng *r, uint64_t len)
{
	tg_msg_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
		      "charset=\"utf-8\"><title>%s %s</title><link rel=\""
		      "stylesheet\" href=\"/static/css/main.css\"></head>"
		      "<body>\n", tg_word(r), tg_word(r));
	if (len > b->total + 16)
		tg_add_pool(b, r, tg_pool_html, sizeof(tg_pool_html),
			    len - b->total - 16);
	tg_msg_printf(b, "</body></html>\n");
	return b->total;
}

static uint64_t
tg_resp_json(struct tg_msg *b, struct tg_rng *r, uint64_t len)
{
	tg_msg_printf(b, "{\"page\":%u,\"per_page\":20,\"total\":%u,"
		      "\"data\":[\n", 1 + tg_rng_below(r, 50),
		      tg_rng_below(r, 100000));
	tg_add_json_records(b, r, len / TG_JSON_REC_BYTES);
	tg_msg_printf(b, "{\"end\":true}]}");
	return b->total;
}

static uint64_t
tg_resp_image(struct tg_msg *b, struct tg_rng *r, uint64_t len, bool png)
{
	static const uint8_t jpg_magic[] = "\xff\xd8\xff\xe0\x00\x10JFIF\x00";
	static const uint8_t png_magic[] = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR";

	if (png)
		tg_msg_add(b, png_magic, 0, sizeof(png_magic) - 1, 0);
	else
		tg_msg_add(b, jpg_magic, 0, sizeof(jpg_magic) - 1, 0);
	tg_add_pool(b, r, tg_pool_bin, sizeof(tg_pool_bin), len);
	return b->total;
}

void
tg_http_response(struct tg_msg *m, const struct tg_req_info *info,
		 struct tg_client *c, struct tg_rng *r, int64_t now_s)
{
	static struct tg_msg body;
	const char *ctype = "text/html; charset=utf-8";
	const char *status = "200 OK";
	unsigned idx = 0;
	uint64_t off = 0;
	bool png = tg_rng_chance(r, 0.4);

	tg_msg_reset(m);
	m->arena->used = 0;
	tg_msg_reset(&body);
	body.arena = m->arena;
	if (info->conditional && tg_rng_chance(r, 0.5)) {
		tg_resp_head(m, c, now_s, "304 Not Modified", NULL, 0);
		tg_msg_printf(m, "ETag: \"%08x\"\r\n\r\n",
			      (unsigned)tg_rng_next(r));
		return;
	}
	/* Body text shares m's arena; the head is written after it. */
	if (tg_rng_chance(r, 0.02) && info->kind != TG_REQ_ATTACK) {
		status = "404 Not Found";
		tg_resp_html(&body, r, 0);
	} else if (info->kind == TG_REQ_ATTACK) {
		status = "400 Bad Request";
		tg_resp_html(&body, r, 0);
	} else {
		switch (info->kind) {
		case TG_REQ_PAGE:
		case TG_REQ_POST_FORM:
			tg_resp_html(&body, r, tg_heavy(r, 2048, 0.5, 524288));
			break;
		case TG_REQ_CSS:
		case TG_REQ_JS:
			ctype = info->kind == TG_REQ_CSS ? "text/css" :
				"application/javascript";
			tg_add_pool(&body, r, tg_pool_html,
				    sizeof(tg_pool_html),
				    tg_heavy(r, 1024, 0.55, 524288));
			break;
		case TG_REQ_IMAGE:
			ctype = png ? "image/png" : "image/jpeg";
			tg_resp_image(&body, r, tg_heavy(r, 2048, 0.55, 1048576),
				      png);
			break;
		default:
			ctype = "application/json";
			if (info->kind == TG_REQ_POST_JSON)
				status = "201 Created";
			tg_resp_json(&body, r, c->api_profile ?
				     tg_heavy(r, 48, 0.5, 2048) :
				     tg_heavy(r, 160, 0.5, 262144));
			break;
		}
	}
	tg_resp_head(m, c, now_s, status, ctype, body.total);
	if (c->nreq == 1 && !c->api_client)
		tg_msg_printf(m, "Set-Cookie: sessionid=%016llx%016llx; Path=/;"
			      " HttpOnly; SameSite=Lax\r\n",
			      (unsigned long long)c->session[0],
			      (unsigned long long)c->session[1]);
	tg_msg_printf(m, "Cache-Control: %s\r\n\r\n",
		      info->kind == TG_REQ_PAGE ? "no-cache" :
		      "public, max-age=3600");
	tg_msg_splice(m, &body, &idx, &off, body.total);
}

/*
 * test_xbits.c - xbits.c: Suricata's set/unset/toggle/expiry semantics
 * across workers' tables, eviction of the record that matters least,
 * and reads that never see half a record: one interposed write
 * (deterministic, through xbits.c's read hook) and a racing writer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ips/rules.h"

/* xbits.c itself, with a write interposed between a reader's loads of
 * one record's times and of its key when the test arms it. */
static void test_read_hook(const void *r);
#define XBITS_READ_HOOK(r) test_read_hook(r)
#include "xbits.c"

static const struct xbits_record *hook_target;
static struct xbits_record hook_value;
static int hook_armed, hook_fired;

static void
test_read_hook(const void *r)
{
	if (hook_armed && r == hook_target) {
		hook_armed = 0;
		hook_fired = 1;
		xbits_write((struct xbits_record *)hook_target, &hook_value);
	}
}

static const uint8_t host_a[16] = { 192, 0, 2, 1 };
static const uint8_t host_b[16] = { 192, 0, 2, 2 };

static struct xbits_key
key_of(const char *name, const uint8_t *addr)
{
	struct xbits_key k;

	xbits_key_host(&k, ips_xbit_id(name, IPS_XBIT_IP_SRC), addr, 4);
	return k;
}

/* A bit one worker sets holds for every worker, for that host only, and
 * until the end of its expiry's second. */
static void
test_set_seen_by_all(void **state)
{
	struct xbits *x = xbits_create(2, 64, 7);
	struct xbits_key a = key_of("ET.x", host_a), b = key_of("ET.x", host_b);
	struct xbits_key v6;
	uint64_t evicted = 0;

	(void)state;
	assert_non_null(x);
	xbits_key_host(&v6, ips_xbit_id("ET.x", IPS_XBIT_IP_SRC), host_a, 6);
	assert_int_equal(xbits_isset(x, &a, 100), 0);
	assert_int_equal(xbits_act(x, 1, &a, IPS_FB_SET, 100, 10, &evicted), 0);
	assert_int_equal(xbits_isset(x, &a, 100), 1);
	assert_int_equal(xbits_isset(x, &a, 110), 1);
	assert_int_equal(xbits_isset(x, &a, 111), 0);
	assert_int_equal(xbits_isset(x, &b, 100), 0);
	assert_int_equal(xbits_isset(x, &v6, 100), 0);
	assert_int_equal(evicted, 0);
	xbits_free(x);
}

/* Suricata's HostBitSet does not touch a bit already set: the first
 * expiry stands.  An expired bit is absent, so a set starts it anew. */
static void
test_set_keeps_first_expiry(void **state)
{
	struct xbits *x = xbits_create(2, 64, 7);
	struct xbits_key a = key_of("ET.x", host_a);
	uint64_t evicted = 0;

	(void)state;
	xbits_act(x, 0, &a, IPS_FB_SET, 100, 10, &evicted);
	xbits_act(x, 1, &a, IPS_FB_SET, 105, 10, &evicted);
	assert_int_equal(xbits_isset(x, &a, 110), 1);
	assert_int_equal(xbits_isset(x, &a, 111), 0);
	xbits_act(x, 1, &a, IPS_FB_SET, 112, 10, &evicted);
	assert_int_equal(xbits_isset(x, &a, 122), 1);
	assert_int_equal(xbits_isset(x, &a, 123), 0);
	xbits_free(x);
}

/* An unset on one worker hides the set another worker recorded; a later
 * set wins again; toggle flips. */
static void
test_unset_and_toggle_across_tables(void **state)
{
	struct xbits *x = xbits_create(3, 64, 7);
	struct xbits_key a = key_of("ET.x", host_a);
	struct xbits_key other = key_of("ET.y", host_a);
	uint64_t evicted = 0;

	(void)state;
	xbits_act(x, 0, &a, IPS_FB_SET, 100, 30, &evicted);
	xbits_act(x, 2, &a, IPS_FB_UNSET, 101, 0, &evicted);
	assert_int_equal(xbits_isset(x, &a, 101), 0);
	xbits_act(x, 0, &a, IPS_FB_SET, 102, 30, &evicted);
	assert_int_equal(xbits_isset(x, &a, 102), 1);
	xbits_act(x, 1, &a, IPS_FB_TOGGLE, 103, 30, &evicted);
	assert_int_equal(xbits_isset(x, &a, 103), 0);
	xbits_act(x, 2, &a, IPS_FB_TOGGLE, 104, 5, &evicted);
	assert_int_equal(xbits_isset(x, &a, 104), 1);
	assert_int_equal(xbits_isset(x, &a, 110), 0);     /* 104 + 5 */
	assert_int_equal(xbits_isset(x, &other, 104), 0);
	assert_int_equal(evicted, 0);
	xbits_free(x);
}

/* A pair bit is one bit for both directions; a host bit of the same name
 * is another. */
static void
test_pair_either_order(void **state)
{
	struct xbits *x = xbits_create(1, 64, 7);
	uint64_t id = ips_xbit_id("ET.p", IPS_XBIT_IP_PAIR);
	struct xbits_key ab, ba, c, host = key_of("ET.p", host_a);
	static const uint8_t host_c[16] = { 198, 51, 100, 7 };
	uint64_t evicted = 0;

	(void)state;
	xbits_key_pair(&ab, id, host_a, host_b, 4);
	xbits_key_pair(&ba, id, host_b, host_a, 4);
	xbits_key_pair(&c, id, host_a, host_c, 4);
	xbits_act(x, 0, &ab, IPS_FB_SET, 100, 60, &evicted);
	assert_int_equal(xbits_isset(x, &ba, 150), 1);
	assert_int_equal(xbits_isset(x, &c, 150), 0);
	assert_int_equal(xbits_isset(x, &host, 150), 0);
	xbits_free(x);
}

/* Eight records fill a table of eight: the ninth key pushes out the one
 * that expires first (counted); records already dead go uncounted. */
static void
test_full_table_evicts_earliest_expiry(void **state)
{
	struct xbits *x = xbits_create(1, 8, 7);
	struct xbits_key k[10];
	uint64_t evicted = 0;
	char name[16];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		k[i] = key_of(name, host_a);
	}
	for (int i = 0; i < 8; i++)
		xbits_act(x, 0, &k[i], IPS_FB_SET, 100, (uint32_t)(20 - i),
		          &evicted);
	assert_int_equal(evicted, 0);
	xbits_act(x, 0, &k[8], IPS_FB_SET, 100, 50, &evicted);
	assert_int_equal(evicted, 1);
	assert_int_equal(xbits_isset(x, &k[7], 101), 0);   /* expired 113 */
	for (int i = 0; i < 7; i++)
		assert_int_equal(xbits_isset(x, &k[i], 101), 1);
	assert_int_equal(xbits_isset(x, &k[8], 101), 1);
	/* at 140 the first eight have expired: k9 reuses one silently */
	xbits_act(x, 0, &k[9], IPS_FB_SET, 140, 50, &evicted);
	assert_int_equal(evicted, 1);
	assert_int_equal(xbits_isset(x, &k[8], 140), 1);
	assert_int_equal(xbits_isset(x, &k[9], 140), 1);
	xbits_free(x);
}

/* An unset on one worker hides another's longer set; when the unsetting
 * worker later sets the bit for a shorter time, its record must outlive
 * that expiry, or the older set would hold again once it is evicted. */
static void
test_short_set_after_unset_keeps_hiding(void **state)
{
	struct xbits *x = xbits_create(2, 8, 7);
	struct xbits_key k = key_of("ET.k", host_a), other[8];
	uint64_t evicted = 0;
	char name[16];

	(void)state;
	xbits_act(x, 0, &k, IPS_FB_SET, 100, 100, &evicted);    /* to 200 */
	xbits_act(x, 1, &k, IPS_FB_UNSET, 110, 0, &evicted);
	xbits_act(x, 1, &k, IPS_FB_SET, 150, 10, &evicted);     /* to 160 */
	/* table 1 fills with bits that expire before 200 */
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "o%d", i);
		other[i] = key_of(name, host_a);
		xbits_act(x, 1, &other[i], IPS_FB_SET, 161, 20, &evicted);
	}
	assert_int_equal(xbits_isset(x, &k, 170), 0);
	assert_int_equal(xbits_isset(x, &k, 199), 0);
	assert_int_equal(evicted, 1);   /* an "o" bit, not k's record */
	xbits_free(x);
}

/* A write lands between a reader's loads of one record's times and of
 * its key: the reader must read the record again, not pair the old
 * (expired) times with the new key. */
static void
test_read_interrupted_by_a_write(void **state)
{
	struct xbits *x = xbits_create(1, 8, 7);
	struct xbits_key dead = key_of("dead", host_a), live;
	uint64_t evicted = 0, key[XBITS_KEY_WORDS];
	uint32_t slot;
	char name[16];

	(void)state;
	xbits_act(x, 0, &dead, IPS_FB_SET, 100, 1, &evicted);
	memcpy(key, &dead, sizeof(key));
	slot = xbits_hash(x, key) & x->mask;
	/* a live key whose window starts at the same slot */
	for (int i = 0;; i++) {
		snprintf(name, sizeof(name), "l%d", i);
		live = key_of(name, host_a);
		memcpy(key, &live, sizeof(key));
		if ((xbits_hash(x, key) & x->mask) == slot)
			break;
	}
	memset(&hook_value, 0, sizeof(hook_value));
	hook_value.set = 1;
	hook_value.stamp = 99;
	hook_value.until_s = hook_value.keep_s = 1500;
	memcpy(hook_value.key, key, sizeof(key));
	hook_target = xbits_slot(x, 0, slot);
	hook_armed = 1;
	hook_fired = 0;
	assert_int_equal(xbits_isset(x, &live, 500), 1);
	assert_true(hook_fired);
	xbits_free(x);
}

static void
test_create_bounds(void **state)
{
	struct xbits *x;

	(void)state;
	assert_null(xbits_create(0, 64, 7));
	assert_null(xbits_create(1, XBITS_PROBE - 1, 7));
	x = xbits_create(1, 9, 7);         /* rounded up to 16 */
	assert_non_null(x);
	xbits_free(x);
}

/* One writer cycles expired and live bits of many keys through a table
 * of eight (every write overwrites another key's record) while a reader
 * checks the expired ones: a check that read one record's key with
 * another's expiry would see an expired bit set. */
#define RACE_KEYS 16
#define RACE_WRITES 1000000

struct race {
	struct xbits *x;
	struct xbits_key dead[RACE_KEYS], live[RACE_KEYS];
	volatile int done;
};

static void *
race_writer(void *arg)
{
	struct race *r = arg;
	uint64_t evicted = 0;

	for (int i = 0; i < RACE_WRITES; i++) {
		int k = i % RACE_KEYS;

		/* dead: set at 100 for 1 s; live: set at 500 for 1000 s,
		 * then unset so the next round sets it again */
		xbits_act(r->x, 0, &r->dead[k], IPS_FB_SET, 100, 1, &evicted);
		xbits_act(r->x, 0, &r->live[k], IPS_FB_TOGGLE, 500, 1000,
		          &evicted);
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
test_reader_never_sees_half_a_record(void **state)
{
	static struct race r;
	pthread_t writer;
	uint64_t checks = 0, wrong = 0, undecided = 0;
	char name[16];

	(void)state;
	r.x = xbits_create(2, 8, 7);
	r.done = 0;
	for (int i = 0; i < RACE_KEYS; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		r.dead[i] = key_of(name, host_a);
		snprintf(name, sizeof(name), "l%d", i);
		r.live[i] = key_of(name, host_a);
	}
	assert_int_equal(pthread_create(&writer, NULL, race_writer, &r), 0);
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		int rc = xbits_isset(r.x, &r.dead[checks % RACE_KEYS], 500);

		wrong += rc == 1;
		undecided += rc < 0;
		checks++;
	}
	pthread_join(writer, NULL);
	print_message("%llu checks, %llu undecided\n",
	              (unsigned long long)checks,
	              (unsigned long long)undecided);
	assert_true(checks > 0);
	assert_int_equal(wrong, 0);
	xbits_free(r.x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_seen_by_all),
		cmocka_unit_test(test_set_keeps_first_expiry),
		cmocka_unit_test(test_unset_and_toggle_across_tables),
		cmocka_unit_test(test_pair_either_order),
		cmocka_unit_test(test_full_table_evicts_earliest_expiry),
		cmocka_unit_test(test_short_set_after_unset_keeps_hiding),
		cmocka_unit_test(test_read_interrupted_by_a_write),
		cmocka_unit_test(test_create_bounds),
		cmocka_unit_test(test_reader_never_sees_half_a_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

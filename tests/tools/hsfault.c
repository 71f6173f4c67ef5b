/*
 * hsfault.c - LD_PRELOAD shim for the replay tests: Hyperscan fails any
 * scan whose data contains the bytes of $IPS_HSFAULT_MARKER, so the
 * dataplane's scan-error path (policy.detect_error, drop_detect_scan_error
 * or bypass_detect_scan_error, the EVE anomaly) can be driven end to end
 * through the real binary.  Every other scan goes to the real libhs.
 * Test tooling only: nothing in the gateway links it.
 */
/* _GNU_SOURCE (RTLD_NEXT, memmem) comes from the build flags */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <hs/hs.h>

typedef hs_error_t (*hsfault_scan_fn)(const hs_database_t *, const char *,
                                      unsigned int, unsigned int,
                                      hs_scratch_t *, match_event_handler,
                                      void *);
typedef hs_error_t (*hsfault_stream_fn)(hs_stream_t *, const char *,
                                        unsigned int, unsigned int,
                                        hs_scratch_t *, match_event_handler,
                                        void *);

static int
hsfault_hit(const char *data, unsigned int len)
{
	static const char *marker;
	static size_t mlen;

	if (marker == NULL) {
		const char *m = getenv("IPS_HSFAULT_MARKER");

		marker = m != NULL ? m : "";
		mlen = strlen(marker);
	}
	return mlen > 0 && data != NULL &&
	       memmem(data, len, marker, mlen) != NULL;
}

hs_error_t
hs_scan(const hs_database_t *db, const char *data, unsigned int length,
        unsigned int flags, hs_scratch_t *scratch,
        match_event_handler onEvent, void *context)
{
	static hsfault_scan_fn real;

	if (hsfault_hit(data, length))
		return HS_UNKNOWN_ERROR;
	if (real == NULL)
		real = (hsfault_scan_fn)dlsym(RTLD_NEXT, "hs_scan");
	return real(db, data, length, flags, scratch, onEvent, context);
}

hs_error_t
hs_scan_stream(hs_stream_t *id, const char *data, unsigned int length,
               unsigned int flags, hs_scratch_t *scratch,
               match_event_handler onEvent, void *ctxt)
{
	static hsfault_stream_fn real;

	if (hsfault_hit(data, length))
		return HS_UNKNOWN_ERROR;
	if (real == NULL)
		real = (hsfault_stream_fn)dlsym(RTLD_NEXT, "hs_scan_stream");
	return real(id, data, length, flags, scratch, onEvent, ctxt);
}

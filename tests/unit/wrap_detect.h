/*
 * wrap_detect.h - prototypes of the stand-ins for the detect stage that a
 * binary linked with meson's wrap_detect list (-Wl,--wrap=detect_...)
 * must define: test_http.c records what HTTP hands to detection,
 * tests/tools/hsbench.c records it for the matching-limit benchmark.
 */
#ifndef IPS_TEST_WRAP_DETECT_H
#define IPS_TEST_WRAP_DETECT_H

#include "detect.h"

void __wrap_detect_txn_begin(struct detect_worker *dw, struct detect_txn *dt);
int __wrap_detect_request_line(struct detect_worker *dw,
                               struct detect_txn *dt,
                               const struct detect_bufs *bufs,
                               const struct detect_tuple *t,
                               struct detect_result *res);
int __wrap_detect_headers(struct detect_worker *dw, struct detect_txn *dt,
                          const struct detect_bufs *bufs,
                          const struct detect_tuple *t,
                          struct detect_result *res);
int __wrap_detect_body(struct detect_worker *dw, struct detect_txn *dt,
                       const uint8_t *data, uint32_t len,
                       const struct detect_bufs *bufs,
                       const struct detect_tuple *t,
                       struct detect_result *res);
int __wrap_detect_txn_end(struct detect_worker *dw, struct detect_txn *dt,
                          const struct detect_bufs *bufs,
                          const struct detect_tuple *t,
                          struct detect_result *res);
void __wrap_detect_txn_abort(struct detect_worker *dw, struct detect_txn *dt);
int __wrap_detect_wants_body(const struct detect_worker *dw);
void __wrap_detect_response_begin(struct detect_worker *dw,
                                  struct detect_txn *dt);
int __wrap_detect_wants_response(const struct detect_worker *dw);

#endif /* IPS_TEST_WRAP_DETECT_H */

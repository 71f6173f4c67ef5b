/*
 * wrap_http.h - prototypes of the stand-ins for the HTTP stage that a
 * binary linked with meson's wrap_http list (-Wl,--wrap=http_...) must
 * define: test_stream.c and test_flow.c record the bytes reassembly
 * hands to inspection.
 */
#ifndef IPS_TEST_WRAP_HTTP_H
#define IPS_TEST_WRAP_HTTP_H

#include "http.h"

int __wrap_http_request_data(struct http_worker *hw, struct http_flow *hf,
                             const uint8_t *data, uint32_t len,
                             const struct detect_tuple *t,
                             struct detect_result *res);
int __wrap_http_probe_request(const uint8_t *data, uint32_t len);
void __wrap_http_flow_release(struct http_worker *hw, struct http_flow *hf);
int __wrap_http_response_data(struct http_worker *hw, struct http_flow *hf,
                              const uint8_t *data, uint32_t len,
                              const struct detect_tuple *t,
                              struct detect_result *res);
int __wrap_http_inspects_responses(const struct http_worker *hw,
                                   const struct http_flow *hf);
void __wrap_http_response_gap(struct http_worker *hw, struct http_flow *hf);

#endif /* IPS_TEST_WRAP_HTTP_H */

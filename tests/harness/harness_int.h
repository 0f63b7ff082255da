/*
 * tests/harness/harness_int.h — what the harness's own files share and
 * tests do not see.
 */
#ifndef DTX_TEST_HARNESS_INT_H
#define DTX_TEST_HARNESS_INT_H

#define H_POLL_MS 20   /* how often the harness looks again while waiting */

#endif

/* hcurve.h — inside the harness: h_init makes the run's key set. */
#ifndef DTX_TEST_HCURVE_H
#define DTX_TEST_HCURVE_H

/* Makes the keys in testdir/curve-PID/ and exports DTX_CURVE_KEY_FILE,
 * unless DTX_TEST_CURVE=0. Returns 0 or -1. */
int h_curve_setup(const char *testdir);

#endif

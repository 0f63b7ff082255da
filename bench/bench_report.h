/*
 * bench_report.h — dtx-bench's report (bench_report.c).
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "bench_slots.h"

/* Prints the results: text on stdout, or one JSON line on stdout and the
 * errors, if any, on stderr with --json. */
void bench_report(bench_t *self);

#endif

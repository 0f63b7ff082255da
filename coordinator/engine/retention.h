/*
 * retention.h — removing finished transactions from the log (retention.c).
 */
#ifndef DTX_COORD_RETENTION_H
#define DTX_COORD_RETENTION_H

#include "coord.h"

/* Rows one batch removes at most. */
#define DTX_RETAIN_BATCH 500

/* Starts the next retention batch when one is due and none is in flight
 * (a periodic duty of the loop; never blocks). Does nothing when
 * --retention is 0. */
void dtx_retention_tick(dtx_coord_t *co, int64_t now_ms);

#endif

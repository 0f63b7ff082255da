/*
 * drill_transfer.h — one transfer of drill-load (drill_transfer.c).
 */
#ifndef DRILL_TRANSFER_H
#define DRILL_TRANSFER_H

#include "drill_worker.h"

/* Picks a plan, a protocol and accounts at random and runs one transfer
 * on self's coordinator, journaling and counting what happens. */
void drill_transfer(drill_worker_t *self);

#endif

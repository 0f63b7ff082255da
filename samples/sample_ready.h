/*
 * samples/sample_ready.h — the ready file of the sample participants (and
 * of bench-participant and test-participant, which start the same way):
 * scripts start a participant and wait for FILE to appear, written from
 * the dtx_participant_set_ready callback once every coordinator has
 * acknowledged the registration.
 */
#ifndef DTX_SAMPLE_READY_H
#define DTX_SAMPLE_READY_H

/* Writes "registered\n" to path through path.tmp and a rename, so a reader
 * never sees a partial file. Returns 0, or -1 with errno set. */
int sample_ready_write(const char *path);

#endif

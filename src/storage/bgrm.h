/* bgrm.h — unlinking files, and making zero-filled files, on a background thread.
 *
 * Deleting a WAL segment that still has pages in the page cache (or under writeback) makes
 * unlink(2) wait for the kernel to drop them: tens of milliseconds for a 64 MiB segment, a stall
 * of the whole event loop. The WAL hands such deletions to this queue instead; they run in order
 * (FIFO), so the "newest first" order the WAL relies on for crash safety is kept. */
#ifndef SYNOD_STORAGE_BGRM_H
#define SYNOD_STORAGE_BGRM_H

#include <stdint.h>

struct bgrm;

/* Starts the thread; NULL if it cannot (callers then unlink synchronously). */
struct bgrm *bgrm_start(void);
/* Queues path for unlink(2) (copied). Unlinks at once if the queue cannot take it. */
void bgrm_add(struct bgrm *b, const char *path);
/* States of a zero-filled file made by bgrm_zero_file (the int the caller hands in). */
enum { BGRM_ZF_NONE, BGRM_ZF_MAKING, BGRM_ZF_READY, BGRM_ZF_FAILED, BGRM_ZF_CANCEL };

/* Queues the making of `path` (copied): created (truncated), `bytes` of zeros written and
 * fsync'd, then *state goes from BGRM_ZF_MAKING to BGRM_ZF_READY (or BGRM_ZF_FAILED, the file
 * removed). The caller sets *state to BGRM_ZF_MAKING before the call; setting it to
 * BGRM_ZF_CANCEL stops the job between megabytes (the file is removed, *state becomes
 * BGRM_ZF_NONE). *state must live until bgrm_drain or bgrm_stop returned. Returns -1 (nothing
 * queued, *state untouched) if the job cannot be queued. */
int bgrm_zero_file(struct bgrm *b, const char *path, uint64_t bytes, int *state);
/* Waits until every queued job is done. */
void bgrm_drain(struct bgrm *b);
/* Drains, stops the thread, frees b. NULL is fine. */
void bgrm_stop(struct bgrm *b);

#endif

/* bgrm.h — unlinking files on a background thread.
 *
 * Deleting a WAL segment that still has pages in the page cache (or under writeback) makes
 * unlink(2) wait for the kernel to drop them: tens of milliseconds for a 64 MiB segment, a stall
 * of the whole event loop. The WAL hands such deletions to this queue instead; they run in order
 * (FIFO), so the "newest first" order the WAL relies on for crash safety is kept. */
#ifndef SYNOD_STORAGE_BGRM_H
#define SYNOD_STORAGE_BGRM_H

struct bgrm;

/* Starts the thread; NULL if it cannot (callers then unlink synchronously). */
struct bgrm *bgrm_start(void);
/* Queues path for unlink(2) (copied). Unlinks at once if the queue cannot take it. */
void bgrm_add(struct bgrm *b, const char *path);
/* Waits until every queued path is gone. */
void bgrm_drain(struct bgrm *b);
/* Drains, stops the thread, frees b. NULL is fine. */
void bgrm_stop(struct bgrm *b);

#endif

/* lazyfree.c — the thread that frees big values off the event loop (Redis's lazyfree bio
 * thread; the store's side and why: src/data/lazyfree.c).
 *
 * On the loop, every cron pass moves the values the store queued (UNLINK, FLUSH ASYNC) to this
 * thread and reports back the values it freed and their bytes, so INFO's used_memory falls as
 * they are freed and lazyfree_pending_objects / lazyfreed_objects count them as Redis's do. At
 * shutdown the thread frees what it holds and is joined before the store is destroyed. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"
#include "util/log.h"

#define LAZY_TAKE 64 /* values moved per cron pass and lock */

struct srv_lazyfree {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void **q; /* to free */
    size_t n, cap;
    uint64_t done_values; /* freed, not yet reported to the store */
    size_t done_bytes;
    int stop;
};

static void *lazy_main(void *arg)
{
    struct srv_lazyfree *lf = arg;
    pthread_mutex_lock(&lf->mu);
    for (;;) {
        while (lf->n == 0 && !lf->stop)
            pthread_cond_wait(&lf->cv, &lf->mu);
        if (lf->n == 0) break; /* stop, and nothing left */
        void *v = lf->q[--lf->n];
        pthread_mutex_unlock(&lf->mu);
        size_t bytes = data_lazy_free(v);
        pthread_mutex_lock(&lf->mu);
        lf->done_values++;
        lf->done_bytes += bytes;
    }
    pthread_mutex_unlock(&lf->mu);
    return NULL;
}

void srv_lazyfree_start(server *s)
{
    struct srv_lazyfree *lf = calloc(1, sizeof(*lf));
    if (!lf) return; /* values are freed on the loop then */
    pthread_mutex_init(&lf->mu, NULL);
    pthread_cond_init(&lf->cv, NULL);
    /* no signal for this thread: SIGTERM/SIGINT are read from the loop's signalfd */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&lf->th, NULL, lazy_main, lf);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        syn_log(SYN_LOG_WARN, "lazy free thread not started: big values are freed inline");
        pthread_cond_destroy(&lf->cv);
        pthread_mutex_destroy(&lf->mu);
        free(lf);
        return;
    }
    s->lazyfree = lf;
    data_set_lazyfree(s->ds, 1);
}

/* Reports what the thread freed; with hand_over, gives it what the store queued. */
static void exchange(server *s, int hand_over)
{
    struct srv_lazyfree *lf = s->lazyfree;
    void *take[LAZY_TAKE];
    pthread_mutex_lock(&lf->mu);
    if (lf->done_values) {
        data_lazy_done(s->ds, lf->done_values, lf->done_bytes);
        lf->done_values = 0;
        lf->done_bytes = 0;
    }
    size_t k;
    while (hand_over && (k = data_lazy_take(s->ds, take, LAZY_TAKE)) > 0) {
        if (lf->n + k > lf->cap) {
            size_t cap = lf->cap ? 2 * lf->cap : 64;
            while (cap < lf->n + k)
                cap *= 2;
            void **q = realloc(lf->q, cap * sizeof(*q));
            if (!q) { /* give them back as freed here: the store frees them on the loop */
                for (size_t i = 0; i < k; i++) {
                    size_t bytes = data_lazy_free(take[i]);
                    data_lazy_done(s->ds, 1, bytes);
                }
                break;
            }
            lf->q = q;
            lf->cap = cap;
        }
        memcpy(lf->q + lf->n, take, k * sizeof(*take));
        lf->n += k;
        pthread_cond_signal(&lf->cv);
    }
    pthread_mutex_unlock(&lf->mu);
}

void srv_lazyfree_cron(server *s)
{
    if (s->lazyfree) exchange(s, 1);
}

void srv_lazyfree_stop(server *s)
{
    struct srv_lazyfree *lf = s->lazyfree;
    if (!lf) return;
    data_set_lazyfree(s->ds, 0);
    exchange(s, 1);
    pthread_mutex_lock(&lf->mu);
    lf->stop = 1;
    pthread_cond_signal(&lf->cv);
    pthread_mutex_unlock(&lf->mu);
    pthread_join(lf->th, NULL);
    exchange(s, 0);
    pthread_cond_destroy(&lf->cv);
    pthread_mutex_destroy(&lf->mu);
    free(lf->q);
    free(lf);
    s->lazyfree = NULL;
}

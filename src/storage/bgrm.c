/* bgrm.c — unlinking files on a background thread (see bgrm.h). */
#include "bgrm.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct item {
    struct item *next;
    char path[];
};

struct bgrm {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* work queued, or stop */
    pthread_cond_t idle_cv; /* queue empty and nothing in progress */
    struct item *head, *tail;
    bool busy, stop;
};

static void *run(void *arg)
{
    struct bgrm *b = arg;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        while (!b->head && !b->stop)
            pthread_cond_wait(&b->cv, &b->mu);
        if (!b->head) break; /* stop, and nothing left */
        struct item *it = b->head;
        b->head = it->next;
        if (!b->head) b->tail = NULL;
        b->busy = true;
        pthread_mutex_unlock(&b->mu);
        (void)unlink(it->path); /* already gone is fine: the WAL logs nothing for these */
        free(it);
        pthread_mutex_lock(&b->mu);
        b->busy = false;
        if (!b->head) pthread_cond_broadcast(&b->idle_cv);
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

struct bgrm *bgrm_start(void)
{
    struct bgrm *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    pthread_cond_init(&b->idle_cv, NULL);
    if (pthread_create(&b->thread, NULL, run, b) != 0) {
        pthread_mutex_destroy(&b->mu);
        pthread_cond_destroy(&b->cv);
        pthread_cond_destroy(&b->idle_cv);
        free(b);
        return NULL;
    }
    return b;
}

void bgrm_add(struct bgrm *b, const char *path)
{
    size_t n = strlen(path) + 1;
    struct item *it = b ? malloc(sizeof *it + n) : NULL;
    if (!it) {
        (void)unlink(path);
        return;
    }
    memcpy(it->path, path, n);
    it->next = NULL;
    pthread_mutex_lock(&b->mu);
    if (b->tail)
        b->tail->next = it;
    else
        b->head = it;
    b->tail = it;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

void bgrm_drain(struct bgrm *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    while (b->head || b->busy)
        pthread_cond_wait(&b->idle_cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

void bgrm_stop(struct bgrm *b)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    b->stop = true;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv);
    pthread_cond_destroy(&b->idle_cv);
    free(b);
}

/*
 * The table of background jobs and their threads (jobs.c), private to
 * server/: what the loop knows of the work it does beside serving
 * requests.
 */
#ifndef RS_SERVER_JOBS_H
#define RS_SERVER_JOBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/err.h"

struct server;

/* ---- background jobs (jobs.c) -------------------------------------------- */

/*
 * A kind of work the server does beside serving requests: SNAPSHOT's seal
 * today; BACKUP, the WAL archiver and the metrics endpoint later. The loop
 * knows jobs only through this table (jobs.c lists the kinds), so a new
 * kind is one file exporting a struct server_job_type and one line there.
 * Every hook runs on the loop thread and may be NULL; a job's own threads
 * reach the loop only through server_wake() (struct server_worker).
 */
struct server_job_type {
    const char *name;    /* "snapshot": logs */
    const char *section; /* the INFO section report writes into */
    /* when the instance starts; *state is the job's from then on */
    rs_code (*create)(struct server *srv, void **state, rs_err *err);
    /* before the loop sleeps: finish what is done, answer waiting clients */
    void (*poll)(struct server *srv, void *state);
    /* the shutdown begins: stop early; clients still get their answers */
    void (*cancel)(struct server *srv, void *state);
    /* the shutdown waits while this says 1 */
    int (*busy)(const void *state);
    /* INFO's lines for section */
    void (*report)(struct server *srv, void *state, FILE *f);
    /* stops and frees; the instance is going away */
    void (*destroy)(void *state);
};

extern const struct server_job_type server_job_snapshot, server_job_wait;

#define SERVER_MAX_JOBS 8

struct server_job {
    const struct server_job_type *type;
    void *state;
};

rs_code server_jobs_create(struct server *srv, rs_err *err);
void server_jobs_poll(struct server *srv);
void server_jobs_cancel(struct server *srv);
int  server_jobs_busy(const struct server *srv);
void server_jobs_report(struct server *srv, const char *section, FILE *f);
void server_jobs_destroy(struct server *srv);
/* The state of the instance's job of this type (a command starting it). */
void *server_job_state(struct server *srv, const struct server_job_type *type);

/* A job's thread. The loop starts it, the thread runs fn(arg) and returns;
 * the loop then sees it done (server_worker_reap joins it). cancel asks
 * fn to stop early: fn polls server_worker_cancelled. */
struct server_worker {
    struct server *srv;
    pthread_t  thread;
    int        running;     /* loop: a thread to join */
    atomic_int cancel;      /* loop -> thread */
    atomic_int done;        /* thread -> loop: fn returned */
    void     (*fn)(void *arg);
    void      *arg;
};

rs_code server_worker_start(struct server_worker *w, struct server *srv, const char *name, void (*fn)(void *arg),
                            void *arg, rs_err *err);
/* Loop: 1 when the thread has ended, and joins it. */
int  server_worker_reap(struct server_worker *w);
void server_worker_cancel(struct server_worker *w);
int  server_worker_cancelled(struct server_worker *w);
/* Cancels and joins a running thread. */
void server_worker_stop(struct server_worker *w);

#endif

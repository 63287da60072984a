/*
 * The table of background jobs (struct server_job_type in server_int.h):
 * every kind is created with an instance, polled before the loop sleeps,
 * cancelled when it shuts down, waited for while busy, asked for its INFO
 * lines, and destroyed with it. A new kind (BACKUP, the WAL archiver, the
 * metrics endpoint) is one file and one line in kinds[]; the loop does
 * not change.
 *
 * Also a job's thread (struct server_worker): the loop starts it, the
 * thread runs its function, marks itself done and wakes the loop, whose
 * next poll joins it. That handshake is the only way a job's thread
 * reaches the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "server/server_int.h"

static const struct server_job_type *const kinds[] = {
    &server_job_wait,
    &server_job_snapshot,
};

rs_code server_jobs_create(struct server *srv, rs_err *err)
{
    _Static_assert(sizeof kinds / sizeof kinds[0] <= SERVER_MAX_JOBS, "raise SERVER_MAX_JOBS");
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct server_job *j = &srv->jobs[srv->n_jobs];
        j->type = kinds[i];
        j->state = NULL;
        if (kinds[i]->create != NULL) {
            rs_code rc = kinds[i]->create(srv, &j->state, err);
            if (rc != RS_OK)
                return rc;
        }
        srv->n_jobs++;
    }
    return RS_OK;
}

void server_jobs_poll(struct server *srv)
{
    for (size_t i = 0; i < srv->n_jobs; i++)
        if (srv->jobs[i].type->poll != NULL)
            srv->jobs[i].type->poll(srv, srv->jobs[i].state);
}

void server_jobs_cancel(struct server *srv)
{
    for (size_t i = 0; i < srv->n_jobs; i++)
        if (srv->jobs[i].type->cancel != NULL)
            srv->jobs[i].type->cancel(srv, srv->jobs[i].state);
}

int server_jobs_busy(const struct server *srv)
{
    for (size_t i = 0; i < srv->n_jobs; i++)
        if (srv->jobs[i].type->busy != NULL && srv->jobs[i].type->busy(srv->jobs[i].state))
            return 1;
    return 0;
}

void server_jobs_report(struct server *srv, const char *section, FILE *f)
{
    for (size_t i = 0; i < srv->n_jobs; i++) {
        const struct server_job_type *t = srv->jobs[i].type;
        if (t->report != NULL && strcmp(t->section, section) == 0)
            t->report(srv, srv->jobs[i].state, f);
    }
}

void server_jobs_destroy(struct server *srv)
{
    while (srv->n_jobs > 0) {
        struct server_job *j = &srv->jobs[--srv->n_jobs];
        if (j->type->destroy != NULL)
            j->type->destroy(j->state);
    }
}

void *server_job_state(struct server *srv, const struct server_job_type *type)
{
    for (size_t i = 0; i < srv->n_jobs; i++)
        if (srv->jobs[i].type == type)
            return srv->jobs[i].state;
    return NULL;
}

/* ---- a job's thread ----------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct server_worker *w = arg;
    w->fn(w->arg);
    atomic_store(&w->done, 1);
    server_wake(w->srv);
    return NULL;
}

rs_code server_worker_start(struct server_worker *w, struct server *srv, const char *name, void (*fn)(void *arg),
                            void *arg, rs_err *err)
{
    w->srv = srv;
    w->fn = fn;
    w->arg = arg;
    atomic_store(&w->cancel, 0);
    atomic_store(&w->done, 0);
    int e = pthread_create(&w->thread, NULL, worker_main, w);
    if (e != 0)
        return rs_err_sys(err, RS_E_INTERNAL, e, "could not start the %s thread", name);
    pthread_setname_np(w->thread, name);
    w->running = 1;
    return RS_OK;
}

int server_worker_reap(struct server_worker *w)
{
    if (!w->running || !atomic_load(&w->done))
        return 0;
    pthread_join(w->thread, NULL);
    w->running = 0;
    return 1;
}

void server_worker_cancel(struct server_worker *w) { atomic_store(&w->cancel, 1); }

int server_worker_cancelled(struct server_worker *w) { return atomic_load(&w->cancel); }

void server_worker_stop(struct server_worker *w)
{
    if (!w->running)
        return;
    server_worker_cancel(w);
    pthread_join(w->thread, NULL);
    w->running = 0;
}

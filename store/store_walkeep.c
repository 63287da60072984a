/*
 * The WAL archive's budget, enforced by the store. RocksDB moves WAL files
 * it no longer needs into <db>/archive, where consumers (followers, the
 * WAL archiver) still read them; wal_keep_seconds and wal_keep_bytes bound
 * what is kept. RocksDB 7.8 checks its own limits only every ten minutes
 * once a size limit is set (WalManager's kDefaultIntervalToDeleteObsoleteWAL),
 * which let a 1 MiB budget grow to 33 MB under load (issue 11): so the
 * store tells RocksDB to archive and never purge (store_options.c), and a
 * thread, "rs-wal-keep", applies the budget each time a file is archived
 * (inotify) and once a second.
 *
 * Oldest first, an archived file is removed when the WAL on disk (live
 * and archived) is over the byte budget (always: that is the disk bound),
 * or when it is older than the age budget and no consumer's pin needs it. A pin is the oldest
 * sequence a consumer still needs; a file is needed by it while no later
 * WAL file starts at or before the pin.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/assert.h"
#include "common/clock.h"
#include "common/endian.h"
#include "common/log.h"
#include "store/store_int.h"

#define PASS_EVERY_MS   1000 /* the age budget is looked at this often */
#define FALLBACK_POLL_MS 100 /* without inotify, the archive is listed this often */

struct rs_store_wal_pin {
    struct store_walkeep *k;
    _Atomic uint64_t      seq;
    rs_store_wal_pin     *next;
};


/* ---- reading the WAL's names and first sequences ---------------------- */

/* "000123.log" -> 123. RocksDB's WAL names: digits, then ".log". */
static int wal_number(const char *name, uint64_t *out)
{
    char *end = NULL;
    if (name[0] < '0' || name[0] > '9')
        return -1;
    errno = 0;
    unsigned long long n = strtoull(name, &end, 10);
    if (errno != 0 || strcmp(end, ".log") != 0)
        return -1;
    *out = n;
    return 0;
}

/* The sequence of a WAL file's first batch, from its first record: RocksDB's
 * log format (a 7-byte header: checksum u32, length u16, type u8; 11 bytes
 * for the recyclable types 5 and 6), whose payload starts with the
 * WriteBatch header (sequence u64). What RocksDB's WalManager reads to
 * find a sequence's file. 0 when the file holds no whole first record. */
static uint64_t read_first_seq(int dirfd_, const char *name)
{
    int fd = openat(dirfd_, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint8_t b[11 + 12];
    ssize_t n = pread(fd, b, sizeof b, 0);
    close(fd);
    if (n < 7 + 12)
        return 0;
    size_t hdr = b[6] == 1 || b[6] == 2 ? 7 : b[6] == 5 || b[6] == 6 ? 11 : 0;
    if (hdr == 0 || rs_le16_get(b + 4) < 12 || (size_t)n < hdr + 12)
        return 0;
    return rs_le64_get(b + hdr);
}

static int add_dir(struct store_wal_list *l, const char *dir, int archived, const struct store_wal_list *known)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct store_wal_file f = {.archived = archived};
        struct stat st;
        if (wal_number(e->d_name, &f.number) != 0 || fstatat(dirfd(d), e->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        f.bytes = (uint64_t)st.st_size;
        f.mtime_s = st.st_mtim.tv_sec;
        for (size_t i = 0; known != NULL && i < known->n; i++)
            if (known->items[i].number == f.number && known->items[i].first_seq != 0)
                f.first_seq = known->items[i].first_seq;
        if (f.first_seq == 0 && f.bytes > 0)
            f.first_seq = read_first_seq(dirfd(d), e->d_name);
        struct store_wal_file *grown = rs_array_grow(l->items, &l->cap, l->n, sizeof *l->items, 16);
        if (grown == NULL) {
            closedir(d);
            return -1;
        }
        l->items = grown;
        l->items[l->n++] = f;
    }
    closedir(d);
    return 0;
}

static int by_number(const void *a, const void *b)
{
    const struct store_wal_file *x = a, *y = b;
    return x->number < y->number ? -1 : x->number > y->number;
}

/* ---- the pass --------------------------------------------------------- */

static uint64_t min_pin(struct store_walkeep *k)
{
    uint64_t lo = UINT64_MAX;
    pthread_mutex_lock(&k->mu);
    for (rs_store_wal_pin *p = k->pins; p != NULL; p = p->next) {
        uint64_t s = atomic_load(&p->seq);
        lo = s < lo ? s : lo;
    }
    pthread_mutex_unlock(&k->mu);
    return lo;
}

/* The number of the oldest file a pin at seq needs: the newest one that
 * starts at or before it (files after it start later, and hold more). */
static uint64_t oldest_needed(const struct store_wal_list *l, uint64_t seq)
{
    uint64_t needed = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->items[i].first_seq != 0 && l->items[i].first_seq <= seq)
            needed = l->items[i].number;
    return needed;
}

struct pass_result {
    size_t   n_bytes, n_aged;   /* files removed for the byte and the age budget */
    size_t   n_pinned;          /* ... of which a consumer still needed */
    uint64_t removed_bytes;
};

static void remove_file(rs_store *s, const struct store_wal_file *f, int pinned, struct pass_result *r, int for_bytes)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%06llu.log", s->walkeep.archive, (unsigned long long)f->number);
    if (unlink(path) != 0 && errno != ENOENT) {
        RS_LOG_WARN("WAL archive: cannot remove %s: %s", path, strerror(errno));
        return;
    }
    r->removed_bytes += f->bytes;
    r->n_bytes += for_bytes;
    r->n_aged += !for_bytes;
    r->n_pinned += pinned;
}

/* Applies the budget once. The listing is kept for the next pass, so each
 * file's first sequence is read once. */
static void pass(rs_store *s)
{
    struct store_walkeep *k = &s->walkeep;
    struct store_wal_list l = {0};
    if (add_dir(&l, k->archive, 1, &k->last) != 0 || add_dir(&l, s->path, 0, &k->last) != 0) {
        free(l.items);
        return;
    }
    if (l.n > 1)
        qsort(l.items, l.n, sizeof *l.items, by_number);
    uint64_t pin = min_pin(k);
    uint64_t needed_from = pin == UINT64_MAX ? UINT64_MAX : oldest_needed(&l, pin);
    /* live WAL counts too: it is archived in bursts (every file a flush
     * frees, at once), so the archive stays within the budget only if room
     * for the live files is kept */
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++)
        total += l.items[i].bytes;
    int64_t now_s = (int64_t)(rs_clock_wall_ns() / 1000000000u);
    struct pass_result r = {0};
    for (size_t i = 0; i < l.n; i++) {
        const struct store_wal_file *f = &l.items[i];
        if (!f->archived)
            continue;
        int pinned = f->number >= needed_from;
        int over = total > s->cfg.wal_keep_bytes;
        int aged = now_s - f->mtime_s > (int64_t)s->cfg.wal_keep_seconds;
        if (over || (aged && !pinned)) {
            remove_file(s, f, pinned, &r, over);
            total -= f->bytes;
        }
    }
    free(k->last.items);
    k->last = l;
    if (r.n_pinned > 0)
        RS_LOG_WARN("WAL archive over its budget of %llu bytes: removed %zu files a consumer still needs (it "
                    "must resync); raise --wal-keep-bytes to keep more", (unsigned long long)s->cfg.wal_keep_bytes,
                    r.n_pinned);
    if (r.n_bytes + r.n_aged > 0)
        RS_LOG_DEBUG("WAL archive: removed %zu files over the byte budget and %zu past the age budget, %llu bytes",
                     r.n_bytes, r.n_aged, (unsigned long long)r.removed_bytes);
    atomic_fetch_add(&k->n_removed, r.n_bytes + r.n_aged);
}

/* ---- the thread ------------------------------------------------------- */

/* Waits for a file to be archived (or a second to pass, or close). */
static void wait_for_change(struct store_walkeep *k)
{
    struct pollfd p[2] = {{.fd = k->stop_fd, .events = POLLIN}, {.fd = k->inotify_fd, .events = POLLIN}};
    int n = poll(p, k->inotify_fd >= 0 ? 2 : 1, k->inotify_fd >= 0 ? PASS_EVERY_MS : FALLBACK_POLL_MS);
    if (n > 0 && (p[1].revents & POLLIN)) {
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(k->inotify_fd, buf, sizeof buf) > 0) {
        }
    }
}

static void *keeper_main(void *arg)
{
    rs_store *s = arg;
    while (!atomic_load(&s->walkeep.stopping)) {
        pass(s);
        wait_for_change(&s->walkeep);
    }
    return NULL;
}

rs_code store_walkeep_start(rs_store *s, rs_err *err)
{
    struct store_walkeep *k = &s->walkeep;
    k->inotify_fd = k->stop_fd = -1;
    k->started = 1;
    if (s->mem_env != NULL || s->cfg.read_only)
        return RS_OK; /* RocksDB applies its own limits to a memory env; read-only archives nothing */
    if (asprintf(&k->archive, "%s/archive", s->path) < 0) {
        k->archive = NULL;
        return rs_err_set(err, RS_E_NOMEM, "WAL keeper of '%s': out of memory", s->path);
    }
    /* made now (RocksDB makes it on the first archive) so it can be watched */
    if (mkdir(k->archive, 0700) != 0 && errno != EEXIST)
        return rs_err_sys(err, RS_E_IO, errno, "make '%s'", k->archive);
    k->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (k->stop_fd < 0)
        return rs_err_sys(err, RS_E_IO, errno, "WAL keeper of '%s': eventfd", s->path);
    /* without inotify (out of instances), listing the archive often does */
    k->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (k->inotify_fd >= 0 && inotify_add_watch(k->inotify_fd, k->archive, IN_MOVED_TO | IN_CREATE) < 0) {
        close(k->inotify_fd);
        k->inotify_fd = -1;
    }
    pthread_mutex_init(&k->mu, NULL);
    k->mu_ready = 1;
    if (pthread_create(&k->thread, NULL, keeper_main, s) != 0)
        return rs_err_set(err, RS_E_INTERNAL, "WAL keeper of '%s': cannot start its thread", s->path);
    pthread_setname_np(k->thread, "rs-wal-keep");
    k->running = 1;
    return RS_OK;
}

void store_walkeep_stop(rs_store *s)
{
    struct store_walkeep *k = &s->walkeep;
    if (!k->started)
        return; /* the database did not open this far */
    if (k->running) {
        atomic_store(&k->stopping, 1);
        uint64_t one = 1;
        if (write(k->stop_fd, &one, sizeof one) < 0) {
            /* the counter cannot overflow from one write: nothing to do */
        }
        pthread_join(k->thread, NULL);
        k->running = 0;
    }
    if (k->inotify_fd >= 0)
        close(k->inotify_fd);
    if (k->stop_fd >= 0)
        close(k->stop_fd);
    k->inotify_fd = k->stop_fd = -1;
    /* a pin outliving its store is a bug of the consumer */
    rs_assert(k->pins == NULL);
    if (k->mu_ready)
        pthread_mutex_destroy(&k->mu);
    k->mu_ready = 0;
    free(k->last.items);
    k->last = (struct store_wal_list){0};
    free(k->archive);
    k->archive = NULL;
}

/* ---- pins --------------------------------------------------------------- */

rs_code rs_store_wal_pin_add(rs_store *s, uint64_t seq, rs_store_wal_pin **out, rs_err *err)
{
    rs_store_wal_pin *p = calloc(1, sizeof *p);
    if (p == NULL)
        return rs_err_set(err, RS_E_NOMEM, "WAL pin: out of memory");
    p->k = &s->walkeep;
    atomic_store(&p->seq, seq);
    if (s->walkeep.mu_ready) {
        pthread_mutex_lock(&s->walkeep.mu);
        p->next = s->walkeep.pins;
        s->walkeep.pins = p;
        pthread_mutex_unlock(&s->walkeep.mu);
    } else {
        p->k = NULL; /* nothing enforces a budget here: the pin holds nothing */
    }
    *out = p;
    return RS_OK;
}

void rs_store_wal_pin_move(rs_store_wal_pin *p, uint64_t seq)
{
    if (p != NULL && seq > atomic_load(&p->seq))
        atomic_store(&p->seq, seq);
}

uint64_t rs_store_wal_pin_seq(const rs_store_wal_pin *p) { return atomic_load(&p->seq); }

void rs_store_wal_pin_remove(rs_store_wal_pin *p)
{
    if (p == NULL)
        return;
    if (p->k != NULL) {
        pthread_mutex_lock(&p->k->mu);
        rs_store_wal_pin **link = &p->k->pins;
        while (*link != p)
            link = &(*link)->next;
        *link = p->next;
        pthread_mutex_unlock(&p->k->mu);
    }
    free(p);
}

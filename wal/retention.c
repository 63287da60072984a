/*
 * WAL retention, watched per consumer. RocksDB keeps archived WAL files
 * until they are older than wal_keep_seconds or the archive exceeds
 * wal_keep_bytes (store options): that is the disk budget, whoever reads.
 * This watch warns, at most once a minute, when a consumer reads batches
 * that are close to leaving the budget (80% of the age, or of the bytes);
 * once past it, the WAL reader reports a gap and the consumer is resynced.
 * docs/replication.md says why the budget is not bent to fit consumers.
 */
#include "common/clock.h"
#include "common/log.h"
#include "wal/wal_int.h"

#define CHECK_EVERY_NS (1000000000ull)      /* look at most once a second */
#define WARN_EVERY_NS  (60ull * 1000000000) /* say it at most once a minute */
#define NEAR_PERCENT   80

void wal_retention_init(wal_retention *r, const rs_store_config *cfg)
{
    r->keep_ns = cfg->wal_keep_seconds * 1000000000ull;
    r->keep_bytes = cfg->wal_keep_bytes;
    r->next_check_ns = 0;
    r->next_warn_ns = 0;
    r->bytes_per_seq_x1000 = 0;
}

void wal_retention_note(wal_retention *r, rs_store *store, const char *who, uint64_t batch_time_ns,
                        uint64_t batch_bytes, uint32_t batch_seqs, uint64_t lag_seqs)
{
    /* an exponentially weighted estimate of WAL bytes per sequence number */
    uint64_t sample = batch_seqs > 0 ? batch_bytes * 1000 / batch_seqs : 0;
    r->bytes_per_seq_x1000 = r->bytes_per_seq_x1000 == 0 ? sample : (r->bytes_per_seq_x1000 * 15 + sample) / 16;
    uint64_t now = rs_clock_mono_ns();
    if (now < r->next_check_ns)
        return;
    r->next_check_ns = now + CHECK_EVERY_NS;
    uint64_t wall = rs_clock_wall_ns();
    uint64_t age_ns = batch_time_ns != 0 && wall > batch_time_ns ? wall - batch_time_ns : 0;
    uint64_t behind_bytes = lag_seqs * r->bytes_per_seq_x1000 / 1000;
    uint64_t disk = 0;
    rs_store_wal_disk_bytes(store, &disk, NULL);
    int old = age_ns * 100 >= r->keep_ns * NEAR_PERCENT;
    int far = behind_bytes * 100 >= r->keep_bytes * NEAR_PERCENT;
    if ((!old && !far) || now < r->next_warn_ns)
        return;
    r->next_warn_ns = now + WARN_EVERY_NS;
    RS_LOG_WARN("consumer=%s is near the end of the WAL kept for it: reading batches %llu s old (budget %llu s), "
                "about %llu bytes behind (budget %llu, WAL on disk %llu); past the budget it must resync",
                who, (unsigned long long)(age_ns / 1000000000u), (unsigned long long)(r->keep_ns / 1000000000u),
                (unsigned long long)behind_bytes, (unsigned long long)r->keep_bytes, (unsigned long long)disk);
}

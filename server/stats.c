/*
 * The server's statistics and the store's, each listed once (the metrics
 * registry, common/metrics.h): INFO renders these tables, `rockstream
 * stat` the store's, and a /metrics endpoint will render both. The INFO
 * names are Redis's where Redis has the figure; the Prometheus names are
 * in base units, with the rockstream_ prefix.
 */
#include <stddef.h>

#include "server/server_int.h"

#define C(field, group, name, prom, help) RS_METRIC(RS_METRIC_COUNTER, struct server_stats, field, group, name, prom, help)
#define G(field, group, name, prom, help) RS_METRIC(RS_METRIC_GAUGE, struct server_stats, field, group, name, prom, help)

const rs_metric server_metrics[] = {
    G(connected_clients, "clients", "connected_clients", "rockstream_connected_clients",
      "Client connections open now"),
    G(clients_waiting_for_sync, "clients", "clients_waiting_for_sync", "rockstream_clients_waiting_for_sync",
      "Clients whose replies wait for a WAL fsync now"),
    C(connections_received, "stats", "total_connections_received", "rockstream_connections_received_total",
      "Client connections accepted"),
    C(commands_processed, "stats", "total_commands_processed", "rockstream_commands_processed_total",
      "Commands run"),
    C(net_input_bytes, "stats", "total_net_input_bytes", "rockstream_net_input_bytes_total",
      "Bytes read from clients"),
    C(net_output_bytes, "stats", "total_net_output_bytes", "rockstream_net_output_bytes_total",
      "Bytes sent to clients"),
    C(rejected_connections, "stats", "rejected_connections", "rockstream_rejected_connections_total",
      "Connections refused over max-clients"),
    C(output_limit_disconnects, "stats", "client_output_buffer_limit_disconnections",
      "rockstream_output_limit_disconnections_total", "Clients closed for unsent replies over max-output"),
    C(idle_disconnects, "stats", "client_idle_timeout_disconnections", "rockstream_idle_disconnections_total",
      "Clients closed after idle-timeout"),
    C(protocol_errors, "stats", "total_protocol_errors", "rockstream_protocol_errors_total",
      "Malformed requests (each closes its connection)"),
    C(keyspace_hits, "stats", "keyspace_hits", "rockstream_keyspace_hits_total", "Key reads that found the key"),
    C(keyspace_misses, "stats", "keyspace_misses", "rockstream_keyspace_misses_total",
      "Key reads that did not find the key"),
    C(replies_parked, "stats", "total_replies_waited_for_sync", "rockstream_replies_waited_for_sync_total",
      "Replies held until the writes before them were fsync'd"),
    C(auth_failures, "stats", "acl_access_denied_auth", "rockstream_auth_failures_total",
      "AUTH or HELLO AUTH with a wrong password"),
    C(tls_handshake_failures, "stats", "tls_handshake_failures", "rockstream_tls_handshake_failures_total",
      "TLS connections that failed their handshake"),
};
const size_t server_n_metrics = sizeof server_metrics / sizeof server_metrics[0];

#undef C
#undef G
#define C(field, group, name, prom, help) RS_METRIC(RS_METRIC_COUNTER, rs_store_stats, field, group, name, prom, help)
#define G(field, group, name, prom, help) RS_METRIC(RS_METRIC_GAUGE, rs_store_stats, field, group, name, prom, help)

static const rs_metric store_metrics[] = {
    G(latest_seq, "persistence", "latest_seq", "rockstream_store_latest_sequence",
      "Sequence number of the newest write"),
    G(estimated_keys, "store", "estimated_keys", "rockstream_store_estimated_keys",
      "RocksDB's estimate of the number of keys"),
    G(live_sst_bytes, "store", "live_sst_bytes", "rockstream_store_live_sst_bytes", "Bytes of live SST files"),
    G(n_sst_files, "store", "sst_files", "rockstream_store_sst_files", "Live SST files"),
    G(memtable_bytes, "store", "memtable_bytes", "rockstream_store_memtable_bytes", "Bytes in memtables"),
    G(pending_compaction_bytes, "store", "pending_compaction_bytes", "rockstream_store_pending_compaction_bytes",
      "Bytes RocksDB estimates compaction still has to rewrite"),
    G(n_running_compactions, "store", "running_compactions", "rockstream_store_running_compactions",
      "Compactions running now"),
    G(block_cache_usage_bytes, "store", "block_cache_usage_bytes", "rockstream_store_block_cache_usage_bytes",
      "Bytes in the block cache"),
    G(block_cache_capacity_bytes, "store", "block_cache_capacity_bytes",
      "rockstream_store_block_cache_capacity_bytes", "Capacity of the block cache in bytes"),
    C(block_cache_hits, "store", "block_cache_hits", "rockstream_store_block_cache_hits_total",
      "Block cache hits since the database opened"),
    C(block_cache_misses, "store", "block_cache_misses", "rockstream_store_block_cache_misses_total",
      "Block cache misses since the database opened"),
    C(wal_syncs, "persistence", "wal_syncs", "rockstream_store_wal_syncs_total",
      "WAL fsyncs asked for since the database opened"),
    G(version_latest, "persistence", "version_latest", "rockstream_store_version_latest",
      "Latest committed version of the versioned state (0: none)"),
    G(version_earliest, "persistence", "version_earliest", "rockstream_store_version_earliest",
      "Earliest readable version of the versioned state (0: none)"),
    G(history_sst_bytes, "store", "history_sst_bytes", "rockstream_store_history_sst_bytes",
      "SST bytes of the versioned state's history"),
    C(prune_rounds, "store", "prune_rounds", "rockstream_store_prune_rounds_total",
      "Pruning rounds finished since the database opened"),
    C(prune_versions, "store", "prune_versions", "rockstream_store_pruned_versions_total",
      "Versions pruned since the database opened"),
    C(prune_kept_entries, "store", "prune_kept_entries", "rockstream_store_prune_kept_entries_total",
      "History entries pruning kept for keep-every"),
    C(prune_compactions, "store", "prune_compactions", "rockstream_store_prune_compactions_total",
      "Compactions run to reclaim pruned history"),
    C(prune_reclaimed_bytes, "store", "prune_reclaimed_bytes", "rockstream_store_prune_reclaimed_bytes_total",
      "SST bytes those compactions freed"),
    G(prune_pending_bytes, "store", "prune_pending_bytes", "rockstream_store_prune_pending_bytes",
      "Pruned history not yet reclaimed, in bytes (an estimate)"),
};

const rs_metric *rs_server_store_metrics(size_t *n)
{
    *n = sizeof store_metrics / sizeof store_metrics[0];
    return store_metrics;
}

void server_stats_collect(struct server *srv, struct server_stats *out)
{
    *out = srv->stats;
    out->connected_clients = srv->n_clients;
    out->clients_waiting_for_sync = srv->n_held;
}

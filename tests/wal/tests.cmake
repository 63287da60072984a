# wal/: frames, replication in one process, retention, key files, and
# primary and followers as real processes
rs_unit_test(wal frame)
rs_unit_test(wal repl wal/repl_fixture.c)
rs_unit_test(wal repl_versions wal/repl_fixture.c)
rs_unit_test(wal repl_chain wal/repl_fixture.c)
rs_unit_test(wal repl_attack wal/repl_fixture.c wal/mitm.c)
rs_unit_test(wal retention)
rs_unit_test(wal tail)
rs_unit_test(wal keyfile)
rs_integration_test(repl_daemons wal/test_repl_daemons.sh)
rs_integration_test(repl_versioned wal/test_repl_versioned.sh)
rs_integration_test(repl_flood wal/test_repl_flood.sh)
rs_unit_test(wal repl_disk wal/repl_fixture.c)

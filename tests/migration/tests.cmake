# docs/migration.md, tested: a database the raw RocksDB C API made (two
# column families, options of their own, data in SST files and in the WAL)
# is served, replicated and snapshotted by rockstream, and its families,
# options and data are all still there, read by that same program.
add_executable(rs_rocksdb_app migration/rocksdb_app.c)
target_link_libraries(rs_rocksdb_app PRIVATE PkgConfig::ROCKSDB)
rs_integration_test(migration.adopt migration/test_adopt.sh)

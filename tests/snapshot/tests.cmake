# snapshot/: sealing, tampering, tar, keys, per-file stages, and a second
# reader written from docs/format.md alone
rs_unit_test(snapshot seal snapshot/snap_fixture.c)
rs_unit_test(snapshot tamper snapshot/snap_fixture.c)
rs_unit_test(snapshot tar snapshot/snap_fixture.c)
rs_unit_test(snapshot keys snapshot/snap_fixture.c)
rs_unit_test(snapshot files snapshot/snap_fixture.c)
rs_integration_test(snapshot_cli snapshot/test_snapshot_cli.sh)
rs_integration_test(snapshot_format_reader snapshot/test_format_reader.sh)

# backup/: exports (rockstream snapshot --out URL, unseal --in URL) against
# the radosgw fixture
rs_integration_test(backup_export_url backup/test_export_url.sh)
rs_s3_test(integration.backup_export_url)
rs_integration_test(backup_serve_snapshot_url backup/test_serve_snapshot_url.sh)
rs_s3_test(integration.backup_serve_snapshot_url)

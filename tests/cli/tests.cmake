# the rockstream program: every command end to end
rs_integration_test(cli cli/test_cli.sh)
rs_integration_test(versions cli/test_versions.sh)

# the rockstream program and rockstream serve: the RESP parser, glob
# matching, and real-process tests with redis-cli and a small client
rs_integration_test(cli cli/test_cli.sh)
rs_integration_test(versions cli/test_versions.sh)
rs_unit_test(cli resp ${PROJECT_SOURCE_DIR}/cli/resp.c)
rs_unit_test(cli glob ${PROJECT_SOURCE_DIR}/cli/glob.c)
add_executable(rs_resp_client cli/resp_client.c)
target_link_libraries(rs_resp_client PRIVATE rockstream_static)
rs_integration_test(serve_basic cli/test_serve_basic.sh)
rs_integration_test(serve_pipe cli/test_serve_pipe.sh)
rs_integration_test(serve_limits cli/test_serve_limits.sh)
rs_integration_test(serve_crash cli/test_serve_crash.sh)
rs_integration_test(serve_snapshot cli/test_serve_snapshot.sh)
rs_integration_test(serve_private cli/test_serve_private.sh)

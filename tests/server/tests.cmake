# server/: the RESP parser, glob matching, an instance in the test's
# process (dispatch, connections, setup, SNAPSHOT's directory, statistics),
# and rockstream serve with real processes, redis-cli, redis-py and a small
# client
rs_unit_test(server resp)
rs_unit_test(server glob)
rs_unit_test(server client server/server_fixture.c)
rs_unit_test(server dispatch server/server_fixture.c)
rs_unit_test(server setup)
rs_unit_test(server snapshot_dir)
rs_unit_test(server stats server/server_fixture.c)
add_executable(rs_resp_client server/resp_client.c)
target_link_libraries(rs_resp_client PRIVATE rockstream_static)
rs_integration_test(serve_basic server/test_serve_basic.sh)
rs_integration_test(serve_pipe server/test_serve_pipe.sh)
rs_integration_test(serve_limits server/test_serve_limits.sh)
rs_integration_test(serve_crash server/test_serve_crash.sh)
rs_integration_test(serve_snapshot server/test_serve_snapshot.sh)
rs_integration_test(serve_security server/test_serve_security.sh)
rs_integration_test(serve_private server/test_serve_private.sh)

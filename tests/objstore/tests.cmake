# objstore/: the SigV4 signer (AWS's examples), S3's XML replies, the
# generic layer over the directory and fault-injecting stores
rs_unit_test(objstore sigv4)
rs_unit_test(objstore xml)

rs_unit_test(objstore file objstore/obj_fixture.c)
# a small client the integration tests drive (against radosgw, the fault
# proxy and the AWS CLI)
add_executable(rs_objstore_tool objstore/objstore_tool.c)
target_link_libraries(rs_objstore_tool PRIVATE rockstream_static)
rs_unit_test(objstore s3_conf)
# against the fixture's radosgw (tests/s3/s3.cmake)
rs_unit_test(objstore s3 objstore/obj_fixture.c)
target_link_libraries(test_objstore_s3 PRIVATE rs_tests3)
set_tests_properties(unit.objstore.s3 PROPERTIES LABELS integration)
rs_s3_test(unit.objstore.s3)
rs_integration_test(objstore_s3_cli objstore/test_s3_cli.sh)
rs_s3_test(integration.objstore_s3_cli)
rs_integration_test(objstore_s3_faults objstore/test_s3_faults.sh)
rs_s3_test(integration.objstore_s3_faults)

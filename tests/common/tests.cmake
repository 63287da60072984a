# common/: errors, the synthetic workload, endianness, clocks, arrays
rs_unit_test(common err)
rs_unit_test(common workload)
# zstd checks that "compressibility" is what a real compressor saves
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
target_link_libraries(test_common_workload PRIVATE PkgConfig::ZSTD)
rs_unit_test(common endian)
rs_unit_test(common clock)
rs_unit_test(common array)
rs_unit_test(common assert)
rs_unit_test(common metrics)
# the shared pieces: hex, secret files, tar entry names, atomic file writes
rs_unit_test(common hex)
rs_unit_test(common secret_file)
rs_unit_test(common tar_entry)
rs_unit_test(common atomic_file)

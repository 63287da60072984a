# objstore/: the SigV4 signer (AWS's examples), S3's XML replies, the
# generic layer over the directory and fault-injecting stores
rs_unit_test(objstore sigv4)
rs_unit_test(objstore xml)


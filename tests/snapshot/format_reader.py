#!/usr/bin/python3
"""A second reader of rockstream archives, written from docs/format.md alone
(Python, PyNaCl and the zstd program; none of rockstream's code), so the
test that runs it shows the page is precise enough to read what rockstream
writes: the sealed stream (all three key modes), the per-chunk compression,
the snapshot tar, the key id, the detached manifest's MAC, and the content
digest.

    format_reader.py ARCHIVE KEYFILE OUTDIR [MANIFEST]
    ROCKSTREAM_PASSPHRASE=... format_reader.py ARCHIVE - OUTDIR [MANIFEST]
    rockstream scan --db DIR --hex | format_reader.py digest

Writes OUTDIR/db/<files> and OUTDIR/manifest.json; prints one summary line.
The digest form prints the content digest of the pairs on its input.
Exits 1 with a message on anything the format says a reader refuses.
"""
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tarfile

import nacl.bindings as nb
import nacl.pwhash.argon2id as argon2id

MAGIC = b"\x89RSEAL\r\n"
MODES = {1: "secret", 2: "passphrase", 3: "public"}
HEADER_LEN = {1: 124, 2: 156, 3: 132}


def die(msg):
    sys.stderr.write("format_reader: %s\n" % msg)
    sys.exit(1)


def key_id(material):
    """Keys: BLAKE2b, 8-byte output, message "rockstream key id v1", keyed."""
    return hashlib.blake2b(b"rockstream key id v1", digest_size=8, key=material).hexdigest()


def read_key_file(path):
    """Keys: text `name: value` lines, `#` comments."""
    fields = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, value = line.partition(":")
                fields[name.strip()] = value.strip()
    if fields.get("rockstream-key") != "1":
        die("%s: not a version 1 key file" % path)
    return fields


def data_key(header, mode, key_path):
    """The wrapped data key DK, by key mode; checks the key id first."""
    want_id = header[20:28].hex()
    if mode == 1:
        k = bytes.fromhex(read_key_file(key_path)["secret"])
        if key_id(k) != want_id:
            die("sealed with key %s, given key %s" % (want_id, key_id(k)))
        return nb.crypto_secretbox_open(header[52:100], header[28:52], k)
    if mode == 2:
        salt = header[28:44]
        opslimit, memlimit = struct.unpack("<QQ", header[44:60])
        if opslimit > 64 or memlimit > 1 << 30:
            die("passphrase parameters out of bounds")
        kek = argon2id.kdf(32, os.environ["ROCKSTREAM_PASSPHRASE"].encode(), salt, opslimit=opslimit, memlimit=memlimit)
        if key_id(kek) != want_id:
            die("wrong passphrase")
        return nb.crypto_secretbox_open(header[84:132], header[60:84], kek)
    fields = read_key_file(key_path)
    pk, sk = bytes.fromhex(fields["public"]), bytes.fromhex(fields["secret"])
    if key_id(pk) != want_id:
        die("sealed with key %s, given key %s" % (want_id, key_id(pk)))
    return nb.crypto_box_seal_open(header[28:108], pk, sk)


def parse_header(data):
    if data[:8] != MAGIC:
        die("not a sealed stream (magic)")
    version, hlen, content, scheme, mode, _reserved, chunk = struct.unpack("<HHBBBBI", data[8:20])
    if version != 1:
        die("sealed stream version %d" % version)
    if content != 1 or scheme != 1 or mode not in MODES or hlen != HEADER_LEN[mode]:
        die("header fields: content %d scheme %d mode %d length %d" % (content, scheme, mode, hlen))
    if not 1 <= chunk <= 16 << 20:
        die("chunk size %d" % chunk)
    return hlen, mode, chunk


def zstd_decode(run):
    """A zstd run is one or more whole frames: the zstd program reads them."""
    out = subprocess.run(["zstd", "-d", "-q", "-c"], input=run, stdout=subprocess.PIPE, check=True)
    return out.stdout


def unseal_stream(data, key_path):
    """Chunks: u32 length L, then a secretstream message whose AD is the
    header plus L's bytes for chunk 0, L's bytes after; plaintext = kind
    byte + payload. Returns the tar bytes, the header, DK and the mode."""
    hlen, mode, chunk = parse_header(data)
    header = data[:hlen]
    dk = data_key(header, mode, key_path)
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    nb.crypto_secretstream_xchacha20poly1305_init_pull(state, header[hlen - 24:], dk)
    tar, run, pos, first, final = bytearray(), bytearray(), hlen, True, False
    while pos < len(data):
        if final:
            die("bytes after the final chunk")
        if pos + 4 > len(data):
            die("archive truncated")
        (clen,) = struct.unpack("<I", data[pos:pos + 4])
        if not 18 <= clen <= chunk + 18 or pos + 4 + clen > len(data):
            die("archive truncated" if pos + 4 + clen > len(data) else "chunk length %d" % clen)
        ad = (header if first else b"") + data[pos:pos + 4]
        plain, tag = nb.crypto_secretstream_xchacha20poly1305_pull(state, data[pos + 4:pos + 4 + clen], ad)
        pos, first = pos + 4 + clen, False
        final = tag == nb.crypto_secretstream_xchacha20poly1305_TAG_FINAL
        kind, payload = plain[0], plain[1:]
        if kind == 1:
            run += payload
            continue
        if kind != 0:
            die("chunk kind %d" % kind)
        if run:
            tar += zstd_decode(bytes(run))
            run = bytearray()
        tar += payload
    if not final:
        die("archive truncated")
    if run:
        tar += zstd_decode(bytes(run))
    return bytes(tar), header, dk, mode


def extract(tar_bytes, out_dir):
    """Snapshot tar: db/<name> regular files, flat, then manifest.json last."""
    os.makedirs(os.path.join(out_dir, "db"))
    names, manifest = set(), None
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tf:
        for member in tf:
            if manifest is not None:
                die("an entry after manifest.json: %s" % member.name)
            if not member.isfile():
                die("not a regular file: %s" % member.name)
            body = tf.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = body
                continue
            prefix, _, name = member.name.partition("/")
            if prefix != "db" or not name or "/" in name or name in ("..", ".") or name in names:
                die("refused entry: %s" % member.name)
            names.add(name)
            with open(os.path.join(out_dir, "db", name), "wb") as f:
                f.write(body)
    if manifest is None:
        die("no manifest.json")
    with open(os.path.join(out_dir, "manifest.json"), "wb") as f:
        f.write(manifest)
    return json.loads(manifest), names


def check_detached(path, dk, inner):
    """Manifest: mac = BLAKE2b-256(body, key = MK), MK = crypto_kdf
    (subkey 1, context "rsmanif1") of DK, which is BLAKE2b keyed with DK,
    salt = subkey id (u64) padded to 16 bytes, personal = context padded."""
    with open(path) as f:
        env = json.load(f)
    if env.get("rockstream_manifest") != 1 or env.get("mac_algorithm") != "blake2b-256-keyed":
        die("detached manifest envelope")
    mk = hashlib.blake2b(b"", digest_size=32, key=dk, salt=struct.pack("<Q", 1) + bytes(8),
                         person=b"rsmanif1" + bytes(8)).digest()
    mac = hashlib.blake2b(env["body"].encode(), digest_size=32, key=mk).hexdigest()
    if mac != env["mac"]:
        die("detached manifest: MAC mismatch")
    body = json.loads(env["body"])
    archive = body.pop("archive")
    if body != inner:
        die("detached manifest describes another snapshot")
    return archive


def content_digest(lines):
    """Content digest: BLAKE2b-256 over the domain string, then each pair's
    u64 length and bytes, key then value, in key order, then the count."""
    h = hashlib.blake2b(b"rockstream content digest v1", digest_size=32)
    n = 0
    for line in lines:
        key, _, value = line.rstrip("\n").partition("\t")
        for field in (bytes.fromhex(key), bytes.fromhex(value)):
            h.update(struct.pack("<Q", len(field)))
            h.update(field)
        n += 1
    h.update(struct.pack("<Q", n))
    return h.hexdigest()


def main():
    if sys.argv[1:] == ["digest"]:
        print(content_digest(sys.stdin))
        return
    if len(sys.argv) not in (4, 5):
        die("usage: format_reader.py ARCHIVE KEYFILE|- OUTDIR [MANIFEST]")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    tar_bytes, header, dk, mode = unseal_stream(data, sys.argv[2])
    manifest, names = extract(tar_bytes, sys.argv[3])
    listed = {entry["path"]: entry["size"] for entry in manifest["files"]}
    if set(listed) != names:
        die("files differ from the manifest's list")
    for name, size in listed.items():
        if os.path.getsize(os.path.join(sys.argv[3], "db", name)) != size:
            die("%s: size differs from the manifest" % name)
    if manifest["seal"]["header"] != header.hex() or manifest["seal"]["key_mode"] != MODES[mode]:
        die("manifest's seal differs from the header")
    detached = ""
    if len(sys.argv) == 5:
        archive = check_detached(sys.argv[4], dk, manifest)
        if archive["size"] != len(data):
            die("detached manifest: archive size %d, file %d" % (archive["size"], len(data)))
        detached = " detached-mac-ok"
    print("ok mode=%s files=%d sequence=%d digest=%s%s" % (MODES[mode], len(names), manifest["sequence"],
                                                          manifest["content_digest"]["value"], detached))


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: GPL-2.0-or-later
"""Makes damaged RPMs for the bad-input tests: edits a string tag of the main header in place
(same length) and recomputes the signature header's SHA1/SHA256 header digests and MD5, so the
package still passes rpm's header checks and only the edited fact is wrong."""

import hashlib
import struct

MAGIC = b"\x8e\xad\xe8\x01\x00\x00\x00\x00"
SIG_SHA1, SIG_SHA256, SIG_MD5 = 269, 273, 1004


def _header(data, off):
    if data[off:off + 8] != MAGIC:
        raise ValueError("no header magic")
    nindex, hsize = struct.unpack(">II", data[off + 8:off + 16])
    entries = [struct.unpack(">IIII", data[off + 16 + 16 * i:off + 32 + 16 * i]) for i in range(nindex)]
    store = off + 16 + 16 * nindex
    return entries, store, store + hsize


def replace_in_tag(path, out, tag, old, new):
    """Replaces bytes old by new (same length) inside the value of tag in the main header."""
    assert len(old) == len(new)
    data = bytearray(open(path, "rb").read())
    sig_entries, sig_store, sig_end = _header(data, 96)
    main = sig_end + (-sig_end % 8)
    entries, store, end = _header(data, main)
    ent = next(e for e in entries if e[0] == tag)
    start = store + ent[2]
    nxt = min([store + e[2] for e in entries if store + e[2] > start] + [end])
    pos = data.find(old, start, nxt)
    if pos < 0:
        raise ValueError(f"{old!r} not in tag {tag}")
    data[pos:pos + len(old)] = new
    blob = bytes(data[main:end])
    for e in sig_entries:
        p = sig_store + e[2]
        if e[0] == SIG_SHA1:
            data[p:p + 40] = hashlib.sha1(blob).hexdigest().encode()
        elif e[0] == SIG_SHA256:
            data[p:p + 64] = hashlib.sha256(blob).hexdigest().encode()
        elif e[0] == SIG_MD5:
            data[p:p + 16] = hashlib.md5(bytes(data[main:])).digest()
    open(out, "wb").write(data)

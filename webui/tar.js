// SPDX-License-Identifier: GPL-2.0-or-later
// A POSIX ustar archive built as a Blob from other Blobs: the browser streams the members (a core
// file of gigabytes is never read into memory), only the 512-byte headers are made here.
'use strict';

const RTTar = {};

function tarOctal(buf, offset, length, value) {
  // length-1 octal digits and a NUL; sizes too large for that use the base-256 form (GNU, libarchive
  // reads it) with the high bit of the first byte set.
  const digits = value.toString(8);
  if (digits.length <= length - 1) {
    const s = digits.padStart(length - 1, '0');
    for (let i = 0; i < s.length; i++) buf[offset + i] = s.charCodeAt(i);
    buf[offset + length - 1] = 0;
    return;
  }
  let v = BigInt(value);
  for (let i = length - 1; i > 0; i--) { buf[offset + i] = Number(v & 0xffn); v >>= 8n; }
  buf[offset] = 0x80;
}

function tarString(buf, offset, length, s) {
  const bytes = new TextEncoder().encode(s);
  if (bytes.length > length) throw new Error('tar: name too long: ' + s);
  buf.set(bytes, offset);
}

RTTar.header = function (name, size, mtime) {
  const h = new Uint8Array(512);
  tarString(h, 0, 100, name);
  tarOctal(h, 100, 8, 0o644);
  tarOctal(h, 108, 8, 0);
  tarOctal(h, 116, 8, 0);
  tarOctal(h, 124, 12, size);
  tarOctal(h, 136, 12, mtime);
  h.fill(0x20, 148, 156); // the checksum counts its own field as spaces
  h[156] = 0x30;          // '0': a regular file
  tarString(h, 257, 6, 'ustar');
  tarString(h, 263, 2, '00');
  tarString(h, 265, 32, 'retrace');
  tarString(h, 297, 32, 'retrace');
  let sum = 0;
  for (const b of h) sum += b;
  const s = sum.toString(8).padStart(6, '0');
  for (let i = 0; i < 6; i++) h[148 + i] = s.charCodeAt(i);
  h[154] = 0;
  h[155] = 0x20;
  return h;
};

// members: [{name, data: Blob | string}] → a Blob holding the archive.
RTTar.build = function (members) {
  const parts = [];
  const mtime = Math.floor(Date.now() / 1000);
  for (const m of members) {
    const data = typeof m.data === 'string' ? new Blob([m.data]) : m.data;
    parts.push(RTTar.header(m.name, data.size, mtime), data);
    const pad = (512 - (data.size % 512)) % 512;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(1024)); // two zero blocks end the archive
  return new Blob(parts, { type: 'application/x-tar' });
};

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""TestOS is served as real repositories over HTTP on loopback (through the integration harness):
repomd.xml, the metadata it points to and the packages download with matching checksums."""

import gzip
import hashlib
import os
import sys
import xml.etree.ElementTree as ET

import retrace_test as rt

TOS = rt.testos_dir()
NS = {"repo": "http://linux.duke.edu/metadata/repo", "common": "http://linux.duke.edu/metadata/common"}


def test_repositories_over_http():
    srv = rt.Server(lambda port, tmp: [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                                       "--directory", os.path.join(TOS, "repos")], name="repo-server")
    with srv:
        srv.start(ready_path="1/x86_64/os/repodata/repomd.xml")
        for dist in ("1", "2"):
            base = f"{srv.base_url}{dist}/x86_64/os/"
            st, _, body = rt.http_get(base + "repodata/repomd.xml")
            rt.check(st == 200, f"repomd.xml: HTTP {st}")
            repomd = ET.fromstring(body)
            data = repomd.find("repo:data[@type='primary']", NS)
            href = data.find("repo:location", NS).get("href")
            st, _, primary_gz = rt.http_get(base + href)
            rt.check(st == 200, f"{href}: HTTP {st}")
            rt.check(hashlib.sha256(primary_gz).hexdigest() == data.find("repo:checksum", NS).text,
                     f"{href}: checksum differs from repomd.xml")
            primary = ET.fromstring(gzip.decompress(primary_gz))
            pkg = next(p for p in primary.findall("common:package", NS)
                       if p.find("common:name", NS).text == "crashy")
            st, _, rpm = rt.http_get(base + pkg.find("common:location", NS).get("href"))
            rt.check(st == 200 and rpm[:4] == b"\xed\xab\xee\xdb", "crashy RPM did not download")
            rt.check(hashlib.sha256(rpm).hexdigest() == pkg.find("common:checksum", NS).text,
                     "crashy RPM checksum differs from primary.xml")
        st, _, _ = rt.http_get(srv.base_url + "3/x86_64/os/repodata/repomd.xml")
        rt.check(st == 404, f"a release that does not exist answered {st}")


rt.run_tests([test_repositories_over_http])

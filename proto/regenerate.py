"""Regenerate the release service's Python code from its .proto source.

    python -m tastevec.proto.regenerate          # rewrite the committed files
    tests/proto/test_generated_code.py           # regenerates into a scratch folder, fails on drift

Needs the dev extra's pinned grpcio-tools (<=1.81.1: newer ones emit code that needs
protobuf 7, which flwr 1.42 does not allow). protoc sees this folder as tastevec/proto on its
include path, so the generated modules import each other as tastevec.proto.release.v1.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
SOURCES = ("release/v1/release.proto",)
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generated_files(source: str) -> list[str]:
    stem = source.removesuffix(".proto")
    return [stem + suffix for suffix in GENERATED_SUFFIXES]


def generate(out: Path) -> list[Path]:
    """Write the generated code for every source under `out` (mirroring this folder)."""
    from grpc_tools import protoc  # dev-only: the product imports the committed output

    with tempfile.TemporaryDirectory() as scratch:
        include = Path(scratch) / "include"
        (include / "tastevec" / "proto").mkdir(parents=True)
        for source in SOURCES:
            target = include / "tastevec" / "proto" / source
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(PROTO_ROOT / source, target)
        generated = Path(scratch) / "out"
        generated.mkdir()
        well_known = Path(protoc.__file__).parent / "_proto"
        for source in SOURCES:
            code = protoc.main(
                [
                    "grpc_tools.protoc",
                    f"-I{include}",
                    f"-I{well_known}",
                    f"--python_out={generated}",
                    f"--pyi_out={generated}",
                    f"--grpc_python_out={generated}",
                    str(include / "tastevec" / "proto" / source),
                ]
            )
            if code != 0:
                raise RuntimeError(f"protoc failed on {source} (exit {code})")
        written = []
        for source in SOURCES:
            for name in generated_files(source):
                target = out / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(generated / "tastevec" / "proto" / name, target)
                written.append(target)
        return written


def main() -> int:
    for path in generate(PROTO_ROOT):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

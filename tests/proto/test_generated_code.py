"""The committed generated code is what the pinned grpcio-tools makes of the .proto source."""

from importlib.metadata import version
from pathlib import Path

import grpc_tools

from tastevec.proto.regenerate import PROTO_ROOT, SOURCES, generate, generated_files


def test_regenerating_changes_nothing(tmp_path: Path) -> None:
    assert version("grpcio-tools") == "1.81.1", "pyproject pins the generator"
    written = generate(tmp_path)
    expected = [tmp_path / name for source in SOURCES for name in generated_files(source)]
    assert written == expected
    drifted = [
        path.name
        for path in written
        if path.read_bytes() != (PROTO_ROOT / path.relative_to(tmp_path)).read_bytes()
    ]
    assert not drifted, f"regenerate with: python -m tastevec.proto.regenerate ({drifted})"


def test_generated_code_imports_as_tastevec_proto() -> None:
    from tastevec.proto.release.v1 import release_pb2, release_pb2_grpc

    assert release_pb2.DESCRIPTOR.package == "tastevec.release.v1"
    assert hasattr(release_pb2_grpc, "ReleaseServiceStub")
    assert Path(grpc_tools.__file__).exists()

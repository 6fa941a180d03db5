from pathlib import Path

import pytest

from tastevec.common.errors import KeyFileError
from tastevec.common.signing import load_private_key, load_public_key, public_key_fingerprint
from tastevec.server.keys import generate_key_pair


def test_a_new_key_pair_is_private_to_its_owner_and_loads(tmp_path: Path) -> None:
    private, public = generate_key_pair(tmp_path / "keys" / "release-key")
    assert private == tmp_path / "keys" / "release-key"
    assert public == tmp_path / "keys" / "release-key.pub"
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in private.parent.iterdir()) == ["release-key", "release-key.pub"]
    assert public_key_fingerprint(load_private_key(private).public_key()) == (
        public_key_fingerprint(load_public_key(public))
    )


def test_each_new_pair_is_a_new_key(tmp_path: Path) -> None:
    _, first = generate_key_pair(tmp_path / "a")
    _, second = generate_key_pair(tmp_path / "b")
    assert first.read_bytes() != second.read_bytes()


@pytest.mark.parametrize("existing", ["release-key", "release-key.pub"])
def test_an_existing_key_file_is_never_overwritten(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"precious")
    with pytest.raises(KeyFileError, match=f"{existing} already exists; refusing to overwrite"):
        generate_key_pair(tmp_path / "release-key")
    assert [(p.name, p.read_bytes()) for p in tmp_path.iterdir()] == [(existing, b"precious")]

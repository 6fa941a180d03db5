import hashlib
from pathlib import Path

import torch

from tastevec.common.atomic_file import write_atomic
from tastevec.common.digests import sha256_bytes, sha256_file, state_dict_digest


def test_file_and_bytes_digests_agree(tmp_path: Path) -> None:
    data = b"tastevec" * 300_000
    path = tmp_path / "blob"
    write_atomic(path, data)
    assert sha256_file(path) == sha256_bytes(data) == hashlib.sha256(data).hexdigest()


def test_state_dict_digest_ignores_key_order_but_not_values_dtype_or_names() -> None:
    state = {"a": torch.arange(6.0).reshape(2, 3), "n": torch.tensor(3)}
    reordered = {"n": torch.tensor(3), "a": torch.arange(6.0).reshape(2, 3)}
    assert state_dict_digest(state) == state_dict_digest(reordered)
    changed = dict(state, a=state["a"].clone().index_fill_(1, torch.tensor([0]), 9.0))
    assert state_dict_digest(changed) != state_dict_digest(state)
    assert state_dict_digest(dict(state, a=state["a"].double())) != state_dict_digest(state)
    assert state_dict_digest({"b": state["a"], "n": state["n"]}) != state_dict_digest(state)
    assert state_dict_digest(dict(state, a=state["a"].reshape(3, 2))) != state_dict_digest(state)

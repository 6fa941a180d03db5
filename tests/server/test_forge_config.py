"""forge.toml: worlds and explicit databases, defaults, and every mistake named."""

import contextlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastevec.server.forge_config import ConfigError, load_forge_config, parse_forge_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "forge.toml"
    path.write_text(text)
    return path


def fake_world(root: Path) -> None:
    entries = {
        name: {"loader": name, "path": f"databases/{name}", "role": role, "image_options": opts}
        for name, role, opts in [
            ("koniq10k", "quality", {}),
            ("spaq", "quality", {"test_fraction": 0.2, "seed": 0}),
            ("ava", "aesthetics", {}),
            ("aadb", "test-only", {}),
        ]
    }
    root.mkdir()
    (root / "world.json").write_text(json.dumps({"databases": entries}))


def test_a_world_gives_its_training_databases_in_the_papers_order(tmp_path: Path) -> None:
    fake_world(tmp_path / "w")
    config = load_forge_config(write(tmp_path, 'world = "w"\n'))
    assert [db.name for db in config.databases] == ["ava", "koniq10k", "spaq"]
    assert config.databases[2].root == tmp_path / "w" / "databases" / "spaq"
    assert dict(config.databases[2].options) == {"test_fraction": 0.2, "seed": 0}
    assert (config.training.loss, config.training.scope, config.encoding) == (
        "rank",
        "all",
        "float16",
    )
    assert config.backbone.name == "tf_efficientnet_lite0"


def test_world_databases_chooses_some(tmp_path: Path) -> None:
    fake_world(tmp_path / "w")
    config = load_forge_config(write(tmp_path, 'world = "w"\nworld_databases = ["spaq"]\n'))
    assert [db.name for db in config.databases] == ["spaq"]
    with pytest.raises(ConfigError, match="not training databases"):
        load_forge_config(write(tmp_path, 'world = "w"\nworld_databases = ["aadb"]\n'))


def test_explicit_databases_and_settings(tmp_path: Path) -> None:
    config = load_forge_config(
        write(
            tmp_path,
            '[[databases]]\nname = "koniq10k"\nroot = "data/koniq"\n'
            '[[databases]]\nname = "spaq"\nroot = "/abs/spaq"\noptions = { test_fraction = 0.1 }\n'
            '[training]\nloss = "emd"\nsteps = 10\nscope = "top-3"\nimage_size = 160\n'
            '[release]\nencoding = "topk-20"\n',
        )
    )
    assert [db.root for db in config.databases] == [tmp_path / "data/koniq", Path("/abs/spaq")]
    assert (config.training.loss, config.training.steps, config.training.scope) == (
        "emd",
        10,
        "top-3",
    )
    assert config.encoding == "topk-20"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "names no database"),
        ('world = "nowhere"\n', "not a photo world"),
        ('[[databases]]\nname = "imagenet"\nroot = "x"\n', "unknown database 'imagenet'"),
        ('[[databases]]\nname = "ava"\n', r"databases\[0\] needs a name and a root"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nloss = "l1"\n', "training.loss"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nlr = 0\n', "training.lr"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nscope = "top-0"\n', "scope"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nbatch_size = 1\n', "batch_size"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nepoch = 1\n', "training.epoch"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[release]\nencoding = "int4"\n', "int4"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nsteps = "ten"\n', "steps"),
        (
            '[[databases]]\nname = "ava"\nroot = "a"\n[backbone]\nhead = "scalar"\n'
            '[training]\nloss = "emd"\n',
            "needs backbone.head",
        ),
        (
            '[[databases]]\nname = "ava"\nroot = "a"\n[[databases]]\nname = "ava"\nroot = "b"\n',
            "twice",
        ),
        ("world = [", "not valid TOML"),
        ("colour = 1\n", "unknown setting colour"),
        # values of the wrong type, each a one-line error rather than a traceback
        ("backbone = 3\n", r"backbone must be a table, not an integer \(3\)"),
        ("release = 5\n", "release must be a table, not an integer"),
        ('training = "x"\n', "training must be a table, not a string"),
        ("world = 7\n", "world has the wrong type: 7"),
        ('databases = "ava"\n', "databases must be an array of tables, not a string"),
        ("databases = [3]\n", r"databases\[0\] must be a table"),
        ('[[databases]]\nname = "ava"\nroot = "a"\noptions = 3\n', r"options must be a table"),
        ('[[databases]]\nname = 4\nroot = "a"\n', r"databases\[0\].name has the wrong type"),
        ('[[databases]]\nname = "ava"\nroot = ["a"]\n', r"root has the wrong type"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[backbone]\nname = 1\n', "backbone.name"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[backbone]\nhead_seed = "0"\n', "head_seed"),
        ('[[databases]]\nname = "ava"\nroot = "a"\n[release]\nencoding = 8\n', "encoding"),
        # numbers that are not finite are refused before training starts
        ('[[databases]]\nname = "ava"\nroot = "a"\n[training]\nlr = inf\n', "lr must be a finite"),
        (
            '[[databases]]\nname = "ava"\nroot = "a"\n[training]\nweight_decay = nan\n',
            "weight_decay must be a finite number",
        ),
        (
            '[[databases]]\nname = "ava"\nroot = "a"\n[training]\nhead_lr = -inf\n',
            "head_lr must be a finite",
        ),
    ],
)
def test_mistakes_are_one_line_errors_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_forge_config(write(tmp_path, text))
    assert str(caught.value).startswith(str(tmp_path / "forge.toml"))
    assert "\n" not in str(caught.value)


def test_a_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="forge config not found"):
        load_forge_config(tmp_path / "absent.toml")


def test_a_config_that_is_not_utf8_or_not_a_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "forge.toml"
    path.write_bytes(b'world = "w"\n# caf\xe9\n')
    with pytest.raises(ConfigError, match=r"forge.toml:2: forge config is not UTF-8 text"):
        load_forge_config(path)
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a FIFO"):
        load_forge_config(fifo)
    zero = tmp_path / "zero.toml"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="is a device"):
        load_forge_config(zero)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"path": "databases/ava", "role": "aesthetics"}, "databases.ava needs a 'loader' string"),
        ({"loader": "ava"}, "databases.ava needs a 'path' string"),
        ("ava", "databases.ava must be an object, not a string"),
        ({"loader": "ava", "path": "p", "image_options": [1]}, "image_options must be an object"),
        ({"loader": "ava", "path": "p", "role": 3}, "role must be a string"),
    ],
)
def test_a_world_file_entry_that_is_not_a_database_is_named(
    tmp_path: Path, entry: object, message: str
) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "world.json").write_text(json.dumps({"databases": {"ava": entry}}))
    with pytest.raises(ConfigError, match=message) as caught:
        load_forge_config(write(tmp_path, 'world = "w"\n'))
    assert "world.json" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("document", ["[1, 2]", '{"databases": [1]}', "not json", '"x"'])
def test_a_world_file_that_is_not_a_photo_world_is_named(tmp_path: Path, document: str) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "world.json").write_text(document)
    with pytest.raises(ConfigError, match="world.json"):
        load_forge_config(write(tmp_path, 'world = "w"\n'))


_TOML_SCALARS = (
    st.integers(-5, 5)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.text(max_size=8)
)
_TOML_VALUES = st.recursive(
    _TOML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["world", "databases", "backbone", "training", "release", "world_databases", "other"]
)
_TRAINING = st.dictionaries(
    st.sampled_from(["loss", "lr", "epochs", "steps", "batch_size", "scope", "weight_decay"]),
    _TOML_VALUES,
    max_size=4,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    document=st.dictionaries(_KEYS, _TOML_VALUES, max_size=4),
    training=_TRAINING,
)
def test_any_config_gives_a_config_or_a_config_error(
    tmp_path: Path, document: dict[str, object], training: dict[str, object]
) -> None:
    """Arbitrary TOML-shaped input: a ForgeConfig or ConfigError, never another exception."""
    document.setdefault("databases", [{"name": "ava", "root": "a"}])
    document.setdefault("training", training)
    with contextlib.suppress(ConfigError):
        parse_forge_config(document, base_dir=tmp_path)

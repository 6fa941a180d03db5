"""forge.toml: worlds and explicit databases, defaults, and every mistake named."""

import json
from pathlib import Path

import pytest

from tastevec.server.forge_config import ConfigError, load_forge_config


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
    with pytest.raises(ConfigError, match="cannot read forge config"):
        load_forge_config(tmp_path / "absent.toml")

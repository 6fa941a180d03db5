"""`tastevec-server`: the operator's command line.

- `keygen`: make the Ed25519 key pair that signs releases.
- `forge`: fine-tune one task vector per database and write a signed release.
- `verify`: check a release against a public key.

Distributed forging: `torchrun --nproc-per-node N -m tastevec.server forge ...`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tastevec.common.command_line import new_parser, run
from tastevec.common.release import verify_release
from tastevec.common.signing import load_private_key, load_public_key, public_key_fingerprint
from tastevec.server.forge import forge_release
from tastevec.server.forge_config import load_forge_config
from tastevec.server.keys import generate_key_pair

DEFAULT_KEY = Path("release-key")


def main(argv: Sequence[str] | None = None) -> int:
    parser = new_parser(
        "tastevec-server",
        "Operator side of tastevec: forges task vectors from aesthetic and quality databases "
        "and distributes them as signed releases.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    keygen = commands.add_parser("keygen", help="make the key pair that signs releases")
    keygen.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_KEY,
        help="private key file (mode 0600); the public key goes beside it as OUT.pub "
        "(default: %(default)s)",
    )
    keygen.set_defaults(handler=_keygen)

    forge = commands.add_parser("forge", help="forge task vectors and write a signed release")
    forge.add_argument("--config", type=Path, required=True, help="forge.toml")
    forge.add_argument("--out", type=Path, required=True, help="new release folder")
    forge.add_argument(
        "--key", type=Path, default=DEFAULT_KEY, help="private signing key (default: %(default)s)"
    )
    forge.add_argument(
        "--work",
        type=Path,
        help="checkpoints and finished vectors, kept for resuming (default: OUT.work)",
    )
    forge.add_argument(
        "--from-release",
        type=Path,
        help="an earlier release whose task vectors are reused when nothing about them changed",
    )
    forge.add_argument("--trust", type=Path, help="public key of --from-release (default: KEY.pub)")
    forge.add_argument("--no-progress", action="store_true", help="no progress bars")
    forge.set_defaults(handler=_forge)

    verify = commands.add_parser("verify", help="verify a release against a public key")
    verify.add_argument("release", type=Path, help="release folder")
    verify.add_argument("--trust", type=Path, required=True, help="public key file")
    verify.set_defaults(handler=_verify)
    return run(parser, argv)


def _keygen(args: argparse.Namespace) -> int:
    private, public = generate_key_pair(args.out)
    fingerprint = public_key_fingerprint(load_public_key(public))
    print(f"private key: {private} (keep it secret)\npublic key:  {public} ({fingerprint[:16]})")
    return 0


def _forge(args: argparse.Namespace) -> int:
    config = load_forge_config(args.config)
    private_key = load_private_key(args.key)
    trust = None
    if args.from_release is not None:
        trust = load_public_key(args.trust or args.key.with_name(args.key.name + ".pub"))
    manifest = forge_release(
        config,
        args.out,
        private_key=private_key,
        work_dir=args.work,
        from_release=args.from_release,
        trust=trust,
        show_progress=not args.no_progress,
    )
    if manifest is not None:
        print(f"release {manifest.release_id} written to {args.out}")
        for entry in manifest.task_vectors:
            print(
                f"  {entry.source:<12} SROCC {entry.metrics['srocc']:.3f} "
                f"PLCC {entry.metrics['plcc']:.3f}  {entry.blob.size / 1e6:.1f} MB {entry.encoding}"
            )
    return 0


def _verify(args: argparse.Namespace) -> int:
    manifest = verify_release(args.release, load_public_key(args.trust))
    sources = ", ".join(entry.source for entry in manifest.task_vectors)
    print(f"release {manifest.release_id} verifies: {len(manifest.blobs())} blobs ({sources})")
    return 0

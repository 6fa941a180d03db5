"""`tastevec-server`: the operator's command line.

- `keygen`: make the Ed25519 key pair that signs releases.
- `forge`: fine-tune one task vector per database and write a signed release.
- `verify`: check a release against a public key.
- `publish`: add a release to a release store (on disk, or over the wire as a writer).
- `serve`: the release service over gRPC (server/release_server.py).
- `tls`, `node-key`, `writer-token`: a deployment's other secrets (deployment_credentials.py).

Distributed forging: `torchrun --nproc-per-node N -m tastevec.server forge ...`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tastevec.common.command_line import new_parser, run
from tastevec.common.errors import KeyFileError
from tastevec.common.release import verify_release
from tastevec.common.signing import load_private_key, load_public_key, public_key_fingerprint
from tastevec.server.deployment_credentials import (
    DEFAULT_HOSTS,
    write_node_key,
    write_tls_credentials,
    write_writer_token,
)
from tastevec.server.keys import generate_key_pair
from tastevec.server.release_publisher import publish_over_wire
from tastevec.server.release_server import (
    ServerLimits,
    TlsFiles,
    create_server,
    read_writer_token,
    serve,
)
from tastevec.server.release_store import ReleaseStore

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
    _add_publish(commands)
    _add_serve(commands)
    _add_credentials(commands)
    return run(parser, argv)


def _add_credentials(commands: argparse._SubParsersAction) -> None:
    tls = commands.add_parser(
        "tls",
        help="make a private CA and a server certificate (release service, SuperLink)",
        description="Write ca.pem/ca.key (made once; an existing CA in OUT is reused) and a "
        "new server.pem/server.key for the given hosts. Devices trust ca.pem.",
    )
    tls.add_argument("--out", type=Path, required=True, help="folder for the four files")
    tls.add_argument(
        "--host",
        action="append",
        help="a DNS name or IP address the server is reached by (repeatable; default: "
        f"{', '.join(DEFAULT_HOSTS)})",
    )
    tls.add_argument("--days", type=int, default=365, help="server certificate validity")
    tls.set_defaults(handler=_tls)
    node = commands.add_parser(
        "node-key", help="make a SuperNode's authentication key pair (EC P-384, OpenSSH)"
    )
    node.add_argument("--out", type=Path, required=True, help="private key; OUT.pub beside it")
    node.set_defaults(handler=_node_key)
    token = commands.add_parser(
        "writer-token", help="make the release service's writer token (a 0600 file)"
    )
    token.add_argument("--out", type=Path, required=True, help="token file")
    token.set_defaults(handler=_writer_token)


def _tls(args: argparse.Namespace) -> int:
    made = write_tls_credentials(args.out, args.host or DEFAULT_HOSTS, days=args.days)
    ca = "reused" if made.ca_reused else "new"
    print(
        f"CA ({ca}): {made.ca_cert}\nserver certificate: {made.server_cert}\n"
        f"server key: {made.server_key} (keep it secret)"
    )
    return 0


def _node_key(args: argparse.Namespace) -> int:
    private, public = write_node_key(args.out)
    print(f"SuperNode key: {private} (keep it on the device)\nregister: {public}")
    return 0


def _writer_token(args: argparse.Namespace) -> int:
    print(f"writer token: {write_writer_token(args.out)} (keep it secret)")
    return 0


def _add_publish(commands: argparse._SubParsersAction) -> None:
    publish = commands.add_parser(
        "publish",
        help="add a signed release to a release store",
        description="Verify RELEASE_DIR and add it to a release store: --store DIR on this "
        "machine, or --server HOST:PORT as a writer (--token-file). Only the blobs the store "
        "lacks are copied or sent.",
    )
    publish.add_argument("release", type=Path, metavar="RELEASE_DIR", help="release folder")
    where = publish.add_mutually_exclusive_group(required=True)
    where.add_argument("--store", type=Path, help="release store folder")
    where.add_argument("--server", help="a release service, HOST:PORT")
    publish.add_argument(
        "--trust",
        type=Path,
        help="public key of the releases (needed the first time a store is published into)",
    )
    publish.add_argument("--token-file", type=Path, help="writer token (with --server)")
    publish.add_argument("--tls-ca", type=Path, help="CA certificate of the server (with --server)")
    publish.set_defaults(handler=_publish)


def _add_serve(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve a release store over gRPC",
        description="Serve the releases of a store to devices over gRPC, with the standard "
        "health service and server reflection. Stops gracefully on SIGTERM.",
    )
    serve.add_argument("--store", type=Path, required=True, help="release store folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    serve.add_argument(
        "--port", type=int, default=50051, help="port, 0 for any (default: %(default)s)"
    )
    serve.add_argument("--tls-cert", type=Path, help="TLS certificate chain (PEM)")
    serve.add_argument("--tls-key", type=Path, help="TLS private key (PEM)")
    serve.add_argument(
        "--writer-token-file",
        type=Path,
        help="a file (mode 0600) holding the token writers publish with; without it the "
        "service takes no publishes over the wire",
    )
    serve.add_argument(
        "--grace", type=float, default=10.0, help="seconds calls get to finish on SIGTERM"
    )
    serve.set_defaults(handler=_serve)


def _keygen(args: argparse.Namespace) -> int:
    private, public = generate_key_pair(args.out)
    fingerprint = public_key_fingerprint(load_public_key(public))
    print(f"private key: {private} (keep it secret)\npublic key:  {public} ({fingerprint[:16]})")
    return 0


def _forge(args: argparse.Namespace) -> int:
    from tastevec.server.forge import forge_release  # torch loads only in forge
    from tastevec.server.forge_config import load_forge_config

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


def _publish(args: argparse.Namespace) -> int:
    if args.store is not None:
        outcome = ReleaseStore.open(args.store, trust=args.trust).publish_from_dir(args.release)
    else:
        if args.token_file is None:
            raise KeyFileError("publish --server needs --token-file (the writer token)")
        token = read_writer_token(args.token_file)
        outcome = publish_over_wire(args.release, args.server, token, tls_ca=args.tls_ca)
    state = "now current" if outcome.current else "not current: the store holds a newer one"
    print(f"release {outcome.release_id} published ({state})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    if (args.tls_cert is None) != (args.tls_key is None):
        raise KeyFileError("give both --tls-cert and --tls-key, or neither")
    tls = TlsFiles(args.tls_cert, args.tls_key) if args.tls_cert is not None else None
    token = None if args.writer_token_file is None else read_writer_token(args.writer_token_file)
    if token is not None and tls is None and args.host not in ("127.0.0.1", "localhost", "::1"):
        raise KeyFileError(
            "a writer token over plaintext would travel in the clear; give --tls-cert and "
            "--tls-key, or bind 127.0.0.1"
        )
    store = ReleaseStore.open(args.store)
    limits = ServerLimits(grace_seconds=args.grace)
    running = create_server(
        store, f"{args.host}:{args.port}", tls=tls, writer_token=token, limits=limits
    )
    scheme = "TLS" if tls else "plaintext"
    print(f"serving {args.store} on {args.host}:{running.port} ({scheme})", flush=True)
    serve(running, grace_seconds=args.grace)
    print("stopped", flush=True)
    return 0

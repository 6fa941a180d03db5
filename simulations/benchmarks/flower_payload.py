"""A Flower app that moves one payload from the ServerApp to each SuperNode's ClientApp,
through Flower's own message transport (SuperLink, SuperNode): the peer a Flower user would
reach for to distribute a release. `bench release` times it beside `pull --server`.

The ServerApp sends a `query` message whose ArrayRecord holds `payload-mb` MB of random
bytes, waits for the (tiny) reply, and writes the seconds it took to `result-file`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp

server_app = ServerApp()
client_app = ClientApp()


@server_app.main()
def send_payload(grid: Grid, context: Context) -> None:
    size = int(float(context.run_config["payload-mb"]) * 10**6)
    result = Path(str(context.run_config["result-file"]))
    payload = np.frombuffer(np.random.default_rng(0).bytes(size), dtype=np.uint8)
    nodes: list[int] = []
    while not nodes:
        nodes = list(grid.get_node_ids())
        time.sleep(0.2)
    content = RecordDict({"payload": ArrayRecord([payload])})
    start = time.perf_counter()
    messages = [Message(content=content, dst_node_id=node, message_type="query") for node in nodes]
    replies = list(grid.send_and_receive(messages, timeout=600))
    seconds = time.perf_counter() - start
    received = [
        int(str(r.content.config_records["seen"]["bytes"])) for r in replies if r.has_content()
    ]
    result.write_text(json.dumps({"seconds": seconds, "bytes": received, "sent": size}))


@client_app.query()
def receive_payload(msg: Message, context: Context) -> Message:
    array = msg.content.array_records["payload"]
    seen = sum(int(item.numpy().nbytes) for item in array.values())
    return Message(RecordDict({"seen": ConfigRecord({"bytes": seen})}), reply_to=msg)

import os

import torch

from tastevec.simulations.tools.machine import describe_machine, machine_table


def test_machine_description_names_what_a_reader_needs() -> None:
    description = describe_machine()
    assert description["cpu cores (os.cpu_count)"] == str(os.cpu_count())
    assert description["torch"] == torch.__version__
    assert description["device"].startswith("cuda" if torch.cuda.is_available() else "cpu")
    table = machine_table(description)
    assert table[:2] == ["| machine | |", "|---|---|"]
    assert len(table) == len(description) + 2

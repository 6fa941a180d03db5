import pytest

from tastevec.simulations.benchmarks.memory_probe import measure_in_fresh_process


@pytest.mark.slow
def test_composition_costs_memory_for_its_task_vectors() -> None:
    plain = measure_in_fresh_process("plain", 1, 32, 2)
    composed = measure_in_fresh_process("composed", 1, 32, 2)
    assert plain["device"] == "cpu"
    for result in (plain, composed):
        assert result["baseline_bytes"] > 0
        assert result["step_peak_bytes"] > 0
    # two float32 task vectors of a 4.7 M-parameter model hold ~37 MiB; their stacks too
    extra = composed["setup_peak_bytes"] - plain["setup_peak_bytes"]
    assert extra > 30 * 2**20

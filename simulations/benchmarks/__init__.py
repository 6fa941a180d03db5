"""`tastevec-sim bench ...`: each benchmark writes a markdown report (with the machine described),
and the helpers only benchmarks use."""

"""The photo world: a deterministic benchmark of real photos, simulated raters and people,
written in the real databases' formats (`tastevec-sim world`)."""

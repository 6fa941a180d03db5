"""The library both sides share: models, task vectors, composition, metrics, images.

Pure library: no I/O policy, and no imports from tastevec.server, tastevec.client or
tastevec.simulations.
"""

"""The device: release cache, ratings store, coefficient fitting, personal scoring.

Ratings and images never leave this package's process except as fitted coefficients the
user agreed to share, masked by secure aggregation.
"""

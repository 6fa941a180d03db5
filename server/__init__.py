"""The operator: forge task vectors, keep and serve signed releases, publish priors."""

"""Small helpers every room shares: the machine's description, owned processes, paired bootstrap
intervals."""

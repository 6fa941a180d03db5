"""`python -m tastevec.server` (what torchrun starts in each process) = `tastevec-server`."""

import sys

from tastevec.server.cli import main

sys.exit(main())

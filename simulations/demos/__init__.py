"""`tastevec-sim demo`, `story` (`make demo`) and the page's screenshots."""

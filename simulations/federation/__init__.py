"""The Flower apps driven over populations of simulated people, and `tastevec-sim report`."""

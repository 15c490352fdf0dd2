"""`python -m bench [--quick]`: run every workload, print the table, write bench/results/."""

from bench.run import main

main()

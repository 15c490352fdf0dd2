"""`backprop check`: Karpathy's recipe for training neural networks as a check-up with verdicts.

Each check returns a Finding (check, measured, expected, verdict, fix): the model's checks train fresh
copies of the configured network briefly (training/…), the data checks read the split arrays (data_checks),
and the gradient check is `gradcheck` on a few rows. Nothing is written.
"""

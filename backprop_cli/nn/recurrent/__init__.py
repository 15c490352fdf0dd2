"""Recurrent layers: a simple RNN, LSTM and GRU over sequences, with the BPTT they share."""

"""`backprop report`: one self-contained HTML page of a run (or of several, from `runs compare --html`)."""

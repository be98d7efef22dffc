"""Documents made from read models: the quarter-end snapshot as CSV and HTML."""

"""medialens offline: the deployed handlers, run in-process against local stand-ins.

Not part of the Lambda layer: this package is the laptop-side harness behind `make demo`.
"""

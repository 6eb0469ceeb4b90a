"""Fault-tolerance suite: kills, transient faults, OAuth token trouble, bad inputs and secret hygiene.

The fast subset runs with the normal test suite; ``pytest integration_tests/fault_tolerance --fault-full``
adds the full matrix (more seeds, more faults, every flow).
"""

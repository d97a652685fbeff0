"""Test kits: the checks every implementation of one interface must pass."""

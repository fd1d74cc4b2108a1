"""Test support shared by unit, integration and benchmark tests."""

"""Benchmarks run as commands (python -m benchmarks.<name>); results go to artifacts/."""

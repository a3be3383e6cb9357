"""Independent reference implementations (third-party packages made importable) for tests and benchmarks."""

"""Gateways beside the sandboxes for tests and benchmarks: served in this process, or run as
processes of their own."""

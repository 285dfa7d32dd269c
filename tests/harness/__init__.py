"""Test scaffolding shared across suites: the gateway served in this process, or run as a
process of its own."""

"""Metrics, traces and source health for one gateway (see `wiring.Observability`)."""

"""Business visibility: business exceptions found in the sources, kept in the store and
resolved when they clear (`monitor`), their detectors one per kind (`detectors`,
`registry`), the queue's order (`priority`), the remedy workflows they map to (`remedy`),
the KPIs (`kpis`) and the live page (`page`). See docs/visibility.md."""

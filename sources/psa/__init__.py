"""PSA: a Kantata OX-shaped system (workspaces, stories, participations, resource requests).

`connector` speaks Kantata's API (`only=` id batches, keyed result maps, page numbers, the
subscribed-events pull feed) and returns canonical records; `mapping` turns Kantata's
records into them. `sandbox` serves the world's PSA slice in Kantata's shapes.
"""

"""HCM: the Workday-shaped human-capital system (staffing v6 workers, refresh-token OAuth).

`sandbox` imitates the vendor; `connector` reads it. Workday's REST API has no
batch-by-id and no modified-since, so the connector reads through a reference snapshot
and detects changes by diffing snapshots.
"""

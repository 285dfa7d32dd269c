"""The ERP system, NetSuite-shaped.

Connector side: `connector` (ErpConnector), `client` (auth, error classification),
`queries` (the SuiteQL it sends), `mapping` (rows <-> canonical records), `cursors`.
Sandbox side: `sandbox` (routes), `catalog` (record types), `store` (records and their
SuiteQL tables), `ledger` (business rules), `seed` (the world as NetSuite records), and
`suiteql`, the query-language subset the sandbox runs.
"""

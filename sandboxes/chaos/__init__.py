"""The chaos run: two gateways on PostgreSQL and Redis, the living scenario, hundreds of
workflow starts (duplicates included, from both gateways), failing sources, an ERP
outage, a gateway SIGKILLed and restarted, Redis restarted; then the figures that must
hold: no duplicate by business key, every workflow settled, no event lost, no false
exception. `python -m sandboxes.chaos --size small|full` (or `make chaos`)."""

"""Process API for change: domain events, their durable log, and live fan-out."""

"""TIME: a Harvest API v2-shaped time-and-expense system (its connector and its sandbox)."""

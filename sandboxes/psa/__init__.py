"""The PSA vendor simulator."""

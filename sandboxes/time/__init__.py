"""The TIME vendor simulator."""

"""The HCM vendor simulator."""

"""The ERP vendor simulator."""

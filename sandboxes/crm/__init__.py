"""The CRM vendor simulator."""

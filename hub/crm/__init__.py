"""The customer database: customers, their classes and owners (grown by the CRM issue)."""

"""source-quickbooks-desktop: QuickBooks Desktop customers and invoices, read from the bridge's mirror."""

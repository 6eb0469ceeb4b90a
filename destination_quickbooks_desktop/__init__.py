"""destination-quickbooks-desktop: Coperniq projects, contacts and invoices queued as qbXML writes in the bridge."""

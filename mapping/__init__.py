"""Pure field mappings between Coperniq records and QuickBooks Online objects, one module per direction."""

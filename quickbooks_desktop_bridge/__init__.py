"""The always-on bridge between the QuickBooks Web Connector (SOAP, qbXML) and the Desktop connectors (JSON)."""

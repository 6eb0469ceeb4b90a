"""QuickBooks Desktop pieces shared by the bridge, the connectors and the sandbox: qbXML 13.0 and the bridge client."""

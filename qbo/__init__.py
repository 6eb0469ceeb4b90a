"""QuickBooks Online: the client, OAuth, faults and query helpers shared by both QuickBooks connectors.

(Named ``qbo`` because ``quickbooks`` is python-quickbooks' import name.)
"""

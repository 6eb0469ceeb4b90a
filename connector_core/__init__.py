"""What the four connectors share whatever the system: HTTP backoff, protocol helpers, the destination loop."""

"""The export as named phases: extract (connectors) -> derive -> anonymize -> write."""

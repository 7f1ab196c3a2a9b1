"""What a reviewer sees: preview and explain on the export's own path, diff, the HTML report."""

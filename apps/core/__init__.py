"""Cross-cutting API plumbing shared by every app: errors, limits, date filters."""

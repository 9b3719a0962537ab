"""inqd: one queue for Korean marketplace customer inquiries, quiet hours and SLA alerts on a work phone."""

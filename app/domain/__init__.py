"""Domain vocabulary shared by services: statuses, roles, transitions."""

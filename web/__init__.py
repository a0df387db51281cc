"""aiohttp app: REST API for tickets (agents, departments, supervisors, admins)."""

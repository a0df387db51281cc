"""Tickets (工单): store, workflow state machine, working-day deadlines, return visits, reports."""

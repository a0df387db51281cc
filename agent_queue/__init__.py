"""Queue manager: AMI edge, agent state, SLA tracker, control loop, call-backs, staffing, simulator."""

"""Pure maths of simulated time: the schedule, the rate plan, plans and quantities."""

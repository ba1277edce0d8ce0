"""Privacy: retention, guests' own requests from the portal, consent state."""

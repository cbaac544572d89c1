"""Pure statistics: design-based estimation, disclosure control and the weight files they use."""

"""Pure statistics: design-based estimation and disclosure control (no Flask, no ORM)."""

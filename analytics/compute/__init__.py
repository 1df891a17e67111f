"""Pure pandas/numpy computations: weighting, estimates, suppression. No ORM, no Celery."""

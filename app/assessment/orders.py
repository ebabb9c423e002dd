"""Order ratings moved to the clinical core (``app.clinical.order_rating``); this name is kept so
modules written against it keep importing. New code imports the clinical module."""

from app.clinical.order_rating import (
    NotRatedReason,
    OrderRating,
    PamaRating,
    Status,
    pama_for,
    rate_order,
)

__all__ = ["NotRatedReason", "OrderRating", "PamaRating", "Status", "pama_for", "rate_order"]

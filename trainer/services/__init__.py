"""Services: the thin layer that joins the pure core to storage. One function, one use case."""

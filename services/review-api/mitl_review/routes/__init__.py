"""HTTP routes of the review API, one module per resource."""

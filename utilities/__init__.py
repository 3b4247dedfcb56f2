"""Generic plumbing that knows no domain: every app may use it; it imports none of them."""

"""Read-side services for the views: filtered, sorted, paged queries returning plain rows."""

"""HTTP routes of the server, one router per resource."""

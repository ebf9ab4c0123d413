"""What the server serves to browsers: its own static assets, and the API's documentation pages."""

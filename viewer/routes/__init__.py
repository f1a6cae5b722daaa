"""HTTP handlers, one module per resource; the route table itself is in viewer/app.py."""

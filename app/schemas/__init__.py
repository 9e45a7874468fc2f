"""Wire models shared by the REST API and the WebSocket hub. They are not table rows."""

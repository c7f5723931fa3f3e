"""The consoles' live incident feed over WebSocket (`/ws/console/?since=<seq>`)."""

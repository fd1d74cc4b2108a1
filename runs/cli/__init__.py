"""The terminal side of runs: the WebSocket client and the rich rendering the run commands use."""

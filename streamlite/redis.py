"""Redis: the clients of this process and the key names every app uses."""

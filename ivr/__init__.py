"""IVR: the FastAGI server and the call-flow engine that runs the dialplan YAML over it."""

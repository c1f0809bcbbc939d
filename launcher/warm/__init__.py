"""A warm pre-forking server for the plugins ("zygote"), and the thin client the executables use.

Every CNI call is a new process, and most of its time goes to importing pydantic and pyroute2.
A server that has imported everything once forks one child per call; the child takes the
caller's stdin/stdout/stderr (passed as file descriptors), working directory, umask, argv and
environment and runs exactly the code a cold process would run.

- context.py: the socket address, naming everything that must match between caller and server;
- protocol.py: the wire format (stdlib builtins only: the client must stay cheap);
- client.py: used by every executable before any heavy import; starts a server after a cold run;
- server.py: the server (`bridge --serve`, or any program of the build).

Nothing here is imported at module level by anything but the client path, which is cheap.
"""

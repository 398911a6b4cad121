"""The Bonawitz et al. / SecAgg+ protocol (PROTOCOL.md): config, planner, graph,
wire format, the client and server state machines, and the in-process runner.
"""

// The Jupyter layer: wire protocol, sockets, channel loops, kernelspec.

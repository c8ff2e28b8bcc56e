"""The resident classifier (``guardsh daemon``) and what the native client asks it: see
``server`` (socket, workers), ``answer`` (the decision, mirroring ``guardsh -c``'s allow path),
``protocol`` (the wire format) and ``native/guardsh-client.c`` (the client)."""

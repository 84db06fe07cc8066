"""Code a notebook run in a subprocess starts with: an audit hook that refuses, and records, every connection or
name lookup that is not loopback, and prints what it refused at exit (``NON-LOOPBACK ATTEMPTS: [...]``), so a
test that runs the SDK proves the run is offline."""

import textwrap

OFFLINE_GUARD = textwrap.dedent(
    """
    import atexit, ipaddress, sys

    _blocked = []

    def _loopback(host):
        if isinstance(host, bytes):
            host = host.decode()
        if host is None or host in ("localhost", ""):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return str(host).endswith(".localhost")

    def _guard(event, args):
        if event == "socket.getaddrinfo" and not _loopback(args[0]):
            _blocked.append(f"getaddrinfo {args[0]}")
            raise OSError("offline test: non-loopback name lookup refused")
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not _loopback(address[0]):
                _blocked.append(f"connect {address[0]}")
                raise OSError("offline test: non-loopback connection refused")

    sys.addaudithook(_guard)
    atexit.register(lambda: print("NON-LOOPBACK ATTEMPTS:", _blocked, flush=True))
    """
)

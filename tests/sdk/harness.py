"""What every SDK script shares: the environment the Rust harness sets, name resolution of
the domain's host names to the server (in-process, as /etc/hosts or a DNS entry would), the
checks, and a small REST client that trusts the server's local CA.

    DRAWBRIDGE_DOMAIN   the domain with the server's port, e.g. drawbridge.test:43123
    DRAWBRIDGE_TOKEN    an API token of a user (an admin: the scripts use the sim API)
    SSL_CERT_FILE       the data dir's certs/ca.pem

Importing it installs the resolver. `check` prints one line per check and exits non-zero on
the first failure; `eventually` checks a condition that may take a while to come true;
`finish` prints the summary the harness looks for.
"""

import asyncio
import json
import os
import socket
import ssl
import sys
import urllib.request

DOMAIN = os.environ["DRAWBRIDGE_DOMAIN"]
TOKEN = os.environ["DRAWBRIDGE_TOKEN"]
HOST, PORT = DOMAIN.rsplit(":", 1)
REGION = "vint-hill"

_getaddrinfo = socket.getaddrinfo


def _resolve_domain_to_loopback(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if host == HOST or (isinstance(host, str) and host.endswith("." + HOST)):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_domain_to_loopback

_checks = 0


def check(name, condition, detail=""):
    global _checks
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    _checks += 1
    print(f"ok {name}", flush=True)


def finish():
    print(f"{_checks} passed, 0 failed", flush=True)


async def poll(condition, seconds):
    """Polls `condition()` every 0.1 s until it holds, `seconds` x 10 times at most (so at
    least `seconds`, longer when the condition itself is slow); returns its last value."""
    for _ in range(round(seconds * 10)):
        if condition():
            break
        await asyncio.sleep(0.1)
    return condition()


async def eventually(name, condition, detail=None, *, seconds):
    """Checks that `condition()` holds within `seconds` (see `poll`); `detail()`, evaluated
    after the wait, says what was there instead."""
    held = await poll(condition, seconds)
    check(name, held, detail() if detail else "")


def ssl_context():
    return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])


def rest(path, body=None, host=f"mt-client-api-v1.{REGION}"):
    """A REST call under `host` (GET, or POST with `body`): the decoded JSON answer."""
    url = f"https://{host}.{HOST}:{PORT}{path}"
    data = None if body is None else json.dumps(body).encode()
    headers = {"auth-token": TOKEN, "content-type": "application/json"}
    req = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(req, context=ssl_context(), timeout=10) as reply:
        return json.loads(reply.read().decode() or "null")


def text(path, host=f"mt-client-api-v1.{REGION}"):
    """A GET under `host` answered with text (e.g. /metrics)."""
    url = f"https://{host}.{HOST}:{PORT}{path}"
    with urllib.request.urlopen(url, context=ssl_context(), timeout=10) as reply:
        return reply.read().decode()


async def deployed_account(api, name, balance=10000, reliability="regular"):
    """A demo account of the token's user, provisioned and connected through the SDK
    (`reliability` "high": two replicas stream it, instances 0 and 1)."""
    creds = await api.metatrader_account_generator_api.create_mt5_demo_account(
        {"accountType": "USD", "balance": balance, "leverage": 100,
         "serverName": "Drawbridge-Demo", "name": name, "email": f"{name}@example.com"}
    )
    account = await api.metatrader_account_api.create_account(
        {"name": name, "type": "cloud-g2", "login": creds.login, "password": creds.password,
         "server": creds.server_name, "platform": "mt5", "magic": 0, "region": REGION,
         "reliability": reliability}
    )
    await account.wait_connected(timeout_in_seconds=30, interval_in_milliseconds=200)
    check(f"account {name} connected", account.connection_status == "CONNECTED", account.connection_status)
    return account

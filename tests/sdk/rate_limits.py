"""The official MetaApi SDK, unchanged, meets drawbridge's rate limits the way it meets the
cloud's: past a credit quota its request is answered 429 TooManyRequestsError with
`recommendedRetryTime`; the SDK waits until then and retries, and the call succeeds.

The server runs on the real clock with `[limits] history_per_user_1s = 1`: one historical-data
credit per second, where each historical candles request costs 0.1 + 0.0004 per candle.
Environment as in provisioning.py.
"""

import asyncio
import os
import socket
import ssl
import sys
import time
import urllib.request

from metaapi_cloud_sdk import MetaApi

DOMAIN = os.environ["DRAWBRIDGE_DOMAIN"]
TOKEN = os.environ["DRAWBRIDGE_TOKEN"]
HOST = DOMAIN.rsplit(":", 1)[0]
PORT = DOMAIN.rsplit(":", 1)[1]

_getaddrinfo = socket.getaddrinfo


def _resolve_domain_to_loopback(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if host == HOST or (isinstance(host, str) and host.endswith("." + HOST)):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_domain_to_loopback

checks = 0


def check(name, condition, detail=""):
    global checks
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    checks += 1
    print(f"ok {name}", flush=True)


def refusals():
    """TooManyRequestsError answers so far, from the server's /metrics."""
    url = f"https://mt-client-api-v1.vint-hill.{HOST}:{PORT}/metrics"
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    with urllib.request.urlopen(url, context=context, timeout=10) as reply:
        text = reply.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("drawbridge_errors_total{") and 'error="TooManyRequestsError"' in line
    )


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 3}})
    creds = await api.metatrader_account_generator_api.create_mt5_demo_account(
        {"accountType": "USD", "balance": 10000, "leverage": 100,
         "serverName": "Drawbridge-Demo", "name": "limits", "email": "limits@example.com"}
    )
    account = await api.metatrader_account_api.create_account(
        {"name": "limits", "type": "cloud-g2", "login": creds.login, "password": creds.password,
         "server": creds.server_name, "platform": "mt5", "magic": 0, "region": "vint-hill"}
    )
    await account.wait_connected(timeout_in_seconds=30, interval_in_milliseconds=200)
    check("account connected", account.connection_status == "CONNECTED", account.connection_status)

    before = refusals()
    started = time.monotonic()
    # At least 0.1 credit each against 1 credit per second: the eleventh within a second is
    # refused, and the SDK must wait its way through.
    for i in range(25):
        candles = await account.get_historical_candles("EURUSD", "1m", limit=10)
        check(f"candles request {i} answered", isinstance(candles, list), repr(candles)[:200])
    elapsed = time.monotonic() - started
    refused = refusals() - before
    check("the server refused some requests with 429", refused >= 1, f"refused {refused}")
    check("the SDK waited for the window to let it through", elapsed >= 1.0, f"{elapsed:.2f} s")
    api.close()
    print(f"{checks} passed, 0 failed", flush=True)


asyncio.run(main())

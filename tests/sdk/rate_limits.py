"""The official MetaApi SDK, unchanged, meets drawbridge's rate limits the way it meets the
cloud's: past a credit quota its request is answered 429 TooManyRequestsError with
`recommendedRetryTime`; the SDK waits until then and retries, and the call succeeds.

The server runs on the real clock with `[limits] history_per_user_1s = 1`: one historical-data
credit per second, where each historical candles request costs 0.1 + 0.0004 per candle; and
`cpu_per_user_1s = 120`: two 50-credit reads per second, over REST or the streaming API alike.
Environment: see harness.py.
"""

import asyncio
import time

from harness import DOMAIN, TOKEN, check, deployed_account, finish, text
from metaapi_cloud_sdk import MetaApi


def refusals():
    """TooManyRequestsError answers so far, from the server's /metrics."""
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text("/metrics").splitlines()
        if line.startswith("drawbridge_errors_total{") and 'error="TooManyRequestsError"' in line
    )


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 3}})
    account = await deployed_account(api, "limits")

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

    # The same over the socket: an RPC read answered with a 429 processingError, which the
    # SDK's websocket client waits out (recommendedRetryTime) and retries.
    connection = account.get_rpc_connection()
    await asyncio.wait_for(connection.connect(), 30)
    await asyncio.wait_for(connection.wait_synchronized(timeout_in_seconds=30), 40)
    before = refusals()
    started = time.monotonic()
    for i in range(8):
        info = await connection.get_account_information()
        check(f"account information {i} over the socket", "balance" in info, repr(info)[:200])
    elapsed = time.monotonic() - started
    refused = refusals() - before
    check("the socket's requests were refused with 429 too", refused >= 1, f"refused {refused}")
    check("the SDK waited over the socket too", elapsed >= 2.0, f"{elapsed:.2f} s")
    await connection.close()
    api.close()
    finish()


asyncio.run(main())

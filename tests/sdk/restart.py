"""The official MetaApi SDK's streaming connection across a server restart: the server is
killed (SIGKILL) mid-session and started again; the SDK reconnects by itself, subscribes and
synchronizes again (skipping the specifications it holds, by hash), and its terminal state and
history hold everything acknowledged before the kill and everything done after it, once. Environment: see harness.py, plus
DRAWBRIDGE_RESTARTED, the file that appears once the server listens again.
"""

import asyncio
import os

from harness import DOMAIN, TOKEN, check, deployed_account, eventually, finish, rest
from metaapi_cloud_sdk import MetaApi, SynchronizationListener

# How long the SDK may take to reconnect and resynchronize once the server is back.
RECONNECT_S = 60


class Starts(SynchronizationListener):
    """The hashes each synchronization started with: set where the server skipped a part the
    client already held."""

    def __init__(self):
        super().__init__()
        self.seen = []

    async def on_synchronization_started(self, instance_index, specifications_hash=None,
                                         positions_hash=None, orders_hash=None, synchronization_id=None):
        self.seen.append((specifications_hash, positions_hash, orders_hash))


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 3}})
    account = await deployed_account(api, "restart")
    acc = f"/users/current/accounts/{account.id}"
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10012})
    bought = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1})
    check("a market buy before the restart", bought.get("stringCode") == "TRADE_RETCODE_DONE", str(bought))

    connection = account.get_streaming_connection()
    starts = Starts()
    connection.add_synchronization_listener(starts)
    await asyncio.wait_for(connection.connect(), 30)
    await asyncio.wait_for(connection.wait_synchronized({"timeoutInSeconds": 60}), 70)
    state, history = connection.terminal_state, connection.history_storage
    check("synchronized before the restart", [p["symbol"] for p in state.positions] == ["EURUSD"],
          str(state.positions))
    deals_before = len(history.deals)
    check("the first synchronization sent everything", all(s == (None, None, None) for s in starts.seen),
          str(starts.seen))
    synchronizations_before = len(starts.seen)

    # The server dies without a chance to flush, and comes back on the same port.
    print("RESTART", flush=True)
    flag = os.environ["DRAWBRIDGE_RESTARTED"]
    await eventually("the server is back", lambda: os.path.exists(flag), seconds=120)

    # A change after the restart reaches the SDK once it has reconnected and resynchronized.
    rest("/sim/ticks", {"symbol": "GBPUSD", "bid": 1.27, "ask": 1.27015})
    sold = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_SELL", "symbol": "GBPUSD", "volume": 0.2})
    check("a market sell after the restart", sold.get("stringCode") == "TRADE_RETCODE_DONE", str(sold))
    await eventually("the SDK holds both positions again",
                     lambda: sorted(p["symbol"] for p in state.positions) == ["EURUSD", "GBPUSD"],
                     lambda: str(state.positions), seconds=RECONNECT_S)
    check("the position from before the kill kept its id",
          any(p["id"] == bought["positionId"] for p in state.positions), str(state.positions))
    await eventually("the new deal reaches the history storage once",
                     lambda: len(history.deals) == deals_before + 1, lambda: str(history.deals), seconds=RECONNECT_S)
    ids = [d["id"] for d in history.deals]
    check("no deal twice", len(ids) == len(set(ids)), str(ids))
    await asyncio.wait_for(connection.wait_synchronized({"timeoutInSeconds": 60}), 70)
    check("synchronized after the restart", True)
    again = starts.seen[synchronizations_before:]
    check("the resynchronization skipped the specifications the SDK held (hash matched)",
          len(again) > 0 and all(s[0] is not None for s in again), str(again))
    symbols = {s["symbol"] for s in state.specifications}
    check("and the SDK still has them", len(symbols) >= 30 and "EURUSD" in symbols, str(len(symbols)))

    await connection.close()
    api.close()
    finish()


asyncio.run(main())

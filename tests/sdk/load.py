"""A bounded loopback load on drawbridge's streaming API: 1,000 accounts streaming on one
server, over 10 socket.io connections of 100 accounts each (python-socketio 4.x, the SDK's own
transport, without the SDK's per-account machinery, which would make the client the load).
Every account is subscribed and synchronized; trades on some accounts reach exactly those as
`update` packets; one quote reaches every account as a `prices` packet. The harness lifts
`subscriptions_per_user_per_server`, since ten client ids may hash onto one virtual server.
Environment: see harness.py; DRAWBRIDGE_LOAD_ACCOUNTS overrides the 1,000.
"""

import asyncio
import os
import time

import socketio
from harness import HOST, PORT, REGION, TOKEN, check, eventually, finish, poll, rest

ACCOUNTS = int(os.environ.get("DRAWBRIDGE_LOAD_ACCOUNTS", "1000"))
PER_SOCKET = 100
# The concurrent synchronizations allowed: 10% of the subscribed accounts.
SYNCHRONIZING = max(1, ACCOUNTS // 10)
PROVISIONING = "mt-provisioning-api-v1"


def new_account(i):
    creds = rest("/users/current/provisioning-profiles/default/mt5-demo-accounts",
                 {"balance": 1000, "leverage": 100, "accountType": "USD"}, host=PROVISIONING)
    created = rest("/users/current/accounts", {"login": creds["login"], "password": creds["password"],
                                               "server": creds["serverName"], "name": f"load-{i}"},
                   host=PROVISIONING)
    return created["id"]


class Socket:
    """One connection and what it received, by account."""

    def __init__(self, index):
        self.index = index
        self.client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
        self.answers = {}
        self.packets = {}
        self.client.on("response", lambda data: self._answer(data, None))
        self.client.on("processingError", lambda data: self._answer(None, data))
        self.client.on("synchronization", self._packet)

    def _answer(self, ok, err):
        data = ok or err
        future = self.answers.pop(data.get("requestId"), None)
        if future and not future.done():
            future.set_result((ok, err))

    def _packet(self, data):
        kinds = self.packets.setdefault(data.get("accountId"), {})
        kinds[data.get("type")] = kinds.get(data.get("type"), 0) + 1

    async def connect(self):
        url = (f"https://mt-client-api-v1.{REGION}-a.{HOST}:{PORT}?auth-token={TOKEN}"
               f"&clientId=0.{self.index}&protocol=3")
        await self.client.connect(url, socketio_path="ws", transports=["websocket"])

    async def request(self, body):
        """The answer to `body`, retried while the server says too many requests."""
        while True:
            future = asyncio.get_running_loop().create_future()
            request_id = f"{body['type']}-{body['accountId']}-{time.monotonic_ns()}"
            self.answers[request_id] = future
            await self.client.emit("request", {**body, "requestId": request_id})
            ok, err = await asyncio.wait_for(future, 60)
            if err and err.get("error") == "TooManyRequestsError":
                await asyncio.sleep(0.2)
                continue
            return ok, err

    def count(self, account, kind):
        return self.packets.get(account, {}).get(kind, 0)


async def main():
    started = time.monotonic()
    accounts = [new_account(i) for i in range(ACCOUNTS)]
    check(f"{ACCOUNTS} accounts provisioned", len(set(accounts)) == ACCOUNTS,
          f"{time.monotonic() - started:.1f} s")

    sockets = [Socket(i) for i in range((ACCOUNTS + PER_SOCKET - 1) // PER_SOCKET)]
    await asyncio.gather(*(s.connect() for s in sockets))
    owner = {a: sockets[i // PER_SOCKET] for i, a in enumerate(accounts)}

    async def subscribe(account):
        return await owner[account].request({"type": "subscribe", "accountId": account, "instanceIndex": 0})

    answers = await asyncio.gather(*(subscribe(a) for a in accounts))
    refused = [err for ok, err in answers if err]
    check("every account subscribed", not refused, str(refused[:3]))
    await eventually("each got authenticated",
                     lambda: all(owner[a].count(a, "authenticated") >= 1 for a in accounts), seconds=30)

    limit = asyncio.Semaphore(SYNCHRONIZING)

    async def synchronize(account):
        async with limit:
            answer = await owner[account].request({"type": "synchronize", "accountId": account,
                                                   "instanceIndex": 0, "host": "ps-mpa-1"})
            # The next one may start once this one's packets are out.
            await poll(lambda: owner[account].count(account, "dealSynchronizationFinished") >= 1, 60)
            return answer

    answers = await asyncio.gather(*(synchronize(a) for a in accounts))
    refused = [err for ok, err in answers if err]
    check("every synchronization answered", not refused, str(refused[:3]))
    check("every account synchronized", all(owner[a].count(a, "dealSynchronizationFinished") == 1
                                            and owner[a].count(a, "specifications") == 1 for a in accounts))

    # Trades on every 100th account reach those accounts' sockets, and no other.
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10012})
    traded = accounts[::100]
    for account in traded:
        done = rest(f"/users/current/accounts/{account}/trade",
                    {"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.01})
        check(f"a trade on {account}", done.get("stringCode") == "TRADE_RETCODE_DONE", str(done))
    await eventually("the traded accounts got updates",
                     lambda: all(owner[a].count(a, "update") >= 1 for a in traded), seconds=30)
    untouched = [a for a in accounts if a not in traded and owner[a].count(a, "update") > 0]
    check("the others got none", not untouched, str(untouched[:3]))

    # One quote subscription per account; one tick reaches all of them.
    async def quotes(account):
        return await owner[account].request({"type": "subscribeToMarketData", "accountId": account,
                                             "instanceIndex": 0, "symbol": "GBPUSD",
                                             "subscriptions": [{"type": "quotes"}]})

    answers = await asyncio.gather(*(quotes(a) for a in accounts))
    check("every quote subscription answered", not [err for ok, err in answers if err])
    rest("/sim/ticks", {"symbol": "GBPUSD", "bid": 1.27, "ask": 1.27015})
    await eventually("a prices packet reached every account",
                     lambda: all(owner[a].count(a, "prices") >= 1 for a in accounts),
                     lambda: str(sum(1 for a in accounts if owner[a].count(a, "prices") >= 1)), seconds=60)

    await asyncio.gather(*(s.client.disconnect() for s in sockets))
    check("within the time bound", time.monotonic() - started < 600, f"{time.monotonic() - started:.1f} s")
    finish()


asyncio.run(main())
